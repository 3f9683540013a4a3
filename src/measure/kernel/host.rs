//! The structured kernel's Gram products on the host: the CPU specialization of
//! [`GramPath::Host`](super::GramPath::Host).
//!
//! The weights are downloaded once, in the backend's own precision, and the layer factors
//! `A_{l−1}` (scaled layer inputs) and `Δ_l` (signals) of all `n` samples are computed on the
//! host as row-major `n × m` matrices (faer products; `σ`, `σ'` in `f64`). Each symmetric Gram product
//! `A Aᵀ`, `Δ Δᵀ` is then formed as its lower triangle only, by faer's triangular matmul (the
//! x86 AVX-512 / AVX2 gemm kernels, on every core): half the multiply-adds of a full product.
//! The Hadamard products and the layer sum are fused into one pass per layer over the lower
//! triangle, in the working precision; `K` is converted to `f64` and mirrored once at the end.
//!
//! Same arithmetic as the device path (`Σ_l (A Aᵀ) ∘ (Δ Δᵀ) + c_b² Δ Δᵀ`) in the same working
//! precision; only the summation order differs, and `σ(z)` is rounded from `f64`. The tests
//! hold the two paths equal.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Element, Tensor};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use super::TangentKernel;
use crate::measure::elementwise::{vectorized, visit, Loop, Pointwise, Visit};
use crate::model::{download_as, Activation, Mlp};

/// A float the host path computes in: the backend's own `f32` or `f64`.
trait HostFloat:
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

/// One layer's factors on the host, row-major: `inputs` `n × m_{l−1}`, `signals` `n × m_l`.
struct HostLayer<T> {
    inputs: Vec<T>,
    in_width: usize,
    signals: Vec<T>,
    out_width: usize,
}

/// `K(w)` with the Gram products on the host (module docs). The backend's float type decides the
/// working precision of the products.
pub fn structured<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> TangentKernel {
    match x.dtype() {
        DType::F32 => structured_in::<B, f32>(model, x),
        _ => structured_in::<B, f64>(model, x),
    }
}

fn structured_in<B: Backend, T: HostFloat>(model: &Mlp<B>, x: &Tensor<B, 2>) -> TangentKernel {
    use rayon::prelude::*;
    let [n, _] = x.dims();
    let cfg = model.config();
    let bias = T::of(if cfg.bias {
        cfg.bias_multiplier().powi(2)
    } else {
        0.0
    });
    let layers = host_factors::<B, T>(model, x);
    // Σ_l (A Aᵀ + c_b²) ∘ Δ Δᵀ, lower triangle, column-major, in the working precision (as on
    // the device path); columns in parallel, each a contiguous slice.
    let mut acc = Mat::<T>::zeros(n, n);
    let mut ga = Mat::<T>::zeros(n, n);
    let mut gd = Mat::<T>::zeros(n, n);
    for layer in &layers {
        lower_gram(&mut ga, &layer.inputs, layer.in_width);
        lower_gram(&mut gd, &layer.signals, layer.out_width);
        let (ga, gd) = (columns(&ga), columns(&gd));
        acc.par_col_chunks_mut(1).enumerate().for_each(|(j, col)| {
            let col = col.col_mut(0).try_as_col_major_mut().expect("contiguous");
            let (k, a, d) = (&mut col.as_slice_mut()[j..], &ga[j][j..], &gd[j][j..]);
            for ((k, &a), &d) in k.iter_mut().zip(a).zip(d) {
                *k += (a + bias) * d;
            }
        });
    }
    TangentKernel {
        n,
        values: symmetric_row_major(&acc),
    }
}

/// The columns of a column-major matrix as slices.
fn columns<T: HostFloat>(m: &Mat<T>) -> Vec<&[T]> {
    (0..m.ncols())
        .map(|j| {
            m.col(j)
                .try_as_col_major()
                .expect("a Mat's columns are contiguous")
                .as_slice()
        })
        .collect()
}

