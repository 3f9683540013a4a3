//! Infinite-width tangent kernels `K∞` of the MLP of [`crate::model`] in the NTK
//! parameterization, at any depth `L ≥ 0`, with or without biases: the limit of the empirical
//! kernel `K(w₀) = DF DFᵀ` (no averaging) as every hidden width `m_l → ∞`.
//!
//! # The recursion
//! With `z⁽ˡ⁾ = c_l W⁽ˡ⁾ α⁽ˡ⁻¹⁾ + c_b b⁽ˡ⁾`, `c_l = 1/√m_{l−1}`, `c_b = β_b` (the bias scale),
//! `W`, `b` ~ N(0, 1), and `β² = β_b²` with biases (0 without), each pre-activation of layer `l`
//! tends to a centred Gaussian process with covariance `Σ⁽ˡ⁾` (the NNGP kernel) and the kernel
//! of the layer-`l` outputs with respect to the parameters of layers `1 … l` tends to `Θ⁽ˡ⁾`:
//!
//! ```text
//! Σ⁽¹⁾(x, x′) = xᵀx′/d + β²                  Θ⁽¹⁾ = Σ⁽¹⁾
//! Σ⁽ˡ⁺¹⁾ = E[σ(u)σ(u′)] + β²,   Σ̇⁽ˡ⁺¹⁾ = E[σ′(u)σ′(u′)],   Θ⁽ˡ⁺¹⁾ = Σ⁽ˡ⁺¹⁾ + Θ⁽ˡ⁾ Σ̇⁽ˡ⁺¹⁾
//! (u, u′) ~ N(0, [[Σ⁽ˡ⁾(x, x), Σ⁽ˡ⁾(x, x′)], [Σ⁽ˡ⁾(x, x′), Σ⁽ˡ⁾(x′, x′)]])
//! K∞ = Θ⁽ᴸ⁺¹⁾   (identity output layer, scalar output)
//! ```
//!
//! Each `Θ` term is a layer's share of `K = Σ_l c_l² (A_{l−1}A_{l−1}ᵀ) ∘ (Δ_l Δ_lᵀ) + c_b² Σ_l
//! Δ_l Δ_lᵀ`: `c_l² A Aᵀ → Σ⁽ˡ⁾ − β²` and `c_b² → β²` by the law of large numbers, and `Δ_l Δ_lᵀ`
//! tends to the product of the `Σ̇` of the layers above. For `L = 1` without bias this is
//! THEORY.md's `E[σ(u)σ(u′)] + (xᵀx′/d) E[σ′(u)σ′(u′)]`; for `L = 0`, `K = XXᵀ/d + β²` exactly.
//! The empirical kernel at initialization is a sum of means over neurons: its fluctuation is
//! `O(m^{−1/2})` and its bias `O(1/m)`.
//!
//! # Dual kernels
//! `(E[σ(u)σ(u′)], E[σ′(u)σ′(u′)])` of a [`GaussianPair`] (variances `v₁`, `v₂`, angle `θ`,
//! `cos θ = Σ₁₂/√(v₁v₂)`), [`dual`]:
//! - ReLU (arc-cosine): `√(v₁v₂)(sin θ + (π − θ) cos θ)/(2π)`, `(π − θ)/(2π)` (0 and 0 when a
//!   variance is 0, as `σ′(0) = 0` in the model);
//! - erf: `(2/π) arcsin(2Σ₁₂/√((1+2v₁)(1+2v₂)))`, `(4/π)/√((1+2v₁)(1+2v₂) − 4Σ₁₂²)`;
//! - identity: `Σ₁₂`, 1;
//! - tanh, softplus, GELU (exact, `x Φ(x)`) and sigmoid: [`dual_by_quadrature`], which also runs
//!   on the three above (the tests hold it against their closed forms).
//!
//! ReLU's `θ` is carried from layer to layer by its own closed form rather than recomputed as
//! `arccos(ρ)`, which loses half the digits near `ρ = ±1` (an error `√ε ≈ 10⁻⁸` in `θ` moves
//! the ReLU `Σ̇` by `10⁻⁹`; smooth activations feel it only to second order, `ε`).
//!
//! # Where there is no limit
//! - The standard parameterization (`W ~ N(0, 1/m)`, no `1/√m` in the forward pass): the
//!   gradient with respect to `W⁽ˡ⁾` has entries `α⁽ˡ⁻¹⁾` of size O(1), so `K(w₀)` grows like the
//!   width and has no finite limit.
//! - A non-identity output activation: `K(w₀) → σ′_out(f(x)) σ′_out(f(x′)) Θ⁽ᴸ⁺¹⁾(x, x′)` with `f`
//!   the Gaussian process of the network at initialization: a random kernel, not a deterministic
//!   one.
//!
//! Both are reported as a [`NoLimitKernel`] that says so.

