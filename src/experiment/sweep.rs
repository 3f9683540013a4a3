//! Width sweeps: a grid of architectures and data sizes, several seeds each; one training run
//! with its theorem card per `(point, seed)`, reduced to one CSV row.
//!
//! Rows are appended to `rows.csv` (or `rows.shard-I-of-N.csv`) and synced as each run ends, so
//! a killed sweep resumes where it stopped: on re-run, finished `(point, seed)` pairs are
//! skipped and a torn last line is dropped. `sweep.json` holds the resolved sweep; a re-run or a
//! merge with a different one is refused.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::config::{check_name, RunConfig};
use crate::experiment::run::{max_distance, theorem_reference, trajectory_points};
use crate::experiment::step::resolve_step_size;
use crate::measure::hessian::{max_output_hessian_norm, HessianNormSettings};
use crate::measure::infinite::limit_kernel;
use crate::measure::kernel::{tangent_kernel, KernelMethod};
use crate::measure::roundoff::RoundOff;
use crate::measure::spectrum::dense_spectrum;
use crate::model::backend::{BackendInfo, BackendJob};
use crate::model::Activation;
use crate::report::figures::sweep::{sweep_figures, Panel, SeriesKey, SweepSeries};
use crate::report::figures::Figure;
use crate::report::files::{write_atomic, write_json, VERSION};
use crate::report::rows::{read_folder_rows, read_rows, rows_text, SweepRow, TIMINGS_HEADER};
use crate::theorem::card::{theorem_card, travelled_ball, TheoremCard};
use crate::theorem::verdict::{judge, RunRecords, RunVerdicts};
use crate::train::{train, Control, StepRecord};

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

/// `[grid]`: every combination of the given lists is a point (absent lists keep the base).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Hidden widths `m` (every hidden layer gets width `m`).
    pub widths: Vec<usize>,
    /// Depths `L` (default: the base's).
    #[serde(default)]
    pub depths: Option<Vec<usize>>,
    /// Sample counts `n` (default: the base's).
    #[serde(default)]
    pub n: Option<Vec<usize>>,
    /// Hidden activations (default: the base's).
    #[serde(default)]
    pub activations: Option<Vec<Activation>>,
    /// Output activations (default: the base's).
    #[serde(default)]
    pub output_activations: Option<Vec<Activation>>,
}

/// One point of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Index in grid order.
    pub index: usize,
    /// Width `m`.
    pub width: usize,
    /// Depth `L`.
    pub depth: usize,
    /// Samples `n` (`None`: the base's data as configured).
    pub n: Option<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Output activation.
    pub output_activation: Activation,
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

    /// Every point, in grid order (output activation, activation, depth, n, width; width
    /// varies fastest).
    pub fn points(&self) -> Vec<SweepPoint> {
        let base = &self.base.model;
        let depths = self
            .grid
            .depths
            .clone()
            .unwrap_or_else(|| vec![base.widths.len().max(1)]);
        let ns: Vec<Option<usize>> = match &self.grid.n {
            Some(v) => v.iter().map(|&n| Some(n)).collect(),
            None => vec![None],
        };
        let acts = self
            .grid
            .activations
            .clone()
            .unwrap_or_else(|| vec![base.activation]);
        let outs = self
            .grid
            .output_activations
            .clone()
            .unwrap_or_else(|| vec![base.output_activation]);
        let mut points: Vec<SweepPoint> = vec![];
        for &output_activation in &outs {
            for &activation in &acts {
                for &depth in &depths {
                    for &n in &ns {
                        for &width in &self.grid.widths {
                            let point = SweepPoint {
                                index: points.len(),
                                width,
                                depth,
                                n,
                                activation,
                                output_activation,
                            };
                            if self.within_size(&point) {
                                points.push(point);
                            }
                        }
                    }
                }
            }
        }
        points
    }

    /// Whether `point` has at most `max_parameters` parameters (a point whose config does not
    /// validate is kept: validation reports it).
    fn within_size(&self, point: &SweepPoint) -> bool {
        let Some(max) = self.max_parameters else {
            return true;
        };
        match self
            .run_config(point, self.seeds.first().copied().unwrap_or(0))
            .validate()
        {
            Ok(s) => s.model.parameter_count() <= max,
            Err(_) => true,
        }
    }

    /// The run config of `point` with `seed`.
    pub fn run_config(&self, point: &SweepPoint, seed: u64) -> RunConfig {
        let mut c = self.base.clone();
        c.name = Some(format!("{}-p{}-s{}", self.name, point.index, seed));
        c.seed = seed;
        c.card.extra_radii.extend(&self.mu_radii);
        c.model.widths = vec![point.width; point.depth];
        c.model.activation = point.activation;
        c.model.output_activation = point.output_activation;
        if let Some(n) = point.n {
            c.data.n = Some(n);
        }
        c
    }
}

