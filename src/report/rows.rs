//! Sweep rows: one `(point, seed)` run of a sweep reduced to the theory's quantities, one CSV
//! line each (`rows.csv`, or `rows.shard-I-of-N.csv` per shard). Sweeps append them; figures
//! and merges read them.
//!
//! The columns ([`SweepRow::header`]) are fixed but for one `mu_r{r}` column per fixed radius
//! `r` of the sweep (`μ̂(r)` over `B(w₀, r)`); a file is read by its header's names, so a row
//! parses only against the header it was written under. Floats are written with `{:e}` and
//! round-trip exactly. Wall times go to `timings.csv` (or `timings.shard-I-of-N.csv`) beside
//! them, so that a rows file changes only when numbers do.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One row of a sweep: a `(point, seed)` run reduced to the theory's quantities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// Point index.
    pub point: usize,
    /// Seed of `w₀`.
    pub seed: u64,
    /// Width `m`.
    pub width: usize,
    /// Depth `L`.
    pub depth: usize,
    /// Samples `n`.
    pub n: usize,
    /// Outputs per sample `k` (so `N = n·k` equations; 1 in rows written before the column).
    pub outputs: usize,
    /// Hidden activation.
    pub activation: String,
    /// Output activation.
    pub output_activation: String,
    /// Parameters `p`.
    pub p: usize,
    /// `λ₀ = λ_min(K(w₀))`.
    pub lambda0: f64,
    /// `λ_max(K(w₀))`.
    pub lambda_max0: f64,
    /// The eigenvalue floor of the round-off model, `(2/√3) γ √(max_i K_ii tr K(w₀)) + N u₆₄ λ_max(K(w₀))`
    /// ([`crate::measure::roundoff`]): eigenvalues at or below it are round-off.
    pub positivity_threshold: f64,
    /// `‖K(w₀) − K∞‖_F / ‖K∞‖_F` against the infinite-width kernel (NaN where none exists).
    pub kernel_infinite_gap: f64,
    /// `min_t λ_min(K(w_t))` over the kernel evaluations of the run (`t = 0` included).
    pub mu_trajectory: f64,
    /// `(r, μ̂(r))` at the sweep's fixed radii (NaN where the card did not search: `p < n`).
    pub mu_at: Vec<(f64, f64)>,
    /// Whether the card certified a ball.
    pub certified: bool,
    /// The certified radius `R_c` (NaN when not certified).
    pub certified_radius: f64,
    /// The card's `η*`: proved, else certified, else `η*(w₀)`.
    pub eta_star: f64,
    /// Whether the card proved a ball ([`crate::theorem::proved`]).
    pub proved: bool,
    /// The proved radius `r̄` (NaN when not proved).
    pub proved_radius: f64,
    /// `β̄_F(0)`, the bound on `‖H_F‖` as `r → 0` (so `≥ ‖H_F(w₀)‖`); NaN when not applicable.
    pub beta_bound: f64,
    /// `dβ̄_F/dr`: `β̄_F(r) = beta_bound + beta_bound_slope · r` (NaN when not applicable, and
    /// at depth `L ≥ 2`, where `β̄_F` is not affine).
    pub beta_bound_slope: f64,
    /// `μ_lb(r̄)` (NaN when not proved).
    pub mu_lower_bound: f64,
    /// The proof's `λ₀⁻` and `λ_max⁺`: `λ₀ ∓` its margins (the eigenvalue floor, more on the
    /// card's Lanczos path; `∓∞` where the margin was not proved). In rows written before the
    /// columns: `λ₀ ∓ positivity_threshold`, what those proofs used.
    pub lambda0_lower: f64,
    /// See [`SweepRow::lambda0_lower`].
    pub lambda_max_upper: f64,
    /// `‖F(w₀) − y‖` (NaN without a card).
    pub residual_norm0: f64,
    /// `R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀`, the theorem's radius with the constants at `w₀` (infinite
    /// when `λ₀` is at round-off; NaN without a card).
    pub radius0: f64,
    /// `r_T = max_t ‖w_t − w₀‖`.
    pub r_travelled: f64,
    /// `μ̂(r_T)`.
    pub mu_travelled: f64,
    /// `‖H_F(w₀)‖`.
    pub hessian_norm0: f64,
    /// Whether `‖H_F(w₀)‖`'s alternating maximization converged (else a lower bound).
    pub hessian_norm0_converged: bool,
    /// `max_t ‖H_F(w_t)‖` over the Hessian evaluations of the run.
    pub hessian_norm_max: f64,
    /// `max_k ‖H_{F_k}(w₀)‖₂` (NaN unless measured).
    pub per_output_hessian0: f64,
    /// `‖K(w_t) − K(w₀)‖_F / ‖K(w₀)‖_F` at the common stage: the first step with
    /// `L(w_t) ≤ stage · L(w₀)` (NaN when the run never got there).
    pub kernel_change: f64,
    /// That step (−1: not reached).
    pub kernel_stage_step: i64,
    /// `max_t ‖F(w_t) − F_lin,t‖ / ‖r₀‖` against gradient descent on the model linearized at
    /// `w₀` (NaN for SGD).
    pub linearization_gap_max: f64,
    /// The step where the target was reached (−1: not reached).
    pub steps_to_target: i64,
    /// Final loss `L(w_T)`.
    pub final_loss: f64,
    /// Step size used.
    pub eta: f64,
}

