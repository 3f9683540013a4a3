//! `[data]`: where the data come from, checked and loaded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{self, Dataset, Encoding, Normalization, SyntheticTarget};
use crate::error::{Error, Result};
use crate::experiment::resources;

/// Where the data come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSource {
    /// Uniform on the unit sphere, synthetic targets.
    Sphere,
    /// The orthonormal inputs `e_1 … e_n` (`d = n`), synthetic targets.
    Orthogonal,
    /// The embedded UCI digits.
    Digits,
    /// A user CSV file.
    Csv,
    /// Two user `.npy` files: inputs `[n, d]`, targets `[n]` or `[n, k]`.
    Npy,
}

impl DataSource {
    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            DataSource::Sphere => "sphere",
            DataSource::Orthogonal => "orthogonal",
            DataSource::Digits => "digits",
            DataSource::Csv => "csv",
            DataSource::Npy => "npy",
        }
    }
}

/// `[data]`: one flat section; which fields apply depends on `source`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// `sphere`, `orthogonal`, `digits`, `csv` or `npy`.
    pub source: DataSource,
    /// Sample count (required for `sphere`, `orthogonal`; a subset for `digits`, `csv`, `npy`).
    #[serde(default)]
    pub n: Option<usize>,
    /// Input dimension (`sphere` only; `orthogonal` has `d = n`).
    #[serde(default)]
    pub dim: Option<usize>,
    /// Target rule (`sphere`, `orthogonal`).
    #[serde(default)]
    pub target: Option<SyntheticTarget>,
    /// Targets per sample `k ≥ 1` (`sphere`, `orthogonal`; default 1): `k` columns of the
    /// target rule ([`SyntheticTarget`]), so the network has `k` outputs and `N = n·k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<usize>,
    /// The digit classes, 2 … 10 distinct digits 0…9 (`digits` only, required): column `b` of a
    /// target row stands for `classes[b]`; with two classes and the default encoding, `+1` for
    /// the first and `−1` for the second. Read whole, never truncated.
    #[serde(default)]
    pub classes: Option<Vec<u8>>,
    /// How the digit labels become targets (`digits` only): `sign` (two classes, `k = 1`: ±1),
    /// `one_hot` (`k` = the number of classes: 1 for the label's column, 0 elsewhere) or
    /// `centered` (one-hot minus `1/k`: rows sum to 0). Default: `sign` for two classes,
    /// `one_hot` for three or more ([`Encoding::default_for`]). `one_hot`/`centered` with two
    /// classes give `k = 2`; `sign` with more is refused.
    #[serde(default)]
    pub encoding: Option<Encoding>,
    /// Input normalization (`digits`, `csv`, `npy`): `sphere` (default) `x_i / ‖x_i‖`, `standardize`
    /// `(x_ij − x̄_j) / s_j` per feature, or `none`. A feature whose spread is within round-off
    /// of its magnitude, `max − min ≤ 8 u · max|x|` with `u = 2⁻⁵³`, is constant and becomes
    /// exactly 0 (see [`Normalization`]).
    #[serde(default)]
    pub normalize: Option<Normalization>,
    /// The CSV file (`csv` only).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Whether the CSV's first data line is a header (`csv` only).
    #[serde(default)]
    pub header: Option<bool>,
    /// 0-based target column, default the last (`csv` only; one target per sample).
    #[serde(default)]
    pub target_column: Option<usize>,
    /// 0-based target columns, `k` = their number, column `b` of the target row from file column
    /// `target_columns[b]` (`csv` only; not with `target_column`). Distinct, in range, and at
    /// least one column left for the inputs.
    #[serde(default)]
    pub target_columns: Option<Vec<usize>>,
    /// The inputs `.npy`, shape `[n, d]` (`npy` only, required).
    #[serde(default)]
    pub inputs: Option<PathBuf>,
    /// The targets `.npy`, shape `[n]` (`k = 1`) or `[n, k]` (`npy` only, required).
    #[serde(default)]
    pub targets: Option<PathBuf>,
    /// Seed of the data draw (`sphere`, `orthogonal`) or subset (`digits`).
    #[serde(default)]
    pub seed: u64,
}

