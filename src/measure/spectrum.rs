//! Eigenvalues of symmetric operators, on the host in f64.
//!
//! - [`dense_spectrum`]: every eigenvalue of a dense symmetric matrix (faer's self-adjoint
//!   eigensolver), ascending. Tiny negative eigenvalues of a PSD kernel from round-off are
//!   returned as they are, never clipped.
//! - [`lanczos`]: the extreme eigenvalues of a matrix-free [`SymmetricOperator`] (a large
//!   kernel, a Hessian through Hessian-vector products) by the Lanczos iteration with full
//!   reorthogonalization: after `k` steps `A Q_k = Q_k T_k + β_k q_{k+1} e_kᵀ`, and the extreme
//!   eigenvalues of the tridiagonal `T_k` (Ritz values) approach those of `A`. Non-convergence
//!   is returned as a value, with the true residual `‖A v − λ v‖` of each Ritz pair.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::measure::kernel::TangentKernel;

mod verified;
pub use verified::{cholesky_proves, cholesky_test_shift, EigenBound};

/// A symmetric linear operator `A: ℝᵈ → ℝᵈ`, known through products `A v`.
pub trait SymmetricOperator {
    /// The dimension `d`.
    fn dim(&self) -> usize;
    /// `A v`.
    fn apply(&mut self, v: &[f64]) -> Vec<f64>;
}

impl SymmetricOperator for TangentKernel {
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        KernelOperator(self).apply(v)
    }
}

/// A borrowed kernel as an operator (no copy of `K`).
struct KernelOperator<'a>(&'a TangentKernel);

impl SymmetricOperator for KernelOperator<'_> {
    fn dim(&self) -> usize {
        self.0.n
    }
    /// `K v` by faer's matrix-vector product (SIMD, every core).
    fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        let n = self.0.n;
        let k = faer::MatRef::from_row_major_slice(&self.0.values, n, n);
        let mut out = faer::Col::<f64>::zeros(n);
        faer::linalg::matmul::matmul(
            out.as_mat_mut(),
            faer::Accum::Replace,
            k,
            faer::ColRef::from_slice(v).as_mat(),
            1.0,
            faer::Par::rayon(0),
        );
        out.iter().copied().collect()
    }
}

/// `v ↦ K⁻¹ v` through a Cholesky factorization `K = L Lᵀ` (two triangular solves): its largest
/// eigenvalue is `1/λ_min(K)`, well separated from the rest even when `λ_min(K)` sits in a
/// cluster at the bottom of `K`'s spectrum, so Lanczos finds it in few steps.
struct CholeskyInverse {
    llt: faer::linalg::solvers::Llt<f64>,
}

impl SymmetricOperator for CholeskyInverse {
    fn dim(&self) -> usize {
        self.llt.L().nrows()
    }
    fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        use faer::linalg::solvers::Solve;
        let mut x = faer::Col::<f64>::from_fn(v.len(), |i| v[i]);
        self.llt.solve_in_place(x.as_mat_mut());
        x.iter().copied().collect()
    }
}

/// Eigenvalues of a symmetric matrix and the summaries plstar reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// Every eigenvalue, ascending.
    pub eigenvalues: Vec<f64>,
    /// `λ_min` (may be slightly negative from round-off; reported as computed).
    pub lambda_min: f64,
    /// `λ_max`.
    pub lambda_max: f64,
    /// `κ = λ_max / λ_min` (infinite or negative when `λ_min ≤ 0`).
    pub condition_number: f64,
}

impl Spectrum {
    fn from_sorted(eigenvalues: Vec<f64>) -> Self {
        let lambda_min = eigenvalues[0];
        let lambda_max = *eigenvalues.last().expect("non-empty");
        Self {
            condition_number: lambda_max / lambda_min,
            eigenvalues,
            lambda_min,
            lambda_max,
        }
    }
}

/// Every eigenvalue of the symmetric kernel `K` (ascending), by faer's dense self-adjoint
/// eigensolver. Cost `O(n³)` (measured here: 0.7 s at n = 2000).
pub fn dense_spectrum(k: &TangentKernel) -> Result<Spectrum> {
    symmetric_eigenvalues(&k.to_faer()).map(Spectrum::from_sorted)
}

