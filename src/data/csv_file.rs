//! The CSV source: a user file, one sample a line, one or several columns the targets.

use std::path::Path;

use super::{normalized, parse_csv, Dataset, Normalization};
use crate::error::{Error, Result};

/// A user CSV: one sample a line, comma-separated numbers, the target in column
/// `target_column` (0-based; `None` = the last column), an optional header line; the other
/// columns are the inputs, in file order. Blank lines and lines starting with `#` are skipped.
/// When `n` is given, the first `n` samples are used.
///
/// Every malformed file is rejected with the line and the reason: a ragged row, a field that is
/// not a finite number, a missing target column, no data.
pub fn csv(
    path: &Path,
    header: bool,
    target_column: Option<usize>,
    n: Option<usize>,
    normalize: Normalization,
) -> Result<Dataset> {
    let columns = target_column.map(|t| vec![t]);
    read_csv(
        path,
        header,
        columns.as_deref(),
        "data.target_column",
        n,
        normalize,
    )
}

/// A user CSV with `k = target_columns.len()` targets per sample: column `b` of the target row
/// is file column `target_columns[b]` (0-based), the other columns are the inputs, in file
/// order. Otherwise as [`csv`].
///
/// `target_columns` is refused (`data.target_columns`) when it is empty, lists a column twice,
/// names a column the file does not have, or leaves no input column.
pub fn csv_columns(
    path: &Path,
    header: bool,
    target_columns: &[usize],
    n: Option<usize>,
    normalize: Normalization,
) -> Result<Dataset> {
    let key = "data.target_columns";
    if target_columns.is_empty() {
        return Err(Error::config(
            key,
            "must list at least one 0-based column, got []: e.g. target_columns = [4, 5], or \
             remove it to use the last column",
        ));
    }
    if let Some((_, t)) = target_columns
        .iter()
        .enumerate()
        .find(|&(i, t)| target_columns[..i].contains(t))
    {
        return Err(Error::config(
            key,
            format!("lists column {t} twice in {target_columns:?}: every column must appear once"),
        ));
    }
    read_csv(path, header, Some(target_columns), key, n, normalize)
}

/// [`csv`] and [`csv_columns`]: the targets in `targets` (`None` = the last column), `key`
/// the config field that names them.
fn read_csv(
    path: &Path,
    header: bool,
    targets: Option<&[usize]>,
    key: &str,
    n: Option<usize>,
    normalize: Normalization,
) -> Result<Dataset> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Data {
        path: path.to_path_buf(),
        line: 0,
        message: format!("cannot read the file: {e}; check data.path"),
    })?;
    // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first field.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let rows = parse_csv(text, path, header)?;
    let cols = rows[0].1.len();
    if cols < 2 {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: rows[0].0,
            message: "a row needs at least two columns (inputs and the target)".into(),
        });
    }
    let last = [cols - 1];
    let targets = targets.unwrap_or(&last);
    if let Some(t) = targets.iter().find(|&&t| t >= cols) {
        return Err(Error::config(
            key,
            format!(
                "column {t} does not exist: {} has {cols} columns (0…{})",
                path.display(),
                cols - 1
            ),
        ));
    }
    if targets.len() >= cols {
        return Err(Error::config(
            key,
            format!(
                "{targets:?} takes all {cols} columns of {} as targets: leave at least one \
                 input column",
                path.display()
            ),
        ));
    }
    let mut rows = rows;
    if let Some(n) = n {
        if n == 0 || n > rows.len() {
            return Err(Error::config(
                "data.n",
                format!(
                    "must be between 1 and {} (the samples in {}), got {n}",
                    rows.len(),
                    path.display()
                ),
            ));
        }
        rows.truncate(n);
    }
    let k = targets.len();
    let dim = cols - k;
    let is_target: Vec<bool> = (0..cols).map(|c| targets.contains(&c)).collect();
    let mut inputs = Vec::with_capacity(rows.len() * dim);
    let mut ys = Vec::with_capacity(rows.len() * k);
    for (_, r) in rows {
        ys.extend(targets.iter().map(|&t| r[t]));
        inputs.extend((0..cols).filter(|&c| !is_target[c]).map(|c| r[c]));
    }
    normalized(Dataset::with_outputs(inputs, ys, dim, k)?, normalize, path)
}
