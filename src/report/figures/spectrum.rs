//! The tangent kernel's spectrum: every eigenvalue `λ_i` of `K(w)` against its rank, log-log,
//! with the round-off floor under which an eigenvalue is round-off (`plstar ntk --export`).

use std::path::Path;

use super::{
    save_drawable, tick_label, Curve, Figure, LineChart, Marker, Scale, PALETTE, REFERENCE,
};
use crate::error::Result;

/// The most marks drawn: ranks are thinned to about this many, log-spaced (every rank below
/// the first thinned one is kept, and the last rank always is).
const MAX_POINTS: usize = 1500;

/// `spectrum.{svg,png}` in `dir`: the eigenvalues `eigenvalues` (any order) against their rank
/// `i = 1 … N` (largest first), both axes log scale; eigenvalues at or below `floor` are not
/// drawn (log axis) and counted in the numbers. `what` names the kernel in the title.
pub fn spectrum_figure(
    dir: &Path,
    eigenvalues: &[f64],
    floor: f64,
    what: &str,
) -> Result<Option<Figure>> {
    let mut sorted: Vec<f64> = eigenvalues.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let n = sorted.len();
    let above: Vec<(f64, f64)> = ranks(n)
        .into_iter()
        .filter(|&i| sorted[i] > floor)
        .map(|i| ((i + 1) as f64, sorted[i]))
        .collect();
    let at_round_off = sorted.iter().filter(|&&v| v <= floor).count();
    let mut curve = Curve::measured(
        format!("eigenvalues λ_i of {what}, largest first"),
        above,
        PALETTE[0],
    );
    curve.marker = Marker::None;
    let mut curves = vec![curve];
    if floor > 0.0 && n > 0 {
        curves.push(Curve::reference(
            format!(
                "round-off floor {}: eigenvalues below it are round-off",
                tick_label(floor)
            ),
            vec![(1.0, floor), (n as f64, floor)],
            REFERENCE,
        ));
    }
    let stem = "spectrum";
    let drawn = save_drawable(
        &LineChart {
            title: format!("Spectrum of {what}"),
            x_label: "rank i (log scale)".into(),
            y_label: "eigenvalue λ_i (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        stem,
    )?;
    let numbers = vec![
        ("N (eigenvalues)".into(), n.to_string()),
        (
            "λ_max".into(),
            format!("{:.4e}", sorted.first().copied().unwrap_or(f64::NAN)),
        ),
        (
            "λ_min".into(),
            format!("{:.4e}", sorted.last().copied().unwrap_or(f64::NAN)),
        ),
        (
            "at or below the round-off floor".into(),
            format!("{at_round_off} (floor {floor:.2e})"),
        ),
    ];
    Ok(drawn.map(|d| Figure {
        stem: stem.into(),
        caption: d.caption(format!(
            "Every eigenvalue of {what} against its rank (largest first), both axes log scale; ranks thinned to about {MAX_POINTS} log-spaced ones. Dashed: the eigenvalue round-off floor of measure::roundoff; {at_round_off} eigenvalues at or below it are not drawn."
        )),
        numbers,
    }))
}

/// About [`MAX_POINTS`] 0-based ranks of `0 … n−1`, log-spaced, first and last included.
fn ranks(n: usize) -> Vec<usize> {
    if n <= MAX_POINTS {
        return (0..n).collect();
    }
    let ratio = (n as f64).powf(1.0 / MAX_POINTS as f64);
    let mut out: Vec<usize> = (0..=MAX_POINTS)
        .map(|j| (ratio.powi(j as i32) - 1.0).round() as usize)
        .map(|i| i.min(n - 1))
        .collect();
    out.push(n - 1);
    out.dedup();
    out
}
