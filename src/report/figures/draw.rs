//! Drawing a planned chart with plotters: the axes with the planned ticks, the curves and
//! their marks, the titles, and the note and legend under the plot; then the SVG and PNG files.

use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::plan::{Plan, Shown};
use super::{text, ticks, Curve, Drawing, Line, LineChart, Marker, Shape, MAX_MARKERS};
use crate::error::{Error, Result};

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

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io("cannot draw", path, std::io::Error::other(e.to_string()))
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
pub(super) const COINCIDE_PX: f64 = 3.0;

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
pub(super) const PLOT_PIXELS: (f64, f64) = (
    (PLOT_SIZE.0 - 2 * MARGIN - Y_LABEL_AREA) as f64,
    (PLOT_SIZE.1 - TITLE_HEIGHT - MARGIN - X_LABEL_AREA) as f64,
);
/// The most characters in a line of the note under the plot.
const NOTE_LINE: usize = 110;

/// A tick label with at most three significant digits and no trailing zeros: plain between
/// `1e-2` and `1e5` (`0.25`, `1024`), else scientific (`1e-3`, `2.5e-7`).
pub(super) fn tick_label(v: f64) -> String {
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

/// Draws the whole chart into `root`: the title, the axes and their ticks, the curves, the axis
/// titles, and the note and legend below.
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

/// Writes `chart`, as `plan` lays it out, as `<stem>.svg` and `<stem>.png` in `dir` (each
/// written beside and renamed into place, so nothing half-written stays behind).
pub(super) fn save_plan(chart: &LineChart, plan: &Plan, dir: &Path, stem: &str) -> Result<Drawing> {
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
