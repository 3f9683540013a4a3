//! The two figures of a training run, from its saved `metrics.csv` and `summary.json`.

use std::path::{Path, PathBuf};

use super::{read_metrics, save_drawable, step_column, Curve, Drawing, LineChart, PALETTE};
use crate::error::{Error, Result};

/// The files of a drawing, none for a chart with nothing to draw.
fn paths(drawing: Option<Drawing>) -> Vec<PathBuf> {
    drawing.map_or(vec![], |d| d.paths)
}

/// The two figures of a training run, from `dir/metrics.csv` and `dir/summary.json`:
/// the loss against the theorem's bound (log scale) and `‖w_t − w₀‖` against `R`. Points a log
/// axis cannot show (e.g. the linearized model's loss overflowing to `inf` when η > 2/λ_max(K₀))
/// are left out, and a note under each plot says how many.
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
    let certificate = &summary["card"]["certificate"];
    let mu = certificate["mu"].as_f64();
    let radius = certificate["radius"].as_f64();
    let mut out = vec![];
    let mut curves = vec![Curve {
        label: "L(w_t) = ½‖F(w_t) − y‖² (measured)".into(),
        points: col("loss"),
        color: PALETTE[0],
        dashed: false,
        error_bars: vec![],
    }];
    let linearized = col("loss_linearized");
    if !linearized.is_empty() {
        curves.push(Curve {
            label:
                "theory (prediction, kernel regime): the model linearized at w₀, ½‖(I − ηK₀)^t r₀‖²"
                    .into(),
            points: linearized,
            color: PALETTE[2],
            dashed: true,
            error_bars: vec![],
        });
    }
    if let Some(mu) = mu {
        curves.push(Curve {
            label: format!(
                "theory (bound, certified ball): (1 − η μ̂)^t L(w₀), η = {eta:.3e}, μ̂ = {mu:.3e}"
            ),
            points: col("loss_bound"),
            color: PALETTE[1],
            dashed: true,
            error_bars: vec![],
        });
    }
    out.extend(paths(save_drawable(
        &LineChart {
            title: "Training loss against the linearized model and the PL* rate bound".into(),
            x_label: "step t".into(),
            y_label: "loss (log scale)".into(),
            log_y: true,
            log_x: false,
            curves,
        },
        dir,
        "loss_vs_bound",
    )?));
    let dist = col("distance_from_init");
    let mut curves = vec![Curve {
        label: "‖w_t − w₀‖ (measured)".into(),
        points: dist.clone(),
        color: PALETTE[2],
        dashed: false,
        error_bars: vec![],
    }];
    if let Some(r) = radius.filter(|r| r.is_finite()) {
        let last = dist.last().map_or(1.0, |p| p.0);
        curves.push(Curve {
            label: format!("theory (bound): certified radius R_c = 2 L̂_F ‖r₀‖ / μ̂ = {r:.3e}"),
            points: vec![(0.0, r), (last, r)],
            color: PALETTE[1],
            dashed: true,
            error_bars: vec![],
        });
    }
    out.extend(paths(save_drawable(
        &LineChart {
            title: "Distance from initialization against the certified radius".into(),
            x_label: "step t".into(),
            y_label: "‖w_t − w₀‖ (log scale)".into(),
            log_y: true,
            log_x: false,
            curves,
        },
        dir,
        "distance_vs_radius",
    )?));
    Ok(out)
}
