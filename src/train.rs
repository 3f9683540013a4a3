//! Training on `L(w) = ½ ‖F(w) − y‖²`, instrumented against the PL* theorem.
//!
//! - Full-batch gradient descent: `w_{t+1} = w_t − η ∇L(w_t)`.
//! - Mini-batch SGD: `w_{t+1} = w_t − η (n/b) Σ_{i∈B_t} ∇ℓ_i(w_t)` with `ℓ_i = ½(f_i − y_i)²`,
//!   batches of `b` drawn without replacement from a seeded permutation of the samples (a new
//!   one each epoch when shuffling, the identity order otherwise). The factor `n/b` makes the
//!   batch gradient an unbiased estimate of `∇L`, so `η` keeps its full-batch meaning.
//!
//! Every step records, at `w_t` on the full batch: `L`, `‖∇L‖²`, the PL ratio
//! `‖∇L‖²/(2L)`, `‖w_t − w₀‖` (and `/R` with a theorem card), and the theorem's bound
//! `(1 − η μ̂)^t L(w₀)`. Every `eval_every` steps (and at the last step) it also records
//! `λ_min(K(w_t))`, `λ_max(K(w_t))` and `‖K(w_t) − K(w₀)‖_F / ‖K(w₀)‖_F`, and every
//! `hessian_every` steps `‖H_F(w_t)‖`.
//!
//! The loop stops at the first of: `L ≤ target_loss`, the step budget, divergence (a loss that
//! is not finite, or above `divergence_factor · L(w₀)`: stopped at once, the finite records
//! kept), or the observer asking to stop (Ctrl-C). The library neither prints nor writes files.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::measure::hessian::{hessian_operator_norm, HessianNormSettings};
use crate::measure::kernel::operator::{
    operator_extremes, operator_tolerance, rademacher_probes, relative_gap_estimate,
    KernelOperator, GAP_PROBES, GAP_PROBE_SALT, OPERATOR_BLOCK,
};
use crate::measure::kernel::{tangent_kernel, KernelMethod, TangentKernel};
use crate::measure::loss::{loss_gradient, sum_of_squares, LossGradient};
use crate::measure::spectrum::{
    kernel_extremes, symmetric_eigen, KernelExtremes, EXTREMES_DENSE_LIMIT,
};
use crate::model::{download, machine_epsilon, Mlp};

/// The optimizer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Optimizer {
    /// Full-batch gradient descent.
    Gd,
    /// Mini-batch SGD with batch size `batch_size`.
    Sgd {
        /// `b`.
        batch_size: usize,
        /// A fresh seeded permutation each epoch (else the fixed order 0…n−1).
        shuffle: bool,
    },
}

/// Where training's kernel evaluations take `K(w_t)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "path", rename_all = "lowercase")]
pub enum KernelEvaluation {
    /// `K` formed (`N²` f64 entries): `λ_min`, `λ_max` by the dense eigensolver (Lanczos above
    /// `N = 1024`), `‖K − K₀‖_F / ‖K₀‖_F` exactly.
    #[default]
    Dense,
    /// `v ↦ K v` matrix-free ([`KernelOperator`]): `λ_max` and `λ_min` by Lanczos on the
    /// operator, each recorded only once it met the tolerance, and `‖K − K₀‖_F / ‖K₀‖_F`
    /// estimated from [`GAP_PROBES`] Rademacher probes ([`relative_gap_estimate`]); no
    /// linearized model (it needs `K₀`'s eigendecomposition).
    Operator {
        /// The most Lanczos steps per evaluation.
        lanczos_steps: usize,
        /// Bytes of factors the operator may keep between products.
        cache_limit: usize,
    },
}

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// GD or SGD.
    pub optimizer: Optimizer,
    /// The step budget `T`: at most `T` updates (records for `t = 0 … T`).
    pub steps: usize,
    /// The step size `η`.
    pub learning_rate: f64,
    /// Stop once `L(w_t) ≤ target_loss`.
    pub target_loss: f64,
    /// Evaluate the tangent kernel every this many steps (0: only at the first and last step,
    /// and at the kernel stage); the first evaluation is always `w₀`'s, the `K₀` of the kernel
    /// change.
    pub eval_every: usize,
    /// Estimate `‖H_F(w_t)‖` every this many steps (0: never).
    pub hessian_every: usize,
    /// Divergence: stop when `L(w_t) > divergence_factor · L(w₀)`.
    pub divergence_factor: f64,
    /// Compare gradient descent with the model linearized at `w₀` (a dense eigendecomposition
    /// of `K₀`, `O(n³)`, before the first step).
    #[serde(default = "linearized_default")]
    pub linearized: bool,
    /// Also evaluate the kernel at the first step with `L(w_t) ≤ kernel_stage · L(w₀)` (a stage
    /// comparable across runs, e.g. for the kernel change against width).
    pub kernel_stage: Option<f64>,
    /// Seed of the SGD batches.
    pub seed: u64,
    /// Where the kernel evaluations take `K`.
    #[serde(default)]
    pub kernel_evaluation: KernelEvaluation,
    /// On the operator path, `K(w₀)`'s extremes as already measured at this `w₀` with the same
    /// Lanczos steps and tolerance (the card's run, [`crate::theorem::card::OperatorKernel0`]):
    /// the first evaluation takes them instead of running Lanczos again (minutes at large `N`).
    /// Not part of the config.
    #[serde(skip)]
    pub operator_extremes0: Option<KernelExtremes>,
}

