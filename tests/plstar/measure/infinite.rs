//! The closed-form infinite-width kernels against numeric two-dimensional Gaussian integrals.
//!
//! `K∞(x, x′) = E[σ(u)σ(u′)] + (xᵀx′/d) E[σ′(u)σ′(u′)]` with `(u, u′) = L g`, `g ~ N(0, I₂)` and
//! `L Lᵀ = Σ = [[‖x‖², xᵀx′], [xᵀx′, ‖x′‖²]] / d` (`L` the Cholesky factor). The oracles share
//! nothing with the closed forms but the definition: erf by tensor-product Gauss–Hermite
//! quadrature, ReLU in polar coordinates (the radial integral is exact; the angular one by
//! Gauss–Legendre on the arcs between the kinks). Both rules are computed here from scratch.

use std::f64::consts::{FRAC_2_SQRT_PI, PI};

use plstar::data::{self, Dataset, SyntheticTarget};
use plstar::measure::infinite::infinite_width_kernel;
use plstar::measure::kernel::TangentKernel;
use plstar::model::Activation;

/// A quadrature rule: nodes and weights.
type Rule = (Vec<f64>, Vec<f64>);

/// Gauss–Hermite rule (`∫ e^{−t²} h(t) dt ≈ Σ wᵢ h(tᵢ)`) with `n` nodes. Nodes by Golub–Welsch
/// (eigenvalues of the Jacobi matrix of the Hermite recurrence, off-diagonal `√(k/2)`), then
/// polished by Newton steps on the orthonormal Hermite polynomial `p̃_n`; weights by the
/// Christoffel formula `wᵢ = 2 / p̃_n′(tᵢ)²`, which keeps the tiny outer weights accurate.
fn gauss_hermite(n: usize) -> Rule {
    let jacobi = faer::Mat::<f64>::from_fn(n, n, |i, j| {
        if i.abs_diff(j) == 1 {
            (i.max(j) as f64 / 2.0).sqrt()
        } else {
            0.0
        }
    });
    let mut nodes = jacobi
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .expect("the Jacobi matrix is symmetric tridiagonal");
    // (p̃_n(t), p̃_n′(t)) with p̃_j = t √(2/j) p̃_{j−1} − √((j−1)/j) p̃_{j−2}, p̃_0 = π^{−1/4}.
    let hermite = |t: f64| {
        let (mut p1, mut p2) = (PI.powf(-0.25), 0.0);
        for j in 1..=n {
            let p3 = p2;
            p2 = p1;
            p1 = t * (2.0 / j as f64).sqrt() * p2 - ((j - 1) as f64 / j as f64).sqrt() * p3;
        }
        (p1, (2.0 * n as f64).sqrt() * p2)
    };
    let mut weights = Vec::with_capacity(n);
    for t in &mut nodes {
        for _ in 0..3 {
            let (p, dp) = hermite(*t);
            *t -= p / dp;
        }
        weights.push(2.0 / hermite(*t).1.powi(2));
    }
    // The rule is exact for polynomials of degree ≤ 2n − 1: ∫ e^{−t²} = √π, ∫ t⁴ e^{−t²} = ¾√π.
    let moment = |k: i32| {
        nodes
            .iter()
            .zip(&weights)
            .map(|(t, w)| w * t.powi(k))
            .sum::<f64>()
    };
    assert!(
        (moment(0) - PI.sqrt()).abs() < 1e-14,
        "GH({n}) zeroth moment"
    );
    assert!(
        (moment(4) - 0.75 * PI.sqrt()).abs() < 1e-13,
        "GH({n}) fourth moment"
    );
    (nodes, weights)
}