/// Points kept per loss curve in `curves/` (steps `0, k, 2k, …` and the last one).
pub const CURVE_POINTS: usize = 200;

/// The loss curve of one run: `step, loss, loss_bound`, thinned to about [`CURVE_POINTS`]
/// rows (every `k`-th record with `k = ⌈records / CURVE_POINTS⌉`, and the last).
fn curve_csv(records: &[StepRecord]) -> String {
    let stride = records.len().div_ceil(CURVE_POINTS).max(1);
    let mut s = String::from("step,loss,loss_bound\n");
    for (i, r) in records.iter().enumerate() {
        if i % stride != 0 && i + 1 != records.len() {
            continue;
        }
        s.push_str(&format!(
            "{},{:e},{}\n",
            r.step,
            r.loss,
            r.loss_bound.map_or(String::new(), |b| format!("{b:e}"))
        ));
    }
    s
}

/// A shard: one of `count` parts of the grid, dealt by estimated cost ([`Shard::points`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The rows file of this shard.
    pub fn rows_file(&self) -> String {
        self.file("rows")
    }

    /// The timings file of this shard.
    pub fn timings_file(&self) -> String {
        self.file("timings")
    }

    fn file(&self, stem: &str) -> String {
        if self.count == 1 {
            format!("{stem}.csv")
        } else {
            format!("{stem}.shard-{}-of-{}.csv", self.index, self.count)
        }
    }

    /// The points of `sweep` this shard runs, in grid order: those [`shard_assignment`] deals
    /// to it. One shard runs every point.
    pub fn points(&self, sweep: &SweepConfig) -> Vec<SweepPoint> {
        let points = sweep.points();
        if self.count <= 1 {
            return points;
        }
        let shards = shard_assignment(sweep, &points, self.count);
        points
            .into_iter()
            .zip(shards)
            .filter(|(_, shard)| *shard == self.index)
            .map(|(p, _)| p)
            .collect()
    }
}

/// The shard (`0 ≤ s < count`) of each of `points`, balanced by estimated cost: the points,
/// most costly first ([`point_cost`]; equal costs in grid order), each go to the shard with the
/// least cost so far (ties: the lower shard). The greedy longest-first rule (LPT) leaves the
/// busiest shard within 4/3 of the best possible split; round-robin by index could give one
/// shard every widest point (widths 64, 1024, 16384 of sweep-width's two shards: 46 s against
/// 9 s). Integer costs make the split exact, so every shard of a job array computes the same.
pub fn shard_assignment(sweep: &SweepConfig, points: &[SweepPoint], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let costs: Vec<u128> = points.iter().map(|p| point_cost(sweep, p)).collect();
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| costs[b].cmp(&costs[a]).then(a.cmp(&b)));
    let mut loads = vec![0u128; count];
    let mut shard_of = vec![0; points.len()];
    for i in order {
        let lightest = (0..count).min_by_key(|&s| (loads[s], s)).unwrap_or(0);
        loads[lightest] += costs[i];
        shard_of[i] = lightest;
    }
    shard_of
}

