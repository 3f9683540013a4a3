//! The theorem card: the constants of the local PL* theorem (THEORY.md) measured at `w₀` and over
//! balls `B(w₀, r)` of a grid of absolute radii, and the certificate they give.
//!
//! For every radius `r` of the grid (ascending, each search warm-started from the previous
//! radius), a constrained search ([`crate::theorem::search`]) gives
//! - `μ̂(r) = min λ_min(K)` over every measured point inside `B(w₀, r)` (non-increasing in `r`:
//!   a point of a smaller ball is inside every larger one);
//! - `L̂_F(r) = max √λ_max(K)` over the same points;
//! - `β̂_F(r) = max ‖H_F‖` at `w₀` and at the best points of the searches inside the ball (each a
//!   local maximum of the alternation: a lower bound). `β̂_F` enters only `η*`, so the points'
//!   Hessian norms are measured once a radius would certify, at every best point inside it;
//!   below that radius the profile's `β̂_F(r)` is `w₀`'s and says so (`beta_f_searched`);
//! - `R(r) = 2 L̂_F(r) ‖F(w₀) − y‖ / μ̂(r)`, the radius the theorem asks for with these constants.
//!
//! **The certificate.** The theorem applies on `B(w₀, r)` when `μ̂(r) > 0` and `r ≥ R(r)`. At the
//! smallest grid radius `r_s` where that holds, the constants over `B(w₀, R(r_s)) ⊆ B(w₀, r_s)`
//! are at least as good, so the certified radius is `R(r_s)`, with
//! `η* = 1 / (L̂_F(r_s)² + β̂_F(r_s) ‖F(w₀) − y‖)`. The estimates are extremes over the points
//! measured, not suprema over the ball: the certificate is as good as the search.
//!
//! Positivity is judged against the eigenvalue floor of the round-off model
//! ([`crate::measure::roundoff`]): `μ̂ > (2/√3) γ √(max_i K_ii tr K(w₀)) + N u₆₄ λ_max(K(w₀))`, with `γ` from the
//! working precision, the depth and the longest sum; an under-parameterized model (`p < N`, so
//! `rank K ≤ p < N = n·k`) is not certifiable and is not searched.
//!
//! **What the certificate rests on** ([`CertificateState`]): `β̂_F(r)` is the largest `‖H_F‖`
//! found at `w₀` *and at the searched points* of the ball. A card run with
//! `hessian_at_searched = false` measures `β̂_F` at `w₀` only, a single point that can only
//! under-estimate the supremum (so `η*` errs on the unsafe side): such a card is not called
//! certified; its state says so.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::measure::hessian::{
    hessian_operator_norm_from, hessian_operator_norm_from_outputs, max_output_hessian_norm,
    HessianNorm, HessianNormSettings,
};
use crate::measure::kernel::{tangent_kernel, KernelMethod};
use crate::measure::loss::loss_gradient;
use crate::measure::roundoff::{condition_number, RoundOff};
use crate::measure::spectrum::{
    inverse_quadratic_form, kernel_extremes, symmetric_eigen, EigenResiduals, LanczosSettings,
    EXTREMES_DENSE_LIMIT,
};
use crate::model::{download, machine_epsilon, Activation, Mlp};
use crate::theorem::bound::smoothness_bound;
pub use crate::theorem::certificate::{Certificate, CertificateState};

mod operator;
mod travelled;
mod verified;
use crate::theorem::proved::ProvedCertificate;
use crate::theorem::search::{norm, BallSearch, Extreme, PointKind, PointMeasure, SearchSettings};
pub use operator::{operator_card, operator_card_bytes, operator_card_seconds, OperatorKernel0};
pub use travelled::{travelled_ball, TravelledBall};
pub use verified::LanczosMargins;

