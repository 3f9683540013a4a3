//! The `ntk` report: the tangent kernel and the theorem's local quantities at one point `w`
//! (the seeded initialization or a saved parameter vector), and the interchange bundle.
//!
//! Reported (THEORY.md): `n`, `p`, the widths, `λ_min(K)`, `λ_max(K)`, `κ = λ_max/λ_min`,
//! `tr K`, `L_F(w) = √λ_max(K)`, `‖H_F‖`, `max_k ‖H_{F_k}‖₂`, `‖F(w) − y‖`, `L(w)`,
//! `‖∇L‖²`, the PL ratio `‖∇L‖² / (2L)` and the check `pl_ratio ≥ λ_min(K)`. With
//! [`NtkOptions::infinite`], also the infinite-width kernel `K∞` of the architecture
//! ([`crate::measure::infinite::limit_kernel`]): `λ_min(K∞)`, `λ_max(K∞)` and the relative gap
//! `‖K(w) − K∞‖_F / ‖K∞‖_F`, or why the architecture has no `K∞`. On the operator path `K∞` is
//! applied matrix-free too ([`crate::measure::infinite::operator::LimitOperator`]): its extremes
//! by Lanczos with their residuals, the gap a Hutchinson estimate with its standard error.
//!
//! The bundle (`--export DIR`), for numpy (`np.load`), f64:
//! `kernel.npy` `[N, N]` (`N = n·k`), `eigenvalues.npy` `[N]` (ascending) with the figure
//! `spectrum.{svg,png}` (every eigenvalue against its rank, [`spectrum_figure`]), `inputs.npy`
//! `[n, d]`, `targets.npy` and `outputs.npy` `[n]` (`[n, k]` with `k` outputs),
//! `parameters.npy` `[p]`, for every layer
//! `l = 1 … L+1` `layer{l}_weight.npy` `[out, in]` and `layer{l}_bias.npy` `[out]` (with
//! biases), `kernel_infinite.npy` `[n, n]` (with [`NtkOptions::infinite`], where `K∞` exists), and
//! `manifest.json` with the architecture, every scale factor, the formulas and the file list.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::config::{RunConfig, Settings};
use crate::experiment::run::LOSS_CONVENTION;
use crate::measure::hessian::{
    hessian_operator_norm_from_outputs, max_output_hessian_norm_with_progress, HessianNormSettings,
    PerOutputHessianNorm,
};
use crate::measure::kernel::operator::rademacher_probes;
use crate::measure::kernel::operator::{
    operator_extremes, operator_tolerance, KernelOperator, GAP_PROBES, GAP_PROBE_SALT,
};
pub use crate::measure::kernel::operator::{OPERATOR_BLOCK, OPERATOR_LANCZOS_TOL};
use crate::measure::kernel::{tangent_kernel, KernelMethod, TangentKernel};
use crate::measure::loss::loss_gradient;
use crate::measure::spectrum::{
    kernel_extremes, EigenResiduals, KernelExtremes, EXTREMES_DENSE_LIMIT,
};
use crate::model::backend::{BackendInfo, BackendJob};
use crate::model::{download, Mlp, MlpConfig};
use crate::report::figures::spectrum::spectrum_figure;
use crate::report::files::{git_revision, utc_now, write_json, VERSION};
use crate::report::npy;
use crate::theorem::card::{
    operator_card, theorem_card, Certificate, OperatorKernel0, TheoremCard,
};

mod bounds;
mod limit;
use bounds::round_off_bounds;
pub use limit::{InfiniteWidth, LimitOperatorSummary};

/// Above this `n`, the kernel's extreme eigenvalues come from Lanczos instead of the dense
/// eigensolver, unless `--export` asks for every eigenvalue.
pub const DENSE_LIMIT: usize = EXTREMES_DENSE_LIMIT;

/// Where the kernel lives: formed densely (`N²` f64 entries) or applied matrix-free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelPath {
    /// `K` formed by [`NtkOptions::method`]; every eigenvalue up to [`DENSE_LIMIT`] (and with
    /// `--export`), the two extremes by Lanczos above.
    Dense,
    /// `v ↦ K v` ([`KernelOperator`]): `λ_min`, `λ_max` by Lanczos on the operator, `diag K`
    /// exactly; `K∞` matrix-free (with `--infinite`); no `kernel.npy`; the card's constants at
    /// the point only ([`operator_card`]: no search, no proof).
    Operator,
}

