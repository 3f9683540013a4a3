//! Figures drawn from saved records only (`metrics.csv`, `summary.json`), as SVG and PNG.
//!
//! PNG text uses DejaVu Sans, embedded in the binary (`assets/DejaVuSans.ttf`, its licence
//! beside it), so no system font is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::report::rows::SweepRow;

pub mod landscape;
pub mod sweep;
pub mod training;

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

/// One drawn line.
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points. Those an axis cannot show (non-finite; `≤ 0` on a log axis; beyond the
    /// drawn range) are left out, the line broken or cut at the edge there, and counted in the
    /// chart's note.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Dashed (a reference or bound) rather than solid (a measurement).
    pub dashed: bool,
    /// Vertical error bars `(x, low, high)` (spread over seeds), cut at the edges of the drawn
    /// range.
    pub error_bars: Vec<(f64, f64, f64)>,
}

/// A line chart with a linear x axis and a log or linear y axis.
///
/// Drawing it never fails, loops or panics on its data: the axes show only points they can
/// (finite; positive on a log axis), a log axis spans at most [`MAX_DECADES`] decades, no
/// range has zero width, and what is left out is said in a note drawn under the plot and
/// returned with the files ([`Drawing::note`]).
pub struct LineChart {
    /// Title.
    pub title: String,
    /// x-axis label (with units/conventions).
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Log-scale y.
    pub log_y: bool,
    /// Log-scale x.
    pub log_x: bool,
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

/// The scale of one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Linear,
    Log,
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
    fn of(log: bool) -> Self {
        if log {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    /// The drawing coordinate of `v`: `v` on a linear axis, `log₁₀ v` on a log axis; or why
    /// it has none.
    fn coordinate(self, v: f64) -> std::result::Result<f64, Dropped> {
        match self {
            _ if !v.is_finite() => Err(Dropped::NonFinite),
            Scale::Linear if v.abs() <= LIMIT => Ok(v),
            Scale::Log if v <= 0.0 => Err(Dropped::NonPositive),
            Scale::Log if (1.0 / LIMIT..=LIMIT).contains(&v) => Ok(v.log10()),
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
                Scale::Linear if v > 0.0 => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            }),
        }
    }

