//! The tangent-kernel benchmark behind `plstar bench`: time, achieved GFLOP/s and peak memory
//! of the [`KernelMethod::Structured`] kernel over `n`, width `m` and depth `L`.
//!
//! Flop count of the structured method (multiply-adds count 2), with `m_0 = d`, `m_{L+1} = 1`:
//! forward `Σ_l 2 n m_l m_{l−1}`, back-propagated signals `Σ_{l≤L} 2 n m_{l+1} m_l`, kernel
//! `Σ_l (2 n² m_{l−1} + 2 n² m_l + 2 n²)`.

use std::time::Instant;

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::data::{self, SyntheticTarget};
use crate::measure::kernel::{tangent_kernel, KernelMethod};
use crate::model::backend::{BackendInfo, BackendJob};
use crate::model::{Activation, MlpConfig};

/// Input dimension of every benchmark case.
pub const BENCH_INPUT_DIM: usize = 64;

/// One benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchCase {
    /// Samples `n`.
    pub n: usize,
    /// Width `m` of every hidden layer.
    pub width: usize,
    /// Depth `L`.
    pub depth: usize,
}

impl BenchCase {
    /// The architecture benchmarked: tanh, NTK parameterization, no bias, `d = 64`.
    pub fn config(&self) -> MlpConfig {
        MlpConfig::new(BENCH_INPUT_DIM, vec![self.width; self.depth])
            .with_activation(Activation::Tanh)
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
        let kernel: f64 = s
            .windows(2)
            .map(|w| 2.0 * n * n * (w[0] + w[1] + 1) as f64)
            .sum();
        forward + signals + kernel
    }
}

/// What one case measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchResult {
    /// The case.
    pub case: BenchCase,
    /// The backend.
    pub backend: BackendInfo,
    /// Best wall time of the timed repetitions, seconds (kernel on the host included).
    pub seconds: f64,
    /// `flops / seconds / 1e9`.
    pub gflops: f64,
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
        let data = data::sphere(c.n, BENCH_INPUT_DIM, SyntheticTarget::Sign, 0);
        let model = c.config().init::<B>(0, &device);
        let (x, _) = data.to_tensors::<B>(&device);
        let _ = tangent_kernel(&model, &x, KernelMethod::Structured);
        let mut best = f64::INFINITY;
        for _ in 0..self.repeats.max(1) {
            let t = Instant::now();
            let k = tangent_kernel(&model, &x, KernelMethod::Structured);
            best = best.min(t.elapsed().as_secs_f64());
            assert!(k.values[0].is_finite());
        }
        BenchResult {
            case: c,
            backend: info,
            seconds: best,
            gflops: c.flops() / best / 1e9,
            peak_bytes: peak_resident_bytes(),
        }
    }
}

/// `VmHWM` of this process (Linux), bytes.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The default grid: `n ∈ {128, 512, 2048}`, `m ∈ {256, 1024, 4096}`, `L ∈ {1, 3}`.
pub fn default_grid() -> Vec<BenchCase> {
    let mut cases = vec![];
    for depth in [1, 3] {
        for width in [256, 1024, 4096] {
            for n in [128, 512, 2048] {
                cases.push(BenchCase { n, width, depth });
            }
        }
    }
    cases
}

/// A small grid for a quick look: `n ∈ {128, 512}`, `m ∈ {256, 1024}`, `L ∈ {1, 3}`.
pub fn quick_grid() -> Vec<BenchCase> {
    default_grid()
        .into_iter()
        .filter(|c| c.n <= 512 && c.width <= 1024)
        .collect()
}
