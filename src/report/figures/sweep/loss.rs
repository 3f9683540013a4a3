//! The loss figures: (d) loss curves against the PL* bound, (e) `λ₀` and the final loss
//! against `p/n`.

use std::path::Path;

use super::{label, target_line, Styles, SweepSeries};
use crate::error::Result;
use crate::report::figures::{
    aggregate, read_metrics, save_drawable, step_column, tick_label, Curve, Figure, LineChart,
    Marker, Scale, Shape, PALETTE, REFERENCE,
};
use crate::report::rows::SweepRow;

/// (d) Loss curves of the first series (seed of its first row) against each certified run's
/// bound, with the target loss. The title names the bound only when one is drawn.
pub(super) fn loss_curves(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    target: Option<f64>,
) -> Result<Option<Figure>> {
    let Some(k) = sweep.keys.first() else {
        return Ok(None);
    };
    let s = sweep.series(k);
    let seed = s[0].seed;
    let mut curves = vec![];
    let mut bounds = vec![];
    let mut last_step = 0.0f64;
    for (i, r) in s.iter().filter(|r| r.seed == seed).enumerate() {
        let path = dir
            .join("curves")
            .join(format!("point{}_seed{}.csv", r.point, r.seed));
        let Ok(m) = read_metrics(&path) else { continue };
        let col = |name: &str| step_column(&m, name);
        let color = PALETTE[i % PALETTE.len()];
        let loss = col("loss");
        last_step = loss.iter().map(|p| p.0).fold(last_step, f64::max);
        curves.push(Curve {
            marker: Marker::Filled(Shape::ALL[i % Shape::ALL.len()]),
            ..Curve::measured(
                format!("m = {}: L(w_t), η = {:.3e}", r.width, r.eta),
                loss,
                color,
            )
        });
        let bound = col("loss_bound");
        if !bound.is_empty() {
            curves.push(Curve::reference(
                format!(
                    "m = {}: theory (bound, certified): (1 − ημ̂)^t L(w₀)",
                    r.width
                ),
                bound,
                color,
            ));
            bounds.push(curves.len() - 1);
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    if let Some(t) = target {
        curves.push(target_line(t, 0.0, last_step.max(1.0)));
    }
    let mut chart = LineChart {
        title: String::new(),
        x_label: "step t".into(),
        y_label: "L(w_t) = ½‖F − y‖² (log scale)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        curves,
    };
    let drawn = chart.drawn();
    let any_bound = bounds.iter().any(|&i| drawn[i]);
    chart.title = if any_bound {
        format!("(d) Loss curves against the PL* bound ({})", label(k))
    } else {
        format!("(d) Loss curves ({})", label(k))
    };
    let drawn = save_drawable(&chart, dir, "d_loss_curves")?;
    let bound_text = if any_bound {
        ", and for every width whose card certified a ball, the theorem's bound (1 − η μ̂)^t L(w₀) with that run's certified μ̂ (dashed, same colour). Widths without a certificate have no bound: the theorem promises nothing there."
    } else {
        ". No width's card certified a ball, so no bound is drawn: the theorem promises nothing there."
    };
    let target_text = target.map_or(String::new(), |t| {
        format!(
            " Grey dashed: the target loss {}, where training stops.",
            tick_label(t)
        )
    });
    Ok(drawn.map(|d| Figure {
        stem: "d_loss_curves".into(),
        caption: d.caption(format!("Gradient-descent loss curves (seed {seed}) for each width (solid, a mark shape per width){bound_text}{target_text}")),
        numbers: vec![],
    }))
}

/// (e) λ₀ and the final loss against p/n, drawn when the sweep has both `p < n` and `p ≥ n`,
/// with the target loss (the final loss of a run that reaches it sits just below it).
pub(super) fn p_over_n(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    target: Option<f64>,
) -> Result<Option<Figure>> {
    let under = sweep.rows.iter().any(|r| r.p < r.equations());
    let over = sweep.rows.iter().any(|r| r.p >= r.equations());
    if !(under && over) {
        return Ok(None);
    }
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    let (mut x0, mut x1) = (f64::INFINITY, 0.0f64);
    for k in &sweep.keys {
        let s = sweep.series(k);
        let ratio = |r: &SweepRow| r.p as f64 / r.equations() as f64;
        let lam = aggregate(&s, ratio, |r| r.lambda0.abs().max(1e-18));
        let loss = aggregate(&s, ratio, |r| r.final_loss.max(1e-18));
        for a in lam.iter().chain(&loss) {
            (x0, x1) = (x0.min(a.0), x1.max(a.0));
        }
        curves.push(styles.curve(format!("abs(λ₀) ({})", label(k)), &lam, k, 0, 2));
        curves.push(styles.curve(format!("final loss ({})", label(k)), &loss, k, 1, 2));
        let max_under = s
            .iter()
            .filter(|r| r.p < r.equations())
            .map(|r| r.lambda0.abs())
            .fold(0.0, f64::max);
        let min_over = s
            .iter()
            .filter(|r| r.p >= r.equations())
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
    curves.push(Curve::reference(
        "p = n",
        vec![(1.0, 1e-18), (1.0, 1e3)],
        REFERENCE,
    ));
    if let (Some(t), true) = (target, x1 > 0.0) {
        curves.push(target_line(t, x0, x1));
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(e) Under- vs over-parameterized: λ_min(K(w₀)) and final loss against p/n"
                .into(),
            x_label: "p / n (log scale)".into(),
            y_label: "abs(λ₀) and final L (log scale; 1e-18 = zero)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        "e_p_over_n",
    )?;
    let target_text = target.map_or(String::new(), |t| {
        format!(" Grey dashed: the target loss {}; training stops once the loss is at or below it, so a final loss just under it is success, not a plateau.", tick_label(t))
    });
    Ok(drawn.map(|d| Figure {
        stem: "e_p_over_n".into(),
        caption: d.caption(format!("The absolute value of λ_min(K(w₀)) (circles) and the final training loss (squares) against p/n; marks: mean over seeds, bars: min–max. rank K ≤ min(n, p), so λ₀ is zero (round-off) for p < n and positive for p ≥ n; the loss reaches the target only in the second case. Values below 1e-18 are drawn at 1e-18.{target_text}{}", styles.caption())),
        numbers,
    }))
}
