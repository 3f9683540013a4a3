//! The NumPy source: two `.npy` files, inputs `[n, d]` and targets `[n]` or `[n, k]`.

use std::path::Path;

use super::{normalized, Dataset, Normalization};
use crate::error::{Error, Result};
use crate::report::npy;

/// Two NumPy `.npy` files: `inputs` of shape `[n, d]` and `targets` of shape `[n]` (`k = 1`) or
/// `[n, k]`, float32 or float64 (widened exactly to f64), read by [`crate::report::npy`]: C
/// order, or Fortran order and big-endian values, which it converts exactly. When `n` is given,
/// the first `n` samples are used; inputs are then normalized.
///
/// Refused, naming the key and the fix: a file that cannot be read or is not a float32/float64
/// `.npy` (`data.inputs`, `data.targets`); inputs not 2-D or with `d = 0`; targets not 1- or
/// 2-D or with `k = 0`; row counts that differ; no samples; a value that is not finite (with its
/// sample and column); `n` of 0 or more than the samples (`data.n`).
pub fn npy(
    inputs: &Path,
    targets: &Path,
    n: Option<usize>,
    normalize: Normalization,
) -> Result<Dataset> {
    let x = read_npy(inputs, "data.inputs")?;
    let y = read_npy(targets, "data.targets")?;
    let (rows, dim) = match x.shape[..] {
        [rows, dim] if dim >= 1 => (rows, dim),
        _ => {
            return Err(Error::config(
                "data.inputs",
                format!(
                    "{} holds an array of shape {:?}: inputs are [n, d] with d ≥ 1, one sample a \
                     row (for one feature, save x.reshape(-1, 1))",
                    inputs.display(),
                    x.shape
                ),
            ))
        }
    };
    let (target_rows, k) = match y.shape[..] {
        [rows] => (rows, 1),
        [rows, k] if k >= 1 => (rows, k),
        _ => {
            return Err(Error::config(
                "data.targets",
                format!(
                    "{} holds an array of shape {:?}: targets are [n] (one per sample) or \
                     [n, k] with k ≥ 1",
                    targets.display(),
                    y.shape
                ),
            ))
        }
    };
    if target_rows != rows {
        return Err(Error::config(
            "data.targets",
            format!(
                "{} has {target_rows} rows but {} has {rows} samples: give one target row per \
                 input row, in the same order",
                targets.display(),
                inputs.display()
            ),
        ));
    }
    if rows == 0 {
        return Err(Error::config(
            "data.inputs",
            format!(
                "{} holds no samples (shape {:?}): give at least one row",
                inputs.display(),
                x.shape
            ),
        ));
    }
    for (path, values, width) in [(inputs, &x.values, dim), (targets, &y.values, k)] {
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: 0,
                message: format!(
                    "sample {}, column {}: {} is not finite; remove or impute it",
                    at / width,
                    at % width,
                    values[at]
                ),
            });
        }
    }
    let (mut xs, mut ys) = (x.values, y.values);
    if let Some(n) = n {
        if n == 0 || n > rows {
            return Err(Error::config(
                "data.n",
                format!(
                    "must be between 1 and {rows} (the samples in {}), got {n}",
                    inputs.display()
                ),
            ));
        }
        xs.truncate(n * dim);
        ys.truncate(n * k);
    }
    normalized(Dataset::with_outputs(xs, ys, dim, k)?, normalize, inputs)
}

/// Reads one `.npy` file of a data set; a refusal names `key` (the config field of the file).
fn read_npy(path: &Path, key: &str) -> Result<npy::NpyArray> {
    let with_key = |message: String| {
        format!(
            "{key}: {message}{}",
            if message.starts_with("cannot read") {
                format!("; check {key} (relative paths start at the config file's folder)")
            } else {
                String::new()
            }
        )
    };
    npy::read_array(path).map_err(|e| match e {
        Error::Data {
            path,
            line,
            message,
        } => Error::Data {
            path,
            line,
            message: with_key(message),
        },
        Error::File { path, message } => Error::File {
            path,
            message: with_key(message),
        },
        other => other,
    })
}
