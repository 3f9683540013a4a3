//! The host's vectorizable element-wise functions against libm.

use plstar::model::elementwise::{logistic, tanh};

/// The distance from `a` to `b` in units in the last place of `b`.
fn ulps(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    let spacing = f64::from_bits(b.abs().to_bits() + 1) - b.abs();
    (a - b).abs() / spacing
}

/// The grids the tanh tests sweep: a dense uniform grid over [−25, 25] (both branches, the
/// switch at |x| = 0.55, saturation), a log grid from 1e-300 to 30 with both signs (the series
/// near zero, subnormals), and the branch boundary ± a few ulps.
fn grid() -> Vec<f64> {
    let mut xs: Vec<f64> = (0..=2_000_000)
        .map(|i| -25.0 + 25.0 * i as f64 / 1e6)
        .collect();
    for i in 0..=30_000 {
        let x = 10f64.powf(-300.0 + 301.5 * i as f64 / 30_000.0);
        xs.extend([x, -x]);
    }
    let mut b = 0.55f64;
    for _ in 0..8 {
        xs.extend([b, -b]);
        b = f64::from_bits(b.to_bits() - 1);
    }
    xs.extend([f64::MIN_POSITIVE, 5e-324, 1e308, f64::MAX]);
    xs
}

/// `tanh` within 3 ulps of libm's on every grid point (measured worst: 3.0 ulps near
/// |x| = 1, where `(1 − E)/(1 + E)` rounds four times), exact at ±0 (sign kept), ±1 at ±∞ and
/// beyond 20, NaN for NaN.
#[test]
fn tanh_is_within_three_ulps_of_libm() {
    let mut worst = (0.0f64, 0.0f64);
    for x in grid() {
        let e = ulps(tanh(x), x.tanh());
        if e > worst.0 {
            worst = (e, x);
        }
    }
    eprintln!("tanh: worst {:.2} ulps at x = {:e}", worst.0, worst.1);
    assert!(
        worst.0 <= 3.0,
        "worst {:.2} ulps at x = {:e}",
        worst.0,
        worst.1
    );
    assert_eq!(tanh(0.0).to_bits(), 0.0f64.to_bits());
    assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(tanh(f64::INFINITY), 1.0);
    assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
    assert_eq!(tanh(40.0), 1.0);
    assert!(tanh(f64::NAN).is_nan());
}

/// The logistic function `(1 + tanh(x/2))/2` (the model's own formula) against
/// `1/(1 + e^{−x})` from libm's `exp`, to 3e-16 absolute over [−30, 30]: the formula loses
/// relative accuracy where the value is tiny, as the model's does, but not absolute accuracy.
#[test]
fn logistic_matches_its_definition() {
    for i in 0..=600_000 {
        let x = -30.0 + 60.0 * i as f64 / 600_000.0;
        let exact = 1.0 / (1.0 + (-x).exp());
        let err = (logistic(x) - exact).abs();
        assert!(err < 3e-16, "x = {x}: {err:e}");
    }
}
