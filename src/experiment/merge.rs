//! Merging the shards of a sweep (`plstar sweep --shard I/N`) into one sweep folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiment::sweep::{SweepConfig, SweepRecord};
use crate::report::files::{write_atomic, write_json};
use crate::report::rows::{read_folder_rows, rows_text, SweepRow, TIMINGS_HEADER};

/// What a merge wrote.
#[derive(Clone, Debug)]
pub struct Merged {
    /// `<out>/<name>/`.
    pub dir: PathBuf,
    /// Rows in the merged `rows.csv`.
    pub rows: usize,
    /// Runs `(point, seed)` of the sweep's grid that no shard holds (empty unless the merge
    /// was allowed to be partial).
    pub missing: Vec<(usize, u64)>,
    /// Runs of the sweep's grid in all (`points × seeds`).
    pub expected: usize,
    /// The sweep merged.
    pub sweep: SweepConfig,
}

/// Merges shard folders into `<out>/<name>/`, `name` from the shards' `sweep.json`.
///
/// Every shard is read and checked first (the same sweep, backend precision and rows format)
/// and the rows against the sweep's grid: runs `(point, seed)` that no shard holds (a shard
/// left out, or one still running) are refused, naming them, unless `allow_partial`; nothing
/// is written when anything is refused. The merged folder — `sweep.json`, `rows.csv` sorted
/// by `(point, seed)` without duplicates, `timings.csv`, `curves/` — is assembled in
/// `<out>/.<name>.merging/` and renamed into place. An existing `<out>/<name>/` is refused
/// unless `overwrite`.
pub fn merge(
    out: &Path,
    shards: &[PathBuf],
    overwrite: bool,
    allow_partial: bool,
) -> Result<Merged> {
    let (record, mut rows) = read_shards(shards)?;
    rows.sort_by_key(|r| (r.point, r.seed));
    rows.dedup_by_key(|r| (r.point, r.seed));
    let expected = expected_runs(&record.sweep);
    let missing: Vec<(usize, u64)> = expected
        .iter()
        .copied()
        .filter(|run| {
            rows.binary_search_by_key(run, |r| (r.point, r.seed))
                .is_err()
        })
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(Error::config(
            "merge",
            format!(
                "the {} shard folder{} hold{} {} of the {} runs of sweep `{}`; missing (point, \
                 seed): {}. Merge every shard (each --shard I/N, I = 0 … N − 1, run to the \
                 end), or pass --allow-partial to merge these rows alone (the figures then \
                 draw an incomplete grid)",
                shards.len(),
                if shards.len() == 1 { "" } else { "s" },
                if shards.len() == 1 { "s" } else { "" },
                expected.len() - missing.len(),
                expected.len(),
                record.sweep.name,
                describe_missing(&record.sweep, &missing)
            ),
        ));
    }
    let dir = out.join(&record.sweep.name);
    if dir.exists() && !overwrite {
        return Err(Error::config(
            "merge",
            format!(
                "{} already exists: pass --overwrite to replace it, or another --out",
                dir.display()
            ),
        ));
    }
    let temp = out.join(format!(".{}.merging", record.sweep.name));
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(temp.join("curves"))
        .map_err(|e| Error::io("cannot create", &temp, e))?;
    write_json(&temp.join("sweep.json"), &record)?;
    write_atomic(
        &temp.join("rows.csv"),
        rows_text(&record.sweep.mu_radii, &rows).as_bytes(),
    )?;
    write_atomic(&temp.join("timings.csv"), timings_text(shards).as_bytes())?;
    for shard in shards {
        copy_curves(&shard.join("curves"), &temp.join("curves"))?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io("cannot replace", &dir, e))?;
    }
    std::fs::rename(&temp, &dir).map_err(|e| Error::io("cannot rename into place", &dir, e))?;
    Ok(Merged {
        dir,
        rows: rows.len(),
        missing,
        expected: expected.len(),
        sweep: record.sweep,
    })
}

/// Every run `(point, seed)` of `sweep`'s grid, sorted.
fn expected_runs(sweep: &SweepConfig) -> Vec<(usize, u64)> {
    let mut runs: Vec<(usize, u64)> = sweep
        .points()
        .iter()
        .flat_map(|p| sweep.seeds.iter().map(move |&s| (p.index, s)))
        .collect();
    runs.sort();
    runs
}

/// The missing runs, by point: `point 1 (m = 64, L = 1, erf hidden, identity output): seeds
/// 0, 1; …`
/// (the first ten points, then how many more).
pub fn describe_missing(sweep: &SweepConfig, missing: &[(usize, u64)]) -> String {
    const SHOWN: usize = 10;
    let points = sweep.points();
    let mut parts = vec![];
    let mut i = 0;
    while i < missing.len() {
        let point = missing[i].0;
        let seeds: Vec<String> = missing[i..]
            .iter()
            .take_while(|(p, _)| *p == point)
            .map(|(_, s)| s.to_string())
            .collect();
        i += seeds.len();
        let what = points
            .iter()
            .find(|p| p.index == point)
            .map_or_else(String::new, |p| {
                format!(
                    " (m = {}, L = {}{}{}, {} hidden, {} output)",
                    p.width,
                    p.depth,
                    p.n.map_or(String::new(), |n| format!(", n = {n}")),
                    p.outputs.map_or(String::new(), |k| format!(", k = {k}")),
                    p.activation,
                    p.output_activation
                )
            });
        parts.push(format!(
            "point {point}{what}: seed{} {}",
            if seeds.len() == 1 { "" } else { "s" },
            seeds.join(", ")
        ));
    }
    let more = parts.len().saturating_sub(SHOWN);
    parts.truncate(SHOWN);
    if more > 0 {
        parts.push(format!("and {more} more points"));
    }
    parts.join("; ")
}

