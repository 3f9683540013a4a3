//! A proved upper bound on the smoothness of `F` over a ball: `β̄_F(r) ≥ sup_{w ∈ B(w₀, r)}
//! ‖H_F(w)‖`, with `‖H_F‖ = sup_{‖z‖ = ‖u‖ = 1} |uᵀ (Σ_{ia} z_{ia} H_{F_{ia}}) u|` (THEORY.md,
//! "Constants of the local theorem"), computed from quantities at `w₀` and deterministic
//! deviation bounds over the ball — no search, nothing "with high probability".
//!
//! **One hidden layer, identity output** (docs/THEORY.md, "The proved bound", gives each step).
//! With `c₁`, `c₂`, `c_b` the layer multipliers of [`crate::model`], hidden weights `W ∈ ℝ^{m×d}`
//! and biases `b ∈ ℝᵐ`, output weights `V ∈ ℝ^{k×m}`: `z_{ij} = ⟨w̃_j, x̃_i⟩` with the augmented
//! row `w̃_j = (W_j, b_j)` and input `x̃_i = (c₁ x_i, c_b)` (`c₁ x_i` without biases), and
//! `F_{ia} = c₂ Σ_j V_{aj} σ(z_{ij}) (+ c_b b_a)`. Then for `‖Z‖_F = 1` (`Z ∈ ℝ^{n×k}`),
//! `H(Z) = Σ z_{ia} H_{F_{ia}}` has, for each hidden unit `j`, the blocks
//! `A_j = c₂ X̃ᵀ diag(σ''(z_{·j}) ∘ Z V_{·j}) X̃` (`w̃_j, w̃_j`) and
//! `B_j = c₂ X̃ᵀ diag(σ'(z_{·j})) Z` (`w̃_j, V_{·j}`), and no others. The `A_j` are diagonal blocks
//! and the `B_j` occupy disjoint rows and columns, so
//! `‖H(Z)‖ ≤ max_j ‖A_j‖ + max_j ‖B_j‖ ≤ c₂ (s₂ ‖X̃‖₂² max_j ‖V_{·j}‖₂ + s₁ ‖X̃‖₂)`,
//! `s₁ = sup|σ'|`, `s₂ = sup|σ''|` ([`derivative_bounds`]). On `B(w₀, r)`,
//! `max_j ‖V_{·j}‖₂ ≤ max_j ‖V₀_{·j}‖₂ + r`, so
//!
//! ```text
//! β̄_F(r) = c₂ (s₂ ‖X̃‖₂² (ν₀ + r) + s₁ ‖X̃‖₂),   ν₀ = max_j ‖V₀_{·j}‖₂
//! ```
//!
//! — affine in `r`, and `∝ m^{−½}` in the NTK parameterization (`c₂ = m^{−½}`; `ν₀` grows like
//! `√(2 log m)`): the linearity paper's mechanism (Liu, Zhu & Belkin 2020, arXiv 2010.01092,
//! Theorem 3.2), with `‖V‖_∞`-type norms where a product of spectral norms would lose `√m`.
//! For `k = 1` it is THEORY.md's worked case.
//!
//! **A linear model** (no hidden layer): `F` is affine in `w` with an identity output, `β̄_F = 0`;
//! with an output σ, `H(Z)` is block diagonal over outputs with blocks
//! `X̃ᵀ diag(σ''(z_{·a}) ∘ Z_{·a}) X̃`, so `β̄_F = s₂ ‖X̃‖₂²` (constant in `r`).
//!
//! **Depth `L ≥ 2`**: [`deep`] — the induction over layers, a polynomial in `r` evaluated by
//! [`SmoothnessBound::at`] (no slope).
//!
//! **Not applicable** (a state with its reason, never a number): ReLU anywhere (σ'' does not
//! exist at 0: outside the theorem); a non-linear output after a hidden layer (the term
//! `sup|σ_out''| ‖Dg‖²` of the chain rule does not fall with width).
//!
//! **Floating point.** `‖X̃‖₂² = λ_max(X̃ᵀX̃)` by an `f64` eigensolve of the smaller Gram matrix,
//! plus `(n + d + 2) u₆₄ ‖X̃‖_F²`, which covers the Gram product's and the eigensolver's
//! round-off (Higham §3.5 and the backward stability of the symmetric eigensolver); `ν₀` is
//! rounded up by `(k + 2) u₆₄`. The bound is proved up to that margin.
//!
//! Cost: one `f64` Gram product of the inputs (`n d min(n, d)`), one eigensolve of size
//! `min(n, d + 1)` (the smaller of `X̃ᵀX̃` and `X̃X̃ᵀ`), and a pass over `V₀` (`k m`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::measure::roundoff::UNIT_ROUNDOFF_F64;
use crate::model::{download_as, Activation, Mlp, MlpConfig};

