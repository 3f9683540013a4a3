//! Labels: `k` targets per sample. Digits with any 2 … 10 classes (`sign`, `one_hot`,
//! `centered`), CSV files with several target columns, `.npy` inputs and targets, the config
//! wiring (`MlpConfig.outputs = k`, the resolved record) and every refusal with its key and fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use plstar::data::{self, Dataset, Encoding, Normalization};
use plstar::experiment::config::RunConfig;

const ALL: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/// The shipped digits parsed here, independently of `plstar::data`: `(64 pixels, label)` per
/// line of `data/digits.csv`.
fn digits_file() -> Vec<(Vec<f64>, u8)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv"))
        .expect("data/digits.csv is shipped");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            let label = fields.pop().unwrap().trim().parse().unwrap();
            let pixels = fields.iter().map(|f| f.trim().parse().unwrap()).collect();
            (pixels, label)
        })
        .collect()
}

/// The labels each image of the file carries (an image may occur more than once).
fn labels_by_image() -> HashMap<Vec<u64>, Vec<u8>> {
    let mut map: HashMap<Vec<u64>, Vec<u8>> = HashMap::new();
    for (x, label) in digits_file() {
        map.entry(x.iter().map(|v| v.to_bits()).collect())
            .or_default()
            .push(label);
    }
    map
}

/// The column of the single 1 of a one-hot row, checking that every other entry is exactly 0.
fn hot_column(row: &[f64]) -> usize {
    assert_eq!(row.iter().filter(|&&v| v == 1.0).count(), 1, "{row:?}");
    assert!(row.iter().all(|&v| v == 0.0 || v == 1.0), "{row:?}");
    row.iter().position(|&v| v == 1.0).unwrap()
}

/// A run config with `data` as its `[data]` section written to `dir/run.toml` (so relative
/// paths start at `dir`), read the way the binary reads it.
fn config_in(dir: &Path, data: &str) -> RunConfig {
    let path = dir.join("run.toml");
    std::fs::write(
        &path,
        format!("[model]\nwidths = [8]\n[data]\n{data}\n[train]\nlearning_rate = 0.1\n"),
    )
    .unwrap();
    RunConfig::from_file(&path).unwrap()
}

/// The error text of validating the `[data]` section `data` written in `dir`.
fn refusal(dir: &Path, data: &str) -> String {
    match config_in(dir, data).validate() {
        Ok(_) => panic!("accepted: {data}"),
        Err(e) => e.to_string(),
    }
}

fn assert_names(err: &str, needles: &[&str]) {
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
}

/// Ten classes give `k = 10`, `n = 1797`, `N = 17 970`, and every target row is the one-hot of
/// *its* image's label: the labels come from the file parsed here, matched through the raw
/// pixels (normalize = none), so a row permuted against its input would fail. The per-class
/// counts of hot columns equal the file's label counts (174 … 183 per class).
#[test]
fn ten_digit_classes_give_one_hot_rows_of_each_images_label() {
    let d = data::digits_encoded(&ALL, Encoding::OneHot, None, Normalization::None, 0).unwrap();
    assert_eq!((d.len(), d.dim, d.outputs), (1797, 64, 10));
    assert_eq!(d.equations(), 17_970);

    let mut file_counts = [0usize; 10];
    for (_, label) in digits_file() {
        file_counts[label as usize] += 1;
    }
    assert_eq!(file_counts.iter().sum::<usize>(), 1797);
    assert!(
        file_counts.iter().all(|c| (174..=183).contains(c)),
        "{file_counts:?}"
    );

    let labels = labels_by_image();
    let mut hot_counts = [0usize; 10];
    for i in 0..d.len() {
        let b = hot_column(d.target(i));
        hot_counts[b] += 1;
        let key: Vec<u64> = d.input(i).iter().map(|v| v.to_bits()).collect();
        let of_image = &labels[&key];
        assert!(
            of_image.contains(&ALL[b]),
            "sample {i}: hot column {b}, image labelled {of_image:?}"
        );
    }
    assert_eq!(hot_counts, file_counts);
}

