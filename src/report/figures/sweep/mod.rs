//! The figures of a sweep, drawn from its rows (and the loss curves in `curves/`) as plain data.
//! Every error bar is the min–max over seeds and every dot the mean; a "theory" label names a
//! bound or a prediction and sits only on the series it speaks of (smooth hidden activation,
//! identity output: the wide-network theorem's hypotheses). Series are told apart as
//! [`Styles`] says: a colour per hidden activation, depth and `n` (and per quantity), a line
//! style per output activation.
//!
//! - (a) `λ₀` against width, with the infinite-width `λ_min(K∞)` where the caller supplies one;
//! - (a) `μ̂(r)/λ₀` against width at fixed radii `r`: conditioning over balls of fixed size
//!   becoming uniform as the width grows (the headline figure);
//! - (a) the certified radius and the distance gradient descent travelled against width;
//! - (b) `‖H_F(w₀)‖` against width (log-log, fitted slope);
//! - (c) the relative kernel change at a common stage of training against width;
//! - (d) loss curves of several widths against each certified width's bound;
//! - (e) `λ₀` and the final loss against `p/n`, drawn only when the sweep has `p < n` and
//!   `p ≥ n` points;
//! - (h) the theorem's ball against the path: `R(w₀)`, the proved and estimated radii and the
//!   distance travelled against width; (i) the narrowest width proved and estimated against
//!   `n`; (j) the proved bound `β̄_F(0) √m` against width (module `proved`).
//!
//! The figures of width (a: `width`), the log-log slope figures (a, b, c, g: `slopes`) and the
//! loss figures (d, e: `loss`) each have a module; this one holds the series, their styles
//! and the panels.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    measured, tick_label, Aggregate, Curve, Figure, Line, Marker, Shape, PALETTE, REFERENCE_2,
};
use crate::error::Result;
use crate::report::rows::SweepRow;

mod loss;
mod proved;
mod slopes;
mod width;

use loss::{loss_curves, p_over_n};
use proved::{bound_scaling_vs_width, proved_width_vs_n, theorem_ball_vs_width};
use slopes::{slope_figure, SLOPE_FIGURES};
use width::{certified_radius_vs_width, lambda0_vs_width, mu_at_radius_vs_width};

/// A series of a sweep: the rows that share everything but the width —
/// `(output activation, hidden activation, depth L, n, outputs k)`.
pub type SeriesKey = (String, String, usize, usize, usize);

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
                    r.outputs,
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
                (&r.output_activation, &r.activation, r.depth, r.n, r.outputs)
                    == (&k.0, &k.1, k.2, k.3, k.4)
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
    format!(
        "{} / out {} / L = {} / n = {}{}",
        k.1,
        k.0,
        k.2,
        k.3,
        outputs_suffix(k.4)
    )
}

/// `" / k = 3"` for a series of `k ≠ 1` outputs, nothing for `k = 1` (every label written before
/// the outputs axis stays as it was).
fn outputs_suffix(k: usize) -> String {
    match k {
        1 => String::new(),
        k => format!(" / k = {k}"),
    }
}

/// Whether the wide-network theorem speaks of series `k`: a smooth hidden activation (ReLU is
/// outside its hypotheses) and an identity output.
fn theorem_series(k: &SeriesKey) -> bool {
    k.0 == "identity" && k.1 != "relu" && k.1 != "identity"
}

/// How the series of a figure are told apart: a colour per hidden activation, depth, `n` and `k`
/// (times the quantities a figure draws of each series, e.g. the radii `r` of `μ̂(r)`), and a
/// line style per output activation — solid with filled marks for the first output (the
/// identity, the theorem's, when present), dotted with open marks for the others — so that
/// series of the same colour lying on each other are both seen. A third output and beyond
/// gets colours of its own.
pub struct Styles {
    /// The colour groups, sorted.
    groups: Vec<(String, usize, usize, usize, String)>,
    /// The output activations, the solid one first.
    outputs: Vec<String>,
}

impl Styles {
    /// The styles of the series `keys`.
    pub fn new(keys: &[SeriesKey]) -> Self {
        let mut outputs: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        outputs.sort_by_key(|o| (o != "identity", o.clone()));
        outputs.dedup();
        let mut styles = Styles {
            groups: vec![],
            outputs,
        };
        let mut groups: Vec<_> = keys.iter().map(|k| styles.group(k)).collect();
        groups.sort();
        groups.dedup();
        styles.groups = groups;
        styles
    }

