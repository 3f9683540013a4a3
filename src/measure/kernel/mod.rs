//! The tangent kernel `K(w) = DF(w) DF(w)ᵀ ∈ ℝⁿˣⁿ`, `K_ij = ⟨∇_w f(w; x_i), ∇_w f(w; x_j)⟩`
//! (no averaging, no division by `n`). Symmetric positive semi-definite, `rank K ≤ min(n, p)`.
//!
//! One entry point, [`tangent_kernel`], and two methods ([`KernelMethod`]) that the tests hold
//! against each other, against finite differences and against closed-form infinite-width
//! kernels.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::model::{download, upload, Mlp};

mod host;
pub mod operator;

/// Where the Gram products of [`KernelMethod::Structured`] run. The arithmetic is the same; the
/// tests hold the two paths equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GramPath {
    /// Batched tensor operations on the model's backend, in sample blocks of [`BLOCK`]: any
    /// backend, and the GPU path (nothing leaves the device but `K`).
    Device,
    /// The weights are downloaded once, the layer factors are computed on the host, and the lower
    /// triangles of the Gram products are formed panel by panel by faer's GEMM and summed in the
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

/// A tangent kernel on the host, f64, row-major `N × N` with `N = n·k` (`n` samples, `k`
/// outputs), indexed sample-major: row `i·k + a` is output `a` of sample `i`. neural-tangents'
/// `trace_axes=()` kernel of shape `(n, n, k, k)` is `K.reshape(n, k, n, k).transpose(0, 2, 1, 3)`.
#[derive(Clone, Debug, PartialEq)]
pub struct TangentKernel {
    /// `N = n·k`, the number of equations (the matrix size; `n` for a scalar network).
    pub n: usize,
    /// `K_ij` at `i * n + j`.
    pub values: Vec<f64>,
}

impl TangentKernel {
    /// `K_ij`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.n + j]
    }

    /// `tr K = Σ_{i,a} ‖∇f_a(x_i)‖²`.
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

/// Layer inputs `A_{l−1}` (scaled by `c_l`) `[b, m_{l−1}]` and signals `Δ_l` `[b·k, m_l]` (row
/// `i·k + a` for output `a` of sample `i`) for every layer `l = 1 … L+1`, of a block of `b` samples.
struct LayerFactors<B: Backend> {
    inputs: Vec<Tensor<B, 2>>,
    signals: Vec<Tensor<B, 2>>,
}

/// `t` `[b, m]` with each row repeated `k` times: `[b·k, m]`, row `i·k + a` = row `i`.
fn repeat_rows<B: Backend>(t: Tensor<B, 2>, k: usize) -> Tensor<B, 2> {
    if k == 1 {
        return t;
    }
    let [b, m] = t.dims();
    t.reshape([b, 1, m]).expand([b, k, m]).reshape([b * k, m])
}

