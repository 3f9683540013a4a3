//! Step sizes from the theorem card: `η*` for gradient descent is a field of the card
//! ([`BallEstimate::eta_star`]); this module holds the mini-batch rule derived from it.

use crate::theorem::card::BallEstimate;

/// The SGD step size for batch size `b` (sum-loss scale, for the update
/// `w ← w − η (n/b) Σ_{i∈B} ∇ℓ_i`).
///
/// Derivation (Ma, Bassily & Belkin 2018, "The power of interpolation"): for the mean loss
/// `L/n` with per-sample smoothness `β_s` and full smoothness `λ₁`, mini-batch SGD with batch `b`
/// converges exponentially for `η_mean ≤ b / (β_s + (b − 1) λ₁)`. Here
/// `β_s = max_i K_ii(w₀) + β̂_F max_i |r_i|` (since `∇²ℓ_i = ∇f_i∇f_iᵀ + r_i H_{F_i}`) and
/// `λ₁ = 1/(n η*)` (the theorem's smoothness of `L`, divided by `n`). Our update on the sum scale
/// has `η = η_mean / n`, so `η_SGD = b / (n (β_s + (b − 1)/(n η*)))`. At `b = n` it is within a
/// factor `1 + n β_s η*` of `η*`.
pub fn sgd_step_size(card: &BallEstimate, batch_size: usize) -> f64 {
    let n = card.n as f64;
    let b = batch_size as f64;
    let beta_s = card.max_kernel_diagonal0 + card.beta_f_hat * card.max_abs_residual0;
    let lambda1 = 1.0 / (n * card.eta_star);
    b / (n * (beta_s + (b - 1.0) * lambda1))
}
