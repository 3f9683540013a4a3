//! The log-log figures of one row column against width, each series with its fitted slope
//! and the theory's power laws: (a) `K(w₀)` against `K∞`, (b) `‖H_F(w₀)‖`, (c) the kernel
//! change, (g) the gap to the linearized model.

use std::path::Path;

use super::{label, theorem_series, SeriesKey, Styles, SweepSeries};
use crate::error::Result;
use crate::report::figures::{
    aggregate, save_drawable, Aggregate, Curve, Figure, LineChart, Scale, REFERENCE, REFERENCE_2,
};
use crate::report::fit::power_law;
use crate::report::rows::SweepRow;

/// A power-law reference through the first point of `agg`: `c m^slope`, dashed.
fn reference_line(agg: &[Aggregate], slope: f64, label: String) -> Option<Curve> {
    let (first, last) = (agg.first()?, agg.last()?);
    let c0 = first.1 / first.0.powf(slope);
    Some(Curve::reference(
        label,
        vec![(first.0, first.1), (last.0, c0 * last.0.powf(slope))],
        REFERENCE,
    ))
}

/// Series `k`'s curve with its fitted log-log slope, and the slope's line for `numbers`.
fn fitted(
    s: &[&SweepRow],
    column: fn(&SweepRow) -> f64,
    k: &SeriesKey,
    styles: &Styles,
) -> (Curve, Option<(f64, f64)>, Vec<Aggregate>) {
    let name = label(k);
    let agg = aggregate(s, |r| r.width as f64, column);
    let xs: Vec<f64> = s.iter().map(|r| r.width as f64).collect();
    let ys: Vec<f64> = s.iter().map(|r| column(r)).collect();
    let fit = power_law(&xs, &ys).map(|f| (f.slope, f.slope_stderr));
    let text = fit.map_or("no fit".to_string(), |(a, e)| {
        format!("fitted slope {}", slope_text(a, e))
    });
    (
        styles.curve(format!("{name} ({text})"), &agg, k, 0, 1),
        fit,
        agg,
    )
}

/// A log-log figure of one row column against width: each series with its fitted slope, and
/// dashed reference power laws through the first point of the first series they apply to.
pub(super) struct SlopeFigure {
    stem: &'static str,
    title: &'static str,
    y_label: &'static str,
    caption: &'static str,
    column: fn(&SweepRow) -> f64,
    /// What the theory says of the slope of series `k` (for the numbers), if anything.
    theory: fn(&SeriesKey) -> Option<&'static str>,
    /// `(slope, legend label)` of each reference line.
    references: &'static [(f64, &'static str)],
    /// The series the references are drawn through.
    reference_on: fn(&SeriesKey) -> bool,
}