impl TrainSettings {
    /// Whether the run compares GD with the model linearized at `w₀`: `linearized`, GD, and
    /// the dense kernel (the comparison needs `K₀`'s eigendecomposition).
    pub fn linearizes(&self) -> bool {
        self.optimizer == Optimizer::Gd
            && self.linearized
            && self.kernel_evaluation == KernelEvaluation::Dense
    }

    /// Full-batch GD with `steps`, `η` and a target, kernel evaluations off.
    pub fn gd(steps: usize, learning_rate: f64, target_loss: f64) -> Self {
        Self {
            optimizer: Optimizer::Gd,
            steps,
            learning_rate,
            target_loss,
            eval_every: 0,
            hessian_every: 0,
            divergence_factor: 1e6,
            linearized: true,
            kernel_stage: None,
            seed: 0,
            kernel_evaluation: KernelEvaluation::Dense,
            operator_extremes0: None,
        }
    }
}

fn linearized_default() -> bool {
    true
}

/// The theorem's reference values a run is checked against (from the card).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TheoremReference {
    /// `μ̂` (from the probes of the ball).
    pub mu_hat: f64,
    /// `R`.
    pub radius: f64,
}

/// What training saw at `w_t`, before the update (full batch).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step `t` (0 = initialization).
    pub step: usize,
    /// `L(w_t) = ½ ‖F(w_t) − y‖²`.
    pub loss: f64,
    /// `‖∇L(w_t)‖²`.
    pub grad_norm_sq: f64,
    /// `‖∇L‖² / (2L)`, the local PL* constant realized.
    pub pl_ratio: f64,
    /// `‖w_t − w₀‖`.
    pub distance_from_init: f64,
    /// `‖w_t − w₀‖ / R` (with a theorem reference).
    pub distance_over_radius: Option<f64>,
    /// `(1 − η μ̂)^t L(w₀)` (with a theorem reference).
    pub loss_bound: Option<f64>,
    /// `λ_min(K(w_t))` (evaluation steps).
    pub lambda_min: Option<f64>,
    /// `λ_max(K(w_t))` (evaluation steps).
    pub lambda_max: Option<f64>,
    /// `‖K(w_t) − K(w₀)‖_F / ‖K(w₀)‖_F` (evaluation steps): exact on the dense path, a Hutchinson
    /// estimate from [`GAP_PROBES`] probes on the operator path ([`KernelEvaluation`]).
    pub kernel_change: Option<f64>,
    /// `‖H_F(w_t)‖` (Hessian steps).
    pub hessian_norm: Option<f64>,
    /// `½‖r_t^lin‖²`, the loss of the model linearized at `w₀` after the same `t` GD steps
    /// (gradient descent only).
    pub loss_linearized: Option<f64>,
    /// `‖F(w_t) − F_lin,t‖ / ‖r₀‖ = ‖r_t − r_t^lin‖ / ‖r₀‖` (gradient descent only).
    pub linearization_gap: Option<f64>,
}

impl StepRecord {
    /// The CSV header matching [`StepRecord::csv_row`].
    pub const CSV_HEADER: &'static str = "step,loss,grad_norm_sq,pl_ratio,distance_from_init,distance_over_radius,loss_bound,lambda_min,lambda_max,kernel_change,hessian_norm,loss_linearized,linearization_gap";

