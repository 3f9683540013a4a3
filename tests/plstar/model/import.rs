//! Networks trained elsewhere (`plstar::model::import`): the fixtures of
//! `scripts/make_weights_fixture.py` (PyTorch and Flax key layouts of the same numbers) against
//! numpy's forward pass and analytic Jacobian, and every refusal's message.

use std::path::{Path, PathBuf};

use burn::tensor::Tensor;
use plstar::measure::kernel::{structured_on, tangent_kernel, GramPath, KernelMethod};
use plstar::model::import::{ImportedNetwork, KeyLayout, StoredDtype};
use plstar::model::{download, upload, Activation, Mlp, MlpConfig, Parameterization};

use crate::{relative_error, tol, F64};

/// A file of `tests/fixtures/weights/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/weights")
        .join(name)
}

/// An `.npy` fixture: values (f64, C order) and shape.
pub fn npy(name: &str) -> (Vec<f64>, Vec<usize>) {
    plstar::report::npy::read(&fixture(name)).expect("the fixture reads")
}

/// The fixture's architecture: d = 3, widths [5, 4], tanh, biases, standard, `k` outputs.
fn fixture_config(k: usize) -> MlpConfig {
    MlpConfig::new(3, vec![5, 4])
        .with_activation(Activation::Tanh)
        .with_output_activation(Activation::Identity)
        .with_bias(true)
        .with_parameterization(Parameterization::Standard)
        .with_outputs(k)
}

/// The message of `parameters_for`'s refusal of `config` for fixture `file`.
fn refusal(file: &str, config: &MlpConfig) -> String {
    let network = ImportedNetwork::read(&fixture(file)).unwrap();
    network
        .parameters_for(config)
        .expect_err("the config does not match the file")
        .to_string()
}

/// The message of `read`'s refusal of a file holding `tensors`.
fn read_refusal(test: &str, tensors: &[Raw], metadata: &[(&str, &str)]) -> String {
    let path = write_safetensors(test, tensors, metadata);
    ImportedNetwork::read(&path)
        .expect_err("the file is refused")
        .to_string()
}

fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "the message should name {needle:?}: {message}"
        );
    }
}