/// The full symmetric row-major `f64` matrix from the lower triangle of `lower`: column `j` of
/// the lower triangle is row `j` of the upper one (contiguous, rows in parallel); the lower half
/// is then mirrored in place, tile by tile.
fn symmetric_row_major<T: HostFloat>(lower: &Mat<T>) -> Vec<f64> {
    use rayon::prelude::*;
    const TILE: usize = 64;
    let n = lower.nrows();
    let cols = columns(lower);
    let mut values = vec![0.0f64; n * n];
    values.par_chunks_mut(n).enumerate().for_each(|(j, row)| {
        for (v, &k) in row[j..].iter_mut().zip(&cols[j][j..]) {
            *v = k.into();
        }
    });
    for i0 in (0..n).step_by(TILE) {
        for j0 in (0..=i0).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0..(j0 + TILE).min(i) {
                    values[i * n + j] = values[j * n + i];
                }
            }
        }
    }
    values
}

/// The lower triangle of `F Fᵀ` into `dst`, `F` row-major `n × width`.
fn lower_gram<T: HostFloat>(dst: &mut Mat<T>, f: &[T], width: usize) {
    let n = dst.nrows();
    let f = MatRef::from_row_major_slice(f, n, width);
    matmul(
        dst.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        f,
        BlockStructure::Rectangular,
        f.transpose(),
        BlockStructure::Rectangular,
        T::one_impl(),
        parallelism(n * n * width),
    );
}

/// Every core for a product of at least 2²² multiply-adds; one below, where waking the thread
/// pool costs more than it saves (measured: the n = 128 bench cases).
fn parallelism(multiply_adds: usize) -> Par {
    if multiply_adds >= 1 << 22 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// Every layer's factors for all `n` samples, on the host: the weights are downloaded once,
/// and the forward pass `z_l = c_l A_{l−1} W_lᵀ (+ c_b b_l)`, `A_l = σ(z_l)` and the backward
/// recursion `Δ_L+1 = σ_out'(z_{L+1})`, `Δ_l = c_{l+1} (Δ_{l+1} W_{l+1}) ∘ σ'(z_l)` run as faer
/// products on every core, with `σ`, `σ'` evaluated in `f64` and rounded to the working
/// precision. The same recursion as the device path's `layer_factors`.
fn host_factors<B: Backend, T: HostFloat>(model: &Mlp<B>, x: &Tensor<B, 2>) -> Vec<HostLayer<T>> {
    let cfg = model.config();
    let [n, d] = x.dims();
    let weights: Vec<(Vec<T>, usize, usize)> = model
        .weights()
        .into_iter()
        .map(|w| {
            let [out, inp] = w.dims();
            (download_as::<B, T, 2>(w), out, inp)
        })
        .collect();
    let biases: Vec<Vec<T>> = model
        .biases()
        .into_iter()
        .map(download_as::<B, T, 1>)
        .collect();
    let depth = weights.len();
    let mut layers: Vec<HostLayer<T>> = Vec::with_capacity(depth);
    // σ'(z_l) of every layer, filled on the way forward.
    let mut slopes: Vec<Vec<T>> = Vec::with_capacity(depth);
    let mut a = download_as::<B, T, 2>(x.clone());
    let mut width = d;
    // A_0 = c_1 x; each activation below returns c_{l+1} σ(z_l), the next layer's scaled input.
    let c1 = T::of(cfg.weight_multiplier(1));
    a.iter_mut().for_each(|v| *v *= c1);
    for (l, (w, out, inp)) in weights.iter().enumerate() {
        let mut z = vec![T::of(0.0); n * out];
        gemm(
            &mut z,
            rows(&a, n, *inp),
            rows(w, *out, *inp).transpose(),
            T::one_impl(),
            Accum::Replace,
        );
        if let Some(b) = biases.get(l) {
            let cb = T::of(cfg.bias_multiplier());
            for row in z.chunks_mut(*out) {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += cb * *b);
            }
        }
        let act = if l + 1 == depth {
            cfg.output_activation
        } else {
            cfg.activation
        };
        let next_scale = if l + 1 < depth {
            cfg.weight_multiplier(l + 2)
        } else {
            1.0
        };
        let slope = activate(act, &mut z, next_scale);
        layers.push(HostLayer {
            inputs: std::mem::replace(&mut a, z),
            in_width: width,
            signals: vec![],
            out_width: *out,
        });
        slopes.push(slope);
        width = *out;
    }
    // Δ_{L+1} = σ_out'(z_{L+1}); each lower layer's signal from the one above, kept in place.
    layers[depth - 1].signals = slopes.pop().expect("at least one layer");
    for l in (0..depth - 1).rev() {
        let (w, out, inp) = &weights[l + 1];
        let c = T::of(cfg.weight_multiplier(l + 2));
        let mut slope = slopes.pop().expect("one slope per layer");
        let above = &layers[l + 1].signals;
        if *out == 1 {
            // Below the scalar output Δ_{l+1} W_{l+1} is an outer product: formed in place in
            // σ'(z_l), without a product or a second n × m buffer.
            for (row, &d) in slope.chunks_mut(*inp).zip(above) {
                for (s, &wk) in row.iter_mut().zip(w) {
                    *s = c * (d * wk) * *s;
                }
            }
            layers[l].signals = slope;
        } else {
            let mut next = vec![T::of(0.0); n * inp];
            gemm(
                &mut next,
                rows(above, n, *out),
                rows(w, *out, *inp),
                T::one_impl(),
                Accum::Replace,
            );
            next.iter_mut()
                .zip(&slope)
                .for_each(|(v, s)| *v = c * *v * *s);
            layers[l].signals = next;
        }
    }
    layers
}

