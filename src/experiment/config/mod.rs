//! Run configuration: TOML files read into plain serde structs ([`RunConfig`], unknown fields
//! rejected), then validated into [`Settings`] — data loaded, architecture checked — before
//! anything runs or any file is written.
//!
//! Relative paths inside a config (`data.path`, `data.inputs`, `data.targets`) are resolved
//! against the config file's folder.
//!
//! One file per section: `model.rs` (`[model]`), `data.rs` (`[data]`, checked and loaded),
//! `train.rs` (`[train]` and the step size), `card.rs` (`[card]`); this file holds the whole
//! [`RunConfig`], its validation into [`Settings`], and [`check_name`].

mod card;
mod data;
mod model;
mod train;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::MlpConfig;
use crate::train::TrainSettings;

pub use card::CardSection;
pub use data::{DataSection, DataSource};
pub use model::ModelSection;
pub use train::{LearningRate, OptimizerName, TrainSection};

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

fn default_true() -> bool {
    true
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
        let model = self.model.mlp(&data, self.data.source)?;
        let optimizer = self
            .train
            .checked_optimizer(self.card.enabled, data.len())?;
        self.card.check()?;
        self.train.check_target_loss()?;
        let mut config = self.clone();
        config.name = Some(name.clone());
        config.data = self.data.resolved(&data);
        config.model.outputs = Some(data.outputs);
        Ok(Settings {
            config,
            name,
            model,
            data,
            train: self.train.settings(optimizer, self.seed),
            learning_rate: self.train.learning_rate,
        })
    }
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
