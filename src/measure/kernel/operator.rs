//! The tangent kernel as a matrix-free operator, `v ↦ K v = DF (DFᵀ v)` (issue 22): neither `K`
//! (`N²` entries, `N = n·k`) nor the Jacobian (`N × p`) is ever stored.
//!
//! The Jacobian of an MLP is a sum of per-layer outer products: the derivative of `F_{ia}` with
//! respect to `W⁽ˡ⁾` is `Δ_{l,ia} A_{l,i}ᵀ`, with `A_l = c_l α⁽ˡ⁻¹⁾` the layer's scaled input
//! (`n × m_{l−1}`) and `Δ_l` its signals (`n·k × m_l`, the reverse pass of each output), the
//! factors the dense host kernel forms its Gram products from
//! (`K = Σ_l (A_l A_lᵀ ⊗ 1 + c_b²) ∘ Δ_l Δ_lᵀ`). A product uses them without the chain rule:
//!
//! ```text
//! M_l = Σ_a v_{·a} ∘ Δ_{l,·a}            [n, m_l]          (row i: Σ_a v_{ia} Δ_{l,ia})
//! G_l = M_lᵀ A_l,  h_l = c_b² M_lᵀ 1     [m_l, m_{l−1}], [m_l]   (DFᵀ v, layer l)
//! (K v)_{ia} = Σ_l ⟨Δ_{l,ia}, (A_l G_lᵀ)_i + h_l⟩                (DF (DFᵀ v))
//! ```
//!
//! Two GEMMs per layer, `2 n p` multiply-adds per product for `k = 1`: half the `4 n p` of a
//! reverse pass followed by a tangent pass, which carry `v` through the weights again in every
//! product. The products run over blocks of `b` samples ([`OPERATOR_BLOCK`]); the factors
//! ([`crate::measure::kernel`]'s host forward pass and signals, the model layer's one forward
//! pass) are kept between products when they fit in [`KernelOperator::cache_bytes`]
//! (`s n Σ_l (m_{l−1} + k m_l)` bytes, `s` the float's size), else recomputed block by block in
//! each of a product's two sweeps over the blocks (about `2 n p (k + 1)` more multiply-adds per
//! product: the forward pass and the signals, twice).
//!
//! Precision: the factors and the GEMMs are in the backend's working precision, as the dense
//! kernel's Gram products are (an `f32` model: `f32` GEMMs, twice the rate and half the cache
//! of `f64`); the vectors stay in `f64`: `v` is rounded to the working precision block by block,
//! the blocks' `G_l` are summed in `f64` and rounded once, and `K v` is summed over the layers in
//! `f64`. So an `f32` operator is the `f32` kernel's product, within the round-off model's
//! kernel error; an `f64` one is the exact kernel's up to `f64` round-off.
//!
//! Memory `O(p + b Σ_l (m_{l−1} + k m_l))` without the cache. Tested equal to the dense
//! kernel's `K v` (autodiff, one Jacobian row per equation) to `1e-12` in `f64`.

use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use faer::dyn_stack::{MemStack, StackReq};
use faer::matrix_free::LinOp;
use faer::{Accum, MatMut, MatRef, Par};

use super::host::signals;
use crate::measure::roundoff::RoundOff;
use crate::measure::spectrum::{
    lanczos, EigenResiduals, ExtremeVectors, KernelExtremes, LanczosSettings, SymmetricOperator,
};
use crate::model::host::{gemm, rows, HostFloat, HostForward, Order, Scaling};
use crate::model::{Mlp, MlpConfig};

/// Bytes of the operator's factors of `n` samples in a float of `float_bytes` bytes:
/// `float_bytes · n Σ_l (m_{l−1} + k m_l)` (each layer's scaled input and its `k` signals); what
/// [`KernelOperator::new`] keeps when it fits its cache limit, and what the resource check counts.
pub fn factors_bytes(cfg: &MlpConfig, n: usize, float_bytes: usize) -> u128 {
    let per_sample: u128 = cfg
        .layer_sizes()
        .windows(2)
        .map(|w| w[0] as u128 + cfg.outputs as u128 * w[1] as u128)
        .sum();
    float_bytes as u128 * n as u128 * per_sample
}

