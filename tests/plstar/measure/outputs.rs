//! Networks with `k` output units per sample: the tangent kernel `K ∈ ℝ^{nk×nk}` (sample-major,
//! `(i, a) → i·k + a`) by every method against autodiff, a linear model's exact `(X Xᵀ/d) ⊗ I_k`
//! and its gradient descent against the closed form, the Hessian paths against each other, and
//! the infinite-width limit `K∞ ⊗ I_k`.

use plstar::data::{self, Dataset, SyntheticTarget};
use plstar::measure::hessian::{
    max_output_hessian_norm, output_hessian_norm, DerivativePath, Derivatives, Objective,
};
use plstar::measure::infinite::limit_kernel;
use plstar::measure::kernel::{
    structured_blocked, structured_on, tangent_kernel, GramPath, KernelMethod, TangentKernel,
};
use plstar::measure::loss::contraction_gradient;
use plstar::measure::spectrum::LanczosSettings;
use plstar::model::{download, Activation, MlpConfig, Parameterization};
use plstar::train::{train, Control, StopReason, TrainSettings};

use super::varied_config;
use crate::{relative_error, tol, F64};

/// `n` points on the sphere in `ℝᵈ` with `k` targets each (`sin` of fixed projections).
fn data_k(n: usize, d: usize, k: usize, seed: u64) -> Dataset {
    let base = data::sphere(n, d, SyntheticTarget::Teacher, seed);
    let targets = (0..n * k)
        .map(|r| {
            let x = base.input(r / k);
            (x.iter()
                .enumerate()
                .map(|(j, v)| v * (1.0 + (r % k + j) as f64))
                .sum::<f64>())
            .sin()
        })
        .collect();
    Dataset::with_outputs(base.inputs.clone(), targets, d, k).unwrap()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// With `k = 3` outputs, the structured kernel's host path, its device path in one block and in
/// ragged blocks of 2 samples (`n·k = 15` rows over three block rows) all equal the autodiff
/// kernel (one backward pass per sample and output) to 1e-12 relative in f64: every activation,
/// depths 0–3, with and without biases, both parameterizations, a tanh output at depth 2.
#[test]
fn k_output_kernels_by_every_method_equal_autodiff_in_f64() {
    let (n, d, k) = (5, 3, 3);
    let data = data_k(n, d, k, 0);
    let device = Default::default();
    let (x, _) = data.to_tensors::<F64>(&device);
    for act in Activation::ALL {
        for widths in [vec![], vec![5], vec![5, 4], vec![5, 4, 3]] {
            for bias in [false, true] {
                for param in [Parameterization::Ntk, Parameterization::Standard] {
                    let cfg = varied_config(d, act, &widths, bias)
                        .with_parameterization(param)
                        .with_outputs(k);
                    let model = cfg.init::<F64>(1, &device);
                    let reference = tangent_kernel(&model, &x, KernelMethod::Autodiff);
                    assert_eq!(reference.n, n * k);
                    let case = format!("{act} {widths:?} bias {bias} {param:?}");
                    for (path, kernel) in [
                        ("host", structured_on(&model, &x, GramPath::Host)),
                        ("device", structured_on(&model, &x, GramPath::Device)),
                        ("device, blocks of 2", structured_blocked(&model, &x, 2)),
                    ] {
                        assert_eq!(kernel.n, n * k, "{case} {path}");
                        let err = relative_error(&kernel.values, &reference.values);
                        assert!(
                            err < tol::KERNEL_METHODS,
                            "{case} {path}: relative error {err:e}"
                        );
                    }
                }
            }
        }
    }
}

/// The host path forms `K` in panels of 510 columns for `k = 3` (a multiple of `k`, so that a
/// panel holds whole samples): with `n·k = 1 101` the panels `[0, 510)`, `[510, 1 020)` and the
/// ragged `[1 020, 1 101)`, each writing its rows of the upper triangle and its columns of the
/// lower one. It equals the device path (the same arithmetic in sample blocks, no panels) to
/// 1e-12 relative in f64 and is exactly symmetric: a misplaced or missing panel entry fails.
#[test]
fn k_output_host_kernel_over_several_panels_equals_the_device_path() {
    let (n, d, k) = (367, 4, 3);
    let data = data_k(n, d, k, 2);
    let device = Default::default();
    let (x, _) = data.to_tensors::<F64>(&device);
    let cfg = varied_config(d, Activation::Tanh, &[6, 5], true).with_outputs(k);
    let model = cfg.init::<F64>(4, &device);
    let host = structured_on(&model, &x, GramPath::Host);
    let device_path = structured_on(&model, &x, GramPath::Device);
    assert_eq!(host.n, n * k);
    let err = relative_error(&host.values, &device_path.values);
    assert!(err < 1e-12, "relative error {err:e}");
    for i in 0..host.n {
        for j in 0..i {
            assert_eq!(host.get(i, j), host.get(j, i), "({i}, {j})");
        }
    }
}

/// A linear model `F(x) = W x / √d` with `k` outputs (and a bias `c_b b`): each output has its
/// own row of `W`, so `K = (X Xᵀ/d + c_b²) ⊗ I_k` exactly (to the round-off of a length-`d`
/// dot product) — zero between different outputs.
#[test]
fn linear_model_with_k_outputs_has_kernel_x_xt_over_d_kron_identity() {
    let (n, d, k) = (6, 4, 3);
    let data = data_k(n, d, k, 1);
    let device = Default::default();
    let (x, _) = data.to_tensors::<F64>(&device);
    for bias in [false, true] {
        let cfg = MlpConfig::new(d, vec![])
            .with_activation(Activation::Identity)
            .with_outputs(k)
            .with_bias(bias)
            .with_bias_scale(0.5);
        let model = cfg.init::<F64>(3, &device);
        let cb2 = if bias { 0.25 } else { 0.0 };
        let want: Vec<f64> = (0..n * k * n * k)
            .map(|e| {
                let (r, c) = (e / (n * k), e % (n * k));
                if r % k != c % k {
                    return 0.0;
                }
                let (i, j) = (r / k, c / k);
                let dot: f64 = data
                    .input(i)
                    .iter()
                    .zip(data.input(j))
                    .map(|(a, b)| a * b)
                    .sum();
                dot / d as f64 + cb2
            })
            .collect();
        for method in [KernelMethod::Structured, KernelMethod::Autodiff] {
            let got = tangent_kernel(&model, &x, method);
            let worst = got
                .values
                .iter()
                .zip(&want)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= 1e-15,
                "bias {bias} {method:?}: max entry error {worst:e}"
            );
        }
    }
}

