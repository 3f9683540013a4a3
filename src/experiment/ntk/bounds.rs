//! The round-off bounds of `plstar ntk`'s report.

use burn::tensor::backend::Backend;

use crate::experiment::config::Settings;
use crate::measure::roundoff::{condition_number, RoundOff};

/// What the round-off model and the rank say of the kernel at the evaluated point.
pub(super) struct RoundOffBounds {
    /// The eigenvalue floor.
    pub floor: f64,
    /// The PL identity's tolerance.
    pub pl_tolerance: f64,
    /// `κ = λ_max/λ_min`.
    pub condition_number: f64,
    /// `pl_ratio ≥ λ_min − tolerance` (true for a NaN ratio, `L = 0`).
    pub pl_holds: bool,
}

/// The round-off model's eigenvalue floor and PL-identity tolerance for the `N × N` kernel with
/// `diagonal` and extremes `(λ_min, λ_max)`, `κ = λ_max/λ_min` ([`condition_number`]) and the
/// PL check of `pl_ratio`. When `p < N`, `rank K ≤ p < N`, so `λ_min = 0` exactly whatever the
/// eigensolver's last digits (the operator's Ritz value of a singular `K` need not fall to
/// round-off): `κ` is infinite and the ratio is checked against 0.
pub(super) fn round_off_bounds<B: Backend>(
    s: &Settings,
    big: usize,
    diagonal: &[f64],
    (lambda_min, lambda_max): (f64, f64),
    pl_ratio: f64,
) -> RoundOffBounds {
    let round_off = RoundOff::for_backend::<B>(&s.model);
    let trace: f64 = diagonal.iter().sum();
    let max_diagonal = diagonal.iter().copied().fold(0.0, f64::max);
    let floor = round_off.eigenvalue_floor(big, max_diagonal, trace, lambda_max);
    let tolerance = round_off.pl_identity(big, max_diagonal, trace, lambda_max);
    let rank_deficient = s.model.parameter_count() < big;
    let (kappa, min) = if rank_deficient {
        (f64::INFINITY, 0.0)
    } else {
        (condition_number(lambda_min, lambda_max, floor), lambda_min)
    };
    RoundOffBounds {
        floor,
        pl_tolerance: tolerance,
        condition_number: kappa,
        pl_holds: pl_ratio.is_nan() || pl_ratio >= min - tolerance,
    }
}