use std::f64::consts::PI;

use crate::data::Dataset;
use crate::measure::kernel::TangentKernel;
use crate::model::elementwise;
use crate::model::{Activation, MlpConfig, Parameterization};

pub mod operator;

/// Why an architecture has no deterministic infinite-width tangent kernel.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoLimitKernel {
    /// The standard parameterization.
    #[error("the standard parameterization has no infinite-width tangent kernel: K(w₀) grows like the width (no 1/√m in the forward pass); use parameterization = \"ntk\"")]
    StandardParameterization,
    /// A non-linear output layer.
    #[error("output activation {0} is not the identity: K(w₀) tends to σ′(f(x)) σ′(f(x′)) Θ(x, x′) with f random at initialization, a kernel with no deterministic limit; use output_activation = \"identity\"")]
    OutputActivation(Activation),
    /// The data do not have the model's input dimension.
    #[error("the model has input_dim = {model}, the data have dimension {data}")]
    InputDim {
        /// `input_dim` of the model.
        model: usize,
        /// `d` of the data.
        data: usize,
    },
}

/// How [`dual`] evaluates the dual kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DualMethod {
    /// The closed form where one exists (ReLU, erf, identity), [`dual_by_quadrature`] otherwise.
    /// The default.
    #[default]
    ClosedForm,
    /// [`dual_by_quadrature`] for every activation (to check the closed forms and the rule).
    Quadrature,
}

/// A centred Gaussian pair `(u, u′)`: `Var u = var1`, `Var u′ = var2`, `Cov(u, u′) = cov`,
/// and the angle `θ ∈ [0, π]` with `cos θ = cov/√(var1 var2)` (π/2 when a variance is 0),
/// kept separately because it is needed to full accuracy near 0 and π.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianPair {
    /// `Var u ≥ 0`.
    pub var1: f64,
    /// `Var u′ ≥ 0`.
    pub var2: f64,
    /// `Cov(u, u′)`.
    pub cov: f64,
    /// `θ`.
    pub angle: f64,
}

impl GaussianPair {
    /// From the covariance matrix, with `θ = arccos(cov/√(var1 var2))` (clamped to [0, π]).
    pub fn new(var1: f64, var2: f64, cov: f64) -> Self {
        let scale = (var1 * var2).sqrt();
        let angle = if scale > 0.0 {
            (cov / scale).clamp(-1.0, 1.0).acos()
        } else {
            PI / 2.0
        };
        Self {
            var1,
            var2,
            cov,
            angle,
        }
    }

    /// From the variances and the angle, with `cov = √(var1 var2) cos θ`.
    pub fn from_angle(var1: f64, var2: f64, angle: f64) -> Self {
        Self {
            var1,
            var2,
            cov: (var1 * var2).sqrt() * angle.cos(),
            angle,
        }
    }
}

/// The dual kernels of an activation on a [`GaussianPair`].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Dual {
    /// `E[σ(u)σ(u′)]`.
    pub value: f64,
    /// `E[σ′(u)σ′(u′)]`.
    pub slope: f64,
}

