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
//!   `p ≥ n` points.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    aggregate, measured, read_metrics, save_drawable, step_column, tick_label, Aggregate, Curve,
    Figure, Line, LineChart, Marker, Scale, Shape, PALETTE, REFERENCE, REFERENCE_2,
};
use crate::error::Result;
use crate::report::fit::power_law;
use crate::report::rows::SweepRow;

/// A series of a sweep: the rows that share everything but the width —
/// `(output activation, hidden activation, depth L, n)`.
pub type SeriesKey = (String, String, usize, usize);

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
                (&r.output_activation, &r.activation, r.depth, r.n) == (&k.0, &k.1, k.2, k.3)
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
    format!("{} / out {} / L = {} / n = {}", k.1, k.0, k.2, k.3)
}

/// Whether the wide-network theorem speaks of series `k`: a smooth hidden activation (ReLU is
/// outside its hypotheses) and an identity output.
fn theorem_series(k: &SeriesKey) -> bool {
    k.0 == "identity" && k.1 != "relu" && k.1 != "identity"
}

/// How the series of a figure are told apart: a colour per hidden activation, depth and `n`
/// (times the quantities a figure draws of each series, e.g. the radii `r` of `μ̂(r)`), and a
/// line style per output activation — solid with filled marks for the first output (the
/// identity, the theorem's, when present), dotted with open marks for the others — so that
/// series of the same colour lying on each other are both seen. A third output and beyond
/// gets colours of its own.
pub struct Styles {
    /// The colour groups, sorted.
    groups: Vec<(String, usize, usize, String)>,
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

    /// The colour group of `k`: its hidden activation, depth and `n`, and its output when that
    /// is neither the solid nor the dotted one.
    fn group(&self, k: &SeriesKey) -> (String, usize, usize, String) {
        let own = self.outputs.iter().position(|o| *o == k.0).unwrap_or(0) >= 2;
        let output = if own { k.0.clone() } else { String::new() };
        (k.1.clone(), k.2, k.3, output)
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
}

impl Panel {
    /// Every panel, in drawing order.
    pub const ALL: [Panel; 9] = [
        Panel::Lambda0,
        Panel::InfiniteGap,
        Panel::MuAtRadius,
        Panel::CertifiedRadius,
        Panel::Hessian,
        Panel::KernelChange,
        Panel::LossCurves,
        Panel::LinearizationGap,
        Panel::POverN,
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
    let over: Vec<SweepRow> = rows.iter().filter(|r| r.p >= r.n).cloned().collect();
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

/// (a) λ₀ against width, with `λ_min(K∞)` as a dashed line where `limits` has one.
fn lambda0_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    limits: &BTreeMap<SeriesKey, f64>,
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let agg = aggregate(&sweep.series(k), |r| r.width as f64, |r| r.lambda0);
        curves.push(styles.curve(format!("λ₀ = λ_min(K(w₀)): {}", label(k)), &agg, k, 0, 1));
        if let Some(last) = agg.last() {
            numbers.push((
                format!("λ₀ at width {} ({})", last.0, label(k)),
                format!("{:.4e}", last.1),
            ));
        }
        if let (Some(&limit), Some(first), Some(last)) = (limits.get(k), agg.first(), agg.last()) {
            curves.push(Curve::reference(
                format!(
                    "theory (prediction): λ_min(K∞) = {limit:.3e}, the m → ∞ limit of {}",
                    label(k)
                ),
                vec![(first.0, limit), (last.0, limit)],
                styles.color(k, 0, 1),
            ));
            numbers.push((format!("λ_min(K∞) ({})", label(k)), format!("{limit:.4e}")));
        }
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) Smallest eigenvalue of the tangent kernel at init vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "λ₀ = λ_min(K(w₀)) (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        "a_lambda0_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_lambda0_vs_width".into(),
        caption: d.caption(format!("λ₀ = λ_min(K(w₀)) of K = DF DFᵀ (no averaging) against the width m; dots: mean over seeds, bars: min–max. Dashed: λ_min of the infinite-width kernel K∞ of the same depth, activation and biases (the NTK recursion, closed-form dual kernels for ReLU and erf, Gaussian quadrature for the others; identity output only), the limit λ₀ approaches, in the colour of its series.{}", styles.caption())),
        numbers,
    }))
}

