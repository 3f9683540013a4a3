//! Run configuration: TOML files read into plain serde structs ([`RunConfig`], unknown fields
//! rejected), then validated into [`Settings`] — data loaded, architecture checked — before
//! anything runs or any file is written.
//!
//! Relative paths inside a config (`data.path`, `data.inputs`, `data.targets`) are resolved
//! against the config file's folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{self, Dataset, Encoding, Normalization, SyntheticTarget};
use crate::error::{Error, Result};
use crate::experiment::resources;
use crate::model::{Activation, MlpConfig, Parameterization};
use crate::theorem::card::CardSettings;
use crate::theorem::search::SearchSettings;
use crate::train::{Optimizer, TrainSettings};

/// A run configuration as written in a TOML file. Every field is documented in
/// `configs/default.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run name: outputs go to `<out>/<name>/`. Default: the config file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Seed of the initial weights `w₀`.
    #[serde(default)]
    pub seed: u64,
    /// The network.
    pub model: ModelSection,
    /// The data set.
    pub data: DataSection,
    /// Training.
    #[serde(default)]
    pub train: TrainSection,
    /// The theorem card computed before training.
    #[serde(default)]
    pub card: CardSection,
}

/// `[card]`: the theorem card (searches of balls around `w₀`) computed before training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSection {
    /// Compute the card (needed for `learning_rate = "auto"` and the theorem's verdicts).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Starts per radius and search (−g, +g, the warm start, then random directions).
    #[serde(default = "default_restarts")]
    pub restarts: usize,
    /// Gradient evaluations per start of each search.
    #[serde(default = "default_search_steps")]
    pub steps: usize,
    /// Grid radii per doubling.
    #[serde(default = "default_radii_per_octave")]
    pub radii_per_octave: usize,
    /// The most grid radii.
    #[serde(default = "default_max_radii")]
    pub max_radii: usize,
    /// Absolute radii searched besides the grid.
    #[serde(default)]
    pub extra_radii: Vec<f64>,
    /// Measure ‖H_F‖ at the best points of every radius (w₀ always is).
    #[serde(default = "default_true")]
    pub hessian_at_searched: bool,
    /// Keep searching radii above the certificate.
    #[serde(default)]
    pub search_past_certificate: bool,
}

impl Default for CardSection {
    fn default() -> Self {
        let c = CardSettings::default();
        Self {
            enabled: true,
            restarts: c.search.restarts,
            steps: c.search.steps,
            radii_per_octave: c.radii_per_octave,
            max_radii: c.max_radii,
            extra_radii: c.extra_radii,
            hessian_at_searched: c.hessian_at_searched,
            search_past_certificate: c.search_past_certificate,
        }
    }
}

impl CardSection {
    /// The card settings, the searches seeded with the run's seed.
    pub fn settings(&self, seed: u64) -> CardSettings {
        CardSettings {
            search: SearchSettings {
                restarts: self.restarts,
                steps: self.steps,
                seed,
            },
            radii_per_octave: self.radii_per_octave,
            max_radii: self.max_radii,
            extra_radii: self.extra_radii.clone(),
            hessian_at_searched: self.hessian_at_searched,
            search_past_certificate: self.search_past_certificate,
        }
    }
}

fn default_restarts() -> usize {
    SearchSettings::default().restarts
}
fn default_search_steps() -> usize {
    SearchSettings::default().steps
}
fn default_radii_per_octave() -> usize {
    CardSettings::default().radii_per_octave
}
fn default_max_radii() -> usize {
    CardSettings::default().max_radii
}

fn default_true() -> bool {
    true
}

/// A step size: a number, or `"auto"` for the theorem's `η*` (GD) or the SGD rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LearningRate {
    /// A fixed `η`.
    Value(f64),
    /// `η*` from the theorem card (GD), or the mini-batch rule of
    /// [`crate::theorem::step_size::sgd_step_size`] (SGD).
    Auto,
}

impl Serialize for LearningRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            LearningRate::Value(v) => s.serialize_f64(*v),
            LearningRate::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for LearningRate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(v) => Ok(LearningRate::Value(v)),
            Raw::Text(t) if t == "auto" => Ok(LearningRate::Auto),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "learning_rate must be a number or \"auto\", got {t:?}"
            ))),
        }
    }
}

impl std::str::FromStr for LearningRate {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "auto" {
            return Ok(LearningRate::Auto);
        }
        s.parse::<f64>()
            .map(LearningRate::Value)
            .map_err(|_| format!("{s:?} is neither a number nor \"auto\""))
    }
}

/// Which optimizer (config names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    /// Full-batch gradient descent.
    #[default]
    Gd,
    /// Mini-batch SGD.
    Sgd,
}

