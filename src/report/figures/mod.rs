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

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::report::rows::SweepRow;

pub mod landscape;
pub mod sweep;
mod text;
mod ticks;
pub mod training;

pub use text::plain as plain_text;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font("sans-serif", style, bytes).is_err() {
                unreachable!("the embedded DejaVu Sans is a valid TrueType font");
            }
        }
    });
}

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

/// The largest magnitude drawn on any axis, and `1 / LIMIT` the smallest on a log axis:
/// beyond it, padding the range or searching its ticks in f64 overflows or underflows.
const LIMIT: f64 = 1e300;

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io("cannot draw", path, std::io::Error::other(e.to_string()))
}

/// Why a point is not drawn (in the order the note names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dropped {
    /// NaN or ±∞.
    NonFinite = 0,
    /// `≤ 0` on a log axis.
    NonPositive = 1,
    /// Beyond [`LIMIT`] or outside the drawn range.
    Outside = 2,
}

impl Scale {
    /// The scale with a symmetric-log width within `[1/LIMIT, LIMIT]`.
    fn checked(self) -> Self {
        match self {
            Scale::SymLog(c) if c.is_finite() && c > 0.0 => {
                Scale::SymLog(c.clamp(1.0 / LIMIT, LIMIT))
            }
            Scale::SymLog(_) => Scale::SymLog(1.0),
            s => s,
        }
    }

    /// The drawing coordinate of `v`: `v` on a linear axis, `log₁₀ v` on a log axis,
    /// `sign(v) log₁₀(1 + |v|/c)` on a symmetric-log one; or why it has none.
    fn coordinate(self, v: f64) -> std::result::Result<f64, Dropped> {
        match self {
            _ if !v.is_finite() => Err(Dropped::NonFinite),
            Scale::Linear if v.abs() <= LIMIT => Ok(v),
            Scale::Log if v <= 0.0 => Err(Dropped::NonPositive),
            Scale::Log if (1.0 / LIMIT..=LIMIT).contains(&v) => Ok(v.log10()),
            Scale::SymLog(c) if v.abs() <= LIMIT => {
                let ratio = v.abs() / c;
                let t = if ratio.is_finite() {
                    ratio.ln_1p() / std::f64::consts::LN_10
                } else {
                    v.abs().log10() - c.log10()
                };
                Ok(t.copysign(v))
            }
            _ => Err(Dropped::Outside),
        }
    }

    /// The coordinate of an error bar's end: a value the axis cannot show lies beyond its
    /// bottom or its top (`±∞`), so the bar is cut there; `None` for NaN.
    fn bar_end(self, v: f64) -> Option<f64> {
        match self.coordinate(v) {
            Ok(t) => Some(t),
            Err(_) if v.is_nan() => None,
            Err(_) => Some(match self {
                Scale::Log if v >= 1.0 => f64::INFINITY,
                Scale::Linear | Scale::SymLog(_) if v > 0.0 => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            }),
        }
    }

    /// The value at drawing coordinate `t`.
    fn value(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log => 10f64.powf(t),
            Scale::SymLog(c) => (c * (10f64.powf(t.abs()) - 1.0)).copysign(t),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
            Scale::SymLog(_) => "symmetric-log",
        }
    }
}

/// One axis's drawn range, in drawing coordinates (`log₁₀` on a log axis).
#[derive(Clone, Copy, Debug)]
struct AxisRange {
    lo: f64,
    hi: f64,
    /// Whether the data spans more than [`MAX_DECADES`], so that the axis leaves some out.
    cut: bool,
}

impl AxisRange {
    fn contains(&self, t: f64) -> bool {
        (self.lo..=self.hi).contains(&t)
    }
}

/// How an axis's drawing coordinates `t` become the numbers plotters draws on its (always
/// linear) axes: `(t − lo) / 10^e` on a linear axis (`lo` the range's start, `10^e` the span's
/// order of magnitude), `t` itself on a log or symmetric-log axis. plotters only ever sees
/// numbers of order 1 to 10³, which it maps to pixels without loss; the ticks are chosen here
/// ([`ticks`]), not by plotters (whose tick search loops for a very long time over a linear
/// span of 1e-300 and skips every log tick below 2.2e-16).
#[derive(Clone, Copy, Debug)]
struct Units {
    scale: Scale,
    origin: f64,
    exponent: i32,
}

impl Units {
    fn new(scale: Scale, r: &AxisRange) -> Self {
        match scale {
            Scale::Linear => Units {
                scale,
                origin: r.lo,
                exponent: (r.hi - r.lo).log10().floor() as i32,
            },
            _ => Units {
                scale,
                origin: 0.0,
                exponent: 0,
            },
        }
    }

    /// The number plotters draws for drawing coordinate `t`.
    fn plot(self, t: f64) -> f64 {
        (t - self.origin) / 10f64.powi(self.exponent)
    }

    /// The drawing coordinate of the number `p` plotters draws.
    #[cfg_attr(not(test), allow(dead_code))]
    fn coordinate(self, p: f64) -> f64 {
        p * 10f64.powi(self.exponent) + self.origin
    }

    /// The data value of the number `p` plotters draws.
    #[cfg_attr(not(test), allow(dead_code))]
    fn value(self, p: f64) -> f64 {
        self.scale.value(self.coordinate(p))
    }
}

