//! The matrix-free tangent-kernel operator `v ↦ DF (DFᵀ v)` (issue 22) against the dense kernel
//! of the autodiff method (a different code path: Burn's reverse mode, one Jacobian row per
//! equation), and its extreme eigenvalues by Lanczos against the dense eigensolver.

use plstar::data::{self, Dataset, SyntheticTarget};
use plstar::measure::kernel::operator::KernelOperator;
use plstar::measure::kernel::{tangent_kernel, KernelMethod, TangentKernel};
use plstar::measure::spectrum::{dense_spectrum, lanczos, LanczosSettings, SymmetricOperator};
use plstar::model::{Activation, MlpConfig, Parameterization};

use crate::{relative_error, F64};

/// `K v` of the dense kernel, row by row in f64.
fn dense_product(k: &TangentKernel, v: &[f64]) -> Vec<f64> {
    (0..k.n)
        .map(|i| (0..k.n).map(|j| k.get(i, j) * v[j]).sum())
        .collect()
}

/// `n` sphere points in `ℝᵈ` with `k` targets each.
fn data_k(n: usize, d: usize, k: usize) -> Dataset {
    let base = data::sphere(n, d, SyntheticTarget::Sign, 5);
    let targets = (0..n * k)
        .map(|r| base.targets[r / k] * (1.0 + (r % k) as f64))
        .collect();
    Dataset::with_outputs(base.inputs.clone(), targets, d, k).unwrap()
}

#[test]
fn operator_products_equal_the_dense_kernel_to_1e_12_in_f64() {
    // Products and the diagonal. Every activation, depth 0–3, with and without biases, both parameterizations, k = 1 and 3,
    // n = 13 in blocks of 4 (not a multiple), cached and recomputed factors.
    let device = Default::default();
    let mut case = 0u64;
    for act in Activation::ALL {
        for depth in 0..=3 {
            case += 1;
            let k = if case.is_multiple_of(2) { 3 } else { 1 };
            let cfg = MlpConfig::new(5, vec![7; depth])
                .with_activation(act)
                .with_output_activation(if depth == 2 {
                    Activation::Tanh
                } else {
                    Activation::Identity
                })
                .with_bias(!case.is_multiple_of(3))
                .with_bias_scale(0.7)
                .with_parameterization(if case.is_multiple_of(4) {
                    Parameterization::Standard
                } else {
                    Parameterization::Ntk
                })
                .with_outputs(k);
            let data = data_k(13, 5, k);
            let model = cfg.init::<F64>(case, &device);
            let (x, _) = data.to_tensors::<F64>(&device);
            let dense = tangent_kernel(&model, &x, KernelMethod::Autodiff);
            let v: Vec<f64> = (0..13 * k)
                .map(|i| ((i * 7 + 3) % 11) as f64 - 5.0)
                .collect();
            let expected = dense_product(&dense, &v);
            // diag K from the Jacobian's factors, never a row of K.
            let diagonal: Vec<f64> = (0..13 * k).map(|i| dense.get(i, i)).collect();
            let got = KernelOperator::new(&model, &x, 4, 0).diagonal();
            let err = relative_error(&got, &diagonal);
            assert!(err < 1e-12, "diag K, {act} L = {depth} k = {k}: {err:e}");
            for cache in [0, usize::MAX] {
                let mut op = KernelOperator::new(&model, &x, 4, cache);
                assert_eq!(op.cached(), cache > 0);
                assert_eq!(op.dim(), 13 * k);
                let got = op.apply(&v);
                let err = relative_error(&got, &expected);
                assert!(
                    err < 1e-12,
                    "{act} L = {depth} k = {k} cache {cache}: {err:e}"
                );
            }
        }
    }
}

