//! The tangent-kernel benchmark behind `plstar bench`: time, achieved GFLOP/s and peak memory
//! of the [`KernelMethod::Structured`] kernel over `n`, width `m`, depth `L` and activation,
//! against this machine's GEMM rate measured in the same process; and the time of the
//! kernel's extreme eigenvalues and of a whole theorem card.
//!
//! Flop count of the structured kernel (multiply-adds count 2), with `m_0 = d`,
//! `m_{L+1} = k` outputs and `N = n·k`: forward `Σ_l 2 n m_l m_{l−1}`, back-propagated signals
//! `Σ_{l≤L} 2 N m_{l+1} m_l`, and for the kernel only the work a symmetric algorithm must do:
//! the distinct entries of each Gram product, `n(n+1) m_{l−1}` flops for `A_{l−1}A_{l−1}ᵀ`
//! (shared by the `k` outputs) and `N(N+1) m_l` for `Δ_lΔ_lᵀ`, and of the Hadamard product and
//! layer sum (`N(N+1)` per layer). A code that forms the full products does twice the Gram work
//! for the same count.
//!
//! The GEMM rate is that of a plain `[n, m] × [m, n]` product of the case's widest Gram shape,
//! `2 n² m` flops, in the case's precision: once through the backend's `matmul` and once
//! through faer (all cores). The larger of the two is the machine's rate the kernel is held to.

use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::data::{self, SyntheticTarget};
use crate::experiment::config::Settings;
use crate::experiment::ntk::{operator_cache_limit, OPERATOR_BLOCK};
use crate::measure::kernel::operator::KernelOperator;
use crate::measure::kernel::{tangent_kernel, GramPath, KernelMethod};
use crate::measure::spectrum::{kernel_extremes, EXTREMES_DENSE_LIMIT};
use crate::model::backend::{BackendInfo, BackendJob};
use crate::model::{Activation, MlpConfig};
use crate::theorem::card::theorem_card;

/// A number that JSON wrote as `null` (serde_json writes NaN so) read back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchCase {
    /// Samples `n`.
    pub n: usize,
    /// Width `m` of every hidden layer.
    pub width: usize,
    /// Depth `L`.
    pub depth: usize,
    /// Input dimension `d`.
    pub input_dim: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Output units `k` (the kernel is `n·k × n·k`).
    #[serde(default = "one")]
    pub outputs: usize,
    /// The dense kernel, or the matrix-free operator's product `K v`.
    #[serde(default)]
    pub path: BenchPath,
}

/// What a case times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BenchPath {
    /// `K` formed by [`tangent_kernel`] (the structured method: `plstar ntk`'s dense path).
    #[default]
    Dense,
    /// One product `v ↦ K v` of [`KernelOperator`] (`plstar ntk`'s operator path, its blocks
    /// and cache limit).
    Operator,
}

impl BenchPath {
    /// `dense` or `operator`.
    pub fn name(self) -> &'static str {
        match self {
            BenchPath::Dense => "dense",
            BenchPath::Operator => "operator",
        }
    }
}

fn one() -> usize {
    1
}

impl BenchCase {
    /// The architecture benchmarked: NTK parameterization, no bias.
    pub fn config(&self) -> MlpConfig {
        MlpConfig::new(self.input_dim, vec![self.width; self.depth])
            .with_activation(self.activation)
            .with_outputs(self.outputs)
    }

    /// Floating-point operations of the structured kernel (module docs).
    pub fn flops(&self) -> f64 {
        let s = self.config().layer_sizes();
        let n = self.n as f64;
        let forward: f64 = s.windows(2).map(|w| 2.0 * n * (w[0] * w[1]) as f64).sum();
        let signals: f64 = s[1..]
            .windows(2)
            .map(|w| 2.0 * n * (w[0] * w[1]) as f64)
            .sum();
        // With k outputs the signals have n·k rows; the input Gram products are shared.
        let k = self.outputs as f64;
        let signals = k * signals;
        let big = n * k;
        let kernel: f64 = s
            .windows(2)
            .map(|w| n * (n + 1.0) * w[0] as f64 + big * (big + 1.0) * (w[1] + 1) as f64)
            .sum();
        forward + signals + kernel
    }

