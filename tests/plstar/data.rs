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