/// `E[σ(u)σ(u′)]` and `E[σ′(u)σ′(u′)]` by `method` (closed forms in the [module docs](self)).
pub fn dual(act: Activation, pair: &GaussianPair, method: DualMethod) -> Dual {
    match method {
        DualMethod::ClosedForm => {
            dual_closed_form(act, pair).unwrap_or_else(|| dual_by_quadrature(act, pair))
        }
        DualMethod::Quadrature => dual_by_quadrature(act, pair),
    }
}

/// The closed-form dual kernels of ReLU, erf and the identity (`None` for other activations).
/// Cost O(1).
pub fn dual_closed_form(act: Activation, p: &GaussianPair) -> Option<Dual> {
    Some(match act {
        Activation::Relu if p.var1 == 0.0 || p.var2 == 0.0 => Dual {
            value: 0.0,
            slope: 0.0,
        },
        Activation::Relu => {
            let t = p.angle;
            Dual {
                value: (p.var1 * p.var2).sqrt() * (t.sin() + (PI - t) * t.cos()) / (2.0 * PI),
                slope: (PI - t) / (2.0 * PI),
            }
        }
        Activation::Erf => {
            let a = (1.0 + 2.0 * p.var1) * (1.0 + 2.0 * p.var2);
            Dual {
                value: (2.0 / PI) * libm::asin(2.0 * p.cov / a.sqrt()),
                slope: (4.0 / PI) / (a - 4.0 * p.cov * p.cov).sqrt(),
            }
        }
        Activation::Identity => Dual {
            value: p.cov,
            slope: 1.0,
        },
        _ => return None,
    })
}

/// Gauss–Legendre nodes per radial panel of [`dual_by_quadrature`].
pub const RADIAL_NODES: usize = 12;
/// Gauss–Legendre nodes per angular arc of [`dual_by_quadrature`] for variances ≤ 1; above,
/// `⌈32 v^{1/4}⌉` with `v` the larger variance.
pub const ANGULAR_NODES: usize = 32;
/// The radial integrals stop at `r = 9`: `r³ e^{−r²/2} < 2·10⁻¹⁵` beyond.
pub const RADIAL_CUTOFF: f64 = 9.0;

