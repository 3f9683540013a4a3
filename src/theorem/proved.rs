//! The proved certificate: the PL* theorem's ball with constants *bounded* over it, beside the
//! searched estimate of [`super::card`] (THEORY.md, "What is measured, and how honest it is").
//!
//! With `β̄_F(r) ≥ sup_{B(w₀,r)} ‖H_F‖` ([`super::bound`]), the mean-value theorem on the convex
//! ball gives `‖DF(w) − DF(w₀)‖₂ ≤ β̄_F(r) ‖w − w₀‖`, and Weyl's inequality for singular values
//! `σ_min(DF(w)) ≥ σ_min(DF(w₀)) − β̄_F(r) r` and `‖DF(w)‖₂ ≤ ‖DF(w₀)‖₂ + β̄_F(r) r`. So on
//! `B(w₀, r)`
//!
//! ```text
//! μ(r) ≥ μ_lb(r) = (√λ₀⁻ − β̄_F(r) r)₊²,   L_F(r) ≤ L̄_F(r) = √λ_max⁺ + β̄_F(r) r,
//! ```
//!
//! where `λ₀⁻ = λ₀ − φ` and `λ_max⁺ = λ_max + φ`, with `φ` the round-off model's eigenvalue floor
//! at `w₀` ([`crate::measure::roundoff::RoundOff::eigenvalue_floor`]: the kernel's own round-off
//! and the eigensolver's backward error `N u₆₄ λ_max`). Where the card's `λ₀` and `λ_max` are
//! Lanczos estimates (above 1 024 equations) the margins add their residuals and are proved by
//! Cholesky factorizations ([`crate::theorem::card::LanczosMargins`]). The proved radius is the smallest `r`
//! with `μ_lb(r) > 0` and `r ≥ R̄(r) = 2 L̄_F(r) ‖r₀‖ / μ_lb(r)` (Liu, Zhu & Belkin 2020,
//! Theorem 4.2 — THEORY.md's "Theorem"), with `η̄* = 1 / (L̄_F(r)² + β̄_F(r) ‖r₀‖)`: gradient
//! descent with `η ≤ η̄*` stays in `B(w₀, r)` and `L(w_t) ≤ (1 − η μ_lb(r))ᵗ L(w₀)`. It is proved
//! up to the floating-point margins of `λ₀` and `λ_max` and the bound's own (module docs of [`super::bound`]).
//!
//! Search: `r μ_lb(r) − 2 L̄_F(r) ‖r₀‖` is evaluated on a geometric grid of 64 radii per octave
//! from `10⁻¹²·r_z` to `r_z`, where `μ_lb(r_z) = 0`, and its first sign change is bisected to
//! relative `u₆₄`-level width; `r` is reported as the right end of the bracket, where the
//! inequality holds. Cost: a few thousand evaluations of closed forms.

use serde::{Deserialize, Serialize};

use super::bound::SmoothnessBound;

/// The state of the proved certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofState {
    /// A ball where the bounds prove the theorem's hypotheses.
    Proved,
    /// The bound applies, but no radius satisfies `r ≥ R̄(r)` with `μ_lb(r) > 0` (the reason
    /// says which fails).
    None,
    /// No bound for this network (ReLU, a non-linear output after a hidden layer: the reason).
    NotApplicable,
}

impl ProofState {
    /// `proved`, `none` or `not applicable`, for people.
    pub fn label(self) -> &'static str {
        match self {
            ProofState::Proved => "proved (bound)",
            ProofState::None => "none",
            ProofState::NotApplicable => "not applicable",
        }
    }
}

