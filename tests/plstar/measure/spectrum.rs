//! Eigenvalues: faer's dense solver on matrices of known spectrum, and Lanczos against dense.

use plstar::data::{self, SyntheticTarget};
use plstar::measure::kernel::{tangent_kernel, KernelMethod, TangentKernel};
use plstar::measure::spectrum::{dense_spectrum, lanczos, LanczosSettings, SymmetricOperator};
use plstar::model::{Activation, MlpConfig};

use crate::F64;

/// `Q Λ Qᵀ` with `Q` a product of three Householder reflections (orthogonal by construction).
fn known_spectrum(lambda: &[f64]) -> TangentKernel {
    let n = lambda.len();
    let q = householder_q(n);
    let values = (0..n * n)
        .map(|ij| {
            (0..n)
                .map(|k| q[(ij / n) * n + k] * lambda[k] * q[(ij % n) * n + k])
                .sum()
        })
        .collect();
    TangentKernel { n, values }
}

#[test]
fn dense_spectrum_recovers_a_known_spectrum_in_ascending_order() {
    let lambda: Vec<f64> = (0..40)
        .map(|i| if i == 5 { -1e-3 } else { 0.5 + i as f64 * 0.25 })
        .collect();
    let spec = dense_spectrum(&known_spectrum(&lambda)).unwrap();
    let mut sorted = lambda.clone();
    sorted.sort_by(f64::total_cmp);
    for (a, b) in spec.eigenvalues.iter().zip(&sorted) {
        assert!((a - b).abs() < 1e-12 * 10.0, "{a} vs {b}");
    }
    // A negative eigenvalue is reported as it is, never clipped.
    assert!((spec.lambda_min + 1e-3).abs() < 1e-12);
    assert!((spec.condition_number - spec.lambda_max / spec.lambda_min).abs() < 1e-9);
}

