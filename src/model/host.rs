//! The network's forward pass on the host: written once, and shared by every CPU path that needs
//! the layers of the network at one point `w` — the structured tangent kernel's Gram products
//! (`measure::kernel`), the Hessian-vector products and second directional derivatives
//! (`measure::hessian`), and through them the card's searches (`theorem::search`).
//!
//! With `c_l`, `c_b` the layer multipliers of [`crate::model`] and σ the activation of layer `l`
//! ([`MlpConfig::activation_of`]), for all `n` samples at once (rows are samples):
//!
//! ```text
//! α⁽⁰⁾ = x,   z⁽ˡ⁾ = c_l α⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + c_b b⁽ˡ⁾,   α⁽ˡ⁾ = σ(z⁽ˡ⁾),   F = α⁽ᴸ⁺¹⁾ ∈ ℝ^{n×k}
//! ```
//!
//! Each layer keeps what the derivatives need: its weights `W⁽ˡ⁾`, its input `α⁽ˡ⁻¹⁾`, `σ'(z⁽ˡ⁾)`
//! and, on request ([`Order::Second`]), `σ''(z⁽ˡ⁾)`. The products run in the float type `T`: the
//! backend's own precision (the kernel keeps the working precision of the model) or `f64` (the
//! Hessians widen an `f32` model's weights exactly and compute in `f64`). `σ`, `σ'`, `σ''` are
//! the closed forms of [`crate::model::elementwise`], evaluated in `f64` and rounded once to `T`.
//!
//! Cost: `Σ_l n m_l m_{l−1}` multiply-adds (faer, on every core for large products) and
//! `n Σ_l m_l` activation evaluations; memory `T`-sized `n Σ_l (m_{l−1} + 2 m_l)` (one more
//! `n m_l` per layer with curvature) plus the weights.

use burn::tensor::backend::Backend;
use burn::tensor::{Element, Tensor};
use faer::{Accum, MatMut, MatRef, Par};

use crate::model::elementwise::{vectorized, visit, Loop, Pointwise, Visit};
use crate::model::{download_as, Mlp, MlpConfig};

/// A float the host passes compute in: `f32` or `f64`.
pub trait HostFloat:
    faer::traits::ComplexField
    + Element
    + Copy
    + Into<f64>
    + std::ops::Mul<Output = Self>
    + std::ops::Add<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
    + Send
    + Sync
{
    /// `v` rounded to this precision.
    fn of(v: f64) -> Self;
}
// `#[inline]`: called per element, from other codegen units (release builds are incremental).
impl HostFloat for f32 {
    #[inline]
    fn of(v: f64) -> f32 {
        v as f32
    }
}
impl HostFloat for f64 {
    #[inline]
    fn of(v: f64) -> f64 {
        v
    }
}

/// Which derivatives of σ the forward pass keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// `σ'(z⁽ˡ⁾)` (first-order products: the tangent kernel, `DF v`, `DFᵀ c`).
    First,
    /// `σ'(z⁽ˡ⁾)` and `σ''(z⁽ˡ⁾)` (second-order products: `∇²g v`, `D²F[u, u]`).
    Second,
}

/// Where the forward pass applies the layer multiplier `c_l`: the two orders round differently,
/// and each caller keeps the order its committed results were computed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// `z⁽ˡ⁾ = c_l · (α⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ)`, the product scaled by the gemm; inputs kept unscaled (the
    /// Hessians' passes, which scale each of their products the same way).
    Product,
    /// `A⁽ˡ⁻¹⁾ = c_l α⁽ˡ⁻¹⁾` rounded once to `T` (`c_1 x` in `T`, then `c_{l+1} σ(z⁽ˡ⁾)` in `f64`),
    /// `z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ`: the tangent kernel's Gram products then take `A Aᵀ` unscaled. The
    /// kernel's order since the structured host path was written (issue 13), so `k = 1` kernels,
    /// step sizes and trained sweep rows stay bit for bit what they were.
    Input,
}