/// One layer's factors on a block of `b` samples: `A_l = c_l α⁽ˡ⁻¹⁾` `[b, m_{l−1}]` and
/// `Δ_l` `[b·k, m_l]` (module docs).
struct LayerFactors<T> {
    input: Vec<T>,
    in_width: usize,
    signals: Vec<T>,
    width: usize,
}

/// A block's factors, every layer (module docs).
struct Factors<T> {
    /// Samples `b` in the block.
    rows: usize,
    layers: Vec<LayerFactors<T>>,
}

impl<T: HostFloat> Factors<T> {
    /// The host forward pass ([`Scaling::Input`]) and signals of `model` on the block `xb`;
    /// `σ'` and the outputs are dropped once the signals are formed.
    fn at<B: Backend>(model: &Mlp<B>, xb: &Tensor<B, 2>) -> Self {
        let mut forward = HostForward::<T>::scaled(model, xb, Order::First, Scaling::Input);
        let signals = signals(&mut forward);
        let rows = forward.n;
        let layers = forward
            .layers
            .into_iter()
            .zip(signals)
            .map(|(layer, s)| LayerFactors {
                input: layer.input,
                in_width: layer.in_width,
                signals: s.values,
                width: s.width,
            })
            .collect();
        Self { rows, layers }
    }
}

/// The factors kept between products, in the working precision.
enum Cache {
    None,
    F32(Vec<Factors<f32>>),
    F64(Vec<Factors<f64>>),
}

/// The working precisions of the operator's passes, and where each finds its cache.
trait Working: HostFloat {
    fn cached(cache: &Cache) -> Option<&[Factors<Self>]>;
    fn keep(factors: Vec<Factors<Self>>) -> Cache;
}

impl Working for f32 {
    fn cached(cache: &Cache) -> Option<&[Factors<f32>]> {
        match cache {
            Cache::F32(factors) => Some(factors),
            _ => None,
        }
    }
    fn keep(factors: Vec<Factors<f32>>) -> Cache {
        Cache::F32(factors)
    }
}

impl Working for f64 {
    fn cached(cache: &Cache) -> Option<&[Factors<f64>]> {
        match cache {
            Cache::F64(factors) => Some(factors),
            _ => None,
        }
    }
    fn keep(factors: Vec<Factors<f64>>) -> Cache {
        Cache::F64(factors)
    }
}

/// `v ↦ K(w) v` for `model` on inputs `x`, matrix-free (module docs).
pub struct KernelOperator<'a, B: Backend> {
    model: &'a Mlp<B>,
    /// The inputs in blocks of at most `block` samples.
    blocks: Vec<Tensor<B, 2>>,
    /// Each block's factors, when cached.
    cache: Cache,
    /// Whether the passes run in `f32` (the backend's float), else `f64`.
    single: bool,
    /// Samples `n`.
    samples: usize,
    /// Outputs `k`.
    outputs: usize,
    /// `c_b²` with biases, else 0.
    bias_sq: f64,
    /// Products taken so far (atomic: faer's `LinOp` applies through `&self`).
    products: AtomicUsize,
}

impl<'a, B: Backend> KernelOperator<'a, B> {
    /// The operator of `model` on `x` `[n, d]`, in blocks of `block` samples (at least 1); the
    /// factors are cached when they need at most `cache_limit` bytes.
    pub fn new(model: &'a Mlp<B>, x: &Tensor<B, 2>, block: usize, cache_limit: usize) -> Self {
        let [n, d] = x.dims();
        let block = block.max(1);
        let blocks: Vec<Tensor<B, 2>> = (0..n)
            .step_by(block)
            .map(|start| x.clone().slice([start..(start + block).min(n), 0..d]))
            .collect();
        let single = x.dtype() == DType::F32;
        let cfg = model.config();
        let mut op = Self {
            model,
            blocks,
            cache: Cache::None,
            single,
            samples: n,
            outputs: cfg.outputs,
            bias_sq: if cfg.bias {
                cfg.bias_multiplier().powi(2)
            } else {
                0.0
            },
            products: AtomicUsize::new(0),
        };
        let float_bytes = if single { 4 } else { 8 };
        if Self::cache_bytes(model, n, float_bytes) <= cache_limit {
            op.cache = if single {
                op.factors::<f32>()
            } else {
                op.factors::<f64>()
            };
        }
        op
    }