/// The shards' common `sweep.json` and all their rows, refusing shards of different sweeps.
fn read_shards(shards: &[PathBuf]) -> Result<(SweepRecord, Vec<SweepRow>)> {
    let mut record: Option<SweepRecord> = None;
    let mut rows = vec![];
    for dir in shards {
        check_sweep_folder(dir)?;
        let r = SweepRecord::read(dir)?;
        match &record {
            Some(first)
                if !first.sweep.same_rows(&r.sweep)
                    || first.backend.precision != r.backend.precision =>
            {
                let differences = record_differences(first, &r);
                return Err(Error::config(
                    "merge",
                    format!(
                        "{} was made by a different sweep than {}: {} ({} first); refusing to \
                         merge. Merge the shards of one sweep file, each run with the same \
                         --precision",
                        dir.display(),
                        shards[0].display(),
                        differences.join("; "),
                        shards[0].display()
                    ),
                ));
            }
            Some(_) => {}
            None => record = Some(r),
        }
        rows.extend(read_folder_rows(dir)?);
    }
    let record = record.ok_or_else(|| Error::config("merge", "give at least one shard folder"))?;
    Ok((record, rows))
}

/// Refuses a folder that is not a sweep's output folder `<out>/<name>/` (it has no
/// `sweep.json`), suggesting the sweep folder inside it when the user gave `<out>/`: `did you
/// mean shard0/mini?` for exactly one, the list for several. `plstar merge` and `plstar plot`
/// take `<out>/<name>/`, what `plstar sweep --out <out>` wrote.
pub fn check_sweep_folder(dir: &Path) -> Result<()> {
    if dir.join("sweep.json").is_file() {
        return Ok(());
    }
    let bad = |message: String| Error::File {
        path: dir.to_path_buf(),
        message,
    };
    if !dir.is_dir() {
        return Err(bad(format!(
            "{}: give the folder <out>/<name>/ that `plstar sweep --out <out>` wrote (it holds \
             sweep.json and rows.csv)",
            if dir.exists() {
                "not a folder"
            } else {
                "no such folder"
            }
        )));
    }
    let mut inside: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("sweep.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    inside.sort();
    let hint = match inside.as_slice() {
        [] => "give the folder <out>/<name>/ that `plstar sweep --out <out>` wrote (it holds \
               sweep.json and rows.csv)"
            .to_string(),
        [one] => format!(
            "did you mean {}? (`plstar sweep --out {}` writes the sweep into {}/<name>/)",
            one.display(),
            dir.display(),
            dir.display()
        ),
        several => format!(
            "it holds the sweeps {}: give one of them (`plstar sweep --out {}` writes each \
             sweep into {}/<name>/)",
            several
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            dir.display(),
            dir.display()
        ),
    };
    Err(bad(format!(
        "holds no sweep.json, so it is not a sweep's folder: {hint}"
    )))
}

/// The fields where two shards' `sweep.json` differ, in the sweep file's dotted keys, first
/// value then second: `base.train.steps: 300 vs 200`, `precision: f64 vs f32`. The figures'
/// `panels` are left out (they do not change the rows). At most eight, then how many more.
fn record_differences(first: &SweepRecord, other: &SweepRecord) -> Vec<String> {
    const SHOWN: usize = 8;
    let value = |r: &SweepRecord| {
        let mut v = serde_json::to_value(&r.sweep).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.remove("panels");
        }
        v
    };
    let mut out = vec![];
    value_differences("", &value(first), &value(other), &mut out);
    if first.backend.precision != other.backend.precision {
        out.push(format!(
            "precision: {} vs {}",
            first.backend.precision, other.backend.precision
        ));
    }
    if out.is_empty() {
        out.push("their sweep.json differ".into());
    }
    let more = out.len().saturating_sub(SHOWN);
    out.truncate(SHOWN);
    if more > 0 {
        out.push(format!("and {more} more fields"));
    }
    out
}

/// Appends `key: a vs b` for every leaf where `a` and `b` differ (objects are compared key by
/// key, anything else as a whole).
fn value_differences(
    key: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                value_differences(&path, va, vb, out);
            }
        }
        _ if a != b => out.push(format!("{key}: {a} vs {b}")),
        _ => {}
    }
}

/// Every shard's timing lines under one header.
fn timings_text(shards: &[PathBuf]) -> String {
    let mut text = format!("{TIMINGS_HEADER}\n");
    for shard in shards {
        let Ok(entries) = std::fs::read_dir(shard) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("timings") && name.ends_with(".csv") {
                if let Ok(t) = std::fs::read_to_string(e.path()) {
                    for line in t.lines().skip(1) {
                        text.push_str(line);
                        text.push('\n');
                    }
                }
            }
        }
    }
    text
}

/// The loss curves of one shard, copied into `dest`.
fn copy_curves(from: &Path, dest: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let target = dest.join(e.file_name());
        std::fs::copy(e.path(), &target)
            .map_err(|err| Error::io("cannot copy to", &target, err))?;
    }
    Ok(())
}