/// The share of the memory a run may use (`--memory-limit`, else the memory available) that
/// the operator's kept factors may fill; beyond it they are recomputed block by block in every
/// product.
pub const OPERATOR_CACHE_SHARE: f64 = 0.25;

/// The cache limit where the memory is unknown: 2 GiB.
pub const OPERATOR_CACHE_FALLBACK: usize = 2 << 30;

/// The bytes the operator's factors may keep: [`OPERATOR_CACHE_SHARE`] of `memory_limit`
/// (bytes) or of the memory available, [`OPERATOR_CACHE_FALLBACK`] where neither is known.
/// On the 24 GiB development machine about 5.7 GiB: the f32 factors of n = 131 072 samples at
/// L = 2, m = 1024 (2.2 GB) are kept.
pub fn operator_cache_limit(memory_limit: Option<u64>) -> usize {
    memory_limit
        .or_else(crate::experiment::resources::available_bytes)
        .map_or(OPERATOR_CACHE_FALLBACK, |b| {
            (b as f64 * OPERATOR_CACHE_SHARE) as usize
        })
}

/// The operator path as reported.
#[derive(Clone, Debug, Serialize)]
pub struct OperatorSummary {
    /// Products `K v` taken (the diagonal is not one).
    pub products: usize,
    /// Whether the factors were kept between products.
    pub cached: bool,
    /// Samples per block.
    pub block: usize,
    /// The precision of the passes (`f32` or `f64`, the backend's float; the Lanczos vectors
    /// are `f64`).
    pub working_precision: &'static str,
    /// The Lanczos stopping tolerance, relative to `max |λ|`: `max(1e-8, γ)`, `γ` the
    /// round-off model's relative error of one product at this precision
    /// ([`RoundOff::operator_product`]: 2e-15 in f64, about 1e-6 in f32), below which a
    /// residual carries no more digits.
    pub tolerance: f64,
    /// Seconds of the set-up (the factors, when kept).
    pub setup_seconds: f64,
    /// Seconds of the diagonal.
    pub diagonal_seconds: f64,
    /// Mean seconds per product.
    pub seconds_per_product: f64,
}

/// Options of the report.
#[derive(Clone, Debug)]
pub struct NtkOptions {
    /// Bytes the operator path may keep of factors ([`operator_cache_limit`]).
    pub cache_limit: usize,
    /// Dense or matrix-free.
    pub path: KernelPath,
    /// The most Lanczos steps on the operator path.
    pub lanczos_steps: usize,
    /// How `K` is computed on the dense path.
    pub method: KernelMethod,
    /// Whether to estimate `‖H_F‖` and `max_k ‖H_{F_k}‖₂` (Hessian-vector products).
    pub hessian: bool,
    /// A parameter vector to evaluate at instead of `w₀` (and where it came from).
    pub parameters: Option<(Vec<f64>, PathBuf)>,
    /// Where to write the interchange bundle.
    pub export: Option<PathBuf>,
    /// Also compute the theorem card's certificate around the evaluated point (the config's
    /// `[card]` settings).
    pub certify: bool,
    /// Also compute the infinite-width kernel `K∞` and compare `K(w)` with it.
    pub infinite: bool,
}

/// `‖H_F‖` as reported.
#[derive(Clone, Debug, Serialize)]
pub struct HessianSummary {
    /// `‖H_F‖` (alternating maximization; a lower bound, see [`crate::measure::hessian`]).
    pub operator_norm: f64,
    /// Whether the alternation settled.
    pub operator_norm_converged: bool,
    /// Alternating rounds.
    pub operator_norm_rounds: usize,
    /// `max_k ‖H_{F_k}‖₂` and the per-output norms.
    pub per_output: PerOutputHessianNorm,
    /// Seconds spent on the Hessians.
    pub seconds: f64,
}

