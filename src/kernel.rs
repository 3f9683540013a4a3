//! The tangent kernel `K(w) = DF(w) DF(w)ᵀ ∈ ℝⁿˣⁿ`, `K_ij = ⟨∇_w f(w; x_i), ∇_w f(w; x_j)⟩`
//! (no averaging, no division by `n`). Symmetric positive semi-definite, `rank K ≤ min(n, p)`.
//!
//! One entry point, [`tangent_kernel`], and two methods ([`KernelMethod`]) that the tests hold
//! against each other, against finite differences and against closed-form infinite-width
//! kernels.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::model::{download, Activation, Mlp};

/// How [`tangent_kernel`] computes `K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KernelMethod {
    /// The layer-wise factorization of the MLP (THEORY.md):
    /// `K = Σ_l c_l² (A_{l−1} A_{l−1}ᵀ) ∘ (Δ_l Δ_lᵀ) + c_b² Σ_l Δ_l Δ_lᵀ` (bias term with biases),
    /// with layer inputs `A_{l−1}` `[n, m_{l−1}]` and back-propagated signals `Δ_l = ∂f/∂z_l`
    /// `[n, m_l]`, all batched tensor operations on the model's backend. Never builds the `n × p`
    /// Jacobian. Time `O(n² Σ m_l + n Σ m_l m_{l−1})`, memory `O(n² + n Σ m_l)`.
    /// The default: use it for every MLP.
    #[default]
    Structured,
    /// Reverse-mode autodiff: one backward pass per sample gives the Jacobian row
    /// `∇_w f(w; x_i)`, the rows are gathered on the host (f64) and `K = J Jᵀ` is formed with
    /// faer. Makes no use of the MLP's structure: the reference for checking `Structured`.
    /// Time `O(n · backward + n² p)`, memory `O(n p)`: small problems only.
    Autodiff,
}

/// A tangent kernel on the host, f64, row-major `n × n`.
#[derive(Clone, Debug, PartialEq)]
pub struct TangentKernel {
    /// `n`.
    pub n: usize,
    /// `K_ij` at `i * n + j`.
    pub values: Vec<f64>,
}

impl TangentKernel {
    /// `K_ij`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.n + j]
    }

    /// `tr K = Σ_i ‖∇f(x_i)‖²`.
    pub fn trace(&self) -> f64 {
        (0..self.n).map(|i| self.get(i, i)).sum()
    }

    /// `‖K‖_F`.
    pub fn frobenius_norm(&self) -> f64 {
        self.values.iter().map(|v| v * v).sum::<f64>().sqrt()
    }

    /// `rᵀ K r`.
    pub fn quadratic_form(&self, r: &[f64]) -> f64 {
        (0..self.n)
            .map(|i| r[i] * (0..self.n).map(|j| self.get(i, j) * r[j]).sum::<f64>())
            .sum()
    }

    /// As a faer matrix.
    pub fn to_faer(&self) -> faer::Mat<f64> {
        faer::Mat::from_fn(self.n, self.n, |i, j| self.get(i, j))
    }
}

/// `K(w)` for `model` at inputs `x` `[n, d]`, by `method`.
pub fn tangent_kernel<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    method: KernelMethod,
) -> TangentKernel {
    match method {
        KernelMethod::Structured => structured(model, x),
        KernelMethod::Autodiff => autodiff(model, x),
    }
}

/// `σ'(z)` element-wise, from the closed forms of each activation.
pub fn activation_derivative<B: Backend, const D: usize>(
    act: Activation,
    z: Tensor<B, D>,
) -> Tensor<B, D> {
    use std::f64::consts::{FRAC_1_SQRT_2, PI};
    match act {
        Activation::Relu => z.greater_elem(0.0).float(),
        Activation::Tanh => z.tanh().square().neg().add_scalar(1.0),
        Activation::Erf => z.square().neg().exp().mul_scalar(2.0 / PI.sqrt()),
        // softplus' = sigmoid = (1 + tanh(z/2))/2
        Activation::Softplus => (z.mul_scalar(0.5).tanh() + 1.0).mul_scalar(0.5),
        // gelu' = Φ(z) + z φ(z)
        Activation::Gelu => {
            let cdf = (z.clone().mul_scalar(FRAC_1_SQRT_2).erf() + 1.0).mul_scalar(0.5);
            let pdf = z
                .clone()
                .square()
                .mul_scalar(-0.5)
                .exp()
                .mul_scalar(1.0 / (2.0 * PI).sqrt());
            cdf + z * pdf
        }
        Activation::Sigmoid => {
            let s = (z.mul_scalar(0.5).tanh() + 1.0).mul_scalar(0.5);
            s.clone() * s.neg().add_scalar(1.0)
        }
        Activation::Identity => z.ones_like(),
    }
}