/// Up to this `n`, [`kernel_extremes`] uses the dense eigensolver; above, Lanczos.
pub const EXTREMES_DENSE_LIMIT: usize = 1024;

/// The residuals of a Lanczos run on the kernel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EigenResiduals {
    /// `‖K v − λ_min v‖`.
    pub min: f64,
    /// `‖K v − λ_max v‖`.
    pub max: f64,
    /// Whether both are below the tolerance (relative to `max |λ|`).
    pub converged: bool,
    /// Lanczos steps taken.
    pub iterations: usize,
    /// The step at which `λ_max` met the tolerance (operator path; `None` elsewhere, or
    /// never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_converged_at: Option<usize>,
}

/// `λ_min` and `λ_max` of a kernel, and how they were found.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelExtremes {
    /// `dense` or `lanczos`.
    pub method: &'static str,
    /// `λ_min(K)`.
    pub lambda_min: f64,
    /// `λ_max(K)`.
    pub lambda_max: f64,
    /// Every eigenvalue, ascending (dense only).
    pub eigenvalues: Option<Vec<f64>>,
    /// The Ritz residuals (Lanczos only).
    pub residuals: Option<EigenResiduals>,
    /// Unit eigenvectors of `λ_min` and `λ_max` (Lanczos, or [`kernel_extreme_pairs`]).
    pub vectors: Option<ExtremeVectors>,
}

/// The unit Ritz vectors of [`KernelExtremes`]' Lanczos path (length `N`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExtremeVectors {
    /// The vector of `λ_min` (from Lanczos on `K⁻¹`).
    pub min: Vec<f64>,
    /// The vector of `λ_max`.
    pub max: Vec<f64>,
}

/// The relative residual tolerance of the Lanczos run on `K⁻¹` in [`kernel_extremes`]:
/// `‖K⁻¹v − θv‖ ≤ 1e-7 θ`. The eigenvalue error is at most the residual, and at most
/// residual²/gap once the gap to the next eigenvalue exceeds it, so `λ_min` carries 7 digits
/// or more; the true residual on `K` is reported.
const INVERSE_TOL: f64 = 1e-7;

/// The extremes of `k`: every eigenvalue by the dense solver up to `dense_limit` samples.
/// Above, only the two extremes, each with its true residual `‖K v − λ v‖`:
/// - `λ_max` by Lanczos on `K` (full reorthogonalization, at most 300 steps, relative residual
///   tolerance 1e-8);
/// - `λ_min` as `1/λ_max(K⁻¹)`, Lanczos on `K⁻¹` through the Cholesky factorization of `K`
///   (`n³/3` flops, far below a dense eigendecomposition), to a relative tolerance of 1e-7. Where the factorization fails, `K`
///   is not positive definite in `f64` (`λ_min` at round-off), and the dense solver answers.
pub fn kernel_extremes(k: &TangentKernel, dense_limit: usize) -> Result<KernelExtremes> {
    extremes(k, dense_limit, false)
}

/// [`kernel_extremes`] with the unit eigenvectors of `λ_min` and `λ_max` on every path (the
/// dense one, including the fallback when the factorization fails, takes them from the one
/// eigendecomposition it runs): what the card's searches step along.
pub fn kernel_extreme_pairs(k: &TangentKernel, dense_limit: usize) -> Result<KernelExtremes> {
    extremes(k, dense_limit, true)
}