/// Gauss–Legendre rule on `[−1, 1]` with `n` nodes, by Newton's method on `P_n`.
fn gauss_legendre(n: usize) -> Rule {
    let legendre = |x: f64| {
        let (mut p1, mut p2) = (1.0, 0.0);
        for j in 1..=n {
            let p3 = p2;
            p2 = p1;
            p1 = ((2 * j - 1) as f64 * x * p2 - (j - 1) as f64 * p3) / j as f64;
        }
        // (P_n(x), P_n′(x)) from P_n′ = n (x P_n − P_{n−1}) / (x² − 1).
        (p1, n as f64 * (x * p1 - p2) / (x * x - 1.0))
    };
    let (mut nodes, mut weights) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        for _ in 0..100 {
            let (p, dp) = legendre(x);
            let dx = p / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        let dp = legendre(x).1;
        nodes.push(x);
        weights.push(2.0 / ((1.0 - x * x) * dp * dp));
    }
    // Exact for degree ≤ 2n − 1: ∫ 1 = 2, ∫ x⁶ = 2/7.
    let moment = |k: i32| {
        nodes
            .iter()
            .zip(&weights)
            .map(|(x, w)| w * x.powi(k))
            .sum::<f64>()
    };
    assert!((moment(0) - 2.0).abs() < 1e-14, "GL({n}) zeroth moment");
    assert!(
        (moment(6) - 2.0 / 7.0).abs() < 1e-14,
        "GL({n}) sixth moment"
    );
    (nodes, weights)
}

/// `Σ₁₂ = xᵀx′/d` and the rows `a`, `b` of the Cholesky factor `L` of `Σ` (`u = a·g`,
/// `u′ = b·g`), taken from the Gram–Schmidt (QR) factorization of `[x, x′] / √d`:
/// `L₁₁ = ‖x‖/√d`, `L₂₁ = x̂ᵀx′/√d`, `L₂₂ = ‖x′ − (x̂ᵀx′) x̂‖/√d`. The textbook
/// `L₂₂ = √(Σ₂₂ − L₂₁²)` cancels: on the diagonal (`Σ` singular) it returns `√ε ≈ 10⁻⁸` instead
/// of 0, which tilts `b` by that angle and moves the ReLU entry by ~10⁻⁹ relative.
fn covariance(x: &[f64], xp: &[f64]) -> (f64, [f64; 2], [f64; 2]) {
    let d = x.len() as f64;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let norm = dot(x, x).sqrt();
    let unit: Vec<f64> = x.iter().map(|v| v / norm).collect();
    let along = dot(&unit, xp);
    let rest: Vec<f64> = xp.iter().zip(&unit).map(|(v, e)| v - along * e).collect();
    let scale = d.sqrt();
    (
        dot(x, xp) / d,
        [norm / scale, 0.0],
        [along / scale, dot(&rest, &rest).sqrt() / scale],
    )
}

/// The erf kernel entry by an `n × n` Gauss–Hermite rule: with `g = √2 t`,
/// `E[h(u, u′)] = (1/π) Σᵢⱼ wᵢ wⱼ h(√2 a·t, √2 b·t)`, `t = (tᵢ, tⱼ)`;
/// `erf′(u) = (2/√π) e^{−u²}`.
fn erf_kernel_by_gauss_hermite(x: &[f64], xp: &[f64], rule: &Rule) -> f64 {
    let (s12, a, b) = covariance(x, xp);
    let (t, w) = rule;
    let (mut e_ss, mut e_dd) = (0.0, 0.0);
    for i in 0..t.len() {
        for j in 0..t.len() {
            let (g0, g1) = (2f64.sqrt() * t[i], 2f64.sqrt() * t[j]);
            let (u, up) = (a[0] * g0 + a[1] * g1, b[0] * g0 + b[1] * g1);
            let wij = w[i] * w[j] / PI;
            e_ss += wij * libm::erf(u) * libm::erf(up);
            e_dd += wij * FRAC_2_SQRT_PI * (-u * u).exp() * FRAC_2_SQRT_PI * (-up * up).exp();
        }
    }
    e_ss + s12 * e_dd
}

