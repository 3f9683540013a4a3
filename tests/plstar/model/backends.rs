//! The same model on every backend: ndarray f32/f64 and wgpu f32.
//!
//! wgpu tests run on whatever adapter wgpu finds (in CI: Mesa's lavapipe, a software Vulkan
//! driver). Where no adapter exists they print why and skip — unless `PLSTAR_REQUIRE_WGPU=1`
//! (set by `.ci/run`), where a missing adapter fails the test.

use burn::backend::wgpu::Wgpu;
use burn::tensor::backend::Backend;
use plstar::data::{self, SyntheticTarget};
use plstar::measure::loss::loss_gradient;
use plstar::model::backend::{dispatch, BackendInfo, BackendJob, BackendKind, Precision};
use plstar::model::{download, Activation, Mlp, MlpConfig};

use crate::{relative_error, tol, wgpu_or_skip, F32, F64};

type W32 = Wgpu<f32>;

/// Forward outputs and ∇L on backend `B` for the parameter vector `w`.
fn forward_and_gradient<B: Backend>(
    cfg: &MlpConfig,
    w: &[f64],
    data: &data::Dataset,
    device: &B::Device,
) -> (Vec<f64>, Vec<f64>) {
    let model = Mlp::<B>::from_vector(cfg, w, device).unwrap();
    let (x, y) = data.to_tensors::<B>(device);
    let f = download(model.forward(x.clone()));
    let g = loss_gradient(&model, &x, &y).to_vector();
    (f, g)
}

#[test]
fn wgpu_and_ndarray_agree_on_forward_outputs_and_gradients_in_f32() {
    let Some(gpu) = wgpu_or_skip("wgpu_and_ndarray_agree") else {
        return;
    };
    let data = data::sphere(24, 6, SyntheticTarget::Teacher, 0);
    for act in Activation::ALL {
        let cfg = MlpConfig::new(6, vec![64, 32])
            .with_activation(act)
            .with_bias(true)
            .with_bias_scale(0.5);
        let w = cfg.initial_parameters(1);
        let (f_cpu, g_cpu) = forward_and_gradient::<F32>(&cfg, &w, &data, &Default::default());
        let (f_gpu, g_gpu) = forward_and_gradient::<W32>(&cfg, &w, &data, &gpu);
        let ef = relative_error(&f_gpu, &f_cpu);
        let eg = relative_error(&g_gpu, &g_cpu);
        assert!(
            ef < tol::BACKENDS_F32,
            "{act}: forward relative error {ef:e}"
        );
        assert!(
            eg < tol::BACKENDS_F32,
            "{act}: gradient relative error {eg:e}"
        );
        // And both are close to the f64 reference (f32 round-off only).
        let (f64_ref, _) = forward_and_gradient::<F64>(&cfg, &w, &data, &Default::default());
        assert!(relative_error(&f_gpu, &f64_ref) < 1e-4);
    }
}

#[test]
fn the_same_seed_gives_bit_identical_initial_weights_on_every_backend() {
    let cfg = MlpConfig::new(5, vec![33, 17]).with_bias(true);
    let host = cfg.initial_parameters(42);
    let f64_cpu = cfg.init::<F64>(42, &Default::default()).to_vector();
    assert_eq!(f64_cpu, host, "f64 ndarray holds exactly the host draw");
    let f32_cpu = cfg.init::<F32>(42, &Default::default()).to_vector();
    let rounded: Vec<f64> = host.iter().map(|&v| v as f32 as f64).collect();
    assert_eq!(
        f32_cpu, rounded,
        "f32 ndarray holds the host draw rounded once to f32"
    );
    assert_ne!(
        cfg.init::<F32>(43, &Default::default()).to_vector(),
        f32_cpu,
        "seeds differ"
    );
    if let Some(gpu) = wgpu_or_skip("bit_identical_initial_weights") {
        let f32_gpu = cfg.init::<W32>(42, &gpu).to_vector();
        assert!(
            f32_gpu
                .iter()
                .zip(&f32_cpu)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "wgpu and ndarray initial weights must be bit-identical"
        );
        assert_ne!(cfg.init::<W32>(43, &gpu).to_vector(), f32_gpu);
    }
}

struct WhoAmI;
impl BackendJob for WhoAmI {
    type Output = (BackendInfo, usize);
    fn run<B: Backend>(self, _device: B::Device, info: BackendInfo) -> Self::Output {
        (info, std::mem::size_of::<B::FloatElem>())
    }
}

#[test]
fn dispatch_runs_the_requested_backend_and_refuses_f64_on_wgpu() {
    let (info, bytes) = dispatch(BackendKind::Ndarray, Precision::F64, WhoAmI).unwrap();
    assert_eq!(
        (info.backend, info.precision, bytes),
        (BackendKind::Ndarray, Precision::F64, 8)
    );
    let (_, bytes) = dispatch(BackendKind::Ndarray, Precision::F32, WhoAmI).unwrap();
    assert_eq!(bytes, 4);
    let err = dispatch(BackendKind::Wgpu, Precision::F64, WhoAmI)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("f64") && err.contains("--backend ndarray"),
        "{err}"
    );
    if wgpu_or_skip("dispatch_wgpu").is_some() {
        let (info, bytes) = dispatch(BackendKind::Wgpu, Precision::F32, WhoAmI).unwrap();
        assert_eq!((info.backend, bytes), (BackendKind::Wgpu, 4));
    }
}

/// `NdArray<f32>` and `NdArray<f64>` share Burn 0.21's one default float dtype for the CPU
/// device, set by whichever asked first in the process. Every tensor plstar creates (uploads,
/// data, model weights, the device path's ReLU derivative, the kernel) must keep its backend's
/// own precision whatever that default is: checked for both precisions in one process, so that
/// one of the two would fail without explicit dtypes (before the fix, f64 kernel tests failed
/// about one run in three with 1e-7 errors when an f32 test ran first).
#[test]
fn f32_and_f64_ndarray_tensors_keep_their_precision_in_one_process() {
    use burn::tensor::DType;
    fn check<B: Backend>(want: DType) {
        let device = Default::default();
        let (x, y) = data::sphere(6, 3, SyntheticTarget::Teacher, 0).to_tensors::<B>(&device);
        let model = MlpConfig::new(3, vec![5]).init::<B>(0, &device);
        let z = model.forward(x.clone());
        for (what, dtype) in [
            (
                "upload",
                plstar::model::upload::<B, 1>(&[0.5, 1.5], [2], &device).dtype(),
            ),
            ("inputs", x.dtype()),
            ("targets", y.dtype()),
            ("weights", model.weights()[0].dtype()),
            ("forward", z.dtype()),
            ("relu'", Activation::Relu.derivative(z).dtype()),
        ] {
            assert_eq!(dtype, want, "{what}");
        }
    }
    check::<F32>(DType::F32);
    check::<F64>(DType::F64);
    check::<F32>(DType::F32);
}
