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
    /// The wgpu adapter the run used (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`, a software
    /// driver); absent on ndarray.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
}

impl BackendInfo {
    /// The graphics API wgpu runs through here (the one [`wgpu_device`] asks for).
    pub fn graphics_api() -> &'static str {
        if cfg!(target_os = "macos") {
            "Metal"
        } else {
            "Vulkan"
        }
    }
}

/// The backend in plain words for people: `ndarray, f64, CPU` or `wgpu (Vulkan), f32` (the
/// adapter's name, when wanted, from [`wgpu_adapter_name`]). Burn's own name of the device
/// (`cubecl<wgpu<wgsl>>`) stays in [`BackendInfo::device`] for the records.
impl fmt::Display for BackendInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            BackendKind::Ndarray => write!(f, "ndarray, {}, CPU", self.precision),
            BackendKind::Wgpu => write!(
                f,
                "wgpu ({}), {}",
                BackendInfo::graphics_api(),
                self.precision
            ),
        }
    }
}

/// The name of the adapter wgpu picks (the request Burn makes: high performance, on
/// [`BackendInfo::graphics_api`]), e.g. `NVIDIA H200` or `llvmpipe (LLVM 15.0.7, 256 bits)`;
/// `None` when there is none.
pub fn wgpu_adapter_name() -> Option<String> {
    let adapter = request_wgpu_adapter().1.ok()?;
    let name = adapter.get_info().name;
    (!name.is_empty()).then_some(name)
}

/// Whether `B`'s tensors live in host memory (burn-ndarray, f32 or f64): then measurement code
/// may read them without a transfer and use host linear algebra (the tangent kernel's CPU
/// specialization asks this).
pub fn in_host_memory<B: Backend>() -> bool {
    use std::any::TypeId;
    let b = TypeId::of::<B>();
    b == TypeId::of::<NdArray<f32>>() || b == TypeId::of::<NdArray<f64>>()
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
    let info = |device: String, adapter: Option<String>| BackendInfo {
        backend,
        precision,
        device,
        adapter,
    };
    match (backend, precision) {
        (BackendKind::Ndarray, Precision::F32) => {
            let device = NdArrayDevice::Cpu;
            let name = <NdArray<f32> as Backend>::name(&device);
            Ok(job.run::<NdArray<f32>>(device, info(name, None)))
        }
        (BackendKind::Ndarray, Precision::F64) => {
            let device = NdArrayDevice::Cpu;
            let name = <NdArray<f64> as Backend>::name(&device);
            Ok(job.run::<NdArray<f64>>(device, info(name, None)))
        }
        (BackendKind::Wgpu, Precision::F32) => {
            let device = wgpu_device()?;
            let name = <Wgpu<f32> as Backend>::name(&device);
            Ok(job.run::<Wgpu<f32>>(device, info(name, wgpu_adapter_name())))
        }
        (BackendKind::Wgpu, Precision::F64) => Err(Error::Backend(
            "--precision f64 is not supported on --backend wgpu: software Vulkan drivers report \
             f64 support yet compute tanh/exp wrongly, so plstar runs f64 on the CPU only. Use \
             --backend wgpu --precision f32, or --backend ndarray --precision f64"
                .into(),
        )),
    }
}

/// The default wgpu device, after checking that wgpu finds an adapter for the graphics API
/// Burn uses (Vulkan; Metal on macOS).
///
/// Burn's wgpu runtime panics when it finds no adapter. The probe asks wgpu itself, through the
/// same request Burn makes (`request_adapter` with the high-performance preference), and turns
/// "none" into an error that suggests the CPU backend: no panic, no panic hook touched, safe
/// while other threads run. A `CUBECL_WGPU_DEFAULT_DEVICE` override is left to Burn.
pub fn wgpu_device() -> Result<WgpuDevice> {
    let (backend, adapter) = request_wgpu_adapter();
    match adapter {
        Ok(_) => Ok(WgpuDevice::default()),
        // wgpu's message lists every graphics API it did not try: its first clause is the news.
        Err(e) => Err(Error::Backend(format!(
            "the wgpu backend found no usable GPU adapter ({backend:?}: {}). Use --backend \
             ndarray to run on the CPU, or install a GPU driver with {backend:?} support (on \
             Debian without a GPU, the packages mesa-vulkan-drivers and libvulkan1 give a \
             software adapter)",
            e.to_string().split(';').next().unwrap_or_default()
        ))),
    }
}

/// The graphics API Burn's wgpu runtime uses here (Metal on macOS, else Vulkan) and wgpu's
/// answer to the adapter request Burn makes (high performance, no surface).
fn request_wgpu_adapter() -> (
    wgpu::Backend,
    std::result::Result<wgpu::Adapter, wgpu::RequestAdapterError>,
) {
    let backend = if cfg!(target_os = "macos") {
        wgpu::Backend::Metal
    } else {
        wgpu::Backend::Vulkan
    };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: backend.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
    }));
    (backend, adapter)
}

/// Runs a future to completion on this thread. wgpu's native adapter requests resolve without
/// waiting on anything, so polling with a no-op waker ends on the first poll; the loop only
/// guards against a future that is not ready yet.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