    /// Flops of one operator product `K v` ([`BenchPath::Operator`]): `4 n p`, the `2 n p`
    /// multiply-adds of its two GEMMs per layer (`DFᵀ v` as `M_lᵀ A_l`, then `A_l G_lᵀ`), with
    /// the factors kept ([`crate::measure::kernel::operator`]).
    pub fn operator_flops(&self) -> f64 {
        4.0 * self.n as f64 * self.config().parameter_count() as f64
    }

    /// The flops the case's time is held to: [`BenchCase::flops`] or
    /// [`BenchCase::operator_flops`].
    pub fn timed_flops(&self) -> f64 {
        match self.path {
            BenchPath::Dense => self.flops(),
            BenchPath::Operator => self.operator_flops(),
        }
    }

    /// Flops of the plain GEMM the machine's rate is measured on: `[r, m] × [m, r]`,
    /// `r` = [`BenchCase::gemm_rows`].
    pub fn gemm_flops(&self) -> f64 {
        2.0 * (self.gemm_rows() * self.gemm_rows()) as f64 * self.gemm_inner() as f64
    }

    /// `n` for the dense kernel; for the operator, whose GEMMs are one block of samples against
    /// a layer's weights, `min(n, OPERATOR_BLOCK)`.
    fn gemm_rows(&self) -> usize {
        match self.path {
            BenchPath::Dense => self.n,
            BenchPath::Operator => self.n.min(OPERATOR_BLOCK),
        }
    }

    fn gemm_inner(&self) -> usize {
        self.width.max(self.input_dim)
    }
}

/// What one case measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchResult {
    /// The case.
    pub case: BenchCase,
    /// The backend.
    pub backend: BackendInfo,
    /// Where the Gram products ran (`Host` or `Device`).
    pub gram_path: String,
    /// Best wall time of the timed repetitions, seconds (kernel on the host included; one
    /// product `K v` for the operator).
    pub seconds: f64,
    /// The first call's wall time in this fresh process, as a user's `plstar ntk` runs it
    /// (thread-pool start, first touch of fresh memory); the operator's includes its set-up
    /// (the factors it keeps).
    #[serde(default)]
    pub cold_seconds: Option<f64>,
    /// `flops / seconds / 1e9` (module docs).
    pub kernel_gflops: f64,
    /// The GEMM rate through the backend's matmul, GFLOP/s (best of the repetitions).
    pub gemm_backend_gflops: f64,
    /// The GEMM rate through faer, GFLOP/s (best of the repetitions).
    pub gemm_faer_gflops: f64,
    /// The larger of the two: this machine's rate for the case's shape and precision.
    pub gemm_gflops: f64,
    /// Best time of `λ_min` and `λ_max` of the kernel ([`kernel_extremes`]), seconds; NaN
    /// (JSON `null`) for an operator case, which times products only.
    #[serde(deserialize_with = "null_as_nan")]
    pub extremes_seconds: f64,
    /// `dense` or `lanczos`.
    pub extremes_method: String,
    /// Peak resident memory of the process that ran only this case, bytes (`VmHWM`).
    pub peak_bytes: Option<u64>,
}

/// Runs one case: one warm-up, then the best of `repeats` timed runs.
pub struct BenchJob {
    /// The case.
    pub case: BenchCase,
    /// Timed repetitions.
    pub repeats: usize,
}

impl BackendJob for BenchJob {
    type Output = BenchResult;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> BenchResult {
        let c = self.case;
        let repeats = self.repeats.max(1);
        let data = data::sphere(c.n, c.input_dim, SyntheticTarget::Sign, 0);
        let model = c.config().init::<B>(0, &device);
        let (x, _) = data.to_tensors::<B>(&device);
        if c.path == BenchPath::Operator {
            return operator_case(c, repeats, &model, &x, &device, info);
        }
        let t = Instant::now();
        let mut k = tangent_kernel(&model, &x, KernelMethod::Structured);
        let cold_seconds = Some(t.elapsed().as_secs_f64());
        let seconds = best_of(repeats, || {
            k = tangent_kernel(&model, &x, KernelMethod::Structured);
        });
        assert!(k.values[0].is_finite());
        let mut method = "";
        let extremes_seconds = best_of(repeats, || {
            method = kernel_extremes(&k, EXTREMES_DENSE_LIMIT)
                .map(|e| e.method)
                .unwrap_or("failed");
        });
        let (gemm_backend_gflops, gemm_faer_gflops) = gemm_rates::<B>(&c, repeats, &device);
        BenchResult {
            case: c,
            backend: info,
            gram_path: format!("{:?}", GramPath::for_backend(&model, c.n)),
            seconds,
            cold_seconds,
            kernel_gflops: c.flops() / seconds / 1e9,
            gemm_backend_gflops,
            gemm_faer_gflops,
            gemm_gflops: gemm_backend_gflops.max(gemm_faer_gflops),
            extremes_seconds,
            extremes_method: method.to_string(),
            peak_bytes: peak_resident_bytes(),
        }
    }
}

