//! The round-off model: how far a computed quantity can sit from the exact one, from the working
//! precision and the length and magnitude of the sums behind it. Every comparison that decides
//! something (positivity of `μ̂` and `λ₀`, the PL identity, the verdicts' slack, "singular at
//! round-off" for `κ`, equality of round-off values in `reproduce --check`) takes its threshold
//! from here, never from a literal.
//!
//! # The model (THEORY.md, "Round-off")
//! - `u`: the unit round-off of the working precision, `2⁻²⁴` (f32) or `2⁻⁵³` (f64) (Higham,
//!   *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §2.1).
//! - **Sums.** A sum of `N` terms accumulated one after the other is within `γ_N Σ|x_k|` of the
//!   exact one, `γ_N = N u / (1 − N u)` (Higham §3.1), and in practice within `λ √N u Σ|x_k|`
//!   (Higham §3.5; Higham & Mary, SIAM J. Sci. Comput. 41, 2019: probability at least
//!   `1 − 2 exp(−λ²(1 − u)²/2)`). plstar's long sums are not accumulated one after the other:
//!   the kernel's Gram products run through faer's GEMM (many independent accumulators across
//!   SIMD lanes and k-panels, combined at the end) or the GPU's tiled matmuls, and the deciding
//!   reductions run in f64. Such blocked or pairwise sums have the deterministic bound
//!   `⌈log₂N⌉ u` (Higham §4.2), and plstar uses its **probabilistic** form
//!   `λ √(⌈log₂ N⌉ + 1) u` with `λ = 2` on the CPU. A GPU's matmul accumulates each dot
//!   product along one thread ([`Summation::Recursive`]): there plstar uses `λ √N u` (measured
//!   on lavapipe: 3.9u per entry at N = 256, 21u at 4096, 228u at 65 536). Why not `γ_N` or `√N u`: `γ_N` exceeds 1 at `N = 2²⁴` in
//!   f32, and the f32 error actually observed in `K` on the CPU is flat in `N` (1.5u–3.9u per
//!   entry at widths 16 … 65 536, tests/plstar/measure/roundoff.rs), so a `√N` floor there
//!   would be 200× the error at width 65 536 and would call real eigenvalues round-off. The test holds the floors
//!   above the observed f32-vs-f64 error and within 100× of it.
//! - **Kernel entries.** `K_ij = ⟨∇f(x_i), ∇f(x_j)⟩` is built by a chain of `2L + 3` such
//!   operations (forward pass through `L + 1` layers, backward pass through `L`, the Gram
//!   products), each with a relative error of its own against the magnitudes it combines; the
//!   chain's independent errors add in quadrature, and the magnitude behind the entry is
//!   `√(K_ii K_jj) = ‖∇f(x_i)‖ ‖∇f(x_j)‖` (Cauchy–Schwarz). So
//!   `|K̂_ij − K_ij| ≤ γ √(K_ii K_jj)`, `γ = λ √(2L + 3) √(N_eff) u`, with
//!   `N = max(d, m_1, …, m_L)` the longest sum and `N_eff = ⌈log₂ N⌉ + 1` (blocked, CPU) or
//!   `N` (recursive, GPU).
//! - **Eigenvalues.** Weyl: `|λ_k(K̂) − λ_k(K)| ≤ ‖E‖₂`, `E = K̂ − K`. For independent zero-mean
//!   errors, `‖E‖₂ ≲ 2σ` with `σ` the largest row norm of their standard deviations (Bandeira &
//!   van Handel, Ann. Probab. 44, 2016), and a rounding error is at most uniform on its interval
//!   (standard deviation ≤ bound/√3): `σ ≤ γ √(max_i K_ii · tr K) / √3`. The **eigenvalue
//!   floor** is `(2/√3) γ √(max_i K_ii · tr K) + n u₆₄ λ_max`, the second term the f64
//!   eigensolver's backward error. An eigenvalue at or below it is zero in all but name ("at
//!   round-off").
//! - **Outputs.** `f(x_i)` is a chain of the same operations; its last sum has terms
//!   `w_k ∂f/∂w_k`, so `|f̂(x_i) − f(x_i)| ≤ γ ‖w‖_∞ ‖∇f(x_i)‖` and `‖F̂ − F‖ ≤ γ ‖w‖_∞ √(tr K)`.
//!   The loss `½‖r‖²` (summed in f64) moves by at most `‖r‖ ‖ΔF‖ + ½ ‖ΔF‖²`.
//! - **The PL identity** `‖∇L‖²/‖r‖² = rᵀKr / rᵀr ≥ λ_min(K)`: `∇L = DFᵀ r` is built by the same
//!   chains, so the computed ratio moves by at most `‖E‖₂` too, and `λ_min` by the floor: the
//!   identity holds up to twice the eigenvalue floor.
//!
//! Quantities that decide a verdict (losses, `‖∇L‖²`, distances, `rᵀKr`) are accumulated in f64
//! whatever the working precision, so their own sums add `u₆₄`-sized errors only.

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::model::MlpConfig;

/// The unit round-off of f64, `2⁻⁵³`.
pub const UNIT_ROUNDOFF_F64: f64 = f64::EPSILON / 2.0;