/// How the card searches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardSettings {
    /// The search of each ball.
    pub search: SearchSettings,
    /// Grid radii per doubling. The grid is geometric from a quarter of the smaller of the
    /// linearized GD distance `√(r₀ᵀK₀⁻¹r₀)` and `R(w₀)` to eight times `R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀`.
    pub radii_per_octave: usize,
    /// The most grid radii (the spacing widens to fit).
    pub max_radii: usize,
    /// Absolute radii always searched too (e.g. the fixed radii of a sweep's columns).
    pub extra_radii: Vec<f64>,
    /// Measure `‖H_F‖` at the best points of every radius (else `β̂_F` is `‖H_F(w₀)‖` alone).
    pub hessian_at_searched: bool,
    /// Keep searching the radii above the certificate (else stop once certified and past every
    /// extra radius).
    pub search_past_certificate: bool,
    /// Start `‖H_F(w₀)‖`'s alternation from the best `e_r` and keep it at least
    /// `max_r ‖H_{F_r}(w₀)‖₂`: one Lanczos run per equation, `N` in all (about 40 ms each at
    /// p = 38 410; tens of minutes at digits10's N = 17 970). Else the alternation starts from
    /// the uniform `z` alone, a lower estimate that may settle below `max_r ‖H_{F_r}‖₂`.
    pub per_output_hessian: bool,
}

impl Default for CardSettings {
    fn default() -> Self {
        Self {
            search: SearchSettings::default(),
            radii_per_octave: 1,
            max_radii: 14,
            extra_radii: vec![],
            hessian_at_searched: true,
            search_past_certificate: false,
            per_output_hessian: true,
        }
    }
}

/// The estimates over one ball `B(w₀, r)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RadiusEstimate {
    /// `r`.
    pub radius: f64,
    /// `μ̂(r) = min λ_min(K)` over the measured points inside the ball.
    pub mu: f64,
    /// `L̂_F(r) = max √λ_max(K)` over those points.
    pub lipschitz_f: f64,
    /// `β̂_F(r) = max ‖H_F‖` over the Hessian points inside the ball (a lower bound).
    pub beta_f: f64,
    /// Whether every `‖H_F‖` behind `β̂_F(r)` converged (inner Lanczos and outer alternation).
    pub beta_f_converged: bool,
    /// Whether `β̂_F(r)` includes `‖H_F‖` at every searched best point inside the ball (else
    /// `w₀` and some of them only). The card measures them where `r` would certify.
    #[serde(default)]
    pub beta_f_searched: bool,
    /// `R(r) = 2 L̂_F(r) ‖r₀‖ / μ̂(r)` (infinite when `μ̂(r)` is not positive).
    pub theorem_radius: f64,
    /// Measured points inside the ball.
    pub points: usize,
    /// Whether this radius was searched (else its values are those of the last searched radius:
    /// `μ̂` was already not positive, or the certificate was already found).
    pub searched: bool,
}