    fn factors<T: Working>(&self) -> Cache {
        T::keep(
            self.blocks
                .iter()
                .map(|xb| Factors::<T>::at(self.model, xb))
                .collect(),
        )
    }

    /// Bytes of the factors of all `n` samples in a float of `float_bytes` bytes
    /// ([`factors_bytes`]), saturating at `usize::MAX`.
    pub fn cache_bytes(model: &Mlp<B>, n: usize, float_bytes: usize) -> usize {
        usize::try_from(factors_bytes(model.config(), n, float_bytes)).unwrap_or(usize::MAX)
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

    /// Whether the factors are cached.
    pub fn cached(&self) -> bool {
        !matches!(self.cache, Cache::None)
    }

    /// `diag K` `[n·k]` (sample-major), exactly from the factors:
    /// `K_{(i,a),(i,a)} = Σ_l (‖A_{l,i}‖² + c_b²) ‖Δ_{l,ia}‖²`, summed in `f64`, never a row of
    /// `K`: the trace and the largest diagonal entry that the round-off model needs. Cost
    /// `O(n k Σ_l m_l)` with the factors cached (else their forward and reverse passes).
    pub fn diagonal(&self) -> Vec<f64> {
        if self.single {
            self.diagonal_in::<f32>()
        } else {
            self.diagonal_in::<f64>()
        }
    }

    fn diagonal_in<T: Working>(&self) -> Vec<f64> {
        let k = self.outputs;
        let mut diag = vec![0.0; self.samples * k];
        let sq = |r: &[T]| -> f64 {
            r.iter()
                .map(|&v| {
                    let v: f64 = v.into();
                    v * v
                })
                .sum()
        };
        self.each_block::<T>(|start, f| {
            let out = &mut diag[start * k..(start + f.rows) * k];
            for l in &f.layers {
                let inputs: Vec<f64> = l.input.chunks(l.in_width).map(sq).collect();
                for (r, (d, s)) in out.iter_mut().zip(l.signals.chunks(l.width)).enumerate() {
                    *d += (inputs[r / k] + self.bias_sq) * sq(s);
                }
            }
        });
        diag
    }

    /// Runs `f` on every block's factors with the block's first sample index.
    fn each_block<T: Working>(&self, mut f: impl FnMut(usize, &Factors<T>)) {
        let mut start = 0;
        let cached = T::cached(&self.cache);
        for (i, xb) in self.blocks.iter().enumerate() {
            let rows = xb.dims()[0];
            match cached {
                Some(factors) => f(start, &factors[i]),
                None => f(start, &Factors::<T>::at(self.model, xb)),
            }
            start += rows;
        }
    }
}

impl<B: Backend> KernelOperator<'_, B> {
    /// `K v`, `v` sample-major `[n·k]`: every block's `G_l = M_lᵀ A_l` summed into `DFᵀ v`,
    /// then every block's `(K v)_{ia} = Σ_l ⟨Δ_{l,ia}, (A_l G_lᵀ)_i + h_l⟩` (module docs).
    /// Counted in [`KernelOperator::products`].
    pub fn product(&self, v: &[f64]) -> Vec<f64> {
        let out = if self.single {
            self.product_in::<f32>(v)
        } else {
            self.product_in::<f64>(v)
        };
        self.products.fetch_add(1, Ordering::Relaxed);
        out
    }

