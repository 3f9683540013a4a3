//! The proved bound for depth `L ≥ 2`: `β̄_F(r) ≥ sup_{w ∈ B(w₀, r)} ‖H_F(w)‖` for an MLP with
//! `L` hidden layers of a twice-differentiable σ and an identity output, from norms measured at
//! `w₀` and deterministic deviation bounds over the ball (docs/THEORY.md, "The proved bound,
//! depth L", gives every step and its justification).
//!
//! It follows the induction over layers of Liu, Zhu & Belkin, "On the linearity of large
//! non-linear models" (NeurIPS 2020, arXiv 2010.01092, Theorem 3.2 and Appendix), with each
//! "with high probability" norm replaced by its value at `w₀` plus what the ball can add to it:
//!
//! - **forward**, the derivative of each layer's pre-activations along a unit direction `u` of
//!   the parameters, over all samples (`J_l`, Frobenius) and per sample (`j_l`), as vectors of
//!   coefficients over the parameter blocks `t = (‖u⁽¹⁾‖, …, ‖u⁽ᴸ⁾‖, ‖u_V‖)`:
//!   `J_l = c_l ω_l s₁ J_{l−1} + A_{l−1} e_l`, with `A_{l−1} = ‖Ã⁽ˡ⁻¹⁾(w₀)‖₂ + c_l s₁ ‖J_{l−1}‖ r`
//!   the augmented layer input's spectral norm and `ω_l = ‖W₀⁽ˡ⁾‖₂ + r`;
//! - **backward**, the gradient `γ⁽ˡ⁾ = ∂(ζᵀF_i)/∂α⁽ˡ⁾` of a unit output weighting `ζ`, in `ℓ₂`
//!   (`Γ₂_l = c_{l+1} ω_{l+1} s₁ Γ₂_{l+1}`) and in `ℓ_∞` (`Γ_∞,l = γ⁰_l + ‖D_l‖ r`, its value at
//!   `w₀` plus the largest rate `D_l` at which the ball can move it): the `ℓ_∞` norm is the
//!   `m^{−½}` of the theorem, which a product of spectral norms would lose;
//! - **assembly**: the second directional derivative of `Σ_{ia} Z_{ia} F_{ia}` is a sum of the
//!   curvature terms `⟨γ⁽ˡ⁾, σ''(z⁽ˡ⁾) ∘ (δz⁽ˡ⁾)²⟩`, the cross terms `2 c_l ⟨σ' ∘ γ⁽ˡ⁾,
//!   U⁽ˡ⁾ δα⁽ˡ⁻¹⁾⟩` and the output's `2 c_{L+1} ⟨Z, U_V δα⁽ᴸ⁾⟩`; each is bounded by a quadratic
//!   form `tᵀ M t` with non-negative coefficients, so `β̄_F(r) = λ_max(M)`, `M` of size `L + 1`.
//!
//! Every quantity is non-decreasing in `r`, so `β̄_F` is: a polynomial in `r`, not affine.
//! In the NTK parameterization `c_l ω_l`, `c_l A_{l−1}`, `Γ₂` are of order 1 and `Γ_∞`, `D`,
//! `c_l` of order `m^{−½}`, so `β̄_F √m` is flat in `m` at a fixed `r`.
//!
//! **Floating point.** At `w₀`, in `f64`: spectral norms by an eigensolve of the smaller Gram
//! matrix plus `(rows + cols + 2) u₆₄ ‖·‖_F²`; row norms rounded up by `(cols + 3) u₆₄`; the
//! back-propagated `γ⁰_l` by the same products carried in absolute values, whose
//! `Σ_q (m_q + 4) u₆₄` multiple bounds each entry's accumulated error to first order in `u₆₄`.
//! The recursion itself adds and multiplies non-negative numbers only (no cancellation), and its
//! result is rounded up by `16 (L + 2)² u₆₄`. Proved up to those margins.
//!
//! Cost at `w₀`: one forward pass, `2k` backward passes over all samples
//! (`2 k n Σ_l m_l m_{l−1}` multiply-adds), and eigensolves of the Gram matrices of each
//! `W⁽ˡ⁾` (`min(m_l, m_{l−1})³`, the largest cost at `m ≥ 2048`) and of each layer's inputs
//! (`n³`). Each evaluation of `β̄_F(r)`: `O(L²)`.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use faer::Accum;
use serde::{Deserialize, Serialize};