pub mod deep;
pub use deep::DeepBound;

/// `β̄_F(r)` over `B(w₀, r)`: `intercept + slope · r` for one hidden layer and the linear model,
/// the depth-`L` recursion of [`deep`] otherwise; or why no bound is proved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmoothnessBound {
    /// `β̄_F(0)`: `c₂ (s₂ ‖X̃‖₂² ν₀ + s₁ ‖X̃‖₂)` (module docs); `None` when not applicable.
    pub intercept: Option<f64>,
    /// `dβ̄_F/dr`: `c₂ s₂ ‖X̃‖₂²` (`None` at depth `L ≥ 2`, where `β̄_F` is not affine).
    pub slope: Option<f64>,
    /// `‖X̃‖₂`, the augmented inputs' spectral norm (rounded up).
    pub input_norm: f64,
    /// `ν₀ = max_j ‖V₀_{·j}‖₂` (rounded up; 0 without a hidden layer).
    pub output_column_norm0: f64,
    /// `sup|σ'|` of the hidden activation.
    pub sup_slope: f64,
    /// `sup|σ''|` of the hidden activation.
    pub sup_curvature: f64,
    /// Why no bound is proved (`None` when it is).
    pub not_applicable: Option<String>,
    /// The norms at `w₀` of the depth-`L ≥ 2` bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep: Option<DeepBound>,
}

impl SmoothnessBound {
    /// `β̄_F(r)`, or `None` when not applicable.
    pub fn at(&self, r: f64) -> Option<f64> {
        self.not_applicable.is_none().then_some(())?;
        match &self.deep {
            Some(deep) => Some(deep.at(r, self.sup_slope, self.sup_curvature)),
            None => Some(self.intercept? + self.slope? * r),
        }
    }

    /// Whether a bound was proved.
    pub fn applies(&self) -> bool {
        self.not_applicable.is_none()
    }
}

/// `(sup_t |σ'(t)|, sup_t |σ''(t)|)` in closed form, or `None` for ReLU (no `σ''` at 0). Each is
/// the exact supremum, rounded up to the next `f64`:
/// tanh `(1, 4/(3√3))` at `tanh t = 1/√3`; erf `(2/√π, √(8/π) e^{−½})` at `t = 1/√2`;
/// softplus `(1, ¼)`; GELU `(Φ(√2) + √2 φ(√2), 2 φ(0))`; sigmoid `(¼, 1/(6√3))`; identity `(1, 0)`.
pub fn derivative_bounds(act: Activation) -> Option<(f64, f64)> {
    use std::f64::consts::{PI, SQRT_2};
    let phi = |t: f64| (-t * t / 2.0).exp() / (2.0 * PI).sqrt();
    let (s1, s2): (f64, f64) = match act {
        Activation::Relu => return None,
        Activation::Tanh => (1.0, 4.0 / (3.0 * 3f64.sqrt())),
        Activation::Erf => (2.0 / PI.sqrt(), (8.0 / PI).sqrt() * (-0.5f64).exp()),
        Activation::Softplus => (1.0, 0.25),
        Activation::Gelu => {
            let cdf = 0.5 * (1.0 + crate::model::elementwise::erf(1.0));
            (cdf + SQRT_2 * phi(SQRT_2), 2.0 * phi(0.0))
        }
        Activation::Sigmoid => (0.25, 1.0 / (6.0 * 3f64.sqrt())),
        Activation::Identity => (1.0, 0.0),
    };
    let up = |v: f64| {
        if v == 0.0 {
            0.0
        } else {
            v * (1.0 + 4.0 * UNIT_ROUNDOFF_F64)
        }
    };
    Some((up(s1), up(s2)))
}