/// The estimated cost of `point`'s runs (all its seeds), in units of multiply-adds:
/// `seeds · (n p (T + n) + n³)` with `p` parameters, `n` samples and `T` training steps (a
/// forward and backward pass over the data per step, `n` kernel rows of `p` for the card, a
/// dense eigendecomposition). Only the ratios between points matter. A point whose config does
/// not validate is costed by its widths (`L m²`): it fails when run, wherever it goes.
pub fn point_cost(sweep: &SweepConfig, point: &SweepPoint) -> u128 {
    let seed = sweep.seeds.first().copied().unwrap_or(0);
    let config = sweep.run_config(point, seed);
    let steps = config.train.steps as u128;
    let seeds = sweep.seeds.len().max(1) as u128;
    let per_run = match config.validate() {
        Ok(s) => {
            let (n, p) = (s.data.len() as u128, s.model.parameter_count() as u128);
            n * p * (steps + n) + n * n * n
        }
        Err(_) => point.depth as u128 * (point.width as u128).pow(2),
    };
    seeds * per_run.max(1)
}

/// Progress of a sweep, for the caller's display.
pub enum SweepEvent<'a> {
    /// How many runs this invocation will do (after skipping finished ones).
    Planned {
        /// Runs to do.
        todo: usize,
        /// Runs already in the rows file.
        done: usize,
    },
    /// A run finished, in this many seconds.
    Finished(&'a SweepRow, f64),
}

/// The sweep as a [`BackendJob`].
pub struct SweepJob<'a> {
    /// The sweep.
    pub sweep: &'a SweepConfig,
    /// The output folder `<out>/<name>`.
    pub dir: PathBuf,
    /// Which shard.
    pub shard: Shard,
    /// Progress.
    pub on_event: &'a mut dyn FnMut(SweepEvent<'_>),
}

/// `sweep.json`: the resolved sweep and its provenance.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SweepRecord {
    /// plstar's version.
    pub plstar_version: String,
    /// The sweep.
    pub sweep: SweepConfig,
    /// Backend and precision.
    pub backend: BackendInfo,
}

/// Checks `dir/sweep.json` against `record` (or writes it when absent): rows of a different
/// sweep, backend or precision are refused; a new choice of panels is recorded.
pub fn claim_dir(dir: &Path, record: &SweepRecord) -> Result<()> {
    let path = dir.join("sweep.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let old: SweepRecord = serde_json::from_str(&text)
            .map_err(|e| Error::io("cannot parse", &path, std::io::Error::other(e)))?;
        if !old.sweep.same_rows(&record.sweep)
            || old.backend.backend != record.backend.backend
            || old.backend.precision != record.backend.precision
        {
            return Err(Error::config(
                "sweep",
                format!(
                    "{} holds rows of a different sweep (config, backend or precision differ); \
                     use another --out, or delete that folder to start over",
                    dir.display()
                ),
            ));
        }
        if old.sweep.panels == record.sweep.panels {
            return Ok(());
        }
        // The same rows, another presentation: keep the rows, record the new panels.
        let updated = SweepRecord {
            sweep: SweepConfig {
                panels: record.sweep.panels.clone(),
                ..old.sweep
            },
            ..old
        };
        return write_json(&path, &updated);
    }
    write_json(&path, record)
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

/// `path` opened for appending (created, with `header`, when absent).
fn appender(path: &Path, header: Option<&str>) -> Result<std::fs::File> {
    let fresh = !path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))?;
    if let (true, Some(h)) = (fresh, header) {
        append_line(&mut file, path, h)?;
    }
    Ok(file)
}

/// One line appended and synced, so that a killed sweep loses at most the run in flight.
fn append_line(file: &mut std::fs::File, path: &Path, line: &str) -> Result<()> {
    writeln!(file, "{line}")
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::io("cannot append to", path, e))
}