    /// One CSV line (no newline); floats round-trip exactly; absent values are empty fields.
    pub fn csv_row(&self) -> String {
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:e}"));
        format!(
            "{},{:e},{:e},{:e},{:e},{},{},{},{},{},{},{},{}",
            self.step,
            self.loss,
            self.grad_norm_sq,
            self.pl_ratio,
            self.distance_from_init,
            opt(self.distance_over_radius),
            opt(self.loss_bound),
            opt(self.lambda_min),
            opt(self.lambda_max),
            opt(self.kernel_change),
            opt(self.hessian_norm),
            opt(self.loss_linearized),
            opt(self.linearization_gap)
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
    /// The loss became non-finite, or grew past `divergence_factor · L(w₀)`, at `step`.
    Diverged {
        /// The step where divergence was detected.
        step: usize,
        /// The loss there, as text (NaN, inf, or the large value).
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
    /// The model where the run stopped (for a diverged run: the last one with a finite loss).
    pub model: Mlp<B>,
    /// Every kept record, `t = 0, 1, …`.
    pub records: Vec<StepRecord>,
    /// Why the run stopped.
    pub stop: StopReason,
}

/// Trains `model` (= `w₀`) on inputs `x` `[n, d]` and targets `y` `[n]`, calling `observer`
/// with every record. `theorem` adds the bound and `‖w_t − w₀‖/R` columns.
///
/// Cost per step: one full-batch forward and backward pass (plus one on the batch for SGD) and
/// one device synchronization; evaluation steps add a tangent kernel and its dense spectrum.
pub fn train<B: Backend>(
    model: Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &TrainSettings,
    theorem: Option<TheoremReference>,
    observer: &mut dyn FnMut(&StepRecord) -> Control,
) -> TrainOutcome<B> {
    let w0 = model.weights();
    let b0 = model.biases();
    // Below f64, the reductions that decide verdicts are accumulated in f64 on the host.
    let host_w0 = (machine_epsilon::<B>() > f64::EPSILON).then(|| model.to_vector());
    let mut model = model;
    let mut records: Vec<StepRecord> = Vec::new();
    let eta = settings.learning_rate;
    let mut kernel0 = KernelZero::None;
    let mut batches = BatchSampler::new(x.dims()[0], settings.seed);
    let mut linear: Option<LinearizedRun> = None;
    let mut loss0 = f64::NAN;
    let mut stage_seen = false;
    let mut previous: Option<Mlp<B>> = None;

    let stop = 'run: {
        for step in 0..=settings.steps {
            let grad = loss_gradient(&model, x, y);
            let (loss, grad_norm_sq, distance, residual) = match &host_w0 {
                Some(w0) => host_step_stats(&model, &grad, w0),
                None => step_stats(&model, &grad, &w0, &b0),
            };
            if step == 0 {
                loss0 = loss;
                if settings.linearizes() {
                    linear = LinearizedRun::at(&model, x, &residual, eta);
                }
            }
            if !loss.is_finite() || loss > settings.divergence_factor * loss0 {
                if let Some(p) = previous.take() {
                    model = p;
                }
                break 'run StopReason::Diverged {
                    step,
                    loss: format!("{loss:e}"),
                };
            }
            let reached = loss <= settings.target_loss;
            let last = reached || step == settings.steps;
            let mut record = StepRecord {
                step,
                loss,
                grad_norm_sq,
                pl_ratio: grad_norm_sq / (2.0 * loss),
                distance_from_init: distance,
                distance_over_radius: theorem.map(|t| distance / t.radius),
                loss_bound: theorem
                    .map(|t| (1.0 - eta * t.mu_hat).max(0.0).powi(step as i32) * loss0),
                lambda_min: None,
                lambda_max: None,
                kernel_change: None,
                hessian_norm: None,
                loss_linearized: None,
                linearization_gap: None,
            };
            if let Some(lin) = &linear {
                (record.loss_linearized, record.linearization_gap) = lin.compare(step, &residual);
            }
            let at_stage = !stage_seen && settings.kernel_stage.is_some_and(|f| loss <= f * loss0);
            stage_seen |= at_stage;
            let eval_due = step == 0
                || last
                || at_stage
                || (settings.eval_every > 0 && step % settings.eval_every == 0);
            if eval_due {
                evaluate(settings, &model, x, &mut kernel0, &mut record);
            }
            if settings.hessian_every > 0 && (step % settings.hessian_every == 0 || last) {
                record.hessian_norm =
                    Some(hessian_operator_norm(&model, x, &HessianNormSettings::default()).value);
            }
            records.push(record);
            if observer(&record) == Control::Stop {
                break 'run StopReason::Interrupted { step };
            }
            if reached {
                break 'run StopReason::TargetReached { step };
            }
            if step == settings.steps {
                break 'run StopReason::StepBudget;
            }
            let next = descent_step(&model, grad, x, y, settings, &mut batches);
            previous = Some(std::mem::replace(&mut model, next));
        }
        StopReason::StepBudget
    };
    TrainOutcome {
        model,
        records,
        stop,
    }
}

