//! The matrix-free infinite-width kernel `v ↦ (K∞ ⊗ I_k) v` (issue 22, point 4) against the dense
//! `K∞` of `limit_kernel` (itself held against independent Gaussian integrals in
//! `infinite.rs`), and its extreme eigenvalues by Lanczos against the dense eigensolver.

use plstar::data::{self, Dataset, SyntheticTarget};
use plstar::measure::infinite::operator::{LimitOperator, LIMIT_TILE};
use plstar::measure::infinite::{limit_kernel, limit_kernel_by, DualMethod};
use plstar::measure::kernel::operator::operator_extremes;
use plstar::measure::kernel::TangentKernel;
use plstar::measure::roundoff::RoundOff;
use plstar::measure::spectrum::dense_spectrum;
use plstar::model::{Activation, MlpConfig};

/// `n` sphere points in `ℝᵈ` with `k` targets each.
fn data_k(n: usize, d: usize, k: usize) -> Dataset {
    let base = data::sphere(n, d, SyntheticTarget::Sign, 9);
    let targets = (0..n * k).map(|r| base.targets[r / k]).collect();
    Dataset::with_outputs(base.inputs.clone(), targets, d, k).unwrap()
}

/// The largest entry-wise error of `got` against `K v` of the dense `k`, each on the scale
/// `Σ_j |K_ij| |v_j|` of the sum behind it.
fn scaled_product_error(k: &TangentKernel, v: &[f64], got: &[f64]) -> f64 {
    (0..k.n)
        .map(|i| {
            let (mut exact, mut scale) = (0.0, 0.0);
            for (j, vj) in v.iter().enumerate() {
                exact += k.get(i, j) * vj;
                scale += (k.get(i, j) * vj).abs();
            }
            (got[i] - exact).abs() / scale
        })
        .fold(0.0, f64::max)
}

#[test]
fn limit_operator_products_equal_the_dense_limit_kernel_to_1e_13() {
    // ReLU, erf and the identity (closed forms) at depth 0–3 with and without biases, k = 1 and
    // 3, n = 2.3 tiles (not a multiple of the tile), with no tile, some tiles and every tile
    // kept: every product within 1e-13 of the dense K∞ v (measured ≤ 1e-15: the same entries,
    // summed in another order), and the kept and recomputed operators equal to the bit.
    let n = 2 * LIMIT_TILE + LIMIT_TILE / 3;
    let mut case = 0;
    for act in [Activation::Relu, Activation::Erf, Activation::Identity] {
        for depth in 0..=3 {
            case += 1;
            let k = if case % 3 == 0 { 3 } else { 1 };
            let data = data_k(n, 6, k);
            let cfg = MlpConfig::new(6, vec![8; depth])
                .with_activation(act)
                .with_bias(case % 2 == 0)
                .with_bias_scale(0.6)
                .with_outputs(k);
            let dense = limit_kernel(&cfg, &data).unwrap();
            let v: Vec<f64> = (0..n * k)
                .map(|i| ((i * 7 + 3) % 11) as f64 - 5.0)
                .collect();
            let mut products = vec![];
            for kept_tiles in [0, 2, usize::MAX / LimitOperator::tile_bytes()] {
                let cache = kept_tiles.saturating_mul(LimitOperator::tile_bytes());
                let mut op =
                    LimitOperator::new(&cfg, &data, DualMethod::ClosedForm, cache).unwrap();
                let got = op.product(&v);
                let error = scaled_product_error(&dense, &v, &got);
                assert!(error < 1e-13, "{act}, L = {depth}, k = {k}: {error:e}");
                let diagonal = op.diagonal();
                for (i, d) in diagonal.iter().enumerate() {
                    assert_eq!(*d, dense.get(i, i), "{act}, L = {depth}: diagonal {i}");
                }
                products.push(got);
            }
            assert_eq!(
                products[0], products[1],
                "{act}, L = {depth}: kept vs recomputed"
            );
            assert_eq!(products[0], products[2], "{act}, L = {depth}: all kept");
        }
    }
}

#[test]
fn limit_operator_by_quadrature_equals_the_dense_quadrature_kernel() {
    // tanh (no closed form: the quadrature path of the entries, ≈ 2 ms a pair here) on 40
    // samples, one partial tile; the tiling itself is held by the closed-form test above.
    let n = 40;
    let data = data_k(n, 4, 1);
    let cfg = MlpConfig::new(4, vec![8])
        .with_activation(Activation::Tanh)
        .with_bias(true);
    let dense = limit_kernel_by(&cfg, &data, DualMethod::ClosedForm).unwrap();
    let mut op = LimitOperator::new(&cfg, &data, DualMethod::ClosedForm, 0).unwrap();
    let v: Vec<f64> = (0..n).map(|i| (i % 5) as f64 - 2.0).collect();
    let error = scaled_product_error(&dense, &v, &op.product(&v));
    assert!(error < 1e-13, "tanh: {error:e}");
}

