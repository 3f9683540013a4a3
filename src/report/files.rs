//! Output files, written so that an interrupted run never leaves a half-written one.
//!
//! A file is written under a temporary name (`<name>.partial`) and renamed into place once
//! complete; a run killed midway leaves only the `.partial` file, never a truncated
//! `metrics.csv` or `run.json`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::error::{Error, Result};

/// The plstar version, recorded in every output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision plstar was built from (`None` outside a git checkout).
pub fn git_revision() -> Option<&'static str> {
    option_env!("PLSTAR_GIT_REVISION").filter(|s| !s.is_empty())
}

/// A file being written line by line under `<dest>.partial`, renamed to `dest` by
/// [`PartialFile::commit`].
pub struct PartialFile {
    tmp: PathBuf,
    dest: PathBuf,
    writer: BufWriter<File>,
}

impl PartialFile {
    /// Creates `<dest>.partial` (truncating an older one).
    pub fn create(dest: &Path) -> Result<Self> {
        let tmp = partial_path(dest);
        let file = File::create(&tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
        Ok(Self {
            tmp,
            dest: dest.to_path_buf(),
            writer: BufWriter::new(file),
        })
    }

    /// Appends one line (a newline is added).
    pub fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.writer, "{text}").map_err(|e| Error::io("cannot write", &self.tmp, e))
    }

    /// Pushes buffered lines to the operating system.
    pub fn flush(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| Error::io("cannot write", &self.tmp, e))
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        self.flush()?;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Error::io("cannot write", &self.tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("cannot write", &self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| Error::io("cannot rename into place", &self.dest, e))?;
        Ok(self.dest)
    }
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Writes `bytes` to `dest` atomically: a temporary file, synced to disk, then renamed (a crash
/// leaves either the old file or the new one, never a torn one).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_path(dest);
    let written =
        File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("cannot write", &tmp, e));
    }
    std::fs::rename(&tmp, dest).map_err(|e| Error::io("cannot rename into place", dest, e))
}

/// Writes `value` as pretty JSON to `dest` atomically.
pub fn write_json(dest: &Path, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("plstar records serialize");
    text.push('\n');
    write_atomic(dest, text.as_bytes())
}

/// The current UTC time as RFC 3339 (`2026-11-28T12:49:52Z`).
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    utc_timestamp(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (proleptic Gregorian calendar).
pub fn utc_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_timestamp_matches_known_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1795870192` → Sat Nov 28 12:49:52 UTC 2026
        assert_eq!(utc_timestamp(1_795_870_192), "2026-11-28T12:49:52Z");
        // A leap day: 2024-02-29T23:59:59Z.
        assert_eq!(utc_timestamp(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn partial_file_appears_only_on_commit() {
        let dir = std::env::temp_dir().join(format!("plstar-partial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("metrics.csv");
        let mut f = PartialFile::create(&dest).unwrap();
        f.line("a,b").unwrap();
        f.flush().unwrap();
        assert!(
            !dest.exists(),
            "the destination must not exist before commit"
        );
        assert!(dir.join("metrics.csv.partial").exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "a,b\n");
        assert!(!dir.join("metrics.csv.partial").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