/// `E[σ(u)σ(u′)]` and `E[σ′(u)σ′(u′)]` by a two-dimensional Gaussian quadrature, for every
/// activation.
///
/// With `u = √v₁ g·e₀`, `u′ = √v₂ g·e_θ` (`g ~ N(0, I₂)`, `e_φ = (cos φ, sin φ)`: the QR factor
/// of the covariance) and polar coordinates `g = r e_φ`, pairing the rays `φ` and `φ + π`:
///
/// ```text
/// E[h(u, u′)] = (1/2π) ∫₀^π dφ ∫₀^∞ r e^{−r²/2} [h(r α, r β) + h(−r α, −r β)] dr,
/// α = √v₁ cos φ,  β = √v₂ cos(φ − θ).
/// ```
///
/// The angle integral is split at the zeros of `α` and `β` (`φ = π/2`, `θ + π/2 mod π`, two
/// arcs), so that a kink of σ at 0 (ReLU) falls on arc ends, and each arc gets a Gauss–Legendre
/// rule of [`ANGULAR_NODES`] nodes (more for larger variances). On each ray σ varies on the scale
/// `r ~ 1/ℓ`, `ℓ = max(|α|, |β|)`: the radial integral runs over graded panels
/// `[0, h], [h, 2h], [2h, 4h], …` up to [`RADIAL_CUTOFF`], `h = min(1, 1/ℓ)`, each with
/// [`RADIAL_NODES`] Gauss–Legendre nodes.
///
/// Accuracy, relative to the Cauchy–Schwarz scale `√(E[σ(u)²] E[σ(u′)²])` (and the same for
/// `σ′`), at every angle `0 … π`: measured ≤ 2·10⁻¹⁴ against the closed forms of ReLU, erf and
/// the identity for variances `10⁻² … 30` (ReLU's arcs carry polynomials in `r`, `cos φ` and
/// `sin φ`: exact up to round-off); ≤ 2·10⁻¹⁴ against tensor Gauss–Hermite integrals (320 nodes
/// per axis) for tanh, softplus, GELU and sigmoid at variances ≤ 1 (tanh) or 3 (the others);
/// and ≤ 2·10⁻¹⁴ against the same rule with twice the angular nodes and 24-node panels for all
/// seven activations at variances up to 10³. The node counts were chosen for that: 10 nodes per
/// panel give ~10⁻¹¹, a fixed 32 angular nodes ~10⁻⁹ at variance 10² (hence the `v^{1/4}`).
///
/// Cost: `2 · ANGULAR_NODES · RADIAL_NODES · (panels: 5 for ℓ ≤ 1, 5 + ⌈log₂ ℓ⌉ above)` =
/// 3840 nodes for variances ≤ 1, each two evaluations of σ and σ′ at two points: measured
/// ≈ 0.2 ms per pair for tanh, softplus and sigmoid, ≈ 1 ms for GELU (its erf is a series here).
pub fn dual_by_quadrature(act: Activation, p: &GaussianPair) -> Dual {
    let (s1, s2, theta) = (p.var1.max(0.0).sqrt(), p.var2.max(0.0).sqrt(), p.angle);
    let v = p.var1.max(p.var2).max(1.0);
    let arc_rule = gauss_legendre((ANGULAR_NODES as f64 * v.powf(0.25)).ceil() as usize);
    let panel_rule = gauss_legendre(RADIAL_NODES);
    let (c1, c2) = (PI / 2.0, (theta + PI / 2.0) % PI);
    let (lo, hi) = (c1.min(c2), c1.max(c2));
    let (mut value, mut slope) = (0.0, 0.0);
    for (a, b) in [(lo, hi), (hi, lo + PI)] {
        if b <= a {
            continue;
        }
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        for (t, w) in arc_rule.0.iter().zip(&arc_rule.1) {
            let phi = mid + half * t;
            let (alpha, beta) = (s1 * phi.cos(), s2 * (phi - theta).cos());
            let ray = ray_integral(act, alpha, beta, &panel_rule);
            value += half * w * ray.value;
            slope += half * w * ray.slope;
        }
    }
    Dual {
        value: value / (2.0 * PI),
        slope: slope / (2.0 * PI),
    }
}

/// `∫₀^∞ r e^{−r²/2} [h(rα, rβ) + h(−rα, −rβ)] dr` for `h = σσ` and `σ′σ′` over the graded panels
/// of [`dual_by_quadrature`].
fn ray_integral(act: Activation, alpha: f64, beta: f64, rule: &Rule) -> Dual {
    let scale = alpha.abs().max(beta.abs());
    let (mut lo, mut hi) = (0.0, if scale > 1.0 { 1.0 / scale } else { 1.0 });
    let (mut value, mut slope) = (0.0, 0.0);
    loop {
        let top = hi.min(RADIAL_CUTOFF);
        let (mid, half) = (0.5 * (lo + top), 0.5 * (top - lo));
        for (t, w) in rule.0.iter().zip(&rule.1) {
            let r = mid + half * t;
            let weight = half * w * r * (-0.5 * r * r).exp();
            for r in [r, -r] {
                let (f1, d1) = value_and_slope(act, r * alpha);
                let (f2, d2) = value_and_slope(act, r * beta);
                value += weight * f1 * f2;
                slope += weight * d1 * d2;
            }
        }
        if top >= RADIAL_CUTOFF {
            return Dual { value, slope };
        }
        (lo, hi) = (top, 2.0 * top);
    }
}

/// `K∞` of `cfg` on the inputs of `data`, with the closed-form dual kernels where they exist.
/// See [`limit_kernel_by`].
pub fn limit_kernel(cfg: &MlpConfig, data: &Dataset) -> Result<TangentKernel, NoLimitKernel> {
    limit_kernel_by(cfg, data, DualMethod::ClosedForm)
}