/// Gradient descent on a linear model with `k = 3` outputs follows the exact residual recursion
/// `r_{t+1} = (I − η K) r_t`, `K = (X Xᵀ/d) ⊗ I_k`, on the whole `n·k` residual: the loss at every
/// step and the final residual vector, to [`tol::LINEAR_GD`]. Shows that the targets, the loss
/// `½‖F − Y‖²_F` and the gradient use the same sample-major layout.
#[test]
fn gd_on_a_linear_model_with_k_outputs_follows_the_exact_recursion() {
    let (n, d, k) = (5, 8, 3);
    let data = data_k(n, d, k, 2);
    let cfg = MlpConfig::new(d, vec![])
        .with_activation(Activation::Identity)
        .with_outputs(k);
    let device = Default::default();
    let model = cfg.init::<F64>(4, &device);
    let w0 = model.to_vector();
    let (x, y) = data.to_tensors::<F64>(&device);
    let big = n * k;
    let kernel = |r: usize, c: usize| -> f64 {
        if r % k != c % k {
            return 0.0;
        }
        let dot: f64 = data
            .input(r / k)
            .iter()
            .zip(data.input(c / k))
            .map(|(a, b)| a * b)
            .sum();
        dot / d as f64
    };
    // F_{ia} = ⟨W_a, x_i⟩ / √d with W_a row a of the [k, d] weight matrix.
    let mut r: Vec<f64> = (0..big)
        .map(|row| {
            let (i, a) = (row / k, row % k);
            let f: f64 = data
                .input(i)
                .iter()
                .zip(&w0[a * d..(a + 1) * d])
                .map(|(u, v)| u * v)
                .sum();
            f / (d as f64).sqrt() - data.targets[row]
        })
        .collect();
    let trace: f64 = (0..big).map(|i| kernel(i, i)).sum();
    let eta = 1.0 / trace;
    let steps = 40;
    let outcome = train(
        model,
        &x,
        &y,
        &TrainSettings::gd(steps, eta, 0.0),
        None,
        &mut |_| Control::Continue,
    );
    assert_eq!(outcome.stop, StopReason::StepBudget);
    for rec in &outcome.records {
        let want = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
        assert!(
            (rec.loss - want).abs() <= tol::LINEAR_GD * want,
            "step {}: loss {} vs recursion {want}",
            rec.step,
            rec.loss
        );
        r = (0..big)
            .map(|i| r[i] - eta * (0..big).map(|j| kernel(i, j) * r[j]).sum::<f64>())
            .collect();
    }
    // r now holds r_{T+1}; recompute r_T from the returned model directly.
    let f = download(outcome.model.forward(x));
    let residual: Vec<f64> = f.iter().zip(&data.targets).map(|(a, b)| a - b).collect();
    let last = outcome.records.last().unwrap();
    let want_loss = 0.5 * residual.iter().map(|v| v * v).sum::<f64>();
    assert!((last.loss - want_loss).abs() <= tol::LINEAR_GD * want_loss);
}