/// (a) `μ̂(r)/λ₀` against width at each fixed radius: uniform conditioning over balls of a fixed
/// size as the width grows.
fn mu_at_radius_vs_width(
    dir: &Path,
    sweep: &SweepSeries<'_>,
    radii: &[f64],
) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let (mut x0, mut x1) = (f64::INFINITY, 0.0f64);
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        for (j, &r) in radii.iter().enumerate() {
            let agg = aggregate(&s, |q| q.width as f64, |q| q.mu_at(r) / q.lambda0);
            let (Some(a), Some(b)) = (agg.first(), agg.last()) else {
                continue;
            };
            (x0, x1) = (x0.min(a.0), x1.max(b.0));
            curves.push(styles.curve(format!("r = {r}: {}", label(k)), &agg, k, j, radii.len()));
            numbers.push((
                format!("μ̂(r = {r})/λ₀, width {} → {} ({})", a.0, b.0, label(k)),
                format!("{} → {}", ratio_text(a.1), ratio_text(b.1)),
            ));
        }
    }
    if sweep.keys.iter().any(theorem_series) && x1 > 0.0 {
        curves.push(Curve::reference(
            "theory (prediction, smooth σ and identity output only): μ̂(r)/λ₀ → 1 as m → ∞",
            vec![(x0, 1.0), (x1, 1.0)],
            REFERENCE,
        ));
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) Uniform conditioning: μ̂(r)/λ₀ over balls of fixed radius r vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "μ̂(r) / λ₀ = min over B(w₀, r) of λ_min(K) / λ_min(K(w₀))".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Linear,
            curves,
        },
        dir,
        "a_mu_at_radius_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_mu_at_radius_vs_width".into(),
        caption: d.caption(format!(
            "μ̂(r) = the smallest λ_min(K) found by a constrained search (projected descent with exact eigenvalue gradients, several starts) over the ball B(w₀, r) of absolute radius r ∈ {radii:?}, divided by λ₀ of the same run, against the width m; dots: mean over seeds, bars: min–max. μ̂(r) ≤ λ₀ by construction (w₀ is in every ball); the ratio rising to 1 is the theorem's uniform conditioning, predicted for a smooth activation and an identity output (a non-linear output is outside the theorem). Rows with p < n have no search and are not drawn. A colour and a mark shape per radius (and per series); marks at the same place show through each other.{}",
            styles.caption()
        )),
        numbers,
    }))
}

