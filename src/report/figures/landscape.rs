//! Figure (f): the non-convexity of the loss landscape, from the measures of
//! `plstar reproduce`'s landscape step (saved as `landscape.json`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    measured, save_drawable, tick_label, Aggregate, Curve, Figure, LineChart, Scale, PALETTE,
    REFERENCE,
};
use crate::error::Result;

/// What figure (f) draws: two minimizers of an over-parameterized model and the segment
/// between them, and `λ_min(H_L)` near a minimizer, over- against under-parameterized.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LandscapeMeasures {
    /// `(n, p)` of the over-parameterized model.
    pub over_size: (usize, usize),
    /// `(n, p)` of the under-parameterized model.
    pub under_size: (usize, usize),
    /// `L(w*₁)`, `L(w*₂)` and `‖w*₁ − w*₂‖`.
    pub minimizers: (f64, f64, f64),
    /// `(t, L((1 − t) w*₁ + t w*₂))`.
    pub segment: Vec<(f64, f64)>,
    /// `max_t L − max(L(w*₁), L(w*₂))`: the barrier.
    pub barrier: f64,
    /// `(δ, λ_min(H_L(w*₁ + δu)))` for every probe, over-parameterized.
    pub near_over: Vec<(f64, f64)>,
    /// `λ_min(H_L(w*₁))` of the over-parameterized minimizer.
    pub at_min_over: f64,
    /// The under-parameterized minimum's loss.
    pub under_loss: f64,
    /// `(δ, λ_min(H_L(w* + δu)))`, under-parameterized.
    pub near_under: Vec<(f64, f64)>,
    /// `λ_min(H_L(w*))` of the under-parameterized minimum.
    pub at_min_under: f64,
}

/// Both panels of figure (f), written into `dir`.
pub fn landscape_figures(dir: &Path, r: &LandscapeMeasures) -> Result<Vec<Figure>> {
    let mut figures = vec![];
    figures.extend(segment_figure(dir, r)?);
    figures.extend(near_minimizer_figure(dir, r)?);
    Ok(figures)
}

/// The loss along the segment between the two minimizers.
fn segment_figure(dir: &Path, r: &LandscapeMeasures) -> Result<Option<Figure>> {
    let seg = Curve::measured(
        format!(
            "over-parameterized (n = {}, p = {})",
            r.over_size.0, r.over_size.1
        ),
        r.segment.clone(),
        PALETTE[0],
    );
    let drawn = save_drawable(
        &LineChart {
            title: "(f) Loss along the segment between two global minimizers".into(),
            x_label: "t in (1 − t) w*₁ + t w*₂".into(),
            y_label: "L = ½‖F − y‖²".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            curves: vec![seg],
        },
        dir,
        "f_segment",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "f_segment".into(),
        caption: d.caption("The loss along the straight segment between two global minimizers w*₁, w*₂ of the over-parameterized model (two seeds): it rises above zero between them, so the solution set {w : F(w) = y} is not convex."),
        numbers: vec![
            ("L(w*₁), L(w*₂)".into(), format!("{:.3e}, {:.3e}", r.minimizers.0, r.minimizers.1)),
            ("‖w*₁ − w*₂‖".into(), format!("{:.4e}", r.minimizers.2)),
            ("barrier max_t L − max(L(w*₁), L(w*₂))".into(), format!("{:.4e} (theory: > 0)", r.barrier)),
        ],
    }))
}

/// `(δ, value)` pairs grouped by `δ` (in increasing order for `δ ≥ 0`): `(δ, mean, min, max)`.
fn aggregate_pairs(pts: &[(f64, f64)]) -> Vec<Aggregate> {
    let mut by: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for &(d, l) in pts {
        by.entry(d.to_bits()).or_default().push(l);
    }
    by.into_iter()
        .map(|(k, v)| {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            (
                f64::from_bits(k),
                mean,
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        })
        .collect()
}

/// The linear part's width of a symmetric-log axis showing the means and bar ends of `aggs`:
/// the power of ten at or below the smallest non-zero magnitude, so that every such value is
/// on the logarithmic part (1 when there is none).
fn symlog_width<'a>(aggs: impl Iterator<Item = &'a Aggregate>) -> f64 {
    let smallest = aggs
        .flat_map(|a| [a.1, a.2, a.3])
        .map(f64::abs)
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if smallest.is_finite() {
        10f64.powf(smallest.log10().floor())
    } else {
        1.0
    }
}

/// `λ_min(H_L)` at distances `δ` from a minimizer, over- against under-parameterized.
fn near_minimizer_figure(dir: &Path, r: &LandscapeMeasures) -> Result<Option<Figure>> {
    let over = aggregate_pairs(&r.near_over);
    let under = aggregate_pairs(&r.near_under);
    let x0 = over.first().map_or(1e-2, |a| a.0);
    let x1 = over.last().map_or(1.0, |a| a.0);
    let curves = vec![
        measured(
            format!(
                "over-parameterized (p = {} > n = {})",
                r.over_size.1, r.over_size.0
            ),
            &over,
            PALETTE[0],
        ),
        measured(
            format!(
                "under-parameterized (p = {} < n = {})",
                r.under_size.1, r.under_size.0
            ),
            &under,
            PALETTE[1],
        ),
        Curve::reference(
            "λ_min = 0: below it the loss is not locally convex",
            vec![(x0, 0.0), (x1, 0.0)],
            REFERENCE,
        ),
    ];
    let linear_within = symlog_width(over.iter().chain(&under));
    let drawn = save_drawable(
        &LineChart {
            title: "(f) Smallest eigenvalue of the loss Hessian near a minimizer".into(),
            x_label: "distance δ from the minimizer (log scale)".into(),
            y_label: format!(
                "λ_min(H_L(w* + δu)) (symmetric log scale, linear within ±{})",
                tick_label(linear_within)
            ),
            x_scale: Scale::Log,
            y_scale: Scale::SymLog(linear_within),
            curves,
        },
        dir,
        "f_near_minimizer",
    )?;
    let Some(drawn) = drawn else {
        return Ok(None);
    };
    {
        let min_over = r
            .near_over
            .iter()
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min);
        let min_under = r
            .near_under
            .iter()
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min);
        Ok(Some(Figure {
            stem: "f_near_minimizer".into(),
            caption: drawn.caption(format!("λ_min of the loss Hessian H_L = DFᵀDF + Σ r_k H_{{F_k}} at points w* + δu near a minimizer (random unit u; mean with min–max bars): negative at every δ for the over-parameterized model (not convex in any neighbourhood of w*); for the under-parameterized model positive at the minimum and at small δ (an isolated, locally convex minimum), turning negative only far from it. The y axis is symmetric-log, sign(λ) log₁₀(1 + |λ|/c) with c = {}: linear within ±c, logarithmic beyond, so that the small values at the smallest δ stand apart from 0.", tick_label(linear_within))),
            numbers: vec![
                ("λ_min(H_L(w*)) over-parameterized".into(), format!("{:.3e} (theory: 0, p − n flat directions)", r.at_min_over)),
                ("min λ_min(H_L) near w*, over-parameterized".into(), format!("{min_over:.3e} (theory: < 0)")),
                ("λ_min(H_L(w*)) under-parameterized, L(w*) = ".to_string() + &format!("{:.3e}", r.under_loss), format!("{:.3e} (theory: ≥ 0)", r.at_min_under)),
                ("min λ_min(H_L) near w*, under-parameterized".into(), format!("{min_under:.3e}")),
            ],
        }))
    }
}
