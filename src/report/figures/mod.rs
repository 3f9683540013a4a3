//! Figures drawn from saved records only (`metrics.csv`, `summary.json`), as SVG and PNG.
//!
//! PNG text uses DejaVu Sans, embedded in the binary (`assets/DejaVuSans.ttf`, its licence
//! beside it), so no system font is needed.
//!
//! Titles, axis titles and legend labels are written in a small TeX-like notation, drawn with
//! real sub- and superscripts in both files (plotters alone would print `_` and `^`, and put a
//! combining accent on the next letter in a PNG): `a_b`, `a_{b c}` or `a_(b c)` is a subscript
//! (a run of letters, digits and `*`, or the group without its braces or parentheses), `a^b`,
//! `a^{…}`, `a^(…)` a superscript, and a combining accent (`μ̂`) sits on its letter.
//! [`plain_text`] gives the text as it reads.
//!
//! A [`LineChart`] is drawn in three steps, a module each: `scale` (a value's drawing
//! coordinate on a linear, log or symmetric-log axis, and an axis's range), `plan` (what is
//! drawn of each curve, the ticks, and the note on what is left out) and `draw` (plotters, the
//! legend, the SVG and PNG files). The figures of a run, a sweep and the landscape are in
//! [`training`], [`sweep`] and [`landscape`].

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::report::rows::SweepRow;

mod draw;
pub mod landscape;
mod plan;
mod scale;
pub mod scaling;
pub mod spectrum;
pub mod sweep;
mod text;
mod ticks;
pub mod training;

use draw::{save_plan, tick_label};
pub use text::plain as plain_text;

/// How a curve's line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// A measurement.
    Solid,
    /// Theory: a bound, a prediction or a reference value.
    Dashed,
    /// A measurement of a second kind beside solid ones (e.g. a network with a non-linear
    /// output layer beside the identity-output series the theorem speaks of).
    Dotted,
}

/// The shape of a curve's marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    /// Shapes in the order series take them.
    pub const ALL: [Shape; 4] = [
        Shape::Circle,
        Shape::Square,
        Shape::Triangle,
        Shape::Diamond,
    ];
}

/// The mark at each point of a curve (drawn when the curve has at most [`MAX_MARKERS`] points
/// in the range, in the legend too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    None,
    /// Filled in the curve's colour.
    Filled(Shape),
    /// Outlined only, so that marks at the same place show through each other.
    Open(Shape),
}

/// The most points a curve may show and still get its marks.
pub const MAX_MARKERS: usize = 60;

/// One drawn line.
pub struct Curve {
    /// Legend label (in the notation of the module docs: `λ_min`, `μ̂^t`); empty for no legend
    /// entry.
    pub label: String,
    /// `(x, y)` points. Those an axis cannot show (non-finite; `≤ 0` on a log axis; beyond the
    /// drawn range) are left out, the line broken or cut at the edge there, and counted in the
    /// chart's note.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Solid, dashed or dotted.
    pub line: Line,
    /// The mark at each point.
    pub marker: Marker,
    /// Vertical error bars `(x, low, high)` (spread over seeds), cut at the edges of the drawn
    /// range.
    pub error_bars: Vec<(f64, f64, f64)>,
}

impl Curve {
    /// A measurement: a solid line with a filled circle at each point.
    pub fn measured(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Curve {
            label: label.into(),
            points,
            color,
            line: Line::Solid,
            marker: Marker::Filled(Shape::Circle),
            error_bars: vec![],
        }
    }

    /// Theory or a reference value: a dashed line without marks.
    pub fn reference(label: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Curve {
            label: label.into(),
            points,
            color,
            line: Line::Dashed,
            marker: Marker::None,
            error_bars: vec![],
        }
    }
}

/// The scale of an axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    Linear,
    /// Only positive values are shown.
    Log,
    /// Symmetric log, `sign(v) log₁₀(1 + |v|/c)` for `SymLog(c)`: linear within about `±c`,
    /// logarithmic beyond, so that values of both signs over many decades, and `0`, are seen
    /// (a `c` that is not a positive number is taken as 1).
    SymLog(f64),
}

/// A line chart with a linear, log or symmetric-log x and y axis.
///
/// Drawing it never fails, loops or panics on its data: the axes show only points they can
/// (finite; positive on a log axis), a log axis spans at most [`MAX_DECADES`] decades, no
/// range has zero width, and what is left out is said in a note drawn under the plot and
/// returned with the files ([`Drawing::note`]). The legend sits under the plot, off the data,
/// one entry per labelled curve that has something drawn, its swatch drawn like the curve.
pub struct LineChart {
    /// Title (in the notation of the module docs).
    pub title: String,
    /// x-axis title, with its units and scale.
    pub x_label: String,
    /// y-axis title.
    pub y_label: String,
    /// The x axis's scale.
    pub x_scale: Scale,
    /// The y axis's scale.
    pub y_scale: Scale,
    /// The curves.
    pub curves: Vec<Curve>,
}