/// With `k = 3` outputs the host Hessian products (the model's host forward pass with `σ''`)
/// equal second-order autodiff on the device path to 1e-12 relative in f64 — `∇²g v` and `DF v`
/// for the loss `½‖F − Y‖²` and for a contraction `zᵀF` with `z ∈ ℝ^{nk}`, and `DFᵀz` — on every
/// activation whose device second derivative is exact (erf and GELU are held to 1e-7, as in the
/// scalar test), depths 1–2, with biases.
#[test]
fn k_output_hessian_products_agree_on_host_and_device() {
    let (n, d, k) = (4, 3, 3);
    let data = data_k(n, d, k, 3);
    let device = Default::default();
    let (x, y) = data.to_tensors::<F64>(&device);
    let z: Vec<f64> = (0..n * k).map(|i| ((i as f64) * 0.7).sin()).collect();
    for act in Activation::ALL {
        let tolerance = match act {
            Activation::Erf | Activation::Gelu => 1e-7,
            _ => tol::HVP_PATHS,
        };
        for widths in [vec![5], vec![5, 4]] {
            let cfg = varied_config(d, act, &widths, true).with_outputs(k);
            let model = cfg.init::<F64>(2, &device);
            let v: Vec<f64> = (0..cfg.parameter_count())
                .map(|i| ((i as f64) * 0.37).cos())
                .collect();
            let case = format!("{act} {widths:?}");
            for objective in [
                Objective::Loss(y.clone()),
                Objective::Contraction(z.clone()),
            ] {
                let [host, dev] = [DerivativePath::Host, DerivativePath::Device]
                    .map(|path| Derivatives::on(&model, &x, path).product(&objective, &v));
                let err = relative_error(&host.hv, &dev.hv);
                assert!(err < tolerance, "{case} {objective:?}: H v {err:e}");
                if let (Some(a), Some(b)) = (&host.jv, &dev.jv) {
                    assert_eq!(a.len(), n * k);
                    let err = relative_error(a, b);
                    assert!(err < tol::HVP_PATHS, "{case}: DF v {err:e}");
                }
            }
            let host = Derivatives::on(&model, &x, DerivativePath::Host).gradient(&z);
            let err = relative_error(&host, &contraction_gradient(&model, &x, &z));
            assert!(err < tol::HVP_PATHS, "{case}: DFᵀz {err:e}");
        }
    }
}

