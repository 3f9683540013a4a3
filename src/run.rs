//! A training run from validated [`Settings`]: builds the data and `w₀` on the chosen backend,
//! runs gradient descent, and writes `<out>/<name>/`:
//!
//! - `metrics.csv` — one row per step `t`: `step, loss, grad_norm_sq, distance_from_init`
//!   (`L(w_t) = ½‖F(w_t) − y‖²`, `‖∇L(w_t)‖²`, `‖w_t − w₀‖`), streamed to
//!   `metrics.csv.partial` and renamed when the run ends;
//! - `parameters.npy` — the final parameter vector `w` (numpy f64, `[p]`), for `plstar ntk --params`;
//! - `run.json` — the resolved config, seeds, backend, precision, device, plstar version, git
//!   revision, timestamps, sizes and how the run ended (written at the start with
//!   `"status": "running"`, rewritten at the end).

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use serde::Serialize;

use crate::backend::{BackendInfo, BackendJob};
use crate::config::{RunConfig, Settings};
use crate::error::{Error, Result};
use crate::records::{git_revision, utc_now, write_json, PartialFile, VERSION};
use crate::train::{gradient_descent, Control, StepRecord, StopReason};

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
    /// Seed of `w₀`.
    pub seed: u64,
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
    /// The configuration as resolved (defaults and command-line overrides applied).
    pub config: RunConfig,
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
}

/// A training run as a [`BackendJob`]: give it to [`crate::backend::dispatch`].
pub struct TrainRun<'a> {
    /// The validated settings.
    pub settings: &'a Settings,
    /// The output root; the run writes `<out>/<name>/`.
    pub out: PathBuf,
    /// Called with every record (progress display, Ctrl-C); `Control::Stop` ends the run.
    pub observer: &'a mut dyn FnMut(&StepRecord) -> Control,
}

impl BackendJob for TrainRun<'_> {
    type Output = Result<RunSummary>;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Result<RunSummary> {
        let s = self.settings;
        let dir = self.out.join(&s.name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        let mut record = RunRecord {
            plstar_version: VERSION.into(),
            git_revision: git_revision().map(str::to_string),
            status: "running".into(),
            seed: s.config.seed,
            data_seed: s.config.data.seed,
            backend: info.clone(),
            loss: LOSS_CONVENTION,
            samples: s.data.len(),
            input_dim: s.data.dim,
            parameters: s.model.parameter_count(),
            config: s.config.clone(),
            started_at: utc_now(),
            finished_at: None,
            stop: None,
            initial_loss: None,
            final_loss: None,
            final_step: None,
        };
        let run_json = dir.join("run.json");
        write_json(&run_json, &record)?;

        let (x, y) = s.data.to_tensors::<B>(&device);
        let model = s.model.init::<B>(s.config.seed, &device);
        let mut metrics = PartialFile::create(&dir.join("metrics.csv"))?;
        metrics.line(StepRecord::CSV_HEADER)?;
        let mut write_error = None;
        let observer = self.observer;
        let outcome = gradient_descent(model, &x, &y, &s.train, &mut |r: &StepRecord| {
            let written = metrics.line(&r.csv_row()).and_then(|_| {
                if r.step % 100 == 0 {
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
        let w = outcome.model.to_vector();
        if w.iter().all(|v| v.is_finite()) {
            crate::npy::write(&dir.join("parameters.npy"), &w, &[w.len()])?;
        } else {
            // No stale vector from an earlier run of the same name may survive a diverged one.
            let _ = std::fs::remove_file(dir.join("parameters.npy"));
        }

        record.status = match &outcome.stop {
            StopReason::TargetReached { .. } => "target_reached",
            StopReason::StepBudget => "step_budget",
            StopReason::Diverged { .. } => "diverged",
            StopReason::Interrupted { .. } => "interrupted",
        }
        .into();
        record.finished_at = Some(utc_now());
        record.stop = Some(outcome.stop.clone());
        record.initial_loss = outcome.records.first().map(|r| r.loss);
        record.final_loss = outcome.records.last().map(|r| r.loss);
        record.final_step = outcome.records.last().map(|r| r.step);
        write_json(&run_json, &record)?;

        Ok(RunSummary {
            dir,
            records: outcome.records,
            stop: outcome.stop,
            parameters: s.model.parameter_count(),
            samples: s.data.len(),
            backend: info,
        })
    }
}