/// The `ntk` report (`ntk.json`).
#[derive(Clone, Debug, Serialize)]
pub struct NtkReport {
    /// plstar's version.
    pub plstar_version: String,
    /// Git revision of the build.
    pub git_revision: Option<String>,
    /// When it was computed (UTC).
    pub computed_at: String,
    /// Backend, precision and device.
    pub backend: BackendInfo,
    /// The resolved config.
    pub config: RunConfig,
    /// `w₀ (seed N)` or the parameter file.
    pub evaluated_at: String,
    /// The loss convention.
    pub loss_convention: &'static str,
    /// `n`.
    pub n: usize,
    /// `d`.
    pub input_dim: usize,
    /// `p`.
    pub p: usize,
    /// `N = n·k`, the equations (the size of `K`). With `p < N`, `rank K ≤ p < N`: `λ_min(K) = 0`
    /// exactly and `κ` is infinite, whatever the eigensolver's last digits (the operator's
    /// bottom Ritz value of a singular `K` can stay far above round-off after hundreds of steps).
    pub equations: usize,
    /// Hidden widths.
    pub widths: Vec<usize>,
    /// Dense or matrix-free.
    pub kernel_path: KernelPath,
    /// The operator's products and timing (operator path only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorSummary>,
    /// How `K` was computed (dense path).
    pub kernel_method: KernelMethod,
    /// `dense` (faer, every eigenvalue) or `lanczos` (extremes only).
    pub eigen_method: &'static str,
    /// Lanczos only: the residuals `‖K v − λ v‖` of the `(λ_min, λ_max)` Ritz pairs and whether
    /// both met the tolerance (dense eigenvalues are exact to round-off: `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eigen_residuals: Option<EigenResiduals>,
    /// `λ_min(K)` (reported as computed, never clipped; with `p < N` the exact value is 0 by rank,
    /// [`NtkReport::equations`], and this is the eigensolver's round-off or Ritz value).
    pub lambda_min: f64,
    /// `λ_max(K)`.
    pub lambda_max: f64,
    /// `κ = λ_max / λ_min`; infinite (JSON: `"inf (singular at round-off)"`) when `λ_min` is
    /// at or below [`NtkReport::round_off_floor`], or when `p < N` ([`NtkReport::equations`]).
    #[serde(with = "crate::measure::roundoff::kappa")]
    pub condition_number: f64,
    /// The eigenvalue floor of the round-off model ([`RoundOff::eigenvalue_floor`]): an
    /// eigenvalue at or below it is zero in all but name.
    pub round_off_floor: f64,
    /// The tolerance of the PL identity ([`RoundOff::pl_identity`]).
    pub pl_identity_tolerance: f64,
    /// `tr K`.
    pub trace: f64,
    /// `L_F(w) = √λ_max(K) = ‖DF(w)‖₂`.
    pub lipschitz_f: f64,
    /// `‖F(w) − y‖`.
    pub residual_norm: f64,
    /// `L(w) = ½‖F(w) − y‖²`.
    pub loss: f64,
    /// `‖∇L(w)‖²`.
    pub grad_norm_sq: f64,
    /// `‖∇L‖² / (2L)`, the local PL* constant realized at `w`.
    pub pl_ratio: f64,
    /// `pl_ratio ≥ λ_min(K)` up to [`NtkReport::pl_identity_tolerance`], as the theory requires
    /// (true when `L = 0`: the ratio is undefined, nothing to check). With `p < N` against the
    /// exact `λ_min = 0` of rank, not [`NtkReport::lambda_min`].
    pub pl_ratio_at_least_lambda_min: bool,
    /// Hessian norms, unless skipped.
    pub hessian: Option<HessianSummary>,
    /// Seconds spent on the kernel and its spectrum (`kernel_form_seconds` plus the
    /// eigensolver's).
    pub kernel_seconds: f64,
    /// Of `kernel_seconds`, the seconds of forming `K` (dense path) or of `diag K` and the
    /// operator's set-up (operator path); the rest is the eigensolver's.
    pub kernel_form_seconds: f64,
    /// The certificate around the evaluated point, with `--certify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// With `--certify` on the operator path: the whole card at the point
    /// ([`operator_card`]: `‖H_F‖`, `R`, `η*` and the proof's state at the point; no profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_at_point: Option<TheoremCard>,
    /// `K∞` against `K(w)`, with [`NtkOptions::infinite`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infinite_width: Option<InfiniteWidth>,
}