/// One tensor for [`write_safetensors`]: key, dtype name, shape, little-endian bytes.
struct Raw {
    key: &'static str,
    dtype: &'static str,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn f64s(key: &'static str, shape: &[usize], values: &[f64]) -> Raw {
    assert_eq!(shape.iter().product::<usize>(), values.len());
    Raw {
        key,
        dtype: "F64",
        shape: shape.to_vec(),
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// `shape`'s worth of the values 0.1, 0.2, … (distinct, so a misplaced one shows).
fn ramp(key: &'static str, shape: &[usize], start: f64) -> Raw {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|i| start + 0.1 * i as f64).collect();
    f64s(key, shape, &v)
}

/// Writes a safetensors file by hand from the format's definition (8-byte little-endian header
/// length, the JSON header, the data), independent of the reader under test.
fn write_safetensors(test: &str, tensors: &[Raw], metadata: &[(&str, &str)]) -> PathBuf {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        let m: serde_json::Map<String, serde_json::Value> = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        header.insert("__metadata__".into(), m.into());
    }
    let mut data = Vec::new();
    for t in tensors {
        let start = data.len();
        data.extend_from_slice(&t.bytes);
        header.insert(
            t.key.into(),
            serde_json::json!({"dtype": t.dtype, "shape": t.shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    bytes.extend(data);
    let path = crate::scratch("import", test).join("weights.safetensors");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn both_layouts_of_the_k1_fixture_give_numpys_outputs_and_tangent_kernel() {
    let (x, x_shape) = npy("inputs.npy");
    let (f_numpy, f_shape) = npy("outputs_k1.npy");
    let (k_numpy, k_shape) = npy("kernel_k1.npy");
    let (w_numpy, _) = npy("parameters_k1.npy");
    assert_eq!(
        (x_shape, f_shape, k_shape),
        (vec![6, 3], vec![6, 1], vec![6, 6])
    );
    let config = fixture_config(1);
    let device = Default::default();
    let inputs: Tensor<F64, 2> = upload(&x, [6, 3], &device);
    for (file, layout, dtypes) in [
        (
            "torch_k1.safetensors",
            KeyLayout::PyTorch,
            [StoredDtype::F32],
        ),
        ("flax_k1.safetensors", KeyLayout::Flax, [StoredDtype::F64]),
    ] {
        let network = ImportedNetwork::read(&fixture(file)).unwrap();
        assert_eq!(network.layout, layout, "{file}");
        assert_eq!(network.dtypes, dtypes, "{file}");
        assert_eq!(network.layer_sizes(), [3, 5, 4, 1], "{file}");
        assert_eq!(
            (network.activation, network.output_activation),
            (Some(Activation::Tanh), Some(Activation::Identity)),
            "{file}: the metadata's activations"
        );
        let w = network.parameters_for(&config).unwrap();
        assert_eq!(w, w_numpy, "{file}: float32 and float64 widen exactly");
        let model = Mlp::<F64>::from_vector(&config, &w, &device).unwrap();
        let f = download(model.forward(inputs.clone()));
        let worst = f
            .iter()
            .zip(&f_numpy)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= tol::IMPORTED_ORACLE,
            "{file}: forward vs numpy, max |Δ| = {worst:e}"
        );
        let mut kernels = vec![];
        for method in [KernelMethod::Structured, KernelMethod::Autodiff] {
            kernels.push((
                format!("{method:?}"),
                tangent_kernel(&model, &inputs, method),
            ));
        }
        for path in [GramPath::Host, GramPath::Device] {
            kernels.push((
                format!("Structured on {path:?}"),
                structured_on(&model, &inputs, path),
            ));
        }
        for (name, kernel) in kernels {
            let err = relative_error(&kernel.values, &k_numpy);
            assert!(
                err <= tol::IMPORTED_ORACLE,
                "{file}: K by {name} vs numpy's J Jᵀ: relative error {err:e}"
            );
        }
    }
}

#[test]
fn both_layouts_of_the_k3_fixture_give_the_parameter_vector_numpy_wrote() {
    let (w_numpy, shape) = npy("parameters_k3.npy");
    let config = fixture_config(3);
    assert_eq!(shape, [config.parameter_count()]);
    for (file, layout) in [
        ("torch_k3.safetensors", KeyLayout::PyTorch),
        ("flax_k3.safetensors", KeyLayout::Flax),
    ] {
        let network = ImportedNetwork::read(&fixture(file)).unwrap();
        assert_eq!(network.layout, layout, "{file}");
        assert_eq!(network.layer_sizes(), [3, 5, 4, 3], "{file}");
        assert_eq!(
            (network.activation, network.output_activation),
            (None, None),
            "{file} has no metadata"
        );
        assert_eq!(network.parameters_for(&config).unwrap(), w_numpy, "{file}");
    }
}

/// The k = 3 fixture in both layouts: the forward pass `[n, k]` (flattened sample-major) and the
/// `nk × nk` tangent kernel by every method equal numpy's (its own forward pass and analytic
/// Jacobian, index `(i, a) → i·k + a`) to [`tol::IMPORTED_ORACLE`].
#[test]
fn both_layouts_of_the_k3_fixture_give_numpys_outputs_and_kernel() {
    let (x, _) = npy("inputs.npy");
    let (f_numpy, f_shape) = npy("outputs_k3.npy");
    let (k_numpy, k_shape) = npy("kernel_k3.npy");
    assert_eq!((f_shape, k_shape), (vec![6, 3], vec![18, 18]));
    let config = fixture_config(3);
    let device = Default::default();
    let inputs: Tensor<F64, 2> = upload(&x, [6, 3], &device);
    for file in ["torch_k3.safetensors", "flax_k3.safetensors"] {
        let network = ImportedNetwork::read(&fixture(file)).unwrap();
        let w = network.parameters_for(&config).unwrap();
        let model = Mlp::<F64>::from_vector(&config, &w, &device).unwrap();
        let f = download(model.forward(inputs.clone()));
        let err = relative_error(&f, &f_numpy);
        assert!(
            err <= tol::IMPORTED_ORACLE,
            "{file}: forward vs numpy {err:e}"
        );
        for (name, kernel) in [
            (
                "autodiff",
                tangent_kernel(&model, &inputs, KernelMethod::Autodiff),
            ),
            ("host", structured_on(&model, &inputs, GramPath::Host)),
            ("device", structured_on(&model, &inputs, GramPath::Device)),
        ] {
            let err = relative_error(&kernel.values, &k_numpy);
            assert!(
                err <= tol::IMPORTED_ORACLE,
                "{file}: K by {name} vs numpy's J Jᵀ: relative error {err:e}"
            );
        }
    }
}

#[test]
fn layers_are_ordered_by_their_number_and_flax_kernels_are_transposed() {
    // Sequential indices 0, 9, 10: as text "10" < "9". d = 2, widths [3, 2], k = 1.
    let torch = write_safetensors(
        "order-torch",
        &[
            ramp("m.10.weight", &[1, 2], 5.0),
            ramp("m.9.weight", &[2, 3], 3.0),
            ramp("m.0.weight", &[3, 2], 1.0),
        ],
        &[],
    );
    let network = ImportedNetwork::read(&torch).unwrap();
    assert_eq!(network.layer_sizes(), [2, 3, 2, 1]);
    let keys: Vec<&str> = network
        .layers
        .iter()
        .map(|l| l.weight_key.as_str())
        .collect();
    assert_eq!(keys, ["m.0.weight", "m.9.weight", "m.10.weight"]);
    let config = MlpConfig::new(2, vec![3, 2]).with_parameterization(Parameterization::Standard);
    let w = network.parameters_for(&config).unwrap();
    assert_eq!(w[0], 1.0);
    assert_eq!(w[6], 3.0);
    assert_eq!(w[12], 5.0);

    // Flax kernel [in, out] = [2, 3] holding k[i, o] = 10 i + o: W[o, i] = k[i, o].
    let kernel: Vec<f64> = (0..2)
        .flat_map(|i| (0..3).map(move |o| (10 * i + o) as f64))
        .collect();
    let flax = write_safetensors(
        "order-flax",
        &[
            f64s("Dense_0/kernel", &[2, 3], &kernel),
            ramp("Dense_10/kernel", &[2, 1], 7.0),
            ramp("Dense_1/kernel", &[3, 2], 3.0),
        ],
        &[],
    );
    let network = ImportedNetwork::read(&flax).unwrap();
    let w = network.parameters_for(&config).unwrap();
    assert_eq!(
        &w[..6],
        &[0.0, 10.0, 1.0, 11.0, 2.0, 12.0],
        "W row-major [out, in]"
    );
    assert_eq!(network.layers[2].weight_key, "Dense_10/kernel");
}

#[test]
fn a_missing_or_an_extra_layer_is_refused_with_the_counts_and_the_files_widths() {
    let missing = refusal(
        "torch_k1.safetensors",
        &MlpConfig {
            widths: vec![5, 4, 4],
            ..fixture_config(1)
        },
    );
    assert_names(
        &missing,
        &[
            "model.widths",
            "holds 3 dense layers",
            "`net.0.weight`, `net.2.weight`, `net.4.weight`",
            "L + 1 = 4",
            "1 layer is missing from the file",
            "set widths = [5, 4]",
        ],
    );
    let extra = refusal(
        "flax_k1.safetensors",
        &MlpConfig {
            widths: vec![5],
            ..fixture_config(1)
        },
    );
    assert_names(
        &extra,
        &[
            "`params/Dense_0/kernel`",
            "L + 1 = 2",
            "1 layer is in the file beyond the config's",
            "set widths = [5, 4]",
        ],
    );
}

#[test]
fn a_wrong_fan_out_or_fan_in_names_the_key_and_both_shapes() {
    let hidden = refusal(
        "torch_k1.safetensors",
        &MlpConfig {
            widths: vec![6, 4],
            ..fixture_config(1)
        },
    );
    assert_names(
        &hidden,
        &[
            "model.widths",
            "`net.0.weight` has shape [5, 3] ([out, in])",
            "layer 1 of the config is [6, 3]",
            "set widths = [5, 4]",
        ],
    );
    let flax = refusal(
        "flax_k1.safetensors",
        &MlpConfig {
            widths: vec![5, 3],
            ..fixture_config(1)
        },
    );
    assert_names(
        &flax,
        &[
            "`params/Dense_1/kernel` has shape [5, 4] ([in, out], W = kernelᵀ)",
            "layer 2 of the config is [5, 3]",
        ],
    );
    let fan_in = refusal(
        "torch_k1.safetensors",
        &MlpConfig {
            input_dim: 4,
            ..fixture_config(1)
        },
    );
    assert_names(
        &fan_in,
        &[
            "model.input_dim",
            "`net.0.weight` has shape [5, 3]",
            "[5, 4]",
            "use data with 3 features",
        ],
    );
    let outputs = refusal("torch_k3.safetensors", &fixture_config(1));
    assert_names(
        &outputs,
        &[
            "model.outputs",
            "`4.weight` has shape [3, 4]",
            "layer 3 of the config is [1, 4]",
            "set outputs = 3",
        ],
    );
}

#[test]
fn a_bias_the_config_does_not_have_and_a_missing_bias_are_refused() {
    let extra = refusal("torch_k1.safetensors", &fixture_config(1).with_bias(false));
    assert_names(
        &extra,
        &[
            "model.bias",
            "bias `net.0.bias` (shape [5])",
            "set bias = true",
        ],
    );
    let path = write_safetensors(
        "no-bias",
        &[
            ramp("0.weight", &[5, 3], 0.1),
            ramp("2.weight", &[4, 5], 0.1),
            ramp("4.weight", &[1, 4], 0.1),
        ],
        &[],
    );
    let missing = ImportedNetwork::read(&path)
        .unwrap()
        .parameters_for(&fixture_config(1))
        .unwrap_err()
        .to_string();
    assert_names(
        &missing,
        &[
            "model.bias",
            "no bias beside `0.weight`",
            "set bias = false",
        ],
    );
}

#[test]
fn the_ntk_parameterization_is_refused_with_the_standard_one_named() {
    let message = refusal(
        "flax_k1.safetensors",
        &fixture_config(1).with_parameterization(Parameterization::Ntk),
    );
    assert_names(
        &message,
        &[
            "model.parameterization",
            "z = W α + b",
            "got \"ntk\"",
            "set parameterization = \"standard\"",
        ],
    );
}

#[test]
fn an_activation_in_the_metadata_that_differs_from_the_config_is_refused() {
    let hidden = refusal(
        "torch_k1.safetensors",
        &fixture_config(1).with_activation(Activation::Erf),
    );
    assert_names(
        &hidden,
        &[
            "model.activation",
            "activation = \"tanh\" (its __metadata__)",
            "activation = \"erf\"",
        ],
    );
    let output = refusal(
        "torch_k1.safetensors",
        &fixture_config(1).with_output_activation(Activation::Sigmoid),
    );
    assert_names(
        &output,
        &["model.output_activation", "\"identity\"", "\"sigmoid\""],
    );
    let unknown = read_refusal(
        "unknown-activation",
        &[ramp("0.weight", &[1, 2], 0.1)],
        &[("activation", "swish")],
    );
    assert_names(&unknown, &["activation = \"swish\"", "tanh", "gelu"]);
}

#[test]
fn a_non_finite_value_is_refused_with_its_key_and_index() {
    let mut values = vec![0.5; 15];
    values[5] = f64::NAN;
    let message = read_refusal(
        "non-finite",
        &[
            f64s("0.weight", &[5, 3], &values),
            ramp("2.weight", &[1, 5], 0.1),
        ],
        &[],
    );
    assert_names(
        &message,
        &["`0.weight`", "shape [5, 3]", "NaN", "index [1, 2] (flat 5)"],
    );
    let mut values = vec![0.5; 5];
    values[4] = f64::INFINITY;
    let message = read_refusal(
        "infinite",
        &[
            f64s("Dense_0/bias", &[5], &values),
            ramp("Dense_0/kernel", &[3, 5], 0.1),
        ],
        &[],
    );
    assert_names(&message, &["`Dense_0/bias`", "inf", "index [4]"]);
}

#[test]
fn an_unread_dtype_is_refused_with_its_key_and_the_dtypes_read() {
    let ints = Raw {
        key: "0.weight",
        dtype: "I64",
        shape: vec![1, 2],
        bytes: [3i64, 4].iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    let message = read_refusal("int-dtype", &[ints], &[]);
    assert_names(
        &message,
        &["`0.weight`", "dtype I64", "F64, F32, F16 or BF16"],
    );
    let unknown = Raw {
        key: "0.weight",
        dtype: "Q4",
        shape: vec![1, 2],
        bytes: vec![0; 2],
    };
    let message = read_refusal("unknown-dtype", &[unknown], &[]);
    assert_names(
        &message,
        &["`0.weight`", "dtype Q4", "F64, F32, F16 or BF16"],
    );
}

#[test]
fn keys_of_neither_layout_or_of_both_are_refused_by_name() {
    let message = read_refusal("named-layers", &[ramp("fc1.weight", &[1, 2], 0.1)], &[]);
    assert_names(
        &message,
        &[
            "`fc1.weight`",
            "fits neither layout",
            "`<prefix>I.weight`",
            "Dense_J/kernel",
        ],
    );
    let message = read_refusal(
        "batch-norm",
        &[
            ramp("0.weight", &[2, 2], 0.1),
            ramp("1.running_mean", &[2], 0.1),
        ],
        &[],
    );
    assert_names(&message, &["`1.running_mean`", "fits neither layout"]);
    let message = read_refusal(
        "mixed",
        &[
            ramp("0.weight", &[2, 2], 0.1),
            ramp("Dense_1/kernel", &[2, 1], 0.1),
        ],
        &[],
    );
    assert_names(
        &message,
        &["mixes key layouts", "`0.weight`", "`Dense_1/kernel`"],
    );
    let message = read_refusal(
        "two-prefixes",
        &[
            ramp("a.0.weight", &[2, 2], 0.1),
            ramp("b.1.weight", &[1, 2], 0.1),
        ],
        &[],
    );
    assert_names(&message, &["two names", "`a.0.weight`", "`b.1.weight`"]);
}

#[test]
fn a_file_that_is_not_one_stack_of_dense_layers_is_refused_by_key() {
    let message = read_refusal(
        "not-chained",
        &[
            ramp("0.weight", &[5, 3], 0.1),
            ramp("2.weight", &[1, 4], 0.1),
        ],
        &[],
    );
    assert_names(
        &message,
        &[
            "do not chain",
            "`0.weight` gives 5 outputs",
            "`2.weight` (shape [1, 4]",
            "takes 4 inputs",
        ],
    );
    let message = read_refusal(
        "bias-length",
        &[ramp("0.weight", &[5, 3], 0.1), ramp("0.bias", &[4], 0.1)],
        &[],
    );
    assert_names(
        &message,
        &[
            "`0.bias` has shape [4]",
            "`0.weight` has shape [5, 3]",
            "[5]",
        ],
    );
    let message = read_refusal(
        "bias-alone",
        &[ramp("0.weight", &[5, 3], 0.1), ramp("2.bias", &[1], 0.1)],
        &[],
    );
    assert_names(&message, &["bias `2.bias` has no weight"]);
    let message = read_refusal("conv", &[ramp("0.weight", &[2, 1, 3], 0.1)], &[]);
    assert_names(&message, &["`0.weight` has shape [2, 1, 3], not a matrix"]);
}
