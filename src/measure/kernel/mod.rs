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

mod host;

pub(crate) use host::{gemm, rows};

/// Where the Gram products of [`KernelMethod::Structured`] run. The arithmetic is the same; the
/// tests hold the two paths equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GramPath {
    /// Batched tensor operations on the model's backend, in sample blocks of [`BLOCK`]: any
    /// backend, and the GPU path (nothing leaves the device but `K`).
    Device,
    /// The weights are downloaded once, the layer factors are computed on the host, and the lower
    /// triangles of the Gram products are formed by faer's triangular matmul and summed in the
    /// working precision (the CPU specialization; see `host.rs`). Memory `O(n Σ m_l + n²)`.
    Host,
}

impl GramPath {
    /// [`GramPath::Host`] for the backends whose tensors live in host memory (burn-ndarray), when
    /// the factors of all `n` samples fit in [`HOST_FACTOR_LIMIT`]; [`GramPath::Device`] otherwise.
    pub fn for_backend<B: Backend>(model: &Mlp<B>, n: usize) -> GramPath {
        if fits_on_host(model, n, 2 * size_of::<B::FloatElem>()) {
            GramPath::Host
        } else {
            GramPath::Device
        }
    }
}

/// Whether `B` keeps its tensors in host memory (burn-ndarray) and `bytes_per_unit` bytes for
/// each of the `n` samples and each unit of every layer fit in [`HOST_FACTOR_LIMIT`]: the test
/// of every CPU specialization (the kernel's Gram products, the Hessians' products).
pub(crate) fn fits_on_host<B: Backend>(model: &Mlp<B>, n: usize, bytes_per_unit: usize) -> bool {
    let units: usize = model.config().layer_sizes().iter().sum();
    let bytes = (n as u128) * (units as u128) * (bytes_per_unit as u128);
    crate::model::backend::in_host_memory::<B>() && bytes <= HOST_FACTOR_LIMIT as u128
}

/// The most bytes of layer factors [`GramPath::Host`] holds (4 GiB); larger problems run in
/// sample blocks on the device path.
pub const HOST_FACTOR_LIMIT: u64 = 4 << 30;

/// How [`tangent_kernel`] computes `K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KernelMethod {
    /// The layer-wise factorization of the MLP (THEORY.md):
    /// `K = Σ_l c_l² (A_{l−1} A_{l−1}ᵀ) ∘ (Δ_l Δ_lᵀ) + c_b² Σ_l Δ_l Δ_lᵀ` (bias term with biases),
    /// with layer inputs `A_{l−1}` `[n, m_{l−1}]` and back-propagated signals `Δ_l = ∂f/∂z_l`
    /// `[n, m_l]`, all batched tensor operations on the model's backend. Never builds the `n × p`
    /// Jacobian. Time `O(n² Σ m_l + n Σ m_l m_{l−1})`; the samples go in blocks of [`BLOCK`], so
    /// memory stays `O(n² + BLOCK · Σ m_l)` (see [`structured_blocked`]).
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

    /// `‖K − other‖_F / ‖other‖_F`, the distance to `other` relative to it (the kernel change
    /// against `K(w₀)`, the gap to `K∞`).
    pub fn relative_distance(&self, other: &TangentKernel) -> f64 {
        let diff: f64 = self
            .values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        diff / other.frobenius_norm()
    }

    /// `rᵀ K r`.
    pub fn quadratic_form(&self, r: &[f64]) -> f64 {
        (0..self.n)
            .map(|i| r[i] * (0..self.n).map(|j| self.get(i, j) * r[j]).sum::<f64>())
            .sum()
    }

    /// As a faer matrix.
    pub fn to_faer(&self) -> faer::Mat<f64> {
        faer::MatRef::from_row_major_slice(&self.values, self.n, self.n).to_owned()
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
        // `.float()` would take the device's default dtype (see `model::float_options`).
        Activation::Relu => {
            let dtype = z.dtype();
            z.greater_elem(0.0).float().cast(dtype)
        }
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

/// Samples per block of the structured kernel: the layer factors of at most two blocks are held
/// at a time.
pub const BLOCK: usize = 1024;

fn structured<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> TangentKernel {
    structured_on(model, x, GramPath::for_backend(model, x.dims()[0]))
}

/// The structured kernel with its Gram products on `path` (the tests compare the two).
pub fn structured_on<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    path: GramPath,
) -> TangentKernel {
    match path {
        GramPath::Device => structured_blocked(model, x, BLOCK),
        GramPath::Host => host::structured(model, x),
    }
}

