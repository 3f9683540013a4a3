//! The structured kernel's Gram products on the host: the CPU specialization of
//! [`GramPath::Host`](super::GramPath::Host).
//!
//! The network's host forward pass ([`HostForward`], in the backend's own precision, with
//! [`Scaling::Input`]) gives each layer's scaled input `A⁽ˡ⁻¹⁾ = c_l α⁽ˡ⁻¹⁾` (`n × m_{l−1}`) and
//! `σ'`; the signals `Δ_l` (`n·k × m_l`, one row per
//! sample and output unit) follow by the backward recursion (faer products). Each symmetric Gram
//! product `A Aᵀ = c_l² α αᵀ` (`n × n`, shared by the `k` outputs) and `Δ Δᵀ` (`nk × nk`) is then formed
//! as its lower triangle only, by faer's triangular matmul (the x86 AVX-512 / AVX2 gemm kernels,
//! on every core): half the multiply-adds of a full product. The Hadamard products and the layer
//! sum are fused into one pass per layer over the lower triangle, in the working precision; `K`
//! is converted to `f64` and mirrored once at the end.
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
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, MatRef};

use super::TangentKernel;
use crate::model::host::{gemm, parallelism, rows, HostFloat, HostForward, Order, Scaling};
use crate::model::Mlp;

/// One layer's signals `Δ_l` on the host, row-major `[n·k, m_l]` (row `i·k + a`: the signal of
/// output `a` of sample `i`).
struct Signals<T> {
    values: Vec<T>,
    width: usize,
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
    let forward = HostForward::<T>::scaled(model, x, Order::First, Scaling::Input);
    let (n, k) = (forward.n, forward.outputs());
    let big = n * k;
    let signals = signals(&forward);
    // Σ_l (c_l² α αᵀ ⊗ 1_{k×k} + c_b²) ∘ Δ Δᵀ, lower triangle, column-major, in the working
    // precision (as on the device path); columns in parallel, each a contiguous slice.
    let mut acc = Mat::<T>::zeros(big, big);
    let mut ga = Mat::<T>::zeros(n, n);
    let mut gd = Mat::<T>::zeros(big, big);
    for (layer, signal) in forward.layers.iter().zip(&signals) {
        // The inputs carry c_l already (Scaling::Input): A Aᵀ = c_l² α αᵀ.
        lower_gram(&mut ga, &layer.input, layer.in_width, T::one_impl());
        lower_gram(&mut gd, &signal.values, signal.width, T::one_impl());
        let (ga, gd) = (columns(&ga), columns(&gd));
        acc.par_col_chunks_mut(1).enumerate().for_each(|(j, col)| {
            let col = col.col_mut(0).try_as_col_major_mut().expect("contiguous");
            let (kc, d) = (&mut col.as_slice_mut()[j..], &gd[j][j..]);
            if k == 1 {
                for ((kc, &a), &d) in kc.iter_mut().zip(&ga[j][j..]).zip(d) {
                    *kc += (a + bias) * d;
                }
            } else {
                // Row i' = i·k + a of column j = j'·k + b: the input Gram entry (i, j').
                let a_col = ga[j / k];
                for (r, (kc, &d)) in kc.iter_mut().zip(d).enumerate() {
                    *kc += (a_col[(j + r) / k] + bias) * d;
                }
            }
        });
    }
    TangentKernel {
        n: big,
        values: symmetric_row_major(&acc),
    }
}

/// The signals `Δ_l` of every layer, from the output down: `Δ_{L+1}` has row `i·k + a` equal to
/// `σ_out'(z_{ia}) e_a`, and `Δ_l = c_{l+1} (Δ_{l+1} W⁽ˡ⁺¹⁾) ∘ σ'(z⁽ˡ⁾)` (row `i·k + a` takes
/// sample `i`'s `σ'`). Just below the output `Δ_{L+1} W⁽ᴸ⁺¹⁾` has rows `σ_out'(z_{ia}) W⁽ᴸ⁺¹⁾_a`
/// and is formed in place, without a product. The same recursion as the device path's
/// `layer_factors`.
fn signals<T: HostFloat>(forward: &HostForward<T>) -> Vec<Signals<T>> {
    let (n, depth) = (forward.n, forward.layers.len());
    let k = forward.outputs();
    let top = &forward.last().slope;
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
    for l in (0..depth - 1).rev() {
        let (above_layer, below) = (&forward.layers[l + 1], &forward.layers[l]);
        let (w, inp) = (&above_layer.weights, below.out_width);
        let c = T::of(above_layer.scale);
        let above = &out.last().expect("the layer above").values;
        let mut next = vec![T::of(0.0); n * k * inp];
        if l + 2 == depth {
            for (r, row) in next.chunks_mut(inp).enumerate() {
                let (i, a) = (r / k, r % k);
                let d = top[r];
                let (wa, slope) = (&w[a * inp..(a + 1) * inp], &below.slope[i * inp..][..inp]);
                for ((v, &wk), &s) in row.iter_mut().zip(wa).zip(slope) {
                    *v = c * (d * wk) * s;
                }
            }
        } else {
            let out_width = above_layer.out_width;
            gemm(
                &mut next,
                rows(above, n * k, out_width),
                rows(w, out_width, inp),
                T::one_impl(),
                Accum::Replace,
            );
            for (r, row) in next.chunks_mut(inp).enumerate() {
                let slope = &below.slope[(r / k) * inp..][..inp];
                row.iter_mut()
                    .zip(slope)
                    .for_each(|(v, &s)| *v = c * *v * s);
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

/// The lower triangle of `alpha · F Fᵀ` into `dst`, `F` row-major `n × width`.
fn lower_gram<T: HostFloat>(dst: &mut Mat<T>, f: &[T], width: usize, alpha: T) {
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
        alpha,
        parallelism(n * n * width),
    );
}
