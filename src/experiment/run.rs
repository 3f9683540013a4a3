//! A training run from validated [`Settings`]: the theorem card, training, the verdicts, and
//! the files of `<out>/<name>/`:
//!
//! - `metrics.csv` — one row per step (columns of [`StepRecord`]), streamed to
//!   `metrics.csv.partial` and renamed when the run ends;
//! - `summary.json` — the theorem card (each figure with where it came from), the step size and
//!   its source, the verdicts, how the run ended;
//! - `report.md` — the card, the verdicts and the figures, for people;
//! - `loss_vs_bound.{svg,png}`, `distance_vs_radius.{svg,png}` — drawn from the saved records;
//! - `parameters.npy` — the final parameter vector `w` (numpy f64, `[p]`), for `plstar ntk --params`;
//! - `run.json` — the resolved config, seeds, backend, precision, device, plstar version, git
//!   revision, timestamps, sizes, the step size used and how the run ended (written at the
//!   start with `"status": "running"`, rewritten once η is chosen and at the end).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::card_text::{card_rows, card_sources, profile_markdown};
use crate::experiment::config::{RunConfig, Settings};
use crate::experiment::step::{resolve_step_size, StepSize};
use crate::measure::roundoff::RoundOff;
use crate::measure::spectrum::KernelExtremes;
use crate::model::backend::{BackendInfo, BackendJob};
use crate::model::Mlp;
use crate::report::files::{git_revision, utc_now, write_atomic, write_json, PartialFile, VERSION};
use crate::theorem::card::{
    operator_card, theorem_card_with_progress, travelled_ball, CardProgress, OperatorKernel0,
    TheoremCard,
};
use crate::theorem::search::{PointKind, PointMeasure};
use crate::theorem::verdict::{judge, RunRecords, RunVerdicts, KERNEL_REGIME_GAP};
use crate::train::{
    train, Control, StepRecord, StopReason, TheoremReference, TrainOutcome, TrainSettings,
};

/// The conventions every output follows (THEORY.md), recorded in `run.json`.
pub const LOSS_CONVENTION: &str =
    "L(w) = 1/2 * ||F(w) - y||^2 (sum over samples, with the 1/2; not a mean)";

/// `run.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// plstar's version.
    pub plstar_version: String,
    /// Git revision of the build, when known.
    pub git_revision: Option<String>,
    /// `running`, `target_reached`, `step_budget`, `diverged` or `interrupted`.
    pub status: String,
    /// Seed of `w₀` (and of the SGD batches and probe directions).
    pub seed: u64,
    /// The file `w₀` was read from, when not drawn from `seed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_parameters: Option<PathBuf>,
    /// Seed of the data.
    pub data_seed: u64,
    /// Backend, precision and device.
    pub backend: BackendInfo,
    /// The loss convention.
    pub loss: &'static str,
    /// `n`.
    pub samples: usize,
    /// `d`.
    pub input_dim: usize,
    /// `p`.
    pub parameters: usize,
    /// Where the kernel evaluations took `K(w_t)`: `dense`, or `operator` (matrix-free, with
    /// its Lanczos steps and cache; `plstar train --kernel-path`).
    pub kernel_evaluation: crate::train::KernelEvaluation,
    /// The configuration as resolved (defaults and command-line overrides applied).
    /// `train.learning_rate` stays as given, a number or `"auto"`: the η used is
    /// [`RunRecord::step_size`].
    pub config: RunConfig,
    /// The step size used and its source (`config`, `--learning-rate`, the certified `η*`, …),
    /// once chosen: after the theorem card, before the first step (`null` until then).
    pub step_size: Option<StepSize>,
    /// When the run started (UTC).
    pub started_at: String,
    /// When the run ended (UTC), once it has.
    pub finished_at: Option<String>,
    /// How the run ended, once it has.
    pub stop: Option<StopReason>,
    /// `L(w₀)`.
    pub initial_loss: Option<f64>,
    /// `L` at the last recorded step.
    pub final_loss: Option<f64>,
    /// The last recorded step.
    pub final_step: Option<usize>,
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// plstar's version.
    pub plstar_version: String,
    /// Git revision of the build.
    pub git_revision: Option<String>,
    /// Seed of `w₀`.
    pub seed: u64,
    /// Backend, precision and device.
    pub backend: BackendInfo,
    /// The loss convention.
    pub loss_convention: &'static str,
    /// The resolved config.
    pub config: RunConfig,
    /// The theorem card (absent with `card.enabled = false`).
    pub card: Option<TheoremCard>,
    /// Where each figure of the card came from.
    pub sources: Vec<(String, String)>,
    /// The step size.
    pub step_size: StepSize,
    /// The verdicts.
    pub verdicts: RunVerdicts,
    /// How the run ended.
    pub stop: StopReason,
    /// Steps recorded.
    pub records: usize,
}

