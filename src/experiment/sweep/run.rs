//! One run of a sweep: the theorem card, training, the travelled ball and the verdicts at one
//! `(point, seed)`, reduced to its row; the loss curve beside it in `curves/`.

use std::path::Path;

use burn::tensor::backend::Backend;

use super::reduce::reduce;
use super::{SweepConfig, SweepPoint};
use crate::error::Result;
use crate::experiment::run::{max_distance, theorem_reference, trajectory_points};
use crate::experiment::step::resolve_step_size;
use crate::measure::hessian::{max_output_hessian_norm, HessianNormSettings};
use crate::measure::infinite::limit_kernel;
use crate::measure::kernel::{tangent_kernel, KernelMethod};
use crate::measure::roundoff::RoundOff;
use crate::report::files::write_atomic;
use crate::report::rows::SweepRow;
use crate::theorem::card::{theorem_card, travelled_ball};
use crate::theorem::verdict::{judge, RunRecords};
use crate::train::{train, Control, StepRecord};

/// Points kept per loss curve in `curves/` (steps `0, k, 2k, …` and the last one).
pub const CURVE_POINTS: usize = 200;

/// The loss curve of one run: `step, loss, loss_bound`, thinned to about [`CURVE_POINTS`]
/// rows (every `k`-th record with `k = ⌈records / CURVE_POINTS⌉`, and the last).
fn curve_csv(records: &[StepRecord]) -> String {
    let stride = records.len().div_ceil(CURVE_POINTS).max(1);
    let mut s = String::from("step,loss,loss_bound\n");
    for (i, r) in records.iter().enumerate() {
        if i % stride != 0 && i + 1 != records.len() {
            continue;
        }
        s.push_str(&format!(
            "{},{:e},{}\n",
            r.step,
            r.loss,
            r.loss_bound.map_or(String::new(), |b| format!("{b:e}"))
        ));
    }
    s
}

/// The row of `point` with `seed`: its run, from the card to the verdicts (the loss curve is
/// written into `dir/curves/`).
pub(super) fn run_point<B: Backend>(
    sweep: &SweepConfig,
    point: &SweepPoint,
    seed: u64,
    device: &B::Device,
    dir: &Path,
) -> Result<SweepRow> {
    let config = sweep.run_config(point, seed);
    let s = config.validate()?;
    let (x, y) = s.data.to_tensors::<B>(device);
    let model = s.model.init::<B>(seed, device);
    let card = if config.card.enabled {
        Some(theorem_card(&model, &x, &y, &config.card.settings(seed))?)
    } else {
        None
    };
    let per_output_hessian0 = if sweep.per_output_hessian {
        max_output_hessian_norm(&model, &x, &HessianNormSettings::default().lanczos).max
    } else {
        f64::NAN
    };
    let step = resolve_step_size(s.learning_rate, &s.train.optimizer, card.as_ref())?;
    let mut settings = s.train.clone();
    settings.learning_rate = step.value;
    settings.kernel_stage = Some(sweep.kernel_stage);
    let theorem = card.as_ref().and_then(theorem_reference);
    let out = train(model.clone(), &x, &y, &settings, theorem, &mut |_| {
        Control::Continue
    });
    let travelled = match &card {
        Some(c) => Some(travelled_ball(
            c,
            &model,
            &x,
            &y,
            max_distance(&out.records),
            &trajectory_points(&out.records),
            &config.card.settings(seed).search,
        )?),
        None => None,
    };
    let v = judge(
        card.as_ref(),
        travelled.as_ref(),
        &RunRecords {
            records: &out.records,
            eta: step.value,
            target_loss: settings.target_loss,
            stop: &out.stop,
            optimizer: &settings.optimizer,
            round_off: RoundOff::for_backend::<B>(&s.model),
            equations: s.data.equations(),
            parameters: s.model.parameter_count(),
        },
    );
    write_atomic(
        &dir.join("curves")
            .join(format!("point{}_seed{}.csv", point.index, seed)),
        curve_csv(&out.records).as_bytes(),
    )?;
    let mut row = reduce(sweep, point, seed, card.as_ref(), &out.records, &v);
    if card.is_none() {
        // The round-off floor without a card: the model's, from λ_max(K₀).
        row.positivity_threshold = RoundOff::for_backend::<B>(&s.model)
            .eigenvalue_floor_from_lambda_max(s.data.equations(), row.lambda_max0);
    }
    row.kernel_infinite_gap = limit_kernel(&s.model, &s.data).map_or(f64::NAN, |kinf| {
        let k0 = tangent_kernel(&model, &x, KernelMethod::Structured);
        k0.relative_distance(&kinf)
    });
    row.n = s.data.len();
    row.outputs = s.data.outputs;
    row.p = s.model.parameter_count();
    row.per_output_hessian0 = per_output_hessian0;
    row.eta = step.value;
    Ok(row)
}
