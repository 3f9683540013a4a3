//! Dense networks trained elsewhere: a PyTorch or Flax MLP saved as
//! [safetensors](https://github.com/huggingface/safetensors), read into plstar's parameter
//! vector.
//!
//! # The function in the file
//! A PyTorch `nn.Sequential` of `nn.Linear` and activation modules, or a Flax stack of
//! `nn.Dense` layers, computes for `l = 1 … L+1`
//!
//! ```text
//! z⁽ˡ⁾ = W⁽ˡ⁾ α⁽ˡ⁻¹⁾ + b⁽ˡ⁾,   α⁽ˡ⁾ = σ(z⁽ˡ⁾) (l ≤ L),   f = σ_out(z⁽ᴸ⁺¹⁾)
//! ```
//!
//! which is plstar's [`Parameterization::Standard`](crate::model::Parameterization::Standard)
//! (`c_l = c_b = 1`); the NTK parameterization would compute another function of the same
//! numbers, so [`ImportedNetwork::parameters_for`] requires `parameterization = "standard"`.
//!
//! # Key layouts ([`KeyLayout`])
//! | layout | weight key | stored shape | bias key | source |
//! |---|---|---|---|---|
//! | [`KeyLayout::PyTorch`] | `<prefix>I.weight` | `[out, in]` = `W` | `<prefix>I.bias` `[out]` | `safetensors.torch.save_file(model.state_dict(), …)` |
//! | [`KeyLayout::Flax`] | `<prefix>Name_J/kernel` | `[in, out]` = `Wᵀ` | `<prefix>Name_J/bias` `[out]` | `flatten_dict(variables, sep="/")` then `safetensors.flax.save_file` |
//!
//! `I` is the module's index in the `Sequential` (activations take indices too: `0, 2, 4` for
//! `Linear, Tanh, Linear, Tanh, Linear`), `J` the Flax module counter (`Dense_0, Dense_1, …`;
//! `layers_0, layers_2, …` inside `nn.Sequential`). Layers are ordered by the *number*, not the
//! text (`10` after `9`). Flax keys may use `.` instead of `/` (`Dense_0.kernel`). A prefix
//! (`net.`, `model.layers.`, `params/`) is allowed, the same for every key. A Flax kernel is
//! transposed on reading, `W[o, i] = kernel[i, o]`, so every layer is held as `W` `[out, in]`.
//!
//! # Values and activations
//! Tensors may be F64, F32, F16 or BF16 (little-endian, as safetensors stores them); each value
//! converts exactly to f64 (every one of those formats is a subset of f64). Other dtypes, and
//! non-finite values, are refused with the key and the index.
//!
//! A `state_dict` holds no activations. The optional `__metadata__` entries `activation` and
//! `output_activation` (plstar's names: `tanh`, `relu`, `erf`, `softplus`, `gelu`, `sigmoid`,
//! `identity`; e.g. `save_file(sd, path, metadata={"activation": "tanh"})`) are checked against
//! the config; without them the config's activations are taken as given.

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::model::{Activation, MlpConfig};

mod check;
mod read;

use read::{metadata_activation, unreadable_dtype};

/// Which framework's key names and weight orientation the file uses (see the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLayout {
    /// `<prefix>I.weight` `[out, in]`, `<prefix>I.bias` `[out]` (a PyTorch `state_dict`).
    PyTorch,
    /// `<prefix>Name_J/kernel` `[in, out]` (transposed), `<prefix>Name_J/bias` `[out]` (Flax).
    Flax,
}

impl KeyLayout {
    /// `PyTorch state_dict` or `Flax`.
    pub fn name(self) -> &'static str {
        match self {
            KeyLayout::PyTorch => "PyTorch state_dict",
            KeyLayout::Flax => "Flax",
        }
    }

    /// The shape a layer with `out` units and `inp` inputs has in the file.
    pub fn stored_shape(self, out: usize, inp: usize) -> [usize; 2] {
        match self {
            KeyLayout::PyTorch => [out, inp],
            KeyLayout::Flax => [inp, out],
        }
    }

    /// How a weight's stored shape reads, e.g. `[out, in]`.
    fn orientation(self) -> &'static str {
        match self {
            KeyLayout::PyTorch => "[out, in]",
            KeyLayout::Flax => "[in, out], W = kernelᵀ",
        }
    }
}

/// The element types read (each converts exactly to f64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoredDtype {
    /// IEEE binary64.
    F64,
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    BF16,
}