/// What a finished run returns to the caller.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// `<out>/<name>`.
    pub dir: PathBuf,
    /// Every record.
    pub records: Vec<StepRecord>,
    /// How it stopped.
    pub stop: StopReason,
    /// `p`.
    pub parameters: usize,
    /// `n`.
    pub samples: usize,
    /// The backend it ran on.
    pub backend: BackendInfo,
    /// The card, when computed.
    pub card: Option<TheoremCard>,
    /// The step size.
    pub step_size: StepSize,
    /// The verdicts.
    pub verdicts: RunVerdicts,
}

/// A training run as a [`BackendJob`]: give it to [`crate::model::backend::dispatch`].
pub struct TrainRun<'a> {
    /// The validated settings.
    pub settings: &'a Settings,
    /// The output root; the run writes `<out>/<name>/`.
    pub out: PathBuf,
    /// Called as the card's search moves to each radius.
    pub on_card_progress: &'a mut dyn FnMut(&CardProgress),
    /// Called once the card is computed, with it and the step size (before training).
    pub on_card: &'a mut dyn FnMut(Option<&TheoremCard>, &StepSize),
    /// Whether a numeric η came from the command line (`--learning-rate`) rather than the
    /// config: the step size's recorded source says so.
    pub eta_from_flag: bool,
    /// A starting point `w₀` other than the seeded one (e.g. weights trained elsewhere), and
    /// where it came from (recorded in `run.json`).
    pub initial_parameters: Option<(Vec<f64>, PathBuf)>,
    /// Called with every record (progress display, Ctrl-C); `Control::Stop` ends the run.
    pub observer: &'a mut dyn FnMut(&StepRecord) -> Control,
}

impl BackendJob for TrainRun<'_> {
    type Output = Result<RunSummary>;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Result<RunSummary> {
        let s = self.settings;
        let dir = self.out.join(&s.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        let mut record = RunRecord::start(s, &info);
        record.initial_parameters = self.initial_parameters.as_ref().map(|(_, p)| p.clone());
        let run_json = dir.join("run.json");
        write_json(&run_json, &record)?;

        let (x, y) = s.data.to_tensors::<B>(&device);
        let model = match &self.initial_parameters {
            Some((w, _)) => Mlp::<B>::from_vector(&s.model, w, &device)?,
            None => s.model.init::<B>(s.config.seed, &device),
        };
        let (card, operator_extremes0) = card_at(s, &model, &x, &y, self.on_card_progress)?;
        let mut step_size = resolve_step_size(s.learning_rate, &s.train.optimizer, card.as_ref())?;
        if self.eta_from_flag && step_size.source == "config" {
            step_size.source = "--learning-rate".into();
        }
        (self.on_card)(card.as_ref(), &step_size);
        record.step_size = Some(step_size.clone());
        write_json(&run_json, &record)?;
        let mut train_settings = s.train.clone();
        train_settings.learning_rate = step_size.value;
        train_settings.operator_extremes0 = operator_extremes0;
        let theorem = card.as_ref().and_then(theorem_reference);
        let outcome = train_with_metrics(
            model.clone(),
            &x,
            &y,
            &train_settings,
            theorem,
            &dir,
            self.observer,
        )?;
        write_parameters(&dir, &outcome.model.to_vector())?;

        let travelled = match &card {
            Some(c) => Some(travelled_ball(
                c,
                &model,
                &x,
                &y,
                max_distance(&outcome.records),
                &trajectory_points(&outcome.records),
                &s.config.card.settings(s.config.seed).search,
            )?),
            None => None,
        };
        let verdicts = judge(
            card.as_ref(),
            travelled.as_ref(),
            &RunRecords {
                records: &outcome.records,
                eta: step_size.value,
                target_loss: s.train.target_loss,
                stop: &outcome.stop,
                optimizer: &s.train.optimizer,
                round_off: RoundOff::for_backend::<B>(&s.model),
                equations: s.data.equations(),
                parameters: s.model.parameter_count(),
            },
        );
        let summary = Summary {
            plstar_version: VERSION.into(),
            git_revision: git_revision().map(str::to_string),
            seed: s.config.seed,
            backend: info.clone(),
            loss_convention: LOSS_CONVENTION,
            config: s.config.clone(),
            sources: card.as_ref().map(card_sources).unwrap_or_default(),
            card: card.clone(),
            step_size: step_size.clone(),
            verdicts: verdicts.clone(),
            stop: outcome.stop.clone(),
            records: outcome.records.len(),
        };
        write_json(&dir.join("summary.json"), &summary)?;
        let figures = crate::report::figures::training::training_figures(&dir)?;
        write_atomic(
            &dir.join("report.md"),
            report_markdown(&summary, &figures).as_bytes(),
        )?;
        record.finish(&outcome.stop, &outcome.records);
        write_json(&run_json, &record)?;

        Ok(RunSummary {
            dir,
            records: outcome.records,
            stop: outcome.stop,
            parameters: s.model.parameter_count(),
            samples: s.data.len(),
            backend: info,
            card,
            step_size,
            verdicts,
        })
    }
}

