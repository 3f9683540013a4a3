//! The figures of a sweep, drawn from its rows (and the loss curves in `curves/`) as plain data.
//! Every error bar is the min–max over seeds and every dot the mean; a "theory" label names a
//! bound or a prediction and sits only on the series it speaks of (smooth hidden activation,
//! identity output: the wide-network theorem's hypotheses).
//!
//! - (a) `λ₀` against width, with the infinite-width `λ_min(K∞)` where the caller supplies one;
//! - (a) `μ̂(r)/λ₀` against width at fixed radii `r`: conditioning over balls of fixed size
//!   becoming uniform as the width grows (the headline figure);
//! - (a) the certified radius and the distance gradient descent travelled against width;
//! - (b) `‖H_F(w₀)‖` against width (log-log, fitted slope);
//! - (c) the relative kernel change at a common stage of training against width;
//! - (d) loss curves of several widths against each certified width's bound;
//! - (e) `λ₀` and the final loss against `p/n`, drawn only when the sweep has `p < n` and
//!   `p ≥ n` points.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    aggregate, measured, read_metrics, save_drawable, step_column, Aggregate, Curve, Figure,
    LineChart, PALETTE, REFERENCE, REFERENCE_2,
};
use crate::error::Result;
use crate::report::fit::power_law;
use crate::report::rows::SweepRow;

/// A series of a sweep: the rows that share everything but the width —
/// `(output activation, hidden activation, depth L, n)`.
pub type SeriesKey = (String, String, usize, usize);

/// The rows of a sweep and their series, in sorted key order.
pub struct SweepSeries<'a> {
    rows: &'a [SweepRow],
    /// The distinct series, sorted.
    pub keys: Vec<SeriesKey>,
}

impl<'a> SweepSeries<'a> {
    /// Groups `rows` into series.
    pub fn new(rows: &'a [SweepRow]) -> Self {
        let mut keys: Vec<SeriesKey> = rows
            .iter()
            .map(|r| {
                (
                    r.output_activation.clone(),
                    r.activation.clone(),
                    r.depth,
                    r.n,
                )
            })
            .collect();
        keys.sort();
        keys.dedup();
        Self { rows, keys }
    }

    /// The rows of series `k`.
    fn series(&self, k: &SeriesKey) -> Vec<&'a SweepRow> {
        self.rows
            .iter()
            .filter(|r| {
                (&r.output_activation, &r.activation, r.depth, r.n) == (&k.0, &k.1, k.2, k.3)
            })
            .collect()
    }
}

/// A ratio for the numbers table: 4 decimals, or 2 significant digits below 0.01.
fn ratio_text(v: f64) -> String {
    if v.abs() < 0.01 {
        format!("{v:.1e}")
    } else {
        format!("{v:.4}")
    }
}

/// The legend text of series `k`.
fn label(k: &SeriesKey) -> String {
    format!("{} / out {} / L = {} / n = {}", k.1, k.0, k.2, k.3)
}

/// Whether the wide-network theorem speaks of series `k`: a smooth hidden activation (ReLU is
/// outside its hypotheses) and an identity output.
fn theorem_series(k: &SeriesKey) -> bool {
    k.0 == "identity" && k.1 != "relu" && k.1 != "identity"
}

/// The panels of a sweep's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Panel {
    /// (a) `μ̂(r)/λ₀` at fixed radii against width.
    MuAtRadius,
    /// (a) The certified radius and the GD distance against width.
    CertifiedRadius,
    /// (a) `λ₀` against width.
    Lambda0,
    /// (a) `‖K(w₀) − K∞‖_F / ‖K∞‖_F` against width.
    InfiniteGap,
    /// (b) `‖H_F(w₀)‖` against width.
    Hessian,
    /// (c) The kernel change against width.
    KernelChange,
    /// (d) Loss curves against their bounds.
    LossCurves,
    /// (g) The gap to the linearized model against width.
    LinearizationGap,
    /// (e) `λ₀` and the final loss against `p/n`.
    POverN,
}

impl Panel {
    /// Every panel, in drawing order.
    pub const ALL: [Panel; 9] = [
        Panel::Lambda0,
        Panel::InfiniteGap,
        Panel::MuAtRadius,
        Panel::CertifiedRadius,
        Panel::Hessian,
        Panel::KernelChange,
        Panel::LossCurves,
        Panel::LinearizationGap,
        Panel::POverN,
    ];
}

