//! Choosing a Burn backend at run time.
//!
//! Library code is generic over `B: Backend`; a concrete backend appears only here, where a
//! [`BackendJob`] is handed the backend type and device that `--backend` and `--precision` ask
//! for:
//!
//! | backend | precision | Burn type | device |
//! |---|---|---|---|
//! | `ndarray` | f32 | `NdArray<f32>` | CPU |
//! | `ndarray` | f64 | `NdArray<f64>` | CPU |
//! | `wgpu` | f32 | `Wgpu<f32>` | the default wgpu adapter (GPU, or a software Vulkan driver) |
//!
//! f64 on wgpu is refused: on a software Vulkan driver it reports f64 support yet computes
//! `tanh`/`exp` wrongly (errors of order 1 were measured, with matmul still exact), so plstar
//! runs f64 on the CPU backend only.

use std::fmt;
use std::str::FromStr;

use burn::backend::ndarray::{NdArray, NdArrayDevice};
use burn::backend::wgpu::{Wgpu, WgpuDevice};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which Burn backend runs the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn-ndarray on the CPU (f32 or f64).
    #[default]
    Ndarray,
    /// burn-wgpu (WGSL compute shaders through Vulkan, Metal or DX12; f32 only).
    Wgpu,
}

/// The float type of every tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 64-bit floats (ndarray only).
    #[default]
    F64,
}

impl BackendKind {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

impl Precision {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ndarray" => Ok(BackendKind::Ndarray),
            "wgpu" => Ok(BackendKind::Wgpu),
            _ => Err(format!("unknown backend {s:?}: use ndarray or wgpu")),
        }
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            _ => Err(format!("unknown precision {s:?}: use f32 or f64")),
        }
    }
}

/// What a job is told about the backend it runs on (recorded in every output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// `ndarray` or `wgpu`.
    pub backend: BackendKind,
    /// `f32` or `f64`.
    pub precision: Precision,
    /// Burn's name of the backend and device.
    pub device: String,
}

/// Work that is generic over the backend; [`dispatch`] picks the type.
pub trait BackendJob {
    /// What the job returns.
    type Output;
    /// Runs the job on backend `B` and `device`.
    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Self::Output;
}

/// Runs `job` on the backend and precision asked for.
///
/// Errors (before the job starts) when the combination is not supported or no wgpu adapter
/// exists on this machine.
pub fn dispatch<J: BackendJob>(
    backend: BackendKind,
    precision: Precision,
    job: J,
) -> Result<J::Output> {
    let info = |device: String| BackendInfo {
        backend,
        precision,
        device,
    };
    match (backend, precision) {
        (BackendKind::Ndarray, Precision::F32) => {
            let device = NdArrayDevice::Cpu;
            let name = <NdArray<f32> as Backend>::name(&device);
            Ok(job.run::<NdArray<f32>>(device, info(name)))
        }
        (BackendKind::Ndarray, Precision::F64) => {
            let device = NdArrayDevice::Cpu;
            let name = <NdArray<f64> as Backend>::name(&device);
            Ok(job.run::<NdArray<f64>>(device, info(name)))
        }
        (BackendKind::Wgpu, Precision::F32) => {
            let device = wgpu_device()?;
            let name = <Wgpu<f32> as Backend>::name(&device);
            Ok(job.run::<Wgpu<f32>>(device, info(name)))
        }
        (BackendKind::Wgpu, Precision::F64) => Err(Error::Backend(
            "--precision f64 is not supported on --backend wgpu: software Vulkan drivers report \
             f64 support yet compute tanh/exp wrongly, so plstar runs f64 on the CPU only. Use \
             --backend wgpu --precision f32, or --backend ndarray --precision f64"
                .into(),
        )),
    }
}

/// The default wgpu device, after checking that an adapter exists and runs a kernel.
///
/// wgpu panics when it finds no adapter; the panic is caught here (silently) and turned into
/// an error that suggests the CPU backend.
pub fn wgpu_device() -> Result<WgpuDevice> {
    let device = WgpuDevice::default();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = std::panic::catch_unwind(|| {
        let t = Tensor::<Wgpu<f32>, 1>::ones([4], &device);
        t.sum().into_data()
    });
    std::panic::set_hook(previous);
    match probe {
        Ok(_) => Ok(device),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            // Burn's internal unwraps (e.g. "called `Result::unwrap()` on an `Err` value:
            // RecvError") say nothing to a user; other reasons are kept.
            let detail = reason.lines().next().unwrap_or("");
            let detail = if detail.is_empty() || detail.contains("unwrap()") {
                String::new()
            } else {
                format!(" ({detail})")
            };
            Err(Error::Backend(format!(
                "the wgpu backend found no usable GPU adapter{detail}. Use --backend ndarray to \
                 run on the CPU, or install a GPU driver with Vulkan support (on Debian without \
                 a GPU, the packages mesa-vulkan-drivers and libvulkan1 give a software adapter)"
            )))
        }
    }
}
