//! Figure (a) against width: `λ₀` with its infinite-width limit, `μ̂(r)/λ₀` at fixed radii,
//! and the certified radius beside the distance gradient descent travelled.

use std::collections::BTreeMap;
use std::path::Path;

use super::{label, ratio_text, theorem_series, SeriesKey, Styles, SweepSeries};
use crate::error::Result;
use crate::report::figures::{
    aggregate, save_drawable, Curve, Figure, LineChart, Scale, REFERENCE,
};
use crate::report::rows::SweepRow;

/// (a) λ₀ against width, with `λ_min(K∞)` as a dashed line where `limits` has one.
pub(super) fn lambda0_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    limits: &BTreeMap<SeriesKey, f64>,
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let agg = aggregate(&sweep.series(k), |r| r.width as f64, |r| r.lambda0);
        curves.push(styles.curve(format!("λ₀ = λ_min(K(w₀)): {}", label(k)), &agg, k, 0, 1));
        if let Some(last) = agg.last() {
            numbers.push((
                format!("λ₀ at width {} ({})", last.0, label(k)),
                format!("{:.4e}", last.1),
            ));
        }
        if let (Some(&limit), Some(first), Some(last)) = (limits.get(k), agg.first(), agg.last()) {
            curves.push(Curve::reference(
                format!(
                    "theory (prediction): λ_min(K∞) = {limit:.3e}, the m → ∞ limit of {}",
                    label(k)
                ),
                vec![(first.0, limit), (last.0, limit)],
                styles.color(k, 0, 1),
            ));
            numbers.push((format!("λ_min(K∞) ({})", label(k)), format!("{limit:.4e}")));
        }
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) Smallest eigenvalue of the tangent kernel at init vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "λ₀ = λ_min(K(w₀)) (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        "a_lambda0_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_lambda0_vs_width".into(),
        caption: d.caption(format!("λ₀ = λ_min(K(w₀)) of K = DF DFᵀ (no averaging) against the width m; dots: mean over seeds, bars: min–max. Dashed: λ_min of the infinite-width kernel K∞ of the same depth, activation and biases (the NTK recursion, closed-form dual kernels for ReLU and erf, Gaussian quadrature for the others; identity output only), the limit λ₀ approaches, in the colour of its series.{}", styles.caption())),
        numbers,
    }))
}

/// (a) `μ̂(r)/λ₀` against width at each fixed radius: uniform conditioning over balls of a fixed
/// size as the width grows.
pub(super) fn mu_at_radius_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    radii: &[f64],
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let (mut x0, mut x1) = (f64::INFINITY, 0.0f64);
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        for (j, &r) in radii.iter().enumerate() {
            let agg = aggregate(&s, |q| q.width as f64, |q| q.mu_at(r) / q.lambda0);
            let (Some(a), Some(b)) = (agg.first(), agg.last()) else {
                continue;
            };
            (x0, x1) = (x0.min(a.0), x1.max(b.0));
            curves.push(styles.curve(format!("r = {r}: {}", label(k)), &agg, k, j, radii.len()));
            numbers.push((
                format!("μ̂(r = {r})/λ₀, width {} → {} ({})", a.0, b.0, label(k)),
                format!("{} → {}", ratio_text(a.1), ratio_text(b.1)),
            ));
        }
    }
    if sweep.keys.iter().any(theorem_series) && x1 > 0.0 {
        curves.push(Curve::reference(
            "theory (prediction, smooth σ and identity output only): μ̂(r)/λ₀ → 1 as m → ∞",
            vec![(x0, 1.0), (x1, 1.0)],
            REFERENCE,
        ));
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) Uniform conditioning: μ̂(r)/λ₀ over balls of fixed radius r vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "μ̂(r) / λ₀ = min over B(w₀, r) of λ_min(K) / λ_min(K(w₀))".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Linear,
            curves,
        },
        dir,
        "a_mu_at_radius_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_mu_at_radius_vs_width".into(),
        caption: d.caption(format!(
            "μ̂(r) = the smallest λ_min(K) found by a constrained search (projected descent with exact eigenvalue gradients, several starts) over the ball B(w₀, r) of absolute radius r ∈ {radii:?}, divided by λ₀ of the same run, against the width m; dots: mean over seeds, bars: min–max. μ̂(r) ≤ λ₀ by construction (w₀ is in every ball); the ratio rising to 1 is the theorem's uniform conditioning, predicted for a smooth activation and an identity output (a non-linear output is outside the theorem). Rows with p < n have no search and are not drawn. A colour and a mark shape per radius (and per series); marks at the same place show through each other.{}",
            styles.caption()
        )),
        numbers,
    }))
}

/// (a) The certified radius `R_c` and the distance `r_T` gradient descent travelled against
/// width, with the narrowest certified width.
pub(super) fn certified_radius_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        let certified: Vec<&SweepRow> = s.iter().copied().filter(|r| r.certified).collect();
        let rc = aggregate(&certified, |r| r.width as f64, |r| r.certified_radius);
        let rt = aggregate(&s, |r| r.width as f64, |r| r.r_travelled);
        curves.push(styles.curve(format!("certified radius R_c: {}", label(k)), &rc, k, 0, 2));
        curves.push(styles.curve(
            format!("distance travelled r_T = max_t ‖w_t − w₀‖: {}", label(k)),
            &rt,
            k,
            1,
            2,
        ));
        let all_seeds = |m: usize| s.iter().filter(|r| r.width == m).all(|r| r.certified);
        let narrowest = s.iter().map(|r| r.width).filter(|&m| all_seeds(m)).min();
        if let (Some(m), Some(lo), Some(hi)) = (
            narrowest,
            rt.iter().map(|a| a.2).reduce(f64::min),
            rc.iter().map(|a| a.3).reduce(f64::max),
        ) {
            curves.push(Curve::reference(
                format!(
                    "narrowest width certified for every seed, m = {m}: {}",
                    label(k)
                ),
                vec![(m as f64, lo), (m as f64, hi)],
                styles.color(k, 0, 2),
            ));
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
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        "a_certified_radius_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_certified_radius_vs_width".into(),
        caption: d.caption(format!("The certified radius R_c = 2 L̂_F ‖r₀‖ / μ̂ of the smallest searched ball B(w₀, r) with μ̂(r) > 0 and r ≥ R(r) (circles; certified seeds only; widths where no seed certifies have no mark), and the distance gradient descent actually travelled, r_T = max_t ‖w_t − w₀‖ (squares; every seed); marks: mean over seeds, bars: min–max. Dashed vertical line: the narrowest width at which every seed certifies. The theorem promises r_T ≤ R_c wherever it certifies.{}", styles.caption())),
        numbers,
    }))
}