/// The range of an axis showing the drawing coordinates `ts`, padded (by a factor on log
/// axes, 5% of the span on a linear y axis), never of zero width, on a log axis at most
/// [`MAX_DECADES`] (plus padding) wide; `None` when `ts` is empty.
fn axis_range(scale: Scale, is_y: bool, ts: &mut [(f64, bool)]) -> Option<AxisRange> {
    ts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (ts.first()?.0, ts.last()?.0);
    let (mut lo, mut hi, cut) = match scale {
        Scale::Log => densest_window(ts, MAX_DECADES),
        Scale::Linear | Scale::SymLog(_) => (first, last, false),
    };
    let size = lo.abs().max(hi.abs());
    match (scale, is_y) {
        (Scale::Log, _) => {
            // At least a decade (y) or a factor 2 (x) around constant data; padded by a factor
            // 1.5 (y) or 1.3 (x).
            let (least, pad) = if is_y {
                (1.0, 1.5f64.log10())
            } else {
                (2f64.log10(), 1.3f64.log10())
            };
            // Layout, not a decision on a measured value: a log range narrower than 1e-9 decades
            // draws as a point, so it is widened (literals here set pixels, not verdicts).
            if hi - lo < 1e-9 {
                lo -= least / 2.0;
                hi += least / 2.0;
            }
            let bound = LIMIT.log10() + 0.5;
            lo = (lo - pad).max(-bound);
            hi = (hi + pad).min(bound);
        }
        // A linear span of at least 1e-9 of the values' size and 1/LIMIT: narrower data is
        // drawn as constant, in the middle of the axis.
        (Scale::Linear | Scale::SymLog(_), false) => {
            if hi - lo <= (size * 1e-9).max(1.0 / LIMIT) {
                let width = (0.1 * size).max(1.0);
                lo -= width / 2.0;
                hi += width / 2.0;
            }
        }
        (Scale::Linear | Scale::SymLog(_), true) => {
            let pad = if hi - lo > (size * 1e-9).max(1.0 / LIMIT) {
                0.05 * (hi - lo)
            } else if 0.05 * size > 1.0 / LIMIT {
                0.05 * size
            } else {
                1.0
            };
            lo -= pad;
            hi += pad;
        }
    }
    Some(AxisRange { lo, hi, cut })
}

/// The stretch `(lo, hi, cut)` of the sorted `ts` at most `width` wide that holds the most
/// points marked `true` (those of the first curve), then the most of the others, then the
/// lowest; `cut` when it leaves some out.
fn densest_window(ts: &[(f64, bool)], width: f64) -> (f64, f64, bool) {
    let n = ts.len();
    if ts[n - 1].0 - ts[0].0 <= width {
        return (ts[0].0, ts[n - 1].0, false);
    }
    // (marked, others) in the window ts[i..=j].
    let weight = |p: &(f64, bool)| if p.1 { (1, 0) } else { (0, 1) };
    let (mut best, mut best_count) = ((0, 0), weight(&ts[0]));
    let (mut j, mut count) = (0, weight(&ts[0]));
    for i in 0..n {
        if i > 0 {
            let (a, b) = weight(&ts[i - 1]);
            count = (count.0 - a, count.1 - b);
        }
        if j < i {
            j = i;
            count = weight(&ts[i]);
        }
        while j + 1 < n && ts[j + 1].0 - ts[i].0 <= width {
            j += 1;
            let (a, b) = weight(&ts[j]);
            count = (count.0 + a, count.1 + b);
        }
        if count > best_count {
            (best, best_count) = ((i, j), count);
        }
    }
    (ts[best.0].0, ts[best.1].0, true)
}

/// A point in drawing coordinates (or, once converted back, in data units).
type Point = (f64, f64);

/// The part of the segment `a → b` inside the rectangle `x × y` (Liang–Barsky), with `a` and
/// `b` themselves where they are inside; `None` when it misses the rectangle.
fn clip(a: Point, b: Point, x: &AxisRange, y: &AxisRange) -> Option<(Point, Point)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut u0, mut u1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x.lo),
        (dx, x.hi - a.0),
        (-dy, a.1 - y.lo),
        (dy, y.hi - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else if p < 0.0 {
            u0 = u0.max(q / p);
        } else {
            u1 = u1.min(q / p);
        }
    }
    if u0 > u1 {
        return None;
    }
    let at = |u: f64| {
        if u == 0.0 {
            a
        } else if u == 1.0 {
            b
        } else {
            (a.0 + u * dx, a.1 + u * dy)
        }
    };
    Some((at(u0), at(u1)))
}

/// What a chart draws of one curve, in data units.
#[derive(Default)]
struct Shown {
    /// Unbroken runs of the line (broken at points not drawn, cut at the range's edges).
    lines: Vec<Vec<Point>>,
    /// The points inside the range.
    markers: Vec<Point>,
    /// The error bars, cut at the range's edges.
    bars: Vec<(f64, f64, f64)>,
}

impl Shown {
    /// Whether anything of the curve's own line or points is drawn (what earns a legend entry).
    fn has_line_or_points(&self) -> bool {
        !self.markers.is_empty() || !self.lines.is_empty()
    }
}

/// What a [`LineChart`] draws: its axis ranges, each curve as shown (in plotters' numbers, see
/// [`Units`]), and the note on what was left out.
struct Plan {
    x: (f64, f64),
    y: (f64, f64),
    /// The ticks, in plotters' numbers.
    x_ticks: ticks::Ticks,
    y_ticks: ticks::Ticks,
    /// How the coordinates became plotters' numbers (the tests read the ranges back).
    #[cfg_attr(not(test), allow(dead_code))]
    x_units: Units,
    #[cfg_attr(not(test), allow(dead_code))]
    y_units: Units,
    curves: Vec<Shown>,
    note: Option<String>,
}

