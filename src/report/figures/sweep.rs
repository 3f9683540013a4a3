//! The figures of a sweep, drawn from its rows (and the loss curves in `curves/`) as plain data:
//! (a) λ₀ and μ̂/λ₀ against width, with the infinite-width λ_min where the caller supplies one;
//! (b) ‖H_F(w₀)‖ against width (log-log, fitted slope, −½ reference);
//! (c) the relative kernel change after training against width (log-log, fitted slope);
//! (d) loss curves of several widths against each width's bound (seed of the first row);
//! (e) λ_min(K(w₀)) and the final loss against p/n. Error bars: min–max over seeds.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::style::RGBColor;

use super::{
    aggregate, measured, read_metrics, save_if_drawable, step_column, Curve, Figure, LineChart,
    PALETTE,
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

/// The legend text of series `k`.
fn label(k: &SeriesKey) -> String {
    format!("{} / out {} / L = {} / n = {}", k.1, k.0, k.2, k.3)
}

/// Every figure of the sweep whose rows are `rows`, written into `dir` (which holds the loss
/// curves in `curves/`). `limits` maps a series to `λ_min(K∞)`, the infinite-width limit drawn
/// in figure (a), where one is known.
pub fn sweep_figures(
    dir: &Path,
    rows: &[SweepRow],
    limits: &BTreeMap<SeriesKey, f64>,
) -> Result<Vec<Figure>> {
    let sweep = SweepSeries::new(rows);
    let mut figures = vec![];
    figures.extend(lambda0_vs_width(dir, &sweep, limits)?);
    figures.extend(mu_ratio_vs_width(dir, &sweep)?);
    for spec in &POWER_LAWS {
        figures.extend(power_law_vs_width(dir, &sweep, spec)?);
    }
    figures.extend(loss_curves(dir, &sweep)?);
    figures.extend(p_over_n(dir, &sweep)?);
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
        let s = sweep.series(k);
        let agg = aggregate(&s, |r| r.width as f64, |r| r.lambda0);
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
        if let Some(&lambda_min) = limits.get(k) {
            let (x0, x1) = (
                agg.first().map_or(1.0, |a| a.0),
                agg.last().map_or(2.0, |a| a.0),
            );
            curves.push(Curve {
                label: format!("λ_min(K∞) = {lambda_min:.3e} (infinite width, closed form)"),
                points: vec![(x0, lambda_min), (x1, lambda_min)],
                color: PALETTE[i % 6],
                dashed: true,
                error_bars: vec![],
            });
            numbers.push((
                format!("λ_min(K∞) ({})", label(k)),
                format!("{lambda_min:.4e}"),
            ));
        }
    }
    let drawn = save_if_drawable(
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
    Ok(drawn.then(|| Figure {
        stem: "a_lambda0_vs_width".into(),
        caption: "λ₀ = λ_min(K(w₀)) of K = DF DFᵀ (no averaging) against the width m, mean over seeds with min–max bars; dashed: λ_min of the closed-form infinite-width kernel (one hidden layer, erf/ReLU, no bias), the limit λ₀ approaches.".into(),
        numbers,
    }))
}

/// (a) μ̂/λ₀ against width, from the trajectory and from the probes of the ball.
fn mu_ratio_vs_width(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        let agg = aggregate(&s, |r| r.width as f64, |r| r.mu_trajectory / r.lambda0);
        curves.push(measured(
            format!("μ̂ (trajectory) / λ₀: {}", label(k)),
            &agg,
            PALETTE[i % 6],
        ));
        let probes = aggregate(&s, |r| r.width as f64, |r| r.mu_probes / r.lambda0);
        if !probes.is_empty() {
            let mut c = measured(
                format!("μ̂ (ball probes) / λ₀: {}", label(k)),
                &probes,
                PALETTE[(i + 3) % 6],
            );
            c.dashed = false;
            curves.push(c);
        }
        if let (Some(a), Some(b)) = (agg.first(), agg.last()) {
            numbers.push((
                format!("μ̂/λ₀ (trajectory), width {} → {} ({})", a.0, b.0, label(k)),
                format!("{:.4} → {:.4} (theory: → 1)", a.1, b.1),
            ));
        }
        if let (Some(a), Some(b)) = (probes.first(), probes.last()) {
            numbers.push((
                format!("μ̂/λ₀ (probes), width {} → {} ({})", a.0, b.0, label(k)),
                format!("{:.4} → {:.4}", a.1, b.1),
            ));
        }
    }
    let drawn = save_if_drawable(
        &LineChart {
            title: "(a) μ̂ / λ₀ against width: uniform conditioning as m grows".into(),
            x_label: "width m (log scale)".into(),
            y_label: "μ̂ / λ₀".into(),
            log_y: false,
            log_x: true,
            curves,
        },
        dir,
        "a_mu_ratio_vs_width",
    )?;
    Ok(drawn.then(|| Figure {
        stem: "a_mu_ratio_vs_width".into(),
        caption: "μ̂/λ₀ against width: μ̂ is the smallest λ_min(K) measured along the GD trajectory (solid) and over probes of the ball B(w₀, R) (second colour); the theory predicts μ̂/λ₀ → 1 as m grows.".into(),
        numbers,
    }))
}