/// The proved certificate (module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvedCertificate {
    /// What it is.
    pub state: ProofState,
    /// The bound `β̄_F(r)` it rests on.
    pub bound: SmoothnessBound,
    /// `λ₀⁻ = λ₀ − margin`: `φ`, plus on the card's Lanczos path the residual and the Cholesky
    /// test's shift ([`crate::theorem::card::LanczosMargins`]).
    pub lambda0_lower: f64,
    /// `λ_max⁺ = λ_max + margin` (the same margins for `λ_max`).
    pub lambda_max_upper: f64,
    /// The proved radius `r` (`r ≥ R̄(r)`).
    pub radius: Option<f64>,
    /// `μ_lb(r)`.
    pub mu_lower_bound: Option<f64>,
    /// `L̄_F(r)`.
    pub lipschitz_bound: Option<f64>,
    /// `β̄_F(r)`.
    pub beta_bound: Option<f64>,
    /// `η̄* = 1 / (L̄_F(r)² + β̄_F(r) ‖r₀‖)`.
    pub eta_star: Option<f64>,
    /// Why it is (or is not) proved, in plain words.
    pub reason: String,
}

impl ProvedCertificate {
    /// Whether the state is [`ProofState::Proved`].
    pub fn proved(&self) -> bool {
        self.state == ProofState::Proved
    }

    /// `μ_lb(r)` of `bound` (`None` when not applicable).
    pub fn mu_lower_bound_at(bound: &SmoothnessBound, lambda0_lower: f64, r: f64) -> Option<f64> {
        let gap = lambda0_lower.max(0.0).sqrt() - bound.at(r)? * r;
        Some(gap.max(0.0).powi(2))
    }
}

/// The proved certificate from `β̄_F`, `λ₀`, `λ_max(K(w₀))`, their `margins` (`λ₀⁻ = λ₀ −
/// margins[0]`, `λ_max⁺ = λ_max + margins[1]`: the round-off floor `φ` for a dense
/// eigendecomposition, more on the card's Lanczos path; `∞` where nothing is proved) and
/// `‖r₀‖ = ‖F(w₀) − y‖` (module docs). `‖r₀‖ = 0` proves the ball of radius 0 (`w₀` solves).
pub fn prove(
    bound: SmoothnessBound,
    lambda0: f64,
    lambda_max: f64,
    margins: [f64; 2],
    residual_norm: f64,
) -> ProvedCertificate {
    let [floor, above] = margins;
    let lambda0_lower = lambda0 - floor;
    let lambda_max_upper = lambda_max + above;
    let mut cert = ProvedCertificate {
        state: ProofState::None,
        bound,
        lambda0_lower,
        lambda_max_upper,
        radius: None,
        mu_lower_bound: None,
        lipschitz_bound: None,
        beta_bound: None,
        eta_star: None,
        reason: String::new(),
    };
    if let Some(why) = &cert.bound.not_applicable {
        cert.state = ProofState::NotApplicable;
        cert.reason = why.clone();
        return cert;
    }
    if lambda0_lower.is_nan() || lambda0_lower <= 0.0 {
        cert.reason = format!(
            "λ₀ = {lambda0:.3e} is not above its margin {floor:.3e} (the round-off floor): \
             μ_lb(r) = 0 for every r"
        );
        return cert;
    }
    let bound = &cert.bound;
    let beta = |r: f64| bound.at(r).expect("applicable");
    let a = beta(0.0);
    let root = lambda0_lower.sqrt();
    let mu = |r: f64| ProvedCertificate::mu_lower_bound_at(bound, lambda0_lower, r).unwrap_or(0.0);
    let lip = |r: f64| lambda_max_upper.sqrt() + beta(r) * r;
    let slack = |r: f64| r * mu(r) - 2.0 * lip(r) * residual_norm;
    // μ_lb(r_z) = 0: β̄(r) r = √λ₀⁻ — for the affine bound a r + b r², in closed form.
    let r_zero = match bound.slope {
        Some(b) if b > 0.0 => (-a + (a * a + 4.0 * b * root).sqrt()) / (2.0 * b),
        _ if a == 0.0 => f64::INFINITY,
        Some(_) => root / a,
        // Depth L ≥ 2: β̄ non-decreasing, so r β̄(r) = √λ₀⁻ has one root in (0, √λ₀⁻ / β̄(0)].
        None => bisect_increasing(|r| r * beta(r) - root, root / a),
    };
    let found = if residual_norm == 0.0 {
        Some(0.0)
    } else if r_zero.is_infinite() {
        // β̄_F = 0 (a linear model): μ_lb = λ₀⁻, L̄_F = √λ_max⁺, R̄ = 2 √λ_max⁺ ‖r₀‖ / λ₀⁻.
        Some(2.0 * lambda_max_upper.sqrt() * residual_norm / lambda0_lower)
    } else {
        first_crossing(slack, r_zero)
    };
    match found {
        Some(r) => {
            let beta = beta(r);
            cert.state = ProofState::Proved;
            cert.radius = Some(r);
            cert.mu_lower_bound = Some(mu(r));
            cert.lipschitz_bound = Some(lip(r));
            cert.beta_bound = Some(beta);
            cert.eta_star = Some(1.0 / (lip(r).powi(2) + beta * residual_norm));
            cert.reason = format!(
                "on B(w₀, {r:.4e}): μ_lb = {:.4e} > 0 and R̄ = 2 L̄_F ‖r₀‖ / μ_lb ≤ r, with \
                 β̄_F = {beta:.4e} bounded over the ball",
                mu(r)
            );
        }
        None => {
            // The best r: where r μ_lb(r) / (2 L̄_F(r)) peaks, i.e. the most ‖r₀‖ a ball proves.
            let best = (1..=512)
                .map(|i| r_zero * i as f64 / 513.0)
                .map(|r| (r, r * mu(r) / (2.0 * lip(r))))
                .fold((0.0, 0.0), |m, v| if v.1 > m.1 { v } else { m });
            cert.reason = format!(
                "no radius proves: at best (r = {:.3e}) a ball proves ‖r₀‖ ≤ {:.3e}, and \
                 ‖r₀‖ = {residual_norm:.3e}; μ_lb reaches 0 at r = {r_zero:.3e} (β̄_F(0) = \
                 {a:.3e}, √λ₀⁻ = {root:.3e})",
                best.0, best.1
            );
        }
    }
    cert
}