/// The theorem card around `model`'s point with the config's `[card]` settings (the searches
/// seeded with the run's seed), or `None` with `card.enabled = false`. Where the kernel
/// evaluations take the operator path, the card's constants at `w₀` from the operator
/// ([`operator_card`]: no search, no proof), returned with `K(w₀)`'s extremes for the first
/// kernel evaluation.
fn card_at<B: Backend>(
    s: &Settings,
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    on_progress: &mut dyn FnMut(&CardProgress),
) -> Result<(Option<TheoremCard>, Option<KernelExtremes>)> {
    if !s.config.card.enabled {
        return Ok((None, None));
    }
    if let crate::train::KernelEvaluation::Operator {
        lanczos_steps,
        cache_limit,
    } = s.train.kernel_evaluation
    {
        on_progress(&CardProgress::Init {
            stage: "λ_min, λ_max of K(w₀) by Lanczos on the matrix-free operator",
            estimate_seconds: None,
        });
        let kernel0 = OperatorKernel0::at(model, x, lanczos_steps, cache_limit);
        let extremes = kernel0.extremes.clone();
        let card = operator_card(model, x, y, kernel0, on_progress)?;
        return Ok((Some(card), Some(extremes)));
    }
    let card = theorem_card_with_progress(
        model,
        x,
        y,
        &s.config.card.settings(s.config.seed),
        on_progress,
    )?;
    Ok((Some(card), None))
}

impl RunRecord {
    /// The record of a run that is starting (`"status": "running"`).
    fn start(s: &Settings, info: &BackendInfo) -> Self {
        RunRecord {
            plstar_version: VERSION.into(),
            git_revision: git_revision().map(str::to_string),
            status: "running".into(),
            seed: s.config.seed,
            initial_parameters: None,
            data_seed: s.config.data.seed,
            backend: info.clone(),
            loss: LOSS_CONVENTION,
            samples: s.data.len(),
            input_dim: s.data.dim,
            parameters: s.model.parameter_count(),
            kernel_evaluation: s.train.kernel_evaluation,
            config: s.config.clone(),
            step_size: None,
            started_at: utc_now(),
            finished_at: None,
            stop: None,
            initial_loss: None,
            final_loss: None,
            final_step: None,
        }
    }

    /// Records how the run ended.
    fn finish(&mut self, stop: &StopReason, records: &[StepRecord]) {
        self.status = match stop {
            StopReason::TargetReached { .. } => "target_reached",
            StopReason::StepBudget => "step_budget",
            StopReason::Diverged { .. } => "diverged",
            StopReason::Interrupted { .. } => "interrupted",
        }
        .into();
        self.finished_at = Some(utc_now());
        self.stop = Some(stop.clone());
        self.initial_loss = records.first().map(|r| r.loss);
        self.final_loss = records.last().map(|r| r.loss);
        self.final_step = records.last().map(|r| r.step);
    }
}

