//! The structured kernel's Gram products on the host: the CPU specialization of
//! [`GramPath::Host`](super::GramPath::Host).
//!
//! The network's host forward pass ([`HostForward`], in the backend's own precision, with
//! [`Scaling::Input`]) gives each layer's scaled input `A⁽ˡ⁻¹⁾ = c_l α⁽ˡ⁻¹⁾` (`n × m_{l−1}`) and
//! `σ'`; the signals `Δ_l` (`n·k × m_l`, one row per
//! sample and output unit) follow by the backward recursion (faer products). `K` is then formed
//! in panels of columns ([`panel_width`], 512): for each panel, each layer's Gram products
//! `A Aᵀ = c_l² α αᵀ` (`n × n`, shared by the `k` outputs) and `Δ Δᵀ` (`nk × nk`) are computed
//! on the panel's rows of the lower triangle only (a lower-triangular faer product on the
//! panel's diagonal block, one rectangular GEMM below it; the x86 AVX-512 / AVX2 kernels, on
//! every core): half the multiply-adds of a full product, at
//! the rate of a large GEMM. The Hadamard products and the layer sum are fused into one pass
//! per layer over the panel, in the working precision; the panel is then converted to `f64`
//! and written to its rows and columns of `K`. Memory: `K` (`8 N²` bytes) plus three panels
//! (`3 · 512 N` floats), never a second `N²` buffer (measured, f32, ReLU, d = 32, L = 2,
//! m = 1024, n = 16 384: 7.3–8.3 s and 4.3 GB peak, against 10.7 s and 5.7 GB for the former
//! whole-triangle Gram products, whose three `N²` buffers cost 3.9 s of page faults alone).
//!
//! With `k` outputs, `K[(i,a),(j,b)] = Σ_l (c_l² ⟨α_i, α_j⟩ + c_b²) ⟨Δ_{ia}, Δ_{jb}⟩`: the input
//! Gram is computed once per layer, so `K` costs `k²` times the signal Gram products of `k = 1`
//! and the same input Gram products.
//!
//! Same arithmetic as the device path (`Σ_l (A Aᵀ ⊗ 1) ∘ (Δ Δᵀ) + c_b² Δ Δᵀ`) in the same working
//! precision; only the summation order differs, and `σ(z)` is rounded from `f64`. The tests
//! hold the two paths equal.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use faer::{Accum, MatMut, MatRef};

use super::TangentKernel;
use crate::model::host::{gemm, parallelism, rows, HostFloat, HostForward, Order, Scaling};
use crate::model::Mlp;

/// One layer's signals `Δ_l` on the host, row-major `[n·k, m_l]` (row `i·k + a`: the signal of
/// output `a` of sample `i`).
pub(crate) struct Signals<T> {
    /// `Δ_l` row-major `[n·k, m_l]`.
    pub(crate) values: Vec<T>,
    /// `m_l`.
    pub(crate) width: usize,
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
    let cfg = model.config();
    let bias = T::of(if cfg.bias {
        cfg.bias_multiplier().powi(2)
    } else {
        0.0
    });
    let mut forward = HostForward::<T>::scaled(model, x, Order::First, Scaling::Input);
    let (n, k) = (forward.n, forward.outputs());
    let big = n * k;
    let signals = signals(&mut forward);
    // K in f64, row-major; each panel of columns [j0, j1) of the lower triangle is summed over
    // the layers in the working precision, then written to rows j (the upper triangle) and
    // columns j (the lower) of `values`.
    let mut values = vec![0.0f64; big * big];
    let width = panel_width(big, k);
    let mut ga = vec![T::of(0.0); n * width / k];
    let mut gd = vec![T::of(0.0); big * width];
    let mut acc = vec![T::of(0.0); big * width];
    for j0 in (0..big).step_by(width) {
        let (j1, rows) = ((j0 + width).min(big), big - j0);
        let cols = j1 - j0;
        let (s0, s1) = (j0 / k, j1 / k);
        let acc = &mut acc[..rows * cols];
        acc.fill(T::of(0.0));
        for (layer, signal) in forward.layers.iter().zip(&signals) {
            // The inputs carry c_l already (Scaling::Input): A Aᵀ = c_l² α αᵀ.
            let ga = panel_gram(&mut ga, &layer.input, layer.in_width, n, s0, s1);
            let gd = panel_gram(&mut gd, &signal.values, signal.width, big, j0, j1);
            let sample_rows = n - s0;
            acc.par_chunks_mut(rows)
                .zip(gd.par_chunks(rows))
                .enumerate()
                .for_each(|(c, (acc, gd))| {
                    // Rows r ≥ c of column c: the lower triangle.
                    let (acc, d) = (&mut acc[c..], &gd[c..]);
                    if k == 1 {
                        let a = &ga[c * sample_rows + c..(c + 1) * sample_rows];
                        for ((kc, &a), &d) in acc.iter_mut().zip(a).zip(d) {
                            *kc += (a + bias) * d;
                        }
                    } else {
                        // Row i' = i·k + a of column j = j'·k + b: the input Gram entry (i, j').
                        let a_col = &ga[(c / k) * sample_rows..(c / k + 1) * sample_rows];
                        let first = j0 + c;
                        for (r, (kc, &d)) in acc.iter_mut().zip(d).enumerate() {
                            *kc += (a_col[(first + r) / k - s0] + bias) * d;
                        }
                    }
                });
        }
        write_panel(&mut values, acc, big, j0, j1);
    }
    TangentKernel { n: big, values }
}

