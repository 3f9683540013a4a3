//! The round-off model against the round-off it models: the same network and inputs (rounded
//! to f32 once) computed in f32 and in f64. The f64 kernel is the oracle (its own error is
//! ~10⁻⁹ of f32's); the model's floors must cover the observed f32 error and stay within 100×
//! of it (a floor a hundred times too large would call real eigenvalues round-off).

use burn::backend::wgpu::Wgpu;
use burn::tensor::backend::Backend;
use plstar::data::{self, SyntheticTarget};
use plstar::measure::kernel::{tangent_kernel, KernelMethod, TangentKernel};
use plstar::measure::roundoff::RoundOff;
use plstar::measure::spectrum::symmetric_eigen;
use plstar::model::{download, upload, Activation, Mlp, MlpConfig};

use crate::{wgpu_or_skip, F32, F64};

/// The f32 weights (seed 0) and f32-rounded sphere inputs of `cfg`, as f64 host vectors.
fn f32_point(cfg: &MlpConfig, n: usize) -> (Vec<f64>, Vec<f64>) {
    let device = Default::default();
    let data = data::sphere(n, cfg.input_dim, SyntheticTarget::Teacher, 3);
    let (x32, _) = data.to_tensors::<F32>(&device);
    (cfg.init::<F32>(0, &device).to_vector(), download(x32))
}

/// The structured tangent kernel of `cfg` at weights `w` on inputs `x` (`n × d`) on `B`.
fn kernel<B: Backend>(cfg: &MlpConfig, w: &[f64], x: &[f64], device: &B::Device) -> TangentKernel {
    let n = x.len() / cfg.input_dim;
    let model = Mlp::<B>::from_vector(cfg, w, device).unwrap();
    let xt = upload::<B, 2>(x, [n, cfg.input_dim], device);
    tangent_kernel(&model, &xt, KernelMethod::Structured)
}

/// `(max_ij |ΔK_ij| / √(K_ii K_jj), max_k |Δλ_k|)` of `k32` against the oracle `k64`.
fn observed(k32: &TangentKernel, k64: &TangentKernel) -> (f64, f64) {
    let n = k64.n;
    let mut entry: f64 = 0.0;
    for i in 0..n {
        for j in 0..n {
            let scale = (k64.get(i, i) * k64.get(j, j)).sqrt();
            entry = entry.max((k32.get(i, j) - k64.get(i, j)).abs() / scale);
        }
    }
    let (e32, e64) = (symmetric_eigen(k32).unwrap(), symmetric_eigen(k64).unwrap());
    let eig = e32
        .values
        .iter()
        .zip(&e64.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    (entry, eig)
}

#[test]
fn f32_kernel_error_is_below_the_floor_and_within_100x_of_it_at_widths_16_to_65536() {
    // Measured on the CPU (faer's f32 GEMM): per entry 1.5u–3.9u at every width, flat in N, so
    // the CPU model uses the blocked-sum length ⌈log₂N⌉ + 1. On lavapipe (a GPU's matmul, one
    // thread per dot product) the error grows with N (228u at 65 536): the GPU model uses N.
    let n = 8;
    let mut configs: Vec<MlpConfig> = [16, 256, 4096, 65536]
        .into_iter()
        .map(|m| MlpConfig::new(4, vec![m]).with_activation(Activation::Tanh))
        .collect();
    // Depth 2 with biases and a smooth activation, depth 3 with ReLU.
    configs.push(
        MlpConfig::new(4, vec![1024, 1024])
            .with_activation(Activation::Erf)
            .with_bias(true),
    );
    configs.push(MlpConfig::new(4, vec![64, 64, 64]).with_activation(Activation::Relu));
    let gpu = wgpu_or_skip("round-off floor on wgpu");
    let (mut report, mut ok) = (String::new(), true);
    for cfg in &configs {
        let (w, x) = f32_point(cfg, n);
        let k64 = kernel::<F64>(cfg, &w, &x, &Default::default());
        let mut paths = vec![(
            "ndarray",
            kernel::<F32>(cfg, &w, &x, &Default::default()),
            RoundOff::for_backend::<F32>(cfg),
        )];
        if let Some(device) = &gpu {
            paths.push((
                "wgpu",
                kernel::<Wgpu<f32>>(cfg, &w, &x, device),
                RoundOff::for_backend::<Wgpu<f32>>(cfg),
            ));
        }
        let max_diagonal = (0..n).map(|i| k64.get(i, i)).fold(0.0, f64::max);
        let lambda_max = symmetric_eigen(&k64).unwrap().values[n - 1];
        // The series (one hidden layer, widths 16 … 65 536) must be within 100×; the
        // deeper networks' depth factor √(2L + 3) is conservative: within 200×.
        let slack = if cfg.depth() == 1 { 100.0 } else { 200.0 };
        for (path, k32, model) in &paths {
            let floor = model.eigenvalue_floor(n, max_diagonal, k64.trace(), lambda_max);
            let (entry, eig) = observed(k32, &k64);
            report.push_str(&format!(
                "{path} widths {:?}: entries {entry:.2e} vs γ = {:.2e} ({:.1}×); eigenvalues \
                 {eig:.2e} vs floor {floor:.2e} ({:.1}×)\n",
                cfg.widths,
                model.gamma(),
                model.gamma() / entry,
                floor / eig
            ));
            ok &= entry <= model.gamma() && model.gamma() <= slack * entry;
            ok &= eig <= floor && floor <= slack * eig;
        }
    }
    println!("{report}");
    assert!(ok, "{report}");
}