/// Column `b` stands for `classes[b]` in the order listed, not in digit order: with
/// `classes = [7, 2, 5]` the hot column of every image is the position of its label in that
/// list. `centered` is the same rows minus 1/3, each summing to 0 within 1e-15, on the same
/// samples in the same order (the encoding does not touch the draw).
#[test]
fn the_target_columns_follow_the_listed_class_order_and_centered_rows_sum_to_zero() {
    let classes = [7, 2, 5];
    let labels = labels_by_image();
    let one_hot =
        data::digits_encoded(&classes, Encoding::OneHot, None, Normalization::None, 3).unwrap();
    assert_eq!(one_hot.outputs, 3);
    for i in 0..one_hot.len() {
        let b = hot_column(one_hot.target(i));
        let key: Vec<u64> = one_hot.input(i).iter().map(|v| v.to_bits()).collect();
        assert!(labels[&key].contains(&classes[b]), "sample {i}");
    }
    let centered =
        data::digits_encoded(&classes, Encoding::Centered, None, Normalization::None, 3).unwrap();
    assert_eq!(centered.inputs, one_hot.inputs);
    for (c, h) in centered.targets.iter().zip(&one_hot.targets) {
        assert_eq!(*c, h - 1.0 / 3.0);
    }
    let ten =
        data::digits_encoded(&ALL, Encoding::Centered, Some(500), Normalization::None, 1).unwrap();
    assert_eq!((ten.len(), ten.outputs), (500, 10));
    for i in 0..ten.len() {
        let row = ten.target(i);
        let sum: f64 = row.iter().sum();
        assert!(sum.abs() <= 1e-15, "row {i} sums to {sum:e}");
        assert_eq!(row.iter().filter(|&&v| v == 1.0 - 0.1).count(), 1);
        assert_eq!(row.iter().filter(|&&v| v == -0.1).count(), 9);
    }
}

/// Two classes keep the ±1 scalar target bit for bit: the previous algorithm (filter the file's
/// rows of the two classes in order, +1/−1, shuffle with ChaCha8 from the seed, take the first
/// n) rewritten here gives the same inputs and targets as `digits`, `digits_encoded(sign)` and a
/// config with `classes = [3, 8]` and no encoding, whose record says `encoding = "sign"`.
/// `one_hot` on two classes is honoured: `k = 2`, rows `[1, 0]` where sign gives +1.
#[test]
fn two_classes_give_exactly_the_previous_plus_minus_one_targets() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let (classes, n, seed) = ([3u8, 8u8], 100, 5);
    let mut picked: Vec<(Vec<f64>, f64)> = digits_file()
        .into_iter()
        .filter_map(|(x, label)| match label {
            l if l == classes[0] => Some((x, 1.0)),
            l if l == classes[1] => Some((x, -1.0)),
            _ => None,
        })
        .collect();
    picked.shuffle(&mut rand::rngs::ChaCha8Rng::seed_from_u64(seed));
    picked.truncate(n);
    let oracle = Dataset::new(
        picked.iter().flat_map(|(x, _)| x.clone()).collect(),
        picked.iter().map(|(_, t)| *t).collect(),
        64,
    )
    .unwrap();

    let old = data::digits(classes, Some(n), Normalization::None, seed).unwrap();
    assert_eq!(old, oracle);
    assert_eq!(old.outputs, 1);
    let sign =
        data::digits_encoded(&classes, Encoding::Sign, Some(n), Normalization::None, seed).unwrap();
    assert_eq!(sign, oracle);

    let dir = crate::scratch("labels", "two-classes");
    let s = config_in(
        &dir,
        "source = \"digits\"\nclasses = [3, 8]\nn = 100\nseed = 5\nnormalize = \"none\"",
    )
    .validate()
    .unwrap();
    assert_eq!(s.data, oracle);
    assert_eq!(
        (s.model.outputs, s.config.data.encoding),
        (1, Some(Encoding::Sign))
    );

    let pair = data::digits_encoded(
        &classes,
        Encoding::OneHot,
        Some(n),
        Normalization::None,
        seed,
    )
    .unwrap();
    assert_eq!(
        (pair.outputs, pair.inputs.as_slice()),
        (2, oracle.inputs.as_slice())
    );
    for i in 0..n {
        let want = if oracle.targets[i] == 1.0 {
            [1.0, 0.0]
        } else {
            [0.0, 1.0]
        };
        assert_eq!(pair.target(i), want, "sample {i}");
    }
}

