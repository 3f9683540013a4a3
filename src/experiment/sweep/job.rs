//! The sweep as a [`BackendJob`]: claims its folder, skips finished runs, and appends one row
//! (and one timing) per run, synced as each ends.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::run::run_point;
use super::{Shard, SweepConfig, SweepPoint};
use crate::error::{Error, Result};
use crate::model::backend::{BackendInfo, BackendJob};
use crate::report::files::{write_atomic, write_json, VERSION};
use crate::report::rows::{read_rows, rows_text, SweepRow, TIMINGS_HEADER};

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
    /// The git revision of the build that first wrote the folder (absent from records written
    /// before the field, and from builds outside a git checkout).
    #[serde(default)]
    pub git_revision: Option<String>,
    /// The sweep.
    pub sweep: SweepConfig,
    /// Backend and precision.
    pub backend: BackendInfo,
}

impl SweepRecord {
    /// Reads `dir/sweep.json`; a missing or malformed file is refused with its path.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("sweep.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::io("cannot parse", &path, std::io::Error::other(e)))
    }
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
                git_revision: crate::report::files::git_revision().map(str::to_string),
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
