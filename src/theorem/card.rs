//! The constants of the local PL* theorem (THEORY.md), estimated over the ball `B(w₀, R)`.
//!
//! `L_F = sup_B √λ_max(K)`, `β_F = sup_B ‖H_F‖` and `μ = inf_B λ_min(K)` are sup/inf over a
//! ball whose radius `R = 2 L_F ‖F(w₀) − y‖ / μ` depends on them: no program can certify them.
//! [`estimate_ball`] measures them at `w₀` (exact up to floating point) and at probe points
//! inside the ball — random directions at several radii, and an adversarial search that moves
//! inside the ball to lower `λ_min(K)` — and iterates `R ← 2 L̂_F ‖r₀‖ / μ̂` to a fixed point.
//! Every estimate is a max/min over the points actually measured, and each point is listed with
//! where it came from.
//!
//! The adversarial direction is the exact gradient of the bottom eigenvalue:
//! with `v` the unit bottom eigenvector of `K(w)`, `λ_min = vᵀK v = ‖DFᵀv‖²`, so
//! `∇_w λ_min = 2 H(v) DFᵀv` (a Hessian-vector product of `vᵀF`), valid where `λ_min` is simple.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::measure::hessian::{
    hessian_operator_norm, hessian_vector_product, HessianNormSettings, Objective,
};
use crate::measure::kernel::{activation_derivative, tangent_kernel, KernelMethod, TangentKernel};
use crate::measure::loss::contraction_gradient;
use crate::measure::spectrum::{bottom_eigenpair, dense_spectrum, LanczosSettings};
use crate::model::{download, Activation, Mlp, MlpConfig};

/// How the ball is probed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeSettings {
    /// Random unit directions per radius.
    pub directions: usize,
    /// Probe radii as fractions of the current `R`.
    pub radii: Vec<f64>,
    /// Projected steps of the adversarial search for a lower `λ_min(K)`.
    pub adversarial_steps: usize,
    /// Rounds of the fixed point `R ← 2 L̂_F ‖r₀‖ / μ̂`.
    pub fixed_point_iterations: usize,
    /// Whether to estimate `‖H_F‖` at the probes (a few dozen HVPs each); `w₀` always is.
    pub hessian_at_probes: bool,
    /// Seed of the random directions.
    pub seed: u64,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self {
            directions: 3,
            radii: vec![0.25, 0.5, 1.0],
            adversarial_steps: 4,
            fixed_point_iterations: 3,
            hessian_at_probes: true,
            seed: 0,
        }
    }
}

/// Where a measured point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// The initialization `w₀`.
    Init,
    /// `w₀ + r u` for a random unit `u`.
    Random,
    /// A step of the adversarial search.
    Adversarial,
}

/// The kernel (and Hessian) at one point of the ball.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointMeasure {
    /// Where the point came from.
    pub kind: PointKind,
    /// `‖w − w₀‖`.
    pub distance: f64,
    /// `λ_min(K(w))`.
    pub lambda_min: f64,
    /// `λ_max(K(w))`.
    pub lambda_max: f64,
    /// `‖H_F(w)‖` when measured.
    pub hessian_norm: Option<f64>,
}

/// The theorem's quantities: at `w₀`, and estimated over the ball.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallEstimate {
    /// `n`.
    pub n: usize,
    /// `p`.
    pub p: usize,
    /// The smallest hidden width `m`.
    pub width: usize,
    /// The depth `L`.
    pub depth: usize,
    /// `λ₀ = λ_min(K(w₀))`.
    pub lambda0: f64,
    /// `λ_max(K(w₀))`.
    pub lambda_max0: f64,
    /// `L_F(w₀) = √λ_max(K(w₀))`.
    pub lipschitz_f0: f64,
    /// `‖H_F(w₀)‖`.
    pub hessian_norm0: f64,
    /// `‖F(w₀) − y‖`.
    pub residual_norm0: f64,
    /// `L(w₀) = ½‖F(w₀) − y‖²`.
    pub loss0: f64,
    /// `max_i K_ii(w₀) = max_i ‖∇f(x_i)‖²` (per-sample smoothness, for the SGD rule).
    pub max_kernel_diagonal0: f64,
    /// `max_i |f(x_i) − y_i|` at `w₀`.
    pub max_abs_residual0: f64,
    /// `ρ = min_i |σ_out'(z_i)|` at `w₀` over the data (1 for a linear output).
    pub rho: f64,
    /// `μ̂ = min λ_min(K)` over the measured points inside `B(w₀, R)`.
    pub mu_hat: f64,
    /// `L̂_F = max √λ_max(K)` over those points.
    pub lipschitz_f_hat: f64,
    /// `β̂_F = max ‖H_F‖` over those points.
    pub beta_f_hat: f64,
    /// `R = 2 L̂_F ‖F(w₀) − y‖ / μ̂` at the last fixed-point round (infinite if `μ̂ ≤ 0`).
    pub radius: f64,
    /// `R` after each fixed-point round (the first from `w₀` alone).
    pub radius_history: Vec<f64>,
    /// Whether the last round changed `R` by at most 5%. When it did not, `R` kept growing
    /// (probes far from `w₀` see a larger `L̂_F`): the width is too small for the theorem's ball,
    /// and the estimates are those of the last ball probed.
    pub radius_settled: bool,
    /// `η* = 1 / (L̂_F² + β̂_F ‖F(w₀) − y‖)`.
    pub eta_star: f64,
    /// Every measured point.
    pub probes: Vec<PointMeasure>,
    /// Whether PL* can hold: `μ̂ > 0` (numerically, above `1e-10 λ_max`).
    pub pl_star_possible: bool,
    /// Plain words on what the estimates mean, e.g. why PL* cannot hold.
    pub diagnosis: String,
}

