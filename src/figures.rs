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

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let keep = |y: f64| y.is_finite() && (!chart.log_y || y > 0.0);
    let keep_x = |x: f64| x.is_finite() && (!chart.log_x || x > 0.0);
    let bar_points: Vec<(f64, f64)> = chart
        .curves
        .iter()
        .flat_map(|c| {
            c.error_bars
                .iter()
                .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
        })
        .collect();
    let pts = chart
        .curves
        .iter()
        .flat_map(|c| c.points.iter())
        .chain(bar_points.iter())
        .filter(|(x, y)| keep(*y) && keep_x(*x));
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
    if chart.log_x {
        if x1 <= x0 {
            x1 = x0 * 2.0;
        }
        x0 /= 1.3;
        x1 *= 1.3;
    } else if x1 <= x0 {
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
                .x_label_formatter(&|v| {
                    if v.abs() >= 10.0 || *v == 0.0 {
                        format!("{v:.0}")
                    } else if v.abs() >= 0.01 {
                        format!("{v:.2}")
                    } else {
                        format!("{v:.0e}")
                    }
                })
                .y_label_formatter(&|v| format!("{v:.1e}"))
                .draw()
                .map_err(|e| e.to_string())?;
            for c in &chart.curves {
                let points: Vec<(f64, f64)> = c
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| keep(*y) && keep_x(*x))
                    .collect();
                let color = c.color;
                let bars: Vec<(f64, f64, f64)> = c
                    .error_bars
                    .iter()
                    .copied()
                    .filter(|&(x, lo, hi)| keep_x(x) && keep(lo) && keep(hi))
                    .collect();
                ctx.draw_series(bars.into_iter().map(|(x, lo, hi)| {
                    let mid = if chart.log_y {
                        (lo * hi).sqrt()
                    } else {
                        0.5 * (lo + hi)
                    };
                    ErrorBar::new_vertical(
                        x,
                        lo,
                        mid,
                        hi,
                        ShapeStyle::from(&color).stroke_width(1),
                        8,
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
    match (chart.log_x, chart.log_y) {
        (false, true) => body!(builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(|e| e.to_string())?),
        (false, false) => body!(builder
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?),
        (true, true) => body!(builder
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|e| e.to_string())?),
        (true, false) => body!(builder
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            .map_err(|e| e.to_string())?),
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

/// `(step, value)` for every row of a read metrics file where both are present.
fn step_column(
    rows: &[std::collections::HashMap<String, Option<f64>>],
    name: &str,
) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| Some(((*r.get("step")?)?, (*r.get(name)?)?)))
        .collect()
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
    let col = |name: &str| step_column(&rows, name);
    let eta = summary["step_size"]["value"].as_f64().unwrap_or(f64::NAN);
    let mu = summary["card"]["mu_hat"].as_f64();
    let radius = summary["card"]["radius"].as_f64();
    let mut out = vec![];
    let mut curves = vec![Curve {
        label: "L(w_t) = ½‖F(w_t) − y‖² (measured)".into(),
        points: col("loss"),
        color: RGBColor(31, 119, 180),
        dashed: false,
        error_bars: vec![],
    }];
    if let Some(mu) = mu {
        curves.push(Curve {
            label: format!("bound (1 − η μ̂)^t L(w₀), η = {eta:.3e}, μ̂ = {mu:.3e}"),
            points: col("loss_bound"),
            color: RGBColor(214, 39, 40),
            dashed: true,
            error_bars: vec![],
        });
    }
    out.extend(save(
        &LineChart {
            title: "Training loss against the PL* rate bound".into(),
            x_label: "step t".into(),
            y_label: "loss (log scale)".into(),
            log_y: true,
            log_x: false,
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
        error_bars: vec![],
    }];
    if let Some(r) = radius.filter(|r| r.is_finite()) {
        let last = dist.last().map_or(1.0, |p| p.0);
        curves.push(Curve {
            label: format!("R = 2 L̂_F ‖r₀‖ / μ̂ = {r:.3e}"),
            points: vec![(0.0, r), (last, r)],
            color: RGBColor(214, 39, 40),
            dashed: true,
            error_bars: vec![],
        });
    }
    out.extend(save(
        &LineChart {
            title: "Distance from initialization against the ball radius R".into(),
            x_label: "step t".into(),
            y_label: "‖w_t − w₀‖ (log scale)".into(),
            log_y: true,
            log_x: false,
            curves,
        },
        dir,
        "distance_vs_radius",
    )?);
    Ok(out)
}

/// A figure written by [`sweep_figures`], with its caption and the numbers it shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figure {
    /// File stem (`.svg` and `.png` beside it).
    pub stem: String,
    /// Caption: what is plotted, in the theory's conventions.
    pub caption: String,
    /// Measured numbers next to the theory's predictions.
    pub numbers: Vec<(String, String)>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Per-series, per-x aggregates over seeds: `(x, mean, min, max)`.
fn aggregate(
    rows: &[&crate::sweep::SweepRow],
    x: impl Fn(&crate::sweep::SweepRow) -> f64,
    y: impl Fn(&crate::sweep::SweepRow) -> f64,
) -> Vec<(f64, f64, f64, f64)> {
    let mut by_x: std::collections::BTreeMap<u64, (f64, Vec<f64>)> = Default::default();
    for r in rows {
        let (xv, yv) = (x(r), y(r));
        if xv.is_finite() && yv.is_finite() {
            by_x.entry(xv.to_bits()).or_insert((xv, vec![])).1.push(yv);
        }
    }
    let mut out: Vec<(f64, f64, f64, f64)> = by_x
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

fn measured(label: String, agg: &[(f64, f64, f64, f64)], color: RGBColor) -> Curve {
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
fn save_if_drawable(chart: &LineChart, dir: &Path, stem: &str) -> Result<bool> {
    match save(chart, dir, stem) {
        Ok(_) => Ok(true),
        Err(e) if e.to_string().contains("nothing to draw") => Ok(false),
        Err(e) => Err(e),
    }
}

/// The figures of a sweep, from `dir/rows.csv` (or its shards) and `dir/sweep.json` only:
/// (a) λ₀ and μ̂/λ₀ against width, with the infinite-width λ_min where a closed form exists;
/// (b) ‖H_F(w₀)‖ against width (log-log, fitted slope, −½ reference);
/// (c) the relative kernel change after training against width (log-log, fitted slope);
/// (d) loss curves of several widths against each width's bound (seed of the first row);
/// (e) λ_min(K(w₀)) and the final loss against p/n. Error bars: min–max over seeds.
pub fn sweep_figures(dir: &Path) -> Result<Vec<Figure>> {
    use crate::sweep::{read_rows, SweepRecord, SweepRow};
    let record_path = dir.join("sweep.json");
    let record: SweepRecord = serde_json::from_str(
        &std::fs::read_to_string(&record_path)
            .map_err(|e| Error::io("cannot read", &record_path, e))?,
    )
    .map_err(|e| Error::io("cannot parse", &record_path, std::io::Error::other(e)))?;
    let mut rows: Vec<SweepRow> = vec![];
    for e in std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot read", dir, e))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("rows") && name.ends_with(".csv") {
            rows.extend(read_rows(&e.path())?);
        }
    }
    rows.sort_by_key(|r| (r.point, r.seed));
    rows.dedup_by_key(|r| (r.point, r.seed));
    if rows.is_empty() {
        return Err(Error::config(
            "plot",
            format!(
                "{} has no sweep rows yet: run plstar sweep first",
                dir.display()
            ),
        ));
    }
    // Series: everything but the width.
    let mut keys: Vec<(String, String, usize, usize)> = rows
        .iter()
        .map(|r| {
            (
                r.output_activation.clone(),
                r.activation.clone(),
                r.depth,
                r.n,
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    let series = |k: &(String, String, usize, usize)| -> Vec<&SweepRow> {
        rows.iter()
            .filter(|r| {
                (&r.output_activation, &r.activation, r.depth, r.n) == (&k.0, &k.1, k.2, k.3)
            })
            .collect()
    };
    let label = |k: &(String, String, usize, usize)| {
        format!("{} / out {} / L = {} / n = {}", k.1, k.0, k.2, k.3)
    };
    let mut figures = vec![];

    // (a) λ₀ against width, with K∞'s λ_min.
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in keys.iter().enumerate() {
        let s = series(k);
        let agg = aggregate(&s, |r| r.width as f64, |r| r.lambda0);
        curves.push(measured(
            format!("λ₀ = λ_min(K(w₀)): {}", label(k)),
            &agg,
            PALETTE[i % 6],
        ));
        if let Some(last) = agg.last() {
            numbers.push((
                format!("λ₀ at width {} ({})", last.0, label(k)),
                format!("{:.4e}", last.1),
            ));
        }
        let act = crate::model::Activation::ALL
            .into_iter()
            .find(|a| a.name() == k.1);
        if let (Some(act), 1, "identity") = (act, k.2, k.0.as_str()) {
            let mut data_cfg = record.sweep.base.data.clone();
            data_cfg.n = Some(k.3);
            if let (Ok(data), false) = (data_cfg.load(), record.sweep.base.model.bias) {
                if let Some(kinf) = crate::infinite::infinite_width_kernel(act, &data) {
                    if let Ok(spec) = crate::spectrum::dense_spectrum(&kinf) {
                        let (x0, x1) = (
                            agg.first().map_or(1.0, |a| a.0),
                            agg.last().map_or(2.0, |a| a.0),
                        );
                        curves.push(Curve {
                            label: format!(
                                "λ_min(K∞) = {:.3e} (infinite width, closed form)",
                                spec.lambda_min
                            ),
                            points: vec![(x0, spec.lambda_min), (x1, spec.lambda_min)],
                            color: PALETTE[i % 6],
                            dashed: true,
                            error_bars: vec![],
                        });
                        numbers.push((
                            format!("λ_min(K∞) ({})", label(k)),
                            format!("{:.4e}", spec.lambda_min),
                        ));
                    }
                }
            }
        }
    }
    let drawn = save_if_drawable(
        &LineChart {
            title: "(a) Smallest eigenvalue of the tangent kernel at init vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "λ₀ = λ_min(K(w₀)) (log scale)".into(),
            log_y: true,
            log_x: true,
            curves,
        },
        dir,
        "a_lambda0_vs_width",
    )?;
    if drawn {
        figures.push(Figure { stem: "a_lambda0_vs_width".into(), caption: "λ₀ = λ_min(K(w₀)) of K = DF DFᵀ (no averaging) against the width m, mean over seeds with min–max bars; dashed: λ_min of the closed-form infinite-width kernel (one hidden layer, erf/ReLU, no bias), the limit λ₀ approaches.".into(), numbers });
    }

    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in keys.iter().enumerate() {
        let s = series(k);
        let agg = aggregate(&s, |r| r.width as f64, |r| r.mu_trajectory / r.lambda0);
        curves.push(measured(
            format!("μ̂ (trajectory) / λ₀: {}", label(k)),
            &agg,
            PALETTE[i % 6],
        ));
        let probes = aggregate(&s, |r| r.width as f64, |r| r.mu_probes / r.lambda0);
        if !probes.is_empty() {
            let mut c = measured(
                format!("μ̂ (ball probes) / λ₀: {}", label(k)),
                &probes,
                PALETTE[(i + 3) % 6],
            );
            c.dashed = false;
            curves.push(c);
        }
        if let (Some(a), Some(b)) = (agg.first(), agg.last()) {
            numbers.push((
                format!("μ̂/λ₀ (trajectory), width {} → {} ({})", a.0, b.0, label(k)),
                format!("{:.4} → {:.4} (theory: → 1)", a.1, b.1),
            ));
        }
        if let (Some(a), Some(b)) = (probes.first(), probes.last()) {
            numbers.push((
                format!("μ̂/λ₀ (probes), width {} → {} ({})", a.0, b.0, label(k)),
                format!("{:.4} → {:.4}", a.1, b.1),
            ));
        }
    }
    let drawn = save_if_drawable(
        &LineChart {
            title: "(a) μ̂ / λ₀ against width: uniform conditioning as m grows".into(),
            x_label: "width m (log scale)".into(),
            y_label: "μ̂ / λ₀".into(),
            log_y: false,
            log_x: true,
            curves,
        },
        dir,
        "a_mu_ratio_vs_width",
    )?;
    if drawn {
        figures.push(Figure { stem: "a_mu_ratio_vs_width".into(), caption: "μ̂/λ₀ against width: μ̂ is the smallest λ_min(K) measured along the GD trajectory (solid) and over probes of the ball B(w₀, R) (second colour); the theory predicts μ̂/λ₀ → 1 as m grows.".into(), numbers });
    }

    // (b) and (c): log-log with fitted slopes.
    for (stem, title, ylabel, pick, reference, caption) in [
        ("b_hessian_vs_width", "(b) Hessian norm ‖H_F(w₀)‖ against width", "‖H_F(w₀)‖ (log scale)", 0, -0.5, "‖H_F(w₀)‖ = sup over unit z, u of |uᵀ(Σ_k z_k H_{F_k})u| against width, log-log, with the least-squares slope; dashed: slope −½, the theory's rate for a linear output (≈ 0 for a non-linear output layer)."),
        ("c_kernel_change_vs_width", "(c) Relative kernel change after training against width", "‖K(w_T) − K(w₀)‖_F / ‖K(w₀)‖_F (log scale)", 1, -0.5, "Relative change of the tangent kernel between w₀ and the end of GD, log-log, with the least-squares slope; dashed: slope −½, the theory's rate."),
    ] {
        let mut curves = vec![];
        let mut numbers = vec![];
        for (i, k) in keys.iter().enumerate() {
            let s = series(k);
            let agg = aggregate(&s, |r| r.width as f64, |r| if pick == 0 { r.hessian_norm0 } else { r.kernel_change });
            let xs: Vec<f64> = s.iter().map(|r| r.width as f64).collect();
            let ys: Vec<f64> = s.iter().map(|r| if pick == 0 { r.hessian_norm0 } else { r.kernel_change }).collect();
            let fit = crate::fit::power_law(&xs, &ys);
            let fit_text = fit.map_or("no fit".to_string(), |f| format!("slope {:.3} ± {:.3}", f.slope, f.slope_stderr));
            curves.push(measured(format!("{} ({fit_text})", label(k)), &agg, PALETTE[i % 6]));
            if let (Some(f), Some(first), Some(last)) = (fit, agg.first(), agg.last()) {
                let c0 = first.1 / first.0.powf(reference);
                curves.push(Curve { label: format!("reference slope {reference}"), points: vec![(first.0, first.1), (last.0, c0 * last.0.powf(reference))], color: PALETTE[i % 6], dashed: true, error_bars: vec![] });
                numbers.push((format!("fitted slope ({})", label(k)), format!("{:.3} ± {:.3} (theory: {} for a linear output)", f.slope, f.slope_stderr, reference)));
            }
        }
        let drawn = save_if_drawable(&LineChart { title: title.into(), x_label: "width m (log scale)".into(), y_label: ylabel.into(), log_y: true, log_x: true, curves }, dir, stem)?;
        if drawn { figures.push(Figure { stem: stem.into(), caption: caption.into(), numbers }); }
    }

    // (d) loss curves against their bounds, first series, first seed.
    if let Some(k) = keys.first() {
        let s = series(k);
        let seed = s[0].seed;
        let mut curves = vec![];
        for (i, r) in s.iter().filter(|r| r.seed == seed).enumerate() {
            let path = dir
                .join("curves")
                .join(format!("point{}_seed{}.csv", r.point, r.seed));
            let Ok(m) = read_metrics(&path) else { continue };
            let col = |name: &str| step_column(&m, name);
            curves.push(Curve {
                label: format!("m = {}: L(w_t)", r.width),
                points: col("loss"),
                color: PALETTE[i % 6],
                dashed: false,
                error_bars: vec![],
            });
            let bound = col("loss_bound");
            if !bound.is_empty() {
                curves.push(Curve {
                    label: format!("m = {}: bound (1 − ημ̂)^t L(w₀)", r.width),
                    points: bound,
                    color: PALETTE[i % 6],
                    dashed: true,
                    error_bars: vec![],
                });
            }
        }
        if !curves.is_empty() {
            let drawn = save_if_drawable(
                &LineChart {
                    title: "(d) Loss curves against each width's PL* bound".into(),
                    x_label: "step t".into(),
                    y_label: "L(w_t) = ½‖F − y‖² (log scale)".into(),
                    log_y: true,
                    log_x: false,
                    curves,
                },
                dir,
                "d_loss_curves",
            )?;
            if drawn {
                figures.push(Figure { stem: "d_loss_curves".into(), caption: format!("GD loss curves (seed {seed}) for each width (solid) against the theorem's bound (1 − η μ̂)^t L(w₀) with that run's μ̂ from the probes (dashed)."), numbers: vec![] });
            }
        }
    }

    // (e) λ₀ and final loss against p/n.
    let mut curves = vec![];
    let mut numbers = vec![];
    for (i, k) in keys.iter().enumerate() {
        let s = series(k);
        let lam = aggregate(
            &s,
            |r| r.p as f64 / r.n as f64,
            |r| r.lambda0.abs().max(1e-18),
        );
        let loss = aggregate(&s, |r| r.p as f64 / r.n as f64, |r| r.final_loss.max(1e-18));
        curves.push(measured(
            format!("abs(λ₀) ({})", label(k)),
            &lam,
            PALETTE[i % 6],
        ));
        let mut c = measured(
            format!("final loss ({})", label(k)),
            &loss,
            PALETTE[(i + 3) % 6],
        );
        c.dashed = false;
        curves.push(c);
        let under: Vec<f64> = s
            .iter()
            .filter(|r| r.p < r.n)
            .map(|r| r.lambda0.abs())
            .collect();
        let over: Vec<f64> = s.iter().filter(|r| r.p >= r.n).map(|r| r.lambda0).collect();
        if !under.is_empty() && !over.is_empty() {
            numbers.push((
                format!("max abs(λ₀) with p < n ({})", label(k)),
                format!(
                    "{:.3e} (theory: 0)",
                    under.iter().copied().fold(0.0, f64::max)
                ),
            ));
            numbers.push((
                format!("min λ₀ with p ≥ n ({})", label(k)),
                format!(
                    "{:.3e} (theory: > 0)",
                    over.iter().copied().fold(f64::INFINITY, f64::min)
                ),
            ));
        }
    }
    let x_cross = vec![(1.0, 1e-18), (1.0, 1e3)];
    curves.push(Curve {
        label: "p = n".into(),
        points: x_cross,
        color: RGBColor(0, 0, 0),
        dashed: true,
        error_bars: vec![],
    });
    let drawn = save_if_drawable(
        &LineChart {
            title: "(e) Under- vs over-parameterized: λ_min(K(w₀)) and final loss against p/n"
                .into(),
            x_label: "p / n (log scale)".into(),
            y_label: "abs(λ₀) and final L (log scale; 1e-18 = zero)".into(),
            log_y: true,
            log_x: true,
            curves,
        },
        dir,
        "e_p_over_n",
    )?;
    if drawn {
        figures.push(Figure { stem: "e_p_over_n".into(), caption: "The absolute value of λ_min(K(w₀)) and the final training loss against p/n: rank K ≤ min(n, p), so λ₀ is zero (round-off) for p < n and positive for p ≥ n; the loss reaches the target only in the second case. Values below 1e-18 are drawn at 1e-18.".into(), numbers });
    }
    Ok(figures)
}

/// Figure (f) from `dir/landscape.json`: the loss along the segment between two minimizers,
/// and `λ_min(H_L)` near a minimizer, over- against under-parameterized.
pub fn landscape_figures(dir: &Path) -> Result<Vec<Figure>> {
    let path = dir.join("landscape.json");
    let r: crate::landscape::LandscapeResult = serde_json::from_str(
        &std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?,
    )
    .map_err(|e| Error::io("cannot parse", &path, std::io::Error::other(e)))?;
    let mut figures = vec![];
    let seg = Curve {
        label: format!(
            "over-parameterized (n = {}, p = {})",
            r.over_size.0, r.over_size.1
        ),
        points: r.segment.clone(),
        color: PALETTE[0],
        dashed: false,
        error_bars: vec![],
    };
    if save_if_drawable(
        &LineChart {
            title: "(f) Loss along the segment between two global minimizers".into(),
            x_label: "t in (1 − t) w*₁ + t w*₂".into(),
            y_label: "L = ½‖F − y‖²".into(),
            log_y: false,
            log_x: false,
            curves: vec![seg],
        },
        dir,
        "f_segment",
    )? {
        figures.push(Figure {
            stem: "f_segment".into(),
            caption: "The loss along the straight segment between two global minimizers w*₁, w*₂ of the over-parameterized model (two seeds): it rises above zero between them, so the solution set {w : F(w) = y} is not convex.".into(),
            numbers: vec![
                ("L(w*₁), L(w*₂)".into(), format!("{:.3e}, {:.3e}", r.minimizers.0, r.minimizers.1)),
                ("‖w*₁ − w*₂‖".into(), format!("{:.4e}", r.minimizers.2)),
                ("barrier max_t L − max(L(w*₁), L(w*₂))".into(), format!("{:.4e} (theory: > 0)", r.barrier)),
            ],
        });
    }
    let agg = |pts: &[(f64, f64)]| -> Vec<(f64, f64, f64, f64)> {
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
    };
    let over = agg(&r.near_over);
    let under = agg(&r.near_under);
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
        Curve {
            label: "0".into(),
            points: vec![(x0, 0.0), (x1, 0.0)],
            color: RGBColor(0, 0, 0),
            dashed: true,
            error_bars: vec![],
        },
    ];
    if save_if_drawable(
        &LineChart {
            title: "(f) Smallest eigenvalue of the loss Hessian near a minimizer".into(),
            x_label: "distance δ from the minimizer (log scale)".into(),
            y_label: "λ_min(H_L(w* + δu))".into(),
            log_y: false,
            log_x: true,
            curves,
        },
        dir,
        "f_near_minimizer",
    )? {
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
        figures.push(Figure {
            stem: "f_near_minimizer".into(),
            caption: "λ_min of the loss Hessian H_L = DFᵀDF + Σ r_k H_{F_k} at points w* + δu near a minimizer (random unit u; mean with min–max bars): negative at every δ for the over-parameterized model (not convex in any neighbourhood of w*); for the under-parameterized model positive at the minimum and at small δ (an isolated, locally convex minimum), turning negative only far from it.".into(),
            numbers: vec![
                ("λ_min(H_L(w*)) over-parameterized".into(), format!("{:.3e} (theory: 0, p − n flat directions)", r.at_min_over)),
                ("min λ_min(H_L) near w*, over-parameterized".into(), format!("{min_over:.3e} (theory: < 0)")),
                ("λ_min(H_L(w*)) under-parameterized, L(w*) = ".to_string() + &format!("{:.3e}", r.under_loss), format!("{:.3e} (theory: ≥ 0)", r.at_min_under)),
                ("min λ_min(H_L) near w*, under-parameterized".into(), format!("{min_under:.3e}")),
            ],
        });
    }
    Ok(figures)
}