fn extremes(k: &TangentKernel, dense_limit: usize, with_vectors: bool) -> Result<KernelExtremes> {
    let dense = |k: &TangentKernel| -> Result<KernelExtremes> {
        if with_vectors {
            let mut eig = symmetric_eigen(k)?;
            let max = eig.vectors.pop().expect("non-empty kernel");
            // N = 1: one eigenvector is both the bottom and the top one.
            let min = if eig.vectors.is_empty() {
                max.clone()
            } else {
                eig.vectors.swap_remove(0)
            };
            let last = eig.values.len() - 1;
            return Ok(KernelExtremes {
                method: "dense",
                lambda_min: eig.values[0],
                lambda_max: eig.values[last],
                eigenvalues: Some(eig.values),
                residuals: None,
                vectors: Some(ExtremeVectors { min, max }),
            });
        }
        let spec = dense_spectrum(k)?;
        Ok(KernelExtremes {
            method: "dense",
            lambda_min: spec.lambda_min,
            lambda_max: spec.lambda_max,
            eigenvalues: Some(spec.eigenvalues),
            residuals: None,
            vectors: None,
        })
    };
    if k.n <= dense_limit {
        return dense(k);
    }
    let settings = LanczosSettings {
        max_iter: 300,
        tol: 1e-8,
        seed: 0,
    };
    // K is symmetric, so its row-major values read column-major are K itself: no copy.
    let kt = faer::MatRef::from_column_major_slice(&k.values, k.n, k.n);
    let Ok(llt) = kt.llt(faer::Side::Lower) else {
        return dense(k);
    };
    let mut op = KernelOperator(k);
    let top = lanczos_until(&mut op, &settings, None, Ends::Largest);
    let inverse = LanczosSettings {
        tol: INVERSE_TOL,
        ..settings
    };
    let bottom = lanczos_until(&mut CholeskyInverse { llt }, &inverse, None, Ends::Largest);
    let (max, inv) = (top.max, bottom.max);
    let lambda_min = 1.0 / inv.value;
    let kv = op.apply(&inv.vector);
    let min_residual = norm(
        &kv.iter()
            .zip(&inv.vector)
            .map(|(a, v)| a - lambda_min * v)
            .collect::<Vec<_>>(),
    );
    Ok(KernelExtremes {
        method: "lanczos",
        lambda_min,
        lambda_max: max.value,
        eigenvalues: None,
        residuals: Some(EigenResiduals {
            min: min_residual,
            max: max.residual,
            converged: top.converged && bottom.converged,
            iterations: top.iterations + bottom.iterations,
            max_converged_at: None,
        }),
        vectors: Some(ExtremeVectors {
            min: inv.vector,
            max: max.vector,
        }),
    })
}

/// `rᵀ K⁻¹ r` through the Cholesky factorization of `K` (`N³/3` flops, no eigenvectors):
/// `None` when the factorization fails (`K` not positive definite in f64, so `λ_min` is at
/// round-off and the quadratic form is unbounded).
pub fn inverse_quadratic_form(k: &TangentKernel, r: &[f64]) -> Option<f64> {
    let kt = faer::MatRef::from_column_major_slice(&k.values, k.n, k.n);
    let llt = kt.llt(faer::Side::Lower).ok()?;
    let solved = CholeskyInverse { llt }.apply(r);
    Some(dot(r, &solved))
}

/// Every eigenvalue (ascending) of a dense symmetric matrix.
pub fn symmetric_eigenvalues(a: &faer::Mat<f64>) -> Result<Vec<f64>> {
    let mut ev = a.self_adjoint_eigenvalues(faer::Side::Lower).map_err(|e| {
        Error::Backend(format!("the symmetric eigensolver did not converge: {e:?}"))
    })?;
    ev.sort_by(f64::total_cmp);
    Ok(ev)
}

/// Settings of [`lanczos`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanczosSettings {
    /// The most Lanczos steps (each one product `A v`; memory `max_iter × d` floats).
    pub max_iter: usize,
    /// Stop when both extreme Ritz pairs have residual `‖A v − λ v‖ ≤ tol · max|λ|`.
    pub tol: f64,
    /// Seed of the random start vector.
    pub seed: u64,
}

impl Default for LanczosSettings {
    fn default() -> Self {
        Self {
            max_iter: 100,
            tol: 1e-8,
            seed: 0,
        }
    }
}

/// One extreme eigenpair estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RitzPair {
    /// The Ritz value `λ`.
    pub value: f64,
    /// The unit Ritz vector `v` (length `d`).
    #[serde(skip)]
    pub vector: Vec<f64>,
    /// The true residual `‖A v − λ v‖` (one extra product).
    pub residual: f64,
}

