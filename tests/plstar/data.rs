//! Data sets: the sphere, the shipped digits, user CSV files and their errors.

use std::path::PathBuf;

use plstar::data::{self, Normalization, SyntheticTarget};

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plstar-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn sphere_points_have_unit_norm_and_are_seeded() {
    let a = data::sphere(50, 7, SyntheticTarget::Teacher, 3);
    assert_eq!((a.len(), a.dim), (50, 7));
    for i in 0..50 {
        let norm: f64 = a.input(i).iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-14);
    }
    assert_eq!(a, data::sphere(50, 7, SyntheticTarget::Teacher, 3));
    assert_ne!(a, data::sphere(50, 7, SyntheticTarget::Teacher, 4));
    // The mean of uniform points on the sphere is near 0: ‖mean‖ ≈ 1/√n.
    let mean_sq: f64 = (0..7)
        .map(|j| (0..50).map(|i| a.input(i)[j]).sum::<f64>() / 50.0)
        .map(|m| m * m)
        .sum();
    assert!(mean_sq.sqrt() < 4.0 / 50f64.sqrt());
}

#[test]
fn synthetic_targets_follow_their_rules() {
    let s = data::sphere(20, 5, SyntheticTarget::Smooth, 1);
    for i in 0..20 {
        let want = (3.0 * s.input(i).iter().sum::<f64>() / 5f64.sqrt()).sin();
        assert_eq!(s.targets[i], want);
    }
    let b = data::sphere(200, 5, SyntheticTarget::Sign, 1);
    assert!(b.targets.iter().all(|&t| t == 1.0 || t == -1.0));
    let plus = b.targets.iter().filter(|&&t| t == 1.0).count();
    assert!((70..=130).contains(&plus), "{plus} of 200 are +1");
    let t = data::sphere(200, 5, SyntheticTarget::Teacher, 1);
    let var = t.targets.iter().map(|v| v * v).sum::<f64>() / 200.0;
    assert!(
        var > 0.05 && var < 2.0,
        "teacher targets have O(1) variance, got {var}"
    );
}

/// `k` synthetic targets per sample: `k = 1` is the scalar source draw for draw (the committed
/// sweeps depend on it); the teacher's head 0 is the scalar teacher (same inputs, same hidden
/// units, its `a` drawn first) and the heads differ; smooth column `b` is the closed form
/// `sin(3⟨x, 1⟩/√d + b)`; sign targets are ±1 per sample and output.
#[test]
fn synthetic_sources_with_k_outputs_extend_the_scalar_ones() {
    for target in [
        SyntheticTarget::Teacher,
        SyntheticTarget::Smooth,
        SyntheticTarget::Sign,
    ] {
        assert_eq!(
            data::sphere_outputs(9, 4, 1, target, 3),
            data::sphere(9, 4, target, 3)
        );
        assert_eq!(
            data::orthogonal_outputs(5, 1, target, 3),
            data::orthogonal(5, target, 3)
        );
    }
    let (n, k) = (30, 3);
    let one = data::sphere(n, 6, SyntheticTarget::Teacher, 2);
    let many = data::sphere_outputs(n, 6, k, SyntheticTarget::Teacher, 2);
    assert_eq!((many.len(), many.outputs, many.equations()), (n, k, n * k));
    assert_eq!(many.inputs, one.inputs);
    for i in 0..n {
        assert_eq!(
            many.target(i)[0],
            one.targets[i],
            "head 0 is the scalar teacher"
        );
    }
    let column = |b: usize| -> Vec<f64> { (0..n).map(|i| many.target(i)[b]).collect() };
    assert!(
        crate::relative_error(&column(1), &column(2)) > 0.1,
        "the heads differ"
    );
    let smooth = data::sphere_outputs(n, 6, k, SyntheticTarget::Smooth, 2);
    for i in 0..n {
        let t = 3.0 * smooth.input(i).iter().sum::<f64>() / 6f64.sqrt();
        for b in 0..k {
            assert_eq!(smooth.target(i)[b], (t + b as f64).sin());
        }
    }
    let sign = data::orthogonal_outputs(40, k, SyntheticTarget::Sign, 2);
    assert_eq!(sign.targets.len(), 40 * k);
    assert!(sign.targets.iter().all(|&t| t == 1.0 || t == -1.0));
}

