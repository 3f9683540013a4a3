//! `[train]`: the optimizer, the step size and what is recorded.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::{Optimizer, TrainSettings};

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
    #[serde(default = "super::default_true")]
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
    #[serde(default = "super::default_true")]
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

fn default_steps() -> usize {
    1000
}
fn default_learning_rate() -> LearningRate {
    LearningRate::Auto
}
fn default_target_loss() -> f64 {
    1e-8
}

impl TrainSection {
    /// The optimizer for `n` samples, after the step size (a number needs to be finite and
    /// `> 0`; `"auto"` needs the card, `card_enabled`), the optimizer and batch size
    /// ([`TrainSection::optimizer`]) and `divergence_factor` (finite, `> 1`) are checked, in
    /// that order.
    pub(super) fn checked_optimizer(&self, card_enabled: bool, n: usize) -> Result<Optimizer> {
        if let LearningRate::Value(eta) = self.learning_rate {
            if !(eta.is_finite() && eta > 0.0) {
                return Err(Error::config(
                    "train.learning_rate",
                    format!("must be a finite number > 0 or \"auto\", got {eta}"),
                ));
            }
        } else if !card_enabled {
            return Err(Error::config(
                "train.learning_rate",
                "\"auto\" takes η* from the theorem card, but card.enabled = false: enable the card or give a number",
            ));
        }
        let optimizer = self.optimizer(n)?;
        if !(self.divergence_factor.is_finite() && self.divergence_factor > 1.0) {
            return Err(Error::config(
                "train.divergence_factor",
                format!(
                    "must be a finite number > 1, got {}",
                    self.divergence_factor
                ),
            ));
        }
        Ok(optimizer)
    }

    /// Checks `target_loss`: a finite number `≥ 0`.
    pub(super) fn check_target_loss(&self) -> Result<()> {
        if !(self.target_loss.is_finite() && self.target_loss >= 0.0) {
            return Err(Error::config(
                "train.target_loss",
                format!("must be a finite number ≥ 0, got {}", self.target_loss),
            ));
        }
        Ok(())
    }

    /// The training settings of a checked section, with `optimizer` and the run's `seed`; an
    /// `"auto"` step size is NaN here, resolved later from the card.
    pub(super) fn settings(&self, optimizer: Optimizer, seed: u64) -> TrainSettings {
        TrainSettings {
            optimizer,
            steps: self.steps,
            learning_rate: match self.learning_rate {
                LearningRate::Value(v) => v,
                LearningRate::Auto => f64::NAN,
            },
            target_loss: self.target_loss,
            eval_every: self.eval_every,
            hessian_every: self.hessian_every,
            divergence_factor: self.divergence_factor,
            linearized: self.linearized,
            kernel_stage: None,
            seed,
            kernel_evaluation: crate::train::KernelEvaluation::Dense,
            operator_extremes0: None,
        }
    }

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
