//! The figure of `plstar bench --scaling` (issue 22): the tangent kernel's time against the
//! number of samples `n`, log-log, for the dense kernel and one matrix-free product, with
//! reference slopes `n²` (forming `K`: `n² Σ m` flops) and `n·p` (one product `K v`).

use super::{Curve, LineChart, Scale, PALETTE, REFERENCE, REFERENCE_2};

/// The chart from measured points: `dense` as `(n, seconds to form K, seconds of its
/// extremes)` and `operator` as `(n, seconds of one product)`, each ascending in `n`. Each
/// reference slope passes through its series' largest `n` and is labelled as a reference,
/// not a prediction.
pub fn scaling_chart(dense: &[(f64, f64, f64)], operator: &[(f64, f64)]) -> LineChart {
    let mut curves = vec![
        Curve::measured(
            "dense: K formed (warm, best of N)",
            dense.iter().map(|&(n, t, _)| (n, t)).collect(),
            PALETTE[0],
        ),
        Curve::measured(
            "dense: λ_min, λ_max of the formed K",
            dense.iter().map(|&(n, _, t)| (n, t)).collect(),
            PALETTE[1],
        ),
        Curve::measured(
            "operator: one product K v (warm, best of N)",
            operator.to_vec(),
            PALETTE[2],
        ),
    ];
    if let Some(&(n1, t1, _)) = dense.last() {
        curves.push(Curve::reference(
            "reference slope ∝ n² (through the largest dense n)",
            vec![(n1 / 16.0, t1 / 256.0), (n1 * 4.0, t1 * 16.0)],
            REFERENCE,
        ));
    }
    if let Some(&(n1, t1)) = operator.last() {
        curves.push(Curve::reference(
            "reference slope ∝ n·p, p fixed (through the largest operator n)",
            vec![(n1 / 64.0, t1 / 64.0), (n1, t1)],
            REFERENCE_2,
        ));
    }
    LineChart {
        title: "Tangent kernel time against n (f32, ReLU, d = 32, L = 2, m = 1024)".into(),
        x_label: "samples n (log scale)".into(),
        y_label: "seconds (log scale)".into(),
        x_scale: Scale::Log,
        y_scale: Scale::Log,
        curves,
    }
}
