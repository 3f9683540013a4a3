//! Closed-form infinite-width tangent kernels (THEORY.md) for one hidden layer, no bias, NTK
//! parameterization, both layers trained:
//! `K∞(x, x′) = E[σ(u)σ(u′)] + (xᵀx′/d) E[σ′(u)σ′(u′)]`, `(u, u′)` centred Gaussian with
//! covariance `Σ = [[‖x‖², xᵀx′], [xᵀx′, ‖x′‖²]] / d`.
//! - ReLU: `E[σσ′] = √(Σ₁₁Σ₂₂)(sin θ + (π − θ) cos θ)/(2π)`, `E[σ′σ′′] = (π − θ)/(2π)`
//!   (θ the angle between x and x′; a zero input gives 0);
//! - erf: `E[σσ′] = (2/π) arcsin(2Σ₁₂/√((1+2Σ₁₁)(1+2Σ₂₂)))`,
//!   `E[σ′σ′′] = (4/π)/√((1+2Σ₁₁)(1+2Σ₂₂) − 4Σ₁₂²)`.

use std::f64::consts::PI;

use crate::data::Dataset;
use crate::measure::kernel::TangentKernel;
use crate::model::Activation;

/// `K∞` on the data set's inputs, for ReLU or erf (`None` for other activations).
pub fn infinite_width_kernel(act: Activation, data: &Dataset) -> Option<TangentKernel> {
    if !matches!(act, Activation::Relu | Activation::Erf) {
        return None;
    }
    let (n, d) = (data.len(), data.dim as f64);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let mut values = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let (s11, s22, s12) = (
                dot(data.input(i), data.input(i)) / d,
                dot(data.input(j), data.input(j)) / d,
                dot(data.input(i), data.input(j)) / d,
            );
            values[i * n + j] = match act {
                Activation::Relu if s11 == 0.0 || s22 == 0.0 => 0.0,
                Activation::Relu => {
                    let theta = angle(data.input(i), data.input(j));
                    let cos = theta.cos();
                    (s11 * s22).sqrt() * (theta.sin() + (PI - theta) * cos) / (2.0 * PI)
                        + s12 * (PI - theta) / (2.0 * PI)
                }
                _ => {
                    let a = (1.0 + 2.0 * s11) * (1.0 + 2.0 * s22);
                    (2.0 / PI) * (2.0 * s12 / a.sqrt()).asin()
                        + s12 * (4.0 / PI) / (a - 4.0 * s12 * s12).sqrt()
                }
            };
        }
    }
    Some(TangentKernel { n, values })
}

/// The angle between `a` and `b`, `2 atan2(‖â − b̂‖, ‖â + b̂‖)`: accurate near 0 and π, where
/// `acos` of the cosine loses half the digits.
fn angle(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (
        a.iter().map(|v| v * v).sum::<f64>().sqrt(),
        b.iter().map(|v| v * v).sum::<f64>().sqrt(),
    );
    let (mut minus, mut plus) = (0.0, 0.0);
    for (p, q) in a.iter().zip(b) {
        let (p, q) = (p / na, q / nb);
        minus += (p - q) * (p - q);
        plus += (p + q) * (p + q);
    }
    2.0 * minus.sqrt().atan2(plus.sqrt())
}
