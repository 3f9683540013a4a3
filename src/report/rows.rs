//! Sweep rows: one `(point, seed)` run of a sweep reduced to the theory's quantities, one CSV
//! line each (`rows.csv`, or `rows.shard-I-of-N.csv` per shard). Sweeps append them; figures
//! and merges read them.

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
    /// `min_t λ_min(K(w_t))` along the GD run (μ̂ from the trajectory).
    pub mu_trajectory: f64,
    /// `μ̂` from the probes of the ball (NaN without a card).
    pub mu_probes: f64,
    /// `R` (NaN without a card).
    pub radius: f64,
    /// `max_t ‖w_t − w₀‖`.
    pub max_distance: f64,
    /// `‖H_F(w₀)‖`.
    pub hessian_norm0: f64,
    /// `max_t ‖H_F(w_t)‖` over the Hessian evaluations of the run.
    pub hessian_norm_max: f64,
    /// `max_k ‖H_{F_k}(w₀)‖₂` (NaN unless measured).
    pub per_output_hessian0: f64,
    /// `‖K(w_T) − K(w₀)‖_F / ‖K(w₀)‖_F` at the end.
    pub kernel_change: f64,
    /// The step where the target was reached (−1: not reached).
    pub steps_to_target: i64,
    /// Final loss `L(w_T)`.
    pub final_loss: f64,
    /// Step size used.
    pub eta: f64,
    /// Wall time of this run, seconds.
    pub wall_seconds: f64,
}

/// The CSV header of [`SweepRow`].
pub const ROW_HEADER: &str = "point,seed,width,depth,n,activation,output_activation,p,lambda0,lambda_max0,mu_trajectory,mu_probes,radius,max_distance,hessian_norm0,hessian_norm_max,per_output_hessian0,kernel_change,steps_to_target,final_loss,eta,wall_seconds";

impl SweepRow {
    /// One CSV line (no newline); floats round-trip exactly.
    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{},{:e},{:e},{:.3}",
            self.point, self.seed, self.width, self.depth, self.n, self.activation,
            self.output_activation, self.p, self.lambda0, self.lambda_max0, self.mu_trajectory,
            self.mu_probes, self.radius, self.max_distance, self.hessian_norm0,
            self.hessian_norm_max, self.per_output_hessian0, self.kernel_change,
            self.steps_to_target, self.final_loss, self.eta, self.wall_seconds
        )
    }

    /// Parses a line written by [`SweepRow::csv`].
    pub fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 22 {
            return None;
        }
        let x = |i: usize| f[i].parse::<f64>().ok();
        Some(Self {
            point: f[0].parse().ok()?,
            seed: f[1].parse().ok()?,
            width: f[2].parse().ok()?,
            depth: f[3].parse().ok()?,
            n: f[4].parse().ok()?,
            activation: f[5].to_string(),
            output_activation: f[6].to_string(),
            p: f[7].parse().ok()?,
            lambda0: x(8)?,
            lambda_max0: x(9)?,
            mu_trajectory: x(10)?,
            mu_probes: x(11)?,
            radius: x(12)?,
            max_distance: x(13)?,
            hessian_norm0: x(14)?,
            hessian_norm_max: x(15)?,
            per_output_hessian0: x(16)?,
            kernel_change: x(17)?,
            steps_to_target: f[18].parse().ok()?,
            final_loss: x(19)?,
            eta: x(20)?,
            wall_seconds: x(21)?,
        })
    }
}

/// Reads the complete rows of a rows file (a torn last line is ignored).
pub fn read_rows(path: &Path) -> Result<Vec<SweepRow>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    Ok(text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .skip(1)
        .filter_map(|l| SweepRow::parse(l.trim_end()))
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
