//! One definition per activation: the device forms (`Activation::apply`, `Activation::derivative`,
//! Burn tensor operations) mirror the host closed forms of `plstar::model::elementwise`.

use plstar::model::elementwise::evaluate;
use plstar::model::{download, upload, Activation};

use crate::F64;

/// On a grid over [−12, 12] (both tails, the kink of ReLU excluded) the device `σ` and `σ'` of
/// every activation equal the host's `(σ, σ')` in f64 to 4e-15 relative to `max(1, |value|)`:
/// the two are the same formulas (tanh by the host's own branch-free series versus libm's,
/// GELU and erf through different erf implementations), so they differ by round-off only.
#[test]
fn device_activation_and_derivative_equal_the_host_closed_forms() {
    let device = Default::default();
    let grid: Vec<f64> = (0..=2400).map(|i| -12.0 + 0.01 * i as f64 + 1e-3).collect();
    let z = upload::<F64, 1>(&grid, [grid.len()], &device);
    for act in Activation::ALL {
        let value = download(act.apply(z.clone()));
        let slope = download(act.derivative(z.clone()));
        for ((t, v), s) in grid.iter().zip(&value).zip(&slope) {
            let (hv, hs, _) = evaluate(act, *t);
            let tol = 4e-15;
            assert!(
                (v - hv).abs() <= tol * hv.abs().max(1.0),
                "{act} σ({t}): device {v} vs host {hv}"
            );
            assert!(
                (s - hs).abs() <= tol * hs.abs().max(1.0),
                "{act} σ'({t}): device {s} vs host {hs}"
            );
        }
    }
}

/// The host `σ''` is the derivative of the host `σ'`: a central difference of `σ'` with step
/// 1e-5 agrees to 1e-8 (truncation `O(h²)` plus round-off `O(ε/h)`) for every smooth activation.
#[test]
fn host_second_derivative_is_the_derivative_of_the_first() {
    let h = 1e-5;
    for act in Activation::ALL.into_iter().filter(|a| a.is_smooth()) {
        for i in 0..=400 {
            let t = -6.0 + 0.03 * i as f64 + 1e-3;
            let fd = (evaluate(act, t + h).1 - evaluate(act, t - h).1) / (2.0 * h);
            let exact = evaluate(act, t).2;
            assert!(
                (fd - exact).abs() <= 1e-8,
                "{act} σ''({t}): {exact} vs central difference {fd}"
            );
        }
    }
}