/// `Σ_l (A_I A_Jᵀ) ∘ (Δ_I Δ_Jᵀ) (+ c_b² Δ_I Δ_Jᵀ)`: the block `K[I, J]`.
fn kernel_block<B: Backend>(
    fi: &LayerFactors<B>,
    fj: &LayerFactors<B>,
    bias_scale_sq: Option<f64>,
) -> Tensor<B, 2> {
    let mut block: Option<Tensor<B, 2>> = None;
    for l in 0..fi.inputs.len() {
        let dd = fi.signals[l]
            .clone()
            .matmul(fj.signals[l].clone().transpose());
        let mut term = fi.inputs[l]
            .clone()
            .matmul(fj.inputs[l].clone().transpose())
            * dd.clone();
        if let Some(cb2) = bias_scale_sq {
            term = term + dd.mul_scalar(cb2);
        }
        block = Some(match block {
            None => term,
            Some(b) => b + term,
        });
    }
    block.expect("at least one layer")
}

/// The structured kernel with the samples in blocks of `block`: for `n > block` the layer
/// factors of a block pair `(I, J)` are recomputed for each pair (`J ≥ I`; `K[J, I] = K[I, J]ᵀ`),
/// so memory stays `O(n² + block Σ m_l)` at the price of `≈ n/(2 block)` extra forward passes.
pub fn structured_blocked<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    block: usize,
) -> TangentKernel {
    let [n, d] = x.dims();
    let block = block.max(1);
    let cfg = model.config();
    let bias = cfg.bias.then(|| cfg.bias_multiplier().powi(2));
    if n <= block {
        let f = layer_factors(model, x);
        return TangentKernel {
            n,
            values: download(kernel_block(&f, &f, bias)),
        };
    }
    let starts: Vec<usize> = (0..n).step_by(block).collect();
    let rows = |s: usize| x.clone().slice([s..(s + block).min(n), 0..d]);
    let mut values = vec![0.0; n * n];
    for (bi, &si) in starts.iter().enumerate() {
        let fi = layer_factors(model, &rows(si));
        for &sj in &starts[bi..] {
            let fj = (sj != si).then(|| layer_factors(model, &rows(sj)));
            let kb = download(kernel_block(&fi, fj.as_ref().unwrap_or(&fi), bias));
            let (ni, nj) = ((si + block).min(n) - si, (sj + block).min(n) - sj);
            for a in 0..ni {
                for b in 0..nj {
                    let v = kb[a * nj + b];
                    values[(si + a) * n + sj + b] = v;
                    values[(sj + b) * n + si + a] = v;
                }
            }
        }
    }
    TangentKernel { n, values }
}

/// Jacobian rows `∇_w f(w; x_i)` on the host (parameter-vector order), one backward per sample.
pub fn jacobian<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> Vec<Vec<f64>> {
    let [n, d] = x.dims();
    let tracked = crate::measure::loss::tracked(model);
    (0..n)
        .map(|i| {
            let xi = Tensor::from_inner(x.clone().slice([i..i + 1, 0..d]));
            crate::measure::loss::gradient_vector(&tracked, &tracked.forward(xi).sum().backward())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{sphere, SyntheticTarget};
    use crate::model::MlpConfig;

    #[test]
    fn blocked_structured_kernel_equals_the_one_block_kernel() {
        // Blocks of 3 (ragged last block) against one block: the same numbers up to the
        // summation order of the matrix products.
        type B = burn::backend::NdArray<f64>;
        let data = sphere(10, 4, SyntheticTarget::Teacher, 0);
        let cfg = MlpConfig::new(4, vec![7, 5])
            .with_bias(true)
            .with_bias_scale(0.3);
        let device = Default::default();
        let model = cfg.init::<B>(0, &device);
        let (x, _) = data.to_tensors::<B>(&device);
        let one = structured_blocked(&model, &x, 1024);
        let blocked = structured_blocked(&model, &x, 3);
        let scale = one.frobenius_norm();
        for (a, b) in one.values.iter().zip(&blocked.values) {
            assert!((a - b).abs() <= 1e-14 * scale, "{a} vs {b}");
        }
    }
}