/// The name of the `μ̂(r)` column of radius `r`.
pub fn mu_column(r: f64) -> String {
    format!("mu_r{r}")
}

impl SweepRow {
    /// The header of a rows file whose sweep has the fixed radii `radii`.
    pub fn header(radii: &[f64]) -> String {
        let mut names: Vec<String> = HEAD.iter().map(|s| s.to_string()).collect();
        names.extend(radii.iter().map(|&r| mu_column(r)));
        names.extend(TAIL.iter().map(|s| s.to_string()));
        names.join(",")
    }

    /// One CSV line (no newline) under [`SweepRow::header`] of this row's radii.
    pub fn csv(&self) -> String {
        let e = |v: f64| format!("{v:e}");
        let mut fields = vec![
            self.point.to_string(),
            self.seed.to_string(),
            self.width.to_string(),
            self.depth.to_string(),
            self.n.to_string(),
            self.outputs.to_string(),
            self.activation.clone(),
            self.output_activation.clone(),
            self.p.to_string(),
            e(self.lambda0),
            e(self.lambda_max0),
            e(self.positivity_threshold),
            e(self.kernel_infinite_gap),
            e(self.mu_trajectory),
        ];
        fields.extend(self.mu_at.iter().map(|&(_, mu)| e(mu)));
        fields.extend([
            u8::from(self.certified).to_string(),
            e(self.certified_radius),
            e(self.eta_star),
            u8::from(self.proved).to_string(),
            e(self.proved_radius),
            e(self.beta_bound),
            e(self.beta_bound_slope),
            e(self.mu_lower_bound),
            e(self.lambda0_lower),
            e(self.lambda_max_upper),
            e(self.residual_norm0),
            e(self.radius0),
            e(self.r_travelled),
            e(self.mu_travelled),
            e(self.hessian_norm0),
            u8::from(self.hessian_norm0_converged).to_string(),
            e(self.hessian_norm_max),
            e(self.per_output_hessian0),
            e(self.kernel_change),
            self.kernel_stage_step.to_string(),
            e(self.linearization_gap_max),
            self.steps_to_target.to_string(),
            e(self.final_loss),
            e(self.eta),
        ]);
        fields.join(",")
    }

    /// Parses a line written under `header` by [`SweepRow::csv`].
    pub fn parse(header: &str, line: &str) -> Option<Self> {
        let names: Vec<&str> = header.split(',').collect();
        let values: Vec<&str> = line.split(',').collect();
        if names.len() != values.len() {
            return None;
        }
        let get = |name: &str| names.iter().position(|n| *n == name).map(|i| values[i]);
        let f = |name: &str| get(name)?.parse::<f64>().ok();
        let u = |name: &str| get(name)?.parse::<usize>().ok();
        let i = |name: &str| get(name)?.parse::<i64>().ok();
        let mu_at = names
            .iter()
            .zip(&values)
            .filter_map(|(n, v)| Some((n.strip_prefix("mu_r")?.parse().ok()?, v.parse().ok()?)))
            .collect();
        Some(Self {
            point: u("point")?,
            seed: get("seed")?.parse().ok()?,
            width: u("width")?,
            depth: u("depth")?,
            n: u("n")?,
            outputs: u("outputs").unwrap_or(1),
            activation: get("activation")?.to_string(),
            output_activation: get("output_activation")?.to_string(),
            p: u("p")?,
            lambda0: f("lambda0")?,
            lambda_max0: f("lambda_max0")?,
            positivity_threshold: f("positivity_threshold")?,
            kernel_infinite_gap: f("kernel_infinite_gap")?,
            mu_trajectory: f("mu_trajectory")?,
            mu_at,
            certified: u("certified")? == 1,
            certified_radius: f("certified_radius")?,
            eta_star: f("eta_star")?,
            // Absent from rows written before the proved certificate.
            proved: u("proved") == Some(1),
            proved_radius: f("proved_radius").unwrap_or(f64::NAN),
            beta_bound: f("beta_bound").unwrap_or(f64::NAN),
            beta_bound_slope: f("beta_bound_slope").unwrap_or(f64::NAN),
            mu_lower_bound: f("mu_lower_bound").unwrap_or(f64::NAN),
            lambda0_lower: f("lambda0_lower").unwrap_or_else(|| {
                f("lambda0").unwrap_or(f64::NAN) - f("positivity_threshold").unwrap_or(f64::NAN)
            }),
            lambda_max_upper: f("lambda_max_upper").unwrap_or_else(|| {
                f("lambda_max0").unwrap_or(f64::NAN) + f("positivity_threshold").unwrap_or(f64::NAN)
            }),
            residual_norm0: f("residual_norm0").unwrap_or(f64::NAN),
            radius0: f("radius0").unwrap_or(f64::NAN),
            r_travelled: f("r_travelled")?,
            mu_travelled: f("mu_travelled")?,
            hessian_norm0: f("hessian_norm0")?,
            hessian_norm0_converged: u("hessian_norm0_converged")? == 1,
            hessian_norm_max: f("hessian_norm_max")?,
            per_output_hessian0: f("per_output_hessian0")?,
            kernel_change: f("kernel_change")?,
            kernel_stage_step: i("kernel_stage_step")?,
            linearization_gap_max: f("linearization_gap_max")?,
            steps_to_target: i("steps_to_target")?,
            final_loss: f("final_loss")?,
            eta: f("eta")?,
        })
    }