/// The layer factors of `x` (a block of samples): the device forward pass with `σ'` from
/// [`crate::model::Activation::derivative`], then `Δ_{L+1}` (row `i·k + a` is
/// `σ_out'(z_{ia}) e_a`) and `Δ_l = c_{l+1} (Δ_{l+1} W⁽ˡ⁺¹⁾) ∘ σ'(z⁽ˡ⁾)`.
fn layer_factors<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> LayerFactors<B> {
    let cfg = model.config();
    let weights = model.weights();
    let biases = model.biases();
    let depth = weights.len();
    let (b, k) = (x.dims()[0], cfg.outputs);
    let mut inputs = Vec::with_capacity(depth);
    let mut pre = Vec::with_capacity(depth);
    let mut a = x.clone();
    for (l, w) in weights.iter().enumerate() {
        let c = cfg.weight_multiplier(l + 1);
        let scaled = a.mul_scalar(c);
        let mut z = scaled.clone().matmul(w.clone().transpose());
        if let Some(bias) = biases.get(l) {
            z = z + bias
                .clone()
                .mul_scalar(cfg.bias_multiplier())
                .unsqueeze_dim(0);
        }
        inputs.push(scaled);
        let act = cfg.activation_of(l + 1);
        a = act.apply(z.clone());
        pre.push((act, z));
    }
    let mut signals = vec![None; depth];
    let (act, z) = pre.pop().expect("at least one layer");
    let mut delta = act.derivative(z);
    if k > 1 {
        // [b, k] → [b·k, k] with row i·k + a equal to σ_out'(z_{ia}) e_a.
        let eye: Vec<f64> = (0..k * k)
            .map(|r| f64::from(u8::from(r / k == r % k)))
            .collect();
        let eye = upload::<B, 3>(&eye, [1, k, k], &x.device()).expand([b, k, k]);
        delta = (delta.reshape([b, k, 1]).expand([b, k, k]) * eye).reshape([b * k, k]);
    }
    for l in (0..depth).rev() {
        if l + 1 < depth {
            let (act, z) = pre.pop().expect("one pre-activation per layer");
            let c = cfg.weight_multiplier(l + 2);
            delta = delta.matmul(weights[l + 1].clone()).mul_scalar(c)
                * repeat_rows(act.derivative(z), k);
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

/// `Σ_l (A_I A_Jᵀ ⊗ 1_{k×k}) ∘ (Δ_I Δ_Jᵀ) (+ c_b² Δ_I Δ_Jᵀ)`: the block `K[I, J]`
/// `[|I|·k, |J|·k]`.
fn kernel_block<B: Backend>(
    fi: &LayerFactors<B>,
    fj: &LayerFactors<B>,
    bias_scale_sq: Option<f64>,
    k: usize,
) -> Tensor<B, 2> {
    let mut block: Option<Tensor<B, 2>> = None;
    for l in 0..fi.inputs.len() {
        let dd = fi.signals[l]
            .clone()
            .matmul(fj.signals[l].clone().transpose());
        let mut aa = fi.inputs[l]
            .clone()
            .matmul(fj.inputs[l].clone().transpose());
        if k > 1 {
            let [bi, bj] = aa.dims();
            aa = aa
                .reshape([bi, 1, bj, 1])
                .expand([bi, k, bj, k])
                .reshape([bi * k, bj * k]);
        }
        let mut term = aa * dd.clone();
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
    let k = cfg.outputs;
    let big = n * k;
    let bias = cfg.bias.then(|| cfg.bias_multiplier().powi(2));
    if n <= block {
        let f = layer_factors(model, x);
        return TangentKernel {
            n: big,
            values: download(kernel_block(&f, &f, bias, k)),
        };
    }
    let starts: Vec<usize> = (0..n).step_by(block).collect();
    let rows = |s: usize| x.clone().slice([s..(s + block).min(n), 0..d]);
    let mut values = vec![0.0; big * big];
    for (bi, &si) in starts.iter().enumerate() {
        let fi = layer_factors(model, &rows(si));
        for &sj in &starts[bi..] {
            let fj = (sj != si).then(|| layer_factors(model, &rows(sj)));
            let kb = download(kernel_block(&fi, fj.as_ref().unwrap_or(&fi), bias, k));
            let (ni, nj) = (
                ((si + block).min(n) - si) * k,
                ((sj + block).min(n) - sj) * k,
            );
            let (ri, rj) = (si * k, sj * k);
            for a in 0..ni {
                for b in 0..nj {
                    let v = kb[a * nj + b];
                    values[(ri + a) * big + rj + b] = v;
                    values[(rj + b) * big + ri + a] = v;
                }
            }
        }
    }
    TangentKernel { n: big, values }
}

/// Jacobian rows `∇_w f_a(w; x_i)` on the host (parameter-vector order), row `i·k + a`, one
/// backward pass per sample and output.
pub fn jacobian<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> Vec<Vec<f64>> {
    let [n, d] = x.dims();
    let k = model.config().outputs;
    let tracked = crate::measure::loss::tracked(model);
    (0..n * k)
        .map(|r| {
            let (i, a) = (r / k, r % k);
            let xi = Tensor::from_inner(x.clone().slice([i..i + 1, 0..d]));
            let fa = tracked.forward(xi).narrow(0, a, 1).sum();
            crate::measure::loss::gradient_vector(&tracked, &fa.backward())
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