/// (a) `K(w₀)` against `K∞`; (b) `‖H_F(w₀)‖`; (c) the kernel change; (g) the gap to the
/// linearized model.
pub(super) const SLOPE_FIGURES: [SlopeFigure; 4] = [
    SlopeFigure {
        stem: "a_kernel_infinite_gap_vs_width",
        title: "(a) The tangent kernel at init against its infinite-width limit",
        y_label: "‖K(w₀) − K∞‖_F / ‖K∞‖_F (log scale)",
        caption: "The relative Frobenius distance between the empirical tangent kernel at w₀ and the infinite-width kernel K∞ of the same architecture (the NTK recursion; identity output only), against width, log-log, with the least-squares slope; dots: mean over seeds, bars: min–max. Dashed: the m^(−1/2) rate of a mean of m independent neuron terms, through the first point.",
        column: |r| r.kernel_infinite_gap,
        theory: |_| Some("(theory, prediction: −0.5)"),
        references: &[(-0.5, "theory (prediction): ∝ m^(−1/2), a mean of m independent neuron terms")],
        reference_on: |_| true,
    },
    SlopeFigure {
        stem: "b_hessian_vs_width",
        title: "(b) Hessian norm ‖H_F(w₀)‖ against width",
        y_label: "‖H_F(w₀)‖ (log scale)",
        caption: "‖H_F(w₀)‖ = sup over unit z, u of |uᵀ(Σ_k z_k H_{F_k})u| (alternating maximization: a lower bound) against width, log-log, with the least-squares slope over every seed; dots: mean, bars: min–max. Dashed: the m^(−1/2) prediction of the linearity paper for a smooth activation and a linear output; a non-linear output layer keeps ‖H_F‖ of order 1.",
        column: |r| r.hessian_norm0,
        theory: |k| theorem_series(k).then_some("(theory, prediction: −0.5)"),
        references: &[(-0.5, "theory (prediction, smooth σ, identity output): ∝ m^(−1/2)")],
        reference_on: theorem_series,
    },
    SlopeFigure {
        stem: "c_kernel_change_vs_width",
        title: "(c) Relative kernel change at a common stage of training vs width",
        y_label: "‖K(w_t) − K(w₀)‖_F / ‖K(w₀)‖_F (log scale)",
        caption: "Relative change of the tangent kernel between w₀ and the first step t where L(w_t) ≤ stage · L(w₀) (the same stage for every width; runs that never get there are left out), log-log, with the least-squares slope; dots: mean, bars: min–max. Dashed: the m^(−1/2) upper bound of THEORY.md (‖H_F‖ R) and the 1/m prediction for NTK parameterization (Dyer & Gur-Ari 2019), both through the first point.",
        column: |r| r.kernel_change,
        theory: |k| theorem_series(k).then_some("(theory: −1 predicted, −0.5 an upper bound)"),
        references: &[
            (-0.5, "theory (upper bound, THEORY.md; smooth σ, identity output): ∝ m^(−1/2)"),
            (-1.0, "theory (prediction, Dyer & Gur-Ari 2019; smooth σ, identity output): ∝ 1/m"),
        ],
        reference_on: theorem_series,
    },
    SlopeFigure {
        stem: "g_linearization_gap_vs_width",
        title: "(g) Distance to the linearized model along gradient descent vs width",
        y_label: "max_t ‖F(w_t) − F_{lin,t}‖ / ‖r₀‖ (log scale)",
        caption: "The largest distance, over the run, between the network's outputs and those of its linearization at w₀ trained by the same gradient descent, F_lin,t = y + (I − ηK₀)^t r₀ (in closed form from K₀'s eigendecomposition), relative to ‖r₀‖, against width, log-log, with the least-squares slope; dots: mean over seeds, bars: min–max. Dashed: the O(m^(−1/2)) bound for NTK parameterization (Lee et al. 2019, Theorem 2.1: the deviation is at most of that order), through the first point; a faster fall is within it. Each run trains at its own step size (the theorem's η*).",
        column: |r| r.linearization_gap_max,
        theory: |k| theorem_series(k).then_some("(theory: −0.5 an upper bound)"),
        references: &[(-0.5, "theory (upper bound, Lee et al. 2019; smooth σ, identity output): ∝ m^(−1/2)")],
        reference_on: theorem_series,
    },
];

/// One [`SlopeFigure`] over every series that has its column.
pub(super) fn slope_figure(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    spec: &SlopeFigure,
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let mut references = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        if s.iter().all(|r| (spec.column)(r).is_nan()) {
            continue;
        }
        let (curve, fit, agg) = fitted(&s, spec.column, k, &styles);
        curves.push(curve);
        if let Some((a, e)) = fit {
            let theory = (spec.theory)(k).unwrap_or("(no prediction)");
            numbers.push((
                format!("fitted slope ({})", label(k)),
                format!("{} {theory}", slope_text(a, e)),
            ));
        }
        if (spec.reference_on)(k) && references.is_empty() {
            for (j, &(slope, text)) in spec.references.iter().enumerate() {
                references.extend(reference_line(&agg, slope, text.into()).map(|mut c| {
                    c.color = [REFERENCE, REFERENCE_2][j % 2];
                    c
                }));
            }
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    curves.extend(references);
    let drawn = save_drawable(
        &LineChart {
            title: spec.title.into(),
            x_label: "width m (log scale)".into(),
            y_label: spec.y_label.into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        spec.stem,
    )?;
    Ok(drawn.map(|d| Figure {
        stem: spec.stem.into(),
        caption: d.caption(format!("{}{}", spec.caption, styles.caption())),
        numbers,
    }))
}

/// A fitted slope and its standard error, or why it has none (fewer than 3 points: the fit
/// has no residual degree of freedom).
fn slope_text(slope: f64, stderr: f64) -> String {
    if stderr.is_finite() {
        format!("{slope:.3} ± {stderr:.3}")
    } else {
        format!("{slope:.3} (no standard error: fewer than 3 points)")
    }
}