/// [`step_stats`] with every reduction accumulated in f64 on the host (for working precisions
/// below f64): `L = ½ Σ r_i²` from the downloaded residual, `‖∇L‖²` from the downloaded
/// gradient, `‖w − w₀‖` from the downloaded parameters against the host copy of `w₀`.
///
/// Cost: downloads of `n + 2p` values.
fn host_step_stats<B: Backend>(
    model: &Mlp<B>,
    grad: &LossGradient<B>,
    w0: &[f64],
) -> (f64, f64, f64, Vec<f64>) {
    let residual = download(grad.residual.clone());
    let loss = 0.5 * residual.iter().map(|r| r * r).sum::<f64>();
    let distance = model
        .to_vector()
        .iter()
        .zip(w0)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    (loss, grad.norm_sq_f64(), distance, residual)
}

/// `(L(w), ‖∇L(w)‖², ‖w − w₀‖, r(w))` in one device synchronization (f64 backends: the
/// device's own sums are f64).
fn step_stats<B: Backend>(
    model: &Mlp<B>,
    grad: &LossGradient<B>,
    w0: &[Tensor<B, 2>],
    b0: &[Tensor<B, 1>],
) -> (f64, f64, f64, Vec<f64>) {
    let dw: Vec<_> = model
        .weights()
        .iter()
        .zip(w0)
        .map(|(w, w0)| w.clone() - w0.clone())
        .collect();
    let db: Vec<_> = model
        .biases()
        .iter()
        .zip(b0)
        .map(|(b, b0)| b.clone() - b0.clone())
        .collect();
    let stats = download(Tensor::cat(
        vec![
            grad.loss.clone(),
            grad.norm_sq(),
            sum_of_squares(&dw, &db),
            grad.residual.clone(),
        ],
        0,
    ));
    (stats[0], stats[1], stats[2].sqrt(), stats[3..].to_vec())
}

/// Gradient descent on the model linearized at `w₀`, `F_lin(w) = F(w₀) + DF(w₀)(w − w₀)`: its
/// residual after `t` steps of size `η` is `r_t^lin = (I − η K₀)^t r₀`, in closed form from the
/// eigendecomposition `K₀ = Σ λ_i u_i u_iᵀ`: `r_t^lin = Σ (1 − η λ_i)^t (u_iᵀ r₀) u_i`
/// (Lee et al. 2019, "Wide neural networks of any depth evolve as linear models under gradient
/// descent"). Cost: one kernel and its eigendecomposition at `w₀`, then `O(n²)` per step and no
/// forward pass.
struct LinearizedRun {
    /// `(λ_i, u_i, u_iᵀ r₀)`.
    modes: Vec<(f64, Vec<f64>, f64)>,
    eta: f64,
    residual_norm0: f64,
}

impl LinearizedRun {
    /// The linearized run from the model at `w₀` with residual `r₀` (None when the kernel's
    /// eigendecomposition fails).
    fn at<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, r0: &[f64], eta: f64) -> Option<Self> {
        let eig = symmetric_eigen(&tangent_kernel(model, x, KernelMethod::Structured)).ok()?;
        let modes = eig
            .values
            .into_iter()
            .zip(eig.vectors)
            .map(|(l, u)| {
                let c = u.iter().zip(r0).map(|(a, b)| a * b).sum();
                (l, u, c)
            })
            .collect();
        Some(Self {
            modes,
            eta,
            residual_norm0: r0.iter().map(|v| v * v).sum::<f64>().sqrt(),
        })
    }

    /// `(½‖r_t^lin‖², ‖r_t − r_t^lin‖ / ‖r₀‖)` at step `t` with the network's residual `r_t`.
    fn compare(&self, t: usize, residual: &[f64]) -> (Option<f64>, Option<f64>) {
        let mut lin = vec![0.0; residual.len()];
        for (l, u, c) in &self.modes {
            let a = (1.0 - self.eta * l).powi(t as i32) * c;
            lin.iter_mut().zip(u).for_each(|(r, ui)| *r += a * ui);
        }
        let loss = 0.5 * lin.iter().map(|v| v * v).sum::<f64>();
        let gap = residual
            .iter()
            .zip(&lin)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        (
            Some(loss),
            Some(gap / self.residual_norm0.max(f64::MIN_POSITIVE)),
        )
    }
}