/// (a) The certified radius `R_c` and the distance `r_T` gradient descent travelled against
/// width, with the narrowest certified width.
fn certified_radius_vs_width(dir: &Path, sweep: &SweepSeries<'_>) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        let certified: Vec<&SweepRow> = s.iter().copied().filter(|r| r.certified).collect();
        let rc = aggregate(&certified, |r| r.width as f64, |r| r.certified_radius);
        let rt = aggregate(&s, |r| r.width as f64, |r| r.r_travelled);
        curves.push(styles.curve(format!("certified radius R_c: {}", label(k)), &rc, k, 0, 2));
        curves.push(styles.curve(
            format!("distance travelled r_T = max_t ‖w_t − w₀‖: {}", label(k)),
            &rt,
            k,
            1,
            2,
        ));
        let all_seeds = |m: usize| s.iter().filter(|r| r.width == m).all(|r| r.certified);
        let narrowest = s.iter().map(|r| r.width).filter(|&m| all_seeds(m)).min();
        if let (Some(m), Some(lo), Some(hi)) = (
            narrowest,
            rt.iter().map(|a| a.2).reduce(f64::min),
            rc.iter().map(|a| a.3).reduce(f64::max),
        ) {
            curves.push(Curve::reference(
                format!(
                    "narrowest width certified for every seed, m = {m}: {}",
                    label(k)
                ),
                vec![(m as f64, lo), (m as f64, hi)],
                styles.color(k, 0, 2),
            ));
        }
        numbers.push((
            format!("narrowest width certified for every seed ({})", label(k)),
            narrowest.map_or("none in the sweep".into(), |m| format!("m = {m}")),
        ));
        numbers.push((
            format!("certified runs ({})", label(k)),
            format!("{} of {}", certified.len(), s.len()),
        ));
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(a) How wide is wide enough: certified radius and GD distance vs width".into(),
            x_label: "width m (log scale)".into(),
            y_label: "radius ‖w − w₀‖ (log scale)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        "a_certified_radius_vs_width",
    )?;
    Ok(drawn.map(|d| Figure {
        stem: "a_certified_radius_vs_width".into(),
        caption: d.caption(format!("The certified radius R_c = 2 L̂_F ‖r₀‖ / μ̂ of the smallest searched ball B(w₀, r) with μ̂(r) > 0 and r ≥ R(r) (circles; certified seeds only; widths where no seed certifies have no mark), and the distance gradient descent actually travelled, r_T = max_t ‖w_t − w₀‖ (squares; every seed); marks: mean over seeds, bars: min–max. Dashed vertical line: the narrowest width at which every seed certifies. The theorem promises r_T ≤ R_c wherever it certifies.{}", styles.caption())),
        numbers,
    }))
}

/// A power-law reference through the first point of `agg`: `c m^slope`, dashed.
fn reference_line(agg: &[Aggregate], slope: f64, label: String) -> Option<Curve> {
    let (first, last) = (agg.first()?, agg.last()?);
    let c0 = first.1 / first.0.powf(slope);
    Some(Curve::reference(
        label,
        vec![(first.0, first.1), (last.0, c0 * last.0.powf(slope))],
        REFERENCE,
    ))
}

/// Series `k`'s curve with its fitted log-log slope, and the slope's line for `numbers`.
fn fitted(
    s: &[&SweepRow],
    column: fn(&SweepRow) -> f64,
    k: &SeriesKey,
    styles: &Styles,
) -> (Curve, Option<(f64, f64)>, Vec<Aggregate>) {
    let name = label(k);
    let agg = aggregate(s, |r| r.width as f64, column);
    let xs: Vec<f64> = s.iter().map(|r| r.width as f64).collect();
    let ys: Vec<f64> = s.iter().map(|r| column(r)).collect();
    let fit = power_law(&xs, &ys).map(|f| (f.slope, f.slope_stderr));
    let text = fit.map_or("no fit".to_string(), |(a, e)| {
        format!("fitted slope {a:.3} ± {e:.3}")
    });
    (
        styles.curve(format!("{name} ({text})"), &agg, k, 0, 1),
        fit,
        agg,
    )
}

/// A log-log figure of one row column against width: each series with its fitted slope, and
/// dashed reference power laws through the first point of the first series they apply to.
struct SlopeFigure {
    stem: &'static str,
    title: &'static str,
    y_label: &'static str,
    caption: &'static str,
    column: fn(&SweepRow) -> f64,
    /// What the theory says of the slope of series `k` (for the numbers), if anything.
    theory: fn(&SeriesKey) -> Option<&'static str>,
    /// `(slope, legend label)` of each reference line.
    references: &'static [(f64, &'static str)],
    /// The series the references are drawn through.
    reference_on: fn(&SeriesKey) -> bool,
}