impl BackendJob for SweepJob<'_> {
    type Output = Result<Vec<SweepRow>>;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Result<Vec<SweepRow>> {
        let dir = &self.dir;
        std::fs::create_dir_all(dir.join("curves"))
            .map_err(|e| Error::io("cannot create", dir, e))?;
        claim_dir(
            dir,
            &SweepRecord {
                plstar_version: VERSION.into(),
                sweep: self.sweep.clone(),
                backend: info.clone(),
            },
        )?;
        let rows_path = dir.join(self.shard.rows_file());
        // Drop a torn last line left by a killed run, then append.
        let existing = read_rows(&rows_path)?;
        write_atomic(
            &rows_path,
            rows_text(&self.sweep.mu_radii, &existing).as_bytes(),
        )?;
        let done: BTreeSet<(usize, u64)> = existing.iter().map(|r| (r.point, r.seed)).collect();
        let todo: Vec<(SweepPoint, u64)> = self
            .shard
            .points(self.sweep)
            .into_iter()
            .flat_map(|p| self.sweep.seeds.iter().map(move |&s| (p.clone(), s)))
            .filter(|(p, s)| !done.contains(&(p.index, *s)))
            .collect();
        (self.on_event)(SweepEvent::Planned {
            todo: todo.len(),
            done: done.len(),
        });
        let mut rows_file = appender(&rows_path, None)?;
        let timings_path = dir.join(self.shard.timings_file());
        let mut timings_file = appender(&timings_path, Some(TIMINGS_HEADER))?;
        let mut rows = existing;
        for (point, seed) in todo {
            let started = Instant::now();
            let row = run_point::<B>(self.sweep, &point, seed, &device, dir)?;
            let seconds = started.elapsed().as_secs_f64();
            append_line(&mut rows_file, &rows_path, &row.csv())?;
            append_line(
                &mut timings_file,
                &timings_path,
                &format!("{},{},{seconds:.3}", row.point, row.seed),
            )?;
            (self.on_event)(SweepEvent::Finished(&row, seconds));
            rows.push(row);
        }
        Ok(rows)
    }
}

fn run_point<B: Backend>(
    sweep: &SweepConfig,
    point: &SweepPoint,
    seed: u64,
    device: &B::Device,
    dir: &Path,
) -> Result<SweepRow> {
    let config = sweep.run_config(point, seed);
    let s = config.validate()?;
    let (x, y) = s.data.to_tensors::<B>(device);
    let model = s.model.init::<B>(seed, device);
    let card = if config.card.enabled {
        Some(theorem_card(&model, &x, &y, &config.card.settings(seed))?)
    } else {
        None
    };
    let per_output_hessian0 = if sweep.per_output_hessian {
        max_output_hessian_norm(&model, &x, &HessianNormSettings::default().lanczos).max
    } else {
        f64::NAN
    };
    let step = resolve_step_size(s.learning_rate, &s.train.optimizer, card.as_ref())?;
    let mut settings = s.train.clone();
    settings.learning_rate = step.value;
    settings.kernel_stage = Some(sweep.kernel_stage);
    let theorem = card.as_ref().and_then(theorem_reference);
    let out = train(model.clone(), &x, &y, &settings, theorem, &mut |_| {
        Control::Continue
    });
    let travelled = match &card {
        Some(c) => Some(travelled_ball(
            c,
            &model,
            &x,
            &y,
            max_distance(&out.records),
            &trajectory_points(&out.records),
            &config.card.settings(seed).search,
        )?),
        None => None,
    };
    let v = judge(
        card.as_ref(),
        travelled.as_ref(),
        &RunRecords {
            records: &out.records,
            eta: step.value,
            target_loss: settings.target_loss,
            stop: &out.stop,
            optimizer: &settings.optimizer,
            round_off: RoundOff::for_backend::<B>(&s.model),
            equations: s.data.equations(),
            parameters: s.model.parameter_count(),
        },
    );
    write_atomic(
        &dir.join("curves")
            .join(format!("point{}_seed{}.csv", point.index, seed)),
        curve_csv(&out.records).as_bytes(),
    )?;
    let mut row = reduce(sweep, point, seed, card.as_ref(), &out.records, &v);
    if card.is_none() {
        // The round-off floor without a card: the model's, from λ_max(K₀).
        row.positivity_threshold = RoundOff::for_backend::<B>(&s.model)
            .eigenvalue_floor_from_lambda_max(s.data.len(), row.lambda_max0);
    }
    row.kernel_infinite_gap = limit_kernel(&s.model, &s.data).map_or(f64::NAN, |kinf| {
        let k0 = tangent_kernel(&model, &x, KernelMethod::Structured);
        k0.relative_distance(&kinf)
    });
    row.n = s.data.len();
    row.p = s.model.parameter_count();
    row.per_output_hessian0 = per_output_hessian0;
    row.eta = step.value;
    Ok(row)
}