#[test]
fn digits_select_two_classes_with_plus_minus_one_targets() {
    let all = data::digits([3, 8], None, Normalization::None, 0).unwrap();
    // The shipped file has 183 threes and 174 eights.
    assert_eq!(all.len(), 357);
    assert_eq!(all.dim, 64);
    assert_eq!(all.targets.iter().filter(|&&t| t == 1.0).count(), 183);
    assert_eq!(all.targets.iter().filter(|&&t| t == -1.0).count(), 174);
    assert!(all.inputs.iter().all(|&v| (0.0..=16.0).contains(&v)));

    let sub = data::digits([3, 8], Some(100), Normalization::Sphere, 0).unwrap();
    assert_eq!(sub.len(), 100);
    for i in 0..100 {
        let norm: f64 = sub.input(i).iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-14);
    }
    let st = data::digits([0, 1], Some(120), Normalization::Standardize, 2).unwrap();
    for j in 0..64 {
        let col: Vec<f64> = (0..120).map(|i| st.input(i)[j]).collect();
        let mean = col.iter().sum::<f64>() / 120.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 120.0;
        assert!(mean.abs() < 1e-12);
        assert!(
            var.abs() < 1e-12 || (var - 1.0).abs() < 1e-12,
            "pixel {j}: variance {var}"
        );
    }
    let err = data::digits([3, 8], Some(400), Normalization::None, 0).unwrap_err();
    assert!(
        err.to_string().contains("data.n") && err.to_string().contains("357"),
        "{err}"
    );
    let err = data::digits([3, 3], None, Normalization::None, 0).unwrap_err();
    assert!(err.to_string().contains("data.classes"), "{err}");
}

#[test]
fn csv_reads_header_target_column_and_comments() {
    let path = temp_file("ok.csv", "a,b,y\n# a comment\n1,2,3\n\n4, 5 ,6\n");
    let d = data::csv(&path, true, None, None, Normalization::None).unwrap();
    assert_eq!(d.inputs, vec![1.0, 2.0, 4.0, 5.0]);
    assert_eq!(d.targets, vec![3.0, 6.0]);
    let d = data::csv(&path, true, Some(0), Some(1), Normalization::None).unwrap();
    assert_eq!(d.inputs, vec![2.0, 3.0]);
    assert_eq!(d.targets, vec![1.0]);
}