/// Columns per panel: 512 (a multiple of `k`, at most `N`), so that each panel's Gram products
/// are rectangular GEMMs at the machine's rate and the panel buffers (`3 · 512 N` floats) stay
/// far below `N²`.
fn panel_width(big: usize, k: usize) -> usize {
    let width = (512 / k).max(1) * k;
    width.min(big)
}

/// Columns `[j0, j1)` of `F Fᵀ`, rows `j0 … total`, column-major into the front of `dst`
/// (`F` row-major `total × width`); returns that part of `dst`. Only the lower triangle is
/// computed: the panel's diagonal block by faer's lower-triangular product (half its
/// multiply-adds, which matters where one panel is the whole kernel, n ≤ 512), the rows below
/// it by one rectangular GEMM.
fn panel_gram<'d, T: HostFloat>(
    dst: &'d mut [T],
    f: &[T],
    width: usize,
    total: usize,
    j0: usize,
    j1: usize,
) -> &'d [T] {
    use faer::linalg::matmul::triangular::{self, BlockStructure};
    let (rows, cols) = (total - j0, j1 - j0);
    let f = MatRef::from_row_major_slice(f, total, width);
    let dst = &mut dst[..rows * cols];
    let (diagonal, below) =
        MatMut::from_column_major_slice_mut(dst, rows, cols).split_at_row_mut(cols);
    let panel = f.subrows(j0, cols).transpose();
    // The diagonal block's lower triangle only (its upper part is left as it was, never read).
    triangular::matmul(
        diagonal,
        BlockStructure::TriangularLower,
        Accum::Replace,
        f.subrows(j0, cols),
        BlockStructure::Rectangular,
        panel,
        BlockStructure::Rectangular,
        T::one_impl(),
        parallelism(cols * cols * width / 2),
    );
    faer::linalg::matmul::matmul(
        below,
        Accum::Replace,
        f.subrows(j1, rows - cols),
        panel,
        T::one_impl(),
        parallelism((rows - cols) * cols * width),
    );
    dst
}

/// Writes the panel `acc` (column-major, rows `j0 … N`, columns `[j0, j1)`, lower triangle
/// valid) into the row-major `values` as `f64`: row `i` takes columns `[j0, min(i, j1))` (the
/// lower triangle, one entry from each panel column, consecutive rows reading neighbouring
/// entries) and, for `i < j1`, columns `[i, N)` (the upper triangle: panel column `i − j0`).
fn write_panel<T: HostFloat>(values: &mut [f64], acc: &[T], big: usize, j0: usize, j1: usize) {
    use rayon::prelude::*;
    let rows = big - j0;
    values[j0 * big..]
        .par_chunks_mut(big)
        .enumerate()
        .with_min_len(64)
        .for_each(|(r, row)| {
            let i = j0 + r;
            for (c, v) in row[j0..i.min(j1)].iter_mut().enumerate() {
                *v = acc[c * rows + r].into();
            }
            if i < j1 {
                let column = &acc[r * rows + r..(r + 1) * rows];
                for (v, &a) in row[i..].iter_mut().zip(column) {
                    *v = a.into();
                }
            }
        });
}

