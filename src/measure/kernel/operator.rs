//! The tangent kernel as a matrix-free operator, `v ↦ K v = DF (DFᵀ v)` (issue 22): neither `K`
//! (`N²` entries, `N = n·k`) nor the Jacobian (`N × p`) is ever stored.
//!
//! A product runs over blocks of `b` samples: for each block the host forward pass
//! ([`HostPoint::first_order`], the model layer's one forward pass), then its reverse pass
//! `g += DF_blockᵀ v_block` (one weight-gradient accumulation); then, for each block again, its
//! tangent pass `(K v)_block = DF_block g`. The forward passes are kept between products when
//! they fit in [`KernelOperator::cache_bytes`] (`s n Σ_l (m_{l−1} + 2 m_l)` bytes, `s` the
//! float's size), else recomputed in every product.
//!
//! Precision: the passes run in the backend's working precision, as the dense kernel's Gram
//! products do (an `f32` model: `f32` GEMMs, twice the rate and half the cache of `f64`); the
//! vectors stay in `f64`: `v` is rounded to the working precision block by block, the blocks'
//! weight gradients are summed into `g` in `f64` and `g` is rounded once, and `K v` is widened
//! back. So an `f32` operator is the `f32` kernel's product, within the round-off model's
//! kernel error; an `f64` one is the exact kernel's up to `f64` round-off.
//!
//! Cost per product: about `4 n p` multiply-adds for the two passes (`+ 2 n p` when the forward
//! passes are recomputed); memory `O(p + b Σ_l m_l)` without the cache. Tested equal to the
//! dense kernel's `K v`.

use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use faer::dyn_stack::{MemStack, StackReq};
use faer::matrix_free::LinOp;
use faer::{MatMut, MatRef, Par};

use crate::measure::hessian::HostPoint;
use crate::measure::spectrum::{
    lanczos, EigenResiduals, ExtremeVectors, KernelExtremes, LanczosSettings, SymmetricOperator,
};
use crate::model::host::HostFloat;
use crate::model::Mlp;

/// The forward passes kept between products, in the working precision.
enum Cache {
    None,
    F32(Vec<HostPoint<f32>>),
    F64(Vec<HostPoint<f64>>),
}

/// The working precisions of the operator's passes, and where each finds its cache.
trait Working: HostFloat {
    fn cached(cache: &Cache) -> Option<&[HostPoint<Self>]>;
    fn keep(points: Vec<HostPoint<Self>>) -> Cache;
}

impl Working for f32 {
    fn cached(cache: &Cache) -> Option<&[HostPoint<f32>]> {
        match cache {
            Cache::F32(points) => Some(points),
            _ => None,
        }
    }
    fn keep(points: Vec<HostPoint<f32>>) -> Cache {
        Cache::F32(points)
    }
}

impl Working for f64 {
    fn cached(cache: &Cache) -> Option<&[HostPoint<f64>]> {
        match cache {
            Cache::F64(points) => Some(points),
            _ => None,
        }
    }
    fn keep(points: Vec<HostPoint<f64>>) -> Cache {
        Cache::F64(points)
    }
}