use crate::measure::roundoff::UNIT_ROUNDOFF_F64;
use crate::model::host::{gemm, rows, HostForward, Order};
use crate::model::Mlp;

/// The norms at `w₀` that the depth-`L` bound rests on (module docs), all rounded up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeepBound {
    /// `c₁ … c_{L+1}`, the layer multipliers.
    pub multipliers: Vec<f64>,
    /// `‖Ã⁽ˡ⁾(w₀)‖₂` for `l = 0 … L−1`: the augmented input of layer `l + 1`,
    /// `Ã⁽ˡ⁾ = [c_{l+1} α⁽ˡ⁾, c_b 1]` (`n × (m_l + 1)`; without biases `c_{l+1} α⁽ˡ⁾`).
    pub layer_input_norms: Vec<f64>,
    /// `max_i ‖ã_i⁽ˡ⁾(w₀)‖₂` for `l = 0 … L−1` (the rows of the same matrices).
    pub layer_input_row_norms: Vec<f64>,
    /// `‖W₀⁽ˡ⁾‖₂` for `l = 2 … L+1` (the last is the output layer `V₀`).
    pub weight_norms: Vec<f64>,
    /// `γ⁰_l = max_{i, j} (Σ_a (∂F_{ia}/∂α_j⁽ˡ⁾)²)^{½}` at `w₀`, `l = 1 … L` (`l = L`:
    /// `c_{L+1} max_j ‖V₀_{·j}‖₂`).
    pub backprop_inf_norms: Vec<f64>,
}

/// `v += s · e` for a coefficient vector.
fn axpy(v: &mut [f64], s: f64, e: &[f64]) {
    v.iter_mut().zip(e).for_each(|(v, e)| *v += s * e);
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|v| v * v).sum::<f64>().sqrt()
}

impl DeepBound {
    /// Hidden layers `L`.
    pub fn depth(&self) -> usize {
        self.multipliers.len() - 1
    }