/// The theorem's quantities at `w₀` and over balls around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TheoremCard {
    /// `N = n·k`, the equations of the system `F(w) = y` (the size of `K`; the sample count `n`
    /// for a scalar network).
    pub n: usize,
    /// Output units `k` (so `n / k` samples).
    #[serde(default = "one_output")]
    pub outputs: usize,
    /// `p`.
    pub p: usize,
    /// The smallest hidden width `m`.
    pub width: usize,
    /// The depth `L`.
    pub depth: usize,
    /// The backend's machine epsilon `ε`.
    pub machine_epsilon: f64,
    /// The round-off model of the network in the working precision.
    pub round_off: RoundOff,
    /// The eigenvalue floor of the round-off model at `w₀`
    /// ([`RoundOff::eigenvalue_floor`]): eigenvalues at or below it are round-off.
    pub positivity_threshold: f64,
    /// `λ₀ = λ_min(K(w₀))`.
    pub lambda0: f64,
    /// `λ_max(K(w₀))`.
    pub lambda_max0: f64,
    /// `κ(w₀) = λ_max/λ₀`, infinite when `λ₀` is at round-off (singular at round-off; JSON:
    /// the text `"inf (singular at round-off)"`).
    #[serde(with = "crate::measure::roundoff::kappa")]
    pub condition_number0: f64,
    /// `tr K(w₀)`.
    pub trace0: f64,
    /// `‖w₀‖_∞`, for the outputs' round-off floor.
    pub max_abs_parameter0: f64,
    /// `L_F(w₀) = √λ_max(K(w₀))`.
    pub lipschitz_f0: f64,
    /// `‖H_F(w₀)‖` (alternating maximization: a lower bound when not converged).
    pub hessian_norm0: f64,
    /// Whether `‖H_F(w₀)‖` converged.
    pub hessian_norm0_converged: bool,
    /// `‖F(w₀) − y‖`.
    pub residual_norm0: f64,
    /// `L(w₀) = ½‖F(w₀) − y‖²`.
    pub loss0: f64,
    /// `max_i K_ii(w₀) = max_i ‖∇f(x_i)‖²`.
    pub max_kernel_diagonal0: f64,
    /// `max_i |f(x_i) − y_i|` at `w₀`.
    pub max_abs_residual0: f64,
    /// `ρ = min_i |σ_out'(z_i)|` at `w₀` over the data (1 for a linear output).
    pub rho: f64,
    /// `√(r₀ᵀ K₀⁻¹ r₀)`: how far gradient descent on the linearized model travels.
    pub linearized_distance: f64,
    /// `R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀`, the theorem's radius with the constants at `w₀`.
    pub radius0: f64,
    /// `η*(w₀) = 1 / (λ_max(K(w₀)) + ‖H_F(w₀)‖ ‖r₀‖)`: the step size with the constants at `w₀`
    /// alone (no ball), used when nothing is certified.
    pub eta_star0: f64,
    /// The estimates over every grid radius, ascending.
    pub profile: Vec<RadiusEstimate>,
    /// The estimated certificate (a search).
    pub certificate: Certificate,
    /// The proved certificate (a bound, [`crate::theorem::proved`]); absent from cards written
    /// before it existed.
    #[serde(default)]
    pub proved: Option<ProvedCertificate>,
    /// Every measured point.
    pub points: Vec<PointMeasure>,
    /// Plain words on what the card means.
    pub diagnosis: String,
    /// The best `λ_min` point of each searched radius (warm starts for later searches).
    #[serde(skip)]
    pub bottom_points: Vec<(f64, Vec<f64>)>,
    /// On the operator path ([`operator_card`]): the Lanczos residuals `‖K v − λ v‖` of `λ₀`
    /// and `λ_max(K(w₀))`; `λ₀` is then a Ritz value, an upper estimate of `λ_min(K(w₀))`.
    /// `None` on the dense path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_residuals0: Option<EigenResiduals>,
    /// On the dense path above [`EXTREMES_DENSE_LIMIT`] equations, where `λ₀` and `λ_max` come
    /// from Lanczos: their residuals, and the margins that two Cholesky factorizations proved
    /// ([`LanczosMargins`]), which the proof takes. `None` below the limit (a dense
    /// eigendecomposition, whose error the eigenvalue floor bounds) and on the operator path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lanczos_margins0: Option<LanczosMargins>,
}

fn one_output() -> usize {
    1
}

impl TheoremCard {
    /// The step size the card recommends for gradient descent: the proved `η̄*`, else the
    /// certified (estimated) `η*`, else `η*(w₀)`.
    pub fn eta_star(&self) -> f64 {
        if let Some(eta) = self.proved_eta_star() {
            return eta;
        }
        match self.certificate.eta_star {
            Some(eta) if self.certificate.certified => eta,
            _ => self.eta_star0,
        }
    }

    /// `η̄*` of the proved certificate, when one is proved.
    pub fn proved_eta_star(&self) -> Option<f64> {
        self.proved.as_ref().filter(|p| p.proved())?.eta_star
    }

    /// Whether a point at distance `d` from `w₀` is inside `B(w₀, r)`, up to round-off
    /// (projected points sit on the sphere): `d` is a sum of `p` squares in f64 (`p u₆₄ r`,
    /// Higham §3.1, deterministic), of differences `w − w₀` whose coordinates were each rounded
    /// once (`u₆₄ ‖w‖ ≤ u₆₄ (√p ‖w₀‖_∞ + r)` for `w` and as much for `w₀`).
    pub fn inside(&self, d: f64, r: f64) -> bool {
        let u = crate::measure::roundoff::UNIT_ROUNDOFF_F64;
        let p = self.p as f64;
        let w0_norm = p.sqrt() * self.max_abs_parameter0;
        d <= r + u * (p * r + 2.0 * (w0_norm + r))
    }

    /// Whether `value` is a positive eigenvalue, above the round-off floor (a NaN is not).
    pub fn is_positive(&self, value: f64) -> bool {
        value > self.positivity_threshold
    }