/// What the kernel change is measured against: `K₀` formed (dense), or the products `K₀ z` of
/// the gap's Rademacher probes `z` (operator).
enum KernelZero {
    None,
    Dense(TangentKernel),
    Probes {
        probes: Vec<Vec<f64>>,
        products: Vec<Vec<f64>>,
    },
}

/// The kernel evaluation on the path `settings` names.
fn evaluate<B: Backend>(
    settings: &TrainSettings,
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    kernel0: &mut KernelZero,
    record: &mut StepRecord,
) {
    match settings.kernel_evaluation {
        KernelEvaluation::Dense => evaluate_kernel(model, x, kernel0, record),
        KernelEvaluation::Operator {
            lanczos_steps,
            cache_limit,
        } => {
            let limits = (lanczos_steps, cache_limit, settings.seed);
            // The first evaluation is w₀'s: its extremes may be known already.
            let known = match kernel0 {
                KernelZero::None => settings.operator_extremes0.as_ref(),
                _ => None,
            };
            evaluate_kernel_operator(model, x, limits, known, kernel0, record);
        }
    }
}

/// Fills the record's kernel columns: `λ_min`, `λ_max` ([`kernel_extremes`]: dense up to
/// `N = 1024`, Lanczos above) and `‖K − K₀‖_F/‖K₀‖_F` (the first
/// evaluated kernel is `K₀`).
fn evaluate_kernel<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    kernel0: &mut KernelZero,
    record: &mut StepRecord,
) {
    let k = tangent_kernel(model, x, KernelMethod::Structured);
    // Dense up to N = 1024 (as always), Lanczos above (minutes instead of a 20-minute dense
    // eigensolve at N ≈ 18 000); an unconverged Lanczos value is not recorded.
    if let Ok(e) = kernel_extremes(&k, EXTREMES_DENSE_LIMIT) {
        if e.residuals.as_ref().is_none_or(|r| r.converged) {
            record.lambda_min = Some(e.lambda_min);
            record.lambda_max = Some(e.lambda_max);
        }
    }
    if matches!(kernel0, KernelZero::None) {
        *kernel0 = KernelZero::Dense(k.clone());
    }
    if let KernelZero::Dense(k0) = kernel0 {
        record.kernel_change = Some(k.relative_distance(k0));
    }
}

/// [`evaluate_kernel`] on the matrix-free operator, `(lanczos_steps, cache_limit, seed)`:
/// `λ_max` recorded once it met the tolerance, `λ_min` once both ends did (an unconverged
/// bottom Ritz value is only an upper estimate), and the kernel change estimated from the
/// probes' products (`K₀ z` kept from the first evaluation). `known`: the extremes at this
/// point measured already (then no Lanczos run). Cost: at most `lanczos_steps` + [`GAP_PROBES`]
/// products.
fn evaluate_kernel_operator<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    (lanczos_steps, cache_limit, seed): (usize, usize, u64),
    known: Option<&KernelExtremes>,
    kernel0: &mut KernelZero,
    record: &mut StepRecord,
) {
    let mut op = KernelOperator::new(model, x, OPERATOR_BLOCK, cache_limit);
    let e = match known {
        Some(e) => e.clone(),
        None => operator_extremes(&mut op, lanczos_steps, operator_tolerance::<B>(model)),
    };
    if let Some(r) = &e.residuals {
        // Both ends converged (an invariant subspace included) or λ_max alone did.
        if r.converged || r.max_converged_at.is_some() {
            record.lambda_max = Some(e.lambda_max);
        }
        if r.converged {
            record.lambda_min = Some(e.lambda_min);
        }
    }
    if matches!(kernel0, KernelZero::None) {
        let equations = x.dims()[0] * model.config().outputs;
        let probes = rademacher_probes(equations, GAP_PROBES, seed ^ GAP_PROBE_SALT);
        let products = probes.iter().map(|z| op.product(z)).collect();
        *kernel0 = KernelZero::Probes { probes, products };
        record.kernel_change = Some(0.0);
    } else if let KernelZero::Probes { probes, products } = kernel0 {
        let now: Vec<Vec<f64>> = probes.iter().map(|z| op.product(z)).collect();
        record.kernel_change = Some(relative_gap_estimate(&now, products).value);
    }
}