#[test]
fn malformed_csv_files_are_rejected_with_the_line_and_the_reason() {
    let cases = [
        ("ragged.csv", "1,2,3\n4,5\n", ":2:", "ragged row"),
        ("text.csv", "1,2,3\n4,x,6\n", ":2:", "\"x\" is not a number"),
        ("header.csv", "a,b,c\n1,2,3\n", ":1:", "data.header = true"),
        ("nan.csv", "1,2,3\n4,NaN,6\n", ":2:", "not finite"),
        ("empty.csv", "# nothing\n\n", ":0:", "no data rows"),
        ("onecol.csv", "1\n2\n", ":1:", "at least two columns"),
    ];
    for (name, text, line, reason) in cases {
        let path = temp_file(name, text);
        let err = data::csv(&path, false, None, None, Normalization::None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(name) && msg.contains(line) && msg.contains(reason),
            "{name}: {msg}"
        );
    }
    let path = temp_file("cols.csv", "1,2,3\n");
    let err = data::csv(&path, false, Some(5), None, Normalization::None).unwrap_err();
    assert!(err.to_string().contains("data.target_column"), "{err}");
    let err = data::csv(
        &PathBuf::from("/nonexistent/x.csv"),
        false,
        None,
        None,
        Normalization::None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}

/// Issue 18, fault 4: a constant column (0.1, 14.62, −3e5 on every row) standardizes to exactly
/// 0, not ±1. Over 10 rows the means of 0.1 and 14.62 carry an ulp of error, so their `sd` is
/// 1.4e-17 and 1.8e-15 rather than 0: an exact `sd > 0` test mapped them to ±1. The varying
/// column still comes out with mean 0 and variance 1.
#[test]
fn standardize_maps_columns_constant_up_to_round_off_to_exactly_zero() {
    let text: String = (0..10)
        .map(|i| format!("0.1,14.62,-3e5,{},{}\n", (i * i) as f64 / 7.0, i))
        .collect();
    let path = temp_file("constant.csv", &text);
    let d = data::csv(&path, false, None, None, Normalization::Standardize).unwrap();
    assert_eq!(d.dim, 4);
    for i in 0..10 {
        assert_eq!(
            &d.input(i)[..3],
            &[0.0, 0.0, 0.0],
            "row {i}: {:?}",
            d.input(i)
        );
    }
    let col: Vec<f64> = (0..10).map(|i| d.input(i)[3]).collect();
    let mean = col.iter().sum::<f64>() / 10.0;
    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 10.0;
    assert!(mean.abs() < 1e-14, "mean {mean}");
    assert!((var - 1.0).abs() < 1e-14, "variance {var}");
    // A column whose spread is within 8u·max|x| (one ulp apart) is constant too.
    let path = temp_file("ulp.csv", "0.1,1,5\n0.10000000000000002,2,6\n0.1,3,7\n");
    let d = data::csv(&path, false, None, None, Normalization::Standardize).unwrap();
    assert!((0..3).all(|i| d.input(i)[0] == 0.0), "{:?}", d.inputs);
}

/// Sphere normalization gives a unit vector in the row's direction however small or large the
/// row is: no square underflows (1e-170) or overflows (1e200) on the way.
#[test]
fn sphere_normalization_of_tiny_and_huge_rows_keeps_their_direction() {
    let path = temp_file("scale.csv", "3e-170,4e-170,1\n3e200,-4e200,2\n3,4,3\n");
    let d = data::csv(&path, false, None, None, Normalization::Sphere).unwrap();
    let want = [[0.6, 0.8], [0.6, -0.8], [0.6, 0.8]];
    for (i, w) in want.iter().enumerate() {
        let x = d.input(i);
        assert!(
            (x[0] - w[0]).abs() < 1e-15 && (x[1] - w[1]).abs() < 1e-15,
            "row {i}: {x:?}"
        );
    }
    let path = temp_file("zero.csv", "0,0,1\n1,2,3\n");
    let err = data::csv(&path, false, None, None, Normalization::Sphere).unwrap_err();
    assert!(err.to_string().contains("all zeros"), "{err}");
}

/// A run config with `data` as its `[data]` section, read the way the binary reads it.
fn run_config(name: &str, data: &str) -> plstar::experiment::config::RunConfig {
    let path = temp_file(
        name,
        &format!("[model]\nwidths = [8]\n[data]\n{data}\n[train]\nlearning_rate = 0.1\n"),
    );
    plstar::experiment::config::RunConfig::from_file(&path).unwrap()
}

/// Issue 19, item 2: `classes = [0, 1, …, 9]` was accepted and silently truncated to `[0, 1]`
/// (serde reads the first two entries of a `[u8; 2]`). A list is read whole: ten classes give
/// ten targets per sample (see `labels.rs`), and fewer than two are refused, naming the key, the
/// value and an example.
#[test]
fn digit_class_lists_are_read_whole_not_truncated() {
    for (list, len) in [("[3]", 1), ("[]", 0)] {
        let config = run_config(
            &format!("classes-{len}.toml"),
            &format!("source = \"digits\"\nclasses = {list}"),
        );
        let err = config.validate().unwrap_err().to_string();
        for needle in [
            "data.classes".to_string(),
            format!("({len} entries)"),
            "classes = [3, 8]".to_string(),
        ] {
            assert!(err.contains(&needle), "{list}: {needle:?} not in {err}");
        }
    }
    let ten = run_config(
        "classes-10.toml",
        "source = \"digits\"\nclasses = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
    );
    let ten = ten.validate().unwrap();
    assert_eq!((ten.data.len(), ten.data.outputs), (1797, 10));
    let two = run_config("classes-2.toml", "source = \"digits\"\nclasses = [3, 8]");
    assert_eq!(two.validate().unwrap().data.len(), 357);
}

/// Issue 19, item 2: the record of a run (`Settings::config`, written to `run.json` and
/// `summary.json`) held `normalize = null`, `target_column = null`, `header = null` while the CSV
/// was scaled to unit length and read with the last column as target. The resolved config writes
/// out every default applied at load time, and loading it again gives the same data and the
/// same record (it is a fixed point).
#[test]
fn the_resolved_config_holds_every_default_and_loads_the_same_data() {
    temp_file("resolved.csv", "1,2,0.5\n3,-4,1\n0,5,-2\n");
    let cases = [
        ("csv", "source = \"csv\"\npath = \"resolved.csv\""),
        ("digits", "source = \"digits\"\nclasses = [3, 8]"),
        ("sphere", "source = \"sphere\"\nn = 5\ndim = 3"),
        ("orthogonal", "source = \"orthogonal\"\nn = 4"),
    ];
    for (source, data) in cases {
        let config = run_config(&format!("resolved-{source}.toml"), data);
        let s = config.validate().unwrap();
        let d = &s.config.data;
        assert_eq!(s.config.name.as_deref(), Some(s.name.as_str()), "{source}");
        assert_eq!(d.n, Some(s.data.len()), "{source}");
        match source {
            "csv" => {
                assert_eq!(d.normalize, Some(Normalization::Sphere));
                assert_eq!(d.header, Some(false));
                assert_eq!(d.target_column, Some(2), "the last of 3 columns");
                assert_eq!(s.data.targets, vec![0.5, 1.0, -2.0]);
            }
            "digits" => assert_eq!(d.normalize, Some(Normalization::Sphere)),
            _ => assert_eq!(d.target, Some(SyntheticTarget::Teacher), "{source}"),
        }
        let again = s.config.validate().unwrap();
        assert_eq!(
            again.data, s.data,
            "{source}: the resolved config loads the same data"
        );
        assert_eq!(
            again.config, s.config,
            "{source}: resolving twice changes nothing"
        );
    }
}

/// `.npy` bytes in format version 1.0 written by hand (not by `plstar::report::npy`): the magic,
/// version 1 0, a little-endian u16 header length, the header dictionary padded with spaces and
/// a newline to a multiple of 64 bytes, then the raw values.
fn npy_by_hand(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
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
    bytes.extend_from_slice(data);
    bytes
}

/// Issue 19, item 2: `--params` refused float32 `.npy` (PyTorch's default dtype) and a `[1, p]`
/// array. A float32 `[1, p]` file (and a big-endian float64 `[p, 1]` one) now reads as the `p`
/// values exactly (f32 → f64 widens without rounding), with a note saying what was converted;
/// a wrong element count or a non-float dtype is still refused, naming the shape or dtype.
#[test]
fn a_float32_row_of_p_values_is_read_exactly_with_a_note_of_the_conversion() {
    use plstar::report::npy;
    let w32: Vec<f32> = vec![0.1, -1.5e-7, 3.25, f32::MAX, -0.0];
    let le: Vec<u8> = w32.iter().flat_map(|v| v.to_le_bytes()).collect();
    let path = temp_file("row32.npy", "");
    std::fs::write(&path, npy_by_hand("<f4", false, "(1, 5)", &le)).unwrap();
    let (w, note) = npy::read_vector(&path, 5).unwrap();
    let exact: Vec<f64> = w32.iter().map(|&v| v as f64).collect();
    assert_eq!(w, exact);
    assert!(w
        .iter()
        .zip(&w32)
        .all(|(a, b)| a.to_bits() == (*b as f64).to_bits()));
    let note = note.expect("a float32 [1, 5] array is converted and flattened");
    assert!(note.contains("from float32 to float64 (exact)"), "{note}");
    assert!(note.contains("flattened shape [1, 5] to [5]"), "{note}");

    let w64 = [0.1, 2.0, -3.5];
    let be: Vec<u8> = w64.iter().flat_map(|v: &f64| v.to_be_bytes()).collect();
    std::fs::write(&path, npy_by_hand(">f8", false, "(3, 1)", &be)).unwrap();
    let (w, note) = npy::read_vector(&path, 3).unwrap();
    assert_eq!(w, w64);
    assert!(note.unwrap().contains("float64 (big-endian)"));

    // A plain <f8 [p] vector needs no note.
    let plain: Vec<u8> = w64.iter().flat_map(|v: &f64| v.to_le_bytes()).collect();
    std::fs::write(&path, npy_by_hand("<f8", false, "(3,)", &plain)).unwrap();
    assert_eq!(npy::read_vector(&path, 3).unwrap(), (w64.to_vec(), None));

    let err = npy::read_vector(&path, 4).unwrap_err().to_string();
    assert!(err.contains("shape [3]") && err.contains("p = 4"), "{err}");
    std::fs::write(&path, npy_by_hand("<i8", false, "(3,)", &plain)).unwrap();
    let err = npy::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("\"<i8\"") && err.contains("float32 and float64"),
        "{err}"
    );
}

#[test]
fn a_semicolon_separated_csv_is_refused_with_a_hint_that_only_commas_are_read() {
    // A European-locale export: the whole line is one "field" with semicolons inside.
    let dir = crate::scratch("data", "semicolons");
    let path = dir.join("data.csv");
    std::fs::write(&path, "0.1;0.2;1\n0.3;0.4;-1\n").unwrap();
    let err = plstar::data::csv(&path, false, None, None, plstar::data::Normalization::None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("comma-separated values only"), "{err}");
}
