//! The reproduction: the default sweeps and the landscape behind the figures, and REPORT.md.
//!
//! Every run is recomputed, in a staging folder `<out>/.reproduce/`; only when all of them are
//! done do the new folders replace `<out>/<name>/` and REPORT.md get written
//! ([`Reproduction::finish`]), so an interrupted reproduction loses nothing committed (a
//! resumed one keeps the runs already staged). A check recomputes into
//! `<out>/.reproduce-check/` and compares with the rows in `<out>` instead ([`check`]).
//!
//! A quick reproduction writes its folders as `<out>/<name>-quick/` and its report as
//! `<out>/REPORT-quick.md` beside them: the full grid's `REPORT.md` is never touched by it.
//!
//! The steps, in the order the command line calls them: [`Reproduction::sweeps`] and
//! [`landscape_config`] (the configs, checked before any work), [`Reproduction::clear_staging`],
//! [`Reproduction::plan`], [`Reproduction::run_sweep`] for each planned sweep,
//! [`Reproduction::run_landscape`], then [`Reproduction::check`] or [`Reproduction::finish`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::experiment::landscape::{LandscapeConfig, LandscapeJob, LandscapeResult};
use crate::experiment::sweep::{self, Shard, SweepConfig, SweepEvent, SweepJob};
use crate::model::backend::{dispatch, BackendKind, Precision};
use crate::report::figures::landscape::landscape_figures;
use crate::report::files;
use crate::report::markdown::{figure_sections, figures_markdown};
use crate::report::rows::{read_rows, total_wall_seconds};

pub mod check;

/// `configs/landscape.toml`, built in.
const LANDSCAPE: &str = include_str!("../../../configs/landscape.toml");

/// The reproduction's sweeps, built in, with the config each comes from.
const REPRODUCE_SWEEPS: [(&str, &str); 3] = [
    (
        "configs/sweep-width.toml",
        include_str!("../../../configs/sweep-width.toml"),
    ),
    (
        "configs/sweep-depth.toml",
        include_str!("../../../configs/sweep-depth.toml"),
    ),
    (
        "configs/sweep-pn.toml",
        include_str!("../../../configs/sweep-pn.toml"),
    ),
];

/// A reproduction into `out`: what the command line asked for, validated.
#[derive(Clone, Debug)]
pub struct Reproduction {
    /// Output root: each sweep goes to `<out>/<sweep name>/`, the report to
    /// [`report_path`]`(out, quick)`.
    pub out: PathBuf,
    /// The reduced grid ([`SweepConfig::quick`]), written beside the full one.
    pub quick: bool,
    /// Keep the runs already in the staging folder.
    pub resume: bool,
    /// Recompute into `<out>/.reproduce-check/` and compare with `<out>` ([`check`]).
    pub check: bool,
    /// The backend every run uses.
    pub backend: BackendKind,
    /// Its precision.
    pub precision: Precision,
}

/// A sweep of the reproduction and its runs still to do.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The config it comes from (`configs/sweep-width.toml`).
    pub origin: &'static str,
    /// The sweep (reduced for a quick reproduction).
    pub sweep: SweepConfig,
    /// Parameter counts of the runs still to do (a progress bar's work units).
    pub todo: Vec<u64>,
}

/// The report of a reproduction in `out`: `REPORT.md`, or `REPORT-quick.md` beside the quick
/// grid's `-quick` folders (so that a quick reproduction never rewrites the full grid's report).
pub fn report_path(out: &Path, quick: bool) -> PathBuf {
    out.join(if quick {
        "REPORT-quick.md"
    } else {
        "REPORT.md"
    })
}

/// `configs/landscape.toml` (figure f), built in.
pub fn landscape_config() -> Result<LandscapeConfig> {
    toml::from_str(LANDSCAPE).map_err(|e| Error::config("configs/landscape.toml", e.to_string()))
}

impl Reproduction {
    /// The staging folder: `<out>/.reproduce/`, or `<out>/.reproduce-check/` for a check.
    pub fn staging(&self) -> PathBuf {
        self.out.join(if self.check {
            ".reproduce-check"
        } else {
            ".reproduce"
        })
    }

    /// The report this reproduction writes ([`report_path`]).
    pub fn report_path(&self) -> PathBuf {
        report_path(&self.out, self.quick)
    }

    /// The landscape of figure (f): [`landscape_config`], written to `landscape-quick/` by a
    /// quick reproduction (like its sweeps) so that the committed `landscape/` is never touched.
    pub fn landscape(&self) -> Result<LandscapeConfig> {
        let mut landscape = landscape_config()?;
        if self.quick {
            landscape.name = format!("{}-quick", landscape.name);
        }
        Ok(landscape)
    }