/// Why the bound does not apply to `cfg`, or `None` when [`smoothness_bound`] proves one.
pub fn not_applicable(cfg: &MlpConfig) -> Option<String> {
    let depth = cfg.depth();
    if cfg.activation_of(depth + 1) == Activation::Relu
        || (depth > 0 && cfg.activation == Activation::Relu)
    {
        return Some(
            "ReLU has no second derivative at 0: it is outside the theorem's hypotheses, and no \
             bound on the Hessian over a ball exists"
                .into(),
        );
    }
    if depth >= 1 && cfg.output_activation != Activation::Identity {
        return Some(format!(
            "a {} output after a hidden layer adds sup|σ_out''| · ‖Dg‖² to the Hessian, which \
             does not fall with width: no bound that proves at any width",
            cfg.output_activation.name()
        ));
    }
    None
}

/// `β̄_F(r)` for `model` on the inputs `x` `[n, d]` (module docs). `x` is the data the kernel
/// is measured on (after normalization).
pub fn smoothness_bound<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> SmoothnessBound {
    let cfg = model.config();
    let [n, d] = x.dims();
    let inputs: Vec<f64> = download_as::<B, f64, 2>(x.clone());
    let input_norm = augmented_input_norm(cfg, &inputs, n, d);
    let depth = cfg.depth();
    let hidden = if depth == 0 {
        cfg.output_activation
    } else {
        cfg.activation
    };
    let (sup_slope, sup_curvature) = derivative_bounds(hidden).unwrap_or((f64::NAN, f64::NAN));
    let mut bound = SmoothnessBound {
        intercept: None,
        slope: None,
        input_norm,
        output_column_norm0: 0.0,
        sup_slope,
        sup_curvature,
        not_applicable: not_applicable(cfg),
        deep: None,
    };
    if bound.not_applicable.is_some() {
        return bound;
    }
    if depth == 0 {
        bound.intercept = Some(sup_curvature * input_norm * input_norm);
        bound.slope = Some(0.0);
        return bound;
    }
    let output = model.weights().pop().expect("an output layer");
    let [k, m] = output.dims();
    let v: Vec<f64> = download_as::<B, f64, 2>(output);
    let nu0 = (0..m)
        .map(|j| (0..k).map(|a| v[a * m + j].powi(2)).sum::<f64>().sqrt())
        .fold(0.0, f64::max)
        * (1.0 + (k + 2) as f64 * UNIT_ROUNDOFF_F64);
    bound.output_column_norm0 = nu0;
    if depth >= 2 {
        let deep = deep::measure(model, x);
        bound.intercept = Some(deep.at(0.0, sup_slope, sup_curvature));
        bound.deep = Some(deep);
        return bound;
    }
    let c2 = cfg.weight_multiplier(2);
    let x2 = input_norm * input_norm;
    bound.intercept = Some(c2 * (sup_curvature * x2 * nu0 + sup_slope * input_norm));
    bound.slope = Some(c2 * sup_curvature * x2);
    bound
}

/// `‖X̃‖₂` for the augmented inputs `x̃_i = (c₁ x_i, c_b)` (`c₁ x_i` without biases), `x`
/// row-major `[n, d]`: `√(λ_max(G) + (n + d + 2) u₆₄ ‖X̃‖_F²)` with `G` the smaller of `X̃ᵀX̃`
/// and `X̃X̃ᵀ`, formed and eigensolved in `f64` (faer).
pub fn augmented_input_norm(cfg: &MlpConfig, x: &[f64], n: usize, d: usize) -> f64 {
    let c1 = cfg.weight_multiplier(1);
    let cols = d + usize::from(cfg.bias);
    let at = |i: usize, c: usize| {
        if c < d {
            c1 * x[i * d + c]
        } else {
            cfg.bias_multiplier()
        }
    };
    let xt = faer::Mat::<f64>::from_fn(n, cols, at);
    deep::spectral_norm_of(xt.as_ref(), n + d + 2)
}