/// The report as a [`BackendJob`].
pub struct NtkJob<'a> {
    /// The validated settings (model, data, seed).
    pub settings: &'a Settings,
    /// Options.
    pub options: NtkOptions,
    /// Told what the job is computing as it goes (for a progress display; the Hessian norms
    /// can take minutes at millions of parameters).
    pub progress: &'a dyn Fn(&str),
}

impl BackendJob for NtkJob<'_> {
    type Output = Result<NtkReport>;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Self::Output {
        let s = self.settings;
        let opts = self.options;
        let (model, evaluated_at) = evaluation_point::<B>(s, opts.parameters.as_ref(), &device)?;
        let (x, y) = s.data.to_tensors::<B>(&device);
        // N = n·k: the kernel's size, the length of the eigensolver's sums.
        let big = s.data.len() * s.data.outputs;

        let progress = self.progress;
        progress("tangent kernel and its extremes");
        let started = Instant::now();
        let parts = kernel_and_extremes(&model, &x, &opts, big, s.config.seed, progress)?;
        let kernel_seconds = started.elapsed().as_secs_f64();
        let operator_kernel = parts.operator_kernel(opts.certify);
        let KernelParts {
            kernel,
            extremes,
            diagonal,
            operator,
            form_seconds: kernel_form_seconds,
            probes,
        } = parts;
        let KernelExtremes {
            method: eigen_method,
            lambda_min,
            lambda_max,
            eigenvalues,
            residuals: eigen_residuals,
            ..
        } = extremes;

        let outputs = download(model.forward(x.clone()));
        let (residual_norm, loss, grad_norm_sq) = fit_at(&model, &x, &y);
        let pl_ratio = grad_norm_sq / (2.0 * loss);
        let trace: f64 = diagonal.iter().sum();
        let bounds = round_off_bounds::<B>(s, big, &diagonal, (lambda_min, lambda_max), pl_ratio);

        let (infinite_width, kernel_infinite) =
            limit::infinite_width(s, &opts, kernel.as_ref(), &probes, progress)?;
        let hessian = opts.hessian.then(|| hessian_summary(&model, &x, progress));
        let card = opts
            .certify
            .then(|| card_at(s, &model, (&x, &y), operator_kernel, progress))
            .transpose()?;
        let certificate = card.as_ref().map(|c| c.certificate.clone());
        let card_at_point = card.filter(|c| c.operator_residuals0.is_some());

        let report = NtkReport {
            plstar_version: VERSION.into(),
            git_revision: git_revision().map(str::to_string),
            computed_at: utc_now(),
            backend: info,
            config: s.config.clone(),
            evaluated_at,
            loss_convention: LOSS_CONVENTION,
            n: s.data.len(),
            input_dim: s.data.dim,
            p: s.model.parameter_count(),
            equations: big,
            widths: s.model.widths.clone(),
            kernel_path: opts.path,
            operator,
            kernel_method: opts.method,
            eigen_method,
            eigen_residuals,
            lambda_min,
            lambda_max,
            condition_number: bounds.condition_number,
            round_off_floor: bounds.floor,
            pl_identity_tolerance: bounds.pl_tolerance,
            trace,
            lipschitz_f: lambda_max.sqrt(),
            residual_norm,
            loss,
            grad_norm_sq,
            pl_ratio,
            pl_ratio_at_least_lambda_min: bounds.pl_holds,
            hessian,
            kernel_seconds,
            kernel_form_seconds,
            certificate,
            card_at_point,
            infinite_width,
        };

        if let Some(dir) = &opts.export {
            progress("numpy bundle");
            let arrays = Arrays {
                kernel: kernel.as_ref(),
                eigenvalues: eigenvalues.as_deref(),
                outputs: &outputs,
                kernel_infinite: kernel_infinite.as_ref(),
            };
            export_bundle(dir, &model, s, &arrays, &report)?;
        }
        Ok(report)
    }
}

/// The theorem card around the evaluated point (the config's `[card]` settings): on the
/// operator path from `operator_kernel`, the point's `K` as measured there ([`operator_card`]:
/// constants at the point, no search).
fn card_at<B: Backend>(
    s: &Settings,
    model: &Mlp<B>,
    (x, y): (&Tensor<B, 2>, &Tensor<B, 1>),
    operator_kernel: Option<OperatorKernel0>,
    progress: &dyn Fn(&str),
) -> Result<TheoremCard> {
    progress(if operator_kernel.is_some() {
        "theorem card at the point (operator path: ‖H_F‖ over sample blocks, no search)"
    } else {
        "theorem card (searches of balls around the point)"
    });
    match operator_kernel {
        Some(kernel0) => operator_card(model, x, y, kernel0, &mut |_| {}),
        None => theorem_card(model, x, y, &s.config.card.settings(s.config.seed)),
    }
}