/// `K∞ = Θ⁽ᴸ⁺¹⁾ ∈ ℝⁿˣⁿ` (`⊗ I_k` with `k` outputs: [`with_independent_outputs`]) of the
/// [module docs](self) for `cfg` (depth `L`, activation, bias and
/// `β_b`; the hidden widths do not enter) on the inputs of `data`, dual kernels by `method`.
///
/// Errors (with the reason) for the standard parameterization, a non-identity output activation,
/// or data of another dimension than `cfg.input_dim`.
///
/// Cost: `O(n² d)` for the first layer, then `L` layers of `n(n+1)/2` dual kernels: O(1) each
/// in closed form, ≈ 0.2 ms each by quadrature (measured ≈ 5 CPU-seconds per layer for tanh
/// with biases at n = 200), divided among the available threads.
pub fn limit_kernel_by(
    cfg: &MlpConfig,
    data: &Dataset,
    method: DualMethod,
) -> Result<TangentKernel, NoLimitKernel> {
    let entries = LimitEntries::new(cfg, data, method)?;
    let values = pairwise(data.len(), true, |i, j| entries.entry(i, j));
    Ok(with_independent_outputs(
        TangentKernel {
            n: data.len(),
            values,
        },
        cfg.outputs,
    ))
}

/// Whether `cfg` has a deterministic `K∞` on inputs of dimension `dim`: the NTK
/// parameterization, an identity output, `dim = cfg.input_dim`; else why not. Cost O(1).
pub fn limit_exists(cfg: &MlpConfig, dim: usize) -> Result<(), NoLimitKernel> {
    if cfg.parameterization == Parameterization::Standard {
        return Err(NoLimitKernel::StandardParameterization);
    }
    if cfg.output_activation != Activation::Identity {
        return Err(NoLimitKernel::OutputActivation(cfg.output_activation));
    }
    if cfg.input_dim != dim {
        return Err(NoLimitKernel::InputDim {
            model: cfg.input_dim,
            data: dim,
        });
    }
    Ok(())
}

/// The entries `K∞(xᵢ, xⱼ) = Θ⁽ᴸ⁺¹⁾(xᵢ, xⱼ)` one pair at a time: the recursion of the
/// [module docs](self) carried along the pair `(i, j)` through the `L` layers, with each
/// sample's variances `Σ⁽ˡ⁾(xᵢ, xᵢ)` of every layer kept (`O(n L)` floats). The one statement of
/// the recursion: the dense [`limit_kernel_by`] and the matrix-free
/// [`operator::LimitOperator`] both read their entries here.
///
/// Cost of one entry: `O(d)` for the first layer, then `L` dual kernels (O(1) each in closed
/// form, ≈ 0.2 ms by quadrature). Angles are carried only where a dual kernel reads them (ReLU
/// and the quadrature; erf and the identity need the covariances alone).
#[derive(Clone, Debug)]
pub struct LimitEntries {
    n: usize,
    /// Length of an augmented input `(x, β√d)`.
    width: usize,
    /// `d`, the divisor of the first layer.
    dim: f64,
    act: Activation,
    method: DualMethod,
    bias_sq: f64,
    /// The augmented inputs, row-major `n × width`.
    augmented: Vec<f64>,
    /// The augmented inputs over their norms (rows of zeros where the norm is 0).
    units: Vec<f64>,
    /// Whether the row of `units` is a unit vector (the norm was not 0).
    has_unit: Vec<bool>,
    /// `variances[l][i] = Σ⁽ˡ⁺¹⁾(xᵢ, xᵢ)`, `l = 0 … L`.
    variances: Vec<Vec<f64>>,
    /// Whether the dual kernels read the angle.
    needs_angle: bool,
}

