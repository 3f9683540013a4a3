//! plstar's integration tests, in one binary (Burn links slowly). Each module holds one
//! capability against an oracle that does not share its code; tolerances live in `tol`.
//!
//! Run with the README's command: `cargo test --release`.

mod backends;
mod cli;
mod data;
mod hessian;
mod kernel;
mod model;
mod spectrum;
mod sweep;
mod theorem;
mod training;

/// Backend aliases: f64 on ndarray for tight oracles.
pub type F64 = burn::backend::NdArray<f64>;
/// f32 on ndarray, for comparisons with wgpu.
pub type F32 = burn::backend::NdArray<f32>;

/// Tolerances, in one place.
pub mod tol {
    /// Forward pass vs a hand computation in f64 (only summation order differs).
    pub const FORWARD_F64: f64 = 1e-13;
    /// Reverse-mode gradient vs central differences in f64 (relative, whole vector), as the
    /// issue requires.
    pub const GRADIENT_FD: f64 = 1e-7;
    /// GD on a linear model vs the exact residual recursion (f64).
    pub const LINEAR_GD: f64 = 1e-10;
    /// Structured vs autodiff tangent kernel in f64 (relative Frobenius), as the issue requires.
    pub const KERNEL_METHODS: f64 = 1e-10;
    /// Hessian-vector products vs central differences of exact gradients in f64 (relative).
    pub const HVP_FD: f64 = 1e-7;
    /// ndarray f32 vs wgpu f32 (relative).
    pub const BACKENDS_F32: f64 = 1e-4;
}

/// `‖a − b‖ / ‖b‖`.
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den.max(f64::MIN_POSITIVE)
}