/// The sample-blocked host path (each block's forward pass recomputed per product) gives the
/// whole-batch host path's products to 1e-13 relative in f64: `∇²g v` for the loss and a
/// contraction, `DF v`, `DFᵀz` and `D²F[u, u]`, with `k = 3` outputs, biases, depths 1–2, and
/// blocks of 1, 3 (not dividing n = 7) and more than n samples. Only the order of the sums over
/// samples differs.
#[test]
fn blocked_host_hessian_products_equal_the_whole_batch() {
    let (n, d, k) = (7, 3, 3);
    let data = data_k(n, d, k, 6);
    let device = Default::default();
    let (x, y) = data.to_tensors::<F64>(&device);
    let z: Vec<f64> = (0..n * k).map(|i| ((i as f64) * 0.7).sin()).collect();
    for widths in [vec![5], vec![5, 4]] {
        let cfg = varied_config(d, Activation::Tanh, &widths, true).with_outputs(k);
        let model = cfg.init::<F64>(2, &device);
        let v: Vec<f64> = (0..cfg.parameter_count())
            .map(|i| ((i as f64) * 0.37).cos())
            .collect();
        let whole = Derivatives::on(&model, &x, DerivativePath::Host);
        for block in [1, 3, 50] {
            let blocked = Derivatives::on(&model, &x, DerivativePath::HostBlocks { block });
            assert_eq!(blocked.path(), DerivativePath::HostBlocks { block });
            let case = format!("{widths:?} block {block}");
            for objective in [
                Objective::Loss(y.clone()),
                Objective::Contraction(z.clone()),
            ] {
                let (a, b) = (
                    whole.product(&objective, &v),
                    blocked.product(&objective, &v),
                );
                let err = relative_error(&a.hv, &b.hv);
                assert!(err < 1e-13, "{case} {objective:?}: H v {err:e}");
                assert_eq!(a.jv.is_some(), b.jv.is_some(), "{case}");
                if let (Some(a), Some(b)) = (&a.jv, &b.jv) {
                    assert_eq!(b.len(), n * k);
                    assert!(relative_error(a, b) < 1e-13, "{case}: DF v");
                }
            }
            let err = relative_error(&whole.gradient(&z), &blocked.gradient(&z));
            assert!(err < 1e-13, "{case}: DFᵀz {err:e}");
            let (a, b) = (
                whole.second_derivative(&v, 0.0),
                blocked.second_derivative(&v, 0.0),
            );
            assert_eq!(b.len(), n * k);
            assert!(relative_error(&a, &b) < 1e-13, "{case}: D²F[u, u]");
        }
    }
}

/// The per-output Hessian norms run over all `n·k` equations: `max_r ‖H_{F_r}‖₂` of a `k = 3`
/// network equals the largest of the `n·k` single-equation Lanczos runs on the whole batch
/// (`H(e_r)`, computed independently here), and its `argmax` is that `r = i·k + a`.
#[test]
fn per_output_hessian_norms_cover_every_sample_and_output() {
    let (n, d, k) = (3, 3, 3);
    let data = data_k(n, d, k, 4);
    let device = Default::default();
    let (x, _) = data.to_tensors::<F64>(&device);
    let cfg = MlpConfig::new(d, vec![6]).with_outputs(k);
    let model = cfg.init::<F64>(5, &device);
    let settings = LanczosSettings {
        max_iter: 60,
        tol: 1e-10,
        seed: 0,
    };
    let per = max_output_hessian_norm(&model, &x, &settings);
    assert_eq!(per.norms.len(), n * k);
    let direct: Vec<f64> = (0..n * k)
        .map(|r| output_hessian_norm(&model, &x, r, &settings).spectral_norm())
        .collect();
    let err = relative_error(&per.norms, &direct);
    assert!(err < 1e-8, "per-output norms {:?} vs {direct:?}", per.norms);
    let argmax = (0..n * k).fold(0, |a, r| if direct[r] > direct[a] { r } else { a });
    assert_eq!(per.argmax, argmax);
}