#[test]
fn operator_extremes_by_lanczos_equal_the_dense_eigensolver() {
    // n = 300, erf, one hidden layer of 64: λ_max and λ_min of the operator by Lanczos (full
    // reorthogonalization, run to convergence) against faer's dense eigensolver to 1e-10
    // relative (to λ_max), with the residual reported.
    let device = Default::default();
    let cfg = MlpConfig::new(6, vec![64]).with_activation(Activation::Erf);
    let data = data::sphere(300, 6, SyntheticTarget::Sign, 2);
    let model = cfg.init::<F64>(1, &device);
    let (x, _) = data.to_tensors::<F64>(&device);
    let spec = dense_spectrum(&tangent_kernel(&model, &x, KernelMethod::Structured)).unwrap();
    let mut op = KernelOperator::new(&model, &x, 64, usize::MAX);
    let e = lanczos(
        &mut op,
        &LanczosSettings {
            max_iter: 300,
            tol: 1e-12,
            seed: 0,
        },
    );
    let scale = spec.lambda_max;
    assert!(
        (e.max.value - spec.lambda_max).abs() <= 1e-10 * scale,
        "{} vs {}",
        e.max.value,
        spec.lambda_max
    );
    assert!(
        (e.min.value - spec.lambda_min).abs() <= 1e-10 * scale,
        "{} vs {}",
        e.min.value,
        spec.lambda_min
    );
    assert!(
        e.max.residual <= 1e-8 * scale && e.min.residual <= 1e-8 * scale,
        "{e:?}"
    );
    assert!(op.products() >= e.iterations);
}