/// (a) `K(w₀)` against `K∞`; (b) `‖H_F(w₀)‖`; (c) the kernel change; (g) the gap to the
/// linearized model.
const SLOPE_FIGURES: [SlopeFigure; 4] = [
    SlopeFigure {
        stem: "a_kernel_infinite_gap_vs_width",
        title: "(a) The tangent kernel at init against its infinite-width limit",
        y_label: "‖K(w₀) − K∞‖_F / ‖K∞‖_F (log scale)",
        caption: "The relative Frobenius distance between the empirical tangent kernel at w₀ and the infinite-width kernel K∞ of the same architecture (the NTK recursion; identity output only), against width, log-log, with the least-squares slope; dots: mean over seeds, bars: min–max. Dashed: the m^(−1/2) rate of a mean of m independent neuron terms, through the first point.",
        column: |r| r.kernel_infinite_gap,
        theory: |_| Some("(theory, prediction: −0.5)"),
        references: &[(-0.5, "theory (prediction): ∝ m^(−1/2), a mean of m independent neuron terms")],
        reference_on: |_| true,
    },
    SlopeFigure {
        stem: "b_hessian_vs_width",
        title: "(b) Hessian norm ‖H_F(w₀)‖ against width",
        y_label: "‖H_F(w₀)‖ (log scale)",
        caption: "‖H_F(w₀)‖ = sup over unit z, u of |uᵀ(Σ_k z_k H_{F_k})u| (alternating maximization: a lower bound) against width, log-log, with the least-squares slope over every seed; dots: mean, bars: min–max. Dashed: the m^(−1/2) prediction of the linearity paper for a smooth activation and a linear output; a non-linear output layer keeps ‖H_F‖ of order 1.",
        column: |r| r.hessian_norm0,
        theory: |k| theorem_series(k).then_some("(theory, prediction: −0.5)"),
        references: &[(-0.5, "theory (prediction, smooth σ, identity output): ∝ m^(−1/2)")],
        reference_on: theorem_series,
    },
    SlopeFigure {
        stem: "c_kernel_change_vs_width",
        title: "(c) Relative kernel change at a common stage of training vs width",
        y_label: "‖K(w_t) − K(w₀)‖_F / ‖K(w₀)‖_F (log scale)",
        caption: "Relative change of the tangent kernel between w₀ and the first step t where L(w_t) ≤ stage · L(w₀) (the same stage for every width; runs that never get there are left out), log-log, with the least-squares slope; dots: mean, bars: min–max. Dashed: the m^(−1/2) upper bound of THEORY.md (‖H_F‖ R) and the 1/m prediction for NTK parameterization (Dyer & Gur-Ari 2019), both through the first point.",
        column: |r| r.kernel_change,
        theory: |k| theorem_series(k).then_some("(theory: −1 predicted, −0.5 an upper bound)"),
        references: &[
            (-0.5, "theory (upper bound, THEORY.md; smooth σ, identity output): ∝ m^(−1/2)"),
            (-1.0, "theory (prediction, Dyer & Gur-Ari 2019; smooth σ, identity output): ∝ 1/m"),
        ],
        reference_on: theorem_series,
    },
    SlopeFigure {
        stem: "g_linearization_gap_vs_width",
        title: "(g) Distance to the linearized model along gradient descent vs width",
        y_label: "max_t ‖F(w_t) − F_{lin,t}‖ / ‖r₀‖ (log scale)",
        caption: "The largest distance, over the run, between the network's outputs and those of its linearization at w₀ trained by the same gradient descent, F_lin,t = y + (I − ηK₀)^t r₀ (in closed form from K₀'s eigendecomposition), relative to ‖r₀‖, against width, log-log, with the least-squares slope; dots: mean over seeds, bars: min–max. Dashed: the O(m^(−1/2)) bound for NTK parameterization (Lee et al. 2019, Theorem 2.1: the deviation is at most of that order), through the first point; a faster fall is within it. Each run trains at its own step size (the theorem's η*).",
        column: |r| r.linearization_gap_max,
        theory: |k| theorem_series(k).then_some("(theory: −0.5 an upper bound)"),
        references: &[(-0.5, "theory (upper bound, Lee et al. 2019; smooth σ, identity output): ∝ m^(−1/2)")],
        reference_on: theorem_series,
    },
];

