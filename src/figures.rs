//! Figures drawn from saved records only (`metrics.csv`, `summary.json`), as SVG and PNG.
//!
//! PNG text uses DejaVu Sans, embedded in the binary (`assets/DejaVuSans.ttf`, its licence
//! beside it), so no system font is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
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
    /// The curves.
    pub curves: Vec<Curve>,
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io("cannot draw", path, std::io::Error::other(e.to_string()))
}

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let keep = |y: f64| y.is_finite() && (!chart.log_y || y > 0.0);
    let pts = chart
        .curves
        .iter()
        .flat_map(|c| c.points.iter())
        .filter(|(_, y)| keep(*y));
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
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if chart.log_y {
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
    let mut builder = ChartBuilder::on(&area);
    builder
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(80);
    macro_rules! body {
        ($ctx:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_desc(chart.x_label.as_str())
                .y_desc(chart.y_label.as_str())
                .label_style(("sans-serif", 13))
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.1e}"))
                .draw()
                .map_err(|e| e.to_string())?;
            for c in &chart.curves {
                let points: Vec<(f64, f64)> =
                    c.points.iter().copied().filter(|(_, y)| keep(*y)).collect();
                let color = c.color;
                let style = ShapeStyle::from(&color).stroke_width(2);
                if c.dashed {
                    ctx.draw_series(DashedLineSeries::new(points, 8, 5, style))
                        .map_err(|e| e.to_string())?
                        .label(c.label.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
                } else {
                    ctx.draw_series(LineSeries::new(points, style))
                        .map_err(|e| e.to_string())?
                        .label(c.label.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
                }
            }
            ctx.configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }};
    }
    if chart.log_y {
        body!(builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(|e| e.to_string())?);
    } else {
        body!(builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?);
    }
    area.present().map_err(|e| e.to_string())
}

/// Writes `chart` as `<stem>.svg` and `<stem>.png` in `dir`; returns both paths.
pub fn save(chart: &LineChart, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    register_font();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let tmp_svg = dir.join(format!("{stem}.partial.svg"));
    let tmp_png = dir.join(format!("{stem}.partial.png"));
    draw(
        SVGBackend::new(&tmp_svg, (900, 560)).into_drawing_area(),
        chart,
    )
    .map_err(|e| plot_error(&svg, e))?;
    draw(
        BitMapBackend::new(&tmp_png, (900, 560)).into_drawing_area(),
        chart,
    )
    .map_err(|e| plot_error(&png, e))?;
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

/// The two figures of a training run, from `dir/metrics.csv` and `dir/summary.json`:
/// the loss against the theorem's bound (log scale) and `‖w_t − w₀‖` against `R`.
pub fn training_figures(dir: &Path) -> Result<Vec<PathBuf>> {
    let rows = read_metrics(&dir.join("metrics.csv"))?;
    let summary_path = dir.join("summary.json");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&summary_path)
            .map_err(|e| Error::io("cannot read", &summary_path, e))?,
    )
    .map_err(|e| Error::io("cannot parse", &summary_path, std::io::Error::other(e)))?;
    let col = |name: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| {
                Some((
                    r.get("step")?.as_ref().copied()?,
                    r.get(name)?.as_ref().copied()?,
                ))
            })
            .collect()
    };
    let eta = summary["step_size"]["value"].as_f64().unwrap_or(f64::NAN);
    let mu = summary["card"]["mu_hat"].as_f64();
    let radius = summary["card"]["radius"].as_f64();
    let mut out = vec![];
    let mut curves = vec![Curve {
        label: "L(w_t) = ½‖F(w_t) − y‖² (measured)".into(),
        points: col("loss"),
        color: RGBColor(31, 119, 180),
        dashed: false,
    }];
    if let Some(mu) = mu {
        curves.push(Curve {
            label: format!("bound (1 − η μ̂)^t L(w₀), η = {eta:.3e}, μ̂ = {mu:.3e}"),
            points: col("loss_bound"),
            color: RGBColor(214, 39, 40),
            dashed: true,
        });
    }
    out.extend(save(
        &LineChart {
            title: "Training loss against the PL* rate bound".into(),
            x_label: "step t".into(),
            y_label: "loss (log scale)".into(),
            log_y: true,
            curves,
        },
        dir,
        "loss_vs_bound",
    )?);
    let dist = col("distance_from_init");
    let mut curves = vec![Curve {
        label: "‖w_t − w₀‖ (measured)".into(),
        points: dist.clone(),
        color: RGBColor(44, 160, 44),
        dashed: false,
    }];
    if let Some(r) = radius.filter(|r| r.is_finite()) {
        let last = dist.last().map_or(1.0, |p| p.0);
        curves.push(Curve {
            label: format!("R = 2 L̂_F ‖r₀‖ / μ̂ = {r:.3e}"),
            points: vec![(0.0, r), (last, r)],
            color: RGBColor(214, 39, 40),
            dashed: true,
        });
    }
    out.extend(save(
        &LineChart {
            title: "Distance from initialization against the ball radius R".into(),
            x_label: "step t".into(),
            y_label: "‖w_t − w₀‖ (log scale)".into(),
            log_y: true,
            curves,
        },
        dir,
        "distance_vs_radius",
    )?);
    Ok(out)
}
