//! Full-batch gradient descent on `L(w) = ½ ‖F(w) − y‖²`:
//! `w_{t+1} = w_t − η ∇L(w_t)`.
//!
//! The loop stops at the first of: `L(w_t) ≤ target_loss`, the step budget, a non-finite loss
//! (divergence: the run stops at once, keeping every finite record), or the observer asking
//! to stop. The library neither prints nor writes files: each [`StepRecord`] goes to the
//! caller's observer.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::loss::{loss_gradient, sum_of_squares};
use crate::model::{download, Mlp};

/// Settings of a gradient-descent run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GdSettings {
    /// The step budget `T`: at most `T` updates (records for `t = 0 … T`).
    pub steps: usize,
    /// The step size `η`.
    pub learning_rate: f64,
    /// Stop once `L(w_t) ≤ target_loss`.
    pub target_loss: f64,
}

/// What gradient descent saw at `w_t`, before the update.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step `t` (0 = initialization).
    pub step: usize,
    /// `L(w_t) = ½ ‖F(w_t) − y‖²`.
    pub loss: f64,
    /// `‖∇L(w_t)‖²`.
    pub grad_norm_sq: f64,
    /// `‖w_t − w₀‖`.
    pub distance_from_init: f64,
}

impl StepRecord {
    /// The CSV header matching [`StepRecord::csv_row`].
    pub const CSV_HEADER: &'static str = "step,loss,grad_norm_sq,distance_from_init";

    /// One CSV line (no newline), floats with full round-trip precision.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{:e},{:e},{:e}",
            self.step, self.loss, self.grad_norm_sq, self.distance_from_init
        )
    }
}

/// Why the run stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// `L(w_t) ≤ target_loss` at `step`.
    TargetReached {
        /// The step at which the target was reached.
        step: usize,
    },
    /// The step budget ran out.
    StepBudget,
    /// The loss became NaN or infinite at `step`; no record was kept for that step.
    Diverged {
        /// The first step whose loss was not finite.
        step: usize,
        /// The loss there (NaN or ±inf), as text.
        loss: String,
    },
    /// The observer asked to stop (e.g. Ctrl-C).
    Interrupted {
        /// The last recorded step.
        step: usize,
    },
}

/// The observer's answer after each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Continue,
    /// Stop after this record.
    Stop,
}

/// The result of a run.
#[derive(Debug)]
pub struct TrainOutcome<B: Backend> {
    /// The model where the run stopped (for a diverged run: the non-finite one).
    pub model: Mlp<B>,
    /// Every finite record, `t = 0, 1, …`.
    pub records: Vec<StepRecord>,
    /// Why the run stopped.
    pub stop: StopReason,
}

/// Runs full-batch gradient descent from `model` (= `w₀`) on inputs `x` `[n, d]` and targets
/// `y` `[n]`, calling `observer` with every record.
///
/// Cost per step: one forward and one backward pass, and one device synchronization (the loss,
/// `‖∇L‖²` and `‖w_t − w₀‖²` are read back together).
pub fn gradient_descent<B: Backend>(
    model: Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &GdSettings,
    observer: &mut dyn FnMut(&StepRecord) -> Control,
) -> TrainOutcome<B> {
    let config = model.config().clone();
    let w0 = model.weights();
    let b0 = model.biases();
    let mut model = model;
    let mut records = Vec::new();
    let eta = settings.learning_rate;
    let stop = 'run: {
        for step in 0..=settings.steps {
            let grad = loss_gradient(&model, x, y);
            let weights = model.weights();
            let biases = model.biases();
            let dw: Vec<_> = weights
                .iter()
                .zip(&w0)
                .map(|(w, w0)| w.clone() - w0.clone())
                .collect();
            let db: Vec<_> = biases
                .iter()
                .zip(&b0)
                .map(|(b, b0)| b.clone() - b0.clone())
                .collect();
            let stats = download(Tensor::cat(
                vec![grad.loss.clone(), grad.norm_sq(), sum_of_squares(&dw, &db)],
                0,
            ));
            let record = StepRecord {
                step,
                loss: stats[0],
                grad_norm_sq: stats[1],
                distance_from_init: stats[2].sqrt(),
            };
            if !record.loss.is_finite() {
                break 'run StopReason::Diverged {
                    step,
                    loss: format!("{}", record.loss),
                };
            }
            records.push(record);
            if observer(&record) == Control::Stop {
                break 'run StopReason::Interrupted { step };
            }
            if record.loss <= settings.target_loss {
                break 'run StopReason::TargetReached { step };
            }
            if step == settings.steps {
                break 'run StopReason::StepBudget;
            }
            let weights = weights
                .into_iter()
                .zip(grad.weights)
                .map(|(w, g)| w - g.mul_scalar(eta))
                .collect();
            let biases = biases
                .into_iter()
                .zip(grad.biases)
                .map(|(b, g)| b - g.mul_scalar(eta))
                .collect();
            model = Mlp::from_parts(&config, weights, biases).expect("shapes are preserved");
        }
        StopReason::StepBudget
    };
    TrainOutcome {
        model,
        records,
        stop,
    }
}