/// Trains, streaming every record to `dir/metrics.csv` (flushed every 100 steps, renamed into
/// place at the end) before handing it to `observer`.
fn train_with_metrics<B: Backend>(
    model: Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &TrainSettings,
    theorem: Option<TheoremReference>,
    dir: &Path,
    observer: &mut dyn FnMut(&StepRecord) -> Control,
) -> Result<TrainOutcome<B>> {
    let mut metrics = PartialFile::create(&dir.join("metrics.csv"))?;
    metrics.line(StepRecord::CSV_HEADER)?;
    let mut write_error = None;
    let outcome = train(model, x, y, settings, theorem, &mut |r: &StepRecord| {
        let written = metrics.line(&r.csv_row()).and_then(|_| {
            if r.step.is_multiple_of(100) {
                metrics.flush()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            write_error = Some(e);
            return Control::Stop;
        }
        observer(r)
    });
    if let Some(e) = write_error {
        return Err(e);
    }
    metrics.commit()?;
    Ok(outcome)
}

/// The certified `μ̂` and radius for the records' bound columns (none without a certificate:
/// the theorem promises nothing then).
pub fn theorem_reference(card: &TheoremCard) -> Option<TheoremReference> {
    let c = &card.certificate;
    if !c.certified {
        return None;
    }
    Some(TheoremReference {
        mu_hat: c.mu?,
        radius: c.radius?,
    })
}

/// `r_T = max_t ‖w_t − w₀‖`.
pub fn max_distance(records: &[StepRecord]) -> f64 {
    records
        .iter()
        .map(|r| r.distance_from_init)
        .fold(0.0, f64::max)
}

/// The kernel evaluations of a trajectory as measured points.
pub fn trajectory_points(records: &[StepRecord]) -> Vec<PointMeasure> {
    records
        .iter()
        .filter_map(|r| {
            Some(PointMeasure {
                kind: PointKind::Trajectory,
                distance: r.distance_from_init,
                lambda_min: r.lambda_min?,
                lambda_max: r.lambda_max?,
            })
        })
        .collect()
}

/// `dir/parameters.npy` when every parameter is finite; otherwise no stale vector from an
/// earlier run of the same name may survive.
fn write_parameters(dir: &Path, w: &[f64]) -> Result<()> {
    if w.iter().all(|v| v.is_finite()) {
        crate::report::npy::write(&dir.join("parameters.npy"), w, &[w.len()])?;
    } else {
        let _ = std::fs::remove_file(dir.join("parameters.npy"));
    }
    Ok(())
}

/// `report.md`: the card, the verdicts and the figures. Every table cell goes through
/// [`cell`], so that a `|` in a label (`ρ = min |σ_out'|`) stays inside its cell.
fn report_markdown(s: &Summary, figures: &[PathBuf]) -> String {
    /// A Markdown table cell: `|` escaped, line breaks as spaces.
    fn cell(text: &str) -> String {
        text.replace('|', "\\|").replace(['\n', '\r'], " ")
    }
    let mut md = format!(
        "# plstar run `{}`\n\nplstar {}{} · backend {} · seed {} · loss convention: {} · the \
         config as resolved: `run.json`\n\n",
        s.config.name.as_deref().unwrap_or(""),
        s.plstar_version,
        s.git_revision
            .as_deref()
            .map_or(String::new(), |g| format!(" (git {g})")),
        s.backend,
        s.seed,
        s.loss_convention
    );
    if let Some(c) = &s.card {
        md.push_str(
            "## Theorem card (before training)\n\n| quantity | value | from |\n|---|---|---|\n",
        );
        for (k, v, src) in card_rows(c, &s.step_size) {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&k),
                cell(&v),
                cell(&src)
            ));
        }
        md.push_str(&format!(
            "\n{}\n\n{}\n\n### μ̂, L̂_F, β̂_F over balls B(w₀, r)\n\n",
            c.diagnosis,
            crate::experiment::card_text::proved_line(c)
        ));
        md.push_str(&profile_markdown(c));
        md.push('\n');
    }
    md.push_str("## Verdicts\n\n| check | result | why it applies (or not) | numbers |\n|---|---|---|---|\n");
    for v in &s.verdicts.verdicts {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&v.check),
            cell(v.state.label()),
            cell(&v.reason),
            cell(&v.detail)
        ));
    }
    if let (Some(gap), Some(inside)) =
        (s.verdicts.max_linearization_gap, s.verdicts.kernel_regime())
    {
        md.push_str(&format!(
            "\n## The kernel regime\n\nmax_t ‖F(w_t) − F_lin,t‖ / ‖r₀‖ = {gap:.3e} against gradient descent on the model linearized at w₀ (r_t^lin = (I − ηK₀)^t r₀): {} (threshold {KERNEL_REGIME_GAP}: the residuals stay within a tenth of ‖r₀‖ of each other).\n",
            if inside {
                "the run stayed in the kernel regime"
            } else {
                "the run left the kernel regime"
            }
        ));
    }
    md.push_str("\n## Figures\n\n");
    for f in figures
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "svg"))
    {
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        md.push_str(&format!("![{name}]({name})\n\n"));
    }
    md
}