/// The config wiring: `classes` of ten digits gives `MlpConfig.outputs = 10` and a record
/// naming the default `one_hot`; `encoding = "centered"` is recorded as such; the resolved
/// record loads the same data and resolves to itself. The shipped `configs/digits10*.toml`
/// validate with `k = 10` on 1797 and 200 samples.
#[test]
fn ten_classes_wire_k_into_the_model_and_the_resolved_record() {
    let dir = crate::scratch("labels", "wiring");
    for (text, encoding) in [
        ("", Encoding::OneHot),
        ("encoding = \"centered\"\n", Encoding::Centered),
    ] {
        let config = config_in(
            &dir,
            &format!("source = \"digits\"\nclasses = {ALL:?}\nn = 300\n{text}"),
        );
        let s = config.validate().unwrap();
        assert_eq!((s.model.outputs, s.data.outputs), (10, 10));
        assert_eq!(s.data.equations(), 3000);
        assert_eq!(s.config.data.encoding, Some(encoding));
        let json = serde_json::to_value(&s.config).unwrap();
        assert_eq!(json["data"]["encoding"], encoding.name());
        let again = s.config.validate().unwrap();
        assert_eq!(again.data, s.data);
        assert_eq!(again.config, s.config);
    }
    for (file, n) in [("digits10.toml", 1797), ("digits10-small.toml", 200)] {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/configs")).join(file);
        let s = RunConfig::from_file(&path).unwrap().validate().unwrap();
        assert_eq!((s.data.len(), s.model.outputs), (n, 10), "{file}");
        assert!(s.config.data.encoding.is_some(), "{file}");
    }
}

/// `host_bytes` counts `n·k` targets: `k` more targets per sample cost `8 n (k − 1)` bytes, and
/// the synthetic teacher's `k − 1` more heads `8 · 32 (k − 1)`. The run's estimate holds the
/// `N × N` kernel, `N = n k`: at least `4 · 8 N²`.
#[test]
fn memory_estimates_count_n_times_k_targets_and_the_n_k_kernel() {
    assert_eq!(
        data::host_bytes(1797, 64, 10) - data::host_bytes(1797, 64, 1),
        8 * 1797 * 9 + 8 * 32 * 9
    );
    let mut model = plstar::model::MlpConfig {
        input_dim: 64,
        widths: vec![16],
        activation: plstar::model::Activation::Tanh,
        output_activation: plstar::model::Activation::Identity,
        bias: false,
        bias_scale: 1.0,
        parameterization: plstar::model::Parameterization::Ntk,
        outputs: 10,
    };
    let ten = plstar::experiment::resources::estimate(&model, 1797, 8).unwrap();
    assert!(ten.bytes >= 4 * 8 * 17_970 * 17_970, "{ten:?}");
    model.outputs = 1;
    let one = plstar::experiment::resources::estimate(&model, 1797, 8).unwrap();
    assert!(one.bytes < 4 * 8 * 17_970 * 17_970 / 50, "{one:?}");
}

/// A CSV with `target_columns = [3, 1]`: the target row is (column 3, column 1) in that order,
/// the inputs the other columns in file order; `k = 2` reaches the model, and the record keeps
/// `target_columns` (no `target_column` added). `n` takes the first rows.
#[test]
fn csv_with_two_target_columns_gives_rows_of_two_targets() {
    let dir = crate::scratch("labels", "csv");
    std::fs::write(
        dir.join("t.csv"),
        "x,a,y,b,z\n1,10,2,20,3\n4,40,5,50,6\n7,70,8,80,9\n",
    )
    .unwrap();
    let d =
        data::csv_columns(&dir.join("t.csv"), true, &[3, 1], None, Normalization::None).unwrap();
    assert_eq!((d.len(), d.dim, d.outputs), (3, 3, 2));
    assert_eq!(d.targets, vec![20.0, 10.0, 50.0, 40.0, 80.0, 70.0]);
    assert_eq!(d.inputs, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);

    let s = config_in(
        &dir,
        "source = \"csv\"\npath = \"t.csv\"\nheader = true\ntarget_columns = [3, 1]\nn = 2\n\
         normalize = \"none\"",
    )
    .validate()
    .unwrap();
    assert_eq!(s.model.outputs, 2);
    assert_eq!(s.data.targets, vec![20.0, 10.0, 50.0, 40.0]);
    assert_eq!(
        (
            s.config.data.target_columns.clone(),
            s.config.data.target_column
        ),
        (Some(vec![3, 1]), None)
    );
    assert_eq!(s.config.validate().unwrap().data, s.data);
    // The one-column form is unchanged: the last column, k = 1.
    let one = data::csv(&dir.join("t.csv"), true, None, None, Normalization::None).unwrap();
    assert_eq!(
        (one.outputs, one.targets.as_slice()),
        (1, &[3.0, 6.0, 9.0][..])
    );
}

