//! Second-order products of the MLP on the host: the CPU specialization of
//! [`DerivativePath::Host`](super::DerivativePath::Host).
//!
//! The weights and inputs are downloaded once and the forward pass at `w` is kept in `f64`: every
//! layer's input `α⁽ˡ⁻¹⁾` and `σ'(z⁽ˡ⁾)`, `σ''(z⁽ˡ⁾)`. A product then costs a few matrix
//! products per layer and no activation evaluation: the many products Lanczos and the card's
//! searches take at one point share one forward pass. With `c_l`, `c_b` the layer multipliers
//! of [`crate::model`], the passes are (rows are samples, `V⁽ˡ⁾`, `v_b⁽ˡ⁾` the direction's blocks):
//!
//! ```text
//! tangent (R-op):  ż⁽ˡ⁾ = c_l (α̇⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + α⁽ˡ⁻¹⁾ V⁽ˡ⁾ᵀ) + c_b v_b⁽ˡ⁾,   α̇⁽ˡ⁾ = σ'(z⁽ˡ⁾) ∘ ż⁽ˡ⁾,  α̇⁽⁰⁾ = 0
//!                  DF v = σ_out'(z⁽ᴸ⁺¹⁾) ∘ ż⁽ᴸ⁺¹⁾
//! reverse, cotangent c on F and its tangent ċ:
//!                  δ⁽ᴸ⁺¹⁾ = c ∘ σ_out',   δ̇⁽ᴸ⁺¹⁾ = ċ ∘ σ_out' + c ∘ σ_out'' ∘ ż⁽ᴸ⁺¹⁾
//!                  (∇²g v)_{W⁽ˡ⁾} = c_l (δ̇⁽ˡ⁾ᵀ α⁽ˡ⁻¹⁾ + δ⁽ˡ⁾ᵀ α̇⁽ˡ⁻¹⁾),   (∇²g v)_{b⁽ˡ⁾} = c_b Σ_rows δ̇⁽ˡ⁾
//!                  g = c_l δ⁽ˡ⁾ W⁽ˡ⁾,   ġ = c_l (δ̇⁽ˡ⁾ W⁽ˡ⁾ + δ⁽ˡ⁾ V⁽ˡ⁾)
//!                  δ⁽ˡ⁻¹⁾ = g ∘ σ'(z⁽ˡ⁻¹⁾),   δ̇⁽ˡ⁻¹⁾ = ġ ∘ σ'(z⁽ˡ⁻¹⁾) + g ∘ σ''(z⁽ˡ⁻¹⁾) ∘ ż⁽ˡ⁻¹⁾
//! ```
//!
//! For `g = zᵀF`: `c = z`, `ċ = 0`. For the loss `½‖F − y‖²`: `c = F − y`, `ċ = DF v`. The
//! second directional derivative `D²F[u, u]` is a second-order forward pass:
//! `z̈⁽ˡ⁾ = c_l (α̈⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + 2 α̇⁽ˡ⁻¹⁾ U⁽ˡ⁾ᵀ)`, `α̈⁽ˡ⁾ = σ'' ∘ ż⁽ˡ⁾² + σ' ∘ z̈⁽ˡ⁾`.
//!
//! Everything runs in `f64` whatever the backend's precision: the weights are the backend's own
//! values (an `f32` model's `f32` weights, widened exactly), so the products are those of the same
//! function, with less round-off than the device path in `f32`. The tests hold these products
//! equal to the second-order reverse mode of [`super::hessian_vector_product`] and to finite
//! differences.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use faer::Accum;

use crate::model::host::{gemm, rows, HostForward, HostLayer, Order};
use crate::model::Mlp;

/// The first-order forward pass along a direction: `ż⁽ˡ⁾` of every layer and `α̇⁽ˡ⁾` of every
/// hidden layer, row-major `[n, m_l]`.
struct Tangents {
    z_dot: Vec<Vec<f64>>,
    a_dot: Vec<Vec<f64>>,
}

/// The MLP's forward pass at one point `w`, on the host, ready for many products: in `f64`
/// (the default, and the only float of the second-order products). The matrix-free tangent
/// kernel does not use it: its products run on the Jacobian's factors
/// ([`crate::measure::kernel::operator`]).
pub struct HostPoint {
    n: usize,
    layers: Vec<HostLayer<f64>>,
    /// `c_b` when the model has biases.
    bias: Option<f64>,
    /// `F(w)` `[n·k]` (sample-major).
    output: Vec<f64>,
}