/// The figures of `panels` for the sweep whose rows are `rows`, written into `dir` (which holds
/// the loss curves in `curves/`). `limits` maps a series to `λ_min(K∞)`, the infinite-width
/// limit drawn in figure (a), where one is known; `radii` are the sweep's fixed radii. Rows
/// with `p < n` take part in the `p/n` panel only.
pub fn sweep_figures(
    dir: &Path,
    rows: &[SweepRow],
    radii: &[f64],
    panels: &[Panel],
    limits: &BTreeMap<SeriesKey, f64>,
) -> Result<Vec<Figure>> {
    let all = SweepSeries::new(rows);
    let over: Vec<SweepRow> = rows.iter().filter(|r| r.p >= r.n).cloned().collect();
    let sweep = SweepSeries::new(&over);
    let mut figures = vec![];
    for panel in Panel::ALL.into_iter().filter(|p| panels.contains(p)) {
        figures.extend(match panel {
            Panel::Lambda0 => lambda0_vs_width(dir, &sweep, limits)?,
            Panel::InfiniteGap => slope_figure(dir, &sweep, &SLOPE_FIGURES[0])?,
            Panel::MuAtRadius => mu_at_radius_vs_width(dir, &sweep, radii)?,
            Panel::CertifiedRadius => certified_radius_vs_width(dir, &sweep)?,
            Panel::Hessian => slope_figure(dir, &sweep, &SLOPE_FIGURES[1])?,
            Panel::KernelChange => slope_figure(dir, &sweep, &SLOPE_FIGURES[2])?,
            Panel::LossCurves => loss_curves(dir, &sweep)?,
            Panel::LinearizationGap => slope_figure(dir, &sweep, &SLOPE_FIGURES[3])?,
            Panel::POverN => p_over_n(dir, &all)?,
        });
    }
    Ok(figures)
}

/// (a) λ₀ against width, with `λ_min(K∞)` as a dashed line where `limits` has one.
fn lambda0_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    limits: &BTreeMap<SeriesKey, f64>,
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let agg = aggregate(&sweep.series(k), |r| r.width as f64, |r| r.lambda0);
        curves.push(measured(
            format!("λ₀ = λ_min(K(w₀)): {}", label(k)),
            &agg,
            PALETTE[i % 6],
        ));
        if let Some(last) = agg.last() {
            numbers.push((
                format!("λ₀ at width {} ({})", last.0, label(k)),
                format!("{:.4e}", last.1),
            ));
        }
        if let (Some(&limit), Some(first), Some(last)) = (limits.get(k), agg.first(), agg.last()) {
            curves.push(Curve {
                label: format!(
                    "theory (prediction): λ_min(K∞) = {limit:.3e}, the m → ∞ limit of {}",
                    label(k)
                ),
                points: vec![(first.0, limit), (last.0, limit)],
                color: PALETTE[i % 6],
                dashed: true,
                error_bars: vec![],
            });
            numbers.push((format!("λ_min(K∞) ({})", label(k)), format!("{limit:.4e}")));
        }
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) Smallest eigenvalue of the tangent kernel at init vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "λ₀ = λ_min(K(w₀)) (log scale)".into(),
            log_y: true,
            log_x: true,
            curves,
        },
        dir,
        "a_lambda0_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_lambda0_vs_width".into(),
        caption: d.caption("λ₀ = λ_min(K(w₀)) of K = DF DFᵀ (no averaging) against the width m; dots: mean over seeds, bars: min–max. Dashed: λ_min of the infinite-width kernel K∞ of the same depth, activation and biases (the NTK recursion, closed-form dual kernels for ReLU and erf, Gaussian quadrature for the others; identity output only), the limit λ₀ approaches."),
        numbers,
    }))
}

