//! The proved certificate's figures (issue 21): the theorem's ball against the path gradient
//! descent takes, the narrowest width certified by proof and by search against `n`, and the
//! bound `β̄_F(0)·√m` against width with the width a proof would need, extrapolated.

use std::path::Path;

use super::{label, outputs_suffix, theorem_series, SeriesKey, Styles, SweepSeries};
use crate::error::Result;
use crate::report::figures::{
    aggregate, measured, save_drawable, Curve, Figure, Line, LineChart, Marker, Scale, Shape,
    PALETTE,
};
use crate::report::rows::SweepRow;
use crate::theorem::bound::SmoothnessBound;
use crate::theorem::proved::{prove, ProofState};

/// A drawn quantity: its name, the rows it is drawn from, and its accessor.
type Series<'r> = (&'static str, Vec<&'r SweepRow>, fn(&SweepRow) -> f64);

/// (h) `R(w₀)`, the proved radius `r̄`, the estimated `R_c` and the distance travelled `r_T`
/// against width.
pub(super) fn theorem_ball_vs_width(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        let only = |keep: fn(&SweepRow) -> bool| -> Vec<&SweepRow> {
            s.iter().copied().filter(|r| keep(r)).collect()
        };
        let series: [Series<'_>; 4] = [
            (
                "R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀ (constants at w₀)",
                only(|_| true),
                |r| r.radius0,
            ),
            ("proved radius r̄ (bound)", only(|r| r.proved), |r| {
                r.proved_radius
            }),
            (
                "estimated radius R_c (search)",
                only(|r| r.certified),
                |r| r.certified_radius,
            ),
            (
                "distance travelled r_T = max_t ‖w_t − w₀‖",
                only(|_| true),
                |r| r.r_travelled,
            ),
        ];
        // A colour per quantity (the same in every series), a mark shape per series.
        let si = sweep.keys.iter().position(|q| q == k).unwrap_or(0);
        for (q, (name, rows, get)) in series.iter().enumerate() {
            let agg = aggregate(rows, |r| r.width as f64, get);
            let mut c = measured(format!("{name}: {}", label(k)), &agg, PALETTE[q]);
            // The line style by output activation, as the caption says (Styles::caption).
            let shape = Shape::ALL[si % Shape::ALL.len()];
            (c.line, c.marker) = if styles.solid(k) {
                (Line::Solid, Marker::Filled(shape))
            } else {
                (Line::Dotted, Marker::Open(shape))
            };
            curves.push(c);
        }
        numbers.extend(ball_numbers(k, &s));
    }
    let stem = "h_theorem_ball_vs_width";
    let drawn = save_drawable(
        &LineChart {
            title: "(h) The theorem's ball against the path gradient descent takes".into(),
            x_label: "width m (log scale)".into(),
            y_label: "radius ‖w − w₀‖ (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        stem,
    )?;
    Ok(drawn.map(|d| Figure {
        stem: stem.into(),
        caption: d.caption(format!(
            "Four radii against the width m (a colour per radius, a mark shape per series): R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀, the theorem's radius with the constants at w₀ alone; the proved radius r̄ (smallest r with μ_lb(r) > 0 and r ≥ 2 L̄_F(r) ‖r₀‖ / μ_lb(r), from the bound β̄_F; proved seeds only); the estimated radius R_c (the search's certificate; certified seeds only); and the distance gradient descent travelled, r_T = max_t ‖w_t − w₀‖ (every seed). Marks: mean over seeds, bars: min–max; a series with no mark at a width has no certificate of that kind there. The gap between R(w₀) and r_T is how far the theorem's worst-case ball is from the path gradient descent takes.{}",
            styles.caption()
        )),
        numbers,
    }))
}

