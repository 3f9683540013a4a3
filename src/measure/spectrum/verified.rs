//! Eigenvalue bounds *proved* in floating point by a Cholesky factorization, for the kernel's
//! extremes that Lanczos only estimates.
//!
//! A Ritz value `θ` with residual `‖K v − θ v‖ = ρ` shows that *some* eigenvalue lies in
//! `[θ − ρ, θ + ρ]`, not that it is the smallest (or the largest): a Krylov space can miss an
//! eigenvalue. Where the matrix is stored, one factorization settles it. `A = K − sI` is
//! positive definite, so `λ_min(K) > s`, if the floating-point Cholesky factorization of
//! `A − cI` runs to completion with
//!
//! ```text
//! c = γ_{N+1} / (1 − γ_{N+1}) · tr A,   γ_j = j u₆₄ / (1 − j u₆₄)
//! ```
//!
//! (S. M. Rump, "Verification of positive definiteness", BIT Numer. Math. 46 (2006) 433–452,
//! Corollary 2.4, for any order of the sums, FMA included; its underflow term, about
//! `10⁻³⁰⁰` here, is left out). faer's factorization divides by a pivot as a multiplication by
//! its rounded reciprocal (also in its small triangular solves), a few more roundings per
//! entry than the corollary's algorithm: `γ_{N+4}` replaces `γ_{N+1}` to cover them, and `c` is
//! taken twice over, to cover the rounding of the shifted diagonal and of `tr A`. The same with
//! `A = sI − K` shows `λ_max(K) < s`.
//!
//! The bound is on the stored matrix `K̂`; the kernel's own round-off (its distance to the exact
//! `K(w)`) is the caller's to add ([`crate::measure::roundoff`]).

use super::TangentKernel;
use crate::measure::roundoff::UNIT_ROUNDOFF_F64;

/// Which extreme [`cholesky_proves`] bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EigenBound {
    /// `λ_min(K̂) > s`: `K̂ − sI` is positive definite.
    MinAbove,
    /// `λ_max(K̂) < s`: `sI − K̂` is positive definite.
    MaxBelow,
}

/// The shift `c` of Rump's test for an `N × N` matrix of trace `trace` (module docs), with
/// `γ_{N+4}` for `γ_{N+1}`, doubled.
pub fn cholesky_test_shift(n: usize, trace: f64) -> f64 {
    let j = (n + 4) as f64 * UNIT_ROUNDOFF_F64;
    let gamma = j / (1.0 - j);
    2.0 * gamma / (1.0 - gamma) * trace
}

/// Whether a floating-point Cholesky factorization proves `bound` at `s` on the
/// stored `N × N` matrix `k` (module docs). `false` means "not proved", not "false": the bound
/// may hold by less than the test's shift [`cholesky_test_shift`].
///
/// Cost: one `N × N` f64 copy and `N³/3` flops (faer's blocked factorization, on every core).
pub fn cholesky_proves(k: &TangentKernel, s: f64, bound: EigenBound) -> bool {
    let n = k.n;
    let sign = match bound {
        EigenBound::MinAbove => 1.0,
        EigenBound::MaxBelow => -1.0,
    };
    let trace: f64 = (0..n).map(|i| sign * (k.get(i, i) - s)).sum();
    if trace.is_nan() || trace <= 0.0 {
        return false;
    }
    let c = cholesky_test_shift(n, trace);
    let a = faer::Mat::<f64>::from_fn(n, n, |i, j| {
        let v = sign * k.get(i, j);
        if i == j {
            v - sign * s - c
        } else {
            v
        }
    });
    a.llt(faer::Side::Lower).is_ok()
}