    /// The round-off floor of the loss at a point at distance `distance` from `w₀` with loss
    /// `loss` ([`RoundOff::loss`], with `‖w‖_∞ ≤ ‖w₀‖_∞ + distance` and the kernel's trace at
    /// `w₀`).
    pub fn loss_floor(&self, loss: f64, distance: f64) -> f64 {
        let outputs = self
            .round_off
            .outputs(self.max_abs_parameter0 + distance, self.trace0);
        self.round_off
            .loss(self.n, (2.0 * loss.max(0.0)).sqrt(), outputs)
    }
}

/// Where the card is, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CardProgress {
    /// A stage at `w₀` starts.
    Init {
        /// What it computes, in words.
        stage: &'static str,
        /// Its expected duration on the development machine, where it can be long (the dense
        /// eigendecomposition: [`dense_eigen_seconds`]).
        estimate_seconds: Option<f64>,
    },
    /// The search of one grid radius starts.
    Radius {
        /// The radius being searched (1-based).
        radius_index: usize,
        /// Grid radii.
        radii: usize,
        /// `r`.
        radius: f64,
        /// `μ̂` over the radii searched so far.
        mu: f64,
    },
}

/// The expected seconds of a dense symmetric eigendecomposition of an `n × n` kernel (faer,
/// eigenvectors included): `4.7 s · (n / 4096)³`, measured on the 2-core development machine at
/// n = 4096 (README, `plstar ntk`). A guide for progress displays, not a promise: at n = 20 000
/// it is about 9 minutes.
pub fn dense_eigen_seconds(n: usize) -> f64 {
    4.7 * (n as f64 / 4096.0).powi(3)
}

/// The card of `model` (at `w₀`) on inputs `x` `[n, d]`, targets `y` `[n]`.
///
/// Cost: at `w₀`, the kernel's eigendecomposition and `‖H_F‖`; per grid radius, two searches
/// (each `restarts × steps` kernel eigendecompositions and eigenvalue gradients, one
/// Hessian-vector product each) and, with `hessian_at_searched`, two `‖H_F‖` per searched
/// radius inside the first radius that certifies (none when no radius does).
pub fn theorem_card<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &CardSettings,
) -> Result<TheoremCard> {
    theorem_card_with_progress(model, x, y, settings, &mut |_| {})
}

/// [`theorem_card`] reporting each radius it starts to search to `progress`.
pub fn theorem_card_with_progress<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &CardSettings,
    progress: &mut dyn FnMut(&CardProgress),
) -> Result<TheoremCard> {
    let init = InitMeasures::at(model, x, y, settings.per_output_hessian, progress)?;
    let mut card = TheoremCard::at_init(model, x, init);
    card.proved = Some(card.prove(smoothness_bound(model, x)));
    if let Some(why) = card.not_certifiable() {
        card.certificate = Certificate::none(why);
    } else {
        let cfg = model.config().clone();
        let w0 = model.to_vector();
        let loss_grad = loss_gradient(model, x, y).to_vector();
        let mut search = BallSearch::new(&cfg, &w0, x, &loss_grad, &settings.search);
        search_profile(&mut card, &mut search, &w0, x, settings, progress)?;
        card.certificate = Certificate::from_profile(&card);
    }
    card.diagnosis = card.certificate.reason.clone();
    Ok(card)
}