/// The ticks of an axis over `r`, `pixels` long, in plotters' numbers; on a linear axis of
/// `integers` (e.g. steps), at integers only.
fn axis_ticks(
    units: Units,
    r: &AxisRange,
    pixels: f64,
    vertical: bool,
    integers: bool,
) -> ticks::Ticks {
    let t = ticks::ticks(units.scale, r.lo, r.hi, pixels, vertical, integers);
    ticks::Ticks {
        labelled: t
            .labelled
            .into_iter()
            .map(|(t, label)| (units.plot(t), label))
            .collect(),
        light: t.light.into_iter().map(|t| units.plot(t)).collect(),
    }
}

impl Plan {
    /// Whether anything is drawn.
    fn has_data(&self) -> bool {
        self.curves
            .iter()
            .any(|c| c.has_line_or_points() || !c.bars.is_empty())
    }
}

/// `n` and the noun, singular or plural.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl LineChart {
    /// For each curve, whether anything of its line or points is drawn (what earns it a
    /// legend entry): a title or caption names only what is drawn.
    pub fn drawn(&self) -> Vec<bool> {
        self.plan()
            .curves
            .iter()
            .map(Shown::has_line_or_points)
            .collect()
    }

    /// The labels of the x and the y axis's ticks, in order.
    pub fn tick_labels(&self) -> (Vec<String>, Vec<String>) {
        let plan = self.plan();
        let texts = |t: &ticks::Ticks| t.labelled.iter().map(|l| l.1.clone()).collect();
        (texts(&plan.x_ticks), texts(&plan.y_ticks))
    }

    /// The axis ranges, each curve as drawn, and the note: points an axis cannot show are
    /// left out (the line broken there), a log axis spans at most [`MAX_DECADES`] decades
    /// (those holding the most points of the first curve, then of the others), lines and bars
    /// are cut at the range's edges.
    fn plan(&self) -> Plan {
        let (sx, sy) = (self.x_scale.checked(), self.y_scale.checked());
        let mut dropped = [0usize; 3];
        // Each point's drawing coordinates, or `None` (counted) when an axis cannot show it.
        let mut coords: Vec<Vec<Option<Point>>> = vec![];
        for c in &self.curves {
            let mut pts = vec![];
            for &(x, y) in &c.points {
                pts.push(match (sx.coordinate(x), sy.coordinate(y)) {
                    (Ok(tx), Ok(ty)) => Some((tx, ty)),
                    (a, b) => {
                        let why = a.err().into_iter().chain(b.err()).min();
                        dropped[why.unwrap_or(Dropped::Outside) as usize] += 1;
                        None
                    }
                });
            }
            coords.push(pts);
        }
        let bars: Vec<Vec<Option<(f64, f64, f64)>>> = self
            .curves
            .iter()
            .map(|c| {
                c.error_bars
                    .iter()
                    .map(|&(x, lo, hi)| {
                        let tx = sx.coordinate(x).ok()?;
                        let (a, b) = (sy.bar_end(lo)?, sy.bar_end(hi)?);
                        Some((tx, a.min(b), a.max(b)))
                    })
                    .collect()
            })
            .collect();
        // Every drawable coordinate, marked when it belongs to the first curve (the
        // measurement, which a cut log axis keeps first).
        let drawable: Vec<(Point, bool)> = coords
            .iter()
            .zip(&bars)
            .enumerate()
            .flat_map(|(i, (pts, bars))| {
                let bar_ends = bars
                    .iter()
                    .flatten()
                    .flat_map(|&(tx, a, b)| [(tx, a), (tx, b)])
                    .filter(|p| p.1.is_finite());
                pts.iter()
                    .flatten()
                    .copied()
                    .chain(bar_ends)
                    .map(move |p| (p, i == 0))
            })
            .collect();
        let mut ys: Vec<(f64, bool)> = drawable.iter().map(|&(p, first)| (p.1, first)).collect();
        let y = axis_range(sy, true, &mut ys);
        let mut xs: Vec<(f64, bool)> = drawable
            .iter()
            .filter(|(p, _)| y.is_some_and(|y| y.contains(p.1)))
            .map(|&(p, first)| (p.0, first))
            .collect();
        let x = axis_range(sx, false, &mut xs);
        let (Some(x), Some(y)) = (x, y) else {
            // Nothing to draw: the coordinates 0 … 1 (1 … 10 on a log axis).
            let unit = AxisRange {
                lo: 0.0,
                hi: 1.0,
                cut: false,
            };
            let (ux, uy) = (Units::new(sx, &unit), Units::new(sy, &unit));
            return Plan {
                x: (ux.plot(0.0), ux.plot(1.0)),
                y: (uy.plot(0.0), uy.plot(1.0)),
                x_ticks: axis_ticks(ux, &unit, PLOT_PIXELS.0, false, false),
                y_ticks: axis_ticks(uy, &unit, PLOT_PIXELS.1, true, false),
                x_units: ux,
                y_units: uy,
                curves: self.curves.iter().map(|_| Shown::default()).collect(),
                note: Some(self.note(true, dropped, (0, 0), [None, None])),
            };
        };
        let (ux, uy) = (Units::new(sx, &x), Units::new(sy, &y));
        let to_data = |p: Point| (ux.plot(p.0), uy.plot(p.1));
        let (mut bars_dropped, mut bars_cut) = (0, 0);
        let mut curves = vec![];
        for (pts, curve_bars) in coords.iter().zip(&bars) {
            let mut shown = Shown::default();
            let mut run: Vec<Point> = vec![];
            let end_run = |run: &mut Vec<Point>, lines: &mut Vec<Vec<Point>>| {
                if run.len() >= 2 {
                    lines.push(run.iter().copied().map(to_data).collect());
                }
                run.clear();
            };
            let mut prev: Option<Point> = None;
            for p in pts {
                let Some(t) = *p else {
                    end_run(&mut run, &mut shown.lines);
                    prev = None;
                    continue;
                };
                let inside = x.contains(t.0) && y.contains(t.1);
                if inside {
                    shown.markers.push(to_data(t));
                } else {
                    dropped[Dropped::Outside as usize] += 1;
                }
                match prev.map(|q| clip(q, t, &x, &y)) {
                    None if inside => run.push(t),
                    None => {}
                    Some(None) => end_run(&mut run, &mut shown.lines),
                    Some(Some((a, b))) => {
                        if run.last() != Some(&a) {
                            end_run(&mut run, &mut shown.lines);
                            run.push(a);
                        }
                        run.push(b);
                        if b != t {
                            end_run(&mut run, &mut shown.lines);
                        }
                    }
                }
                prev = Some(t);
            }
            end_run(&mut run, &mut shown.lines);
            for bar in curve_bars {
                match bar {
                    Some((tx, a, b)) if x.contains(*tx) && *a <= y.hi && *b >= y.lo => {
                        let (ca, cb) = (a.max(y.lo), b.min(y.hi));
                        if (ca, cb) != (*a, *b) {
                            bars_cut += 1;
                        }
                        shown.bars.push((ux.plot(*tx), uy.plot(ca), uy.plot(cb)));
                    }
                    _ => bars_dropped += 1,
                }
            }
            curves.push(shown);
        }
        let mut plan = Plan {
            x: (ux.plot(x.lo), ux.plot(x.hi)),
            y: (uy.plot(y.lo), uy.plot(y.hi)),
            x_ticks: axis_ticks(ux, &x, PLOT_PIXELS.0, false, self.integers(|p| p.0)),
            y_ticks: axis_ticks(uy, &y, PLOT_PIXELS.1, true, self.integers(|p| p.1)),
            x_units: ux,
            y_units: uy,
            curves,
            note: None,
        };
        let mut note = self.note(
            !plan.has_data(),
            dropped,
            (bars_dropped, bars_cut),
            [
                x.cut.then(|| (sx.value(x.lo), sx.value(x.hi))),
                y.cut.then(|| (sy.value(y.lo), sy.value(y.hi))),
            ],
        );
        let hidden = self.coinciding(&plan);
        if !hidden.is_empty() {
            let pairs: Vec<String> = hidden
                .iter()
                .map(|&(a, b)| {
                    format!(
                        "\"{}\" and \"{}\"",
                        text::plain(&self.curves[a].label),
                        text::plain(&self.curves[b].label)
                    )
                })
                .collect();
            let sentence = format!(
                "Drawn on each other (within {COINCIDE_PX} pixels at every point): {}.",
                pairs.join("; ")
            );
            note = if note.is_empty() {
                sentence
            } else {
                format!("{note} {sentence}")
            };
        }
        plan.note = (!note.is_empty()).then_some(note);
        plan
    }

    /// Whether every finite coordinate `at(p)` of every point is an integer (step numbers).
    fn integers(&self, at: impl Fn(&(f64, f64)) -> f64) -> bool {
        self.curves
            .iter()
            .flat_map(|c| c.points.iter().map(&at))
            .filter(|v| v.is_finite())
            .all(|v| v.fract() == 0.0)
    }

    /// The pairs of labelled curves `(a, b)`, `a < b`, whose drawn points lie within
    /// [`COINCIDE_PX`] pixels of each other at every point (the same `x`s, the same number of
    /// points), so that the later one hides the earlier one but for its marks.
    fn coinciding(&self, plan: &Plan) -> Vec<(usize, usize)> {
        let px = |p: &Point| {
            (
                (p.0 - plan.x.0) / (plan.x.1 - plan.x.0) * PLOT_PIXELS.0,
                (p.1 - plan.y.0) / (plan.y.1 - plan.y.0) * PLOT_PIXELS.1,
            )
        };
        let drawn: Vec<Option<Vec<(f64, f64)>>> = self
            .curves
            .iter()
            .zip(&plan.curves)
            .map(|(c, s)| {
                let all_drawn = s.markers.len() == c.points.len() && s.markers.len() >= 2;
                (!c.label.is_empty() && all_drawn).then(|| s.markers.iter().map(px).collect())
            })
            .collect();
        let mut pairs = vec![];
        for (a, pa) in drawn.iter().enumerate() {
            for (b, pb) in drawn.iter().enumerate().skip(a + 1) {
                if let (Some(pa), Some(pb)) = (pa, pb) {
                    let close = pa.len() == pb.len()
                        && pa.iter().zip(pb).all(|(p, q)| {
                            (p.0 - q.0).abs() < 0.5 && (p.1 - q.1).abs() <= COINCIDE_PX
                        });
                    if close {
                        pairs.push((a, b));
                    }
                }
            }
        }
        pairs
    }

    /// The note on what the chart leaves out ("" when nothing).
    fn note(
        &self,
        nothing: bool,
        dropped: [usize; 3],
        (bars_dropped, bars_cut): (usize, usize),
        cuts: [Option<(f64, f64)>; 2],
    ) -> String {
        let mut sentences = vec![];
        if nothing {
            sentences.push("Nothing to draw.".to_string());
        }
        let mut parts = vec![];
        if dropped[0] > 0 {
            parts.push(format!(
                "{} (NaN or ±∞)",
                count(
                    dropped[0],
                    "point with a non-finite value",
                    "points with a non-finite value"
                )
            ));
        }
        if dropped[1] > 0 {
            parts.push(count(
                dropped[1],
                "point with a value ≤ 0 on a log axis",
                "points with a value ≤ 0 on a log axis",
            ));
        }
        if dropped[2] > 0 {
            parts.push(count(
                dropped[2],
                "point outside the drawn range",
                "points outside the drawn range",
            ));
        }
        if !parts.is_empty() {
            sentences.push(format!("Not drawn: {}.", parts.join(", ")));
        }
        let scales = [self.x_scale.checked(), self.y_scale.checked()];
        for ((axis, scale), cut) in ["x", "y"].into_iter().zip(scales).zip(cuts) {
            if let Some((lo, hi)) = cut {
                sentences.push(format!(
                    "The {} {axis} axis shows at most {MAX_DECADES} decades, those holding the most points (here {} … {}).",
                    scale.name(),
                    tick_label(lo),
                    tick_label(hi),
                ));
            }
        }
        if bars_dropped > 0 {
            sentences.push(format!(
                "{} (NaN, or outside the drawn range).",
                count(bars_dropped, "error bar not drawn", "error bars not drawn")
            ));
        }
        if bars_cut > 0 {
            sentences.push(format!(
                "{} at the edge of the drawn range.",
                count(bars_cut, "error bar cut", "error bars cut")
            ));
        }
        sentences.join(" ")
    }
}