    /// [`KernelOperator::product`] with the GEMMs in `T` (module docs: `G_l` summed in `f64`).
    fn product_in<T: Working>(&self, v: &[f64]) -> Vec<f64> {
        use rayon::prelude::*;
        let k = self.outputs;
        // DFᵀ v, layer by layer: G_l [m_l, m_{l−1}] and the bias part M_lᵀ 1 [m_l], in f64.
        let mut g: Vec<(Vec<f64>, Vec<f64>)> = vec![];
        self.each_block::<T>(|start, f| {
            let vb: Vec<T> = v[start * k..(start + f.rows) * k]
                .iter()
                .map(|&x| T::of(x))
                .collect();
            if g.is_empty() {
                g = f
                    .layers
                    .iter()
                    .map(|l| (vec![0.0; l.width * l.in_width], vec![0.0; l.width]))
                    .collect();
            }
            for (l, (gw, gb)) in f.layers.iter().zip(g.iter_mut()) {
                let m = signal_combination(&l.signals, &vb, f.rows, k, l.width);
                let mut part = vec![T::of(0.0); l.width * l.in_width];
                gemm(
                    &mut part,
                    rows(&m, f.rows, l.width).transpose(),
                    rows(&l.input, f.rows, l.in_width),
                    T::of(1.0),
                    Accum::Replace,
                );
                gw.par_iter_mut()
                    .zip(part.par_iter())
                    .with_min_len(1 << 14)
                    .for_each(|(a, &b)| *a += b.into());
                if self.bias_sq > 0.0 {
                    for row in m.chunks(l.width) {
                        gb.iter_mut().zip(row).for_each(|(a, &b)| *a += b.into());
                    }
                }
            }
        });
        let g: Vec<(Vec<T>, Vec<T>)> = g
            .into_iter()
            .map(|(gw, gb)| {
                let gw = gw.into_iter().map(T::of).collect();
                let gb = gb.into_iter().map(|b| T::of(self.bias_sq * b)).collect();
                (gw, gb)
            })
            .collect();
        let mut out = vec![0.0; v.len()];
        self.each_block::<T>(|start, f| {
            let out = &mut out[start * k..(start + f.rows) * k];
            for (l, (gw, gb)) in f.layers.iter().zip(&g) {
                // (A_l G_lᵀ)_i + h_l, then ⟨Δ_{l,ia}, ·⟩ for each output a.
                let mut b = vec![T::of(0.0); f.rows * l.width];
                gemm(
                    &mut b,
                    rows(&l.input, f.rows, l.in_width),
                    rows(gw, l.width, l.in_width).transpose(),
                    T::of(1.0),
                    Accum::Replace,
                );
                if self.bias_sq > 0.0 {
                    for row in b.chunks_mut(l.width) {
                        row.iter_mut().zip(gb).for_each(|(a, &h)| *a += h);
                    }
                }
                out.par_iter_mut()
                    .zip(l.signals.par_chunks(l.width))
                    .enumerate()
                    .with_min_len(64)
                    .for_each(|(r, (o, s))| {
                        *o += dot(s, &b[(r / k) * l.width..][..l.width]);
                    });
            }
        });
        out
    }
}

/// `M` `[b, m]`, row `i` = `Σ_a v_{ia} Δ_{ia}` for the signals `Δ` `[b·k, m]` (module docs);
/// `v ∘ Δ` row by row for `k = 1`.
fn signal_combination<T: HostFloat>(
    signals: &[T],
    v: &[T],
    b: usize,
    k: usize,
    width: usize,
) -> Vec<T> {
    use rayon::prelude::*;
    let mut m = vec![T::of(0.0); b * width];
    m.par_chunks_mut(width)
        .enumerate()
        .with_min_len(64)
        .for_each(|(i, row)| {
            for a in 0..k {
                let va = v[i * k + a];
                let s = &signals[(i * k + a) * width..][..width];
                row.iter_mut().zip(s).for_each(|(m, &s)| *m += va * s);
            }
        });
    m
}

/// `⟨a, b⟩` in `T` with eight partial sums (so that the loop vectorizes), widened to `f64`.
fn dot<T: HostFloat>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [T::of(0.0); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut total: f64 = acc.iter().map(|&s| s.into()).sum();
    for (&x, &y) in ra.iter().zip(rb) {
        total += (x * y).into();
    }
    total
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

/// The Lanczos tolerance on the operator for `model`'s working precision: the round-off model's
/// relative error of one product ([`RoundOff::operator_product`]: 2e-15 in f64, about 1e-6 in
/// f32), at least [`OPERATOR_LANCZOS_TOL`].
pub fn operator_tolerance<B: Backend>(model: &Mlp<B>) -> f64 {
    RoundOff::for_backend::<B>(model.config())
        .operator_product()
        .max(OPERATOR_LANCZOS_TOL)
}

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