/// One layer `l` at `w`, all samples, row-major.
pub struct HostLayer<T> {
    /// `W⁽ˡ⁾` `[out, in]`.
    pub weights: Vec<T>,
    /// `α⁽ˡ⁻¹⁾` `[n, in]` (`x` for the first layer): unscaled with [`Scaling::Product`],
    /// `c_l α⁽ˡ⁻¹⁾` with [`Scaling::Input`].
    pub input: Vec<T>,
    /// `σ'(z⁽ˡ⁾)` `[n, out]`.
    pub slope: Vec<T>,
    /// `σ''(z⁽ˡ⁾)` `[n, out]` with [`Order::Second`]; empty otherwise.
    pub curvature: Vec<T>,
    /// `c_l`.
    pub scale: f64,
    /// `m_{l−1}`.
    pub in_width: usize,
    /// `m_l`.
    pub out_width: usize,
}

/// The forward pass of an [`Mlp`] at one point, on the host (module docs).
pub struct HostForward<T> {
    /// Samples `n`.
    pub n: usize,
    /// Layers `1 … L+1`, input side first.
    pub layers: Vec<HostLayer<T>>,
    /// `c_b` when the model has biases.
    pub bias: Option<f64>,
    /// `F(w)` row-major `[n, k]` (sample-major: `F_{ia}` at `i·k + a`).
    pub output: Vec<T>,
    /// Where `c_l` was applied.
    pub scaling: Scaling,
}

impl<T: HostFloat> HostForward<T> {
    /// The forward pass of `model` on `x` `[n, d]`: the weights and inputs are downloaded once,
    /// converted to `T`; `c_l` scales each product ([`Scaling::Product`]).
    pub fn at<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, order: Order) -> Self {
        Self::scaled(model, x, order, Scaling::Product)
    }

    /// [`HostForward::at`] with `c_l` applied where `scaling` says.
    pub fn scaled<B: Backend>(
        model: &Mlp<B>,
        x: &Tensor<B, 2>,
        order: Order,
        scaling: Scaling,
    ) -> Self {
        let cfg = model.config();
        let depth = cfg.depth() + 1;
        let [n, _] = x.dims();
        let biases: Vec<Vec<T>> = model
            .biases()
            .into_iter()
            .map(download_as::<B, T, 1>)
            .collect();
        let mut input = download_as::<B, T, 2>(x.clone());
        if scaling == Scaling::Input {
            let c1 = T::of(cfg.weight_multiplier(1));
            input.iter_mut().for_each(|v| *v *= c1);
        }
        let mut layers = Vec::with_capacity(depth);
        for (l, w) in model.weights().into_iter().enumerate() {
            let [out_width, in_width] = w.dims();
            let weights = download_as::<B, T, 2>(w);
            let scale = cfg.weight_multiplier(l + 1);
            let (product, next) = match scaling {
                Scaling::Product => (scale, 1.0),
                Scaling::Input if l + 1 < depth => (1.0, cfg.weight_multiplier(l + 2)),
                Scaling::Input => (1.0, 1.0),
            };
            let mut z = vec![T::of(0.0); n * out_width];
            gemm(
                &mut z,
                rows(&input, n, in_width),
                rows(&weights, out_width, in_width).transpose(),
                T::of(product),
                Accum::Replace,
            );
            if let Some(b) = biases.get(l) {
                let cb = T::of(cfg.bias_multiplier());
                for row in z.chunks_mut(out_width) {
                    row.iter_mut().zip(b).for_each(|(v, b)| *v += cb * *b);
                }
            }
            let (slope, curvature) = activate(cfg, l + 1, &mut z, next, order);
            layers.push(HostLayer {
                weights,
                input: std::mem::replace(&mut input, z),
                slope,
                curvature,
                scale,
                in_width,
                out_width,
            });
        }
        Self {
            n,
            layers,
            bias: cfg.bias.then(|| cfg.bias_multiplier()),
            output: input,
            scaling,
        }
    }

    /// The output layer `L+1`.
    pub fn last(&self) -> &HostLayer<T> {
        self.layers.last().expect("at least one layer")
    }

    /// Output units `k`.
    pub fn outputs(&self) -> usize {
        self.last().out_width
    }
}