/// `[model]`: the architecture (the input dimension comes from the data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Hidden widths `m_1 … m_L`.
    pub widths: Vec<usize>,
    /// Hidden activation.
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Output activation.
    #[serde(default = "default_output_activation")]
    pub output_activation: Activation,
    /// Biases on every layer.
    #[serde(default)]
    pub bias: bool,
    /// β_b.
    #[serde(default = "default_bias_scale")]
    pub bias_scale: f64,
    /// `ntk` or `standard`.
    #[serde(default)]
    pub parameterization: Parameterization,
    /// Output units `k`: set by the data (its target columns or classes); when given, it must
    /// agree with the data (a check, not a reinterpretation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<usize>,
}

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

/// `[train]`: the optimizer and what is recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// `gd` or `sgd`.
    #[serde(default)]
    pub optimizer: OptimizerName,
    /// SGD batch size `b` (required for `sgd`).
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// SGD: a new seeded permutation each epoch.
    #[serde(default = "default_true")]
    pub shuffle: bool,
    /// Step budget (0: the card only, so refused with `card.enabled = false`).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Step size η, or "auto".
    #[serde(default = "default_learning_rate")]
    pub learning_rate: LearningRate,
    /// Stop when `L(w_t) ≤ target_loss`.
    #[serde(default = "default_target_loss")]
    pub target_loss: f64,
    /// Tangent kernel every this many steps (0: first and last step only).
    #[serde(default = "default_eval_every")]
    pub eval_every: usize,
    /// `‖H_F(w_t)‖` every this many steps (0: never).
    #[serde(default)]
    pub hessian_every: usize,
    /// Divergence when `L(w_t) > divergence_factor · L(w₀)`.
    #[serde(default = "default_divergence_factor")]
    pub divergence_factor: f64,
    /// Compare gradient descent with the model linearized at `w₀` (`loss_linearized`,
    /// `linearization_gap`): one dense eigendecomposition of `K₀` before the first step,
    /// `O(n³)` (about 9 minutes at n = 20 000 on the development machine). `false` skips it.
    #[serde(default = "default_true")]
    pub linearized: bool,
}

impl Default for TrainSection {
    fn default() -> Self {
        Self {
            optimizer: OptimizerName::Gd,
            batch_size: None,
            shuffle: true,
            steps: default_steps(),
            learning_rate: default_learning_rate(),
            target_loss: default_target_loss(),
            eval_every: default_eval_every(),
            hessian_every: 0,
            divergence_factor: default_divergence_factor(),
            linearized: true,
        }
    }
}

fn default_eval_every() -> usize {
    50
}
fn default_divergence_factor() -> f64 {
    1e6
}

fn default_activation() -> Activation {
    Activation::Tanh
}
fn default_output_activation() -> Activation {
    Activation::Identity
}
fn default_bias_scale() -> f64 {
    1.0
}
fn default_steps() -> usize {
    1000
}
fn default_learning_rate() -> LearningRate {
    LearningRate::Auto
}
fn default_target_loss() -> f64 {
    1e-8
}

/// A validated run: everything needed to start, nothing left to check.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The configuration as resolved (defaults filled in, overrides applied).
    pub config: RunConfig,
    /// Run name.
    pub name: String,
    /// The architecture, with the input dimension from the data.
    pub model: MlpConfig,
    /// The loaded data set.
    pub data: Dataset,
    /// Training (with `learning_rate` still to resolve when it is `auto`).
    pub train: TrainSettings,
    /// The step size as configured.
    pub learning_rate: LearningRate,
}