/// An operator case: the set-up and first product (cold), then the best of `repeats`
/// products; no eigenvalues (`extremes_seconds` NaN).
fn operator_case<B: Backend>(
    c: BenchCase,
    repeats: usize,
    model: &crate::model::Mlp<B>,
    x: &Tensor<B, 2>,
    device: &B::Device,
    info: BackendInfo,
) -> BenchResult {
    let t = Instant::now();
    let op = KernelOperator::new(model, x, OPERATOR_BLOCK, operator_cache_limit(None));
    let v = vec![1.0 / (c.n as f64).sqrt(); c.n * c.outputs];
    let mut kv = op.product(&v);
    let cold_seconds = Some(t.elapsed().as_secs_f64());
    let seconds = best_of(repeats, || kv = op.product(&v));
    assert!(kv[0].is_finite());
    let (gemm_backend_gflops, gemm_faer_gflops) = gemm_rates::<B>(&c, repeats, device);
    BenchResult {
        case: c,
        backend: info,
        gram_path: if op.cached() { "kept" } else { "recomputed" }.to_string(),
        seconds,
        cold_seconds,
        kernel_gflops: c.operator_flops() / seconds / 1e9,
        gemm_backend_gflops,
        gemm_faer_gflops,
        gemm_gflops: gemm_backend_gflops.max(gemm_faer_gflops),
        extremes_seconds: f64::NAN,
        extremes_method: "none".to_string(),
        peak_bytes: peak_resident_bytes(),
    }
}

/// The best wall time of `repeats` calls of `f`, seconds.
fn best_of(repeats: usize, mut f: impl FnMut()) -> f64 {
    (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// GFLOP/s of `[n, m] × [m, n]` through the backend and through faer, in `B`'s precision.
fn gemm_rates<B: Backend>(c: &BenchCase, repeats: usize, device: &B::Device) -> (f64, f64) {
    let (n, m) = (c.gemm_rows(), c.gemm_inner());
    let a = Tensor::<B, 2>::random(
        [n, m],
        Distribution::Normal(0.0, 1.0),
        crate::model::float_options::<B>(device),
    );
    let at = a.clone().transpose();
    let product = || {
        let _ = a.clone().matmul(at.clone()).into_data();
    };
    product();
    let backend = c.gemm_flops() / best_of(repeats + 1, product) / 1e9;
    let faer = if size_of::<B::FloatElem>() == 4 {
        faer_rate::<f32>(n, m, repeats)
    } else {
        faer_rate::<f64>(n, m, repeats)
    };
    (backend, c.gemm_flops() / faer / 1e9)
}

/// Best seconds of a full faer product `[n, m] × [m, n]` on every core.
fn faer_rate<T: faer::traits::ComplexField + From<f32>>(n: usize, m: usize, repeats: usize) -> f64 {
    let a = faer::Mat::<T>::from_fn(n, m, |i, j| T::from(((i * 7 + j * 13) % 17) as f32 - 8.0));
    let mut c = faer::Mat::<T>::zeros(n, n);
    let mut product = || {
        faer::linalg::matmul::matmul(
            c.as_mut(),
            faer::Accum::Replace,
            a.as_ref(),
            a.transpose(),
            T::one_impl(),
            faer::Par::rayon(0),
        );
    };
    product();
    best_of(repeats + 1, product)
}

/// Times the whole theorem card of a run's settings (the default config's, for `bench --card`).
pub struct CardBenchJob<'a> {
    /// The validated settings.
    pub settings: &'a Settings,
    /// Timed repetitions.
    pub repeats: usize,
}

/// What [`CardBenchJob`] measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardBenchResult {
    /// The backend.
    pub backend: BackendInfo,
    /// The run's name.
    pub name: String,
    /// Best wall time of the card, seconds.
    pub seconds: f64,
    /// Radii searched.
    pub radii: usize,
}

