//! Reading a safetensors file: its keys (parsed into layout, group and index), its tensors,
//! its metadata, and the dense layers they form.

use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors};

use super::{DenseLayer, KeyLayout, StoredDtype, READ_DTYPES};
use crate::error::{Error, Result};
use crate::model::Activation;

/// The tensors of a file by layer number: `index → (weight, bias)`, ordered by the number.
pub(super) type Slots = BTreeMap<u64, (Option<Stored>, Option<Stored>)>;

/// What a key says about itself.
pub(super) struct ParsedKey {
    pub(super) layout: KeyLayout,
    /// Everything before the layer number (`net.`, `params/Dense_`): one per file.
    pub(super) group: String,
    pub(super) index: u64,
    pub(super) is_bias: bool,
}

/// Splits `key` as a PyTorch (`<prefix>I.weight|bias`) or Flax (`<prefix>Name_J/kernel|bias`,
/// `/` or `.`) key; `None` for anything else.
pub(super) fn parse_key(key: &str) -> Option<ParsedKey> {
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
pub(super) struct Stored {
    pub(super) key: String,
    pub(super) shape: Vec<usize>,
    pub(super) values: Vec<f64>,
}

/// A layer from its weight and bias tensors (checked: a matrix, a bias of length fan-out).
pub(super) fn dense_layer(
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
pub(super) fn metadata_activation(
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
pub(super) fn unreadable_dtype(bytes: &[u8]) -> Option<(String, String)> {
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
pub(super) fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (slot, &extent) in index.iter_mut().zip(shape).rev() {
        *slot = i % extent.max(1);
        i /= extent.max(1);
    }
    index
}

/// Every tensor of `file`, checked (one layout, one group, a dtype plstar reads, finite
/// values) and put in its layer's slot; with the layout and the dtypes stored (sorted).
pub(super) fn tensors(
    file: &SafeTensors,
    bad: &impl Fn(String) -> Error,
) -> Result<(KeyLayout, Slots, Vec<StoredDtype>)> {
    let mut names: Vec<&str> = file.names();
    if names.is_empty() {
        return Err(bad(
            "holds no tensors: save the network's state_dict (PyTorch) or params (Flax)".into(),
        ));
    }
    names.sort_unstable();
    let mut first: Option<(String, ParsedKey)> = None;
    // index → (weight, bias), ordered by the number.
    let mut slots: Slots = BTreeMap::new();
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
    Ok((layout, slots, dtypes))
}

/// The dense layers of `slots`, input side first, checked to chain (each fan-in the
/// previous fan-out).
pub(super) fn chain(
    layout: KeyLayout,
    slots: Slots,
    bad: &impl Fn(String) -> Error,
) -> Result<Vec<DenseLayer>> {
    let mut layers: Vec<DenseLayer> = Vec::with_capacity(slots.len());
    for (_, (weight, bias)) in slots {
        let Some(weight) = weight else {
            let bias = bias.expect("a slot holds a weight or a bias");
            return Err(bad(format!(
                "bias `{}` has no weight beside it: save the whole layer",
                bias.key
            )));
        };
        let layer = dense_layer(layout, weight, bias).map_err(bad)?;
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
    Ok(layers)
}