/// A log-log figure of one row column against width, with a fitted slope and a reference.
struct PowerLawFigure {
    stem: &'static str,
    title: &'static str,
    y_label: &'static str,
    column: fn(&SweepRow) -> f64,
    reference: f64,
    caption: &'static str,
}

/// (b) and (c).
const POWER_LAWS: [PowerLawFigure; 2] = [
    PowerLawFigure {
        stem: "b_hessian_vs_width",
        title: "(b) Hessian norm ‖H_F(w₀)‖ against width",
        y_label: "‖H_F(w₀)‖ (log scale)",
        column: |r| r.hessian_norm0,
        reference: -0.5,
        caption: "‖H_F(w₀)‖ = sup over unit z, u of |uᵀ(Σ_k z_k H_{F_k})u| against width, log-log, with the least-squares slope; dashed: slope −½, the theory's rate for a linear output (≈ 0 for a non-linear output layer).",
    },
    PowerLawFigure {
        stem: "c_kernel_change_vs_width",
        title: "(c) Relative kernel change after training against width",
        y_label: "‖K(w_T) − K(w₀)‖_F / ‖K(w₀)‖_F (log scale)",
        column: |r| r.kernel_change,
        reference: -0.5,
        caption: "Relative change of the tangent kernel between w₀ and the end of GD, log-log, with the least-squares slope; dashed: slope −½, the theory's rate.",
    },
];

/// One [`PowerLawFigure`] over every series.
fn power_law_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    spec: &PowerLawFigure,
) -> Result<Option<Figure>> {
    let reference = spec.reference;
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        let agg = aggregate(&s, |r| r.width as f64, spec.column);
        let xs: Vec<f64> = s.iter().map(|r| r.width as f64).collect();
        let ys: Vec<f64> = s.iter().map(|r| (spec.column)(r)).collect();
        let fit = power_law(&xs, &ys);
        let fit_text = fit.map_or("no fit".to_string(), |f| {
            format!("slope {:.3} ± {:.3}", f.slope, f.slope_stderr)
        });
        curves.push(measured(
            format!("{} ({fit_text})", label(k)),
            &agg,
            PALETTE[i % 6],
        ));
        if let (Some(f), Some(first), Some(last)) = (fit, agg.first(), agg.last()) {
            let c0 = first.1 / first.0.powf(reference);
            curves.push(Curve {
                label: format!("reference slope {reference}"),
                points: vec![(first.0, first.1), (last.0, c0 * last.0.powf(reference))],
                color: PALETTE[i % 6],
                dashed: true,
                error_bars: vec![],
            });
            numbers.push((
                format!("fitted slope ({})", label(k)),
                format!(
                    "{:.3} ± {:.3} (theory: {} for a linear output)",
                    f.slope, f.slope_stderr, reference
                ),
            ));
        }
    }
    let drawn = save_if_drawable(
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
    Ok(drawn.then(|| Figure {
        stem: spec.stem.into(),
        caption: spec.caption.into(),
        numbers,
    }))
}