/// `v ↦ K(w) v` for `model` on inputs `x`, matrix-free (module docs).
pub struct KernelOperator<'a, B: Backend> {
    model: &'a Mlp<B>,
    /// The inputs in blocks of at most `block` samples.
    blocks: Vec<Tensor<B, 2>>,
    /// Each block's forward pass, when cached.
    cache: Cache,
    /// Whether the passes run in `f32` (the backend's float), else `f64`.
    single: bool,
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
        let single = x.dtype() == DType::F32;
        let mut op = Self {
            model,
            blocks,
            cache: Cache::None,
            single,
            samples: n,
            outputs: model.config().outputs,
            products: AtomicUsize::new(0),
        };
        let float_bytes = if single { 4 } else { 8 };
        if Self::cache_bytes(model, n, float_bytes) <= cache_limit {
            op.cache = if single {
                op.forward_passes::<f32>()
            } else {
                op.forward_passes::<f64>()
            };
        }
        op
    }

    fn forward_passes<T: Working>(&self) -> Cache {
        T::keep(
            self.blocks
                .iter()
                .map(|xb| HostPoint::<T>::first_order(self.model, xb))
                .collect(),
        )
    }

    /// Bytes of the forward passes of all `n` samples in a float of `float_bytes` bytes:
    /// `float_bytes · n Σ_l (m_{l−1} + 2 m_l)` (each layer's input, `σ'` and its output).
    pub fn cache_bytes(model: &Mlp<B>, n: usize, float_bytes: usize) -> usize {
        let sizes = model.config().layer_sizes();
        let per_sample: usize = sizes.windows(2).map(|w| w[0] + 2 * w[1]).sum();
        float_bytes * n * per_sample
    }

    /// `"f32"` or `"f64"`: the precision of the passes (the backend's float).
    pub fn working_precision(&self) -> &'static str {
        if self.single {
            "f32"
        } else {
            "f64"
        }
    }

    /// Products `K v` taken so far.
    pub fn products(&self) -> usize {
        self.products.load(Ordering::Relaxed)
    }

    /// Whether the forward passes are cached.
    pub fn cached(&self) -> bool {
        !matches!(self.cache, Cache::None)
    }

    /// `diag K` `[n·k]` (sample-major), exactly ([`HostPoint::kernel_diagonal`], block by
    /// block): the trace and the largest diagonal entry that the round-off model needs, without
    /// forming `K`. Cost about `2 n p k` multiply-adds (half a product for `k = 1`).
    pub fn diagonal(&self) -> Vec<f64> {
        if self.single {
            self.diagonal_in::<f32>()
        } else {
            self.diagonal_in::<f64>()
        }
    }

    fn diagonal_in<T: Working>(&self) -> Vec<f64> {
        let mut diag = Vec::with_capacity(self.samples * self.outputs);
        self.each_block::<T>(|_, point| diag.extend(point.kernel_diagonal()));
        diag
    }

    /// Runs `f` on every block's forward pass with the block's first sample index.
    fn each_block<T: Working>(&self, mut f: impl FnMut(usize, &HostPoint<T>)) {
        let mut start = 0;
        let cached = T::cached(&self.cache);
        for (i, xb) in self.blocks.iter().enumerate() {
            let rows = xb.dims()[0];
            match cached {
                Some(points) => f(start, &points[i]),
                None => f(start, &HostPoint::<T>::first_order(self.model, xb)),
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
        let out = if self.single {
            self.product_in::<f32>(v)
        } else {
            self.product_in::<f64>(v)
        };
        self.products.fetch_add(1, Ordering::Relaxed);
        out
    }

    /// [`KernelOperator::product`] with the passes in `T` (module docs: `g` summed in `f64`).
    fn product_in<T: Working>(&self, v: &[f64]) -> Vec<f64> {
        let k = self.outputs;
        let mut g: Vec<f64> = vec![];
        self.each_block::<T>(|start, point| {
            let rows = point.output().len();
            let vb: Vec<T> = v[start * k..start * k + rows]
                .iter()
                .map(|&x| T::of(x))
                .collect();
            let part = point.vjp(&vb);
            if g.is_empty() {
                g = part.into_iter().map(Into::into).collect();
            } else {
                g.iter_mut().zip(part).for_each(|(a, b)| *a += b.into());
            }
        });
        let g: Vec<T> = g.into_iter().map(T::of).collect();
        let mut out = vec![0.0; v.len()];
        self.each_block::<T>(|start, point| {
            let part = point.jvp(&g);
            for (o, p) in out[start * k..start * k + part.len()].iter_mut().zip(part) {
                *o = p.into();
            }
        });
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
            .field("cached", &self.cached())
            .field("working_precision", &self.working_precision())
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

/// The operator path's Lanczos tolerance where the round-off floor is lower (f64): residuals
/// below `1e-8 · max |λ|`, the dense path's Lanczos tolerance. A stopping rule, not a decision:
/// no verdict, positivity or equality rests on it (positivity is judged against the round-off
/// floor, and the residuals are reported with the values), so a literal is right here.
pub const OPERATOR_LANCZOS_TOL: f64 = 1e-8;

/// Samples per block of the operator's passes.
pub const OPERATOR_BLOCK: usize = 1024;

/// `λ_min(K)` and `λ_max(K)` of the operator by Lanczos with full reorthogonalization (both ends
/// of one Krylov space, at most `max_iter` products, stopping once both Ritz residuals are
/// below `tol · |λ|_max`), each with its true residual `‖K v − λ v‖` and the iteration count.
/// Lanczos converges at the ends in about `√κ` steps, so `λ_min` of an ill-conditioned kernel
/// may stop unconverged: `residuals.converged` says so, and the value is then the Ritz value,
/// an upper estimate of `λ_min`. Memory: `max_iter + 2` vectors of `N` (`N = n·k`).
pub fn operator_extremes(
    op: &mut dyn SymmetricOperator,
    max_iter: usize,
    tol: f64,
) -> KernelExtremes {
    // The iteration's stopping rule; no decision rests on it: positivity is judged against the
    // round-off floor, and the residual and the convergence state are reported with the values.
    let settings = LanczosSettings {
        max_iter,
        tol,
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
            max_converged_at: e.largest_converged_at,
        }),
        vectors: Some(ExtremeVectors {
            min: e.min.vector,
            max: e.max.vector,
        }),
    }
}

/// A Hutchinson estimate of a relative gap `‖A − B‖_F / ‖B‖_F` from products with random
/// probes, for kernels too large to form.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GapEstimate {
    /// `√(Σ_s ‖(A − B) z_s‖² / Σ_s ‖B z_s‖²)`.
    pub value: f64,
    /// The standard error of the mean of the per-probe estimates `‖(A − B) z_s‖ / ‖B z_s‖`:
    /// their sample deviation over `√probes`, the spread to expect from the probes' draw.
    pub standard_error: f64,
    /// The number of probes.
    pub probes: usize,
}