/// A run reduced to its row (`n`, `p`, `per_output_hessian0`, `eta` and `kernel_infinite_gap`
/// are the caller's).
fn reduce(
    sweep: &SweepConfig,
    point: &SweepPoint,
    seed: u64,
    card: Option<&TheoremCard>,
    records: &[StepRecord],
    v: &RunVerdicts,
) -> SweepRow {
    let first = &records[0];
    let hessian_norm0 = card
        .map(|c| c.hessian_norm0)
        .or(first.hessian_norm)
        .unwrap_or(f64::NAN);
    let hessians = records.iter().filter_map(|r| r.hessian_norm);
    let loss0 = first.loss;
    let stage = records
        .iter()
        .find(|r| r.loss <= sweep.kernel_stage * loss0 && r.kernel_change.is_some());
    let nan = f64::NAN;
    SweepRow {
        point: point.index,
        seed,
        width: point.width,
        depth: point.depth,
        n: 0,
        activation: point.activation.name().into(),
        output_activation: point.output_activation.name().into(),
        p: 0,
        lambda0: first.lambda_min.unwrap_or(nan),
        lambda_max0: first.lambda_max.unwrap_or(nan),
        positivity_threshold: card.map_or(nan, |c| c.positivity_threshold),
        kernel_infinite_gap: nan,
        mu_trajectory: v.trajectory_mu.unwrap_or(nan),
        mu_at: sweep
            .mu_radii
            .iter()
            .map(|&r| (r, card.map_or(nan, |c| profile_mu(c, r))))
            .collect(),
        certified: card.is_some_and(|c| c.certificate.certified),
        certified_radius: card
            .filter(|c| c.certificate.certified)
            .and_then(|c| c.certificate.radius)
            .unwrap_or(nan),
        eta_star: card.map_or(nan, |c| c.eta_star()),
        r_travelled: v.max_distance,
        mu_travelled: v.travelled.as_ref().map_or(nan, |t| t.mu),
        hessian_norm0,
        hessian_norm0_converged: card.is_some_and(|c| c.hessian_norm0_converged),
        hessian_norm_max: hessians.fold(hessian_norm0, f64::max),
        per_output_hessian0: nan,
        kernel_change: stage.and_then(|r| r.kernel_change).unwrap_or(nan),
        kernel_stage_step: stage.map_or(-1, |r| r.step as i64),
        linearization_gap_max: v.max_linearization_gap.unwrap_or(nan),
        steps_to_target: v.steps_to_target.map_or(-1, |s| s as i64),
        final_loss: v.final_loss,
        eta: nan,
    }
}

/// `μ̂(r)` from the card's profile at the grid radius `r` (NaN when the card searched nothing).
fn profile_mu(card: &TheoremCard, r: f64) -> f64 {
    card.profile
        .iter()
        .find(|e| (e.radius - r).abs() <= 1e-12 * r)
        .map_or(f64::NAN, |e| e.mu)
}

/// Draws the figures of the sweep in `dir` from its saved `sweep.json` and rows, with the
/// closed-form infinite-width `λ_min(K∞)` of every series that has one (figure a).
pub fn plot(dir: &Path) -> Result<Vec<Figure>> {
    let record_path = dir.join("sweep.json");
    let record: SweepRecord = serde_json::from_str(
        &std::fs::read_to_string(&record_path)
            .map_err(|e| Error::io("cannot read", &record_path, e))?,
    )
    .map_err(|e| Error::io("cannot parse", &record_path, std::io::Error::other(e)))?;
    let mut rows = read_folder_rows(dir)?;
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
    };
    let s = sweep
        .run_config(&point, sweep.seeds.first().copied().unwrap_or(0))
        .validate()
        .ok()?;
    let kinf = limit_kernel(&s.model, &s.data).ok()?;
    dense_spectrum(&kinf).ok().map(|s| s.lambda_min)
}