/// The ReLU kernel entry in polar coordinates `g = r (cos φ, sin φ)`: the radial integrals are
/// exact (`∫₀^∞ r³ e^{−r²/2} dr = 2`, `∫₀^∞ r e^{−r²/2} dr = 1`), so
/// `E[σ(u)σ(u′)] = (1/π) ∫₀^{2π} (a·e)₊ (b·e)₊ dφ` and `E[σ′(u)σ′(u′)] = |{φ : a·e > 0, b·e > 0}|
/// / 2π`. The angle integral is split at the kinks (zeros of `a·e` and `b·e`) and at multiples of
/// π/2; on each arc the integrand is 0 or `(a·e)(b·e)`, a trigonometric polynomial of degree 2,
/// integrated by Gauss–Legendre.
fn relu_kernel_by_polar_quadrature(x: &[f64], xp: &[f64], rule: &Rule) -> f64 {
    let (s12, a, b) = covariance(x, xp);
    let along = |v: [f64; 2], phi: f64| v[0] * phi.cos() + v[1] * phi.sin();
    let mut cuts: Vec<f64> = (0..=4).map(|k| k as f64 * PI / 2.0).collect();
    for v in [a, b] {
        let zero = v[1].atan2(v[0]) + PI / 2.0;
        for phi in [zero, zero + PI] {
            cuts.push(phi.rem_euclid(2.0 * PI));
        }
    }
    cuts.sort_by(f64::total_cmp);
    let (mut e_ss, mut e_dd) = (0.0, 0.0);
    for arc in cuts.windows(2) {
        let (lo, hi) = (arc[0], arc[1]);
        let mid = 0.5 * (lo + hi);
        if hi <= lo || along(a, mid) <= 0.0 || along(b, mid) <= 0.0 {
            continue;
        }
        let half = 0.5 * (hi - lo);
        let integral: f64 = rule
            .0
            .iter()
            .zip(&rule.1)
            .map(|(s, w)| {
                let phi = mid + half * s;
                w * half * along(a, phi) * along(b, phi)
            })
            .sum();
        e_ss += integral / PI;
        e_dd += (hi - lo) / (2.0 * PI);
    }
    e_ss + s12 * e_dd
}

/// Random points on `S²` (angles spread over (0, π)) and, built around the first one, points
/// of other norms at chosen angles: the same direction (θ = 0, Σ singular), θ = 10⁻³,
/// θ = π/2, θ = π − 10⁻³, θ = π.
fn inputs() -> Dataset {
    let d = 3;
    let sphere = data::sphere(5, d, SyntheticTarget::Teacher, 11);
    let p = sphere.input(0).to_vec();
    let raw = sphere.input(1);
    let along: f64 = raw.iter().zip(&p).map(|(r, e)| r * e).sum();
    let q: Vec<f64> = raw.iter().zip(&p).map(|(r, e)| r - along * e).collect();
    let nq = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let q: Vec<f64> = q.iter().map(|v| v / nq).collect();
    let mut xs = sphere.inputs.clone();
    for (theta, r) in [
        (0.0, 2.5),
        (1e-3, 0.4),
        (PI / 2.0, 3.0),
        (PI - 1e-3, 1.7),
        (PI, 0.6),
    ] {
        xs.extend((0..d).map(|k| r * (theta.cos() * p[k] + theta.sin() * q[k])));
    }
    let n = xs.len() / d;
    Dataset::new(xs, vec![0.0; n], d).unwrap()
}

/// `|K_ij − Q_ij| / √(Q_ii Q_jj)`: the error of entry (i, j) against the oracle `Q`, on the
/// Cauchy–Schwarz scale of a PSD kernel (erf entries of nearly orthogonal inputs are close to 0,
/// so a per-entry ratio would not measure anything).
fn scaled_error(k: &TangentKernel, q: &[f64], i: usize, j: usize) -> f64 {
    let n = k.n;
    (k.get(i, j) - q[i * n + j]).abs() / (q[i * n + i] * q[j * n + j]).sqrt()
}

#[test]
fn erf_infinite_width_kernel_equals_a_gauss_hermite_gaussian_integral() {
    // Tolerance 1e-12 (scaled as in `scaled_error`). The integrands are entire and bounded, so
    // Gauss–Hermite converges faster than geometrically, but slowly for large variances (erf(u)
    // is steep on the scale of the nodes): measured on the diagonal at Σ₁₁ = 3 (‖x‖ = 3, d = 3),
    // errors 2e-3, 5e-6, 2e-11, 7e-15 at 40, 80, 160, 320 nodes per axis. The test checks every
    // run that 240 and 320 nodes agree within 1e-13 (measured 8e-15), so the 320-node value is an
    // oracle good to round-off of its 10⁵-term sums (~1e-14); closed form vs oracle measured
    // 1e-14. The margin of ~100 leaves room for other libm implementations of erf and exp.
    const QUADRATURE_SETTLED: f64 = 1e-13;
    const TOL: f64 = 1e-12;
    let data = inputs();
    let n = data.len();
    let kernel = infinite_width_kernel(Activation::Erf, &data).expect("erf has a closed form");
    assert_eq!(kernel.n, n);
    let oracle = |rule: &Rule| -> Vec<f64> {
        (0..n * n)
            .map(|ij| erf_kernel_by_gauss_hermite(data.input(ij / n), data.input(ij % n), rule))
            .collect()
    };
    let (coarse, fine) = (oracle(&gauss_hermite(240)), oracle(&gauss_hermite(320)));
    let coarse = TangentKernel { n, values: coarse };
    let (mut settle, mut worst) = (0.0f64, 0.0f64);
    for i in 0..n {
        for j in 0..n {
            settle = settle.max(scaled_error(&coarse, &fine, i, j));
            worst = worst.max(scaled_error(&kernel, &fine, i, j));
        }
    }
    eprintln!("erf: GH(240) vs GH(320) {settle:.1e}; closed form vs GH(320) {worst:.1e}");
    assert!(
        settle < QUADRATURE_SETTLED,
        "the quadrature has not settled: {settle:e}"
    );
    assert!(worst < TOL, "closed form vs quadrature: {worst:e}");
}