/// The confidence factor `λ` of the probabilistic bound `λ √N u` (Higham & Mary 2019).
pub const CONFIDENCE: f64 = 2.0;

/// How a backend accumulates its long sums (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Summation {
    /// Blocked or pairwise (the CPU: faer's and matrixmultiply's GEMM kernels, f64 host sums):
    /// `√(⌈log₂ N⌉ + 1) u`.
    Blocked,
    /// One after the other along the sum (a GPU's matmul threads accumulate their dot products
    /// sequentially): `√N u`. Measured on lavapipe: the f32 error of `K` grows from 3.9u at
    /// N = 256 to 228u at N = 65 536.
    Recursive,
}

/// The round-off model of one network in one working precision (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundOff {
    /// `u`, the unit round-off of the working precision.
    pub unit: f64,
    /// `N = max(d, m_1, …, m_L)`: the longest sum behind one value.
    pub length: usize,
    /// `L`, the number of hidden layers.
    pub depth: usize,
    /// How the backend accumulates its sums.
    pub summation: Summation,
}

impl RoundOff {
    /// The model of `config` on backend `B`: its precision, and blocked sums on the CPU,
    /// recursive ones on a GPU.
    pub fn for_backend<B: Backend>(config: &MlpConfig) -> Self {
        let summation = if crate::model::backend::in_host_memory::<B>() {
            Summation::Blocked
        } else {
            Summation::Recursive
        };
        Self::new(crate::model::machine_epsilon::<B>(), config, summation)
    }

    /// The model of `config` computed with machine epsilon `machine_epsilon` (`u = ε/2`) and
    /// sums accumulated as `summation`.
    pub fn new(machine_epsilon: f64, config: &MlpConfig, summation: Summation) -> Self {
        let length = config
            .widths
            .iter()
            .copied()
            .chain([config.input_dim])
            .max()
            .unwrap_or(1)
            .max(1);
        Self {
            unit: machine_epsilon / 2.0,
            length,
            depth: config.depth(),
            summation,
        }
    }

    /// The model of an f64 computation with sums of `length` terms and `depth` hidden layers.
    pub fn f64(length: usize, depth: usize) -> Self {
        Self {
            unit: UNIT_ROUNDOFF_F64,
            length: length.max(1),
            depth,
            summation: Summation::Blocked,
        }
    }

    /// `γ = λ √(2L + 3) √(N_eff) u`, `N_eff = ⌈log₂ N⌉ + 1` for blocked sums and `N` for
    /// recursive ones: the relative error of one kernel entry, or of one output, against the
    /// magnitude of the sums behind it.
    pub fn gamma(&self) -> f64 {
        let effective_length = match self.summation {
            Summation::Blocked => (self.length as f64).log2().ceil() + 1.0,
            Summation::Recursive => self.length as f64,
        };
        CONFIDENCE * ((2 * self.depth + 3) as f64 * effective_length).sqrt() * self.unit
    }

    /// The relative error of one matrix-free product `K v = DF (DFᵀ v)`
    /// ([`crate::measure::kernel::operator`]): `‖K̂ v − K v‖ ≤ γ ‖K‖₂ ‖v‖`. Its two GEMMs per
    /// layer on the Jacobian's factors are the same chain of `2L + 3` sums as a kernel entry, against the magnitudes `|DF| |DFᵀ v|`,
    /// whose norm is at most `‖K‖₂ ‖v‖`; unlike a formed kernel's independent entry errors, the
    /// product's errors are correlated across entries, so no `√n` is gained. Measured (f32,
    /// L = 2, m = 256, n = 300): 7e-8 to 1.0e-7 relative, against `γ = 1.0e-6`.
    pub fn operator_product(&self) -> f64 {
        self.gamma()
    }

    /// The floor of one kernel entry: `γ √(K_ii K_jj)`.
    pub fn kernel_entry(&self, k_ii: f64, k_jj: f64) -> f64 {
        self.gamma() * (k_ii.max(0.0) * k_jj.max(0.0)).sqrt()
    }

    /// The kernel's own part of [`RoundOff::eigenvalue_floor`], `φ_K = (2/√3) γ √(max_i K_ii tr K)`:
    /// a bound on the spectral norm of the computed kernel's error (every eigenvalue of the
    /// stored `K̂` is within it of the exact one), without the eigensolver's `n u₆₄ λ_max`.
    pub fn kernel_spectral_error(&self, max_diagonal: f64, trace: f64) -> f64 {
        2.0 / 3f64.sqrt() * self.gamma() * (max_diagonal.abs() * trace.abs()).sqrt()
    }

    /// The eigenvalue floor of an `n × n` kernel with largest diagonal entry `max_i K_ii`, trace
    /// `tr K` and largest eigenvalue `λ_max`: `(2/√3) γ √(max_i K_ii tr K) + n u₆₄ λ_max`. An
    /// eigenvalue at or below it is at round-off.
    pub fn eigenvalue_floor(
        &self,
        n: usize,
        max_diagonal: f64,
        trace: f64,
        lambda_max: f64,
    ) -> f64 {
        self.kernel_spectral_error(max_diagonal, trace)
            + n as f64 * UNIT_ROUNDOFF_F64 * lambda_max.abs()
    }