    /// `β̄_F(r)` for a hidden activation with `sup|σ'| = s1`, `sup|σ''| = s2` (module docs).
    pub fn at(&self, r: f64, s1: f64, s2: f64) -> f64 {
        let depth = self.depth();
        let blocks = depth + 1; // t_1 … t_L, t_V
        let c = |l: usize| self.multipliers[l - 1];
        let omega = |l: usize| self.weight_norms[l - 2] + r;
        let unit = |b: usize| {
            let mut e = vec![0.0; blocks];
            e[b] = 1.0;
            e
        };
        // Forward: J_l (all samples) and j_l (one sample), l = 1 … L, at index l − 1.
        let (mut big, mut small): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![], vec![]);
        for l in 1..=depth {
            let (mut jb, mut js) = (vec![0.0; blocks], vec![0.0; blocks]);
            let (mut a, mut rho) = (
                self.layer_input_norms[l - 1],
                self.layer_input_row_norms[l - 1],
            );
            if l >= 2 {
                let (pb, ps) = (&big[l - 2], &small[l - 2]);
                a += c(l) * s1 * norm(pb) * r;
                rho += c(l) * s1 * norm(ps) * r;
                axpy(&mut jb, c(l) * omega(l) * s1, pb);
                axpy(&mut js, c(l) * omega(l) * s1, ps);
            }
            jb[l - 1] += a;
            js[l - 1] += rho;
            big.push(jb);
            small.push(js);
        }
        // Backward: Γ₂_l, Γ_∞,l and the rate D_l, l = L … 1, at index l − 1.
        let mut g2 = vec![0.0; depth];
        let mut ginf = vec![0.0; depth];
        let mut rate = vec![vec![0.0; blocks]; depth];
        g2[depth - 1] = c(depth + 1) * omega(depth + 1);
        rate[depth - 1] = unit(depth).iter().map(|e| e * c(depth + 1)).collect();
        ginf[depth - 1] = self.backprop_inf_norms[depth - 1] + c(depth + 1) * r;
        for l in (1..depth).rev() {
            let (cc, om) = (c(l + 1), omega(l + 1));
            g2[l - 1] = cc * om * s1 * g2[l];
            let mut d = unit(l)
                .iter()
                .map(|e| e * cc * s1 * g2[l])
                .collect::<Vec<_>>();
            axpy(&mut d, cc * om * s2 * ginf[l], &small[l]);
            axpy(&mut d, cc * om * s1, &rate[l]);
            ginf[l - 1] = self.backprop_inf_norms[l - 1] + norm(&d) * r;
            rate[l - 1] = d;
        }
        // Assembly: M with tᵀ M t bounding |D²(Σ Z F)[u, u]|.
        let mut m = faer::Mat::<f64>::zeros(blocks, blocks);
        let mut add = |s: f64, a: &[f64], b: &[f64]| {
            for i in 0..blocks {
                for k in 0..blocks {
                    m[(i, k)] += 0.5 * s * (a[i] * b[k] + b[i] * a[k]);
                }
            }
        };
        for l in 1..=depth {
            add(s2 * ginf[l - 1], &small[l - 1], &big[l - 1]);
            if l >= 2 {
                add(2.0 * c(l) * s1 * s1 * g2[l - 1], &unit(l - 1), &big[l - 2]);
            }
        }
        add(2.0 * c(depth + 1) * s1, &unit(depth), &big[depth - 1]);
        let frobenius = m.norm_l2();
        let top = m
            .self_adjoint_eigenvalues(faer::Side::Lower)
            .map(|e| e.into_iter().fold(0.0, f64::max))
            .unwrap_or(frobenius);
        let margin = 16.0 * ((depth + 2) * (depth + 2)) as f64 * UNIT_ROUNDOFF_F64;
        (top + (blocks + 2) as f64 * UNIT_ROUNDOFF_F64 * frobenius) * (1.0 + margin)
    }
}

/// `‖M‖₂` of a row-major `r × c` matrix, rounded up: [`spectral_norm_of`] with the margin
/// `(r + c + 2) u₆₄ ‖M‖_F²`.
pub fn spectral_norm_upper(values: &[f64], r: usize, c: usize) -> f64 {
    spectral_norm_of(rows(values, r, c), r + c + 2)
}

/// `√(λ_max(G) + terms · u₆₄ ‖M‖_F²)`, `G` the smaller of `MᵀM` and `MMᵀ`, formed and
/// eigensolved in `f64` (faer): the margin covers the Gram product's round-off (`terms ≥` the
/// length of its sums, Higham §3.5) and the symmetric eigensolver's backward error.
pub fn spectral_norm_of(mat: faer::MatRef<'_, f64>, terms: usize) -> f64 {
    let gram = if mat.ncols() <= mat.nrows() {
        mat.transpose() * mat
    } else {
        mat * mat.transpose()
    };
    let frobenius2: f64 = (0..gram.nrows()).map(|i| gram[(i, i)]).sum();
    let top = gram
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .map(|e| e.into_iter().fold(0.0, f64::max))
        .unwrap_or(frobenius2);
    (top.max(0.0) + terms as f64 * UNIT_ROUNDOFF_F64 * frobenius2).sqrt()
}