/// A plotters axis: linear over [`Units`]' numbers `lo … hi`, with the ticks chosen by
/// [`ticks`] (labelled ones as plotters' bold key points, the others as light ones).
#[derive(Clone, Debug)]
struct Axis {
    lo: f64,
    hi: f64,
    labelled: Vec<f64>,
    light: Vec<f64>,
}

impl Axis {
    fn new(range: (f64, f64), ticks: &ticks::Ticks) -> Self {
        Axis {
            lo: range.0,
            hi: range.1,
            labelled: ticks.labelled.iter().map(|t| t.0).collect(),
            light: ticks.light.clone(),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// The pixel of `v` between `limit.0` (at `lo`) and `limit.1` (at `hi`), clamped to ten
    /// plot sizes beyond either end.
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let along = ((v - self.lo) / (self.hi - self.lo)).clamp(-10.0, 10.0);
        let along = if along.is_nan() { 0.5 } else { along };
        let size = (limit.1 - limit.0) as f64;
        limit.0 + (size * along + 1e-3 * size.signum()).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.labelled.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The coordinates of every chart.
type Coord = Cartesian2d<Axis, Axis>;

/// Whether a curve's marks are drawn (in the plot and in its legend swatch).
fn shows_marks(c: &Curve, shown: &Shown) -> bool {
    c.marker != Marker::None && shown.markers.len() <= MAX_MARKERS
}

/// Draws `marker` in `color` centred at `at`.
fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    marker: Marker,
    color: RGBColor,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let (shape, filled) = match marker {
        Marker::None => return Ok(()),
        Marker::Filled(s) => (s, true),
        Marker::Open(s) => (s, false),
    };
    let style = if filled {
        ShapeStyle::from(&color).filled()
    } else {
        ShapeStyle::from(&color).stroke_width(2)
    };
    let outline = |points: Vec<(i32, i32)>| {
        let mut closed = points.clone();
        closed.push(points[0]);
        closed
    };
    let drawn = match (shape, filled) {
        (Shape::Circle, _) => area.draw(&(EmptyElement::at(at) + Circle::new((0, 0), 4, style))),
        (Shape::Square, _) => {
            area.draw(&(EmptyElement::at(at) + Rectangle::new([(-4, -4), (4, 4)], style)))
        }
        (Shape::Triangle | Shape::Diamond, _) => {
            let points = if shape == Shape::Triangle {
                vec![(0, -5), (5, 4), (-5, 4)]
            } else {
                vec![(0, -5), (5, 0), (0, 5), (-5, 0)]
            };
            if filled {
                area.draw(&(EmptyElement::at(at) + Polygon::new(points, style)))
            } else {
                area.draw(&(EmptyElement::at(at) + PathElement::new(outline(points), style)))
            }
        }
    };
    drawn.map_err(|e| e.to_string())
}

/// Draws every curve into a built chart: error bars, then lines, then the marks on top.
fn draw_curves<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Coord>,
    chart: &LineChart,
    plan: &Plan,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    for (c, shown) in chart.curves.iter().zip(&plan.curves) {
        let color = c.color;
        // Bars: a plain vertical line from min to max (no marker of their own).
        ctx.draw_series(shown.bars.iter().map(|&(x, lo, hi)| {
            PathElement::new(
                vec![(x, lo), (x, hi)],
                ShapeStyle::from(&color).stroke_width(1),
            )
        }))
        .map_err(|e| e.to_string())?;
        let style = ShapeStyle::from(&color).stroke_width(2);
        for line in &shown.lines {
            let points = line.iter().copied();
            match c.line {
                Line::Solid => ctx.draw_series(LineSeries::new(points, style)),
                Line::Dashed => ctx.draw_series(DashedLineSeries::new(points, 8, 5, style)),
                Line::Dotted => ctx.draw_series(DashedLineSeries::new(points, 2, 4, style)),
            }
            .map_err(|e| e.to_string())?;
        }
    }
    let area = ctx.plotting_area();
    for (c, shown) in chart.curves.iter().zip(&plan.curves) {
        if shows_marks(c, shown) {
            for &p in &shown.markers {
                draw_marker(area, p, c.marker, c.color)?;
            }
        }
    }
    Ok(())
}

/// How close, in pixels, two curves' points must all be for the note to say that they are
/// drawn on each other.
const COINCIDE_PX: f64 = 3.0;

/// Height of one legend row, pixels.
const LEGEND_ROW: u32 = 22;
/// Size of the plot above the legend, pixels.
const PLOT_SIZE: (u32, u32) = (900, 560);
/// The margin around the plot, pixels.
const MARGIN: u32 = 12;
/// Height of the title's line above the plot, pixels.
const TITLE_HEIGHT: u32 = 38;
/// Font size of the title.
const TITLE_SIZE: f64 = 19.0;
/// Font size of the axis titles.
const AXIS_TITLE_SIZE: f64 = 14.0;
/// Font size of tick labels, the legend and the note.
const SMALL_SIZE: f64 = 13.0;
/// Room under the plot for the x tick labels and the x axis title, pixels.
const X_LABEL_AREA: u32 = 50;
/// Room left of the plot for the y tick labels and the y axis title, pixels.
const Y_LABEL_AREA: u32 = 86;
/// Width and height of the plotting area, pixels.
const PLOT_PIXELS: (f64, f64) = (
    (PLOT_SIZE.0 - 2 * MARGIN - Y_LABEL_AREA) as f64,
    (PLOT_SIZE.1 - TITLE_HEIGHT - MARGIN - X_LABEL_AREA) as f64,
);
/// The most characters in a line of the note under the plot.
const NOTE_LINE: usize = 110;

/// A tick label with at most three significant digits and no trailing zeros: plain between
/// `1e-2` and `1e5` (`0.25`, `1024`), else scientific (`1e-3`, `2.5e-7`).
fn tick_label(v: f64) -> String {
    ticks::label(v, 3)
}

/// The curves that have a legend entry: a non-empty label and something drawn.
fn legend_entries<'a>(chart: &'a LineChart, plan: &'a Plan) -> Vec<(&'a Curve, &'a Shown)> {
    chart
        .curves
        .iter()
        .zip(&plan.curves)
        .filter(|(c, s)| !c.label.is_empty() && s.has_line_or_points())
        .collect()
}