/// (a) `μ̂(r)/λ₀` against width at each fixed radius: uniform conditioning over balls of a fixed
/// size as the width grows.
fn mu_at_radius_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    radii: &[f64],
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let (mut x0, mut x1) = (f64::INFINITY, 0.0f64);
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        for (j, &r) in radii.iter().enumerate() {
            let agg = aggregate(&s, |q| q.width as f64, |q| q.mu_at(r) / q.lambda0);
            let (Some(a), Some(b)) = (agg.first(), agg.last()) else {
                continue;
            };
            (x0, x1) = (x0.min(a.0), x1.max(b.0));
            curves.push(measured(
                format!("r = {r}: {}", label(k)),
                &agg,
                PALETTE[(i * radii.len() + j) % 6],
            ));
            numbers.push((
                format!("μ̂(r = {r})/λ₀, width {} → {} ({})", a.0, b.0, label(k)),
                format!("{} → {}", ratio_text(a.1), ratio_text(b.1)),
            ));
        }
    }
    if sweep.keys.iter().any(theorem_series) && x1 > 0.0 {
        curves.push(Curve {
            label: "theory (prediction): μ̂(r)/λ₀ → 1 as m → ∞ (smooth σ, identity output)".into(),
            points: vec![(x0, 1.0), (x1, 1.0)],
            color: REFERENCE,
            dashed: true,
            error_bars: vec![],
        });
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) Uniform conditioning: μ̂(r)/λ₀ over balls of fixed radius r vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "μ̂(r) / λ₀ = min over B(w₀, r) of λ_min(K) / λ_min(K(w₀))".into(),
            log_y: false,
            log_x: true,
            curves,
        },
        dir,
        "a_mu_at_radius_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_mu_at_radius_vs_width".into(),
        caption: d.caption(format!(
            "μ̂(r) = the smallest λ_min(K) found by a constrained search (projected descent with exact eigenvalue gradients, several starts) over the ball B(w₀, r) of absolute radius r ∈ {radii:?}, divided by λ₀ of the same run, against the width m; dots: mean over seeds, bars: min–max. μ̂(r) ≤ λ₀ by construction (w₀ is in every ball); the ratio rising to 1 is the theorem's uniform conditioning, predicted for a smooth activation and an identity output (a non-linear output is outside the theorem). Rows with p < n have no search and are not drawn."
        )),
        numbers,
    }))
}

/// (a) The certified radius `R_c` and the distance `r_T` gradient descent travelled against
/// width, with the narrowest certified width.
fn certified_radius_vs_width(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        let certified: Vec<&SweepRow> = s.iter().copied().filter(|r| r.certified).collect();
        let rc = aggregate(&certified, |r| r.width as f64, |r| r.certified_radius);
        let rt = aggregate(&s, |r| r.width as f64, |r| r.r_travelled);
        curves.push(measured(
            format!("certified radius R_c: {}", label(k)),
            &rc,
            PALETTE[(2 * i) % 6],
        ));
        curves.push(measured(
            format!("distance travelled r_T = max_t ‖w_t − w₀‖: {}", label(k)),
            &rt,
            PALETTE[(2 * i + 1) % 6],
        ));
        let all_seeds = |m: usize| s.iter().filter(|r| r.width == m).all(|r| r.certified);
        let narrowest = s.iter().map(|r| r.width).filter(|&m| all_seeds(m)).min();
        if let (Some(m), Some(lo), Some(hi)) = (
            narrowest,
            rt.iter().map(|a| a.2).reduce(f64::min),
            rc.iter().map(|a| a.3).reduce(f64::max),
        ) {
            curves.push(Curve {
                label: format!(
                    "narrowest width certified for every seed, m = {m}: {}",
                    label(k)
                ),
                points: vec![(m as f64, lo), (m as f64, hi)],
                color: PALETTE[(2 * i) % 6],
                dashed: true,
                error_bars: vec![],
            });
        }
        numbers.push((
            format!("narrowest width certified for every seed ({})", label(k)),
            narrowest.map_or("none in the sweep".into(), |m| format!("m = {m}")),
        ));
        numbers.push((
            format!("certified runs ({})", label(k)),
            format!("{} of {}", certified.len(), s.len()),
        ));
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) How wide is wide enough: certified radius and GD distance vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "radius ‖w − w₀‖ (log scale)".into(),
            log_y: true,
            log_x: true,
            curves,
        },
        dir,
        "a_certified_radius_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_certified_radius_vs_width".into(),
        caption: d.caption("The certified radius R_c = 2 L̂_F ‖r₀‖ / μ̂ of the smallest searched ball B(w₀, r) with μ̂(r) > 0 and r ≥ R(r) (certified seeds only; widths where no seed certifies have no dot), and the distance gradient descent actually travelled, r_T = max_t ‖w_t − w₀‖ (every seed); dots: mean over seeds, bars: min–max. The theorem promises r_T ≤ R_c wherever it certifies."),
        numbers,
    }))
}

