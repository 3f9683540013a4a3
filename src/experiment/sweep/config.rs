//! The sweep file: [`SweepConfig`], read, validated and reduced for a quick look.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Grid;
use crate::error::{Error, Result};
use crate::experiment::config::{check_name, DataSource, RunConfig};
use crate::report::figures::sweep::Panel;

/// A sweep file (TOML).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Sweep name: outputs go to `<out>/<name>/`.
    pub name: String,
    /// Seeds of `w₀` run at every point.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// The run every point starts from (a full run config: `[base.model]`, `[base.data]`, …).
    pub base: RunConfig,
    /// The grid.
    pub grid: Grid,
    /// Whether to measure `max_k ‖H_{F_k}(w₀)‖₂` (one Lanczos run per sample).
    #[serde(default)]
    pub per_output_hessian: bool,
    /// Fixed absolute radii `r` of the `mu_r{r}` columns: `μ̂(r)` over `B(w₀, r)` at every
    /// point (added to every run's card radii).
    #[serde(default = "default_mu_radii")]
    pub mu_radii: Vec<f64>,
    /// The common stage of the kernel-change column: the first step with
    /// `L(w_t) ≤ kernel_stage · L(w₀)`.
    #[serde(default = "default_kernel_stage")]
    pub kernel_stage: f64,
    /// The figures `plot` draws (default: every one the rows speak to). Presentation only:
    /// changing it keeps the rows.
    #[serde(default)]
    pub panels: Option<Vec<Panel>>,
    /// Leave out grid points with more parameters than this (default: none left out).
    #[serde(default)]
    pub max_parameters: Option<usize>,
}

fn default_seeds() -> Vec<u64> {
    vec![0, 1, 2]
}

fn default_mu_radii() -> Vec<f64> {
    vec![1.0, 4.0, 16.0]
}

fn default_kernel_stage() -> f64 {
    0.01
}

impl SweepConfig {
    /// Whether `other` makes the same rows (everything but the presentation agrees).
    pub fn same_rows(&self, other: &SweepConfig) -> bool {
        let strip = |s: &SweepConfig| SweepConfig {
            panels: None,
            ..s.clone()
        };
        strip(self) == strip(other)
    }

    /// Reads a sweep file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            key: path.display().to_string(),
            message: format!("cannot read the sweep file: {e}"),
        })?;
        let mut s: SweepConfig = toml::from_str(&text).map_err(|e| Error::Config {
            key: path.display().to_string(),
            message: format!(
                "{}\n(sweep files are described in configs/sweep-width.toml)",
                e.to_string().trim_end()
            ),
        })?;
        if let Some(p) = &s.base.data.path {
            if p.is_relative() {
                s.base.data.path = Some(path.parent().unwrap_or(Path::new(".")).join(p));
            }
        }
        s.validate()?;
        Ok(s)
    }

    /// Parses a sweep from TOML text (`origin` names it in errors).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let s: SweepConfig = toml::from_str(text).map_err(|e| Error::Config {
            key: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// A smaller version for a quick look: the first four widths, points of at most 100 000
    /// parameters, two seeds, a tenth of the steps (at least 50).
    pub fn quick(mut self) -> Self {
        self.grid.widths.truncate(4);
        self.max_parameters = Some(self.max_parameters.unwrap_or(100_000).min(100_000));
        self.seeds.truncate(2);
        self.base.train.steps = (self.base.train.steps / 10).max(50);
        self.name = format!("{}-quick", self.name);
        self
    }

    /// Checks the grid and that every point's run config validates.
    pub fn validate(&self) -> Result<()> {
        check_name("name", &self.name)?;
        distinct("seeds", &self.seeds)?;
        distinct("grid.widths", &self.grid.widths)?;
        let g = &self.grid;
        if let Some(v) = &g.depths {
            distinct("grid.depths", v)?;
        }
        if let Some(v) = &g.n {
            distinct("grid.n", v)?;
        }
        if let Some(v) = &g.activations {
            distinct(
                "grid.activations",
                &v.iter().map(|a| a.name()).collect::<Vec<_>>(),
            )?;
        }
        if let Some(v) = &g.outputs {
            distinct("grid.outputs", v)?;
            let source = self.base.data.source;
            if !matches!(source, DataSource::Sphere | DataSource::Orthogonal) {
                return Err(Error::config(
                    "grid.outputs",
                    format!(
                        "needs a synthetic source (sphere or orthogonal), whose targets have \
                         data.outputs columns; with source = \"{}\" k follows the data (the \
                         digits' classes, the CSV's target_columns, the targets .npy)",
                        source.name()
                    ),
                ));
            }
            if v.contains(&0) {
                return Err(Error::config("grid.outputs", "every k must be ≥ 1, got 0"));
            }
        }
        if let Some(v) = &g.output_activations {
            distinct(
                "grid.output_activations",
                &v.iter().map(|a| a.name()).collect::<Vec<_>>(),
            )?;
        }
        if self.points().is_empty() {
            return Err(Error::config(
                "max_parameters",
                "leaves no grid point: raise it or add smaller widths",
            ));
        }
        if !(self.kernel_stage > 0.0 && self.kernel_stage < 1.0) {
            return Err(Error::config(
                "kernel_stage",
                format!(
                    "is a fraction of L(w₀) in (0, 1), got {}",
                    self.kernel_stage
                ),
            ));
        }
        let mut radii = self.mu_radii.clone();
        radii.sort_by(f64::total_cmp);
        radii.dedup();
        if radii.len() != self.mu_radii.len() || radii.iter().any(|r| !(r.is_finite() && *r > 0.0))
        {
            return Err(Error::config(
                "mu_radii",
                format!("give distinct finite radii > 0, got {:?}", self.mu_radii),
            ));
        }
        for point in self.points() {
            self.run_config(&point, self.seeds[0]).validate()?;
        }
        Ok(())
    }
}

/// Checks that a grid list or the seeds are non-empty and free of duplicates.
fn distinct<T: PartialEq + std::fmt::Debug>(key: &str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::config(
            key,
            "give at least one value (an empty list runs nothing)",
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(Error::config(
                key,
                format!("{v:?} appears twice in {values:?}: each value once (duplicates would duplicate rows)"),
            ));
        }
    }
    Ok(())
}