/// The network to evaluate, at `parameters` (a saved vector and its file) or at the seeded
/// `w₀`, and how the report names that point.
fn evaluation_point<B: Backend>(
    s: &Settings,
    parameters: Option<&(Vec<f64>, PathBuf)>,
    device: &B::Device,
) -> Result<(Mlp<B>, String)> {
    Ok(match parameters {
        Some((w, path)) => (
            Mlp::<B>::from_vector(&s.model, w, device)?,
            format!("parameters from {}", path.display()),
        ),
        None => (
            s.model.init::<B>(s.config.seed, device),
            format!("w0 (seed {})", s.config.seed),
        ),
    })
}

/// What [`kernel_and_extremes`] computes.
struct KernelParts {
    /// The kernel (dense path only).
    kernel: Option<TangentKernel>,
    extremes: KernelExtremes,
    /// `diag K`.
    diagonal: Vec<f64>,
    /// The operator's summary (operator path only).
    operator: Option<OperatorSummary>,
    /// Seconds of forming `K` (dense) or of the set-up and `diag K` (operator).
    form_seconds: f64,
    /// Operator path with `K∞`: the Rademacher probes `z` of the gap estimate and `K z`.
    probes: limit::Probes,
}

impl KernelParts {
    /// `K` as the operator path measured it, for the card at this point (`certify`, operator
    /// path only), with the seconds of its set-up, diagonal and Lanczos products.
    fn operator_kernel(&self, certify: bool) -> Option<OperatorKernel0> {
        let summary = self.operator.as_ref().filter(|_| certify)?;
        Some(OperatorKernel0 {
            extremes: self.extremes.clone(),
            diagonal: self.diagonal.clone(),
            seconds: summary.setup_seconds
                + summary.diagonal_seconds
                + summary.seconds_per_product * summary.products as f64,
        })
    }
}

/// The kernel and its extremes by the path `opts` names; on the operator path with `K∞`, also
/// the gap's probe products (seeded by `seed`).
fn kernel_and_extremes<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    opts: &NtkOptions,
    big: usize,
    seed: u64,
    progress: &dyn Fn(&str),
) -> Result<KernelParts> {
    let started = Instant::now();
    Ok(match opts.path {
        KernelPath::Dense => {
            let kernel = tangent_kernel(model, x, opts.method);
            let form_seconds = started.elapsed().as_secs_f64();
            let dense_limit = if opts.export.is_some() {
                usize::MAX
            } else {
                DENSE_LIMIT
            };
            let extremes = kernel_extremes(&kernel, dense_limit)?;
            let diagonal = (0..big).map(|i| kernel.get(i, i)).collect();
            KernelParts {
                kernel: Some(kernel),
                extremes,
                diagonal,
                operator: None,
                form_seconds,
                probes: limit::Probes::default(),
            }
        }
        KernelPath::Operator => {
            let t = Instant::now();
            let mut op = KernelOperator::new(model, x, OPERATOR_BLOCK, opts.cache_limit);
            let setup_seconds = t.elapsed().as_secs_f64();
            let tolerance = operator_tolerance::<B>(model);
            let (extremes, diagonal, summary) = operator_spectrum(
                &mut op,
                opts.lanczos_steps,
                setup_seconds,
                tolerance,
                progress,
            );
            // No probes where K∞ does not exist (the report then says why).
            let limit = crate::measure::infinite::limit_exists(model.config(), x.dims()[1]);
            let probes = if opts.infinite && limit.is_ok() {
                rademacher_probes(big, GAP_PROBES, seed ^ GAP_PROBE_SALT)
            } else {
                vec![]
            };
            let products = probes.iter().map(|z| op.product(z)).collect();
            KernelParts {
                kernel: None,
                extremes,
                diagonal,
                form_seconds: summary.setup_seconds + summary.diagonal_seconds,
                operator: Some(summary),
                probes: limit::Probes { probes, products },
            }
        }
    })
}