/// The result of [`lanczos`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtremeEigenvalues {
    /// The smallest eigenvalue estimate (an upper bound on `λ_min` up to round-off).
    pub min: RitzPair,
    /// The largest eigenvalue estimate (a lower bound on `λ_max` up to round-off).
    pub max: RitzPair,
    /// Lanczos steps taken.
    pub iterations: usize,
    /// Whether the residuals the run waited for (both ends, or the dominant one for
    /// [`lanczos_dominant_from`]) met the tolerance, or an invariant subspace was found.
    pub converged: bool,
    /// The step (checked every 5) at which the largest Ritz pair's estimated residual first met
    /// the tolerance: the cost of `λ_max` alone within a run that goes on for `λ_min` (not
    /// written: the records keep their schema; `plstar ntk` reports it in its residuals).
    #[serde(skip)]
    pub largest_converged_at: Option<usize>,
}

impl ExtremeEigenvalues {
    /// The larger of `|λ_min|`, `|λ_max|`: the spectral norm `‖A‖₂`.
    pub fn spectral_norm(&self) -> f64 {
        self.min.value.abs().max(self.max.value.abs())
    }

    /// The pair with the larger `|λ|`.
    pub fn dominant(&self) -> &RitzPair {
        if self.min.value.abs() > self.max.value.abs() {
            &self.min
        } else {
            &self.max
        }
    }
}

/// `aᵀb` with eight partial sums, so that the loop vectorizes (a plain `sum` of products is
/// sequential under IEEE ordering).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// The extreme eigenvalues of `op` by Lanczos with full reorthogonalization.
///
/// Cost: `k` products `A v` plus `O(k² d)` for the reorthogonalization, memory `O(k d)`.
pub fn lanczos(op: &mut dyn SymmetricOperator, settings: &LanczosSettings) -> ExtremeEigenvalues {
    lanczos_from(op, settings, None)
}

/// [`lanczos`] from a given start vector (e.g. the previous eigenvector of a nearby operator);
/// `None` draws a random one from `settings.seed`.
pub fn lanczos_from(
    op: &mut dyn SymmetricOperator,
    settings: &LanczosSettings,
    start: Option<&[f64]>,
) -> ExtremeEigenvalues {
    lanczos_until(op, settings, start, Ends::Both)
}

/// [`lanczos_from`] that stops once the dominant Ritz pair (the larger `|θ|`) has converged,
/// for a spectral norm `‖A‖₂`: the other end is reported as reached, with its residual.
pub fn lanczos_dominant_from(
    op: &mut dyn SymmetricOperator,
    settings: &LanczosSettings,
    start: Option<&[f64]>,
) -> ExtremeEigenvalues {
    lanczos_until(op, settings, start, Ends::Dominant)
}

fn lanczos_until(
    op: &mut dyn SymmetricOperator,
    settings: &LanczosSettings,
    start: Option<&[f64]>,
    ends: Ends,
) -> ExtremeEigenvalues {
    let d = op.dim();
    let q = start_vector(d, settings.seed, start);
    let krylov = krylov_basis(op, q, settings, ends);
    let k = krylov.alpha.len();
    let t = tridiagonal(&krylov.alpha, &krylov.beta);
    let evd = t
        .self_adjoint_eigen(faer::Side::Lower)
        .expect("the tridiagonal eigenproblem converges");
    let s = evd.S();
    let u = evd.U();
    let (imin, imax) = (0..k).fold((0, 0), |(lo, hi), i| {
        (
            if s[i] < s[lo] { i } else { lo },
            if s[i] > s[hi] { i } else { hi },
        )
    });
    let mut pair = |i: usize| {
        let coefficients: Vec<f64> = (0..k).map(|j| u[(j, i)]).collect();
        ritz_pair(op, &krylov.basis, &coefficients, s[i])
    };
    let min = pair(imin);
    let max = pair(imax);
    let scale = min.value.abs().max(max.value.abs()).max(f64::MIN_POSITIVE);
    let met = |p: &RitzPair| p.residual <= settings.tol * scale;
    let converged = krylov.invariant
        || match ends {
            Ends::Both => met(&min) && met(&max),
            Ends::Largest => met(&max),
            Ends::Dominant => met(if min.value.abs() > max.value.abs() {
                &min
            } else {
                &max
            }),
        };
    ExtremeEigenvalues {
        min,
        max,
        iterations: k,
        converged,
        largest_converged_at: krylov.largest_converged_at,
    }
}