#[test]
fn lanczos_matches_the_dense_extremes_of_a_tangent_kernel_with_small_residuals() {
    let data = data::sphere(300, 10, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(10, vec![256])
        .with_activation(Activation::Erf)
        .with_bias(true);
    let device = Default::default();
    let (x, _) = data.to_tensors::<F64>(&device);
    let mut k = tangent_kernel(&cfg.init::<F64>(0, &device), &x, KernelMethod::Structured);
    let dense = dense_spectrum(&k).unwrap();
    let e = lanczos(
        &mut k,
        &LanczosSettings {
            max_iter: 300,
            tol: 1e-9,
            seed: 1,
        },
    );
    assert!(e.converged, "{e:?}");
    let scale = dense.lambda_max;
    assert!(
        (e.max.value - dense.lambda_max).abs() < 1e-9 * scale,
        "{} vs {}",
        e.max.value,
        dense.lambda_max
    );
    assert!(
        (e.min.value - dense.lambda_min).abs() < 1e-8 * scale,
        "{} vs {}",
        e.min.value,
        dense.lambda_min
    );
    assert!(e.max.residual < 1e-8 * scale && e.min.residual < 1e-8 * scale);
    // The residual is the true ‖Av − λv‖.
    let av = k.apply(&e.max.vector);
    let r: f64 = av
        .iter()
        .zip(&e.max.vector)
        .map(|(a, v)| (a - e.max.value * v).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((r - e.max.residual).abs() < 1e-12 * scale);
}

#[test]
fn lanczos_reports_non_convergence_as_a_value() {
    let lambda: Vec<f64> = (0..200).map(|i| 1.0 + i as f64 * 1e-3).collect();
    let mut a = known_spectrum(&lambda);
    let e = lanczos(
        &mut a,
        &LanczosSettings {
            max_iter: 4,
            tol: 1e-12,
            seed: 0,
        },
    );
    assert!(!e.converged);
    assert_eq!(e.iterations, 4);
    assert!(e.min.residual > 0.0 && e.min.value >= 1.0 - 1e-12 && e.max.value <= 1.2 + 1e-12);
}

/// Above the dense limit, `kernel_extremes` finds `λ_max` by Lanczos on `K` and `λ_min` by
/// Lanczos on `K⁻¹` (Cholesky): both equal the dense solver's to 1e-9 relative on a matrix of
/// known spectrum with a cluster at the bottom (1.0, 1.01, 1.02, … against λ_max = 1000), and
/// the reported true residuals are small.
#[test]
fn kernel_extremes_by_lanczos_on_the_inverse_match_the_known_spectrum() {
    use plstar::measure::spectrum::kernel_extremes;
    let n = 200;
    let lambda: Vec<f64> = (0..n)
        .map(|i| {
            if i == n - 1 {
                1000.0
            } else {
                1.0 + 0.01 * i as f64
            }
        })
        .collect();
    let k = known_spectrum(&lambda);
    let e = kernel_extremes(&k, 100).unwrap();
    assert_eq!(e.method, "lanczos");
    assert!((e.lambda_min - 1.0).abs() < 1e-9, "λ_min {}", e.lambda_min);
    assert!(
        (e.lambda_max - 1000.0).abs() < 1e-9 * 1000.0,
        "λ_max {}",
        e.lambda_max
    );
    let r = e.residuals.unwrap();
    assert!(r.converged && r.min < 1e-5 && r.max < 1e-5, "{r:?}");
    // Below the limit: the dense solver, every eigenvalue.
    let d = kernel_extremes(&k, n).unwrap();
    assert_eq!(d.method, "dense");
    assert_eq!(d.eigenvalues.unwrap().len(), n);
}

/// A kernel that is singular (rank p < n): whether its Cholesky factorization fails in f64 (the
/// dense solver answers) or passes on round-off pivots (Lanczos on the huge inverse), λ_min
/// comes out at round-off, never as a spurious positive value.
#[test]
fn kernel_extremes_of_a_singular_kernel_are_at_round_off() {
    use plstar::measure::spectrum::kernel_extremes;
    let data = data::sphere(40, 3, SyntheticTarget::Teacher, 0);
    let cfg = MlpConfig::new(3, vec![4]).with_activation(Activation::Tanh);
    let device = Default::default();
    let model = cfg.init::<F64>(0, &device);
    let (x, _) = data.to_tensors::<F64>(&device);
    let k = tangent_kernel(&model, &x, KernelMethod::Structured);
    let e = kernel_extremes(&k, 10).unwrap();
    assert!(
        e.lambda_min.abs() < 1e-10 * e.lambda_max,
        "p = 20 < n = 40, by {}: λ_min {}",
        e.method,
        e.lambda_min
    );
}

/// The Lanczos path's eigenvectors (which the card's searches step along above the dense limit)
/// are the known ones: `K = Q diag(λ) Qᵀ` with `Q` built from three Householder reflections, so
/// `v_min = ±Q e_0` and `v_max = ±Q e_{n−1}`, to 1e-9 in `|⟨v, q⟩|`.
#[test]
fn kernel_extremes_return_the_known_extreme_eigenvectors() {
    use plstar::measure::spectrum::kernel_extremes;
    let n = 200;
    let lambda: Vec<f64> = (0..n).map(|i| 0.5 + 0.02 * i as f64).collect();
    let k = known_spectrum(&lambda);
    let q = householder_q(n);
    let e = kernel_extremes(&k, 100).unwrap();
    let v = e.vectors.expect("the Lanczos path returns its vectors");
    for (vector, column, name) in [(&v.min, 0, "min"), (&v.max, n - 1, "max")] {
        let unit: f64 = vector.iter().map(|a| a * a).sum::<f64>().sqrt();
        assert!((unit - 1.0).abs() < 1e-12, "‖v_{name}‖ = {unit}");
        let dot: f64 = (0..n).map(|i| vector[i] * q[i * n + column]).sum();
        assert!(1.0 - dot.abs() < 1e-9, "|⟨v_{name}, q⟩| = {}", dot.abs());
    }
    assert!(
        kernel_extremes(&k, n).unwrap().vectors.is_none(),
        "dense path: no vectors"
    );
}

/// `rᵀK⁻¹r` by the Cholesky factor (the card's linearized GD distance above the dense limit)
/// equals the spectral sum `Σ_j (q_jᵀ r)² / λ_j` of the known spectrum to 1e-12 relative, with
/// κ = 10⁴; an indefinite kernel has no factor and gives `None`.
#[test]
fn inverse_quadratic_form_equals_the_spectral_sum() {
    use plstar::measure::spectrum::inverse_quadratic_form;
    let n = 150;
    let lambda: Vec<f64> = (0..n)
        .map(|i| 1e-3 * 10f64.powf(4.0 * i as f64 / (n - 1) as f64))
        .collect();
    let q = householder_q(n);
    let r: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).cos()).collect();
    let want: f64 = (0..n)
        .map(|j| (0..n).map(|i| q[i * n + j] * r[i]).sum::<f64>().powi(2) / lambda[j])
        .sum();
    let got = inverse_quadratic_form(&known_spectrum(&lambda), &r).unwrap();
    assert!((got - want).abs() < 1e-12 * want, "{got} vs {want}");
    let mut indefinite = lambda.clone();
    indefinite[0] = -1.0;
    assert!(inverse_quadratic_form(&known_spectrum(&indefinite), &r).is_none());
}

/// The orthogonal `Q` of [`known_spectrum`], row-major (`Q = H_0 H_1 H_2`, three Householder
/// reflections): column `j` is the eigenvector of `λ_j`.
fn householder_q(n: usize) -> Vec<f64> {
    let mut q: Vec<f64> = (0..n * n)
        .map(|ij| if ij / n == ij % n { 1.0 } else { 0.0 })
        .collect();
    for s in 0..3 {
        let v: Vec<f64> = (0..n)
            .map(|i| ((i * 7 + s * 13) as f64 * 0.61).sin() + 0.1)
            .collect();
        let vv: f64 = v.iter().map(|a| a * a).sum();
        // Q ← Q (I − 2 v vᵀ / vᵀv)
        for row in 0..n {
            let qv: f64 = (0..n).map(|k| q[row * n + k] * v[k]).sum();
            for k in 0..n {
                q[row * n + k] -= 2.0 * qv * v[k] / vv;
            }
        }
    }
    q
}

