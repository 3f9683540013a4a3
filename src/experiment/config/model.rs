//! `[model]`: the architecture.

use serde::{Deserialize, Serialize};

use super::DataSource;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{Activation, MlpConfig, Parameterization};

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

impl ModelSection {
    /// The architecture on `data` (from `source`): the input dimension and the `k` outputs from
    /// the data, `outputs` when given checked against them, the whole checked by
    /// [`MlpConfig::validate`].
    pub(super) fn mlp(&self, data: &Dataset, source: DataSource) -> Result<MlpConfig> {
        if let Some(k) = self.outputs {
            if k != data.outputs {
                return Err(Error::config(
                    "model.outputs",
                    format!(
                        "is {k}, but the data have k = {} target(s) per sample ({}); remove \
                         model.outputs (it follows the data) or change the data's targets",
                        data.outputs,
                        source.name()
                    ),
                ));
            }
        }
        let model = MlpConfig {
            input_dim: data.dim,
            widths: self.widths.clone(),
            activation: self.activation,
            output_activation: self.output_activation,
            bias: self.bias,
            bias_scale: self.bias_scale,
            parameterization: self.parameterization,
            outputs: data.outputs,
        };
        model.validate()?;
        Ok(model)
    }
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