impl DataSection {
    /// Loads the data set this section describes, rejecting fields that do not apply.
    pub fn load(&self) -> Result<Dataset> {
        let source = self.source.name();
        let fields = [
            (
                "n",
                self.n.is_some(),
                ["sphere", "orthogonal", "digits", "csv", "npy"].as_slice(),
            ),
            ("dim", self.dim.is_some(), &["sphere"]),
            ("target", self.target.is_some(), &["sphere", "orthogonal"]),
            ("outputs", self.outputs.is_some(), &["sphere", "orthogonal"]),
            ("classes", self.classes.is_some(), &["digits"]),
            ("encoding", self.encoding.is_some(), &["digits"]),
            (
                "normalize",
                self.normalize.is_some(),
                &["digits", "csv", "npy"],
            ),
            ("path", self.path.is_some(), &["csv"]),
            ("header", self.header.is_some(), &["csv"]),
            ("target_column", self.target_column.is_some(), &["csv"]),
            ("target_columns", self.target_columns.is_some(), &["csv"]),
            ("inputs", self.inputs.is_some(), &["npy"]),
            ("targets", self.targets.is_some(), &["npy"]),
        ];
        for (key, present, sources) in fields {
            if present && !sources.contains(&source) {
                return Err(Error::config(
                    format!("data.{key}"),
                    format!("is not used with source = \"{source}\"; remove it"),
                ));
            }
        }
        self.check_size()?;
        let target = self.target.unwrap_or_default();
        let normalize = self.normalize.unwrap_or_default();
        let outputs = self.synthetic_outputs()?;
        match self.source {
            DataSource::Sphere => Ok(data::sphere_outputs(
                self.required_n("the number of points")?,
                positive(self.dim, "data.dim", "sphere", "the input dimension d")?,
                outputs,
                target,
                self.seed,
            )),
            DataSource::Orthogonal => Ok(data::orthogonal_outputs(
                self.required_n("the number of points, also d")?,
                outputs,
                target,
                self.seed,
            )),
            DataSource::Digits => {
                let classes = self.classes.as_deref().ok_or_else(|| {
                    Error::config(
                        "data.classes",
                        "is required with source = \"digits\", e.g. classes = [3, 8] (targets \
                         ±1) or classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] (one-hot rows of 10)",
                    )
                })?;
                let encoding = self
                    .encoding
                    .unwrap_or(Encoding::default_for(classes.len()));
                data::digits_encoded(classes, encoding, self.n, normalize, self.seed)
            }
            DataSource::Csv => {
                let path = required_file(&self.path, "data.path", "csv", "the CSV file")?;
                let header = self.header.unwrap_or(false);
                match (self.target_column, &self.target_columns) {
                    (Some(_), Some(_)) => Err(Error::config(
                        "data.target_columns",
                        "give either target_column = i (one target per sample) or \
                         target_columns = [i, j, …] (several), not both",
                    )),
                    (_, Some(columns)) => {
                        data::csv_columns(path, header, columns, self.n, normalize)
                    }
                    (column, None) => data::csv(path, header, column, self.n, normalize),
                }
            }
            DataSource::Npy => data::npy(
                required_file(&self.inputs, "data.inputs", "npy", "the [n, d] inputs .npy")?,
                required_file(
                    &self.targets,
                    "data.targets",
                    "npy",
                    "the [n] or [n, k] targets .npy",
                )?,
                self.n,
                normalize,
            ),
        }
    }