impl TheoremCard {
    /// The card's constants at `w₀` from `init`, with no profile, no certificate and no proof
    /// yet.
    fn at_init<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, init: InitMeasures) -> Self {
        let cfg = model.config();
        // N = n·k: the equations of the system F(w) = y, the size of K.
        let n = x.dims()[0] * cfg.outputs;
        let w0 = model.to_vector();
        let round_off = RoundOff::for_backend::<B>(cfg);
        let threshold =
            round_off.eigenvalue_floor(n, init.max_kernel_diagonal0, init.trace0, init.lambda_max0);
        let mut card = TheoremCard {
            n,
            outputs: cfg.outputs,
            p: w0.len(),
            width: cfg.min_width(),
            depth: cfg.depth(),
            machine_epsilon: machine_epsilon::<B>(),
            round_off,
            positivity_threshold: threshold,
            lambda0: init.lambda0,
            lambda_max0: init.lambda_max0,
            condition_number0: condition_number(init.lambda0, init.lambda_max0, threshold),
            trace0: init.trace0,
            max_abs_parameter0: w0.iter().map(|v| v.abs()).fold(0.0, f64::max),
            lipschitz_f0: init.lambda_max0.sqrt(),
            hessian_norm0: init.hessian0.value,
            hessian_norm0_converged: init.hessian0.converged,
            residual_norm0: norm(&init.r0),
            loss0: 0.5 * init.r0.iter().map(|v| v * v).sum::<f64>(),
            max_kernel_diagonal0: init.max_kernel_diagonal0,
            max_abs_residual0: init.r0.iter().map(|v| v.abs()).fold(0.0, f64::max),
            rho: init.rho,
            linearized_distance: init.linearized_distance,
            radius0: f64::INFINITY,
            eta_star0: 1.0 / (init.lambda_max0 + init.hessian0.value * norm(&init.r0)),
            profile: vec![],
            certificate: Certificate::none(String::new()),
            proved: None,
            points: vec![PointMeasure {
                kind: PointKind::Init,
                distance: 0.0,
                lambda_min: init.lambda0,
                lambda_max: init.lambda_max0,
            }],
            diagnosis: String::new(),
            bottom_points: vec![],
            operator_residuals0: init.operator_residuals,
            lanczos_margins0: init.lanczos,
        };
        if card.is_positive(card.lambda0) {
            card.radius0 = 2.0 * card.lipschitz_f0 * card.residual_norm0 / card.lambda0;
        }
        card
    }

    /// Why no ball can be certified whatever the search finds, if so: an under-parameterized
    /// model (`p < N`, so `rank K ≤ p < N`), or `λ₀` at or below the round-off floor.
    fn not_certifiable(&self) -> Option<String> {
        let (n, p, threshold) = (self.n, self.p, self.positivity_threshold);
        if p < n {
            let equations = match self.outputs {
                1 => format!("n = {n}"),
                k => format!("N = n·k = {}·{k} = {n}", n / k),
            };
            Some(format!(
                "not certifiable: rank K ≤ p = {p} < {equations}, so λ_min(K) = 0 everywhere \
                 (measured λ₀ = {:.3e}, round-off floor {threshold:.1e})",
                self.lambda0
            ))
        } else if !self.is_positive(self.lambda0) {
            Some(format!(
                "not certifiable: λ₀ = {:.3e} is at or below the round-off floor {threshold:.1e} \
                 although p = {p} ≥ n = {n} (duplicated inputs or a degenerate architecture)",
                self.lambda0
            ))
        } else {
            None
        }
    }
}

/// The grid of radii: geometric from `min(d_lin, R(w₀)) / 4` to `8 R(w₀)`, with the extra radii.
fn radius_grid(card: &TheoremCard, settings: &CardSettings) -> Vec<f64> {
    let lo = (card.linearized_distance / 4.0).min(card.radius0 / 4.0);
    let hi = 8.0 * card.radius0;
    let mut grid = vec![];
    if lo.is_finite() && hi.is_finite() && lo > 0.0 {
        let octaves = (hi / lo).log2().max(0.0);
        let count = ((octaves * settings.radii_per_octave.max(1) as f64).ceil() as usize + 1)
            .clamp(2, settings.max_radii.max(2));
        let ratio = (hi / lo).powf(1.0 / (count - 1) as f64);
        grid.extend((0..count).map(|i| lo * ratio.powi(i as i32)));
    }
    grid.extend(settings.extra_radii.iter().copied().filter(|r| *r > 0.0));
    grid.sort_by(f64::total_cmp);
    grid.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * b.abs());
    grid
}