/// Oracle: a matrix of known spectrum (`Q Λ Qᵀ`, λ from 1e-3 to 50, one cluster at the bottom).
/// The Cholesky test proves `λ_min > s` for `s` a hair below the true `λ_min` (4 times its own
/// shift `c = 2 γ_{N+4} tr K`, about 8e-13 here), and `λ_max < s` just above the true
/// `λ_max`; it refuses both bounds past the true extremes by 1e-9 (the shifted matrix is then
/// indefinite, and no factorization runs to completion). And a singular matrix (a zero eigenvalue) is never proved positive.
#[test]
fn cholesky_test_proves_the_known_extremes_and_refuses_false_bounds() {
    use plstar::measure::spectrum::{cholesky_proves, cholesky_test_shift, EigenBound};
    let n = 60;
    let mut lambda: Vec<f64> = (0..n).map(|i| 1e-3 * (1.0 + 1e-4 * i as f64)).collect();
    lambda[n - 1] = 50.0;
    lambda[n - 2] = 7.0;
    let k = known_spectrum(&lambda);
    let (lo, hi) = (lambda[0], lambda[n - 1]);
    let c = cholesky_test_shift(n, k.trace());
    assert!(c < 1e-12, "the test's shift {c}");
    assert!(cholesky_proves(&k, lo - 4.0 * c, EigenBound::MinAbove));
    assert!(!cholesky_proves(&k, lo + 1e-9, EigenBound::MinAbove));
    assert!(cholesky_proves(
        &k,
        hi + 4.0 * c * n as f64,
        EigenBound::MaxBelow
    ));
    assert!(!cholesky_proves(&k, hi - 1e-9, EigenBound::MaxBelow));
    lambda[0] = 0.0;
    let singular = known_spectrum(&lambda);
    assert!(!cholesky_proves(&singular, 0.0, EigenBound::MinAbove));
}

/// A Lanczos "λ_min" that is not the smallest eigenvalue (the second one, 2e-3, with a tiny
/// residual: a Krylov space that missed the bottom) is caught: the Cholesky test cannot prove
/// λ_min > λ₀ − margin (the true λ_min is 1e-3), so the margin is infinite and prove() leaves
/// the certificate not proved, with no radius. The right λ_min is proved, and so is the radius.
#[test]
fn a_lanczos_lambda_min_that_missed_the_bottom_is_not_proved() {
    use plstar::measure::spectrum::{EigenResiduals, KernelExtremes};
    use plstar::theorem::bound::SmoothnessBound;
    use plstar::theorem::card::LanczosMargins;
    use plstar::theorem::proved::{prove, ProofState};
    let n = 40;
    let mut lambda: Vec<f64> = (0..n).map(|i| 2e-3 + 1e-2 * i as f64).collect();
    lambda[0] = 1e-3;
    let k = known_spectrum(&lambda);
    let residuals = EigenResiduals {
        min: 1e-14,
        max: 1e-14,
        converged: true,
        iterations: 10,
        max_converged_at: None,
    };
    let extremes = |lambda_min: f64| KernelExtremes {
        method: "lanczos",
        lambda_min,
        lambda_max: lambda[n - 1],
        eigenvalues: None,
        residuals: Some(residuals.clone()),
        vectors: None,
    };
    let missed = LanczosMargins::prove(&k, &extremes(2e-3), residuals.clone());
    assert_eq!(missed.below, None, "{missed:?}");
    assert!(missed.above.is_some(), "{missed:?}");
    let right = LanczosMargins::prove(&k, &extremes(1e-3), residuals.clone());
    assert!(right.below.is_some(), "{right:?}");
    // The linear model's bound (β̄_F = 0): with finite margins the radius is proved.
    let bound = SmoothnessBound {
        intercept: Some(0.0),
        slope: Some(0.0),
        input_norm: 1.0,
        output_column_norm0: 1.0,
        sup_slope: 1.0,
        sup_curvature: 0.0,
        not_applicable: None,
        deep: None,
    };
    let margins = missed.margins(1e-15);
    assert_eq!(margins[0], f64::INFINITY);
    let cert = prove(bound.clone(), 2e-3, lambda[n - 1], margins, 1.0);
    assert_eq!(cert.state, ProofState::None, "{}", cert.reason);
    assert_eq!(cert.radius, None);
    let proved = prove(bound, 1e-3, lambda[n - 1], right.margins(1e-15), 1.0);
    assert_eq!(proved.state, ProofState::Proved, "{}", proved.reason);
}