/// Replaces `z` by `scale · σ(z)` (product in `f64`) for the activation of layer `layer`
/// (1-based) and returns
/// `(σ'(z), σ''(z))` (`σ''` empty with [`Order::First`]), element-wise in `f64` rounded to `T`,
/// in parallel chunks, each compiled for this CPU's vector instructions: one loop per activation.
fn activate<T: HostFloat>(
    cfg: &MlpConfig,
    layer: usize,
    z: &mut [T],
    scale: f64,
    order: Order,
) -> (Vec<T>, Vec<T>) {
    let mut slope = vec![T::of(0.0); z.len()];
    let mut curvature = match order {
        Order::First => vec![],
        Order::Second => vec![T::of(0.0); z.len()],
    };
    visit(
        cfg.activation_of(layer),
        Activate {
            z,
            slope: &mut slope,
            curvature: &mut curvature,
            scale,
        },
    );
    (slope, curvature)
}

/// `z ← scale · σ(z)`, `slope ← σ'(z)`, `curvature ← σ''(z)` (when not empty), over parallel
/// chunks.
struct Activate<'a, T> {
    z: &'a mut [T],
    slope: &'a mut [T],
    curvature: &'a mut [T],
    scale: f64,
}

/// Elements per parallel chunk of [`Activate`].
const CHUNK: usize = 1 << 14;

impl<T: HostFloat> Visit for Activate<'_, T> {
    type Output = ();
    fn visit<P: Pointwise>(self, p: P) {
        use rayon::prelude::*;
        let Activate {
            z,
            slope,
            curvature,
            scale,
        } = self;
        if curvature.is_empty() {
            z.par_chunks_mut(CHUNK)
                .zip(slope.par_chunks_mut(CHUNK))
                .for_each(|(z, slope)| {
                    vectorized(Chunk {
                        z,
                        slope,
                        curvature: &mut [],
                        scale,
                        p,
                    })
                });
        } else {
            z.par_chunks_mut(CHUNK)
                .zip(slope.par_chunks_mut(CHUNK))
                .zip(curvature.par_chunks_mut(CHUNK))
                .for_each(|((z, slope), curvature)| {
                    vectorized(Chunk {
                        z,
                        slope,
                        curvature,
                        scale,
                        p,
                    })
                });
        }
    }
}

/// One chunk of [`Activate`], as a loop to compile for the CPU.
struct Chunk<'a, T, P> {
    z: &'a mut [T],
    slope: &'a mut [T],
    curvature: &'a mut [T],
    scale: f64,
    p: P,
}

impl<T: HostFloat, P: Pointwise> Loop for Chunk<'_, T, P> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        if self.curvature.is_empty() {
            for (z, s) in self.z.iter_mut().zip(self.slope) {
                let (value, derivative, _) = self.p.eval((*z).into());
                *z = T::of(self.scale * value);
                *s = T::of(derivative);
            }
        } else {
            for ((z, s), c) in self.z.iter_mut().zip(self.slope).zip(self.curvature) {
                let (value, derivative, second) = self.p.eval((*z).into());
                *z = T::of(self.scale * value);
                *s = T::of(derivative);
                *c = T::of(second);
            }
        }
    }
}

/// A row-major slice as an `r × c` matrix.
pub fn rows<T: faer::traits::ComplexField>(values: &[T], r: usize, c: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(values, r, c)
}

/// `dst ← scale · a b` (`Accum::Replace`) or `dst + scale · a b` (`Accum::Add`), `dst` row-major
/// `[a rows, b cols]`; faer, on every core for large products ([`parallelism`]).
pub fn gemm<T: faer::traits::ComplexField>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    scale: T,
    accum: Accum,
) {
    let (r, inner, c) = (a.nrows(), a.ncols(), b.ncols());
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(dst, r, c),
        accum,
        a,
        b,
        scale,
        parallelism(r * c * inner),
    );
}

/// Every core for a product of at least 2²² multiply-adds; one below, where waking the thread
/// pool costs more than it saves (measured: the n = 128 bench cases).
pub fn parallelism(multiply_adds: usize) -> Par {
    if multiply_adds >= 1 << 22 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}
