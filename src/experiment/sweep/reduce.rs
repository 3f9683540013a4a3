//! A run reduced to its sweep row.

use super::{SweepConfig, SweepPoint};
use crate::report::rows::SweepRow;
use crate::theorem::card::TheoremCard;
use crate::theorem::verdict::RunVerdicts;
use crate::train::StepRecord;

/// A run reduced to its row (`n`, `outputs`, `p`, `per_output_hessian0`, `eta` and `kernel_infinite_gap`
/// are the caller's).
pub(super) fn reduce(
    sweep: &SweepConfig,
    point: &SweepPoint,
    seed: u64,
    card: Option<&TheoremCard>,
    records: &[StepRecord],
    v: &RunVerdicts,
) -> SweepRow {
    let first = &records[0];
    let hessian_norm0 = card
        .map(|c| c.hessian_norm0)
        .or(first.hessian_norm)
        .unwrap_or(f64::NAN);
    let hessians = records.iter().filter_map(|r| r.hessian_norm);
    let loss0 = first.loss;
    let stage = records
        .iter()
        .find(|r| r.loss <= sweep.kernel_stage * loss0 && r.kernel_change.is_some());
    let nan = f64::NAN;
    let proved = card.and_then(|c| c.proved.as_ref());
    SweepRow {
        point: point.index,
        seed,
        width: point.width,
        depth: point.depth,
        n: 0,
        outputs: 0,
        activation: point.activation.name().into(),
        output_activation: point.output_activation.name().into(),
        p: 0,
        lambda0: first.lambda_min.unwrap_or(nan),
        lambda_max0: first.lambda_max.unwrap_or(nan),
        positivity_threshold: card.map_or(nan, |c| c.positivity_threshold),
        kernel_infinite_gap: nan,
        mu_trajectory: v.trajectory_mu.unwrap_or(nan),
        mu_at: sweep
            .mu_radii
            .iter()
            .map(|&r| (r, card.map_or(nan, |c| profile_mu(c, r))))
            .collect(),
        certified: card.is_some_and(|c| c.certificate.certified),
        certified_radius: card
            .filter(|c| c.certificate.certified)
            .and_then(|c| c.certificate.radius)
            .unwrap_or(nan),
        eta_star: card.map_or(nan, |c| c.eta_star()),
        proved: proved.is_some_and(|p| p.proved()),
        proved_radius: proved.and_then(|p| p.radius).unwrap_or(nan),
        beta_bound: proved.and_then(|p| p.bound.intercept).unwrap_or(nan),
        beta_bound_slope: proved.and_then(|p| p.bound.slope).unwrap_or(nan),
        mu_lower_bound: proved.and_then(|p| p.mu_lower_bound).unwrap_or(nan),
        lambda0_lower: proved.map_or(nan, |p| p.lambda0_lower),
        lambda_max_upper: proved.map_or(nan, |p| p.lambda_max_upper),
        residual_norm0: card.map_or(nan, |c| c.residual_norm0),
        radius0: card.map_or(nan, |c| c.radius0),
        r_travelled: v.max_distance,
        mu_travelled: v.travelled.as_ref().map_or(nan, |t| t.mu),
        hessian_norm0,
        hessian_norm0_converged: card.is_some_and(|c| c.hessian_norm0_converged),
        hessian_norm_max: hessians.fold(hessian_norm0, f64::max),
        per_output_hessian0: nan,
        kernel_change: stage.and_then(|r| r.kernel_change).unwrap_or(nan),
        kernel_stage_step: stage.map_or(-1, |r| r.step as i64),
        linearization_gap_max: v.max_linearization_gap.unwrap_or(nan),
        steps_to_target: v.steps_to_target.map_or(-1, |s| s as i64),
        final_loss: v.final_loss,
        eta: nan,
    }
}

/// `μ̂(r)` from the card's profile at the grid radius `r` (NaN when the card searched nothing).
fn profile_mu(card: &TheoremCard, r: f64) -> f64 {
    card.profile
        .iter()
        .find(|e| (e.radius - r).abs() <= 1e-12 * r)
        .map_or(f64::NAN, |e| e.mu)
}