/// `.npy` bytes in format version 1.0 written by hand: magic, version, u16 header length, the
/// header padded to 64 bytes, the values in the byte order given.
fn npy_file(path: &Path, descr: &str, fortran: bool, shape: &str, data: Vec<u8>) {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

fn le64(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The `npy` source: f64 inputs `[3, 2]` with f32 targets `[3]` (`k = 1`), and f32 inputs with
/// f64 targets `[3, 2]` (`k = 2`), read exactly (f32 widened without rounding), through a config
/// whose relative paths start at its folder; `n = 2` keeps the first two rows; `normalize`
/// applies as for CSV. A Fortran-ordered `[3, 2]` targets file reads as its C-ordered twin.
#[test]
fn npy_inputs_and_targets_of_f32_and_f64_vectors_and_matrices_are_read_exactly() {
    let dir = crate::scratch("labels", "npy");
    let x = [3.0, 4.0, -1.0, 0.5, 0.25, 2.0];
    let y32 = [0.1f32, -2.5, 7.0];
    npy_file(&dir.join("x64.npy"), "<f8", false, "(3, 2)", le64(&x));
    npy_file(&dir.join("y32.npy"), "<f4", false, "(3,)", le32(&y32));
    let d = data::npy(
        &dir.join("x64.npy"),
        &dir.join("y32.npy"),
        None,
        Normalization::None,
    )
    .unwrap();
    assert_eq!((d.len(), d.dim, d.outputs), (3, 2, 1));
    assert_eq!(d.inputs, x);
    assert_eq!(d.targets, y32.map(f64::from));

    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let y = [1.0, 0.0, 0.0, 1.0, -0.5, 0.5];
    npy_file(&dir.join("x32.npy"), "<f4", false, "(3, 2)", le32(&x32));
    npy_file(&dir.join("y64.npy"), "<f8", false, "(3, 2)", le64(&y));
    let s = config_in(
        &dir,
        "source = \"npy\"\ninputs = \"x32.npy\"\ntargets = \"y64.npy\"\nn = 2",
    )
    .validate()
    .unwrap();
    assert_eq!((s.data.len(), s.data.outputs, s.model.outputs), (2, 2, 2));
    assert_eq!(s.data.targets, y[..4]);
    // The default normalization, sphere: (3, 4)/5 and (−1, 0.5)/‖·‖.
    assert_eq!(&s.data.inputs[..2], &[0.6, 0.8]);
    let norm = (1.25f64).sqrt();
    assert!((s.data.inputs[2] + 1.0 / norm).abs() < 1e-15);
    assert_eq!(s.config.data.normalize, Some(Normalization::Sphere));
    assert_eq!(s.config.validate().unwrap().data, s.data);

    // Column-major storage of the same [3, 2] targets: columns one after the other.
    let columns = [y[0], y[2], y[4], y[1], y[3], y[5]];
    npy_file(&dir.join("yf.npy"), "<f8", true, "(3, 2)", le64(&columns));
    let f = data::npy(
        &dir.join("x64.npy"),
        &dir.join("yf.npy"),
        None,
        Normalization::None,
    )
    .unwrap();
    assert_eq!(f.targets, y);
}

/// Every refusal of the digits classes and encoding names the key, the value and the fix.
#[test]
fn bad_classes_and_encodings_are_refused_with_the_key_and_the_fix() {
    let dir = crate::scratch("labels", "bad-digits");
    let digits = |rest: &str| refusal(&dir, &format!("source = \"digits\"\n{rest}"));
    assert_names(
        &digits("classes = [3, 8, 3]"),
        &[
            "data.classes",
            "lists digit 3 twice in [3, 8, 3]",
            "appear once",
        ],
    );
    assert_names(
        &digits("classes = [3, 12]"),
        &["data.classes", "0…9, got 12 in [3, 12]"],
    );
    assert_names(
        &digits("classes = [3]"),
        &[
            "data.classes",
            "at least two",
            "(1 entries)",
            "classes = [3, 8]",
        ],
    );
    assert_names(
        &digits("classes = []"),
        &["data.classes", "at least two", "(0 entries)"],
    );
    assert_names(
        &digits("classes = [1, 2, 3]\nencoding = \"sign\""),
        &["data.encoding", "exactly two classes, got 3", "\"one_hot\""],
    );
    assert_names(
        &digits("classes = [1, 2, 3]\nn = 1000"),
        &["data.n", "between 1 and", "[1, 2, 3]", "got 1000"],
    );
    assert_names(&digits(""), &["data.classes", "is required"]);
    assert_names(
        &refusal(
            &dir,
            "source = \"sphere\"\nn = 4\ndim = 3\nencoding = \"one_hot\"",
        ),
        &[
            "data.encoding",
            "not used with source = \"sphere\"",
            "remove it",
        ],
    );
    let path = dir.join("bad-encoding.toml");
    std::fs::write(
        &path,
        "[model]\nwidths = [8]\n[data]\nsource = \"digits\"\nclasses = [1, 2, 3]\n\
         encoding = \"onehot\"\n",
    )
    .unwrap();
    let err = RunConfig::from_file(&path).unwrap_err().to_string();
    assert_names(&err, &["onehot", "one_hot", "centered"]);
}

/// Every refusal of `target_columns` names the key and the fix.
#[test]
fn bad_target_columns_are_refused_with_the_key_and_the_fix() {
    let dir = crate::scratch("labels", "bad-csv");
    std::fs::write(dir.join("t.csv"), "1,2,3\n4,5,6\n").unwrap();
    let csv = |rest: &str| refusal(&dir, &format!("source = \"csv\"\npath = \"t.csv\"\n{rest}"));
    assert_names(
        &csv("target_column = 2\ntarget_columns = [1, 2]"),
        &["data.target_columns", "not both"],
    );
    assert_names(
        &csv("target_columns = [1, 1]"),
        &["data.target_columns", "column 1 twice"],
    );
    assert_names(
        &csv("target_columns = [0, 7]"),
        &[
            "data.target_columns",
            "column 7 does not exist",
            "3 columns (0…2)",
        ],
    );
    assert_names(
        &csv("target_columns = [0, 1, 2]"),
        &["data.target_columns", "leave at least one input column"],
    );
    assert_names(
        &csv("target_columns = []"),
        &["data.target_columns", "at least one", "remove it"],
    );
}

/// Every refusal of the `npy` source names the key (or the file and the sample) and the fix.
#[test]
fn bad_npy_files_are_refused_with_the_key_and_the_fix() {
    let dir = crate::scratch("labels", "bad-npy");
    npy_file(&dir.join("x.npy"), "<f8", false, "(3, 2)", le64(&[1.0; 6]));
    npy_file(&dir.join("x1d.npy"), "<f8", false, "(3,)", le64(&[1.0; 3]));
    npy_file(&dir.join("x0.npy"), "<f8", false, "(0, 2)", vec![]);
    npy_file(&dir.join("y0.npy"), "<f8", false, "(0,)", vec![]);
    npy_file(
        &dir.join("y.npy"),
        "<f8",
        false,
        "(3,)",
        le64(&[1.0, 2.0, 3.0]),
    );
    npy_file(&dir.join("y4.npy"), "<f8", false, "(4,)", le64(&[1.0; 4]));
    npy_file(
        &dir.join("y3d.npy"),
        "<f8",
        false,
        "(3, 1, 1)",
        le64(&[1.0; 3]),
    );
    npy_file(
        &dir.join("ynan.npy"),
        "<f8",
        false,
        "(3, 2)",
        le64(&[0.0, 1.0, 2.0, f64::NAN, 4.0, 5.0]),
    );
    npy_file(&dir.join("yint.npy"), "<i8", false, "(3,)", le64(&[0.0; 3]));
    let npy = |inputs: &str, targets: &str, rest: &str| {
        refusal(
            &dir,
            &format!("source = \"npy\"\ninputs = \"{inputs}\"\ntargets = \"{targets}\"\n{rest}"),
        )
    };
    assert_names(
        &npy("x1d.npy", "y.npy", ""),
        &["data.inputs", "shape [3]", "reshape(-1, 1)"],
    );
    assert_names(
        &npy("x.npy", "y4.npy", ""),
        &[
            "data.targets",
            "4 rows",
            "3 samples",
            "one target row per input row",
        ],
    );
    assert_names(
        &npy("x.npy", "y3d.npy", ""),
        &["data.targets", "shape [3, 1, 1]", "[n, k]"],
    );
    assert_names(
        &npy("x.npy", "ynan.npy", ""),
        &[
            "ynan.npy",
            "sample 1, column 1",
            "not finite",
            "remove or impute",
        ],
    );
    assert_names(
        &npy("x.npy", "yint.npy", ""),
        &["yint.npy", "data.targets", "\"<i8\"", "astype('<f8')"],
    );
    assert_names(
        &npy("missing.npy", "y.npy", ""),
        &[
            "data.inputs",
            "cannot read",
            "check data.inputs",
            "config file's folder",
        ],
    );
    assert_names(
        &npy("x0.npy", "y0.npy", ""),
        &["data.inputs", "no samples", "at least one row"],
    );
    assert_names(
        &npy("x.npy", "y.npy", "n = 4"),
        &["data.n", "between 1 and 3", "got 4"],
    );
    assert_names(
        &refusal(&dir, "source = \"npy\"\ntargets = \"y.npy\""),
        &["data.inputs", "is required with source = \"npy\""],
    );
    assert_names(
        &npy("x.npy", "y.npy", "path = \"t.csv\""),
        &["data.path", "not used with source = \"npy\""],
    );
}