/// Searches every grid radius, inward out, filling the card's profile and points.
fn search_profile<B: Backend>(
    card: &mut TheoremCard,
    search: &mut BallSearch<'_, B>,
    w0: &[f64],
    x: &Tensor<B, 2>,
    settings: &CardSettings,
    progress: &mut dyn FnMut(&CardProgress),
) -> Result<()> {
    let cfg = search.config().clone();
    let grid = radius_grid(card, settings);
    let last_extra = settings.extra_radii.iter().copied().fold(0.0, f64::max);
    let mut hessian_points: Vec<(f64, HessianNorm)> = vec![];
    // Best points of the searches whose ‖H_F‖ is not measured yet: β̂_F only enters η*, so
    // the Hessian norms are measured when a radius would certify (μ̂(r) > floor and
    // r ≥ R(r)), at every best point inside it; sweeps of narrow widths pay nothing.
    let mut pending: Vec<Vec<f64>> = vec![];
    let (mut warm_bottom, mut warm_top): (Option<Vec<f64>>, Option<Vec<f64>>) = (None, None);
    let mut certified = false;
    for (i, &r) in grid.iter().enumerate() {
        progress(&CardProgress::Radius {
            radius_index: i + 1,
            radii: grid.len(),
            radius: r,
            mu: card.profile.last().map_or(card.lambda0, |e| e.mu),
        });
        let done = !card.is_positive(card.profile.last().map_or(card.lambda0, |e| e.mu))
            || (certified && !settings.search_past_certificate && r > last_extra);
        if done {
            let mut e = card.profile.last().cloned().expect("a radius was searched");
            (e.radius, e.searched) = (r, false);
            card.profile.push(e);
            continue;
        }
        let bottom = search.search(r, Extreme::Bottom, warm_bottom.as_deref())?;
        let top = search.search(r, Extreme::Top, warm_top.as_deref())?;
        card.points.extend(bottom.points.iter().cloned());
        card.points.extend(top.points.iter().cloned());
        pending.push(bottom.best.clone());
        pending.push(top.best.clone());
        card.bottom_points.push((r, bottom.best.clone()));
        let mut e = radius_estimate(card, r, &hessian_points);
        let candidate = card.is_positive(e.mu) && e.theorem_radius <= r;
        if candidate && settings.hessian_at_searched {
            for w in pending.drain(..) {
                let m = Mlp::<B>::from_vector(&cfg, &w, &x.device())?;
                // Warm start from the last point's maximizing z: nearby points share it.
                let start = hessian_points.last().map(|(_, h)| h.z.clone());
                let h = hessian_operator_norm_from(
                    &m,
                    x,
                    &searched_hessian_settings(),
                    start.as_deref(),
                );
                hessian_points.push((distance(&w, w0), h));
            }
            e = radius_estimate(card, r, &hessian_points);
        }
        // β̂_F(r) covers the searched points only when none inside the ball is pending.
        e.beta_f_searched = pending.is_empty();
        certified |= candidate;
        card.profile.push(e);
        (warm_bottom, warm_top) = (Some(bottom.best), Some(top.best));
    }
    Ok(())
}

/// `‖a − b‖`.
fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The estimates over `B(w₀, r)` from every point measured so far.
fn radius_estimate(card: &TheoremCard, r: f64, hessians: &[(f64, HessianNorm)]) -> RadiusEstimate {
    let inside = |d: f64| card.inside(d, r);
    let mut mu = f64::INFINITY;
    let mut lambda_max: f64 = 0.0;
    let mut points = 0;
    for q in card.points.iter().filter(|q| inside(q.distance)) {
        mu = mu.min(q.lambda_min);
        lambda_max = lambda_max.max(q.lambda_max);
        points += 1;
    }
    let (mut beta, mut converged) = (card.hessian_norm0, card.hessian_norm0_converged);
    for (_, h) in hessians.iter().filter(|(d, _)| inside(*d)) {
        beta = beta.max(h.value);
        converged &= h.converged;
    }
    let lipschitz_f = lambda_max.sqrt();
    RadiusEstimate {
        radius: r,
        mu,
        lipschitz_f,
        beta_f: beta,
        beta_f_converged: converged,
        beta_f_searched: false,
        theorem_radius: if card.is_positive(mu) {
            2.0 * lipschitz_f * card.residual_norm0 / mu
        } else {
            f64::INFINITY
        },
        points,
        searched: true,
    }
}

/// `‖H_F‖` settings at the searched points (and at `w₀` on the operator path,
/// [`operator_card`]): at most 6 rounds of 20 Lanczos steps, against 30 of 30 at `w₀` on the
/// dense path.
pub fn searched_hessian_settings() -> HessianNormSettings {
    HessianNormSettings {
        lanczos: LanczosSettings {
            max_iter: 20,
            tol: 1e-4,
            seed: 0,
        },
        max_rounds: 6,
        tol: 1e-3,
        step: None,
    }
}