/// The SGD batches: consecutive slices of a (seeded, optionally reshuffled) order of the
/// samples, taken cyclically, so every sample is used once per pass even when `b` does not
/// divide `n` (a batch may straddle two passes; the order is reshuffled at each new pass).
struct BatchSampler {
    rng: rand::rngs::ChaCha8Rng,
    order: Vec<usize>,
    cursor: usize,
}

impl BatchSampler {
    fn new(n: usize, seed: u64) -> Self {
        Self {
            rng: rand::rngs::ChaCha8Rng::seed_from_u64(seed),
            order: (0..n).collect(),
            cursor: n,
        }
    }

    /// The next batch of `b ≤ n` sample indices.
    fn next_batch(&mut self, b: usize, shuffle: bool) -> Vec<i64> {
        let n = self.order.len();
        let mut idx = Vec::with_capacity(b);
        while idx.len() < b {
            if self.cursor == n {
                if shuffle {
                    self.order.shuffle(&mut self.rng);
                }
                self.cursor = 0;
            }
            idx.push(self.order[self.cursor] as i64);
            self.cursor += 1;
        }
        idx
    }
}

/// One step `w ← w − η ∇L(w)` (GD, with the full-batch gradient `grad`) or
/// `w ← w − η (n/b) Σ_{i∈B} ∇ℓ_i(w)` (SGD).
fn descent_step<B: Backend>(
    model: &Mlp<B>,
    grad: LossGradient<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &TrainSettings,
    batches: &mut BatchSampler,
) -> Mlp<B> {
    let (n, k) = (x.dims()[0], model.config().outputs);
    let (gw, gb, scale) = match &settings.optimizer {
        Optimizer::Gd => (grad.weights, grad.biases, 1.0),
        Optimizer::Sgd {
            batch_size,
            shuffle,
        } => {
            let b = (*batch_size).min(n);
            let idx = Tensor::<B, 1, Int>::from_data(
                TensorData::new(batches.next_batch(b, *shuffle), [b]).convert::<B::IntElem>(),
                &x.device(),
            );
            // The targets of the batch's samples: rows of y as [n, k].
            let yb = y
                .clone()
                .reshape([n, k])
                .select(0, idx.clone())
                .reshape([b * k]);
            let g = loss_gradient(model, &x.clone().select(0, idx), &yb);
            (g.weights, g.biases, n as f64 / b as f64)
        }
    };
    let eta = settings.learning_rate;
    let weights = model
        .weights()
        .into_iter()
        .zip(gw)
        .map(|(w, g)| w - g.mul_scalar(eta * scale))
        .collect();
    let biases = model
        .biases()
        .into_iter()
        .zip(gb)
        .map(|(b, g)| b - g.mul_scalar(eta * scale))
        .collect();
    Mlp::from_parts(model.config(), weights, biases).expect("shapes are preserved")
}

#[cfg(test)]
mod tests {
    use super::BatchSampler;

    #[test]
    fn batches_without_shuffling_cycle_through_every_sample_when_b_does_not_divide_n() {
        // n = 5, b = 2: the old rule restarted at 0 when fewer than b samples were left, so
        // sample 4 was never used; cyclic batches use every sample once per pass.
        let mut s = BatchSampler::new(5, 0);
        let seen: Vec<i64> = (0..5).flat_map(|_| s.next_batch(2, false)).collect();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn shuffled_batches_use_every_sample_once_per_pass() {
        let mut s = BatchSampler::new(6, 3);
        let mut first: Vec<i64> = (0..3).flat_map(|_| s.next_batch(2, true)).collect();
        first.sort();
        assert_eq!(first, vec![0, 1, 2, 3, 4, 5]);
    }
}