/// One [`SlopeFigure`] over every series that has its column.
fn slope_figure(dir: &Path, sweep: &SweepSeries<'_>, spec: &SlopeFigure) -> Result<Option<Figure>> {
    let mut curves = vec![];
    let mut numbers = vec![];
    let mut references = vec![];
    let styles = Styles::new(&sweep.keys);
    for k in &sweep.keys {
        let s = sweep.series(k);
        if s.iter().all(|r| (spec.column)(r).is_nan()) {
            continue;
        }
        let (curve, fit, agg) = fitted(&s, spec.column, k, &styles);
        curves.push(curve);
        if let Some((a, e)) = fit {
            let theory = (spec.theory)(k).unwrap_or("(no prediction)");
            numbers.push((
                format!("fitted slope ({})", label(k)),
                format!("{a:.3} ± {e:.3} {theory}"),
            ));
        }
        if (spec.reference_on)(k) && references.is_empty() {
            for (j, &(slope, text)) in spec.references.iter().enumerate() {
                references.extend(reference_line(&agg, slope, text.into()).map(|mut c| {
                    c.color = [REFERENCE, REFERENCE_2][j % 2];
                    c
                }));
            }
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    curves.extend(references);
    let drawn = save_drawable(
        &LineChart {
            title: spec.title.into(),
            x_label: "width m (log scale)".into(),
            y_label: spec.y_label.into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        spec.stem,
    )?;
    Ok(drawn.map(|d| Figure {
        stem: spec.stem.into(),
        caption: d.caption(format!("{}{}", spec.caption, styles.caption())),
        numbers,
    }))
}

/// (d) Loss curves of the first series (seed of its first row) against each certified run's
/// bound, with the target loss. The title names the bound only when one is drawn.
fn loss_curves(dir: &Path, sweep: &SweepSeries<'_>, target: Option<f64>) -> Result<Option<Figure>> {
    let Some(k) = sweep.keys.first() else {
        return Ok(None);
    };
    let s = sweep.series(k);
    let seed = s[0].seed;
    let mut curves = vec![];
    let mut bounds = vec![];
    let mut last_step = 0.0f64;
    for (i, r) in s.iter().filter(|r| r.seed == seed).enumerate() {
        let path = dir
            .join("curves")
            .join(format!("point{}_seed{}.csv", r.point, r.seed));
        let Ok(m) = read_metrics(&path) else { continue };
        let col = |name: &str| step_column(&m, name);
        let color = PALETTE[i % PALETTE.len()];
        let loss = col("loss");
        last_step = loss.iter().map(|p| p.0).fold(last_step, f64::max);
        curves.push(Curve {
            marker: Marker::Filled(Shape::ALL[i % Shape::ALL.len()]),
            ..Curve::measured(
                format!("m = {}: L(w_t), η = {:.3e}", r.width, r.eta),
                loss,
                color,
            )
        });
        let bound = col("loss_bound");
        if !bound.is_empty() {
            curves.push(Curve::reference(
                format!(
                    "m = {}: theory (bound, certified): (1 − ημ̂)^t L(w₀)",
                    r.width
                ),
                bound,
                color,
            ));
            bounds.push(curves.len() - 1);
        }
    }
    if curves.is_empty() {
        return Ok(None);
    }
    if let Some(t) = target {
        curves.push(target_line(t, 0.0, last_step.max(1.0)));
    }
    let mut chart = LineChart {
        title: String::new(),
        x_label: "step t".into(),
        y_label: "L(w_t) = ½‖F − y‖² (log scale)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        curves,
    };
    let drawn = chart.drawn();
    let any_bound = bounds.iter().any(|&i| drawn[i]);
    chart.title = if any_bound {
        format!("(d) Loss curves against the PL* bound ({})", label(k))
    } else {
        format!("(d) Loss curves ({})", label(k))
    };
    let drawn = save_drawable(&chart, dir, "d_loss_curves")?;
    let bound_text = if any_bound {
        ", and for every width whose card certified a ball, the theorem's bound (1 − η μ̂)^t L(w₀) with that run's certified μ̂ (dashed, same colour). Widths without a certificate have no bound: the theorem promises nothing there."
    } else {
        ". No width's card certified a ball, so no bound is drawn: the theorem promises nothing there."
    };
    let target_text = target.map_or(String::new(), |t| {
        format!(
            " Grey dashed: the target loss {}, where training stops.",
            tick_label(t)
        )
    });
    Ok(drawn.map(|d| Figure {
        stem: "d_loss_curves".into(),
        caption: d.caption(format!("Gradient-descent loss curves (seed {seed}) for each width (solid, a mark shape per width){bound_text}{target_text}")),
        numbers: vec![],
    }))
}

/// (e) λ₀ and the final loss against p/n, drawn when the sweep has both `p < n` and `p ≥ n`,
/// with the target loss (the final loss of a run that reaches it sits just below it).
fn p_over_n(dir: &Path, sweep: &SweepSeries<'_>, target: Option<f64>) -> Result<Option<Figure>> {
    let under = sweep.rows.iter().any(|r| r.p < r.n);
    let over = sweep.rows.iter().any(|r| r.p >= r.n);
    if !(under && over) {
        return Ok(None);
    }
    let mut curves = vec![];
    let mut numbers = vec![];
    let styles = Styles::new(&sweep.keys);
    let (mut x0, mut x1) = (f64::INFINITY, 0.0f64);
    for k in &sweep.keys {
        let s = sweep.series(k);
        let ratio = |r: &SweepRow| r.p as f64 / r.n as f64;
        let lam = aggregate(&s, ratio, |r| r.lambda0.abs().max(1e-18));
        let loss = aggregate(&s, ratio, |r| r.final_loss.max(1e-18));
        for a in lam.iter().chain(&loss) {
            (x0, x1) = (x0.min(a.0), x1.max(a.0));
        }
        curves.push(styles.curve(format!("abs(λ₀) ({})", label(k)), &lam, k, 0, 2));
        curves.push(styles.curve(format!("final loss ({})", label(k)), &loss, k, 1, 2));
        let max_under = s
            .iter()
            .filter(|r| r.p < r.n)
            .map(|r| r.lambda0.abs())
            .fold(0.0, f64::max);
        let min_over = s
            .iter()
            .filter(|r| r.p >= r.n)
            .map(|r| r.lambda0)
            .fold(f64::INFINITY, f64::min);
        numbers.push((
            format!("max abs(λ₀) with p < n ({})", label(k)),
            format!("{max_under:.3e} (theory: 0, rank K ≤ p < n)"),
        ));
        numbers.push((
            format!("min λ₀ with p ≥ n ({})", label(k)),
            format!("{min_over:.3e} (theory: > 0 generically)"),
        ));
    }
    curves.push(Curve::reference(
        "p = n",
        vec![(1.0, 1e-18), (1.0, 1e3)],
        REFERENCE,
    ));
    if let (Some(t), true) = (target, x1 > 0.0) {
        curves.push(target_line(t, x0, x1));
    }
    let drawn = save_drawable(
        &LineChart {
            title: "(e) Under- vs over-parameterized: λ_min(K(w₀)) and final loss against p/n"
                .into(),
            x_label: "p / n (log scale)".into(),
            y_label: "abs(λ₀) and final L (log scale; 1e-18 = zero)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            curves,
        },
        dir,
        "e_p_over_n",
    )?;
    let target_text = target.map_or(String::new(), |t| {
        format!(" Grey dashed: the target loss {}; training stops once the loss is at or below it, so a final loss just under it is success, not a plateau.", tick_label(t))
    });
    Ok(drawn.map(|d| Figure {
        stem: "e_p_over_n".into(),
        caption: d.caption(format!("The absolute value of λ_min(K(w₀)) (circles) and the final training loss (squares) against p/n; marks: mean over seeds, bars: min–max. rank K ≤ min(n, p), so λ₀ is zero (round-off) for p < n and positive for p ≥ n; the loss reaches the target only in the second case. Values below 1e-18 are drawn at 1e-18.{target_text}{}", styles.caption())),
        numbers,
    }))
}