/// A power-law reference through the first point of `agg`: `c m^slope`, dashed.
fn reference_line(agg: &[Aggregate], slope: f64, label: String) -> Option<Curve> {
    let (first, last) = (agg.first()?, agg.last()?);
    let c0 = first.1 / first.0.powf(slope);
    Some(Curve {
        label,
        points: vec![(first.0, first.1), (last.0, c0 * last.0.powf(slope))],
        color: REFERENCE,
        dashed: true,
        error_bars: vec![],
    })
}

/// A series' curve with its fitted log-log slope, and the slope's line for `numbers`.
fn fitted(
    s: &[&SweepRow],
    column: fn(&SweepRow) -> f64,
    name: String,
    color: plotters::style::RGBColor,
) -> (Curve, Option<(f64, f64)>, Vec<Aggregate>) {
    let agg = aggregate(s, |r| r.width as f64, column);
    let xs: Vec<f64> = s.iter().map(|r| r.width as f64).collect();
    let ys: Vec<f64> = s.iter().map(|r| column(r)).collect();
    let fit = power_law(&xs, &ys).map(|f| (f.slope, f.slope_stderr));
    let text = fit.map_or("no fit".to_string(), |(a, e)| {
        format!("fitted slope {a:.3} ± {e:.3}")
    });
    (measured(format!("{name} ({text})"), &agg, color), fit, agg)
}

/// A log-log figure of one row column against width: each series with its fitted slope, and
/// dashed reference power laws through the first point of the first series they apply to.
struct SlopeFigure {
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
const SLOPE_FIGURES: [SlopeFigure; 4] = [
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
            (-0.5, "theory (upper bound, THEORY.md): ∝ m^(−1/2)"),
            (-1.0, "theory (prediction, Dyer & Gur-Ari 2019): ∝ 1/m"),
        ],
        reference_on: theorem_series,
    },
    SlopeFigure {
        stem: "g_linearization_gap_vs_width",
        title: "(g) Distance to the linearized model along gradient descent vs width",
        y_label: "max_t ‖F(w_t) − F_lin,t‖ / ‖r₀‖ (log scale)",
        caption: "The largest distance, over the run, between the network's outputs and those of its linearization at w₀ trained by the same gradient descent, F_lin,t = y + (I − ηK₀)^t r₀ (in closed form from K₀'s eigendecomposition), relative to ‖r₀‖, against width, log-log, with the least-squares slope; dots: mean over seeds, bars: min–max. Dashed: the O(m^(−1/2)) bound for NTK parameterization (Lee et al. 2019, Theorem 2.1: the deviation is at most of that order), through the first point; a faster fall is within it. Each run trains at its own step size (the theorem's η*).",
        column: |r| r.linearization_gap_max,
        theory: |k| theorem_series(k).then_some("(theory: −0.5 an upper bound)"),
        references: &[(-0.5, "theory (upper bound, Lee et al. 2019): ∝ m^(−1/2)")],
        reference_on: theorem_series,
    },
];

/// One [`SlopeFigure`] over every series that has its column.
fn slope_figure(dir: &Path, sweep: &SweepSeries<'_>, spec: &SlopeFigure) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let mut references = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        if s.iter().all(|r| (spec.column)(r).is_nan()) {
            continue;
        }
        let (curve, fit, agg) = fitted(&s, spec.column, label(k), PALETTE[i % 6]);
        curves.push(curve);
        if let Some((a, e)) = fit {
            let theory = (spec.theory)(k).unwrap_or("(no prediction)");
            numbers.push((
                format!("fitted slope ({})", label(k)),
                format!("{a:.3} ± {e:.3} {theory}"),
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
            log_y: true,
            log_x: true,
            curves,
        },
        dir,
        spec.stem,
    )?;
    Ok(drawn.map(|d| Figure {
        stem: spec.stem.into(),
        caption: d.caption(spec.caption),
        numbers,
    }))
}