#[test]
fn limit_operator_extremes_equal_the_dense_eigensolver_to_1e_10() {
    // n = 597 (2.3 tiles, none kept): Lanczos on the operator against faer's dense
    // eigendecomposition of the dense K∞, both ends to 1e-10 of λ_max (the dense λ_min itself is
    // exact only to about ε λ_max). Measured: ReLU, L = 2, no bias, κ = 2.8e3: converged at
    // tolerance 1e-11 in 142 products; erf, L = 2, biases, κ = 2.7e7 (ill-conditioned): in 282
    // products, residual 2.4e-10 at λ_min = 9.7e-6, both equal to the dense values to 7 digits
    // printed.
    let n = 2 * LIMIT_TILE + LIMIT_TILE / 3;
    let data = data_k(n, 8, 1);
    for (act, bias) in [(Activation::Relu, false), (Activation::Erf, true)] {
        let cfg = MlpConfig::new(8, vec![16, 16])
            .with_activation(act)
            .with_bias(bias)
            .with_bias_scale(0.3);
        let dense = dense_spectrum(&limit_kernel(&cfg, &data).unwrap()).unwrap();
        let (min, max) = (dense.eigenvalues[0], dense.eigenvalues[n - 1]);
        {
            let mut op = LimitOperator::new(&cfg, &data, DualMethod::ClosedForm, 0).unwrap();
            let e = operator_extremes(&mut op, 400, 1e-11);
            let r = e.residuals.as_ref().unwrap();
            eprintln!(
                "K∞ {act} n = {n}: λ_min {:.6e} (dense {min:.6e}), λ_max {:.6e} (dense \
                 {max:.6e}), κ {:.1e}, {} products, residuals {:.1e} {:.1e}, converged {}",
                e.lambda_min,
                e.lambda_max,
                max / min,
                op.products(),
                r.min,
                r.max,
                r.converged
            );
            assert!((e.lambda_max - max).abs() <= 1e-10 * max, "{act}");
            assert!(r.converged, "{act}: {r:?}");
            assert!(
                (e.lambda_min - min).abs() <= 1e-10 * max,
                "{act}: {}",
                e.lambda_min
            );
            assert!(
                max / min > 1e6 || act == Activation::Relu,
                "erf is the ill-conditioned case"
            );
        }
    }
}

#[test]
fn a_limit_kernel_singular_at_round_off_is_reported_as_such_by_the_operator() {
    // Two identical inputs make K∞ exactly singular (two equal rows): the operator's λ_min must
    // lie at or below the f64 round-off floor, and be no more negative than it.
    let n = 300;
    let mut inputs = data_k(n, 5, 1).inputs;
    let first: Vec<f64> = inputs[..5].to_vec();
    inputs[5 * (n - 1)..].copy_from_slice(&first);
    let data = Dataset::new(inputs, vec![0.0; n], 5).unwrap();
    let cfg = MlpConfig::new(5, vec![16]).with_activation(Activation::Relu);
    let mut op = LimitOperator::new(&cfg, &data, DualMethod::ClosedForm, 0).unwrap();
    let e = operator_extremes(&mut op, 300, 1e-12);
    let diagonal = op.diagonal();
    let trace: f64 = diagonal.iter().sum();
    let max_diagonal = diagonal.iter().copied().fold(0.0, f64::max);
    let floor = RoundOff::f64(5, 1).eigenvalue_floor(n, max_diagonal, trace, e.lambda_max);
    eprintln!("singular K∞: λ_min = {:e}, floor {floor:e}", e.lambda_min);
    assert!(
        e.lambda_min.abs() <= floor,
        "{} vs floor {floor}",
        e.lambda_min
    );
}

#[test]
fn the_hutchinson_gap_estimate_converges_to_the_exact_frobenius_gap() {
    // ‖A − B‖_F/‖B‖_F from products with Rademacher probes against the exact value from the
    // formed matrices (A, B: K∞ of erf and of ReLU networks on the same inputs, n = 200). The
    // estimate's error shrinks like 1/√probes: within 35% at 8 probes and within 5% at 800,
    // and its reported standard error is within a factor 3 of the error at 800.
    use plstar::measure::kernel::operator::{rademacher_probes, relative_gap_estimate};
    let data = data_k(200, 6, 1);
    let cfg = MlpConfig::new(6, vec![8]).with_bias(true);
    let a = limit_kernel(&cfg.clone().with_activation(Activation::Erf), &data).unwrap();
    let b = limit_kernel(&cfg.with_activation(Activation::Relu), &data).unwrap();
    let exact = a.relative_distance(&b);
    let product = |k: &TangentKernel, z: &[f64]| -> Vec<f64> {
        (0..k.n)
            .map(|i| (0..k.n).map(|j| k.get(i, j) * z[j]).sum())
            .collect()
    };
    for (count, within) in [(8, 0.35), (800, 0.05)] {
        let probes = rademacher_probes(200, count, 1);
        let az: Vec<Vec<f64>> = probes.iter().map(|z| product(&a, z)).collect();
        let bz: Vec<Vec<f64>> = probes.iter().map(|z| product(&b, z)).collect();
        let g = relative_gap_estimate(&az, &bz);
        eprintln!(
            "{count} probes: {:.4e} ± {:.1e}, exact {exact:.4e}",
            g.value, g.standard_error
        );
        assert_eq!(g.probes, count);
        assert!(
            (g.value - exact).abs() <= within * exact,
            "{count}: {g:?} vs {exact}"
        );
        if count == 800 {
            let error = (g.value - exact).abs();
            assert!(
                g.standard_error < 0.05 * exact && error <= 3.0 * g.standard_error + 1e-3 * exact
            );
        }
    }
}