/// The operator path: `diag K`, then `λ_min`, `λ_max` by Lanczos on [`KernelOperator`].
fn operator_spectrum<B: Backend>(
    op: &mut KernelOperator<'_, B>,
    lanczos_steps: usize,
    setup_seconds: f64,
    tolerance: f64,
    progress: &dyn Fn(&str),
) -> (KernelExtremes, Vec<f64>, OperatorSummary) {
    progress("diag K (from the Jacobian's factors)");
    let t = Instant::now();
    let diagonal = op.diagonal();
    let diagonal_seconds = t.elapsed().as_secs_f64();
    progress("λ_min, λ_max by Lanczos on the matrix-free operator");
    let t = Instant::now();
    let extremes = operator_extremes(op, lanczos_steps, tolerance);
    let products = op.products();
    let summary = OperatorSummary {
        products,
        cached: op.cached(),
        block: OPERATOR_BLOCK,
        working_precision: op.working_precision(),
        tolerance,
        setup_seconds,
        diagonal_seconds,
        seconds_per_product: t.elapsed().as_secs_f64() / products.max(1) as f64,
    };
    (extremes, diagonal, summary)
}

/// `(‖F(w) − y‖, L(w), ‖∇L(w)‖²)` of `model` on `(x, y)`.
fn fit_at<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, y: &Tensor<B, 1>) -> (f64, f64, f64) {
    // The decision in the report rests on sums accumulated in f64, whatever the working
    // precision: the residual as computed (F − y on the device), its square sum and ‖∇L‖² on
    // the host.
    let grad = loss_gradient(model, x, y);
    let residual = download(grad.residual.clone());
    let residual_norm = residual.iter().map(|r| r * r).sum::<f64>().sqrt();
    let loss = 0.5 * residual_norm * residual_norm;
    (residual_norm, loss, grad.norm_sq_f64())
}

/// `‖H_F‖` and `max_k ‖H_{F_k}‖₂` with their convergence and time.
fn hessian_summary<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    progress: &dyn Fn(&str),
) -> HessianSummary {
    let t = Instant::now();
    let settings = HessianNormSettings::default();
    let n = x.dims()[0];
    // Per output first: ‖H_F‖ ≥ max_k ‖H_{F_k}‖₂ (z = e_k), so the alternation starts at the
    // best e_k and never reports below that bound.
    let per = max_output_hessian_norm_with_progress(model, x, &settings.lanczos, &mut |k| {
        progress(&format!("max_r ‖H_{{F_r}}‖: sample {} of {n}", k + 1))
    });
    progress("‖H_F‖ by alternating maximization from the best e_k");
    let op = hessian_operator_norm_from_outputs(model, x, &settings, &per);
    HessianSummary {
        operator_norm: op.value,
        operator_norm_converged: op.converged,
        operator_norm_rounds: op.rounds,
        per_output: per,
        seconds: t.elapsed().as_secs_f64(),
    }
}

/// The manifest's description of `kernel_infinite.npy`.
const KERNEL_INFINITE: &str = "K_inf = lim_{m -> inf} K(w0), every hidden width to infinity (NTK parameterization, identity output): Sigma_1 = X X^T / d + beta^2, Theta_1 = Sigma_1; Sigma_{l+1} = E[act(u) act(u')] + beta^2, dSigma_{l+1} = E[act'(u) act'(u')], (u, u') ~ N(0, Sigma_l on the pair), Theta_{l+1} = Sigma_{l+1} + Theta_l * dSigma_{l+1}; K_inf = Theta_{L+1}; beta = bias_multiplier with biases, 0 without; with k outputs the file holds K_inf (x) I_k (N x N, sample-major like kernel.npy): independent output units decouple in the limit";

/// `manifest.json` of the bundle.
#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    plstar_version: &'static str,
    architecture: &'a MlpConfig,
    layer_sizes: Vec<usize>,
    forward: &'static str,
    weight_multipliers: Vec<f64>,
    bias_multiplier: f64,
    kernel: &'static str,
    /// Why `kernel.npy` is absent (operator path).
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_infinite: Option<&'static str>,
    loss: &'static str,
    parameter_order: &'static str,
    files: Vec<String>,
    report: &'a NtkReport,
}