    /// The reproduction's sweeps (reduced when quick), with the config each comes from.
    pub fn sweeps(&self) -> Result<Vec<(&'static str, SweepConfig)>> {
        REPRODUCE_SWEEPS
            .iter()
            .map(|&(origin, text)| {
                let sweep = SweepConfig::from_toml(text, origin)?;
                Ok((origin, if self.quick { sweep.quick() } else { sweep }))
            })
            .collect()
    }

    /// A check's precondition, before any work: every sweep's folder in `out` holds committed
    /// rows, written on this backend and precision (its `sweep.json`), and the landscape's
    /// `landscape.json` exists. Otherwise the check would recompute the whole grid only to
    /// fail, or compare f32 rows with f64 ones.
    pub fn check_committed(
        &self,
        sweeps: &[(&'static str, SweepConfig)],
        landscape: &LandscapeConfig,
    ) -> Result<()> {
        let quick = if self.quick { " --quick" } else { "" };
        let refuse = |what: String| {
            Err(Error::config(
                "reproduce --check",
                format!(
                    "{what}: nothing to compare with. Point --out at committed results (the \
                     default, results/), or run plstar reproduce{quick} without --check first"
                ),
            ))
        };
        for (_, sweep) in sweeps {
            let dir = self.out.join(&sweep.name);
            if crate::report::rows::read_folder_rows(&dir).map_or(true, |r| r.is_empty()) {
                return refuse(format!("{} holds no sweep rows", dir.display()));
            }
            let old = crate::experiment::sweep::SweepRecord::read(&dir)?;
            self.same_backend(&dir, old.backend.backend, old.backend.precision)?;
        }
        let path = self.out.join(&landscape.name).join("landscape.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return refuse(format!("{} does not exist", path.display()));
        };
        let old: LandscapeResult = serde_json::from_str(&text)
            .map_err(|e| Error::io("cannot parse", &path, std::io::Error::other(e)))?;
        self.same_backend(&path, old.backend.backend, old.backend.precision)
    }

    /// Refuses a check on another backend or precision than the committed `path` was
    /// computed on, naming the flags that match it.
    fn same_backend(&self, path: &Path, backend: BackendKind, precision: Precision) -> Result<()> {
        if (backend, precision) == (self.backend, self.precision) {
            return Ok(());
        }
        Err(Error::config(
            "reproduce --check",
            format!(
                "{} was computed on {} {}, this check would run on {} {}: pass --backend {} \
                 --precision {}",
                path.display(),
                backend.name(),
                precision.name(),
                self.backend.name(),
                self.precision.name(),
                backend.name(),
                precision.name()
            ),
        ))
    }

    /// Empties the staging folder, unless resuming.
    pub fn clear_staging(&self) -> Result<()> {
        let staging = self.staging();
        if !self.resume && staging.exists() {
            std::fs::remove_dir_all(&staging)
                .map_err(|e| Error::io("cannot clear", &staging, e))?;
        }
        Ok(())
    }

    /// The sweeps and the runs each still has to do in the staging folder.
    pub fn plan(&self, sweeps: Vec<(&'static str, SweepConfig)>) -> Result<Vec<Planned>> {
        let staging = self.staging();
        let mut plan = vec![];
        for (origin, sweep) in sweeps {
            let done: Vec<(usize, u64)> = read_rows(&staging.join(&sweep.name).join("rows.csv"))?
                .iter()
                .map(|r| (r.point, r.seed))
                .collect();
            let mut todo = vec![];
            for point in sweep.points() {
                for &seed in &sweep.seeds {
                    if !done.contains(&(point.index, seed)) {
                        let s = sweep.run_config(&point, seed).validate()?;
                        todo.push(s.model.parameter_count() as u64);
                    }
                }
            }
            plan.push(Planned {
                origin,
                sweep,
                todo,
            });
        }
        Ok(plan)
    }

    /// Runs (or resumes) one planned sweep in the staging folder, reporting each finished run
    /// to `on_event`, draws its figures (and their `figures.md`), and returns its REPORT.md
    /// section.
    pub fn run_sweep(
        &self,
        planned: &Planned,
        on_event: &mut dyn FnMut(SweepEvent<'_>),
    ) -> Result<String> {
        let sweep = &planned.sweep;
        let dir = self.staging().join(&sweep.name);
        let job = SweepJob {
            sweep,
            dir: dir.clone(),
            shard: Shard { index: 0, count: 1 },
            on_event,
        };
        dispatch(self.backend, self.precision, job)??;
        let figures = sweep::plot(&dir)?;
        files::write_atomic(
            &dir.join("figures.md"),
            figures_markdown(&figures).as_bytes(),
        )?;
        Ok(
            format!("## Sweep `{}` ({})\n\n", sweep.name, planned.origin)
                + &figure_sections(&figures, Some(&sweep.name)),
        )
    }

    /// Computes figure (f) in the staging folder and returns it with its REPORT.md section.
    pub fn run_landscape(&self, landscape: &LandscapeConfig) -> Result<(LandscapeResult, String)> {
        let dir = self.staging().join(&landscape.name);
        let result = dispatch(
            self.backend,
            self.precision,
            LandscapeJob {
                config: landscape,
                dir: &dir,
            },
        )??;
        let figures = landscape_figures(&dir, &result.measures)?;
        files::write_atomic(
            &dir.join("figures.md"),
            figures_markdown(&figures).as_bytes(),
        )?;
        let section = "## The landscape (configs/landscape.toml)\n\n".to_string()
            + &figure_sections(&figures, Some(&landscape.name));
        Ok((result, section))
    }

    /// The recomputed rows of every planned sweep and the landscape `result` against those in
    /// `out` ([`check::compare`]); the staging folder is removed afterwards.
    pub fn check(
        &self,
        plan: &[Planned],
        landscape: &LandscapeConfig,
        result: &LandscapeResult,
    ) -> Result<check::Check> {
        let staging = self.staging();
        let names: Vec<&str> = plan.iter().map(|p| p.sweep.name.as_str()).collect();
        let check = check::compare(&self.out, &staging, &names, &landscape.name, result)?;
        let _ = std::fs::remove_dir_all(&staging);
        Ok(check)
    }

    /// Moves every staged folder into place in `out`, writes the report (with `sections`, and
    /// the time since `started`), removes the staging folder, and returns the paths written:
    /// the folders, then the report.
    pub fn finish(
        &self,
        plan: &[Planned],
        landscape: &LandscapeConfig,
        sections: &str,
        started: Instant,
    ) -> Result<Vec<PathBuf>> {
        let staging = self.staging();
        let mut written = vec![];
        for name in plan
            .iter()
            .map(|p| p.sweep.name.clone())
            .chain([landscape.name.clone()])
        {
            written.push(move_into_place(
                &staging.join(&name),
                &self.out.join(&name),
            )?);
        }
        let report = self.report_text(plan, sections, started)?;
        let report_path = self.report_path();
        files::write_atomic(&report_path, report.as_bytes())?;
        let _ = std::fs::remove_dir_all(&staging);
        written.push(report_path);
        Ok(written)
    }

    /// REPORT.md: provenance, conventions, the `sections`, and the cost (the timings of the
    /// sweeps in `out`, and the time since `started`).
    pub fn report_text(
        &self,
        plan: &[Planned],
        sections: &str,
        started: Instant,
    ) -> Result<String> {
        let (mut seconds, mut runs) = (0.0, 0);
        for p in plan {
            let (s, n) = total_wall_seconds(&self.out.join(&p.sweep.name))?;
            (seconds, runs) = (seconds + s, runs + n);
        }
        Ok(format!(
            "# plstar: reproduced figures\n\nplstar {} (git {}) · backend {} ({}) · {} · written {}\n\n\
             Conventions (THEORY.md): L(w) = ½‖F(w) − y‖² summed over samples; K = DF DFᵀ without \
             averaging; m = hidden width, p = parameters, n = samples. Every number below is read from \
             the sweep rows beside each figure; error bars are the min–max over seeds. Certificates \
             are in the state `estimated` (a search): μ̂, L̂_F and β̂_F are extremes over the points \
             the search measured, β̂_F at w₀ and at every searched point inside the certifying ball; \
             positivity and round-off come from the round-off model (THEORY.md, \"Round-off\").\n\n{sections}\
             Cost: {runs} sweep runs, {seconds:.0} s of run time in all (the sum of the sweeps' \
             timings.csv), plus figure (f); this invocation took {:.0} s{}.\n",
            files::VERSION,
            files::git_revision().unwrap_or("unknown"),
            self.backend,
            self.precision,
            if self.quick { "quick grid" } else { "full grid" },
            files::utc_now(),
            started.elapsed().as_secs_f64(),
            if self.resume {
                " (resumed: some runs come from an earlier, interrupted invocation)"
            } else {
                ""
            }
        ))
    }
}

/// Replaces `dest` by the staged folder `staged`; returns `dest`.
fn move_into_place(staged: &Path, dest: &Path) -> Result<PathBuf> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| Error::io("cannot replace", dest, e))?;
    }
    std::fs::rename(staged, dest).map_err(|e| {
        let why = format!("from {}: {e}", staged.display());
        Error::io(
            "cannot move into place",
            dest,
            std::io::Error::new(e.kind(), why),
        )
    })?;
    Ok(dest.to_path_buf())
}