/// `‖H_F‖` started from the best `e_k` and never below `max_k ‖H_{F_k}‖₂` (every `e_k` is an
/// admissible `z`): the uniform start can settle below that bound (narrow.toml: 5.02e-2 against
/// max_k 5.56e-2). Cost: `n` single-sample Lanczos runs more than the alternation alone.
fn hessian_norm_at_least_per_output<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> HessianNorm {
    let settings = HessianNormSettings::default();
    let per_output = max_output_hessian_norm(model, x, &settings.lanczos);
    hessian_operator_norm_from_outputs(model, x, &settings, &per_output)
}

/// The card's quantities at `w₀`.
struct InitMeasures {
    lambda0: f64,
    lambda_max0: f64,
    trace0: f64,
    max_kernel_diagonal0: f64,
    hessian0: HessianNorm,
    /// `r₀ = F(w₀) − y`.
    r0: Vec<f64>,
    linearized_distance: f64,
    rho: f64,
    /// The Lanczos residuals of `λ₀` and `λ_max` on the operator path.
    operator_residuals: Option<EigenResiduals>,
    /// On the dense path's Lanczos branch: the residuals and the proved margins.
    lanczos: Option<LanczosMargins>,
}

impl InitMeasures {
    fn at<B: Backend>(
        model: &Mlp<B>,
        x: &Tensor<B, 2>,
        y: &Tensor<B, 1>,
        per_output_hessian: bool,
        progress: &mut dyn FnMut(&CardProgress),
    ) -> Result<Self> {
        let n = x.dims()[0] * model.config().outputs;
        progress(&CardProgress::Init {
            stage: "the tangent kernel K(w₀)",
            estimate_seconds: None,
        });
        let k0 = tangent_kernel(model, x, KernelMethod::Structured);
        // r₀ as training computes it (F − y in the working precision), so that L(w₀) is one
        // number in the card and in the run's records.
        let r0 = download(model.forward(x.clone()) - y.clone());
        let mut lanczos = None;
        let (lambda0, lambda_max0, linearized_distance) = if n <= EXTREMES_DENSE_LIMIT {
            progress(&CardProgress::Init {
                stage: "the dense eigendecomposition of K(w₀)",
                estimate_seconds: Some(dense_eigen_seconds(n)),
            });
            let eig = symmetric_eigen(&k0)?;
            // √(r₀ᵀ K₀⁻¹ r₀) = √Σ (u_iᵀ r₀)² / λ_i (infinite when K₀ is singular).
            let d = eig
                .values
                .iter()
                .zip(&eig.vectors)
                .map(|(l, u)| u.iter().zip(&r0).map(|(a, b)| a * b).sum::<f64>().powi(2) / l)
                .sum::<f64>()
                .sqrt();
            (eig.values[0], eig.values[n - 1], d)
        } else {
            progress(&CardProgress::Init {
                stage: "λ_min, λ_max of K(w₀) (Lanczos) and r₀ᵀK₀⁻¹r₀ (Cholesky)",
                estimate_seconds: None,
            });
            let e = kernel_extremes(&k0, EXTREMES_DENSE_LIMIT)?;
            let d = inverse_quadratic_form(&k0, &r0).map_or(f64::INFINITY, |q| q.max(0.0).sqrt());
            if let Some(res) = e.residuals.clone() {
                progress(&CardProgress::Init {
                    stage: "the proof's bounds on λ_min, λ_max of K(w₀) (two Cholesky tests)",
                    estimate_seconds: None,
                });
                lanczos = Some(LanczosMargins::prove(&k0, &e, res));
            }
            (e.lambda_min, e.lambda_max, d)
        };
        progress(&CardProgress::Init {
            stage: "‖H_F(w₀)‖ (alternating Lanczos on Hessian-vector products)",
            estimate_seconds: None,
        });
        Ok(Self {
            lambda0,
            lambda_max0,
            trace0: k0.trace(),
            max_kernel_diagonal0: (0..n).map(|i| k0.get(i, i)).fold(0.0, f64::max),
            hessian0: if per_output_hessian {
                hessian_norm_at_least_per_output(model, x)
            } else {
                hessian_operator_norm_from(model, x, &HessianNormSettings::default(), None)
            },
            r0,
            linearized_distance: if lambda0 > 0.0 {
                linearized_distance
            } else {
                f64::INFINITY
            },
            rho: output_rho(model, x),
            operator_residuals: None,
            lanczos,
        })
    }
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
    download(cfg.output_activation.derivative(z))
        .into_iter()
        .map(f64::abs)
        .fold(f64::INFINITY, f64::min)
}