/// Probes of a [`relative_gap_estimate`] where the caller does not choose: each costs one
/// product of each kernel, and the estimate's spread falls like `1/√probes` (measured 5% of the
/// value at 8 probes for `K(w₀)` against `K∞`).
pub const GAP_PROBES: usize = 8;

/// Mixed into a run's seed for the gap's probes (`"gap"` in ASCII), so that they are not the
/// stream of the weights drawn from the same seed.
pub const GAP_PROBE_SALT: u64 = 0x0067_6170;

/// `count` Rademacher vectors (entries ±1) of length `n`, drawn from `seed`: the probes of
/// [`relative_gap_estimate`].
pub fn rademacher_probes(n: usize, count: usize, seed: u64) -> Vec<Vec<f64>> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..n)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                .collect()
        })
        .collect()
}

/// `‖A − B‖_F / ‖B‖_F` estimated from the products `A z_s` and `B z_s` of the same Rademacher
/// probes `z_s` ([`rademacher_probes`]): `E ‖M z‖² = ‖M‖_F²` for a Rademacher `z` (Hutchinson
/// 1990), so the ratio of the two sums over probes tends to the squared relative gap. Cost
/// `O(probes · N)`.
pub fn relative_gap_estimate(a_products: &[Vec<f64>], b_products: &[Vec<f64>]) -> GapEstimate {
    let (mut gap_sq, mut b_sq, mut each) = (0.0, 0.0, vec![]);
    for (az, bz) in a_products.iter().zip(b_products) {
        let a: f64 = az.iter().zip(bz).map(|(x, y)| (x - y) * (x - y)).sum();
        let b: f64 = bz.iter().map(|y| y * y).sum();
        gap_sq += a;
        b_sq += b;
        each.push((a / b).sqrt());
    }
    let s = each.len() as f64;
    let mean = each.iter().sum::<f64>() / s;
    let spread = each.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / (s - 1.0).max(1.0);
    GapEstimate {
        value: (gap_sq / b_sq).sqrt(),
        standard_error: (spread / s).sqrt(),
        probes: each.len(),
    }
}