    /// This section with every default that [`DataSection::load`] applies written out, for the
    /// `data` set it loaded: what `run.json` and `summary.json` record, so that a run's record
    /// says what was used rather than `null`. Loading the resolved section gives the same data.
    ///
    /// - `n = Some(data.len())` (the subset size; all samples when it was absent);
    /// - `sphere`, `orthogonal`: `target` (default `teacher`);
    /// - `digits`, `csv`, `npy`: `normalize` (default `sphere`, `x_i / ‖x_i‖`);
    /// - `digits`: `encoding` (default `sign` for two classes, `one_hot` for more);
    /// - `csv`: `header` (default `false`) and, unless `target_columns` is given, `target_column`
    ///   (default the last column, index `d` for `d` input columns).
    ///
    /// Fields that do not apply to the source stay `None` (a loaded section has none set).
    pub fn resolved(&self, data: &Dataset) -> DataSection {
        let mut r = self.clone();
        r.n = Some(data.len());
        match self.source {
            DataSource::Sphere | DataSource::Orthogonal => {
                r.target = Some(self.target.unwrap_or_default());
            }
            DataSource::Digits => {
                r.normalize = Some(self.normalize.unwrap_or_default());
                let classes = self.classes.as_ref().map_or(0, Vec::len);
                r.encoding = Some(self.encoding.unwrap_or(Encoding::default_for(classes)));
            }
            DataSource::Csv => {
                r.normalize = Some(self.normalize.unwrap_or_default());
                r.header = Some(self.header.unwrap_or(false));
                if self.target_columns.is_none() {
                    r.target_column = Some(self.target_column.unwrap_or(data.dim));
                }
            }
            DataSource::Npy => {
                r.normalize = Some(self.normalize.unwrap_or_default());
            }
        }
        r
    }

    /// Refuses, before anything is allocated, a data set that cannot fit in memory (see
    /// [`resources::check_data`]): the synthetic sources by their `n` and `d`
    /// ([`data::host_bytes`] with their `outputs`), a CSV or `.npy` file by its size. The digits are small
    /// (at most 1797 × 64 inputs and 1797 × 10 targets).
    fn check_size(&self) -> Result<()> {
        match (self.source, self.n, self.dim) {
            (DataSource::Sphere, Some(n), Some(d)) if n >= 1 && d >= 1 => resources::check_data(
                if d > n { "data.dim" } else { "data.n" },
                n,
                d,
                self.outputs.unwrap_or(1).max(1),
            ),
            (DataSource::Orthogonal, Some(n), _) if n >= 1 => {
                resources::check_data("data.n", n, n, self.outputs.unwrap_or(1).max(1))
            }
            _ => {
                for (key, file) in [
                    ("data.path", &self.path),
                    ("data.inputs", &self.inputs),
                    ("data.targets", &self.targets),
                ] {
                    if let Some(path) = file {
                        resources::check_data_file(key, path)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// `data.outputs` of a synthetic source: 1 when absent, refused when 0.
    fn synthetic_outputs(&self) -> Result<usize> {
        match self.outputs {
            None => Ok(1),
            Some(0) => Err(Error::config(
                "data.outputs",
                "must be ≥ 1 (targets per sample), got 0",
            )),
            Some(k) => Ok(k),
        }
    }

    /// `data.n` for a synthetic source, which needs it.
    fn required_n(&self, what: &str) -> Result<usize> {
        positive(self.n, "data.n", self.source.name(), what)
    }
}

/// A required count `≥ 1`.
fn positive(value: Option<usize>, key: &str, source: &str, what: &str) -> Result<usize> {
    match value {
        Some(v) if v >= 1 => Ok(v),
        Some(_) => Err(Error::config(key, "must be ≥ 1, got 0")),
        None => Err(Error::config(
            key,
            format!("is required with source = \"{source}\" ({what})"),
        )),
    }
}

/// A required file of `source`.
fn required_file<'p>(
    value: &'p Option<PathBuf>,
    key: &str,
    source: &str,
    what: &str,
) -> Result<&'p Path> {
    value.as_deref().ok_or_else(|| {
        Error::config(
            key,
            format!(
                "is required with source = \"{source}\" ({what}; relative paths start at the \
                 config file's folder)"
            ),
        )
    })
}