/// The note under the plot, in lines of at most [`NOTE_LINE`] characters (broken at spaces).
fn note_lines(plan: &Plan) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    for word in plan.note.as_deref().unwrap_or("").split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= NOTE_LINE => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Under the plot: the note (grey), then the legend, one entry a row: a swatch drawn like its
/// series (solid, dashed or dotted, with its mark where the series shows marks) and the label.
fn draw_below<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    plan: &Plan,
    target: text::Target,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let x = 90;
    let notes = note_lines(plan);
    for (i, line) in notes.iter().enumerate() {
        let y = (i as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        area.draw(&Text::new(
            line.clone(),
            (x, y - 7),
            ("sans-serif", SMALL_SIZE)
                .into_font()
                .color(&RGBColor(90, 90, 90)),
        ))
        .map_err(|e| e.to_string())?;
    }
    for (i, (c, shown)) in legend_entries(chart, plan).into_iter().enumerate() {
        let y = ((notes.len() + i) as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        let style = ShapeStyle::from(&c.color).stroke_width(2);
        let segments: Vec<(i32, i32)> = match c.line {
            Line::Solid => vec![(x, x + 34)],
            Line::Dashed => vec![(x, x + 8), (x + 13, x + 21), (x + 26, x + 34)],
            Line::Dotted => (0..6).map(|k| (x + 6 * k, x + 6 * k + 2)).collect(),
        };
        for (a, b) in segments {
            area.draw(&PathElement::new(vec![(a, y), (b, y)], style))
                .map_err(|e| e.to_string())?;
        }
        if shows_marks(c, shown) {
            draw_marker(area, (x + 17, y), c.marker, c.color)?;
        }
        text::draw_text(
            area,
            &c.label,
            (x + 46, y - 7),
            SMALL_SIZE,
            &BLACK,
            text::Anchor::Start,
            false,
            target,
        )?;
    }
    Ok(())
}

/// The label of the tick at `v` (a number plotters draws).
fn label_at(ticks: &ticks::Ticks, v: f64) -> String {
    ticks
        .labelled
        .iter()
        .find(|t| t.0 == v)
        .map_or_else(String::new, |t| t.1.clone())
}

/// `size`, shrunk (to at least 10) so that `text` fits in `room` pixels.
fn fitted_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    room: f64,
) -> f64 {
    let width = text::text_width(area, text, size);
    if width > room {
        (size * room / width).max(10.0)
    } else {
        size
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &LineChart,
    plan: &Plan,
    target: text::Target,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (area, below) = root.split_vertically(PLOT_SIZE.1);
    let width = PLOT_SIZE.0 as f64 - 2.0 * MARGIN as f64;
    let size = fitted_size(&area, &chart.title, TITLE_SIZE, width);
    text::draw_text(
        &area,
        &chart.title,
        (
            PLOT_SIZE.0 as i32 / 2,
            (TITLE_HEIGHT as f64 / 2.0 - size / 2.0) as i32,
        ),
        size,
        &BLACK,
        text::Anchor::Middle,
        false,
        target,
    )?;
    let x_range = Axis::new(plan.x, &plan.x_ticks);
    let y_range = Axis::new(plan.y, &plan.y_ticks);
    let mut ctx = ChartBuilder::on(&area)
        .margin(MARGIN)
        .margin_top(TITLE_HEIGHT)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_range, y_range)
        .map_err(|e| e.to_string())?;
    ctx.configure_mesh()
        .label_style(("sans-serif", SMALL_SIZE))
        .x_label_formatter(&|v| label_at(&plan.x_ticks, *v))
        .y_label_formatter(&|v| label_at(&plan.y_ticks, *v))
        .draw()
        .map_err(|e| e.to_string())?;
    draw_curves(&mut ctx, chart, plan)?;
    // The axis titles: centred under the plot, and left of it read upwards.
    let (px, py) = ctx.plotting_area().get_pixel_range();
    let size = fitted_size(&area, &chart.x_label, AXIS_TITLE_SIZE, width);
    text::draw_text(
        &area,
        &chart.x_label,
        ((px.start + px.end) / 2, py.end + 28),
        size,
        &BLACK,
        text::Anchor::Middle,
        false,
        target,
    )?;
    let height = (py.end - py.start) as f64 + 2.0 * MARGIN as f64;
    let size = fitted_size(&area, &chart.y_label, AXIS_TITLE_SIZE, height);
    text::draw_text(
        &area,
        &chart.y_label,
        (MARGIN as i32, (py.start + py.end) / 2),
        size,
        &BLACK,
        text::Anchor::Middle,
        true,
        target,
    )?;
    draw_below(&below, chart, plan, target)?;
    root.present().map_err(|e| e.to_string())
}

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