impl BallEstimate {
    /// `κ = 1/(η μ̂)` for the step size `η`.
    pub fn condition_number(&self, eta: f64) -> f64 {
        1.0 / (eta * self.mu_hat)
    }

    /// The theorem's rate bound `(1 − η μ̂)^t L(w₀)` (clamped at 0 when `η μ̂ > 1`).
    pub fn loss_bound(&self, eta: f64, step: usize) -> f64 {
        (1.0 - eta * self.mu_hat).max(0.0).powi(step as i32) * self.loss0
    }
}

/// The kernel's extremes at `w`.
fn kernel_extremes<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
) -> Result<(f64, f64, TangentKernel)> {
    let k = tangent_kernel(model, x, KernelMethod::Structured);
    let s = dense_spectrum(&k)?;
    Ok((s.lambda_min, s.lambda_max, k))
}

fn probe_hessian_settings() -> HessianNormSettings {
    HessianNormSettings {
        lanczos: LanczosSettings {
            max_iter: 20,
            tol: 1e-4,
            seed: 0,
        },
        max_rounds: 6,
        tol: 1e-3,
        step: 1e-4,
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Estimates the theorem's constants for `model` (at `w₀`) on inputs `x`, targets `y`.
///
/// Cost per probe: one tangent kernel and its dense spectrum, plus `‖H_F‖` (when enabled) and,
/// for adversarial steps, one Hessian-vector product.
pub fn estimate_ball<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &ProbeSettings,
) -> Result<BallEstimate> {
    let cfg = model.config().clone();
    let n = x.dims()[0];
    let w0 = model.to_vector();
    let p = w0.len();
    let init = InitMeasures::at(model, x, y)?;
    let mut probes = vec![PointMeasure {
        kind: PointKind::Init,
        distance: 0.0,
        lambda_min: init.lambda0,
        lambda_max: init.lambda_max0,
        hessian_norm: Some(init.hessian_norm0),
    }];
    let tiny = 1e-10 * init.lambda_max0;
    let radius_of = |mu: f64, lf: f64| {
        if mu > tiny {
            2.0 * lf * init.residual_norm0 / mu
        } else {
            f64::INFINITY
        }
    };
    let mut radius = radius_of(init.lambda0, init.lambda_max0.sqrt());
    let mut radius_history = vec![radius];
    let mut radius_settled = false;
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(settings.seed);
    let ball = Ball {
        w0: &w0,
        x,
        settings,
    };

    if radius.is_finite() {
        for _ in 0..settings.fixed_point_iterations {
            ball.random_probes(&cfg, radius, &mut rng, &mut probes)?;
            ball.adversarial_probes(&cfg, radius, &mut probes)?;
            let (mu, lf, _) = summarize(&probes, radius, init.hessian_norm0);
            let next = radius_of(mu, lf);
            radius_history.push(next);
            radius_settled = (next - radius).abs() <= 0.05 * radius;
            radius = next;
            if radius_settled || !radius.is_finite() {
                break;
            }
        }
    }
    let (mu_hat, lipschitz_f_hat, beta_f_hat) = summarize(&probes, radius, init.hessian_norm0);
    let eta_star = 1.0 / (lipschitz_f_hat.powi(2) + beta_f_hat * init.residual_norm0);
    let pl_star_possible = mu_hat > tiny;
    let diagnosis = diagnose(&init, n, p, tiny, mu_hat, radius, &probes);
    Ok(BallEstimate {
        n,
        p,
        width: cfg.min_width(),
        depth: cfg.depth(),
        lambda0: init.lambda0,
        lambda_max0: init.lambda_max0,
        lipschitz_f0: init.lambda_max0.sqrt(),
        hessian_norm0: init.hessian_norm0,
        residual_norm0: init.residual_norm0,
        loss0: 0.5 * init.residual_norm0 * init.residual_norm0,
        max_kernel_diagonal0: init.max_kernel_diagonal0,
        max_abs_residual0: init.r0.iter().map(|v| v.abs()).fold(0.0, f64::max),
        rho: init.rho,
        mu_hat,
        lipschitz_f_hat,
        beta_f_hat,
        radius,
        radius_history,
        radius_settled,
        eta_star,
        probes,
        pl_star_possible,
        diagnosis,
    })
}

/// The card's quantities at `w₀`.
struct InitMeasures {
    lambda0: f64,
    lambda_max0: f64,
    max_kernel_diagonal0: f64,
    hessian_norm0: f64,
    /// `r₀ = F(w₀) − y`.
    r0: Vec<f64>,
    residual_norm0: f64,
    rho: f64,
}

impl InitMeasures {
    fn at<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, y: &Tensor<B, 1>) -> Result<Self> {
        let n = x.dims()[0];
        let (lambda0, lambda_max0, k0) = kernel_extremes(model, x)?;
        let max_kernel_diagonal0 = (0..n).map(|i| k0.get(i, i)).fold(0.0, f64::max);
        let hessian_norm0 = hessian_operator_norm(model, x, &HessianNormSettings::default()).value;
        let f0 = download(model.forward(x.clone()));
        let y_host = download(y.clone());
        let r0: Vec<f64> = f0.iter().zip(&y_host).map(|(a, b)| a - b).collect();
        Ok(Self {
            lambda0,
            lambda_max0,
            max_kernel_diagonal0,
            hessian_norm0,
            residual_norm0: norm(&r0),
            r0,
            rho: output_rho(model, x),
        })
    }
}