/// The root of a non-decreasing `f` on `(0, hi]` with `f(hi) ≥ 0`, to relative width `4 u₆₄`:
/// the right end of the last bracket (where `f ≥ 0`).
fn bisect_increasing(f: impl Fn(f64) -> f64, hi: f64) -> f64 {
    bisect(f, 0.0, hi)
}

/// Bisects the bracket `f(lo) < 0 ≤ f(hi)` to relative width `4 u₆₄`; returns its right end.
fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    while hi - lo > 4.0 * crate::measure::roundoff::UNIT_ROUNDOFF_F64 * hi {
        let mid = 0.5 * (lo + hi);
        if f(mid) >= 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The smallest `r ∈ (0, r_z)` with `slack(r) ≥ 0`, to relative width `4 u₆₄` (module docs).
fn first_crossing(slack: impl Fn(f64) -> f64, r_zero: f64) -> Option<f64> {
    const PER_OCTAVE: f64 = 64.0;
    // The scan's range, not a threshold: every decision is the sign of `slack` itself. Below
    // 1e-12 r_z the ball proves only ‖r₀‖ ≤ 1e-12 r_z √λ₀⁻ / (2 L̄_F), and ‖r₀‖ = 0 is handled
    // before the scan.
    let lowest = r_zero * 1e-12;
    let steps = ((r_zero / lowest).log2() * PER_OCTAVE).ceil() as usize;
    let ratio = (r_zero / lowest).powf(1.0 / steps as f64);
    let mut lo = lowest;
    if slack(lo) >= 0.0 {
        return Some(lo);
    }
    for i in 1..=steps {
        let hi = (lowest * ratio.powi(i as i32)).min(r_zero);
        if slack(hi) >= 0.0 {
            return Some(bisect(&slack, lo, hi));
        }
        lo = hi;
    }
    None
}
