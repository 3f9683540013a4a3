//! The checks of [`ImportedNetwork::parameters_for`]: that the file holds the architecture the
//! config describes, each refusal naming the config key to change.

use super::ImportedNetwork;
use crate::error::{Error, Result};
use crate::model::{MlpConfig, Parameterization};

impl ImportedNetwork {
    /// The file computes `z = W α + b`: the config must say `parameterization = "standard"`.
    pub(super) fn check_parameterization(&self, config: &MlpConfig) -> Result<()> {
        let file = self.source.display();
        if config.parameterization != Parameterization::Standard {
            return Err(Error::config(
                "model.parameterization",
                format!(
                    "{file} holds a network computing z = W α + b (PyTorch Linear, Flax Dense), \
                     which is parameterization = \"standard\" (c_l = c_b = 1), got \"{}\"; set \
                     parameterization = \"standard\" in [model]",
                    config.parameterization.name()
                ),
            ));
        }
        Ok(())
    }

    /// The file holds `L + 1` dense layers, as many as the config's widths give.
    pub(super) fn check_layer_count(&self, config: &MlpConfig) -> Result<()> {
        let file = self.source.display();
        let keys = self
            .layers
            .iter()
            .map(|l| format!("`{}`", l.weight_key))
            .collect::<Vec<_>>()
            .join(", ");
        let want = config.depth() + 1;
        if self.layers.len() != want {
            let (more, which) = if self.layers.len() < want {
                (want - self.layers.len(), "missing from the file")
            } else {
                (self.layers.len() - want, "in the file beyond the config's")
            };
            return Err(Error::config(
                "model.widths",
                format!(
                    "{file} holds {} dense layers ({keys}: sizes {:?}) but widths = {:?} give \
                     L + 1 = {want}: {more} layer{} {which}; set widths = {:?} (the file's)",
                    self.layers.len(),
                    self.layer_sizes(),
                    config.widths,
                    if more == 1 { " is" } else { "s are" },
                    self.widths()
                ),
            ));
        }
        Ok(())
    }

    /// Each layer's fan-in, fan-out and bias are the config's.
    pub(super) fn check_layers(&self, config: &MlpConfig) -> Result<()> {
        let file = self.source.display();
        let sizes = config.layer_sizes();
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (out, inp) = (sizes[l + 1], sizes[l]);
            let stored = self.layout.stored_shape(layer.out, layer.inp);
            let expected = self.layout.stored_shape(out, inp);
            let shapes = format!(
                "`{}` has shape {stored:?} ({}) but layer {} of the config is {expected:?}",
                layer.weight_key,
                self.layout.orientation(),
                l + 1
            );
            if layer.inp != inp && l == 0 {
                return Err(Error::config(
                    "model.input_dim",
                    format!(
                        "{file}: {shapes}: the network takes d = {} inputs, the data have d = \
                         {inp} features; use data with {} features",
                        layer.inp, layer.inp
                    ),
                ));
            }
            if layer.out != out && l == last {
                return Err(Error::config(
                    "model.outputs",
                    format!(
                        "{file}: {shapes}: the network has k = {} outputs, the config k = \
                         {out}; set outputs = {}",
                        layer.out, layer.out
                    ),
                ));
            }
            if layer.out != out || layer.inp != inp {
                return Err(Error::config(
                    "model.widths",
                    format!(
                        "{file}: {shapes} (fan-out {} against m_{} = {out}, fan-in {} against \
                         m_{l} = {inp}); set widths = {:?} (the file's)",
                        layer.out,
                        l + 1,
                        layer.inp,
                        self.widths()
                    ),
                ));
            }
            match (&layer.bias_key, config.bias) {
                (Some(key), false) => {
                    return Err(Error::config(
                        "model.bias",
                        format!(
                            "{file} holds bias `{key}` (shape [{}]) but the config has bias = \
                             false; set bias = true",
                            layer.out
                        ),
                    ))
                }
                (None, true) => {
                    return Err(Error::config(
                        "model.bias",
                        format!(
                            "the config has bias = true but {file} holds no bias beside `{}` \
                             (layer {}); set bias = false",
                            layer.weight_key,
                            l + 1
                        ),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The activations in the file's metadata, when present, are the config's.
    pub(super) fn check_activations(&self, config: &MlpConfig) -> Result<()> {
        let file = self.source.display();
        for (key, stored, configured) in [
            ("model.activation", self.activation, config.activation),
            (
                "model.output_activation",
                self.output_activation,
                config.output_activation,
            ),
        ] {
            if let Some(stored) = stored {
                if stored != configured {
                    let entry = key.trim_start_matches("model.");
                    return Err(Error::config(
                        key,
                        format!(
                            "{file} says {entry} = \"{stored}\" (its __metadata__) but the config \
                             has {entry} = \"{configured}\"; set {entry} = \"{stored}\""
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}