/// The mean of 64 empirical kernels (seeds 0…63) of a one-hidden-layer erf network with `k = 3`
/// outputs approaches `K∞ ⊗ I_3` (the closed-form limit, [`limit_kernel`]): every entry of the
/// mean lies within 5 standard errors (of the 64-sample mean, plus 1% of `K∞`'s scale for the
/// `O(1/m)` bias) of the limit at width 2048; and the off-diagonal output blocks (which the limit
/// sets to 0) shrink like `m^{−½}`: their RMS over the seeds at widths 128 and 2048 falls by a
/// factor within 25% of `√16 = 4`.
#[test]
fn k_output_kernels_approach_the_limit_kron_identity_and_cross_output_blocks_vanish() {
    let (n, d, k) = (4, 3, 3);
    let data = data_k(n, d, k, 5);
    let device = Default::default();
    let (x, _) = data.to_tensors::<F64>(&device);
    let seeds = 64u64;
    let stats = |m: usize| -> (Vec<f64>, Vec<f64>, f64) {
        let cfg = MlpConfig::new(d, vec![m])
            .with_activation(Activation::Erf)
            .with_outputs(k);
        let kernels: Vec<TangentKernel> = (0..seeds)
            .map(|s| tangent_kernel(&cfg.init::<F64>(s, &device), &x, KernelMethod::Structured))
            .collect();
        let len = kernels[0].values.len();
        let mean: Vec<f64> = (0..len)
            .map(|e| kernels.iter().map(|kk| kk.values[e]).sum::<f64>() / seeds as f64)
            .collect();
        let se: Vec<f64> = (0..len)
            .map(|e| {
                let var = kernels
                    .iter()
                    .map(|kk| (kk.values[e] - mean[e]).powi(2))
                    .sum::<f64>()
                    / (seeds - 1) as f64;
                (var / seeds as f64).sqrt()
            })
            .collect();
        let big = n * k;
        let cross: Vec<f64> = kernels
            .iter()
            .flat_map(|kk| {
                (0..big * big)
                    .filter(move |e| (e / big) % k != (e % big) % k)
                    .map(move |e| kk.values[e])
            })
            .collect();
        let rms = (cross.iter().map(|v| v * v).sum::<f64>() / cross.len() as f64).sqrt();
        (mean, se, rms)
    };
    let cfg = MlpConfig::new(d, vec![1])
        .with_activation(Activation::Erf)
        .with_outputs(k);
    let limit = limit_kernel(&cfg, &data).expect("erf has a closed-form limit");
    assert_eq!(limit.n, n * k);
    let scale = max_abs(&limit.values);
    let (mean, se, rms_wide) = stats(2048);
    for (e, ((m, s), l)) in mean.iter().zip(&se).zip(&limit.values).enumerate() {
        assert!(
            (m - l).abs() <= 5.0 * s + 0.01 * scale,
            "entry {e}: mean {m} vs K∞ ⊗ I {l} (standard error {s})"
        );
    }
    let (_, _, rms_narrow) = stats(128);
    let ratio = rms_narrow / rms_wide;
    assert!(
        (3.0..=5.0).contains(&ratio),
        "cross-output RMS {rms_narrow:e} at m = 128 vs {rms_wide:e} at m = 2048: ratio {ratio}, \
         want ≈ 4 (m^(−½))"
    );
}
