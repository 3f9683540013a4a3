//! A sweep's figures from its saved `sweep.json` and rows.

use std::path::Path;

use super::{SweepConfig, SweepPoint, SweepRecord};
use crate::error::{Error, Result};
use crate::measure::infinite::limit_kernel;
use crate::measure::spectrum::dense_spectrum;
use crate::model::Activation;
use crate::report::figures::sweep::{sweep_figures, Panel, SeriesKey, SweepSeries};
use crate::report::figures::Figure;
use crate::report::rows::{read_folder_rows, SweepRow};

/// Draws the figures of the sweep in `dir` from its saved `sweep.json` and rows, with the
/// closed-form infinite-width `λ_min(K∞)` of every series that has one (figure a).
pub fn plot(dir: &Path) -> Result<Vec<Figure>> {
    let (record, rows) = saved(dir)?;
    if rows.is_empty() {
        return Err(Error::config(
            "plot",
            format!(
                "{} has no sweep rows yet: run plstar sweep first",
                dir.display()
            ),
        ));
    }
    let limits = SweepSeries::new(&rows)
        .keys
        .into_iter()
        .filter_map(|k| infinite_width_lambda_min(&record.sweep, &k).map(|l| (k, l)))
        .collect();
    let panels = record
        .sweep
        .panels
        .clone()
        .unwrap_or_else(|| Panel::ALL.to_vec());
    sweep_figures(dir, &rows, &record.sweep.mu_radii, &panels, &limits)
}

/// How much of its grid the sweep in `dir` holds: `(runs with a row, runs in the grid)`
/// (points × seeds of its `sweep.json`). `plstar plot` draws whatever rows there are, and says
/// so when they are fewer: an unfinished sweep, or one shard's folder before `plstar merge`.
pub fn coverage(dir: &Path) -> Result<(usize, usize)> {
    let (record, rows) = saved(dir)?;
    let grid = record.sweep.points().len() * record.sweep.seeds.len();
    Ok((rows.len(), grid))
}

/// The sweep in `dir`: its `sweep.json`, and its rows, one per `(point, seed)`, in that order.
fn saved(dir: &Path) -> Result<(SweepRecord, Vec<SweepRow>)> {
    let record = SweepRecord::read(dir)?;
    let mut rows = read_folder_rows(dir)?;
    rows.sort_by_key(|r| (r.point, r.seed));
    rows.dedup_by_key(|r| (r.point, r.seed));
    Ok((record, rows))
}

/// `λ_min(K∞)` for series `k` of `sweep` (any depth, with or without bias; none for a
/// non-identity output or the standard parameterization).
fn infinite_width_lambda_min(sweep: &SweepConfig, k: &SeriesKey) -> Option<f64> {
    let activation = Activation::ALL.into_iter().find(|a| a.name() == k.1)?;
    let output_activation = Activation::ALL.into_iter().find(|a| a.name() == k.0)?;
    let point = SweepPoint {
        index: 0,
        width: sweep.grid.widths[0],
        depth: k.2,
        n: Some(k.3).filter(|_| sweep.grid.n.is_some()),
        activation,
        output_activation,
        outputs: Some(k.4).filter(|_| sweep.grid.outputs.is_some()),
    };
    let s = sweep
        .run_config(&point, sweep.seeds.first().copied().unwrap_or(0))
        .validate()
        .ok()?;
    let kinf = limit_kernel(&s.model, &s.data).ok()?;
    dense_spectrum(&kinf).ok().map(|s| s.lambda_min)
}
