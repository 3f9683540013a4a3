//! The two figures of a training run, from its saved `metrics.csv` and `summary.json`.

use std::path::{Path, PathBuf};

use super::{
    read_metrics, save_drawable, step_column, tick_label, Curve, Drawing, LineChart, Scale,
    PALETTE, REFERENCE_2,
};
use crate::error::{Error, Result};

/// What a run's figures draw: its curves `(step, value)` and the numbers of its theorem card.
#[derive(Clone, Debug, Default)]
pub struct RunCurves {
    /// `L(w_t)`.
    pub loss: Vec<(f64, f64)>,
    /// The loss of the model linearized at `w₀` trained by the same steps (empty when not
    /// computed).
    pub loss_linearized: Vec<(f64, f64)>,
    /// The theorem's bound `(1 − ημ̂)^t L(w₀)` (empty without a certificate).
    pub loss_bound: Vec<(f64, f64)>,
    /// `‖w_t − w₀‖`.
    pub distance: Vec<(f64, f64)>,
    /// The step size η.
    pub eta: f64,
    /// The certified `μ̂`, when the card certified a ball.
    pub mu: Option<f64>,
    /// The certified radius, when the card certified a ball.
    pub radius: Option<f64>,
    /// The loss at which training stops (`train.target_loss`), when positive.
    pub target_loss: Option<f64>,
}

impl RunCurves {
    /// The curves of the run in `dir`, from `dir/metrics.csv` and `dir/summary.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let rows = read_metrics(&dir.join("metrics.csv"))?;
        let summary_path = dir.join("summary.json");
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&summary_path)
                .map_err(|e| Error::io("cannot read", &summary_path, e))?,
        )
        .map_err(|e| Error::io("cannot parse", &summary_path, std::io::Error::other(e)))?;
        let col = |name: &str| step_column(&rows, name);
        let certificate = &summary["card"]["certificate"];
        Ok(RunCurves {
            loss: col("loss"),
            loss_linearized: col("loss_linearized"),
            loss_bound: col("loss_bound"),
            distance: col("distance_from_init"),
            eta: summary["step_size"]["value"].as_f64().unwrap_or(f64::NAN),
            mu: certificate["mu"].as_f64(),
            radius: certificate["radius"].as_f64(),
            target_loss: summary["config"]["train"]["target_loss"]
                .as_f64()
                .filter(|t| *t > 0.0),
        })
    }
}

/// `title`, then `" against "` and the drawn references joined by "and".
fn title_of(title: &str, references: &[&str]) -> String {
    match references {
        [] => title.to_string(),
        [only] => format!("{title} against {only}"),
        [first @ .., last] => format!("{title} against {} and {last}", first.join(", ")),
    }
}

/// The loss figure: `L(w_t)` on a log axis with, where the run has them, the linearized
/// model's loss, the theorem's bound and the target loss. The title names the references
/// that are drawn, and only those.
pub fn loss_chart(run: &RunCurves) -> LineChart {
    let mut curves = vec![Curve::measured(
        "L(w_t) = ½‖F(w_t) − y‖² (measured)",
        run.loss.clone(),
        PALETTE[0],
    )];
    // The references, each with the words the title gives it once drawn.
    let mut names = vec![];
    if !run.loss_linearized.is_empty() {
        curves.push(Curve::reference(
            "theory (prediction, kernel regime): the model linearized at w₀, ½‖(I − ηK₀)^t r₀‖²",
            run.loss_linearized.clone(),
            PALETTE[2],
        ));
        names.push((curves.len() - 1, "the linearized model"));
    }
    if let (Some(mu), false) = (run.mu, run.loss_bound.is_empty()) {
        curves.push(Curve::reference(
            format!(
                "theory (bound, certified ball): (1 − ημ̂)^t L(w₀), η = {:.3e}, μ̂ = {mu:.3e}",
                run.eta
            ),
            run.loss_bound.clone(),
            PALETTE[1],
        ));
        names.push((curves.len() - 1, "the PL* rate bound"));
    }
    if let (Some(target), Some(first), Some(last)) =
        (run.target_loss, run.loss.first(), run.loss.last())
    {
        curves.push(Curve::reference(
            format!("target loss {}: training stops there", tick_label(target)),
            vec![(first.0, target), (last.0, target)],
            REFERENCE_2,
        ));
    }
    let mut chart = LineChart {
        title: String::new(),
        x_label: "step t".into(),
        y_label: "loss (log scale)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        curves,
    };
    let drawn = chart.drawn();
    let references: Vec<&str> = names
        .iter()
        .filter(|(i, _)| drawn[*i])
        .map(|(_, name)| *name)
        .collect();
    chart.title = title_of("Training loss", &references);
    chart
}

/// The distance figure: `‖w_t − w₀‖` on a log axis with, where the card certified a ball,
/// its radius. The title names the radius only when it is drawn.
pub fn distance_chart(run: &RunCurves) -> LineChart {
    let mut curves = vec![Curve::measured(
        "‖w_t − w₀‖ (measured)",
        run.distance.clone(),
        PALETTE[2],
    )];
    if let Some(r) = run.radius.filter(|r| r.is_finite()) {
        let last = run.distance.last().map_or(1.0, |p| p.0);
        curves.push(Curve::reference(
            format!("theory (bound): certified radius R_c = 2 L̂_F ‖r₀‖ / μ̂ = {r:.3e}"),
            vec![(0.0, r), (last, r)],
            PALETTE[1],
        ));
    }
    let mut chart = LineChart {
        title: String::new(),
        x_label: "step t".into(),
        y_label: "‖w_t − w₀‖ (log scale)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        curves,
    };
    let drawn = chart.drawn();
    let references: Vec<&str> = if drawn.get(1) == Some(&true) {
        vec!["the certified radius"]
    } else {
        vec![]
    };
    chart.title = title_of("Distance from initialization", &references);
    chart
}

/// The files of a drawing, none for a chart with nothing to draw.
fn paths(drawing: Option<Drawing>) -> Vec<PathBuf> {
    drawing.map_or(vec![], |d| d.paths)
}

/// The two figures of a training run, from `dir/metrics.csv` and `dir/summary.json`, written
/// into `dir`: [`loss_chart`] as `loss_vs_bound` and [`distance_chart`] as
/// `distance_vs_radius`. Points a log axis cannot show (e.g. the linearized model's loss
/// overflowing to `inf` when η > 2/λ_max(K₀)) are left out, and a note under each plot says how
/// many.
pub fn training_figures(dir: &Path) -> Result<Vec<PathBuf>> {
    let run = RunCurves::read(dir)?;
    let mut out = paths(save_drawable(&loss_chart(&run), dir, "loss_vs_bound")?);
    out.extend(paths(save_drawable(
        &distance_chart(&run),
        dir,
        "distance_vs_radius",
    )?));
    Ok(out)
}