    /// `N = n·k`, the equations of the system `F(w) = Y` (the tangent kernel's size).
    pub fn equations(&self) -> usize {
        self.n * self.outputs
    }

    /// `μ̂(r)` at the fixed radius `r` (NaN when the row has no such column).
    pub fn mu_at(&self, r: f64) -> f64 {
        self.mu_at
            .iter()
            .find(|(q, _)| *q == r)
            .map_or(f64::NAN, |(_, mu)| *mu)
    }
}

/// The columns before the `mu_r{r}` ones.
const HEAD: [&str; 14] = [
    "point",
    "seed",
    "width",
    "depth",
    "n",
    "outputs",
    "activation",
    "output_activation",
    "p",
    "lambda0",
    "lambda_max0",
    "positivity_threshold",
    "kernel_infinite_gap",
    "mu_trajectory",
];

/// The columns after the `mu_r{r}` ones.
const TAIL: [&str; 24] = [
    "certified",
    "certified_radius",
    "eta_star",
    "proved",
    "proved_radius",
    "beta_bound",
    "beta_bound_slope",
    "mu_lower_bound",
    "lambda0_lower",
    "lambda_max_upper",
    "residual_norm0",
    "radius0",
    "r_travelled",
    "mu_travelled",
    "hessian_norm0",
    "hessian_norm0_converged",
    "hessian_norm_max",
    "per_output_hessian0",
    "kernel_change",
    "kernel_stage_step",
    "linearization_gap_max",
    "steps_to_target",
    "final_loss",
    "eta",
];

/// A rows file's text: the header for `radii`, then every row.
pub fn rows_text(radii: &[f64], rows: &[SweepRow]) -> String {
    let mut text = SweepRow::header(radii);
    text.push('\n');
    for r in rows {
        text.push_str(&r.csv());
        text.push('\n');
    }
    text
}

/// Reads the complete rows of a rows file (a torn last line is ignored; a missing file has no
/// rows).
pub fn read_rows(path: &Path) -> Result<Vec<SweepRow>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let mut lines = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
    let Some(header) = lines.next() else {
        return Ok(vec![]);
    };
    let header = header.trim_end();
    Ok(lines
        .filter_map(|l| SweepRow::parse(header, l.trim_end()))
        .collect())
}

/// Every complete row of every rows file (`rows*.csv`) in `dir`, in file-listing order.
pub fn read_folder_rows(dir: &Path) -> Result<Vec<SweepRow>> {
    let mut rows = vec![];
    for e in std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot read", dir, e))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("rows") && name.ends_with(".csv") {
            rows.extend(read_rows(&e.path())?);
        }
    }
    Ok(rows)
}

/// The header of a timings file: one `(point, seed)` run's wall time a line.
pub const TIMINGS_HEADER: &str = "point,seed,wall_seconds";

/// The sum of the wall times in every timings file (`timings*.csv`) of `dir`, and their count.
pub fn total_wall_seconds(dir: &Path) -> Result<(f64, usize)> {
    let mut total = (0.0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(total);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("timings") && name.ends_with(".csv")) {
            continue;
        }
        let text = std::fs::read_to_string(e.path())
            .map_err(|err| Error::io("cannot read", e.path(), err))?;
        for line in text.lines().skip(1) {
            if let Some(s) = line.rsplit(',').next().and_then(|v| v.parse::<f64>().ok()) {
                total.0 += s;
                total.1 += 1;
            }
        }
    }
    Ok(total)
}