impl HostPoint {
    /// The forward pass of `model` on `x` `[n, d]` ([`HostForward`] in `f64`, keeping `σ''`).
    pub fn at<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>) -> Self {
        let HostForward {
            n,
            layers,
            bias,
            output,
            ..
        } = HostForward::<f64>::at(model, x, Order::Second);
        Self {
            n,
            layers,
            bias,
            output,
        }
    }

    /// `∇²g(w) v` and `DF(w) v` for the `g` whose gradient is `DF(w)ᵀ c`: with
    /// `residual_cotangent = false`, `c` is fixed and `g = cᵀF`; with `true`, `c = F(w) − y` is the
    /// loss's residual, which moves with `w` (tangent `DF v`), and `g = ½‖F − y‖²`.
    pub fn hvp(&self, c: &[f64], residual_cotangent: bool, v: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = self.n;
        let Tangents { z_dot: zd, a_dot } = self.tangents(v);
        let blocks_v = self.blocks(v);
        let last = self.last();
        let jv = hadamard(&last.slope, zd.last().expect("at least one layer"));
        let mut delta = hadamard(c, &last.slope);
        let mut delta_dot: Vec<f64> = (0..c.len())
            .map(|i| {
                let cd = if residual_cotangent { jv[i] } else { 0.0 };
                cd * last.slope[i] + c[i] * last.curvature[i] * zd[zd.len() - 1][i]
            })
            .collect();
        let mut blocks: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate().rev() {
            // α̇⁽ˡ⁻¹⁾ = σ'(z⁽ˡ⁻¹⁾) ∘ ż⁽ˡ⁻¹⁾ (zero for the first layer: x does not move).
            let mut block = self.parameter_block(layer, &delta_dot);
            if let Some(a_dot) = l.checked_sub(1).map(|below| &a_dot[below]) {
                gemm(
                    &mut block[..layer.out_width * layer.in_width],
                    rows(&delta, n, layer.out_width).transpose(),
                    rows(a_dot, n, layer.in_width),
                    layer.scale,
                    Accum::Add,
                );
            }
            if l > 0 {
                let below = &self.layers[l - 1];
                let (vw, _) = blocks_v[l];
                let (w_rows, d_rows) = (
                    rows(&layer.weights, layer.out_width, layer.in_width),
                    rows(&delta, n, layer.out_width),
                );
                let mut g = vec![0.0; n * layer.in_width];
                gemm(&mut g, d_rows, w_rows, layer.scale, Accum::Replace);
                let mut g_dot = vec![0.0; n * layer.in_width];
                gemm(
                    &mut g_dot,
                    rows(&delta_dot, n, layer.out_width),
                    w_rows,
                    layer.scale,
                    Accum::Replace,
                );
                gemm(
                    &mut g_dot,
                    d_rows,
                    rows(vw, layer.out_width, layer.in_width),
                    layer.scale,
                    Accum::Add,
                );
                delta_dot = (0..g.len())
                    .map(|i| g_dot[i] * below.slope[i] + g[i] * below.curvature[i] * zd[l - 1][i])
                    .collect();
                delta = hadamard(&g, &below.slope);
            }
            blocks.push(block);
        }
        (blocks.into_iter().rev().flatten().collect(), jv)
    }

    /// `D²F(w)[u, u] ∈ ℝ^{n·k}`, `(uᵀ H_{F_r} u)_r` (sample-major `r = i·k + a`): the second-order
    /// forward pass.
    pub fn second_derivative(&self, u: &[f64]) -> Vec<f64> {
        let n = self.n;
        let blocks = self.blocks(u);
        // α̇⁽ˡ⁻¹⁾ and α̈⁽ˡ⁻¹⁾ (none for the first layer).
        let mut moving: Option<(Vec<f64>, Vec<f64>)> = None;
        let mut result = vec![];
        for (layer, (uw, ub)) in self.layers.iter().zip(blocks) {
            let (w_t, u_t) = (
                rows(&layer.weights, layer.out_width, layer.in_width).transpose(),
                rows(uw, layer.out_width, layer.in_width).transpose(),
            );
            let mut zd = vec![0.0; n * layer.out_width];
            let mut zdd = vec![0.0; n * layer.out_width];
            gemm(
                &mut zd,
                rows(&layer.input, n, layer.in_width),
                u_t,
                layer.scale,
                Accum::Replace,
            );
            if let Some((a_dot, a_ddot)) = &moving {
                let (a_dot, a_ddot) = (
                    rows(a_dot, n, layer.in_width),
                    rows(a_ddot, n, layer.in_width),
                );
                gemm(&mut zd, a_dot, w_t, layer.scale, Accum::Add);
                gemm(&mut zdd, a_ddot, w_t, layer.scale, Accum::Replace);
                gemm(&mut zdd, a_dot, u_t, 2.0 * layer.scale, Accum::Add);
            }
            if let Some(cb) = self.bias {
                add_rows(&mut zd, ub, cb);
            }
            let a_ddot: Vec<f64> = (0..zd.len())
                .map(|i| layer.curvature[i] * zd[i] * zd[i] + layer.slope[i] * zdd[i])
                .collect();
            result = a_ddot.clone();
            moving = Some((hadamard(&layer.slope, &zd), a_ddot));
        }
        result
    }
}