/// The norms of [`DeepBound`] for `model` (depth `L ≥ 1`, identity output) on the inputs `x`
/// `[n, d]`, in `f64` (module docs).
pub fn measure<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> DeepBound {
    let cfg = model.config();
    let depth = cfg.depth();
    assert!(depth >= 1, "the deep bound needs a hidden layer");
    let fwd = HostForward::<f64>::at(model, x, Order::First);
    let n = fwd.n;
    let k = fwd.outputs();
    let cb = fwd.bias;
    let u = UNIT_ROUNDOFF_F64;
    let multipliers: Vec<f64> = fwd.layers.iter().map(|l| l.scale).collect();
    let (mut layer_input_norms, mut layer_input_row_norms) = (vec![], vec![]);
    for layer in &fwd.layers[..depth] {
        let (m, c) = (layer.in_width, layer.scale);
        let cols = m + usize::from(cb.is_some());
        let mut aug = Vec::with_capacity(n * cols);
        for row in layer.input.chunks(m) {
            aug.extend(row.iter().map(|v| c * v));
            aug.extend(cb);
        }
        layer_input_norms.push(spectral_norm_upper(&aug, n, cols));
        let row_max = aug.chunks(cols).map(norm).fold(0.0, f64::max);
        layer_input_row_norms.push(row_max * (1.0 + (cols + 3) as f64 * u));
    }
    let weight_norms = fwd.layers[1..]
        .iter()
        .map(|l| spectral_norm_upper(&l.weights, l.out_width, l.in_width))
        .collect();
    // γ⁰_l: for each output a, the rows ∂F_{ia}/∂α⁽ˡ⁾ over all samples i, by back-propagation;
    // the same products in absolute values bound their round-off.
    let widths: Vec<usize> = fwd.layers.iter().map(|l| l.in_width).collect(); // m_0 … m_L
    let mut squares: Vec<Vec<f64>> = (1..=depth).map(|l| vec![0.0; n * widths[l]]).collect();
    let output = fwd.last();
    for a in 0..k {
        let v = &output.weights[a * widths[depth]..(a + 1) * widths[depth]];
        let mut g: Vec<f64> = (0..n)
            .flat_map(|_| v.iter().map(|v| output.scale * v))
            .collect();
        let mut g_abs: Vec<f64> = g.iter().map(|v| v.abs()).collect();
        let mut error = 0.0; // the relative multiple of g_abs that bounds |ĝ − g|
        for l in (1..=depth).rev() {
            if l < depth {
                let next = &fwd.layers[l]; // layer l + 1
                let (out, inp) = (next.out_width, next.in_width);
                let weights_abs: Vec<f64> = next.weights.iter().map(|v| v.abs()).collect();
                let mut product = vec![0.0; n * inp];
                let mut product_abs = vec![0.0; n * inp];
                g.iter_mut().zip(&next.slope).for_each(|(g, s)| *g *= s);
                g_abs
                    .iter_mut()
                    .zip(&next.slope)
                    .for_each(|(g, s)| *g *= s.abs());
                gemm(
                    &mut product,
                    rows(&g, n, out),
                    rows(&next.weights, out, inp),
                    next.scale,
                    Accum::Replace,
                );
                gemm(
                    &mut product_abs,
                    rows(&g_abs, n, out),
                    rows(&weights_abs, out, inp),
                    next.scale,
                    Accum::Replace,
                );
                g = product;
                g_abs = product_abs;
                error += (out + 4) as f64 * u;
            }
            let sq = &mut squares[l - 1];
            for ((s, g), ga) in sq.iter_mut().zip(&g).zip(&g_abs) {
                let upper = g.abs() + (error + 2.0 * u) * ga;
                *s += upper * upper;
            }
        }
    }
    let backprop_inf_norms = squares
        .iter()
        .map(|sq| sq.iter().fold(0.0, |m: f64, v| m.max(*v)).sqrt() * (1.0 + (k + 2) as f64 * u))
        .collect();
    DeepBound {
        multipliers,
        layer_input_norms,
        layer_input_row_norms,
        weight_norms,
        backprop_inf_norms,
    }
}
