//! The tangent kernel: every method against every other, against finite differences, against
//! the exact kernel of a linear model and against the closed-form infinite-width kernels.

use plstar::data::{self, SyntheticTarget};
use plstar::measure::kernel::{
    structured_on, tangent_kernel, GramPath, KernelMethod, TangentKernel,
};
use plstar::measure::loss::loss_gradient;
use plstar::measure::spectrum::dense_spectrum;
use plstar::model::{download, Activation, Mlp, MlpConfig, Parameterization};

use super::varied_config;
use crate::{relative_error, tol, F64};

fn kernel_of(
    cfg: &MlpConfig,
    seed: u64,
    data: &data::Dataset,
    method: KernelMethod,
) -> TangentKernel {
    let device = Default::default();
    let model = cfg.init::<F64>(seed, &device);
    let (x, _) = data.to_tensors::<F64>(&device);
    tangent_kernel(&model, &x, method)
}

#[test]
fn structured_equals_autodiff_for_every_activation_depth_bias_and_parameterization() {
    let data = data::sphere(6, 3, SyntheticTarget::Teacher, 0);
    for act in Activation::ALL {
        for widths in [vec![5], vec![5, 4], vec![5, 4, 3]] {
            for bias in [false, true] {
                for param in [Parameterization::Ntk, Parameterization::Standard] {
                    let cfg = varied_config(3, act, &widths, bias).with_parameterization(param);
                    let s = kernel_of(&cfg, 1, &data, KernelMethod::Structured);
                    let a = kernel_of(&cfg, 1, &data, KernelMethod::Autodiff);
                    let err = relative_error(&s.values, &a.values);
                    assert!(
                        err < tol::KERNEL_METHODS,
                        "{act} widths {widths:?} bias {bias} {param:?}: relative error {err:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn kernel_entries_equal_dot_products_of_finite_difference_jacobian_rows() {
    let data = data::sphere(5, 3, SyntheticTarget::Teacher, 2);
    let cfg = MlpConfig::new(3, vec![6, 4])
        .with_activation(Activation::Softplus)
        .with_bias(true);
    let device = Default::default();
    let w = cfg.initial_parameters(4);
    let (x, _) = data.to_tensors::<F64>(&device);
    let outputs = |w: &[f64]| {
        download(
            Mlp::<F64>::from_vector(&cfg, w, &device)
                .unwrap()
                .forward(x.clone()),
        )
    };
    let h = 1e-5;
    let jac: Vec<Vec<f64>> = (0..w.len())
        .map(|k| {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[k] += h;
            wm[k] -= h;
            outputs(&wp)
                .iter()
                .zip(outputs(&wm))
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect()
        })
        .collect(); // jac[k][i] = ∂f_i/∂w_k
    let fd: Vec<f64> = (0..25)
        .map(|ij| jac.iter().map(|col| col[ij / 5] * col[ij % 5]).sum())
        .collect();
    let k = tangent_kernel(
        &Mlp::<F64>::from_vector(&cfg, &w, &device).unwrap(),
        &x,
        KernelMethod::Structured,
    );
    let err = relative_error(&k.values, &fd);
    assert!(err < tol::GRADIENT_FD, "relative error {err:e}");
}

#[test]
fn linear_model_kernel_is_x_xt_over_d_exactly() {
    let (n, d) = (7, 4);
    let data = data::sphere(n, d, SyntheticTarget::Sign, 3);
    let cfg = MlpConfig::new(d, vec![]).with_activation(Activation::Identity);
    for method in [KernelMethod::Structured, KernelMethod::Autodiff] {
        let k = kernel_of(&cfg, 0, &data, method);
        for i in 0..n {
            for j in 0..n {
                let want: f64 = data
                    .input(i)
                    .iter()
                    .zip(data.input(j))
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / d as f64;
                assert!((k.get(i, j) - want).abs() < 1e-15, "{method:?} K[{i},{j}]");
            }
        }
    }
}

#[test]
fn the_pl_identity_holds_and_the_pl_ratio_is_at_least_lambda_min() {
    // ∇L = DFᵀ r ⇒ ‖∇L‖² = rᵀ K r, and rᵀKr ≥ λ_min ‖r‖² = 2 λ_min L.
    let data = data::sphere(12, 5, SyntheticTarget::Teacher, 1);
    let cfg = MlpConfig::new(5, vec![64, 32])
        .with_activation(Activation::Gelu)
        .with_bias(true);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, y) = data.to_tensors::<F64>(&device);
    let k = tangent_kernel(&model, &x, KernelMethod::Structured);
    let r: Vec<f64> = download(model.forward(x.clone()))
        .iter()
        .zip(&data.targets)
        .map(|(f, y)| f - y)
        .collect();
    let g = loss_gradient(&model, &x, &y);
    let grad_sq: f64 = g.to_vector().iter().map(|v| v * v).sum();
    let rkr = k.quadratic_form(&r);
    assert!(
        (grad_sq - rkr).abs() <= 1e-10 * rkr,
        "‖∇L‖² = {grad_sq}, rᵀKr = {rkr}"
    );
    let pl_ratio = grad_sq / (2.0 * g.loss());
    let spec = dense_spectrum(&k).unwrap();
    assert!(
        pl_ratio >= spec.lambda_min,
        "pl_ratio {pl_ratio} < λ_min {}",
        spec.lambda_min
    );
    assert!(spec.lambda_min > 0.0);
}

/// The infinite-width NTK of one hidden layer, no bias, NTK parameterization, both layers
/// trained (THEORY.md): `K∞ = E[σ(u)σ(u′)] + (xᵀx′/d) E[σ′(u)σ′(u′)]`, `(u, u′)` Gaussian with
/// covariance `[[‖x‖², xᵀx′], [xᵀx′, ‖x′‖²]] / d`.
/// The closed-form `K∞` of `src/measure/infinite.rs` (itself tested against independent
/// numerical Gaussian integrals in `measure::infinite`).
fn infinite_width_kernel(act: Activation, data: &data::Dataset) -> Vec<f64> {
    plstar::measure::infinite::infinite_width_kernel(act, data)
        .expect("relu and erf have closed forms")
        .values
}

/// Least-squares slope of `ln y` against `ln x`.
fn log_log_slope(x: &[f64], y: &[f64]) -> f64 {
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let (mx, my) = (
        lx.iter().sum::<f64>() / lx.len() as f64,
        ly.iter().sum::<f64>() / ly.len() as f64,
    );
    let cov: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let var: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    cov / var
}

#[test]
fn empirical_kernel_converges_to_the_infinite_width_kernel_at_rate_one_over_root_width() {
    // 20 points on S^4. At width 2^14 the relative Frobenius error is ~1% (measured: see the
    // printed figures); over widths 2^6 … 2^14, the RMS error over 6 seeds falls with log-log
    // slope −0.5 ± 0.1 (the empirical kernel is a mean of m i.i.d. neuron terms).
    let data = data::sphere(20, 5, SyntheticTarget::Sign, 0);
    for act in [Activation::Relu, Activation::Erf] {
        let exact = infinite_width_kernel(act, &data);
        let widths: Vec<usize> = (6..=14).map(|e| 1 << e).collect();
        let mut rms = Vec::new();
        for &m in &widths {
            let cfg = MlpConfig::new(5, vec![m]).with_activation(act);
            let errs: Vec<f64> = (0..6)
                .map(|seed| {
                    relative_error(
                        &kernel_of(&cfg, seed, &data, KernelMethod::Structured).values,
                        &exact,
                    )
                })
                .collect();
            rms.push((errs.iter().map(|e| e * e).sum::<f64>() / errs.len() as f64).sqrt());
        }
        let slope = log_log_slope(&widths.iter().map(|&m| m as f64).collect::<Vec<_>>(), &rms);
        eprintln!(
            "{act}: relative error at width 2^14 = {:.4}, slope = {slope:.3}",
            rms[rms.len() - 1]
        );
        assert!(
            rms[rms.len() - 1] < 0.03,
            "{act}: error at 2^14 is {}",
            rms[rms.len() - 1]
        );
        assert!((slope + 0.5).abs() < 0.1, "{act}: slope {slope}");
    }
}

#[test]
fn wgpu_and_ndarray_kernels_agree_in_f32() {
    let Some(gpu) = crate::wgpu_or_skip("kernels_agree") else {
        return;
    };
    let data = data::sphere(40, 6, SyntheticTarget::Teacher, 0);
    for act in [Activation::Tanh, Activation::Relu, Activation::Erf] {
        let cfg = MlpConfig::new(6, vec![128, 64])
            .with_activation(act)
            .with_bias(true);
        let w = cfg.initial_parameters(0);
        let cpu = {
            let device = Default::default();
            let (x, _) = data.to_tensors::<crate::F32>(&device);
            tangent_kernel(
                &Mlp::<crate::F32>::from_vector(&cfg, &w, &device).unwrap(),
                &x,
                KernelMethod::Structured,
            )
        };
        let (x, _) = data.to_tensors::<burn::backend::wgpu::Wgpu<f32>>(&gpu);
        let model = Mlp::from_vector(&cfg, &w, &gpu).unwrap();
        // The GPU stays on the device path: only K leaves it.
        assert_eq!(GramPath::for_backend(&model, 40), GramPath::Device);
        let gpu_k = tangent_kernel(&model, &x, KernelMethod::Structured);
        let err = relative_error(&gpu_k.values, &cpu.values);
        assert!(err < tol::BACKENDS_F32, "{act}: relative error {err:e}");
    }
}

/// `max |a − b| / max |b|`: the entry-wise error relative to the kernel's scale.
fn max_entry_error(a: &TangentKernel, b: &TangentKernel) -> f64 {
    let scale = b.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .values
        .iter()
        .zip(&b.values)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// The CPU specialization (factors and triangular Gram products on the host, faer) computes
/// the same kernel as the generic Burn path: in f64 to 1e-12 of max |K| entry by entry, for
/// every activation, depths 0–3, with and without biases, a non-identity output, and
/// `n = 1030 > BLOCK`, where the device path works in sample blocks and the host path does not.
#[test]
fn host_gram_path_equals_the_device_path_in_f64() {
    let device = Default::default();
    let mut cases = vec![];
    for act in Activation::ALL {
        for widths in [vec![], vec![9], vec![9, 7], vec![9, 7, 5]] {
            for bias in [false, true] {
                cases.push((act, widths.clone(), bias, 37));
            }
        }
    }
    cases.push((Activation::Tanh, vec![8, 8], true, 1030));
    for (act, widths, bias, n) in cases {
        let data = data::sphere(n, 5, SyntheticTarget::Teacher, 0);
        let cfg = varied_config(5, act, &widths, bias);
        let model = cfg.init::<F64>(3, &device);
        let (x, _) = data.to_tensors::<F64>(&device);
        let host = structured_on(&model, &x, GramPath::Host);
        let generic = structured_on(&model, &x, GramPath::Device);
        let err = max_entry_error(&host, &generic);
        assert!(err < 1e-12, "{act} {widths:?} bias {bias} n {n}: {err:e}");
        assert_eq!(GramPath::for_backend(&model, n), GramPath::Host);
    }
}

/// The same in f32, where the host path rounds `σ(z)` from f64 and sums the layers in f32 in
/// another order: agreement to 1e-5 of max |K|.
#[test]
fn host_gram_path_equals_the_device_path_in_f32() {
    let device = Default::default();
    let data = data::sphere(64, 6, SyntheticTarget::Teacher, 0);
    for act in Activation::ALL {
        let cfg = MlpConfig::new(6, vec![96, 48])
            .with_activation(act)
            .with_bias(true);
        let model = cfg.init::<crate::F32>(0, &device);
        let (x, _) = data.to_tensors::<crate::F32>(&device);
        let host = structured_on(&model, &x, GramPath::Host);
        let generic = structured_on(&model, &x, GramPath::Device);
        let err = max_entry_error(&host, &generic);
        assert!(err < 1e-5, "{act}: {err:e}");
    }
}