/// The unit start vector: `start` plus a little noise (which keeps components along every
/// eigenvector: both ends are wanted), or a random one drawn from `seed`.
fn start_vector(d: usize, seed: u64, start: Option<&[f64]>) -> Vec<f64> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut q: Vec<f64> = match start {
        Some(v) if v.len() == d && v.iter().any(|x| *x != 0.0) => {
            let scale = 1e-3 / (d as f64).sqrt();
            v.iter()
                .map(|x| {
                    let noise: f64 = StandardNormal.sample(&mut rng);
                    x + scale * noise
                })
                .collect()
        }
        _ => (0..d).map(|_| StandardNormal.sample(&mut rng)).collect(),
    };
    let nq = norm(&q);
    q.iter_mut().for_each(|v| *v /= nq);
    q
}

/// Which extreme Ritz values the Lanczos recurrence waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    Both,
    Largest,
    /// The end with the larger `|θ|`.
    Dominant,
}

/// An orthonormal Krylov basis `q_1 … q_k` and the tridiagonal `T_k = Qᵀ A Q`.
struct Krylov {
    /// `q_1 … q_k` as the rows of one row-major `k × d` block.
    basis: Vec<f64>,
    /// The diagonal of `T_k`.
    alpha: Vec<f64>,
    /// The off-diagonal of `T_k` (length `k − 1`).
    beta: Vec<f64>,
    /// Whether the basis spans an invariant subspace (the Ritz values are exact).
    invariant: bool,
    /// The first step (a multiple of 5) at which the largest Ritz pair met the tolerance.
    largest_converged_at: Option<usize>,
}

/// The Lanczos recurrence from the unit vector `q`, with full reorthogonalization, until an
/// invariant subspace, `max_iter` steps, or converged extreme Ritz values (checked every 5).
fn krylov_basis(
    op: &mut dyn SymmetricOperator,
    mut q: Vec<f64>,
    settings: &LanczosSettings,
    ends: Ends,
) -> Krylov {
    let d = op.dim();
    let max_iter = settings.max_iter.min(d).max(1);
    let mut basis: Vec<f64> = Vec::with_capacity(max_iter * d);
    let mut alpha: Vec<f64> = Vec::new();
    let mut beta: Vec<f64> = Vec::new();
    let mut invariant = false;
    let mut largest_converged_at = None;
    loop {
        let mut w = op.apply(&q);
        let a = dot(&w, &q);
        basis.extend_from_slice(&q);
        alpha.push(a);
        let k = alpha.len();
        // Full reorthogonalization, classical Gram–Schmidt twice (Kahan–Parlett: twice is
        // enough): `w ← w − Q (Qᵀ w)` as two matrix-vector products over the basis block.
        for _ in 0..2 {
            project_out(&basis, k, &mut w);
        }
        let b = norm(&w);
        let scale = alpha
            .iter()
            .map(|v| v.abs())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        if b <= 1e-13 * scale {
            invariant = true;
        }
        let check = k >= 2 && k.is_multiple_of(5);
        if check
            && largest_converged_at.is_none()
            && ritz_converged(&alpha, &beta, b, settings.tol, Ends::Largest)
        {
            largest_converged_at = Some(k);
        }
        if invariant
            || k >= max_iter
            || (check && ritz_converged(&alpha, &beta, b, settings.tol, ends))
        {
            break;
        }
        beta.push(b);
        q = w.into_iter().map(|v| v / b).collect();
    }
    Krylov {
        basis,
        alpha,
        beta,
        invariant,
        largest_converged_at,
    }
}

/// `w ← w − Qᵀ (Q w)` for the `k` orthonormal rows of `basis` (row-major `k × d`).
fn project_out(basis: &[f64], k: usize, w: &mut [f64]) {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, MatMut, MatRef, Par};
    let d = w.len();
    let q = MatRef::from_row_major_slice(basis, k, d);
    let mut c = vec![0.0; k];
    matmul(
        MatMut::from_column_major_slice_mut(&mut c, k, 1),
        Accum::Replace,
        q,
        MatRef::from_column_major_slice(w, d, 1),
        1.0,
        Par::Seq,
    );
    matmul(
        MatMut::from_column_major_slice_mut(w, d, 1),
        Accum::Add,
        q.transpose(),
        MatRef::from_column_major_slice(&c, k, 1),
        -1.0,
        Par::Seq,
    );
}

