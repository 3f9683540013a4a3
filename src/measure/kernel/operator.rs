//! The tangent kernel as a matrix-free operator, `v ↦ K v = DF (DFᵀ v)` (issue 22): neither `K`
//! (`N²` entries, `N = n·k`) nor the Jacobian (`N × p`) is ever stored.
//!
//! A product runs over blocks of `b` samples: for each block the host forward pass in `f64`
//! ([`HostPoint::first_order`], the model layer's one forward pass), then its reverse pass
//! `g += DF_blockᵀ v_block` (one weight-gradient accumulation); then, for each block again, its
//! tangent pass `(K v)_block = DF_block g`. The forward passes are kept between products when
//! they fit in [`KernelOperator::cache_bytes`] (`8 n Σ_l (m_{l−1} + 2 m_l)` bytes), else
//! recomputed in every product.
//!
//! Cost per product: about `4 n p` multiply-adds for the two passes (`+ 2 n p` when the forward
//! passes are recomputed); memory `O(p + b Σ_l m_l)` without the cache. Everything runs in
//! `f64` on the backend's own weights, so an `f32` model's operator is its exact kernel up to
//! `f64` round-off. Tested equal to the dense kernel's `K v`.

use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use faer::dyn_stack::{MemStack, StackReq};
use faer::matrix_free::LinOp;
use faer::{MatMut, MatRef, Par};

use crate::measure::hessian::HostPoint;
use crate::measure::spectrum::{
    lanczos, EigenResiduals, ExtremeVectors, KernelExtremes, LanczosSettings, SymmetricOperator,
};
use crate::model::Mlp;

/// `v ↦ K(w) v` for `model` on inputs `x`, matrix-free (module docs).
pub struct KernelOperator<'a, B: Backend> {
    model: &'a Mlp<B>,
    /// The inputs in blocks of at most `block` samples.
    blocks: Vec<Tensor<B, 2>>,
    /// Each block's forward pass, when cached.
    cache: Option<Vec<HostPoint>>,
    /// Samples `n`.
    samples: usize,
    /// Outputs `k`.
    outputs: usize,
    /// Products taken so far (atomic: faer's `LinOp` applies through `&self`).
    products: AtomicUsize,
}

impl<'a, B: Backend> KernelOperator<'a, B> {
    /// The operator of `model` on `x` `[n, d]`, in blocks of `block` samples (at least 1); the
    /// forward passes are cached when they need at most `cache_limit` bytes.
    pub fn new(model: &'a Mlp<B>, x: &Tensor<B, 2>, block: usize, cache_limit: usize) -> Self {
        let [n, d] = x.dims();
        let block = block.max(1);
        let blocks: Vec<Tensor<B, 2>> = (0..n)
            .step_by(block)
            .map(|start| x.clone().slice([start..(start + block).min(n), 0..d]))
            .collect();
        let mut op = Self {
            model,
            blocks,
            cache: None,
            samples: n,
            outputs: model.config().outputs,
            products: AtomicUsize::new(0),
        };
        if Self::cache_bytes(model, n) <= cache_limit {
            op.cache = Some(
                op.blocks
                    .iter()
                    .map(|xb| HostPoint::first_order(model, xb))
                    .collect(),
            );
        }
        op
    }

    /// Bytes of the forward passes of all `n` samples: `8 n Σ_l (m_{l−1} + 2 m_l)` (each layer's
    /// input, `σ'` and its output).
    pub fn cache_bytes(model: &Mlp<B>, n: usize) -> usize {
        let sizes = model.config().layer_sizes();
        let per_sample: usize = sizes.windows(2).map(|w| w[0] + 2 * w[1]).sum();
        8 * n * per_sample
    }

    /// Products `K v` taken so far.
    pub fn products(&self) -> usize {
        self.products.load(Ordering::Relaxed)
    }

    /// Whether the forward passes are cached.
    pub fn cached(&self) -> bool {
        self.cache.is_some()
    }

    /// `diag K` `[n·k]` (sample-major), exactly ([`HostPoint::kernel_diagonal`], block by
    /// block): the trace and the largest diagonal entry that the round-off model needs, without
    /// forming `K`. Cost about `2 n p k` multiply-adds (half a product for `k = 1`).
    pub fn diagonal(&self) -> Vec<f64> {
        let mut diag = Vec::with_capacity(self.samples * self.outputs);
        self.each_block(|_, point| diag.extend(point.kernel_diagonal()));
        diag
    }

    /// Runs `f` on every block's forward pass with the block's first sample index.
    fn each_block(&self, mut f: impl FnMut(usize, &HostPoint)) {
        let mut start = 0;
        for (i, xb) in self.blocks.iter().enumerate() {
            let rows = xb.dims()[0];
            match &self.cache {
                Some(points) => f(start, &points[i]),
                None => f(start, &HostPoint::first_order(self.model, xb)),
            }
            start += rows;
        }
    }
}