/// The signals `Δ_l` of every layer, from the output down: `Δ_{L+1}` has row `i·k + a` equal to
/// `σ_out'(z_{ia}) e_a`, and `Δ_l = c_{l+1} (Δ_{l+1} W⁽ˡ⁺¹⁾) ∘ σ'(z⁽ˡ⁾)` (row `i·k + a` takes
/// sample `i`'s `σ'`). Just below the output `Δ_{L+1} W⁽ᴸ⁺¹⁾` has rows `σ_out'(z_{ia}) W⁽ᴸ⁺¹⁾_a`
/// and is formed in place, without a product. The same recursion as the device path's
/// `layer_factors`. With `k = 1` each `Δ_l` takes over the buffer of `σ'(z⁽ˡ⁾)`, which the
/// forward pass no longer holds afterwards.
pub(crate) fn signals<T: HostFloat>(forward: &mut HostForward<T>) -> Vec<Signals<T>> {
    let (n, depth) = (forward.n, forward.layers.len());
    let k = forward.outputs();
    let top = forward.last().slope.clone();
    let mut out: Vec<Signals<T>> = Vec::with_capacity(depth);
    out.push(Signals {
        values: if k == 1 {
            top.clone()
        } else {
            let mut d = vec![T::of(0.0); n * k * k];
            for (r, &s) in top.iter().enumerate() {
                d[r * k + r % k] = s;
            }
            d
        },
        width: k,
    });
    // With k = 1, Δ_l has σ'(z⁽ˡ⁾)'s shape and is formed in its buffer, taken from the forward
    // pass (which needs it no more): one n × m_l buffer fewer to allocate and touch per layer.
    // The products below the top go through one scratch buffer. The arithmetic is unchanged.
    let mut scratch: Vec<T> = vec![];
    for l in (0..depth - 1).rev() {
        let (lower, upper) = forward.layers.split_at_mut(l + 1);
        let (above_layer, below) = (&upper[0], &mut lower[l]);
        let (w, inp) = (&above_layer.weights, below.out_width);
        let c = T::of(above_layer.scale);
        let above = &out.last().expect("the layer above").values;
        let in_place = k == 1;
        let mut next = if in_place {
            std::mem::take(&mut below.slope)
        } else {
            vec![T::of(0.0); n * k * inp]
        };
        if l + 2 == depth {
            for (r, row) in next.chunks_mut(inp).enumerate() {
                let (i, a) = (r / k, r % k);
                let d = top[r];
                let wa = &w[a * inp..(a + 1) * inp];
                if in_place {
                    for (v, &wk) in row.iter_mut().zip(wa) {
                        *v = c * (d * wk) * *v;
                    }
                } else {
                    let slope = &below.slope[i * inp..][..inp];
                    for ((v, &wk), &s) in row.iter_mut().zip(wa).zip(slope) {
                        *v = c * (d * wk) * s;
                    }
                }
            }
        } else {
            let out_width = above_layer.out_width;
            let product = if in_place {
                scratch.resize(n * inp, T::of(0.0));
                &mut scratch
            } else {
                &mut next
            };
            gemm(
                product,
                rows(above, n * k, out_width),
                rows(w, out_width, inp),
                T::one_impl(),
                Accum::Replace,
            );
            if in_place {
                next.iter_mut()
                    .zip(&scratch)
                    .for_each(|(v, &g)| *v = c * g * *v);
            } else {
                for (r, row) in next.chunks_mut(inp).enumerate() {
                    let slope = &below.slope[(r / k) * inp..][..inp];
                    row.iter_mut()
                        .zip(slope)
                        .for_each(|(v, &s)| *v = c * *v * s);
                }
            }
        }
        out.push(Signals {
            values: next,
            width: inp,
        });
    }
    out.reverse();
    out
}