/// (d) Loss curves against their bounds: the first series, the seed of its first row.
fn loss_curves(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let Some(k) = sweep.keys.first() else {
        return Ok(None);
    };
    {
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
                label: format!("m = {}: L(w_t)", r.width),
                points: col("loss"),
                color: PALETTE[i % 6],
                dashed: false,
                error_bars: vec![],
            });
            let bound = col("loss_bound");
            if !bound.is_empty() {
                curves.push(Curve {
                    label: format!("m = {}: bound (1 − ημ̂)^t L(w₀)", r.width),
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
        {
            let drawn = save_if_drawable(
                &LineChart {
                    title: "(d) Loss curves against each width's PL* bound".into(),
                    x_label: "step t".into(),
                    y_label: "L(w_t) = ½‖F − y‖² (log scale)".into(),
                    log_y: true,
                    log_x: false,
                    curves,
                },
                dir,
                "d_loss_curves",
            )?;
            Ok(drawn.then(|| Figure {
                stem: "d_loss_curves".into(),
                caption: format!("GD loss curves (seed {seed}) for each width (solid) against the theorem's bound (1 − η μ̂)^t L(w₀) with that run's μ̂ from the probes (dashed)."),
                numbers: vec![],
            }))
        }
    }
}

/// (e) λ₀ and the final loss against p/n.
fn p_over_n(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in sweep.keys.iter().enumerate() {
        let s = sweep.series(k);
        let lam = aggregate(
            &s,
            |r| r.p as f64 / r.n as f64,
            |r| r.lambda0.abs().max(1e-18),
        );
        let loss = aggregate(&s, |r| r.p as f64 / r.n as f64, |r| r.final_loss.max(1e-18));
        curves.push(measured(
            format!("abs(λ₀) ({})", label(k)),
            &lam,
            PALETTE[i % 6],
        ));
        let mut c = measured(
            format!("final loss ({})", label(k)),
            &loss,
            PALETTE[(i + 3) % 6],
        );
        c.dashed = false;
        curves.push(c);
        let under: Vec<f64> = s
            .iter()
            .filter(|r| r.p < r.n)
            .map(|r| r.lambda0.abs())
            .collect();
        let over: Vec<f64> = s.iter().filter(|r| r.p >= r.n).map(|r| r.lambda0).collect();
        if !under.is_empty() && !over.is_empty() {
            numbers.push((
                format!("max abs(λ₀) with p < n ({})", label(k)),
                format!(
                    "{:.3e} (theory: 0)",
                    under.iter().copied().fold(0.0, f64::max)
                ),
            ));
            numbers.push((
                format!("min λ₀ with p ≥ n ({})", label(k)),
                format!(
                    "{:.3e} (theory: > 0)",
                    over.iter().copied().fold(f64::INFINITY, f64::min)
                ),
            ));
        }
    }
    let x_cross = vec![(1.0, 1e-18), (1.0, 1e3)];
    curves.push(Curve {
        label: "p = n".into(),
        points: x_cross,
        color: RGBColor(0, 0, 0),
        dashed: true,
        error_bars: vec![],
    });
    let drawn = save_if_drawable(
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
    Ok(drawn.then(|| Figure {
        stem: "e_p_over_n".into(),
        caption: "The absolute value of λ_min(K(w₀)) and the final training loss against p/n: rank K ≤ min(n, p), so λ₀ is zero (round-off) for p < n and positive for p ≥ n; the loss reaches the target only in the second case. Values below 1e-18 are drawn at 1e-18.".into(),
        numbers,
    }))
}