    /// The value at drawing coordinate `t`.
    fn value(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log => 10f64.powf(t),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
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

/// How an axis's drawing coordinates `t` become the numbers plotters draws: `t / 10^e` on a
/// linear axis (`10^e` the span's order of magnitude), `10^(t − e)` on a log axis (`e` the
/// range's lowest decade); tick labels multiply back by `10^e`. plotters only ever sees
/// numbers between about 1 and 10^31: its tick search compares with an absolute
/// `f64::EPSILON`, so it loops for a very long time over a linear span of 1e-300 and skips
/// every log tick below 2.2e-16.
#[derive(Clone, Copy, Debug)]
struct Units {
    scale: Scale,
    exponent: f64,
}

impl Units {
    fn new(scale: Scale, r: &AxisRange) -> Self {
        let exponent = match scale {
            Scale::Linear => (r.hi - r.lo).log10().floor(),
            Scale::Log => r.lo.floor(),
        };
        Units { scale, exponent }
    }

    /// The number plotters draws for drawing coordinate `t`.
    fn plot(self, t: f64) -> f64 {
        match self.scale {
            Scale::Linear => t / 10f64.powf(self.exponent),
            Scale::Log => 10f64.powf(t - self.exponent),
        }
    }

    /// The value of the number `v` plotters draws (for tick labels).
    fn value(self, v: f64) -> f64 {
        v * 10f64.powf(self.exponent)
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
        Scale::Linear => (first, last, false),
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
        (Scale::Linear, false) => {
            if hi - lo <= (size * 1e-9).max(1.0 / LIMIT) {
                let width = (0.1 * size).max(1.0);
                lo -= width / 2.0;
                hi += width / 2.0;
            }
        }
        (Scale::Linear, true) => {
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
    x_units: Units,
    y_units: Units,
    curves: Vec<Shown>,
    note: Option<String>,
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
    /// The axis ranges, each curve as drawn, and the note: points an axis cannot show are
    /// left out (the line broken there), a log axis spans at most [`MAX_DECADES`] decades
    /// (those holding the most points of the first curve, then of the others), lines and bars
    /// are cut at the range's edges.
    fn plan(&self) -> Plan {
        let (sx, sy) = (Scale::of(self.log_x), Scale::of(self.log_y));
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
            let unit = |s: Scale| match s {
                Scale::Linear => (0.0, 1.0),
                Scale::Log => (1.0, 10.0),
            };
            let units = |scale: Scale| Units {
                scale,
                exponent: 0.0,
            };
            return Plan {
                x: unit(sx),
                y: unit(sy),
                x_units: units(sx),
                y_units: units(sy),
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
            x_units: ux,
            y_units: uy,
            curves,
            note: None,
        };
        let note = self.note(
            !plan.has_data(),
            dropped,
            (bars_dropped, bars_cut),
            [
                x.cut.then(|| (sx.value(x.lo), sx.value(x.hi))),
                y.cut.then(|| (sy.value(y.lo), sy.value(y.hi))),
            ],
        );
        plan.note = (!note.is_empty()).then_some(note);
        plan
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
        let scales = [Scale::of(self.log_x), Scale::of(self.log_y)];
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

/// Draws the mesh, every curve (error bars, markers, line) and the legend into a built chart
/// context. A macro rather than a function because the four axis combinations (linear/log x
/// and y) give four context types.
macro_rules! draw_curves {
    ($ctx:expr, $chart:expr, $plan:expr) => {{
        let chart: &LineChart = $chart;
        let plan: &Plan = $plan;
        let mut ctx = $ctx;
        ctx.configure_mesh()
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .label_style(("sans-serif", 13))
            .x_label_formatter(&|v| tick_label(plan.x_units.value(*v)))
            .y_label_formatter(&|v| tick_label(plan.y_units.value(*v)))
            .draw()
            .map_err(|e| e.to_string())?;
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
            if !c.dashed && shown.markers.len() <= 60 {
                ctx.draw_series(
                    shown
                        .markers
                        .iter()
                        .map(|&p| Circle::new(p, 3, ShapeStyle::from(&color).filled())),
                )
                .map_err(|e| e.to_string())?;
            }
            let style = ShapeStyle::from(&color).stroke_width(2);
            for line in &shown.lines {
                if c.dashed {
                    ctx.draw_series(DashedLineSeries::new(line.iter().copied(), 8, 5, style))
                        .map_err(|e| e.to_string())?;
                } else {
                    ctx.draw_series(LineSeries::new(line.iter().copied(), style))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
    }};
}

/// Height of one legend row, pixels.
const LEGEND_ROW: u32 = 22;
/// Size of the plot above the legend, pixels.
const PLOT_SIZE: (u32, u32) = (900, 560);
/// The most characters in a line of the note under the plot.
const NOTE_LINE: usize = 110;

/// A tick label with at most three significant digits and no trailing zeros: plain between
/// `1e-2` and `1e5` (`0.25`, `1024`), else scientific (`1e-3`, `2.5e-7`), so that nearby ticks
/// never print the same text.
fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if (1e-2..1e5).contains(&v.abs()) {
        let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        let text = format!("{v:.digits$}");
        return if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
    }
    let text = format!("{v:.2e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    format!("{mantissa}e{exponent}")
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
/// series (dashed for dashed, with a dot for series drawn with markers) and the label.
fn draw_below<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    plan: &Plan,
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
            ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(|e| e.to_string())?;
    }
    for (i, (c, shown)) in legend_entries(chart, plan).into_iter().enumerate() {
        let y = ((notes.len() + i) as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        let style = ShapeStyle::from(&c.color).stroke_width(2);
        let segments: Vec<(i32, i32)> = if c.dashed {
            vec![(x, x + 8), (x + 13, x + 21), (x + 26, x + 34)]
        } else {
            vec![(x, x + 34)]
        };
        for (a, b) in segments {
            area.draw(&PathElement::new(vec![(a, y), (b, y)], style))
                .map_err(|e| e.to_string())?;
        }
        if !c.dashed && shown.markers.len() <= 60 {
            area.draw(&Circle::new((x + 17, y), 3, style.filled()))
                .map_err(|e| e.to_string())?;
        }
        area.draw(&Text::new(
            c.label.clone(),
            (x + 44, y - 7),
            ("sans-serif", 13).into_font().color(&BLACK),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &LineChart,
    plan: &Plan,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (area, below) = root.split_vertically(PLOT_SIZE.1);
    let ((x0, x1), (y0, y1)) = (plan.x, plan.y);
    let mut builder = ChartBuilder::on(&area);
    builder
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(80);
    match (chart.log_x, chart.log_y) {
        (false, true) => draw_curves!(
            builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(|e| e.to_string())?,
            chart,
            plan
        ),
        (false, false) => draw_curves!(
            builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?,
            chart,
            plan
        ),
        (true, true) => draw_curves!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(|e| e.to_string())?,
            chart,
            plan
        ),
        (true, false) => draw_curves!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| e.to_string())?,
            chart,
            plan
        ),
    }
    draw_below(&below, chart, plan)?;
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
    let drawn = draw(
        SVGBackend::new(&tmp_svg, size).into_drawing_area(),
        chart,
        plan,
    )
    .map_err(|e| plot_error(&svg, e))
    .and_then(|_| {
        draw(
            BitMapBackend::new(&tmp_png, size).into_drawing_area(),
            chart,
            plan,
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

pub(crate) fn measured(label: String, agg: &[Aggregate], color: RGBColor) -> Curve {
    Curve {
        label,
        points: agg.iter().map(|a| (a.0, a.1)).collect(),
        color,
        dashed: false,
        error_bars: agg.iter().map(|a| (a.0, a.2, a.3)).collect(),
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
        LineChart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_y,
            log_x,
            curves: vec![Curve {
                label: "c".into(),
                points,
                color: PALETTE[0],
                dashed: false,
                error_bars: vec![],
            }],
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
                        Scale::Linear => (v, false),
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
        c.curves.push(Curve {
            label: "diverging".into(),
            points: (0..100).map(|t| (t as f64, 10f64.powi(8 * t))).collect(),
            color: PALETTE[1],
            dashed: true,
            error_bars: vec![],
        });
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