/// Figure (h)'s table for series `k` (rows `s`): `R(w₀)/r_T` at the widest width, and the
/// narrowest width certified for every seed by proof and by search.
fn ball_numbers(k: &SeriesKey, s: &[&SweepRow]) -> Vec<(String, String)> {
    let mut numbers = vec![];
    let widest = s.iter().map(|r| r.width).max();
    let at = |m: usize| s.iter().copied().filter(move |r| r.width == m);
    if let Some(m) = widest {
        let ratios: Vec<f64> = at(m)
            .map(|r| r.radius0 / r.r_travelled)
            .filter(|v| v.is_finite())
            .collect();
        if !ratios.is_empty() {
            let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
            numbers.push((
                format!("R(w₀) / r_T at width {m} ({})", label(k)),
                format!(
                    "{mean:.1} (mean over {} seed{})",
                    ratios.len(),
                    if ratios.len() == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    for (name, ok) in [
        ("proof", (|r: &SweepRow| r.proved) as fn(&SweepRow) -> bool),
        ("search", |r| r.certified),
    ] {
        let narrowest = s.iter().map(|r| r.width).filter(|&m| at(m).all(ok)).min();
        numbers.push((
            format!(
                "narrowest width certified by {name} for every seed ({})",
                label(k)
            ),
            narrowest.map_or("none in the sweep".into(), |m| format!("m = {m}")),
        ));
    }
    numbers
}

/// (i) The narrowest width at which every seed is certified, by proof and by search, against
/// `n` (one series per hidden activation, depth and output activation). Drawn when the sweep
/// has several `n`.
pub(super) fn proved_width_vs_n(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let mut groups: Vec<(String, String, usize, usize)> = sweep
        .keys
        .iter()
        .map(|k| (k.0.clone(), k.1.clone(), k.2, k.4))
        .collect();
    groups.sort();
    groups.dedup();
    let ns: Vec<usize> = {
        let mut v: Vec<usize> = sweep.keys.iter().map(|k| k.3).collect();
        v.sort();
        v.dedup();
        v
    };
    if ns.len() < 2 {
        return Ok(None);
    }
    let mut curves = vec![];
    let mut numbers = vec![];
    for (g, (out, act, depth, outputs)) in groups.iter().enumerate() {
        let k_text = outputs_suffix(*outputs);
        let mut proved = vec![];
        let mut searched = vec![];
        let mut extrapolated = vec![];
        for &n in &ns {
            let key: SeriesKey = (out.clone(), act.clone(), *depth, n, *outputs);
            let s = sweep.series(&key);
            let narrowest = |ok: fn(&SweepRow) -> bool| {
                s.iter()
                    .map(|r| r.width)
                    .filter(|&m| s.iter().filter(|r| r.width == m).all(|r| ok(r)))
                    .min()
            };
            let (p, e) = (narrowest(|r| r.proved), narrowest(|r| r.certified));
            if let Some(m) = p {
                proved.push((n as f64, m as f64));
            } else if let Some(m) = widest_extrapolation(&s) {
                extrapolated.push((n as f64, m));
            }
            if let Some(m) = e {
                searched.push((n as f64, m as f64));
            }
            let text =
                |v: Option<usize>| v.map_or("none in the sweep".to_string(), |m| m.to_string());
            let ratio = match (p, e) {
                (Some(p), Some(e)) => format!(", ratio {:.0}×", p as f64 / e as f64),
                _ => String::new(),
            };
            numbers.push((
                format!(
                    "narrowest width, proof / search, n = {n} ({act} / out {out} / L = \
                     {depth}{k_text})"
                ),
                format!("{} / {}{ratio}", text(p), text(e)),
            ));
        }
        let name = format!("{act} / out {out} / L = {depth}{k_text}");
        let color = PALETTE[(2 * g) % PALETTE.len()];
        curves.push(Curve::measured(
            format!("narrowest width proved (bound): {name}"),
            proved,
            color,
        ));
        let mut c = Curve::measured(
            format!("narrowest width estimated (search): {name}"),
            searched,
            PALETTE[(2 * g + 1) % PALETTE.len()],
        );
        c.marker = Marker::Filled(Shape::ALL[1]);
        curves.push(c);
        let mut c = Curve::measured(
            format!(
                "narrowest width proved, extrapolated beyond the grid (β̄_F ∝ m^(−1/2)): {name}"
            ),
            extrapolated,
            color,
        );
        (c.line, c.marker) = (Line::Dotted, Marker::Open(Shape::ALL[0]));
        curves.push(c);
    }
    let stem = "i_proved_width_vs_n";
    let drawn = save_drawable(
        &LineChart {
            title: "(i) How wide is wide enough, proved and estimated, against n".into(),
            x_label: "samples n (log scale)".into(),
            y_label: "narrowest certified width m (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        stem,
    )?;
    Ok(drawn.map(|d| Figure {
        stem: stem.into(),
        caption: d.caption(PROVED_WIDTH_CAPTION),
        numbers,
    }))
}

/// The caption of figure (i).
const PROVED_WIDTH_CAPTION: &str = "The narrowest width of the sweep's grid at which every seed has a proved certificate (filled circles: the bound β̄_F, μ_lb, L̄_F of theorem::proved) and an estimated one (squares: the card's search), against the number of samples n. Where no width of the grid proves, the open circle is the extrapolated width (figure j's table: β̄_F(r) √m, λ₀, λ_max and ‖r₀‖ kept at their values at the widest run, the largest over its seeds) — an extrapolation, not a measurement. The proved width can only be at or above the estimated one up to the grid's spacing: the bounds are worst cases over the ball, the search visits some of its points.";

/// (j) `β̄_F(0) √m` against width, and the width at which the proof would certify, extrapolated
/// from the widest run.
pub(super) fn bound_scaling_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in sweep.keys.iter().filter(|k| theorem_series(k)) {
        let s = sweep.series(k);
        let agg = aggregate(
            &s,
            |r| r.width as f64,
            |r| r.beta_bound * (r.width as f64).sqrt(),
        );
        if agg.is_empty() {
            continue;
        }
        curves.push(measured(
            format!("β̄_F(0) · √m: {}", label(k)),
            &agg,
            styles.color(k, 0, 1),
        ));
        let (lo, hi) = agg.iter().fold((f64::INFINITY, 0.0f64), |(a, b), v| {
            (a.min(v.1), b.max(v.1))
        });
        numbers.push((
            format!(
                "β̄_F(0) √m, smallest to largest over the widths ({})",
                label(k)
            ),
            format!("{lo:.3e} … {hi:.3e} (ratio {:.2})", hi / lo),
        ));
        let widest = s.iter().map(|r| r.width).max().unwrap_or(0);
        let rows: Vec<&SweepRow> = s.iter().copied().filter(|r| r.width == widest).collect();
        let extrapolated: Vec<Option<f64>> = rows.iter().map(|r| extrapolate(r)).collect();
        let text = if extrapolated.iter().all(Option::is_some) {
            let worst = width_text(
                extrapolated
                    .iter()
                    .flatten()
                    .copied()
                    .fold(widest as f64, f64::max),
            );
            format!(
                "m ≈ {worst} for every seed (largest width run: {widest}); extrapolation, assuming β̄_F(r) √m and λ₀, λ_max, ‖r₀‖ stay at their values at m = {widest}"
            )
        } else if rows
            .iter()
            .all(|r| r.beta_bound.is_finite() && r.beta_bound_slope.is_nan())
        {
            "not extrapolated: at depth L ≥ 2 β̄_F(r) is a polynomial in r (theorem::bound::deep), \
             not the affine bound whose coefficients the extrapolation scales"
                .to_string()
        } else {
            format!(
                "no width up to 2^{EXTRAPOLATION_OCTAVES} × {widest}: λ₀ at round-off, no bound \
                 at m = {widest}, or β̄_F(r) r never small enough"
            )
        };
        numbers.push((
            format!("width at which the proof would certify ({})", label(k)),
            text,
        ));
    }
    let stem = "j_bound_scaling_vs_width";
    let drawn = save_drawable(
        &LineChart {
            title: "(j) The proved bound β̄_F(0) times √m against width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "β̄_F(0) · √m (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        stem,
    )?;
    Ok(drawn.map(|d| Figure {
        stem: stem.into(),
        caption: d.caption(format!(
            "The proved bound on the Hessian norm at w₀, β̄_F(0) (theorem::bound: c₂ (s₂ ‖X̃‖₂² max_j ‖V₀_·j‖ + s₁ ‖X̃‖₂) for one hidden layer, the induction over layers of theorem::bound::deep for L ≥ 2), times √m, against the width m, for the series the bound applies to (smooth hidden activation, identity output); marks: mean over seeds, bars: min–max. Flat means β̄_F ∝ m^(−1/2), the linearity paper's rate; max_j ‖V₀_·j‖ adds a √(log m) drift. The table gives the width at which the proof would certify, extrapolated (one hidden layer: β̄_F(r) is affine in r there, and the extrapolation scales both coefficients).{}",
            styles.caption()
        )),
        numbers,
    }))
}

/// The largest over seeds of [`extrapolate`] at the widest width of `s`, or `None` when a seed
/// has none.
fn widest_extrapolation(s: &[&SweepRow]) -> Option<f64> {
    let widest = s.iter().map(|r| r.width).max()?;
    s.iter()
        .filter(|r| r.width == widest)
        .map(|r| extrapolate(r))
        .collect::<Option<Vec<f64>>>()?
        .into_iter()
        .reduce(f64::max)
}

/// How far [`extrapolate`] looks: `β̄_F` scaled down by `2^{−100}`. A proof that needs more
/// is reported as none (and `λ₀`, `λ_max`, `‖r₀‖` held fixed over 2¹⁰⁰ in width would be no
/// prediction at all).
const EXTRAPOLATION_OCTAVES: i32 = 200;

/// A width for people: the integer below 10⁷, `1.23e11` above.
fn width_text(m: f64) -> String {
    if m < 1e7 {
        format!("{m:.0}")
    } else {
        format!("{m:.2e}")
    }
}

/// The smallest width `m = widest · 2^j` (`j ≤ EXTRAPOLATION_OCTAVES`) at which [`prove`]
/// succeeds with `β̄_F` scaled by `√(widest / m)` and `λ₀`, `λ_max`, their margins and `‖r₀‖`
/// kept at the row's values.
fn extrapolate(r: &SweepRow) -> Option<f64> {
    for j in 0..=EXTRAPOLATION_OCTAVES {
        let scale = (0.5f64).powf(j as f64 / 2.0);
        let bound = SmoothnessBound {
            intercept: Some(r.beta_bound * scale),
            slope: Some(r.beta_bound_slope * scale),
            input_norm: f64::NAN,
            output_column_norm0: f64::NAN,
            sup_slope: f64::NAN,
            sup_curvature: f64::NAN,
            not_applicable: None,
            deep: None,
        };
        if !(r.beta_bound.is_finite() && r.beta_bound_slope.is_finite()) {
            return None;
        }
        let margins = [
            r.lambda0 - r.lambda0_lower,
            r.lambda_max_upper - r.lambda_max0,
        ];
        let cert = prove(bound, r.lambda0, r.lambda_max0, margins, r.residual_norm0);
        if cert.state == ProofState::Proved {
            return Some(r.width as f64 * 2f64.powi(j));
        }
    }
    None
}
