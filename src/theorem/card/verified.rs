//! The proof's margins where the card's `λ₀` and `λ_max(K(w₀))` come from Lanczos (above
//! [`crate::measure::spectrum::EXTREMES_DENSE_LIMIT`] equations, on the dense path).
//!
//! THEORY.md proves the certificate "up to the floating-point margin of `λ₀` (its
//! eigen-residual plus the round-off floor)". A Ritz value's residual `ρ` places *an*
//! eigenvalue within `ρ`, not the smallest one, so the card does not take it on trust: a
//! Cholesky factorization of the stored `K̂(w₀)` shifted below `λ₀ − ρ` proves
//! `λ_min(K̂) > s` ([`cholesky_proves`]), and one of `sI − K̂` proves `λ_max(K̂) < s` above
//! `λ_max + ρ`. With `φ = φ_K + φ_E` the eigenvalue floor (`φ_K` the kernel's own round-off,
//! `φ_E = N u₆₄ λ_max` the eigensolver's) and `c` Rump's shift ([`cholesky_test_shift`]):
//!
//! ```text
//! s₋ = λ₀ − ρ_min − φ_E − 2c₋      proved: λ_min(K(w₀)) > s₋ − φ_K = λ₀ − (ρ_min + φ + 2c₋)
//! s₊ = λ_max + ρ_max + φ_E + 2c₊   proved: λ_max(K(w₀)) < s₊ + φ_K = λ_max + (ρ_max + φ + 2c₊)
//! ```
//!
//! `φ_E` and one `c` leave the factorization room to succeed (it must clear its own rounding,
//! about `c`). The margins are then the THEORY's plus `2c`, about `4 N u₆₄ tr K`. Where a
//! factorization fails the bound is not proved, and neither is the certificate.
//!
//! Cost: two `N × N` f64 copies, one at a time, and `2 N³/3` flops.

use serde::{Deserialize, Serialize};

use super::TheoremCard;
use crate::measure::kernel::TangentKernel;
use crate::measure::roundoff::UNIT_ROUNDOFF_F64;
use crate::measure::spectrum::{
    cholesky_proves, cholesky_test_shift, EigenBound, EigenResiduals, KernelExtremes,
};
use crate::theorem::bound::SmoothnessBound;
use crate::theorem::proved::{prove, ProofState, ProvedCertificate};

/// What the card proved of its Lanczos extremes (module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanczosMargins {
    /// The Ritz residuals `‖K v − λ v‖` of `λ₀` and `λ_max`, and the iterations.
    pub residuals: EigenResiduals,
    /// `ρ_min + φ_E + 2c₋` when the factorization proved `λ_min(K̂) > λ₀ −` it; `None` when it
    /// failed.
    pub below: Option<f64>,
    /// `ρ_max + φ_E + 2c₊` when the factorization proved `λ_max(K̂) < λ_max +` it; `None` when
    /// it failed.
    pub above: Option<f64>,
}

impl LanczosMargins {
    /// Runs the two factorizations on the stored kernel `k` for the Lanczos extremes `e`.
    pub fn prove(k: &TangentKernel, e: &KernelExtremes, residuals: EigenResiduals) -> Self {
        let n = k.n as f64;
        let trace = k.trace();
        let eigensolver = n * UNIT_ROUNDOFF_F64 * e.lambda_max.abs();
        // c from an upper bound on tr A (module docs): tr(K − sI) ≤ tr K for s ≥ 0, and
        // tr(sI − K) ≤ N s.
        let below = residuals.min + eigensolver + 2.0 * cholesky_test_shift(k.n, trace);
        let top = e.lambda_max + residuals.max + eigensolver;
        let above = residuals.max + eigensolver + 2.0 * cholesky_test_shift(k.n, 2.0 * n * top);
        let proves = |s: f64, bound| s.is_finite() && cholesky_proves(k, s, bound);
        Self {
            below: proves(e.lambda_min - below, EigenBound::MinAbove).then_some(below),
            above: proves(e.lambda_max + above, EigenBound::MaxBelow).then_some(above),
            residuals,
        }
    }

    /// The proof's margins `[λ₀ − λ₀⁻, λ_max⁺ − λ_max]` given the kernel's own round-off
    /// `kernel = φ_K` ([`crate::measure::roundoff::RoundOff::kernel_spectral_error`], the floor
    /// without the eigensolver's part); `∞` where not proved.
    pub fn margins(&self, kernel: f64) -> [f64; 2] {
        [
            self.below.map_or(f64::INFINITY, |m| m + kernel),
            self.above.map_or(f64::INFINITY, |m| m + kernel),
        ]
    }
}

impl TheoremCard {
    /// The proved certificate on `bound` ([`prove`]), with the margins of `λ₀` and `λ_max`: the
    /// eigenvalue floor, plus on the Lanczos path the residuals and the Cholesky tests'
    /// shifts ([`LanczosMargins`]; a bound a factorization could not prove is not proved).
    pub(super) fn prove(&self, bound: SmoothnessBound) -> ProvedCertificate {
        let floor = self.positivity_threshold;
        let Some(lanczos) = &self.lanczos_margins0 else {
            return prove(
                bound,
                self.lambda0,
                self.lambda_max0,
                [floor; 2],
                self.residual_norm0,
            );
        };
        let kernel = self
            .round_off
            .kernel_spectral_error(self.max_kernel_diagonal0, self.trace0);
        let margins = lanczos.margins(kernel);
        let mut proof = prove(
            bound,
            self.lambda0,
            self.lambda_max0,
            margins,
            self.residual_norm0,
        );
        let failed: Vec<&str> = [
            (lanczos.below.is_none(), "λ_min(K(w₀)) > λ₀ − margin"),
            (lanczos.above.is_none(), "λ_max(K(w₀)) < λ_max + margin"),
        ]
        .into_iter()
        .filter_map(|(failed, what)| failed.then_some(what))
        .collect();
        if !failed.is_empty() && proof.state != ProofState::NotApplicable {
            proof.state = ProofState::None;
            // Nothing of a proof that does not hold is kept (prove() may have found a radius,
            // e.g. 0 when ‖r₀‖ = 0).
            proof.radius = None;
            proof.mu_lower_bound = None;
            proof.lipschitz_bound = None;
            proof.beta_bound = None;
            proof.eta_star = None;
            proof.reason = format!(
                "λ₀ = {:.3e} and λ_max = {:.3e} are Lanczos estimates (residuals {:.1e}, \
                 {:.1e}), and the Cholesky test could not prove {}: not proved",
                self.lambda0,
                self.lambda_max0,
                lanczos.residuals.min,
                lanczos.residuals.max,
                failed.join(" nor ")
            );
        }
        proof
    }
}