impl LimitEntries {
    /// The entries of `cfg`'s `K∞` on the inputs of `data`, dual kernels by `method`. Errors as
    /// [`limit_kernel_by`]. Cost `O(n (d + L))`.
    pub fn new(cfg: &MlpConfig, data: &Dataset, method: DualMethod) -> Result<Self, NoLimitKernel> {
        limit_exists(cfg, data.dim)?;
        let (n, d) = (data.len(), data.dim);
        let extra = cfg.bias.then(|| cfg.bias_scale * (d as f64).sqrt());
        let width = d + usize::from(extra.is_some());
        let augmented: Vec<f64> = (0..n)
            .flat_map(|i| data.input(i).iter().copied().chain(extra))
            .collect();
        let mut units = vec![0.0; n * width];
        let mut has_unit = vec![false; n];
        for i in 0..n {
            let row = &augmented[i * width..(i + 1) * width];
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                has_unit[i] = true;
                for (u, v) in units[i * width..(i + 1) * width].iter_mut().zip(row) {
                    *u = v / norm;
                }
            }
        }
        let closed = dual_closed_form(cfg.activation, &GaussianPair::new(1.0, 1.0, 0.0)).is_some();
        let mut entries = Self {
            n,
            width,
            dim: d as f64,
            act: cfg.activation,
            method,
            bias_sq: if cfg.bias {
                cfg.bias_scale * cfg.bias_scale
            } else {
                0.0
            },
            augmented,
            units,
            has_unit,
            variances: vec![],
            needs_angle: cfg.activation == Activation::Relu
                || method == DualMethod::Quadrature
                || !closed,
        };
        let first: Vec<f64> = (0..n)
            .map(|i| {
                let row = &entries.augmented[i * width..(i + 1) * width];
                row.iter().map(|v| v * v).sum::<f64>() / entries.dim
            })
            .collect();
        entries.variances.push(first);
        for l in 0..cfg.depth() {
            let next = (0..n)
                .map(|i| {
                    let prev = entries.variances[l][i];
                    // The diagonal's angle is 0 (π/2 for a zero input in the first layer).
                    let angle = if l == 0 {
                        entries.first_pair(i, i).angle
                    } else {
                        0.0
                    };
                    let pair = GaussianPair {
                        var1: prev,
                        var2: prev,
                        cov: prev,
                        angle,
                    };
                    dual(entries.act, &pair, method).value + entries.bias_sq
                })
                .collect();
            entries.variances.push(next);
        }
        Ok(entries)
    }

    /// `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// `K∞(xᵢ, xⱼ)`.
    pub fn entry(&self, i: usize, j: usize) -> f64 {
        let mut pair = self.first_pair(i, j);
        let mut theta = pair.cov;
        let depth = self.variances.len() - 1;
        for l in 0..depth {
            let dl = dual(self.act, &pair, self.method);
            let cov = dl.value + self.bias_sq;
            theta = cov + theta * dl.slope;
            let (var1, var2) = (self.variances[l + 1][i], self.variances[l + 1][j]);
            let angle = if !self.needs_angle || l + 1 == depth || i == j {
                0.0
            } else if self.act == Activation::Relu {
                relu_next_angle(&pair, self.bias_sq)
            } else {
                GaussianPair::new(var1, var2, cov).angle
            };
            pair = GaussianPair {
                var1,
                var2,
                cov,
                angle,
            };
        }
        theta
    }

    /// `Σ⁽¹⁾` on the pair: `x̂ᵢᵀx̂ⱼ/d` of the augmented inputs `x̂ = (x, β√d)` (so `xᵀx′/d +
    /// β²`), and the angle `θ = 2 atan2(‖ûᵢ − ûⱼ‖, ‖ûᵢ + ûⱼ‖)` of their unit vectors (accurate
    /// near 0 and π, where `arccos` is not; π/2 when one is 0).
    fn first_pair(&self, i: usize, j: usize) -> GaussianPair {
        let w = self.width;
        let (ai, aj) = (
            &self.augmented[i * w..(i + 1) * w],
            &self.augmented[j * w..(j + 1) * w],
        );
        let angle = if !self.needs_angle {
            0.0
        } else if self.has_unit[i] && self.has_unit[j] {
            let (ui, uj) = (
                &self.units[i * w..(i + 1) * w],
                &self.units[j * w..(j + 1) * w],
            );
            let (mut minus, mut plus) = (0.0, 0.0);
            for (p, q) in ui.iter().zip(uj) {
                minus += (p - q) * (p - q);
                plus += (p + q) * (p + q);
            }
            2.0 * minus.sqrt().atan2(plus.sqrt())
        } else {
            PI / 2.0
        };
        GaussianPair {
            var1: self.variances[0][i],
            var2: self.variances[0][j],
            cov: ai.iter().zip(aj).map(|(p, q)| p * q).sum::<f64>() / self.dim,
            angle,
        }
    }
}

