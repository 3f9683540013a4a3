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
    /// `(x, y)` points (non-positive y are skipped on a log axis).
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Dashed (a reference or bound) rather than solid (a measurement).
    pub dashed: bool,
    /// Vertical error bars `(x, low, high)` (spread over seeds).
    pub error_bars: Vec<(f64, f64, f64)>,
}

/// A line chart with a linear x axis and a log or linear y axis.
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

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io("cannot draw", path, std::io::Error::other(e.to_string()))
}

impl LineChart {
    /// Whether `y` can be drawn on this chart's y axis (finite; positive on a log axis).
    fn keeps_y(&self, y: f64) -> bool {
        y.is_finite() && (!self.log_y || y > 0.0)
    }

    /// Whether `x` can be drawn on this chart's x axis.
    fn keeps_x(&self, x: f64) -> bool {
        x.is_finite() && (!self.log_x || x > 0.0)
    }

    /// The axis ranges `(x0, x1, y0, y1)` covering every drawable point and error bar, padded
    /// (by a factor on log axes, by 5% of the span on a linear y axis).
    fn axis_ranges(&self) -> std::result::Result<(f64, f64, f64, f64), String> {
        let bar_points: Vec<(f64, f64)> = self
            .curves
            .iter()
            .flat_map(|c| {
                c.error_bars
                    .iter()
                    .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
            })
            .collect();
        let pts = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter())
            .chain(bar_points.iter())
            .filter(|(x, y)| self.keeps_y(*y) && self.keeps_x(*x));
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            return Err("nothing to draw".into());
        }
        if self.log_x {
            if x1 <= x0 {
                x1 = x0 * 2.0;
            }
            x0 /= 1.3;
            x1 *= 1.3;
        } else if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if self.log_y {
            if y1 <= y0 {
                y1 = y0 * 10.0;
            }
            y0 /= 1.5;
            y1 *= 1.5;
        } else {
            let pad = (y1 - y0).abs().max(1e-12) * 0.05;
            y0 -= pad;
            y1 += pad;
        }
        Ok((x0, x1, y0, y1))
    }
}

/// Draws the mesh, every curve (error bars, markers, line) and the legend into a built chart
/// context. A macro rather than a function because the four axis combinations (linear/log x
/// and y) give four context types.
macro_rules! draw_curves {
    ($ctx:expr, $chart:expr) => {{
        let chart: &LineChart = $chart;
        let mut ctx = $ctx;
        ctx.configure_mesh()
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .label_style(("sans-serif", 13))
            .x_label_formatter(&|v| tick_label(*v))
            .y_label_formatter(&|v| tick_label(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        for c in &chart.curves {
            let points: Vec<(f64, f64)> = c
                .points
                .iter()
                .copied()
                .filter(|(x, y)| chart.keeps_y(*y) && chart.keeps_x(*x))
                .collect();
            let color = c.color;
            let bars: Vec<(f64, f64, f64)> = c
                .error_bars
                .iter()
                .copied()
                .filter(|&(x, lo, hi)| chart.keeps_x(x) && chart.keeps_y(lo) && chart.keeps_y(hi))
                .collect();
            // Bars: a plain vertical line from min to max (no marker of their own).
            ctx.draw_series(bars.into_iter().map(|(x, lo, hi)| {
                PathElement::new(
                    vec![(x, lo), (x, hi)],
                    ShapeStyle::from(&color).stroke_width(1),
                )
            }))
            .map_err(|e| e.to_string())?;
            if !c.dashed && points.len() <= 60 {
                ctx.draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, 3, ShapeStyle::from(&color).filled())),
                )
                .map_err(|e| e.to_string())?;
            }
            let style = ShapeStyle::from(&color).stroke_width(2);
            if c.dashed {
                ctx.draw_series(DashedLineSeries::new(points, 8, 5, style))
                    .map_err(|e| e.to_string())?;
            } else {
                ctx.draw_series(LineSeries::new(points, style))
                    .map_err(|e| e.to_string())?;
            }
        }
    }};
}

/// Height of one legend row, pixels.
const LEGEND_ROW: u32 = 22;
/// Size of the plot above the legend, pixels.
const PLOT_SIZE: (u32, u32) = (900, 560);

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
fn legend_entries(chart: &LineChart) -> Vec<&Curve> {
    chart
        .curves
        .iter()
        .filter(|c| {
            !c.label.is_empty()
                && c.points
                    .iter()
                    .any(|&(x, y)| chart.keeps_x(x) && chart.keeps_y(y))
        })
        .collect()
}

/// The legend below the plot, one entry a row: a swatch drawn like its series (dashed for
/// dashed, with a dot for series drawn with markers) and the label.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    for (i, c) in legend_entries(chart).into_iter().enumerate() {
        let y = (i as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        let x = 90;
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
        if !c.dashed && c.points.len() <= 60 {
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
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (area, legend) = root.split_vertically(PLOT_SIZE.1);
    let (x0, x1, y0, y1) = chart.axis_ranges()?;
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
            chart
        ),
        (false, false) => draw_curves!(
            builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?,
            chart
        ),
        (true, true) => draw_curves!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(|e| e.to_string())?,
            chart
        ),
        (true, false) => draw_curves!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| e.to_string())?,
            chart
        ),
    }
    draw_legend(&legend, chart)?;
    root.present().map_err(|e| e.to_string())
}

/// Writes `chart` as `<stem>.svg` and `<stem>.png` in `dir`; returns both paths.
pub fn save(chart: &LineChart, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    register_font();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let tmp_svg = dir.join(format!("{stem}.partial.svg"));
    let tmp_png = dir.join(format!("{stem}.partial.png"));
    let size = (
        PLOT_SIZE.0,
        PLOT_SIZE.1 + LEGEND_ROW * legend_entries(chart).len() as u32 + 8,
    );
    let drawn = draw(SVGBackend::new(&tmp_svg, size).into_drawing_area(), chart)
        .map_err(|e| plot_error(&svg, e))
        .and_then(|_| {
            draw(
                BitMapBackend::new(&tmp_png, size).into_drawing_area(),
                chart,
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
    Ok(vec![svg, png])
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

/// Saves `chart` unless it has nothing to draw (e.g. only non-positive values on a log
/// axis); returns whether it was drawn.
pub(crate) fn save_if_drawable(chart: &LineChart, dir: &Path, stem: &str) -> Result<bool> {
    Ok(!save_drawable(chart, dir, stem)?.is_empty())
}

/// [`save`], or nothing (no file, no error) when the chart has nothing to draw.
pub(crate) fn save_drawable(chart: &LineChart, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    if chart.axis_ranges().is_err() {
        return Ok(vec![]);
    }
    save(chart, dir, stem)
}