impl HostPoint {
    /// `F(w)` `[n·k]` (sample-major).
    pub fn output(&self) -> &[f64] {
        &self.output
    }

    /// The blocks `(V⁽ˡ⁾, v_b⁽ˡ⁾)` of a parameter vector, layer by layer.
    fn blocks<'v>(&self, v: &'v [f64]) -> Vec<(&'v [f64], &'v [f64])> {
        let mut at = 0;
        self.layers
            .iter()
            .map(|layer| {
                let w = layer.out_width * layer.in_width;
                let b = if self.bias.is_some() {
                    layer.out_width
                } else {
                    0
                };
                let block = (&v[at..at + w], &v[at + w..at + w + b]);
                at += w + b;
                block
            })
            .collect()
    }

    /// The first-order forward pass along `v`: `ż⁽ˡ⁾` of every layer, and `α̇⁽ˡ⁾` of every
    /// hidden layer (the reverse pass of [`HostPoint::hvp`] needs both).
    fn tangents(&self, v: &[f64]) -> Tangents {
        let n = self.n;
        let depth = self.layers.len();
        let mut t = Tangents {
            z_dot: Vec::with_capacity(depth),
            a_dot: Vec::with_capacity(depth - 1),
        };
        for (l, (layer, (vw, vb))) in self.layers.iter().zip(self.blocks(v)).enumerate() {
            let mut zd = vec![0.0; n * layer.out_width];
            gemm(
                &mut zd,
                rows(&layer.input, n, layer.in_width),
                rows(vw, layer.out_width, layer.in_width).transpose(),
                layer.scale,
                Accum::Replace,
            );
            if l > 0 {
                gemm(
                    &mut zd,
                    rows(&t.a_dot[l - 1], n, layer.in_width),
                    rows(&layer.weights, layer.out_width, layer.in_width).transpose(),
                    layer.scale,
                    Accum::Add,
                );
            }
            if let Some(cb) = self.bias {
                add_rows(&mut zd, vb, cb);
            }
            if l + 1 < depth {
                t.a_dot.push(hadamard(&layer.slope, &zd));
            }
            t.z_dot.push(zd);
        }
        t
    }

    /// `DF(w)ᵀ c` in parameter-vector order: the reverse pass with cotangent `c`.
    pub fn vjp(&self, c: &[f64]) -> Vec<f64> {
        let mut delta = hadamard(c, &self.last().slope);
        let mut blocks: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let block = self.parameter_block(layer, &delta);
            if l > 0 {
                delta = self.back_propagate(l, &delta);
            }
            blocks.push(block);
        }
        blocks.into_iter().rev().flatten().collect()
    }

    /// One step of the reverse pass: `δ⁽ˡ⁻¹⁾ = (c_l δ⁽ˡ⁾ W⁽ˡ⁾) ∘ σ'(z⁽ˡ⁻¹⁾)` `[n, m_{l−1}]`
    /// from `δ⁽ˡ⁾` `[n, m_l]` (`l ≥ 1`, 0-based layer index).
    fn back_propagate(&self, l: usize, delta: &[f64]) -> Vec<f64> {
        let (n, layer) = (self.n, &self.layers[l]);
        let mut g = vec![0.0; n * layer.in_width];
        gemm(
            &mut g,
            rows(delta, n, layer.out_width),
            rows(&layer.weights, layer.out_width, layer.in_width),
            layer.scale,
            Accum::Replace,
        );
        hadamard(&g, &self.layers[l - 1].slope)
    }

    fn last(&self) -> &HostLayer<f64> {
        self.layers.last().expect("at least one layer")
    }

    /// A layer's parameter block of a reverse pass with signal `delta` `[n, out]`:
    /// `c_l deltaᵀ α⁽ˡ⁻¹⁾` and, with biases, `c_b Σ_rows delta`.
    fn parameter_block(&self, layer: &HostLayer<f64>, delta: &[f64]) -> Vec<f64> {
        let n = self.n;
        let w_len = layer.out_width * layer.in_width;
        let mut block = vec![0.0; w_len + self.bias.map_or(0, |_| layer.out_width)];
        gemm(
            &mut block[..w_len],
            rows(delta, n, layer.out_width).transpose(),
            rows(&layer.input, n, layer.in_width),
            layer.scale,
            Accum::Replace,
        );
        if let Some(cb) = self.bias {
            let b = &mut block[w_len..];
            for row in delta.chunks(layer.out_width) {
                b.iter_mut().zip(row).for_each(|(b, &d)| *b += cb * d);
            }
        }
        block
    }
}

/// `z ← z + scale · b` on every row of `z` `[n, b.len()]`.
fn add_rows(z: &mut [f64], b: &[f64], scale: f64) {
    for row in z.chunks_mut(b.len()) {
        row.iter_mut().zip(b).for_each(|(v, &b)| *v += scale * b);
    }
}

/// `a ∘ b`.
fn hadamard(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(&a, &b)| a * b).collect()
}