impl StoredDtype {
    /// `float64`, `float32`, `float16` or `bfloat16`.
    pub fn name(self) -> &'static str {
        match self {
            StoredDtype::F64 => "float64",
            StoredDtype::F32 => "float32",
            StoredDtype::F16 => "float16",
            StoredDtype::BF16 => "bfloat16",
        }
    }

    fn of(dtype: Dtype) -> Option<Self> {
        match dtype {
            Dtype::F64 => Some(StoredDtype::F64),
            Dtype::F32 => Some(StoredDtype::F32),
            Dtype::F16 => Some(StoredDtype::F16),
            Dtype::BF16 => Some(StoredDtype::BF16),
            _ => None,
        }
    }

    /// Little-endian bytes to f64, exactly.
    pub fn decode(self, bytes: &[u8]) -> Vec<f64> {
        match self {
            StoredDtype::F64 => bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
            StoredDtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
                .collect(),
            StoredDtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f64())
                .collect(),
            StoredDtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f64())
                .collect(),
        }
    }
}

/// The dtypes plstar reads, as safetensors names them (for messages).
const READ_DTYPES: &str = "F64, F32, F16 or BF16";

/// One dense layer `z = W α + b` of an [`ImportedNetwork`].
#[derive(Clone, Debug, PartialEq)]
pub struct DenseLayer {
    /// The weight's key in the file (`net.0.weight`, `params/Dense_0/kernel`).
    pub weight_key: String,
    /// The bias's key, when the file holds one.
    pub bias_key: Option<String>,
    /// Fan-out: the layer's units.
    pub out: usize,
    /// Fan-in: the layer's inputs.
    pub inp: usize,
    /// `W`, row-major `[out, in]` (a Flax kernel already transposed).
    pub weight: Vec<f64>,
    /// `b`, `[out]`.
    pub bias: Option<Vec<f64>>,
}

/// A dense network read from a safetensors file (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedNetwork {
    /// The file it was read from (named in messages).
    pub source: PathBuf,
    /// The key layout.
    pub layout: KeyLayout,
    /// The layers, input side first.
    pub layers: Vec<DenseLayer>,
    /// `__metadata__["activation"]`, when present.
    pub activation: Option<Activation>,
    /// `__metadata__["output_activation"]`, when present.
    pub output_activation: Option<Activation>,
    /// The dtypes stored, each once.
    pub dtypes: Vec<StoredDtype>,
}

impl ImportedNetwork {
    /// Reads a safetensors file (see the [module docs](self) for the layouts).
    ///
    /// Errors (each naming the file, the key and the fix): an unreadable or malformed file, a
    /// dtype other than F64/F32/F16/BF16, a non-finite value, a key that fits neither layout,
    /// keys of both layouts or of two prefixes, a bias without its weight, a weight that is not
    /// a matrix, a bias whose length is not the weight's fan-out, consecutive layers whose
    /// sizes do not chain, an unknown activation name in `__metadata__`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// [`ImportedNetwork::read`] on the file's bytes; `source` is the name used in messages.
    pub fn from_bytes(bytes: &[u8], source: &Path) -> Result<Self> {
        let bad = |message: String| Error::Data {
            path: source.to_path_buf(),
            line: 0,
            message,
        };
        let file = SafeTensors::deserialize(bytes).map_err(|e| {
            bad(match unreadable_dtype(bytes) {
                Some((key, dtype)) => format!(
                    "tensor `{key}` has dtype {dtype}, which this reader does not know; plstar \
                     reads {READ_DTYPES}: save the weights as float32 or float64"
                ),
                None => format!(
                    "is not a safetensors file plstar can read ({e}); save it with \
                     safetensors' save_file"
                ),
            })
        })?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("cannot read the safetensors header ({e})")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let activation = metadata_activation(&metadata, "activation").map_err(&bad)?;
        let output_activation =
            metadata_activation(&metadata, "output_activation").map_err(&bad)?;

        let (layout, slots, dtypes) = read::tensors(&file, &bad)?;
        let layers = read::chain(layout, slots, &bad)?;
        Ok(ImportedNetwork {
            source: source.to_path_buf(),
            layout,
            layers,
            activation,
            output_activation,
            dtypes,
        })
    }