/// `K∞ ⊗ I_k`: the limit kernel of `k` output units, indexed sample-major (`(i, a) → i·k + a`).
///
/// The output units share every hidden layer but have independent weights `W⁽ᴸ⁺¹⁾_a`, so the
/// gradients of two different outputs become orthogonal as the width grows: the off-diagonal
/// output blocks of the empirical kernel go to 0 (like `m^{−½}`), and each diagonal block to
/// `K∞` (Jacot et al. 2018, Theorem 1; neural-tangents' `trace_axes=()` kernel is diagonal in
/// the output axes in the limit).
pub fn with_independent_outputs(limit: TangentKernel, k: usize) -> TangentKernel {
    if k == 1 {
        return limit;
    }
    let (n, big) = (limit.n, limit.n * k);
    let mut values = vec![0.0; big * big];
    for i in 0..n {
        for j in 0..n {
            for a in 0..k {
                values[(i * k + a) * big + j * k + a] = limit.values[i * n + j];
            }
        }
    }
    TangentKernel { n: big, values }
}

/// `K∞` of one hidden layer without bias (THEORY.md's closed forms), for ReLU or erf (`None`
/// for other activations, which [`limit_kernel`] covers).
pub fn infinite_width_kernel(act: Activation, data: &Dataset) -> Option<TangentKernel> {
    if !matches!(act, Activation::Relu | Activation::Erf) {
        return None;
    }
    let cfg = MlpConfig::new(data.dim, vec![1]).with_activation(act);
    limit_kernel(&cfg, data).ok()
}

/// The next layer's angle for ReLU, `θ′ = 2 atan2(√g, √(2 − g))` with `g = 1 − ρ′` computed
/// without cancellation: with `A = v₁/2 + β²`, `B = v₂/2 + β²` and `1 − k(θ) =
/// ((π − θ)(1 − cos θ) + θ − sin θ)/π` (`k` the normalized arc-cosine kernel),
/// `g = [β²(√v₁ − √v₂)²/2 / (√(AB) + √(v₁v₂)/2 + β²) + √(v₁v₂)(1 − k(θ))/2] / √(AB)`.
/// `ρ′ ≥ 0`, so `g ≤ 1` and `√(2 − g)` is accurate.
fn relu_next_angle(p: &GaussianPair, bias_sq: f64) -> f64 {
    let (s1, s2, t) = (p.var1.sqrt(), p.var2.sqrt(), p.angle);
    let root = ((0.5 * p.var1 + bias_sq) * (0.5 * p.var2 + bias_sq)).sqrt();
    if root == 0.0 {
        return PI / 2.0;
    }
    let t_minus_sin = if t < 0.5 {
        let t2 = t * t;
        t * t2 / 6.0
            * (1.0
                - t2 / 20.0
                    * (1.0
                        - t2 / 42.0 * (1.0 - t2 / 72.0 * (1.0 - t2 / 110.0 * (1.0 - t2 / 156.0)))))
    } else {
        t - t.sin()
    };
    let one_minus_k = ((PI - t) * 2.0 * (0.5 * t).sin().powi(2) + t_minus_sin) / PI;
    let ds = if s1 + s2 > 0.0 {
        (p.var1 - p.var2) / (s1 + s2)
    } else {
        0.0
    };
    let gap = (bias_sq * ds * ds / 2.0 / (root + s1 * s2 / 2.0 + bias_sq)
        + s1 * s2 * one_minus_k / 2.0)
        / root;
    2.0 * gap.sqrt().atan2((2.0 - gap).sqrt())
}

