//! Step sizes from the theorem card: `η*` for gradient descent ([`TheoremCard::eta_star`]: the
//! certified one, else the one at `w₀`), and the mini-batch rule derived from it.

use crate::theorem::card::TheoremCard;

/// The SGD step size for batch size `b` (sum-loss scale, for the update
/// `w ← w − η (n/b) Σ_{i∈B} ∇ℓ_i`): `η_SGD = b η* / (n + b − 1)`.
///
/// Theorem: Ma, Bassily & Belkin (2018, "The power of interpolation", Theorem 1), the SGD
/// extension that Liu, Zhu & Belkin cite for PL* systems: for the mean loss `L/n` with
/// per-sample smoothness `β_s` and full smoothness `λ₁`, mini-batch SGD with batch `b` converges
/// exponentially (in expectation) for `η_mean ≤ b / (β_s + (b − 1) λ₁)`.
///
/// Constants, from the same ball as `η*`: the full smoothness of `L` is `1/η* = L̂_F² +
/// β̂_F ‖r₀‖`, so `λ₁ = 1/(n η*)`. Each `ℓ_i = ½ r_i²` has `∇²ℓ_i = ∇f_i∇f_iᵀ + r_i H_{F_i}`, whose
/// norm is at most `K_ii + |r_i| ‖H_{F_i}‖ ≤ L̂_F² + ‖r‖ β̂_F` on the ball; so `β_s = 1/η*` as
/// well (per-sample and full smoothness share the bound). Then
/// `η_mean = b η* / (1 + (b − 1)/n)` and, on the sum scale (`η = η_mean / n`),
/// `η_SGD = b η* / (n + b − 1)`. It never exceeds `η*` (at `b = n` it is `n η* / (2n − 1)`).
pub fn sgd_step_size(card: &TheoremCard, batch_size: usize) -> f64 {
    let n = card.n as f64;
    let b = batch_size as f64;
    b * card.eta_star() / (n + b - 1.0)
}