    /// `[d, m_1, …, m_L, k]` as stored.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut s = vec![self.layers[0].inp];
        s.extend(self.layers.iter().map(|l| l.out));
        s
    }

    /// The hidden widths `m_1 … m_L`.
    pub fn widths(&self) -> Vec<usize> {
        let s = self.layer_sizes();
        s[1..s.len() - 1].to_vec()
    }

    /// The parameter vector `w` in plstar's order (for `l = 1 … L+1`: `W⁽ˡ⁾` row-major
    /// `[out, in]`, then `b⁽ˡ⁾`) for a model of architecture `config`, after checking that the
    /// file holds that architecture.
    ///
    /// Errors (`Error::Config` on the config key to change, naming the file's key, both shapes
    /// and the fix): a parameterization other than standard; a layer missing from, or extra in,
    /// the file (its count against `L + 1`); a fan-in or fan-out that differs; a bias in the
    /// file with `bias = false`, or none with `bias = true`; an activation in the file's
    /// metadata that differs from the config's.
    pub fn parameters_for(&self, config: &MlpConfig) -> Result<Vec<f64>> {
        self.check_parameterization(config)?;
        self.check_layer_count(config)?;
        self.check_layers(config)?;
        self.check_activations(config)?;
        let mut w = Vec::with_capacity(config.parameter_count());
        for layer in &self.layers {
            w.extend_from_slice(&layer.weight);
            if let Some(b) = &layer.bias {
                w.extend_from_slice(b);
            }
        }
        Ok(w)
    }

    /// One line for the user: layout, layers, biases, dtypes and activations.
    pub fn summary(&self) -> String {
        let sizes = self
            .layer_sizes()
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" → ");
        let dtypes = self
            .dtypes
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(" and ");
        let converted = if self.dtypes == [StoredDtype::F64] {
            String::new()
        } else {
            " (converted exactly to float64)".into()
        };
        let biases = if self.layers.iter().all(|l| l.bias.is_some()) {
            "with biases"
        } else {
            "without biases"
        };
        let activations = match (self.activation, self.output_activation) {
            (None, None) => "activations not recorded (the config's are used)".to_string(),
            (a, o) => format!(
                "activations {} / {} from its metadata",
                a.map_or("(not recorded)".into(), |a| a.to_string()),
                o.map_or("(not recorded)".into(), |a| a.to_string())
            ),
        };
        format!(
            "{}: {} layout, {} dense layers {sizes} {biases}, {dtypes}{converted}; {activations}",
            self.source.display(),
            self.layout.name(),
            self.layers.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::read::{parse_key, unravel};
    use super::*;

    #[test]
    fn keys_of_both_layouts_split_into_group_index_and_leaf() {
        let k = parse_key("net.10.weight").unwrap();
        assert_eq!(
            (k.layout, k.group.as_str(), k.index, k.is_bias),
            (KeyLayout::PyTorch, "net.", 10, false)
        );
        let k = parse_key("0.bias").unwrap();
        assert_eq!(
            (k.layout, k.group.as_str(), k.index),
            (KeyLayout::PyTorch, "", 0)
        );
        let k = parse_key("params/Dense_2/kernel").unwrap();
        assert_eq!(
            (k.layout, k.group.as_str(), k.index, k.is_bias),
            (KeyLayout::Flax, "params/Dense_", 2, false)
        );
        let k = parse_key("Dense_1.bias").unwrap();
        assert_eq!(
            (k.layout, k.group.as_str(), k.index),
            (KeyLayout::Flax, "Dense_", 1)
        );
        for bad in [
            "fc1.weight",
            "0.running_mean",
            "Dense_0/weight",
            "0/weight",
            "weight",
            "_0/kernel",
        ] {
            assert!(parse_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn half_precision_values_widen_exactly() {
        let values = [1.0f64, -0.5, 2f64.powi(-14), 65504.0, 0.099_975_585_937_5];
        let f16: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::f16::from_f64(v).to_le_bytes())
            .collect();
        assert_eq!(StoredDtype::F16.decode(&f16), values);
        let values = [1.0f64, -3.0, 2f64.powi(-126), 0.099_609_375];
        let bf16: Vec<u8> = values
            .iter()
            .flat_map(|&v| half::bf16::from_f64(v).to_le_bytes())
            .collect();
        assert_eq!(StoredDtype::BF16.decode(&bf16), values);
    }

    #[test]
    fn unravel_gives_the_row_major_multi_index() {
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unravel(3, &[4]), vec![3]);
    }
}
