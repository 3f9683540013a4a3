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
//! which is plstar's [`Parameterization::Standard`] (`c_l = c_b = 1`); the NTK
//! parameterization would compute another function of the same numbers, so
//! [`ImportedNetwork::parameters_for`] requires `parameterization = "standard"`.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::model::{Activation, MlpConfig, Parameterization};

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

/// What a key says about itself.
struct ParsedKey {
    layout: KeyLayout,
    /// Everything before the layer number (`net.`, `params/Dense_`): one per file.
    group: String,
    index: u64,
    is_bias: bool,
}

/// Splits `key` as a PyTorch (`<prefix>I.weight|bias`) or Flax (`<prefix>Name_J/kernel|bias`,
/// `/` or `.`) key; `None` for anything else.
fn parse_key(key: &str) -> Option<ParsedKey> {
    let is_sep = |c: char| c == '.' || c == '/';
    let leaf_at = key.rfind(is_sep)?;
    let (head, leaf) = (&key[..leaf_at], &key[leaf_at + 1..]);
    let parent_at = head.rfind(is_sep).map_or(0, |i| i + 1);
    let parent = &head[parent_at..];
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(parent) && key.as_bytes()[leaf_at] == b'.' {
        let is_bias = match leaf {
            "weight" => false,
            "bias" => true,
            _ => return None,
        };
        return Some(ParsedKey {
            layout: KeyLayout::PyTorch,
            group: key[..parent_at].to_string(),
            index: parent.parse().ok()?,
            is_bias,
        });
    }
    let underscore = parent.rfind('_')?;
    let (name, number) = (&parent[..underscore], &parent[underscore + 1..]);
    if name.is_empty() || !digits(number) {
        return None;
    }
    let is_bias = match leaf {
        "kernel" => false,
        "bias" => true,
        _ => return None,
    };
    Some(ParsedKey {
        layout: KeyLayout::Flax,
        group: key[..parent_at + underscore + 1].to_string(),
        index: number.parse().ok()?,
        is_bias,
    })
}

/// A tensor as read: its key, shape and values (stored order, f64).
struct Stored {
    key: String,
    shape: Vec<usize>,
    values: Vec<f64>,
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

        let mut names: Vec<&str> = file.names();
        if names.is_empty() {
            return Err(bad(
                "holds no tensors: save the network's state_dict (PyTorch) or params (Flax)".into(),
            ));
        }
        names.sort_unstable();
        let mut first: Option<(String, ParsedKey)> = None;
        // index → (weight, bias), ordered by the number.
        let mut slots: BTreeMap<u64, (Option<Stored>, Option<Stored>)> = BTreeMap::new();
        let mut dtypes = Vec::new();
        for key in names {
            let Some(parsed) = parse_key(key) else {
                return Err(bad(format!(
                    "key `{key}` fits neither layout plstar reads: PyTorch `<prefix>I.weight` / \
                     `<prefix>I.bias` (I the index in an nn.Sequential) or Flax \
                     `<prefix>Dense_J/kernel` / `<prefix>Dense_J/bias`; save only the \
                     parameters of an MLP of Linear (Dense) layers"
                )));
            };
            if let Some((k0, p0)) = &first {
                if p0.layout != parsed.layout {
                    return Err(bad(format!(
                        "mixes key layouts: `{k0}` is {} but `{key}` is {}; save one network",
                        p0.layout.name(),
                        parsed.layout.name()
                    )));
                }
                if p0.group != parsed.group {
                    return Err(bad(format!(
                        "holds layers under two names, `{}…` (`{k0}`) and `{}…` (`{key}`); plstar \
                         reads one stack of dense layers: save that stack's parameters only",
                        p0.group, parsed.group
                    )));
                }
            }
            let view = file
                .tensor(key)
                .map_err(|e| bad(format!("cannot read tensor `{key}` ({e})")))?;
            let Some(dtype) = StoredDtype::of(view.dtype()) else {
                return Err(bad(format!(
                    "tensor `{key}` has dtype {}; plstar reads {READ_DTYPES}: save the weights \
                     as float32 or float64",
                    view.dtype()
                )));
            };
            if !dtypes.contains(&dtype) {
                dtypes.push(dtype);
            }
            let shape = view.shape().to_vec();
            let values = dtype.decode(view.data());
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "tensor `{key}` (shape {shape:?}) holds {} at index {:?} (flat {i}): the \
                     training that wrote it diverged; save finite weights",
                    values[i],
                    unravel(i, &shape)
                )));
            }
            let slot = slots.entry(parsed.index).or_default();
            let stored = Stored {
                key: key.to_string(),
                shape,
                values,
            };
            if parsed.is_bias {
                slot.1 = Some(stored);
            } else {
                slot.0 = Some(stored);
            }
            if first.is_none() {
                first = Some((key.to_string(), parsed));
            }
        }
        let layout = first.expect("at least one key").1.layout;
        dtypes.sort_unstable();

        let mut layers: Vec<DenseLayer> = Vec::with_capacity(slots.len());
        for (_, (weight, bias)) in slots {
            let Some(weight) = weight else {
                let bias = bias.expect("a slot holds a weight or a bias");
                return Err(bad(format!(
                    "bias `{}` has no weight beside it: save the whole layer",
                    bias.key
                )));
            };
            let layer = dense_layer(layout, weight, bias).map_err(&bad)?;
            if let Some(previous) = layers.last() {
                if layer.inp != previous.out {
                    return Err(bad(format!(
                        "the layers do not chain: `{}` gives {} outputs but `{}` (shape {:?}, {}) \
                         takes {} inputs; save the parameters of one Sequential",
                        previous.weight_key,
                        previous.out,
                        layer.weight_key,
                        layout.stored_shape(layer.out, layer.inp),
                        layout.orientation(),
                        layer.inp
                    )));
                }
            }
            layers.push(layer);
        }
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