/// `f(i, j)` for `j ≤ i`, mirrored into a symmetric row-major `n × n` matrix; rows are spread
/// over the available threads when `parallel`.
fn pairwise<T: Copy + Default + Send>(
    n: usize,
    parallel: bool,
    f: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    let threads = if parallel {
        std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(n.max(1))
    } else {
        1
    };
    let rows = |t: usize| -> Vec<(usize, Vec<T>)> {
        (t..n)
            .step_by(threads)
            .map(|i| (i, (0..=i).map(|j| f(i, j)).collect()))
            .collect()
    };
    let rows = &rows;
    let parts: Vec<Vec<(usize, Vec<T>)>> = if threads == 1 {
        vec![rows(0)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || rows(t))).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a kernel row panicked"))
                .collect()
        })
    };
    let mut out = vec![T::default(); n * n];
    for (i, row) in parts.into_iter().flatten() {
        for (j, v) in row.into_iter().enumerate() {
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    out
}

/// `(σ(x), σ′(x))` on the host, f64: the one host definition, [`crate::model::elementwise`].
fn value_and_slope(act: Activation, x: f64) -> (f64, f64) {
    let (value, slope, _) = elementwise::evaluate(act, x);
    (value, slope)
}

/// A quadrature rule: nodes and weights.
type Rule = (Vec<f64>, Vec<f64>);

/// Gauss–Legendre rule on `[−1, 1]` with `n` nodes, by Newton's method on `P_n` (exact for
/// polynomials of degree ≤ 2n − 1).
fn gauss_legendre(n: usize) -> Rule {
    let legendre = |x: f64| {
        let (mut p1, mut p2) = (1.0, 0.0);
        for j in 1..=n {
            let p3 = p2;
            p2 = p1;
            p1 = ((2 * j - 1) as f64 * x * p2 - (j - 1) as f64 * p3) / j as f64;
        }
        // (P_n(x), P_n′(x)) from P_n′ = n (x P_n − P_{n−1}) / (x² − 1).
        (p1, n as f64 * (x * p1 - p2) / (x * x - 1.0))
    };
    let (mut nodes, mut weights) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        for _ in 0..100 {
            let (p, dp) = legendre(x);
            let dx = p / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let dp = legendre(x).1;
        nodes.push(x);
        weights.push(2.0 / ((1.0 - x * x) * dp * dp));
    }
    (nodes, weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_agrees_with_libm_to_a_few_ulps() {
        let mut worst = 0.0f64;
        for k in 0..=140_000 {
            let x = -7.0 + k as f64 * 1e-4;
            let (ours, reference) = (elementwise::erf(x), libm::erf(x));
            worst = worst.max((ours - reference).abs() / reference.abs().max(f64::MIN_POSITIVE));
        }
        // Measured 5.5 ulps (1.2e-15), at 1 < |x| < 3: the rounding of the ~40 series terms
        // and of x² in e^{−x²}. Far below what the quadrature needs (1e-13).
        assert!(worst < 8.0 * f64::EPSILON, "relative error {worst:e}");
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_of_degree_2n_minus_1() {
        let (x, w) = gauss_legendre(RADIAL_NODES);
        let moment = |k: i32| x.iter().zip(&w).map(|(x, w)| w * x.powi(k)).sum::<f64>();
        assert!((moment(0) - 2.0).abs() < 1e-14);
        assert!((moment(22) - 2.0 / 23.0).abs() < 1e-14);
    }

    #[test]
    fn quadrature_of_the_identity_gives_the_covariance() {
        // E[uu′] = Σ₁₂ and E[1] = 1: the normalization 1/2π and the radial weight r e^{−r²/2}.
        for (v1, v2, t) in [(1.0, 1.0, 0.0), (0.3, 2.0, 1.0), (5.0, 0.1, PI)] {
            let p = GaussianPair::from_angle(v1, v2, t);
            let q = dual_by_quadrature(Activation::Identity, &p);
            assert!(
                (q.value - p.cov).abs() < 1e-14 * (v1 * v2).sqrt(),
                "{q:?} {p:?}"
            );
            assert!((q.slope - 1.0).abs() < 1e-14, "{q:?}");
        }
    }
}