/// The ball around `w₀` being probed, on inputs `x`.
struct Ball<'a, B: Backend> {
    w0: &'a [f64],
    x: &'a Tensor<B, 2>,
    settings: &'a ProbeSettings,
}

impl<B: Backend> Ball<'_, B> {
    /// The kernel extremes (and `‖H_F‖` when asked) at the point `w`.
    fn measure(
        &self,
        cfg: &MlpConfig,
        w: &[f64],
        kind: PointKind,
        with_hessian: bool,
    ) -> Result<PointMeasure> {
        let m = Mlp::<B>::from_vector(cfg, w, &self.x.device())?;
        let (lmin, lmax, _) = kernel_extremes(&m, self.x)?;
        let h = with_hessian
            .then(|| hessian_operator_norm(&m, self.x, &probe_hessian_settings()).value);
        Ok(PointMeasure {
            kind,
            distance: norm(
                &w.iter()
                    .zip(self.w0)
                    .map(|(a, b)| a - b)
                    .collect::<Vec<_>>(),
            ),
            lambda_min: lmin,
            lambda_max: lmax,
            hessian_norm: h,
        })
    }

    /// `directions` random unit directions at each fraction of `radius`.
    fn random_probes(
        &self,
        cfg: &MlpConfig,
        radius: f64,
        rng: &mut rand::rngs::ChaCha8Rng,
        probes: &mut Vec<PointMeasure>,
    ) -> Result<()> {
        let p = self.w0.len();
        for &frac in &self.settings.radii {
            for _ in 0..self.settings.directions {
                let u: Vec<f64> = (0..p).map(|_| StandardNormal.sample(rng)).collect();
                let nu = norm(&u);
                let w: Vec<f64> = self
                    .w0
                    .iter()
                    .zip(&u)
                    .map(|(a, b)| a + frac * radius * b / nu)
                    .collect();
                probes.push(self.measure(
                    cfg,
                    &w,
                    PointKind::Random,
                    self.settings.hessian_at_probes,
                )?);
            }
        }
        Ok(())
    }

    /// The adversarial search: projected steps along `−∇λ_min`, each of length `2R/steps`.
    fn adversarial_probes(
        &self,
        cfg: &MlpConfig,
        radius: f64,
        probes: &mut Vec<PointMeasure>,
    ) -> Result<()> {
        let (x, w0) = (self.x, self.w0);
        let mut w = w0.to_vec();
        let step = 2.0 * radius / self.settings.adversarial_steps.max(1) as f64;
        for _ in 0..self.settings.adversarial_steps {
            let m = Mlp::<B>::from_vector(cfg, &w, &x.device())?;
            let k = tangent_kernel(&m, x, KernelMethod::Structured);
            let (_, v) = bottom_eigenpair(&k)?;
            let g_v = contraction_gradient(&m, x, &v);
            let grad = hessian_vector_product(&m, x, &Objective::Contraction(v), &g_v).hv;
            let ng = norm(&grad);
            if ng == 0.0 {
                break;
            }
            w.iter_mut()
                .zip(&grad)
                .for_each(|(a, g)| *a -= step * g / ng);
            let d: Vec<f64> = w.iter().zip(w0).map(|(a, b)| a - b).collect();
            let nd = norm(&d);
            if nd > radius {
                w = w0
                    .iter()
                    .zip(&d)
                    .map(|(a, b)| a + radius * b / nd)
                    .collect();
            }
            probes.push(self.measure(
                cfg,
                &w,
                PointKind::Adversarial,
                self.settings.hessian_at_probes,
            )?);
        }
        Ok(())
    }
}