fn save_plan(chart: &LineChart, plan: &Plan, dir: &Path, stem: &str) -> Result<Drawing> {
    register_font();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let tmp_svg = dir.join(format!("{stem}.partial.svg"));
    let tmp_png = dir.join(format!("{stem}.partial.png"));
    let rows = note_lines(plan).len() + legend_entries(chart, plan).len();
    let size = (PLOT_SIZE.0, PLOT_SIZE.1 + LEGEND_ROW * rows as u32 + 8);
    let mut svg_text = String::new();
    let drawn = draw(
        SVGBackend::with_string(&mut svg_text, size).into_drawing_area(),
        chart,
        plan,
        text::Target::Svg,
    )
    .map_err(|e| plot_error(&svg, e))
    .and_then(|_| {
        std::fs::write(&tmp_svg, text::svg_scripts(&svg_text))
            .map_err(|e| Error::io("cannot write", &tmp_svg, e))
    })
    .and_then(|_| {
        draw(
            BitMapBackend::new(&tmp_png, size).into_drawing_area(),
            chart,
            plan,
            text::Target::Png,
        )
        .map_err(|e| plot_error(&png, e))
    });
    if let Err(e) = drawn {
        // Nothing half-written stays behind.
        let _ = std::fs::remove_file(&tmp_svg);
        let _ = std::fs::remove_file(&tmp_png);
        return Err(e);
    }
    for (tmp, dest) in [(&tmp_svg, &svg), (&tmp_png, &png)] {
        std::fs::rename(tmp, dest).map_err(|e| Error::io("cannot rename into place", dest, e))?;
    }
    Ok(Drawing {
        paths: vec![svg, png],
        note: plan.note.clone(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(log_x: bool, log_y: bool, points: Vec<(f64, f64)>) -> LineChart {
        let scale = |log| if log { Scale::Log } else { Scale::Linear };
        LineChart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: scale(log_x),
            y_scale: scale(log_y),
            curves: vec![Curve::measured("c", points, PALETTE[0])],
        }
    }

    #[test]
    fn the_densest_window_keeps_the_first_curve_then_the_most_points() {
        let others = |ts: &[f64]| ts.iter().map(|&t| (t, false)).collect::<Vec<_>>();
        assert_eq!(
            densest_window(&others(&[-3.0, 0.0, 20.0]), 30.0),
            (-3.0, 20.0, false)
        );
        let ts = others(&[-300.0, -30.0, -20.0, -10.0, 0.0, 250.0, 300.0]);
        assert_eq!(densest_window(&ts, 30.0), (-30.0, 0.0, true));
        // A tie keeps the lowest window.
        assert_eq!(densest_window(&others(&[-300.0, 300.0]), 30.0).0, -300.0);
        // Two points of the first curve outweigh three of the others.
        let mut ts = others(&[-300.0, -299.0, -298.0]);
        ts.extend([(250.0, true), (260.0, true)]);
        assert_eq!(densest_window(&ts, 30.0), (250.0, 260.0, true));
    }

    #[test]
    fn axis_ranges_are_finite_never_empty_and_at_most_max_decades_on_a_log_axis() {
        let cases: [&[f64]; 7] = [
            &[0.0],
            &[1e300],
            &[-1e300, 1e300],
            &[1e15, 1e15 + 0.1],
            &[-300.0, 300.0],
            &[-300.0, -299.0, 12.0, 300.0],
            &[5.0, 5.0, 5.0],
        ];
        for ts in cases {
            for (scale, is_y) in [
                (Scale::Linear, true),
                (Scale::Linear, false),
                (Scale::Log, true),
                (Scale::Log, false),
            ] {
                // Log coordinates are log₁₀ of values within [1/LIMIT, LIMIT].
                let mut t: Vec<(f64, bool)> = ts
                    .iter()
                    .map(|&v| match scale {
                        Scale::Log => (v.clamp(-300.0, 300.0), false),
                        _ => (v, false),
                    })
                    .collect();
                let r = axis_range(scale, is_y, &mut t).unwrap();
                let (lo, hi) = (scale.value(r.lo), scale.value(r.hi));
                assert!(
                    lo.is_finite() && hi.is_finite() && lo < hi,
                    "{ts:?} {scale:?}: {lo} … {hi}"
                );
                if scale == Scale::Log {
                    assert!(
                        lo > 0.0 && r.hi - r.lo <= MAX_DECADES + 1.0,
                        "{ts:?}: {r:?}"
                    );
                }
            }
        }
        assert!(axis_range(Scale::Log, true, &mut []).is_none());
    }

    #[test]
    fn a_segment_leaving_the_range_is_cut_at_its_edge() {
        let r = AxisRange {
            lo: 0.0,
            hi: 1.0,
            cut: false,
        };
        let inside = ((0.2, 0.2), (0.4, 0.6));
        assert_eq!(clip(inside.0, inside.1, &r, &r), Some(inside));
        let (a, b) = clip((0.5, 0.5), (0.5, 3.0), &r, &r).unwrap();
        assert_eq!((a, b), ((0.5, 0.5), (0.5, 1.0)));
        assert_eq!(clip((2.0, 2.0), (3.0, 5.0), &r, &r), None);
    }

    #[test]
    fn the_plan_counts_every_point_it_leaves_out() {
        let pts = vec![
            (0.0, 0.0),
            (1.0, f64::INFINITY),
            (2.0, f64::NAN),
            (3.0, 1e-300),
            (4.0, 1e300),
            (5.0, -1.0),
        ];
        let log = chart(false, true, pts.clone()).plan();
        let note = log.note.unwrap();
        assert!(note.contains("2 points with a non-finite value"), "{note}");
        assert!(note.contains("2 points with a value ≤ 0"), "{note}");
        assert!(note.contains("1 point outside the drawn range"), "{note}");
        assert!(note.contains("at most 40 decades"), "{note}");
        assert_eq!(log.curves[0].markers.len(), 1);
        let linear = chart(false, false, pts).plan();
        let note = linear.note.unwrap();
        assert!(
            note.starts_with("Not drawn: 2 points with a non-finite value"),
            "{note}"
        );
        assert!(!note.contains('≤') && !note.contains("outside"), "{note}");
        assert_eq!(linear.curves[0].markers.len(), 4);
        let all_drawn = chart(true, true, vec![(1.0, 1.0), (10.0, 100.0)]).plan();
        assert_eq!(all_drawn.note, None);
        // A log x axis is padded by a factor 1.3.
        let x0 = all_drawn.x_units.value(all_drawn.x.0);
        assert!((x0 * 1.3 - 1.0).abs() < 1e-9, "{x0}");
        assert_eq!(all_drawn.curves[0].lines.len(), 1);
    }

    #[test]
    fn a_line_breaks_at_a_missing_point_and_is_cut_where_it_leaves_the_range() {
        // A converging curve over 24 decades and one that diverges to ∞: the axis keeps the
        // first curve and 16 more decades, and the second is drawn up to its top.
        let mut c = chart(
            false,
            true,
            (0..100).map(|t| (t as f64, 10f64.powi(-t / 4))).collect(),
        );
        c.curves.push(Curve::reference(
            "diverging",
            (0..100).map(|t| (t as f64, 10f64.powi(8 * t))).collect(),
            PALETTE[1],
        ));
        let plan = c.plan();
        let (lo, hi) = (plan.y_units.value(plan.y.0), plan.y_units.value(plan.y.1));
        assert!(
            (1e-25..1e-24).contains(&lo) && (1e16..1e17).contains(&hi),
            "{lo} … {hi}"
        );
        let lines = &plan.curves[1].lines;
        assert_eq!(lines.len(), 1);
        let top = lines[0].last().unwrap().1;
        assert!((top / plan.y.1 - 1.0).abs() < 1e-9, "{top} vs {:?}", plan.y);
        let mut gap = chart(
            false,
            false,
            vec![
                (0.0, 1.0),
                (1.0, 2.0),
                (2.0, f64::NAN),
                (3.0, 1.0),
                (4.0, 0.0),
            ],
        );
        gap.curves[0].error_bars = vec![(0.0, f64::NAN, 1.0), (1.0, 0.0, f64::INFINITY)];
        let plan = gap.plan();
        assert_eq!(plan.curves[0].lines.len(), 2);
        assert_eq!(plan.curves[0].bars.len(), 1);
        let note = plan.note.unwrap();
        assert!(
            note.contains("1 error bar not drawn") && note.contains("1 error bar cut"),
            "{note}"
        );
    }
}