/// The host arrays of the bundle besides the model and the data.
struct Arrays<'a> {
    /// `None` on the operator path: no `kernel.npy`.
    kernel: Option<&'a TangentKernel>,
    eigenvalues: Option<&'a [f64]>,
    outputs: &'a [f64],
    kernel_infinite: Option<&'a TangentKernel>,
}

fn export_bundle<B: Backend>(
    dir: &Path,
    model: &Mlp<B>,
    s: &Settings,
    arrays: &Arrays<'_>,
    report: &NtkReport,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let (n, d, k) = (s.data.len(), s.data.dim, s.data.outputs);
    let big = n * k;
    let mut files = vec![];
    let mut figures: Vec<String> = vec![];
    let mut put = |name: String, values: &[f64], shape: &[usize]| -> Result<()> {
        npy::write(&dir.join(&name), values, shape)?;
        files.push(name);
        Ok(())
    };
    if let Some(kernel) = arrays.kernel {
        put("kernel.npy".into(), &kernel.values, &[big, big])?;
    }
    if let Some(ev) = arrays.eigenvalues {
        put("eigenvalues.npy".into(), ev, &[big])?;
        let what = format!("K(w) ({big} × {big})");
        if let Some(figure) = spectrum_figure(dir, ev, report.round_off_floor, &what)? {
            figures.extend(["svg", "png"].map(|e| format!("{}.{e}", figure.stem)));
        }
    }
    if let Some(limit) = arrays.kernel_infinite {
        put("kernel_infinite.npy".into(), &limit.values, &[big, big])?;
    }
    put("inputs.npy".into(), &s.data.inputs, &[n, d])?;
    let target_shape: &[usize] = if k == 1 { &[n] } else { &[n, k] };
    put("targets.npy".into(), &s.data.targets, target_shape)?;
    put("outputs.npy".into(), arrays.outputs, target_shape)?;
    let w = model.to_vector();
    put("parameters.npy".into(), &w, &[w.len()])?;
    let biases = model.biases();
    for (l, weight) in model.weights().into_iter().enumerate() {
        let shape = weight.dims();
        put(
            format!("layer{}_weight.npy", l + 1),
            &download(weight),
            &shape,
        )?;
        if let Some(b) = biases.get(l) {
            let len = b.dims()[0];
            put(
                format!("layer{}_bias.npy", l + 1),
                &download(b.clone()),
                &[len],
            )?;
        }
    }
    files.extend(figures);
    let cfg = &s.model;
    let manifest = Manifest {
        format: "plstar-ntk-bundle/1",
        plstar_version: VERSION,
        architecture: cfg,
        layer_sizes: cfg.layer_sizes(),
        forward: "a0 = x; z_l = c_l * W_l @ a_{l-1} + c_b * b_l (l = 1..L+1); a_l = act(z_l) for l <= L; f = output_activation(z_{L+1}). W_l has shape [out, in] = [m_l, m_{l-1}].",
        weight_multipliers: (1..=cfg.depth() + 1).map(|l| cfg.weight_multiplier(l)).collect(),
        bias_multiplier: cfg.bias_multiplier(),
        kernel: "K = DF DF^T (N x N with N = n*k, no averaging): K[i*k+a, j*k+b] = <grad_w f_a(x_i), grad_w f_b(x_j)>, over every parameter of every layer (weights and biases); index (sample i, output a) -> i*k + a (sample-major). neural-tangents' trace_axes=() kernel of shape (n, n, k, k) is K.reshape(n, k, n, k).transpose(0, 2, 1, 3); targets.npy and outputs.npy are [n, k] ([n] when k = 1)",
        kernel_file: arrays.kernel.is_none().then(|| {
            format!(
                "kernel.npy not written: the operator path applied K without forming it (N = {big}, \
                 {:.1} GiB in f64); the report has lambda_min, lambda_max and their residuals",
                (8 * big * big) as f64 / (1u64 << 30) as f64
            )
        }),
        kernel_infinite: arrays.kernel_infinite.map(|_| KERNEL_INFINITE),
        loss: LOSS_CONVENTION,
        parameter_order: "for l = 1..L+1: W_l row-major [out, in], then b_l (with biases); parameters.npy holds that vector",
        files,
        report,
    };
    write_json(&dir.join("manifest.json"), &manifest)
}