/// A layer from its weight and bias tensors (checked: a matrix, a bias of length fan-out).
fn dense_layer(
    layout: KeyLayout,
    weight: Stored,
    bias: Option<Stored>,
) -> std::result::Result<DenseLayer, String> {
    let [rows, cols] = <[usize; 2]>::try_from(weight.shape.as_slice()).map_err(|_| {
        format!(
            "weight `{}` has shape {:?}, not a matrix: plstar reads dense layers ({} layout: {})",
            weight.key,
            weight.shape,
            layout.name(),
            layout.orientation()
        )
    })?;
    let (out, inp, w) = match layout {
        KeyLayout::PyTorch => (rows, cols, weight.values),
        KeyLayout::Flax => {
            let mut w = vec![0.0; rows * cols];
            for i in 0..rows {
                for o in 0..cols {
                    w[o * rows + i] = weight.values[i * cols + o];
                }
            }
            (cols, rows, w)
        }
    };
    if let Some(b) = &bias {
        if b.shape != [out] {
            return Err(format!(
                "bias `{}` has shape {:?} but its weight `{}` has shape {:?} ({}): the bias must \
                 be [{out}]",
                b.key,
                b.shape,
                weight.key,
                weight.shape,
                layout.orientation()
            ));
        }
    }
    Ok(DenseLayer {
        weight_key: weight.key,
        bias_key: bias.as_ref().map(|b| b.key.clone()),
        out,
        inp,
        weight: w,
        bias: bias.map(|b| b.values),
    })
}

/// The activation named by `__metadata__[entry]` (plstar's names, any case), if present.
fn metadata_activation(
    metadata: &std::collections::HashMap<String, String>,
    entry: &str,
) -> std::result::Result<Option<Activation>, String> {
    let Some(value) = metadata.get(entry) else {
        return Ok(None);
    };
    let name = value.trim().to_ascii_lowercase();
    Activation::ALL
        .into_iter()
        .find(|a| a.name() == name)
        .map(Some)
        .ok_or_else(|| {
            format!(
                "__metadata__ {entry} = \"{value}\" is not an activation plstar knows ({}); write \
                 one of those names, or leave the entry out",
                Activation::ALL.map(Activation::name).join(", ")
            )
        })
}

/// The first tensor whose dtype the safetensors crate cannot parse (its key and dtype), read
/// from the raw header: the crate's own error names neither.
fn unreadable_dtype(bytes: &[u8]) -> Option<(String, String)> {
    let n = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header: serde_json::Value =
        serde_json::from_slice(bytes.get(8..8usize.checked_add(n)?)?).ok()?;
    header.as_object()?.iter().find_map(|(key, info)| {
        let dtype = info.get("dtype")?.as_str()?;
        serde_json::from_value::<Dtype>(serde_json::Value::String(dtype.into()))
            .is_err()
            .then(|| (key.clone(), dtype.to_string()))
    })
}

/// The multi-index of flat position `i` in a row-major array of `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (slot, &extent) in index.iter_mut().zip(shape).rev() {
        *slot = i % extent.max(1);
        i /= extent.max(1);
    }
    index
}

#[cfg(test)]
mod tests {
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