/// The Ritz pair `(θ, v = Q c / ‖Q c‖)` with its true residual `‖A v − θ v‖`.
fn ritz_pair(
    op: &mut dyn SymmetricOperator,
    basis: &[f64],
    coefficients: &[f64],
    theta: f64,
) -> RitzPair {
    let mut v = vec![0.0; op.dim()];
    for (b, &c) in basis.chunks(op.dim()).zip(coefficients) {
        v.iter_mut().zip(b).for_each(|(x, y)| *x += c * y);
    }
    let nv = norm(&v);
    v.iter_mut().for_each(|x| *x /= nv);
    let av = op.apply(&v);
    let residual = av
        .iter()
        .zip(&v)
        .map(|(a, x)| (a - theta * x).powi(2))
        .sum::<f64>()
        .sqrt();
    RitzPair {
        value: theta,
        vector: v,
        residual,
    }
}

/// Whether the extreme Ritz values of `T_k` have residual estimates `|β_k s_{k,i}|` below tol.
fn ritz_converged(alpha: &[f64], beta: &[f64], next_beta: f64, tol: f64, ends: Ends) -> bool {
    let k = alpha.len();
    let t = tridiagonal(alpha, beta);
    let Ok(evd) = t.self_adjoint_eigen(faer::Side::Lower) else {
        return false;
    };
    let s = evd.S();
    let u = evd.U();
    let scale = (0..k)
        .map(|i| s[i].abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let (mut lo, mut hi) = (0, 0);
    for i in 0..k {
        if s[i] < s[lo] {
            lo = i;
        }
        if s[i] > s[hi] {
            hi = i;
        }
    }
    let dominant = if s[lo].abs() > s[hi].abs() { lo } else { hi };
    let wanted: &[usize] = match ends {
        Ends::Both => &[lo, hi],
        Ends::Largest => &[hi],
        Ends::Dominant => &[dominant],
    };
    wanted
        .iter()
        .all(|&i| (next_beta * u[(k - 1, i)]).abs() <= 0.1 * tol * scale)
}

/// The symmetric tridiagonal `T_k` with diagonal `alpha` and off-diagonal `beta`.
fn tridiagonal(alpha: &[f64], beta: &[f64]) -> faer::Mat<f64> {
    let k = alpha.len();
    faer::Mat::from_fn(k, k, |i, j| {
        if i == j {
            alpha[i]
        } else if i.abs_diff(j) == 1 {
            beta[i.min(j)]
        } else {
            0.0
        }
    })
}

/// The eigendecomposition `K = U diag(λ) Uᵀ` of a symmetric kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues, ascending.
    pub values: Vec<f64>,
    /// Unit eigenvectors, `vectors[i]` for `values[i]`.
    pub vectors: Vec<Vec<f64>>,
}

/// Every eigenpair of `K` (dense, faer), eigenvalues ascending. Cost `O(n³)`.
pub fn symmetric_eigen(k: &TangentKernel) -> Result<SymmetricEigen> {
    let evd = k
        .to_faer()
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| {
            Error::Backend(format!("the symmetric eigensolver did not converge: {e:?}"))
        })?;
    let s = evd.S();
    let u = evd.U();
    let mut order: Vec<usize> = (0..k.n).collect();
    order.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
    Ok(SymmetricEigen {
        values: order.iter().map(|&i| s[i]).collect(),
        vectors: order
            .iter()
            .map(|&i| (0..k.n).map(|j| u[(j, i)]).collect())
            .collect(),
    })
}

/// The smallest eigenvalue of `K` and a unit eigenvector (dense, faer).
pub fn bottom_eigenpair(k: &TangentKernel) -> Result<(f64, Vec<f64>)> {
    let mut eig = symmetric_eigen(k)?;
    Ok((eig.values[0], eig.vectors.swap_remove(0)))
}