/// Layer inputs `A_{l−1}` (scaled by `c_l`) and signals `Δ_l` for every layer `l = 1 … L+1`.
struct LayerFactors<B: Backend> {
    inputs: Vec<Tensor<B, 2>>,
    signals: Vec<Tensor<B, 2>>,
}

fn layer_factors<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> LayerFactors<B> {
    let cfg = model.config();
    let weights = model.weights();
    let biases = model.biases();
    let depth = weights.len();
    let mut inputs = Vec::with_capacity(depth);
    let mut pre = Vec::with_capacity(depth);
    let mut a = x.clone();
    for (l, w) in weights.iter().enumerate() {
        let c = cfg.weight_multiplier(l + 1);
        let scaled = a.mul_scalar(c);
        let mut z = scaled.clone().matmul(w.clone().transpose());
        if let Some(b) = biases.get(l) {
            z = z + b.clone().mul_scalar(cfg.bias_multiplier()).unsqueeze_dim(0);
        }
        inputs.push(scaled);
        let act = if l + 1 == depth {
            cfg.output_activation
        } else {
            cfg.activation
        };
        a = act.apply(z.clone());
        pre.push((act, z));
    }
    let mut signals = vec![None; depth];
    let (act, z) = pre.pop().expect("at least one layer");
    let mut delta = activation_derivative(act, z);
    for l in (0..depth).rev() {
        if l + 1 < depth {
            let (act, z) = pre.pop().expect("one pre-activation per layer");
            let c = cfg.weight_multiplier(l + 2);
            delta =
                delta.matmul(weights[l + 1].clone()).mul_scalar(c) * activation_derivative(act, z);
        }
        signals[l] = Some(delta.clone());
    }
    LayerFactors {
        inputs,
        signals: signals.into_iter().map(|s| s.expect("filled")).collect(),
    }
}

/// Rows of `K` are formed in blocks of this many, bounding the temporaries to `block × n`.
const ROW_BLOCK: usize = 1024;

fn structured<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> TangentKernel {
    let [n, _] = x.dims();
    let f = layer_factors(model, x);
    let cb2 = model.config().bias_multiplier().powi(2);
    let bias = model.config().bias;
    let mut values = Vec::with_capacity(n * n);
    for start in (0..n).step_by(ROW_BLOCK) {
        let end = (start + ROW_BLOCK).min(n);
        let mut block: Option<Tensor<B, 2>> = None;
        for (a, d) in f.inputs.iter().zip(&f.signals) {
            let ai = a.clone().slice([start..end]);
            let di = d.clone().slice([start..end]);
            let dd = di.matmul(d.clone().transpose());
            let mut term = ai.matmul(a.clone().transpose()) * dd.clone();
            if bias {
                term = term + dd.mul_scalar(cb2);
            }
            block = Some(match block {
                None => term,
                Some(b) => b + term,
            });
        }
        values.extend(download(block.expect("at least one layer")));
    }
    TangentKernel { n, values }
}

/// Jacobian rows `∇_w f(w; x_i)` on the host (parameter-vector order), one backward per sample.
pub fn jacobian<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> Vec<Vec<f64>> {
    let [n, d] = x.dims();
    let tracked = crate::loss::tracked(model);
    (0..n)
        .map(|i| {
            let xi = Tensor::from_inner(x.clone().slice([i..i + 1, 0..d]));
            crate::loss::gradient_vector(&tracked, &tracked.forward(xi).sum().backward())
        })
        .collect()
}

fn autodiff<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> TangentKernel {
    let rows = jacobian(model, x);
    let n = rows.len();
    let p = rows.first().map_or(0, Vec::len);
    let j = faer::Mat::from_fn(n, p, |i, k| rows[i][k]);
    let k = &j * j.transpose();
    TangentKernel {
        n,
        values: (0..n * n).map(|ij| k[(ij / n, ij % n)]).collect(),
    }
}