/// (d) Loss curves of the first series (seed of its first row) against each certified run's
/// bound.
fn loss_curves(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let Some(k) = sweep.keys.first() else {
        return Ok(None);
    };
    let s = sweep.series(k);
    let seed = s[0].seed;
    let mut curves = vec![];
    for (i, r) in s.iter().filter(|r| r.seed == seed).enumerate() {
        let path = dir
            .join("curves")
            .join(format!("point{}_seed{}.csv", r.point, r.seed));
        let Ok(m) = read_metrics(&path) else { continue };
        let col = |name: &str| step_column(&m, name);
        curves.push(Curve {
            label: format!("m = {}: L(w_t), η = {:.3e}", r.width, r.eta),
            points: col("loss"),
            color: PALETTE[i % 6],
            dashed: false,
            error_bars: vec![],
        });
        let bound = col("loss_bound");
        if !bound.is_empty() {
            curves.push(Curve {
                label: format!(
                    "m = {}: theory (bound, certified): (1 − ημ̂)^t L(w₀)",
                    r.width
                ),
                points: bound,
                color: PALETTE[i % 6],
                dashed: true,
                error_bars: vec![],
            });
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    let drawn = save_drawable(
        &LineChart {
            title: format!("(d) Loss curves against the PL* bound ({})", label(k)),
            x_label: "step t".into(),
            y_label: "L(w_t) = ½‖F − y‖² (log scale)".into(),
            log_y: true,
            log_x: false,
            curves,
        },
        dir,
        "d_loss_curves",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "d_loss_curves".into(),
        caption: d.caption(format!("Gradient-descent loss curves (seed {seed}) for each width (solid), and for every width whose card certified a ball, the theorem's bound (1 − η μ̂)^t L(w₀) with that run's certified μ̂ (dashed, same colour). Widths without a certificate have no bound: the theorem promises nothing there.")),
        numbers: vec![],
    }))
}

/// (e) λ₀ and the final loss against p/n, drawn when the sweep has both `p < n` and `p ≥ n`.
fn p_over_n(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let under = sweep.rows.iter().any(|r| r.p < r.n);
    let over = sweep.rows.iter().any(|r| r.p >= r.n);
    if !(under && over) {
        return Ok(None);
    }
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        let ratio = |r: &SweepRow| r.p as f64 / r.n as f64;
        let lam = aggregate(&s, ratio, |r| r.lambda0.abs().max(1e-18));
        let loss = aggregate(&s, ratio, |r| r.final_loss.max(1e-18));
        curves.push(measured(
            format!("abs(λ₀) ({})", label(k)),
            &lam,
            PALETTE[(2 * i) % 6],
        ));
        curves.push(measured(
            format!("final loss ({})", label(k)),
            &loss,
            PALETTE[(2 * i + 1) % 6],
        ));
        let max_under = s
            .iter()
            .filter(|r| r.p < r.n)
            .map(|r| r.lambda0.abs())
            .fold(0.0, f64::max);
        let min_over = s
            .iter()
            .filter(|r| r.p >= r.n)
            .map(|r| r.lambda0)
            .fold(f64::INFINITY, f64::min);
        numbers.push((
            format!("max abs(λ₀) with p < n ({})", label(k)),
            format!("{max_under:.3e} (theory: 0, rank K ≤ p < n)"),
        ));
        numbers.push((
            format!("min λ₀ with p ≥ n ({})", label(k)),
            format!("{min_over:.3e} (theory: > 0 generically)"),
        ));
    }
    curves.push(Curve {
        label: "p = n".into(),
        points: vec![(1.0, 1e-18), (1.0, 1e3)],
        color: REFERENCE,
        dashed: true,
        error_bars: vec![],
    });
    let drawn = save_drawable(
        &LineChart {
            title: "(e) Under- vs over-parameterized: λ_min(K(w₀)) and final loss against p/n"
                .into(),
            x_label: "p / n (log scale)".into(),
            y_label: "abs(λ₀) and final L (log scale; 1e-18 = zero)".into(),
            log_y: true,
            log_x: true,
            curves,
        },
        dir,
        "e_p_over_n",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "e_p_over_n".into(),
        caption: d.caption("The absolute value of λ_min(K(w₀)) and the final training loss against p/n; dots: mean over seeds, bars: min–max. rank K ≤ min(n, p), so λ₀ is zero (round-off) for p < n and positive for p ≥ n; the loss reaches the target only in the second case. Values below 1e-18 are drawn at 1e-18."),
        numbers,
    }))
}