/// `plstar ntk --kernel-path operator` as a user runs it, against the dense path of the same
/// binary on the same point: λ_max to 1e-10, tr K to 1e-12 (the diagonal), λ_min to 1e-8 (N = 60,
/// so Lanczos spans the whole space). The bundle has no kernel.npy and the manifest says why;
/// `--certify` gives a certificate whose state says it was not searched; `auto` takes the
/// operator when only it fits
/// `--memory-limit` (n = 3 000: a dense K is 288 MB against 0.1 GiB).
#[test]
fn ntk_on_the_operator_path_matches_the_dense_path_and_says_what_it_skipped() {
    let dir = crate::scratch("operator", "ntk_path");
    let config = |n: usize, d: usize| {
        format!(
            "name = \"op\"\n[model]\nwidths = [32]\nactivation = \"erf\"\n[data]\nsource = \
             \"sphere\"\nn = {n}\ndim = {d}\n[train]\nlearning_rate = 0.1\n[card]\nenabled = false\n"
        )
    };
    std::fs::write(dir.join("op.toml"), config(60, 6)).unwrap();
    let cfg = dir.join("op.toml");
    let run = |path: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "ntk",
            "--config",
            cfg.to_str().unwrap(),
            "--no-hessian",
            "--kernel-path",
            path,
            "--out",
        ];
        let out = dir.join(out);
        args.push(out.to_str().unwrap());
        args.extend(extra);
        let o = crate::plstar(&args);
        (o, out.join("op/ntk"))
    };
    let json = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("ntk.json")).unwrap()).unwrap()
    };
    let (o, dense_dir) = run("dense", "dense", &[]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    let (o, op_dir) = run("operator", "operator", &["--export"]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    let (d, op) = (json(&dense_dir), json(&op_dir));
    assert_eq!(op["kernel_path"], "operator");
    assert_eq!(d["kernel_path"], "dense");
    let f = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap();
    let rel = |key: &str| (f(&op, key) - f(&d, key)).abs() / f(&d, key).abs();
    assert!(rel("lambda_max") < 1e-10, "λ_max {}", rel("lambda_max"));
    assert!(rel("trace") < 1e-12, "tr K {}", rel("trace"));
    assert!(rel("lambda_min") < 1e-8, "λ_min {}", rel("lambda_min"));
    assert!(op["eigen_residuals"]["converged"].as_bool().unwrap());
    assert!(op["operator"]["products"].as_u64().unwrap() >= 2);
    let bundle = op_dir.join("bundle");
    assert!(!bundle.join("kernel.npy").exists() && bundle.join("inputs.npy").exists());
    let manifest = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    assert!(manifest.contains("kernel.npy not written"), "{manifest}");

    // --certify on the operator path: the card's constants at the point, and a certificate
    // whose state says it was not searched (stderr names the dense path that searches).
    let (o, certify_dir) = run("operator", "certify", &["--certify"]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    assert!(crate::stderr(&o).contains("--kernel-path dense"));
    let certificate = &json(&certify_dir)["certificate"];
    assert_eq!(certificate["state"], "none");
    assert!(!certificate["certified"].as_bool().unwrap());
    let reason = certificate["reason"].as_str().unwrap();
    assert!(reason.contains("not searched"), "{reason}");
    let card = &json(&certify_dir)["card_at_point"];
    let lambda0 = card["lambda0"].as_f64().unwrap();
    assert!(
        (lambda0 - f(&op, "lambda_min")).abs() <= 1e-12 * lambda0,
        "{card}"
    );
    assert!(card["hessian_norm0"].as_f64().unwrap() > 0.0);

    std::fs::write(dir.join("op.toml"), config(3000, 2)).unwrap();
    let (o, auto_dir) = run("auto", "auto", &["--memory-limit", "0.1"]);
    assert!(o.status.success(), "{}", crate::stderr(&o));
    assert_eq!(json(&auto_dir)["kernel_path"], "operator");
    let (o, _) = run("dense", "forced", &["--memory-limit", "0.1"]);
    let err = crate::stderr(&o);
    assert!(
        !o.status.success() && err.contains("--kernel-path operator"),
        "{err}"
    );
}

/// The operator through faer's matrix-free interface (`faer::matrix_free::LinOp`): faer's own
/// Krylov–Schur solver (`partial_self_adjoint_eigen`, thick restarts) on it finds the four
/// largest eigenvalues of the dense kernel to 1e-10 relative (n = 200, erf, m = 64).
#[test]
fn faer_krylov_schur_runs_on_the_operator_through_linop() {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::matrix_free::eigen::{
        partial_self_adjoint_eigen, partial_self_adjoint_eigen_scratch, PartialEigenParams,
    };
    use faer::{Col, Mat, Par};

    let data = data::sphere(200, 6, SyntheticTarget::Teacher, 2);
    let cfg = MlpConfig::new(6, vec![64]).with_activation(Activation::Erf);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, _) = data.to_tensors::<F64>(&device);
    let dense = tangent_kernel(&model, &x, KernelMethod::Structured);
    let spectrum = dense_spectrum(&dense).unwrap();
    let op = KernelOperator::new(&model, &x, 64, usize::MAX);
    let n = 200;

    let params = PartialEigenParams::default();
    let mut buffer = MemBuffer::new(partial_self_adjoint_eigen_scratch(&op, 4, Par::Seq, params));
    let mut vectors = Mat::<f64>::zeros(n, 4);
    let mut values = vec![0.0; 4];
    let start = Col::<f64>::from_fn(n, |i| 1.0 + (i as f64 * 0.3).sin());
    partial_self_adjoint_eigen(
        vectors.as_mut(),
        &mut values,
        &op,
        start.as_ref(),
        1e-12,
        Par::Seq,
        MemStack::new(&mut buffer),
        params,
    );
    values.sort_by(|a, b| b.total_cmp(a));
    for (i, v) in values.iter().enumerate() {
        let want = spectrum.eigenvalues[n - 1 - i];
        assert!(
            (v - want).abs() < 1e-10 * want,
            "λ_{{max − {i}}} {v} vs {want}"
        );
    }
}

/// An `f32` model's operator runs its passes in `f32` (the backend's working precision, as the
/// dense kernel's Gram products do) with `f64` vectors: its products equal the `f64` kernel of
/// the same seed's weights within the round-off model's eigenvalue floor at `f32`
/// (`‖(K̂ − K) v‖ ≤ ‖K̂ − K‖₂ ‖v‖ ≤ floor · ‖v‖`, the weights' own rounding to `f32` included),
/// and differ from it by more than `f64` round-off (so the passes did run in `f32`). ReLU and
/// tanh, L = 2, m = 256, n = 300 in blocks of 64, cached and recomputed.
#[test]
fn f32_operator_products_are_within_the_f32_round_off_floor_of_the_f64_kernel() {
    use plstar::measure::roundoff::RoundOff;
    let device = Default::default();
    let n = 300;
    let data = data::sphere(n, 8, SyntheticTarget::Sign, 3);
    for act in [Activation::Relu, Activation::Tanh] {
        let cfg = MlpConfig::new(8, vec![256, 256]).with_activation(act);
        let exact = {
            let model = cfg.init::<F64>(7, &device);
            let (x, _) = data.to_tensors::<F64>(&device);
            tangent_kernel(&model, &x, KernelMethod::Structured)
        };
        let model = cfg.init::<crate::F32>(7, &device);
        let (x, _) = data.to_tensors::<crate::F32>(&device);
        let diag: Vec<f64> = (0..n).map(|i| exact.get(i, i)).collect();
        let (trace, max_diag) = (
            diag.iter().sum::<f64>(),
            diag.iter().fold(0.0f64, |m, v| m.max(*v)),
        );
        let lambda_max = dense_spectrum(&exact).unwrap().lambda_max;
        let floor = RoundOff::for_backend::<crate::F32>(&cfg)
            .eigenvalue_floor(n, max_diag, trace, lambda_max);
        let v: Vec<f64> = (0..n).map(|i| ((i * 13 + 5) % 17) as f64 - 8.0).collect();
        let v_norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let expected = dense_product(&exact, &v);
        for cache in [0, usize::MAX] {
            let mut op = KernelOperator::new(&model, &x, 64, cache);
            assert_eq!(op.working_precision(), "f32");
            let got = op.apply(&v);
            let err = got
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let scale = expected.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!(
                err <= floor * v_norm,
                "{act} cache {cache}: ‖ΔKv‖ = {err:e} > floor·‖v‖ = {:e}",
                floor * v_norm
            );
            assert!(
                err > 1e-12 * scale,
                "{act} cache {cache}: {err:e} is f64 round-off"
            );
            eprintln!(
                "{act} cache {cache}: ‖ΔKv‖/‖Kv‖ = {:e}, floor·‖v‖/‖Kv‖ = {:e}",
                err / scale,
                floor * v_norm / scale
            );
        }
    }
}

/// A synthetic operator with a known spectrum: `diag(λ)`, `n = 600`, a bottom cluster of 60
/// eigenvalues in `[1e-6, 1.1e-6]`, the rest spread up to `λ_max = 1` (κ = 10⁶). What the
/// operator path's Lanczos (`operator_extremes`) says must hold whatever it reaches: with 60
/// products it reports `λ_min` not converged, its Ritz value above the true `λ_min` (an upper
/// estimate) and within its reported residual of some eigenvalue (Bauer–Fike), and `λ_max` to
/// the 1e-8 tolerance; with a Krylov space of the whole dimension its residuals are at round-off and both
/// extremes equal the known ones to 1e-10 of `λ_max`.
#[test]
fn operator_lanczos_on_a_known_clustered_spectrum_reports_its_state_honestly() {
    use plstar::measure::kernel::operator::operator_extremes;
    struct Diagonal(Vec<f64>);
    impl SymmetricOperator for Diagonal {
        fn dim(&self) -> usize {
            self.0.len()
        }
        fn apply(&mut self, v: &[f64]) -> Vec<f64> {
            self.0.iter().zip(v).map(|(l, x)| l * x).collect()
        }
    }
    let n = 600;
    let spectrum: Vec<f64> = (0..n)
        .map(|i| {
            if i < 60 {
                1e-6 * (1.0 + 0.1 * i as f64 / 60.0)
            } else {
                1e-4 * (1e4f64).powf((i - 60) as f64 / (n - 61) as f64)
            }
        })
        .collect();
    let (lo, hi) = (1e-6, 1.0);
    let short = operator_extremes(&mut Diagonal(spectrum.clone()), 60, 1e-8);
    let r = short.residuals.as_ref().unwrap();
    assert!(!r.converged, "60 steps cannot resolve κ = 1e6: {r:?}");
    assert!(
        (short.lambda_max - hi).abs() <= 1e-8,
        "{}",
        short.lambda_max
    );
    assert!(
        short.lambda_min >= lo * (1.0 - 1e-12),
        "{}",
        short.lambda_min
    );
    let nearest = spectrum
        .iter()
        .map(|l| (l - short.lambda_min).abs())
        .fold(f64::INFINITY, f64::min);
    assert!(nearest <= r.min, "{nearest:e} > residual {:e}", r.min);
    // A tolerance no residual meets: the space grows to the whole dimension (or an invariant
    // subspace), where the Ritz values are the eigenvalues.
    let full = operator_extremes(&mut Diagonal(spectrum), n, 1e-30);
    let r = full.residuals.as_ref().unwrap();
    assert!(r.iterations == n || r.converged, "{r:?}");
    assert!(r.min <= 1e-10 * hi && r.max <= 1e-10 * hi, "{r:?}");
    assert!(
        r.max_converged_at.is_none_or(|k| k <= r.iterations),
        "{r:?}"
    );
    assert!(
        (full.lambda_min - lo).abs() <= 1e-10 * hi,
        "{}",
        full.lambda_min
    );
    assert!(
        (full.lambda_max - hi).abs() <= 1e-10 * hi,
        "{}",
        full.lambda_max
    );
}