impl<B: Backend> KernelOperator<'_, B> {
    /// `K v = DF (DFᵀ v)`, `v` sample-major `[n·k]`: every block's reverse pass into one
    /// weight gradient `g`, then every block's tangent pass `DF_block g`. Counted in
    /// [`KernelOperator::products`].
    pub fn product(&self, v: &[f64]) -> Vec<f64> {
        let k = self.outputs;
        let mut g: Vec<f64> = vec![];
        self.each_block(|start, point| {
            let rows = point.output().len();
            let part = point.vjp(&v[start * k..start * k + rows]);
            if g.is_empty() {
                g = part;
            } else {
                g.iter_mut().zip(&part).for_each(|(a, b)| *a += b);
            }
        });
        let mut out = vec![0.0; v.len()];
        self.each_block(|start, point| {
            let part = point.jvp(&g);
            out[start * k..start * k + part.len()].copy_from_slice(&part);
        });
        self.products.fetch_add(1, Ordering::Relaxed);
        out
    }
}

impl<B: Backend> SymmetricOperator for KernelOperator<'_, B> {
    fn dim(&self) -> usize {
        self.samples * self.outputs
    }

    /// [`KernelOperator::product`].
    fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        self.product(v)
    }
}

impl<B: Backend> std::fmt::Debug for KernelOperator<'_, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelOperator")
            .field("samples", &self.samples)
            .field("outputs", &self.outputs)
            .field("cached", &self.cache.is_some())
            .finish()
    }
}

/// faer's matrix-free interface (`faer::matrix_free::LinOp`), so that faer's iterative solvers
/// (`partial_self_adjoint_eigen`, `conjugate_gradient`, …) take the kernel as they take a
/// matrix: each column of `rhs` is one [`KernelOperator::product`]. `K` is real symmetric, so
/// the conjugate and the transpose are `K` itself.
impl<B: Backend> LinOp<f64> for KernelOperator<'_, B>
where
    Self: Sync,
{
    fn apply_scratch(&self, _rhs_ncols: usize, _par: Par) -> StackReq {
        StackReq::EMPTY
    }

    fn nrows(&self) -> usize {
        self.samples * self.outputs
    }

    fn ncols(&self) -> usize {
        self.samples * self.outputs
    }

    fn apply(&self, out: MatMut<'_, f64>, rhs: MatRef<'_, f64>, _par: Par, _stack: &mut MemStack) {
        let mut out = out;
        for j in 0..rhs.ncols() {
            let v: Vec<f64> = (0..rhs.nrows()).map(|i| rhs[(i, j)]).collect();
            for (i, value) in self.product(&v).into_iter().enumerate() {
                out[(i, j)] = value;
            }
        }
    }

    fn conj_apply(
        &self,
        out: MatMut<'_, f64>,
        rhs: MatRef<'_, f64>,
        par: Par,
        stack: &mut MemStack,
    ) {
        LinOp::apply(self, out, rhs, par, stack);
    }
}

/// `λ_min(K)` and `λ_max(K)` of the operator by Lanczos with full reorthogonalization (both ends
/// of one Krylov space, at most `max_iter` products, stopping once both Ritz residuals are
/// below `1e-8 · |λ|_max`), each with its true residual `‖K v − λ v‖` and the iteration count.
/// Lanczos converges at the ends in about `√κ` steps, so `λ_min` of an ill-conditioned kernel
/// may stop unconverged: `residuals.converged` says so, and the value is then the Ritz value,
/// an upper estimate of `λ_min`. Memory: `max_iter + 2` vectors of `N` (`N = n·k`).
pub fn operator_extremes(op: &mut dyn SymmetricOperator, max_iter: usize) -> KernelExtremes {
    // The iteration's stopping rule, the same as the dense path's Lanczos runs
    // (`kernel_extremes`); no decision rests on it: positivity is judged against the round-off
    // floor, and the residual and the convergence state are reported with the values.
    let settings = LanczosSettings {
        max_iter,
        tol: 1e-8,
        seed: 0,
    };
    let e = lanczos(op, &settings);
    KernelExtremes {
        method: "lanczos (operator)",
        lambda_min: e.min.value,
        lambda_max: e.max.value,
        eigenvalues: None,
        residuals: Some(EigenResiduals {
            min: e.min.residual,
            max: e.max.residual,
            converged: e.converged,
            iterations: e.iterations,
        }),
        vectors: Some(ExtremeVectors {
            min: e.min.vector,
            max: e.max.vector,
        }),
    }
}