    /// [`RoundOff::eigenvalue_floor`] from `λ_max` alone (`max_i K_ii ≤ λ_max`,
    /// `tr K ≤ n λ_max`), where the diagonal is not at hand.
    pub fn eigenvalue_floor_from_lambda_max(&self, n: usize, lambda_max: f64) -> f64 {
        self.eigenvalue_floor(n, lambda_max, n as f64 * lambda_max, lambda_max)
    }

    /// The tolerance of the PL identity `‖∇L‖²/(2L) ≥ λ_min(K)`: twice the eigenvalue floor
    /// (once for the ratio `rᵀKr/rᵀr`, once for `λ_min`).
    pub fn pl_identity(&self, n: usize, max_diagonal: f64, trace: f64, lambda_max: f64) -> f64 {
        2.0 * self.eigenvalue_floor(n, max_diagonal, trace, lambda_max)
    }

    /// The floor of the outputs, `‖F̂ − F‖ ≤ γ ‖w‖_∞ √(tr K)`.
    pub fn outputs(&self, max_abs_parameter: f64, trace: f64) -> f64 {
        self.gamma() * max_abs_parameter.abs() * trace.abs().sqrt()
    }

    /// The floor of the loss `½‖r‖²` with residual norm `‖r‖` and output floor `e_F`:
    /// `‖r‖ e_F + ½ e_F²` plus the f64 sum's `n u₆₄ ‖r‖²`.
    pub fn loss(&self, n: usize, residual_norm: f64, output_floor: f64) -> f64 {
        residual_norm * output_floor
            + 0.5 * output_floor * output_floor
            + n as f64 * UNIT_ROUNDOFF_F64 * residual_norm * residual_norm
    }
}

/// Whether an eigenvalue `value` is positive beyond the `floor` (a NaN is not).
pub fn above_floor(value: f64, floor: f64) -> bool {
    value > floor
}

/// `κ = λ_max / λ_min`, infinite when `λ_min` is at or below the eigenvalue floor ("singular at
/// round-off"): never negative, never NaN.
pub fn condition_number(lambda_min: f64, lambda_max: f64, floor: f64) -> f64 {
    if above_floor(lambda_min, floor) {
        lambda_max / lambda_min
    } else {
        f64::INFINITY
    }
}

/// The text of an infinite condition number, everywhere it is shown (stdout, JSON, rows).
pub const SINGULAR: &str = "inf (singular at round-off)";

/// Serde for a condition number: a number, or [`SINGULAR`] when infinite (JSON has no ∞, and
/// `null` would not say why). Use with `#[serde(with = "crate::measure::roundoff::kappa")]`.
pub mod kappa {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `κ`, or [`super::SINGULAR`] when it is not finite.
    pub fn serialize<S: Serializer>(kappa: &f64, s: S) -> Result<S::Ok, S::Error> {
        if kappa.is_finite() {
            s.serialize_f64(*kappa)
        } else {
            s.serialize_str(super::SINGULAR)
        }
    }

    /// Reads a number, or any string as infinite.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Kappa {
            Number(f64),
            Text(serde::de::IgnoredAny),
        }
        Ok(match Kappa::deserialize(d)? {
            Kappa::Number(v) => v,
            Kappa::Text(_) => f64::INFINITY,
        })
    }
}

/// [`kappa`] for an optional condition number.
pub mod kappa_option {
    use serde::Serializer;

    /// Writes `None` as `null`, else as [`super::kappa`].
    pub fn serialize<S: Serializer>(kappa: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match kappa {
            Some(k) => super::kappa::serialize(k, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_grows_like_the_square_root_of_the_log_sum_length_and_of_the_depth() {
        // ⌈log₂ 100⌉ + 1 = 8, ⌈log₂ 10⁴⌉ + 1 = 15.
        let a = RoundOff::f64(100, 1);
        let b = RoundOff::f64(10_000, 1);
        assert!((b.gamma() / a.gamma() - (15.0f64 / 8.0).sqrt()).abs() < 1e-15);
        let deep = RoundOff::f64(100, 3);
        assert!((deep.gamma() / a.gamma() - (9.0f64 / 5.0).sqrt()).abs() < 1e-15);
        // f32 is 2²⁹ times coarser.
        let cfg = MlpConfig::new(4, vec![100]);
        let f32_model = RoundOff::new(f64::from(f32::EPSILON), &cfg, Summation::Blocked);
        assert!((f32_model.gamma() / a.gamma() - 2f64.powi(29)).abs() < 1e-6);
    }

    #[test]
    fn a_singular_kernel_has_an_infinite_condition_number_never_a_negative_one() {
        let floor = 1e-14;
        assert_eq!(condition_number(-1.55e-16, 1.0, floor), f64::INFINITY);
        assert_eq!(condition_number(0.0, 1.0, floor), f64::INFINITY);
        assert_eq!(condition_number(f64::NAN, 1.0, floor), f64::INFINITY);
        assert_eq!(condition_number(0.5, 1.0, floor), 2.0);
    }
}