impl RunConfig {
    /// Reads and parses a TOML file (no validation beyond types and unknown fields).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            key: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        let mut config: RunConfig = toml::from_str(&text).map_err(|e| Error::Config {
            key: path.display().to_string(),
            message: format!(
                "{}\n(every field is described in configs/default.toml)",
                e.to_string().trim_end()
            ),
        })?;
        if config.name.is_none() {
            config.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for file in [
            &mut config.data.path,
            &mut config.data.inputs,
            &mut config.data.targets,
        ] {
            if let Some(p) = file.as_mut().filter(|p| p.is_relative()) {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// Checks every field, loads the data, and returns the settings to run.
    pub fn validate(&self) -> Result<Settings> {
        let name = self.name.clone().unwrap_or_else(|| "run".into());
        check_name("name", &name)?;
        if self.train.steps == 0 && !self.card.enabled {
            return Err(Error::config(
                "train.steps",
                "train.steps = 0 with card.enabled = false computes nothing: set steps ≥ 1 or \
                 enable the card",
            ));
        }
        let data = self.data.load()?;
        if let Some(k) = self.model.outputs {
            if k != data.outputs {
                return Err(Error::config(
                    "model.outputs",
                    format!(
                        "is {k}, but the data have k = {} target(s) per sample ({}); remove \
                         model.outputs (it follows the data) or change the data's targets",
                        data.outputs,
                        self.data.source.name()
                    ),
                ));
            }
        }
        let model = MlpConfig {
            input_dim: data.dim,
            widths: self.model.widths.clone(),
            activation: self.model.activation,
            output_activation: self.model.output_activation,
            bias: self.model.bias,
            bias_scale: self.model.bias_scale,
            parameterization: self.model.parameterization,
            outputs: data.outputs,
        };
        model.validate()?;
        let t = &self.train;
        if let LearningRate::Value(eta) = t.learning_rate {
            if !(eta.is_finite() && eta > 0.0) {
                return Err(Error::config(
                    "train.learning_rate",
                    format!("must be a finite number > 0 or \"auto\", got {eta}"),
                ));
            }
        } else if !self.card.enabled {
            return Err(Error::config(
                "train.learning_rate",
                "\"auto\" takes η* from the theorem card, but card.enabled = false: enable the card or give a number",
            ));
        }
        let optimizer = t.optimizer(data.len())?;
        if !(t.divergence_factor.is_finite() && t.divergence_factor > 1.0) {
            return Err(Error::config(
                "train.divergence_factor",
                format!("must be a finite number > 1, got {}", t.divergence_factor),
            ));
        }
        let c = &self.card;
        if c.extra_radii.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
            return Err(Error::config(
                "card.extra_radii",
                format!(
                    "every radius is an absolute distance ‖w − w₀‖ > 0, got {:?}",
                    c.extra_radii
                ),
            ));
        }
        for (key, value) in [
            ("card.restarts", c.restarts),
            ("card.radii_per_octave", c.radii_per_octave),
            ("card.max_radii", c.max_radii),
        ] {
            if value == 0 {
                return Err(Error::config(key, "must be ≥ 1, got 0"));
            }
        }
        if !(t.target_loss.is_finite() && t.target_loss >= 0.0) {
            return Err(Error::config(
                "train.target_loss",
                format!("must be a finite number ≥ 0, got {}", t.target_loss),
            ));
        }
        let mut config = self.clone();
        config.name = Some(name.clone());
        config.data = self.data.resolved(&data);
        config.model.outputs = Some(data.outputs);
        Ok(Settings {
            config,
            name,
            model,
            data,
            train: TrainSettings {
                optimizer,
                steps: t.steps,
                learning_rate: match t.learning_rate {
                    LearningRate::Value(v) => v,
                    LearningRate::Auto => f64::NAN,
                },
                target_loss: t.target_loss,
                eval_every: t.eval_every,
                hessian_every: t.hessian_every,
                divergence_factor: t.divergence_factor,
                linearized: t.linearized,
                kernel_stage: None,
                seed: self.seed,
            },
            learning_rate: t.learning_rate,
        })
    }
}

impl TrainSection {
    /// The optimizer, with the batch size checked against the `n` samples.
    fn optimizer(&self, n: usize) -> Result<Optimizer> {
        Ok(match (self.optimizer, self.batch_size) {
            (OptimizerName::Gd, None) => Optimizer::Gd,
            (OptimizerName::Gd, Some(_)) => {
                return Err(Error::config(
                    "train.batch_size",
                    "is only used with optimizer = \"sgd\"; remove it or set optimizer = \"sgd\"",
                ))
            }
            (OptimizerName::Sgd, Some(b)) if b >= 1 && b <= n => Optimizer::Sgd {
                batch_size: b,
                shuffle: self.shuffle,
            },
            (OptimizerName::Sgd, Some(b)) => {
                return Err(Error::config(
                    "train.batch_size",
                    format!("must be between 1 and n = {n}, got {b}"),
                ))
            }
            (OptimizerName::Sgd, None) => {
                return Err(Error::config(
                    "train.batch_size",
                    "is required with optimizer = \"sgd\"",
                ))
            }
        })
    }
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
        match self.source {
            DataSource::Sphere => Ok(data::sphere(
                self.required_n("the number of points")?,
                positive(self.dim, "data.dim", "sphere", "the input dimension d")?,
                target,
                self.seed,
            )),
            DataSource::Orthogonal => Ok(data::orthogonal(
                self.required_n("the number of points, also d")?,
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
    /// ([`data::host_bytes`], `k = 1`), a CSV or `.npy` file by its size. The digits are small
    /// (at most 1797 × 64 inputs and 1797 × 10 targets).
    fn check_size(&self) -> Result<()> {
        match (self.source, self.n, self.dim) {
            (DataSource::Sphere, Some(n), Some(d)) if n >= 1 && d >= 1 => {
                resources::check_data(if d > n { "data.dim" } else { "data.n" }, n, d, 1)
            }
            (DataSource::Orthogonal, Some(n), _) if n >= 1 => {
                resources::check_data("data.n", n, n, 1)
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

/// Checks that `name` is one safe path component (it names an output folder): letters, digits,
/// `-`, `_` and `.`, not empty, not `.` or `..`.
pub fn check_name(key: &str, name: &str) -> Result<()> {
    let safe = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if safe {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!(
                "{name:?} is not a valid name: use letters, digits, '-', '_' and '.' (it names \
                 the output folder), not \".\" or \"..\""
            ),
        ))
    }
}