/// A row-major slice as an `r × c` matrix.
pub(crate) fn rows<T: faer::traits::ComplexField>(
    values: &[T],
    r: usize,
    c: usize,
) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(values, r, c)
}

/// `dst ← scale · a b` (`Accum::Replace`) or `dst + scale · a b` (`Accum::Add`), `dst` row-major
/// `[a rows, b cols]`; faer, on every core for large products ([`parallelism`]).
pub(crate) fn gemm<T: faer::traits::ComplexField>(
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

/// Replaces `z` by `scale · σ(z)` and returns `σ'(z)`, element-wise in `f64` (the closed forms
/// of [`crate::measure::elementwise`], which match `activation_derivative`), in parallel chunks,
/// each compiled for this CPU's vector instructions: one loop per activation.
fn activate<T: HostFloat>(act: Activation, z: &mut [T], scale: f64) -> Vec<T> {
    let mut slope = vec![T::of(0.0); z.len()];
    visit(
        act,
        Activate {
            z,
            slope: &mut slope,
            scale,
        },
    );
    slope
}

/// `z ← scale · σ(z)`, `slope ← σ'(z)`, over parallel chunks.
struct Activate<'a, T> {
    z: &'a mut [T],
    slope: &'a mut [T],
    scale: f64,
}

impl<T: HostFloat> Visit for Activate<'_, T> {
    type Output = ();
    fn visit<P: Pointwise>(self, p: P) {
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 14;
        let scale = self.scale;
        self.z
            .par_chunks_mut(CHUNK)
            .zip(self.slope.par_chunks_mut(CHUNK))
            .for_each(|(z, slope)| vectorized(ActivateChunk { z, slope, scale, p }));
    }
}

/// One chunk of [`Activate`].
struct ActivateChunk<'a, T, P> {
    z: &'a mut [T],
    slope: &'a mut [T],
    scale: f64,
    p: P,
}

impl<T: HostFloat, P: Pointwise> Loop for ActivateChunk<'_, T, P> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        for (z, s) in self.z.iter_mut().zip(self.slope) {
            let (value, derivative, _) = self.p.eval((*z).into());
            *z = T::of(self.scale * value);
            *s = T::of(derivative);
        }
    }
}