    /// The colour group of `k`: its hidden activation, depth, `n` and `k`, and its output
    /// activation when that is neither the solid nor the dotted one.
    fn group(&self, k: &SeriesKey) -> (String, usize, usize, usize, String) {
        let own = self.outputs.iter().position(|o| *o == k.0).unwrap_or(0) >= 2;
        let output = if own { k.0.clone() } else { String::new() };
        (k.1.clone(), k.2, k.3, k.4, output)
    }

    /// Whether `k` is drawn solid (the first output).
    fn solid(&self, k: &SeriesKey) -> bool {
        self.outputs.first() == Some(&k.0)
    }

    /// The colour of quantity `q` of `quantities` of series `k`.
    pub fn color(&self, k: &SeriesKey, q: usize, quantities: usize) -> plotters::style::RGBColor {
        let g = self
            .groups
            .iter()
            .position(|g| *g == self.group(k))
            .unwrap_or(0);
        PALETTE[(g * quantities.max(1) + q) % PALETTE.len()]
    }

    /// A measured series of aggregates: quantity `q` of `quantities` of series `k`, its
    /// marks of shape `Shape::ALL[q]`.
    fn curve(
        &self,
        label: String,
        agg: &[Aggregate],
        k: &SeriesKey,
        q: usize,
        quantities: usize,
    ) -> Curve {
        let shape = Shape::ALL[q % Shape::ALL.len()];
        let mut c = measured(label, agg, self.color(k, q, quantities));
        (c.line, c.marker) = if self.solid(k) {
            (Line::Solid, Marker::Filled(shape))
        } else {
            (Line::Dotted, Marker::Open(shape))
        };
        c
    }

    /// What the line styles mean, for a caption ("" when every series has the same output).
    fn caption(&self) -> String {
        match self.outputs.split_first() {
            Some((solid, rest)) if !rest.is_empty() => format!(
                " Solid lines, filled marks: {solid} output; dotted lines, open marks: {} output.",
                rest.join(" and ")
            ),
            _ => String::new(),
        }
    }
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
    /// (h) `R(w₀)`, the proved and estimated radii and the GD distance against width.
    TheoremBall,
    /// (i) The narrowest width certified by proof and by search against `n`.
    ProvedWidth,
    /// (j) `β̄_F(0) √m` against width, with the extrapolated width of a proof.
    BoundScaling,
}

impl Panel {
    /// Every panel, in drawing order.
    pub const ALL: [Panel; 12] = [
        Panel::Lambda0,
        Panel::InfiniteGap,
        Panel::MuAtRadius,
        Panel::CertifiedRadius,
        Panel::Hessian,
        Panel::KernelChange,
        Panel::LossCurves,
        Panel::LinearizationGap,
        Panel::POverN,
        Panel::TheoremBall,
        Panel::ProvedWidth,
        Panel::BoundScaling,
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
    let target = target_loss(dir);
    let over: Vec<SweepRow> = rows
        .iter()
        .filter(|r| r.p >= r.equations())
        .cloned()
        .collect();
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
            Panel::LossCurves => loss_curves(dir, &sweep, target)?,
            Panel::LinearizationGap => slope_figure(dir, &sweep, &SLOPE_FIGURES[3])?,
            Panel::POverN => p_over_n(dir, &all, target)?,
            Panel::TheoremBall => theorem_ball_vs_width(dir, &sweep)?,
            Panel::ProvedWidth => proved_width_vs_n(dir, &sweep)?,
            Panel::BoundScaling => bound_scaling_vs_width(dir, &sweep)?,
        });
    }
    Ok(figures)
}

/// The sweep's `train.target_loss` from `dir/sweep.json`, when positive (training stops
/// there; the loss figures draw it).
fn target_loss(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("sweep.json")).ok()?;
    let record: serde_json::Value = serde_json::from_str(&text).ok()?;
    record["sweep"]["base"]["train"]["target_loss"]
        .as_f64()
        .filter(|t| *t > 0.0 && t.is_finite())
}

/// A dashed reference line for the target loss over `x0 … x1`.
fn target_line(target: f64, x0: f64, x1: f64) -> Curve {
    Curve::reference(
        format!(
            "target loss {}: training stops once L ≤ target",
            tick_label(target)
        ),
        vec![(x0, target), (x1, target)],
        REFERENCE_2,
    )
}