#[test]
fn relu_infinite_width_kernel_equals_a_polar_gaussian_integral() {
    // The rule is exact up to round-off: on each arc (length h ≤ π/2) the integrand
    // f = (a·e)(b·e) = ½|a||b|(cos(α − β) + cos(2φ − α − β)) has |f⁽²ᴺ⁾| ≤ ½|a||b| 4ᴺ, and
    // Gauss–Legendre with N nodes errs by at most h^{2N+1} (N!)⁴ / ((2N+1) ((2N)!)³) ·
    // max|f⁽²ᴺ⁾| < 10⁻⁵² |a||b| for N = 20 (the indicator integral is an arc length, exact).
    // What is left is round-off in the nodes, the QR factor and the kink angles: measured
    // ≤ 4e-14 against the closed form, ≤ 5e-16 on the diagonal against ‖x‖²/d. Tolerance 1e-12.
    const TOL: f64 = 1e-12;
    // Distinct (anti)parallel inputs (θ = 0 or π, ‖x‖ ≠ ‖x′‖) are reported apart: arccos of a
    // rounded cosine would move θ by ~2.6e-8 there (an error of ~2.4e-9 was measured for
    // x′ = 2.5 x before the closed form took θ = 2 atan2(‖x̂ − x̂′‖, ‖x̂ + x̂′‖)); now they meet
    // the same tolerance.
    const TOL_PARALLEL: f64 = TOL;
    let data = inputs();
    let n = data.len();
    let kernel = infinite_width_kernel(Activation::Relu, &data).expect("relu has a closed form");
    let rule = gauss_legendre(20);
    let oracle: Vec<f64> = (0..n * n)
        .map(|ij| relu_kernel_by_polar_quadrature(data.input(ij / n), data.input(ij % n), &rule))
        .collect();
    let (mut worst, mut worst_parallel) = (0.0f64, 0.0f64);
    for i in 0..n {
        for j in 0..n {
            // θ = angle(a, b) = angle(x, x′) ∈ [0, π] (a = (L₁₁, 0), L₂₂ ≥ 0).
            let (_, _, b) = covariance(data.input(i), data.input(j));
            let theta = b[1].atan2(b[0]);
            let parallel = i != j && theta.min(PI - theta) < 1e-6;
            let e = scaled_error(&kernel, &oracle, i, j);
            if parallel {
                worst_parallel = worst_parallel.max(e);
            } else {
                worst = worst.max(e);
            }
        }
        // The diagonal has a closed form of its own: K∞(x, x) = ‖x‖²/d (THEORY.md).
        let norm_sq = data.input(i).iter().map(|v| v * v).sum::<f64>() / data.dim as f64;
        let q = oracle[i * n + i];
        assert!(
            (q - norm_sq).abs() < TOL * norm_sq,
            "diagonal {i}: {q} vs {norm_sq}"
        );
    }
    eprintln!(
        "relu: closed form vs polar quadrature {worst:.1e}; (anti)parallel pairs {worst_parallel:.1e}"
    );
    assert!(worst < TOL, "closed form vs quadrature: {worst:e}");
    assert!(
        worst_parallel < TOL_PARALLEL,
        "(anti)parallel pairs: {worst_parallel:e}"
    );
}