impl BackendJob for CardBenchJob<'_> {
    type Output = crate::error::Result<CardBenchResult>;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Self::Output {
        let s = self.settings;
        let (x, y) = s.data.to_tensors::<B>(&device);
        let model = s.model.init::<B>(s.config.seed, &device);
        let settings = s.config.card.settings(s.config.seed);
        let mut radii = 0;
        let mut failure = None;
        let seconds = best_of(self.repeats.max(1), || {
            match theorem_card(&model, &x, &y, &settings) {
                Ok(card) => radii = card.profile.len(),
                Err(e) => failure = Some(e),
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(CardBenchResult {
            backend: info,
            name: s.name.clone(),
            seconds,
            radii,
        })
    }
}

/// `VmHWM` of this process (Linux), bytes.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The tanh grid (`d = 64`): `n ∈ {128, 512, 2048}`, `m ∈ {256, 1024, 4096}`, `L ∈ {1, 3}`.
fn tanh_grid() -> Vec<BenchCase> {
    let mut cases = vec![];
    for depth in [1, 3] {
        for width in [256, 1024, 4096] {
            for n in [128, 512, 2048] {
                cases.push(BenchCase {
                    n,
                    width,
                    depth,
                    input_dim: 64,
                    activation: Activation::Tanh,
                    outputs: 1,
                    path: BenchPath::Dense,
                });
            }
        }
    }
    cases
}

/// The four shapes of the JAX comparison (ReLU, `d = 32`, no bias): `(L, m, n)` =
/// `(1, 4096, 512)`, `(3, 1024, 512)`, `(3, 4096, 512)`, `(3, 1024, 4096)`.
pub fn reference_shapes() -> Vec<BenchCase> {
    [
        (1, 4096, 512),
        (3, 1024, 512),
        (3, 4096, 512),
        (3, 1024, 4096),
    ]
    .into_iter()
    .map(|(depth, width, n)| BenchCase {
        n,
        width,
        depth,
        input_dim: 32,
        activation: Activation::Relu,
        outputs: 1,
        path: BenchPath::Dense,
    })
    .collect()
}

/// The k-output cases: tanh, `d = 64`, `L = 3`, `m = 1024`, `n = 512`, `k ∈ {1, 10}` (the
/// `k = 10` kernel is `5120 × 5120`; its time is at most `k²` times that of `k = 1`).
pub fn output_cases() -> Vec<BenchCase> {
    [1, 10]
        .into_iter()
        .map(|outputs| BenchCase {
            n: 512,
            width: 1024,
            depth: 3,
            input_dim: 64,
            activation: Activation::Tanh,
            outputs,
            path: BenchPath::Dense,
        })
        .collect()
}

/// The default grid: the four reference shapes, then the tanh grid.
pub fn default_grid() -> Vec<BenchCase> {
    let mut cases = reference_shapes();
    cases.extend(tanh_grid());
    cases.extend(output_cases().into_iter().filter(|c| c.outputs > 1));
    cases
}

/// Issue 22's scaling grid, `plstar bench --scaling`: ReLU, `d = 32`, `L = 2`, `m = 1024`, no
/// bias (`p = 1 082 368`); the dense kernel at `n = 1 024 … 16 384` and one operator product
/// at `n = 1 024 … 65 536` (a dense `K` at 65 536 would need 34 GB in f64).
pub fn scaling_grid() -> Vec<BenchCase> {
    let case = |n, path| BenchCase {
        n,
        width: 1024,
        depth: 2,
        input_dim: 32,
        activation: Activation::Relu,
        outputs: 1,
        path,
    };
    let mut cases: Vec<BenchCase> = [1024, 2048, 4096, 8192, 16384]
        .into_iter()
        .map(|n| case(n, BenchPath::Dense))
        .collect();
    cases.extend(
        [1024, 4096, 16384, 65536]
            .into_iter()
            .map(|n| case(n, BenchPath::Operator)),
    );
    cases
}

/// A small grid for a quick look: the cases with `n ≤ 512` and `m ≤ 1024`.
pub fn quick_grid() -> Vec<BenchCase> {
    default_grid()
        .into_iter()
        .filter(|c| c.n <= 512 && c.width <= 1024)
        .collect()
}