/// The most decades a log axis spans. Wider data (e.g. a diverging curve beside a converging
/// one) is shown over the `MAX_DECADES` decades that hold the most points of the first curve
/// (the measurement), then of the others, and the note says so: the axis's tick search and
/// the eye both need a bounded range. 40 decades hold a loss falling from 1e6 to f64
/// round-off (about 1e-34).
pub const MAX_DECADES: f64 = 40.0;

/// What [`save`] wrote: the SVG and the PNG, and the note on what the chart could not show
/// (also drawn under the plot).
#[derive(Clone, Debug)]
pub struct Drawing {
    /// `<stem>.svg` and `<stem>.png`.
    pub paths: Vec<PathBuf>,
    /// E.g. "Not drawn: 3 points with a non-finite value (NaN or ±∞)."; `None` when every
    /// point is drawn.
    pub note: Option<String>,
}

impl Drawing {
    /// `caption`, then the note when there is one.
    pub fn caption(&self, caption: impl Into<String>) -> String {
        let caption = caption.into();
        match &self.note {
            Some(note) => format!("{caption} {note}"),
            None => caption,
        }
    }
}

/// Writes `chart` as `<stem>.svg` and `<stem>.png` in `dir`, whatever its data (a chart with
/// nothing to draw gives empty axes and the note "Nothing to draw.").
pub fn save(chart: &LineChart, dir: &Path, stem: &str) -> Result<Drawing> {
    save_plan(chart, &chart.plan(), dir, stem)
}

/// The columns of a saved `metrics.csv`, by header name (empty fields are `None`).
pub fn read_metrics(path: &Path) -> Result<Vec<std::collections::HashMap<String, Option<f64>>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    Ok(lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(|v| v.parse::<f64>().ok()))
                .collect()
        })
        .collect())
}

/// `(step, value)` for every row of a read metrics file where both are present.
pub(crate) fn step_column(
    rows: &[std::collections::HashMap<String, Option<f64>>],
    name: &str,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| Some(((*r.get("step")?)?, (*r.get(name)?)?)))
        .collect()
}

/// A figure of a sweep or of the landscape, with its caption and the numbers it shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figure {
    /// File stem (`.svg` and `.png` beside it).
    pub stem: String,
    /// Caption: what is plotted, in the theory's conventions.
    pub caption: String,
    /// Measured numbers next to the theory's predictions.
    pub numbers: Vec<(String, String)>,
}

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies: blue,
/// vermillion, bluish green, reddish purple, orange, sky blue.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// Black, for references that belong to no series (e.g. `p = n`, `0`).
pub(crate) const REFERENCE: RGBColor = RGBColor(0, 0, 0);
/// Grey, for a second reference in the same figure.
pub(crate) const REFERENCE_2: RGBColor = RGBColor(130, 130, 130);

/// One x of a series aggregated over seeds: `(x, mean, min, max)`.
pub(crate) type Aggregate = (f64, f64, f64, f64);

/// Per-series, per-x aggregates over seeds: `(x, mean, min, max)`.
pub(crate) fn aggregate(
    rows: &[&SweepRow],
    x: impl Fn(&SweepRow) -> f64,
    y: impl Fn(&SweepRow) -> f64,
) -> Vec<Aggregate> {
    let mut by_x: std::collections::BTreeMap<u64, (f64, Vec<f64>)> = Default::default();
    for r in rows {
        let (xv, yv) = (x(r), y(r));
        if xv.is_finite() && yv.is_finite() {
            by_x.entry(xv.to_bits()).or_insert((xv, vec![])).1.push(yv);
        }
    }
    let mut out: Vec<Aggregate> = by_x
        .into_values()
        .map(|(xv, ys)| {
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (xv, mean, lo, hi)
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// A measured series of aggregates: the means joined by a solid line, filled circles, and
/// min–max bars.
pub(crate) fn measured(label: String, agg: &[Aggregate], color: RGBColor) -> Curve {
    Curve {
        error_bars: agg.iter().map(|a| (a.0, a.2, a.3)).collect(),
        ..Curve::measured(label, agg.iter().map(|a| (a.0, a.1)).collect(), color)
    }
}

/// [`save`], or nothing (no file, no error) when the chart has nothing to draw (e.g. only
/// non-positive values on a log axis).
pub(crate) fn save_drawable(chart: &LineChart, dir: &Path, stem: &str) -> Result<Option<Drawing>> {
    let plan = chart.plan();
    if !plan.has_data() {
        return Ok(None);
    }
    save_plan(chart, &plan, dir, stem).map(Some)
}