/// Plain words on what the estimates mean.
fn diagnose(
    init: &InitMeasures,
    n: usize,
    p: usize,
    tiny: f64,
    mu_hat: f64,
    radius: f64,
    probes: &[PointMeasure],
) -> String {
    let lambda0 = init.lambda0;
    if lambda0 <= tiny {
        if p < n {
            format!(
                "PL* cannot hold: the model is under-parameterized (p = {p} < n = {n}), so \
                 rank K ≤ min(n, p) = {p} < n and λ_min(K) = 0 everywhere (measured λ₀ = {lambda0:.3e}); \
                 gradient descent can stall above zero loss"
            )
        } else {
            format!(
                "PL* fails at w₀: λ₀ = {lambda0:.3e} is numerically zero (≤ 1e-10 λ_max) although \
                 p = {p} ≥ n = {n}: duplicated inputs or a degenerate architecture"
            )
        }
    } else if mu_hat <= tiny {
        format!(
            "λ₀ = {lambda0:.3e} > 0, but a probe inside the ball found λ_min ≤ 0: PL* is not \
             certified on B(w₀, R) by these estimates"
        )
    } else {
        format!(
            "μ̂ = {mu_hat:.3e} > 0 on {} measured points of B(w₀, R = {radius:.3e}) \
             ({} random, {} adversarial, plus w₀): PL* holds there as far as measured",
            probes
                .iter()
                .filter(|q| q.distance <= radius * (1.0 + 1e-9))
                .count(),
            probes
                .iter()
                .filter(|q| q.kind == PointKind::Random)
                .count(),
            probes
                .iter()
                .filter(|q| q.kind == PointKind::Adversarial)
                .count(),
        )
    }
}

/// `(μ̂, L̂_F, β̂_F)` over the probes inside `B(w₀, radius)`.
fn summarize(probes: &[PointMeasure], radius: f64, hessian_norm0: f64) -> (f64, f64, f64) {
    let inside = probes
        .iter()
        .filter(|q| q.distance <= radius * (1.0 + 1e-9));
    let mut mu = f64::INFINITY;
    let mut lf: f64 = 0.0;
    let mut beta = hessian_norm0;
    for q in inside {
        mu = mu.min(q.lambda_min);
        lf = lf.max(q.lambda_max.sqrt());
        if let Some(h) = q.hessian_norm {
            beta = beta.max(h);
        }
    }
    (mu, lf, beta)
}

/// `ρ = min_i |σ_out'(z_i)|` at the model's parameters over the inputs.
fn output_rho<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> f64 {
    let cfg = model.config();
    if cfg.output_activation == Activation::Identity {
        return 1.0;
    }
    // z_{L+1}: the output before σ_out. Recompute with the identity output.
    let linear_cfg = cfg.clone().with_output_activation(Activation::Identity);
    let linear =
        Mlp::<B>::from_parts(&linear_cfg, model.weights(), model.biases()).expect("same shapes");
    let z = linear.forward(x.clone());
    download(activation_derivative(cfg.output_activation, z))
        .into_iter()
        .map(f64::abs)
        .fold(f64::INFINITY, f64::min)
}
