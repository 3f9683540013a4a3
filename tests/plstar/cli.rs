//! The `plstar` binary as a user sees it: outputs of a run, and the messages for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{plstar, stderr, BIN};

/// A fresh folder for one test.
fn scratch(test: &str) -> PathBuf {
    crate::scratch("cli", test)
}

const SMALL: &str = r#"
name = "small"
seed = 3
[model]
widths = [256]
[data]
source = "sphere"
n = 8
dim = 16
[train]
steps = 40
learning_rate = 1.0
"#;

fn train_in(dir: &Path, config_text: &str, extra: &[&str]) -> Output {
    let config = dir.join("run.toml");
    std::fs::write(&config, config_text).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    plstar(&args)
}

#[test]
fn train_writes_metrics_csv_and_run_json_with_seed_config_backend_and_version() {
    let dir = scratch("train");
    let o = train_in(&dir, SMALL, &["--seed", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.join("out/small");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["seed"], 5, "--seed overrides the config");
    assert_eq!(json["config"]["seed"], 5);
    assert_eq!(json["backend"]["backend"], "ndarray");
    assert_eq!(json["backend"]["precision"], "f64");
    assert_eq!(json["plstar_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["parameters"], 16 * 256 + 256);
    assert_eq!(json["samples"], 8);
    assert_eq!(json["status"], "step_budget");
    // The η used is in run.json beside the config's `learning_rate` (issue 19, item 5).
    assert_eq!(json["step_size"]["value"], 1.0, "{}", json["step_size"]);
    assert_eq!(json["step_size"]["source"], "config");
    assert!(json["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(json["config"]["model"]["widths"][0] == 256);
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for column in [
        "step",
        "loss",
        "grad_norm_sq",
        "pl_ratio",
        "distance_from_init",
        "distance_over_radius",
        "loss_bound",
        "lambda_min",
        "lambda_max",
        "kernel_change",
        "hessian_norm",
    ] {
        assert!(header.contains(&column), "metrics.csv lacks {column}");
    }
    let rows: Vec<Vec<Option<f64>>> = lines
        .map(|l| l.split(',').map(|v| v.parse().ok()).collect())
        .collect();
    assert_eq!(rows.len(), 41);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let loss = |i: usize| rows[i][1].unwrap();
    assert!(
        loss(40) < 0.1 * loss(0),
        "loss decreases by an order of magnitude"
    );
    // The kernel columns are filled at the evaluations (step 0 and the last step here).
    assert!(rows[0][7].is_some() && rows[40][7].is_some() && rows[1][7].is_none());
    assert!(!run.join("metrics.csv.partial").exists());
    assert_eq!(json["final_loss"].as_f64().unwrap(), loss(40));

    summary_json_and_files_are_complete(&run);
}

/// The small run's `summary.json` (card, step size, verdicts) and its report, figures and
/// parameter file.
fn summary_json_and_files_are_complete(run: &Path) {
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    for key in [
        "lambda0",
        "lambda_max0",
        "lipschitz_f0",
        "hessian_norm0",
        "residual_norm0",
        "loss0",
        "linearized_distance",
        "radius0",
        "eta_star0",
        "profile",
        "certificate",
        "points",
        "diagnosis",
        "width",
        "rho",
    ] {
        assert!(
            !summary["card"][key].is_null(),
            "summary.json card lacks {key}"
        );
    }
    assert_eq!(summary["step_size"]["value"], 1.0);
    assert_eq!(summary["step_size"]["source"], "config");
    let certificate = &summary["card"]["certificate"];
    for key in [
        "certified",
        "radius",
        "mu",
        "lipschitz_f",
        "beta_f",
        "eta_star",
        "searched_radii",
        "mu_profile",
        "reason",
    ] {
        assert!(certificate.get(key).is_some(), "certificate lacks {key}");
    }
    let verdicts = summary["verdicts"]["verdicts"].as_array().unwrap();
    assert!(verdicts.len() >= 7, "{verdicts:?}");
    for v in verdicts {
        let state = v["state"].as_str().unwrap();
        assert!(["pass", "fail", "not_applicable"].contains(&state), "{v}");
        assert!(!v["reason"].as_str().unwrap().is_empty(), "{v}");
    }
    for key in [
        "max_distance",
        "travelled",
        "trajectory_mu",
        "epsilon_reached",
        "final_loss",
    ] {
        assert!(
            !summary["verdicts"][key].is_null(),
            "summary.json verdicts lack {key}"
        );
    }
    for file in [
        "report.md",
        "loss_vs_bound.svg",
        "loss_vs_bound.png",
        "distance_vs_radius.svg",
        "distance_vs_radius.png",
        "parameters.npy",
    ] {
        let len = std::fs::metadata(run.join(file))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "{file} missing or nearly empty ({len} bytes)");
    }
    let png = std::fs::read(run.join("loss_vs_bound.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn f32_ndarray_run_records_its_precision() {
    let dir = scratch("f32");
    let o = train_in(&dir, SMALL, &["--precision", "f32", "--steps", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/small/run.json")).unwrap())
            .unwrap();
    assert_eq!(json["backend"]["precision"], "f32");
}

/// Runs a bad config; checks exit ≠ 0, that stderr holds every `needle`, and that no output
/// directory was created.
fn rejects(test: &str, config_text: &str, needles: &[&str]) {
    let dir = scratch(test);
    let o = train_in(&dir, config_text, &[]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{test}: must fail");
    for n in needles {
        assert!(err.contains(n), "{test}: stderr lacks {n:?}:\n{err}");
    }
    assert!(
        !dir.join("out").exists(),
        "{test}: no output directory may be left behind"
    );
}

#[test]
fn an_unknown_field_is_named_with_the_expected_ones() {
    rejects(
        "unknown",
        &SMALL.replace("widths", "widht"),
        &["unknown field `widht`", "widths", "configs/default.toml"],
    );
}

#[test]
fn a_wrong_type_is_named_with_its_line() {
    rejects(
        "type",
        &SMALL.replace("[256]", "\"wide\""),
        &["line 5", "widths", "expected a sequence"],
    );
}

#[test]
fn a_zero_width_is_named_with_the_fix() {
    rejects(
        "zero",
        &SMALL.replace("[256]", "[256, 0]"),
        &["model.widths", "≥ 1", "position 1"],
    );
}

#[test]
fn a_ragged_csv_is_named_with_its_line() {
    let dir = scratch("ragged-data");
    std::fs::write(dir.join("bad.csv"), "1,2,3\n4,5,6\n7,8\n").unwrap();
    let text = format!(
        "[model]\nwidths = [8]\n[data]\nsource = \"csv\"\npath = \"{}\"\n",
        dir.join("bad.csv").display()
    );
    rejects(
        "ragged",
        &text,
        &["bad.csv:3", "ragged row", "2 fields", "has 3"],
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = scratch("missing");
    let o = plstar(&[
        "train",
        "--config",
        "/nonexistent/plstar.toml",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/plstar.toml") && stderr(&o).contains("cannot read"));
    assert!(!dir.join("out").exists());
}

#[test]
fn sphere_data_without_n_names_the_missing_field() {
    rejects(
        "no-n",
        &SMALL.replace("n = 8\n", ""),
        &["data.n", "required"],
    );
}

#[test]
fn f64_on_wgpu_is_refused_with_the_alternatives() {
    let dir = scratch("wgpu64");
    let o = train_in(&dir, SMALL, &["--backend", "wgpu", "--precision", "f64"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("f64") && err.contains("--backend ndarray"),
        "{err}"
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn a_wrong_flag_value_lists_the_choices() {
    let o = plstar(&["train", "--config", "x.toml", "--backend", "cuda"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ndarray") && stderr(&o).contains("wgpu"));
}

#[test]
fn a_diverging_run_stops_names_the_step_and_keeps_the_records() {
    let dir = scratch("diverge");
    let o = train_in(&dir, SMALL, &["--learning-rate", "1e6", "--steps", "1000"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("diverged") && err.contains("at step") && err.contains("smaller step size"),
        "{err}"
    );
    let csv = std::fs::read_to_string(dir.join("out/small/metrics.csv")).unwrap();
    let rows = csv.lines().count() - 1;
    assert!((1..1000).contains(&rows), "{rows} finite records kept");
    assert!(csv
        .lines()
        .skip(1)
        .all(|l| !l.contains("NaN") && !l.contains("inf")));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/small/run.json")).unwrap())
            .unwrap();
    assert_eq!(json["status"], "diverged");
    assert_eq!(json["stop"]["step"].as_u64().unwrap() as usize, rows);
}

#[test]
fn help_lists_every_train_flag() {
    let o = plstar(&["train", "--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--config",
        "--backend",
        "--precision",
        "--out",
        "--seed",
        "--steps",
        "--learning-rate",
        "--quiet",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn ntk_reports_the_kernel_and_exports_a_bundle_that_rebuilds_the_function() {
    let dir = scratch("ntk");
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        SMALL.replace("[model]\n", "[model]\nbias = true\nactivation = \"erf\"\n"),
    )
    .unwrap();
    let out = dir.join("out");
    let bundle = dir.join("bundle");
    let o = plstar(&[
        "ntk",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--export",
        bundle.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for label in [
        "λ_min(K)",
        "λ_max(K)",
        "κ",
        "tr K",
        "L_F(w)",
        "‖H_F‖",
        "max_r ‖H_{F_r}‖₂",
        "‖F(w) − y‖",
        "PL ratio",
    ] {
        assert!(
            stdout.contains(label),
            "the report lacks {label}:\n{stdout}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("small/ntk/ntk.json")).unwrap())
            .unwrap();
    assert_eq!(report["pl_ratio_at_least_lambda_min"], true);
    assert_eq!(report["p"], 16 * 256 + 256 + 256 + 1);

    // The bundle: shapes, and the kernel equals what the report's eigenvalues describe.
    let (k, shape) = plstar::report::npy::read(&bundle.join("kernel.npy")).unwrap();
    assert_eq!(shape, vec![8, 8]);
    let trace: f64 = (0..8).map(|i| k[i * 9]).sum();
    let rel = (trace - report["trace"].as_f64().unwrap()).abs() / trace;
    assert!(rel < 1e-14, "bundle kernel trace vs report: {rel:e}");
    let (ev, _) = plstar::report::npy::read(&bundle.join("eigenvalues.npy")).unwrap();
    assert_eq!(ev[0], report["lambda_min"].as_f64().unwrap());
    assert_eq!(
        plstar::report::npy::read(&bundle.join("inputs.npy"))
            .unwrap()
            .1,
        vec![8, 16]
    );
    assert_eq!(
        plstar::report::npy::read(&bundle.join("layer1_weight.npy"))
            .unwrap()
            .1,
        vec![256, 16]
    );
    assert_eq!(
        plstar::report::npy::read(&bundle.join("layer1_bias.npy"))
            .unwrap()
            .1,
        vec![256]
    );
    assert_eq!(
        plstar::report::npy::read(&bundle.join("layer2_weight.npy"))
            .unwrap()
            .1,
        vec![1, 256]
    );

    bundle_rebuilds_the_function(&bundle);
}

/// Rebuilds `f` from the bundle's manifest formula and layer files alone (independent code)
/// and compares it with `outputs.npy`.
fn bundle_rebuilds_the_function(bundle: &Path) {
    // Rebuild f from the manifest's formula and the layer files alone (independent code):
    // z1 = c1 W1 x + c_b b1, a1 = erf(z1), f = c2 W2 a1 + c_b b2.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("manifest.json")).unwrap())
            .unwrap();
    let c: Vec<f64> = manifest["weight_multipliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let cb = manifest["bias_multiplier"].as_f64().unwrap();
    let (x, _) = plstar::report::npy::read(&bundle.join("inputs.npy")).unwrap();
    let (w1, _) = plstar::report::npy::read(&bundle.join("layer1_weight.npy")).unwrap();
    let (b1, _) = plstar::report::npy::read(&bundle.join("layer1_bias.npy")).unwrap();
    let (w2, _) = plstar::report::npy::read(&bundle.join("layer2_weight.npy")).unwrap();
    let (b2, _) = plstar::report::npy::read(&bundle.join("layer2_bias.npy")).unwrap();
    let (f, _) = plstar::report::npy::read(&bundle.join("outputs.npy")).unwrap();
    for i in 0..8 {
        let xi = &x[i * 16..(i + 1) * 16];
        let a1: Vec<f64> = (0..256)
            .map(|j| {
                libm::erf(c[0] * (0..16).map(|k| w1[j * 16 + k] * xi[k]).sum::<f64>() + cb * b1[j])
            })
            .collect();
        let fi = c[1] * (0..256).map(|j| w2[j] * a1[j]).sum::<f64>() + cb * b2[0];
        assert!((fi - f[i]).abs() < 1e-12, "sample {i}: {fi} vs {}", f[i]);
    }
}

#[test]
fn ntk_evaluates_a_trained_parameter_vector_and_rejects_a_wrong_one() {
    let dir = scratch("ntk-params");
    let o = train_in(&dir, SMALL, &["--steps", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let params = dir.join("out/small/parameters.npy");
    let config = dir.join("run.toml");
    let out = dir.join("ntk-out");
    let o = plstar(&[
        "ntk",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--params",
        params.to_str().unwrap(),
        "--no-hessian",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("small/ntk/ntk.json")).unwrap())
            .unwrap();
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/small/run.json")).unwrap())
            .unwrap();
    // The loss at the saved vector is the loss of the run's last step.
    let (a, b) = (
        report["loss"].as_f64().unwrap(),
        run["final_loss"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
    assert!(report["evaluated_at"]
        .as_str()
        .unwrap()
        .contains("parameters.npy"));

    std::fs::write(&config, SMALL.replace("[256]", "[128]")).unwrap();
    let o = plstar(&[
        "ntk",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--params",
        params.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("p = 2176"), "{}", stderr(&o));
}

/// A two-hidden-layer erf network with biases, wide enough for `K(w₀)` to sit near `K∞`.
const WIDE_ERF: &str = "name = \"wide-erf\"\nseed = 3\n[model]\nwidths = [2048, 2048]\n\
    activation = \"erf\"\nbias = true\nbias_scale = 0.5\n[data]\nsource = \"sphere\"\nn = 8\ndim = 16\n";

/// Runs `ntk --infinite --export <dir>/bundle` on `config_text`: stdout and `ntk.json`.
fn ntk_infinite(dir: &Path, config_text: &str) -> (String, serde_json::Value) {
    let config = dir.join("run.toml");
    std::fs::write(&config, config_text).unwrap();
    let (out, bundle) = (dir.join("out"), dir.join("bundle"));
    let o = plstar(&[
        "ntk",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--export",
        bundle.to_str().unwrap(),
        "--infinite",
        "--no-hessian",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("wide-erf/ntk/ntk.json")).unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    (stdout, serde_json::from_str(&text).unwrap())
}

#[test]
fn ntk_infinite_reports_the_gap_to_the_limit_kernel_and_exports_it() {
    let dir = scratch("ntk-infinite");
    let (stdout, report) = ntk_infinite(&dir, WIDE_ERF);
    let limit = &report["infinite_width"];
    assert_eq!(limit["status"], "computed", "{limit}");
    assert_eq!(limit["duals"], "closed form");
    for (label, key) in [
        ("λ_min(K∞)", "lambda_min"),
        ("λ_max(K∞)", "lambda_max"),
        ("‖K(w) − K∞‖_F / ‖K∞‖_F", "relative_gap"),
    ] {
        let line = stdout.lines().find(|l| l.trim_start().starts_with(label));
        let printed: f64 = line
            .and_then(|l| l.trim_start()[label.len()..].split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("the report lacks {label}:\n{stdout}"));
        let recorded = limit[key].as_f64().unwrap();
        assert!(
            (printed - recorded).abs() <= 1e-6 * recorded,
            "{label}: {printed} vs {recorded}"
        );
    }
    // O(m^{−1/2}) fluctuations: measured 5.0e-3 at m = 2048. A limit off by a constant (a
    // missing β² = 0.25 moves entries of size ~1) would be ≳ 0.1; 0 would mean K∞ = K(w₀).
    let gap = limit["relative_gap"].as_f64().unwrap();
    assert!(gap > 1e-4 && gap < 0.03, "‖K − K∞‖_F/‖K∞‖_F = {gap}");

    // The bundle: K∞ as [n, n], listed and described in the manifest; the recorded gap and
    // λ_min recomputed from the exported kernels; unit inputs make K∞'s diagonal constant.
    let bundle = dir.join("bundle");
    let (k, _) = plstar::report::npy::read(&bundle.join("kernel.npy")).unwrap();
    let (kinf, shape) = plstar::report::npy::read(&bundle.join("kernel_infinite.npy")).unwrap();
    assert_eq!(shape, vec![8, 8]);
    let diff: f64 = k
        .iter()
        .zip(&kinf)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm: f64 = kinf.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(
        (diff / norm - gap).abs() < 1e-12 * gap,
        "{} vs {gap}",
        diff / norm
    );
    let kinf = plstar::measure::kernel::TangentKernel { n: 8, values: kinf };
    let spectrum = plstar::measure::spectrum::dense_spectrum(&kinf).unwrap();
    let lambda_min = limit["lambda_min"].as_f64().unwrap();
    assert!((spectrum.lambda_min - lambda_min).abs() < 1e-12 * spectrum.lambda_max);
    for i in 0..8 {
        assert!(
            (kinf.get(i, i) - kinf.get(0, 0)).abs() < 1e-13,
            "diagonal {i}"
        );
        assert!(
            (0..8).all(|j| kinf.get(i, j) == kinf.get(j, i)),
            "row {i} not symmetric"
        );
    }
    let text = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.contains(&"kernel_infinite.npy".into()), "{files:?}");
    assert!(manifest["kernel_infinite"]
        .as_str()
        .unwrap()
        .contains("Theta_{l+1}"));
}

#[test]
fn ntk_infinite_says_why_an_architecture_has_no_limit_kernel_and_succeeds() {
    let dir = scratch("ntk-infinite-none");
    let sigmoid_output = WIDE_ERF.replace(
        "bias = true",
        "bias = true\noutput_activation = \"sigmoid\"",
    );
    let (stdout, report) = ntk_infinite(&dir, &sigmoid_output);
    let needle = "not available: output activation sigmoid is not the identity";
    assert!(stdout.contains("K∞") && stdout.contains(needle), "{stdout}");
    assert_eq!(report["infinite_width"]["status"], "unavailable");
    assert!(!dir.join("bundle/kernel_infinite.npy").exists());
}

#[test]
fn bench_writes_one_row_per_case_with_rates_against_gemm_and_times_a_card() {
    let dir = scratch("bench");
    let out = dir.join("out");
    let config = dir.join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    // An earlier build's bench.csv in the first format (no activation or input_dim: the tanh
    // grid, d = 64): one case of this run, timed at 10 s, and one that is not in it.
    let earlier = dir.join("before.csv");
    std::fs::write(
        &earlier,
        "backend,precision,depth,width,n,seconds,gflops,flops,peak_bytes\n\
         ndarray,f32,1,256,128,10.0,1,1,1\n\
         ndarray,f32,2,256,128,10.0,1,1,1\n",
    )
    .unwrap();
    let o = plstar(&[
        "bench",
        "--quick",
        "--repeats",
        "1",
        "--precisions",
        "f32",
        "--card",
        config.to_str().unwrap(),
        "--before",
        earlier.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("bench/bench.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows.len(),
        10,
        "quick grid: 2 n × 2 m × 2 L tanh, L=3 m=1024 n=512 relu, and the k = 10 output case"
    );
    let k10: Vec<&Vec<&str>> = rows.iter().filter(|f| f[col("outputs")] == "10").collect();
    assert_eq!(k10.len(), 1, "one k = 10 case");
    assert_eq!(
        (k10[0][col("depth")], k10[0][col("width")], k10[0][col("n")]),
        ("3", "1024", "512")
    );
    for f in &rows {
        assert_eq!(f[col("precision")], "f32");
        assert_eq!(
            f[col("gram_path")],
            "Host",
            "ndarray takes the CPU specialization"
        );
        for name in [
            "seconds",
            "kernel_gflops",
            "gemm_gflops",
            "gemm_faer_gflops",
            "extremes_seconds",
        ] {
            let v: f64 = f[col(name)].parse().unwrap();
            assert!(v > 0.0 && v.is_finite(), "{name} = {v}");
        }
        let peak: u64 = f[col("peak_bytes")].parse().unwrap();
        assert!(peak > 1 << 20);
    }
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("target L=3, m=1024, n=512"), "{stdout}");
    assert!(stdout.contains("card small"), "{stdout}");
    let speedups: Vec<&str> = stdout.lines().filter(|l| l.contains(" s → ")).collect();
    assert_eq!(speedups.len(), 1, "{stdout}");
    assert!(
        speedups[0].contains("ndarray f32 tanh L=1 m=256 n=128: 10.0000 s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("target f64 ≥ 2×") && stdout.contains("no f64 case"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench/bench.json")).unwrap())
            .unwrap();
    assert!(json["cards"][0]["seconds"].as_f64().unwrap() > 0.0);
    // A second benchmark into the same folder is refused at once, the first one untouched.
    let before = std::fs::read_to_string(out.join("bench/bench.csv")).unwrap();
    let again = plstar(&["bench", "--quick", "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--overwrite"), "{}", stderr(&again));
    // A missing or malformed --before file is refused before any case runs.
    for (file, message) in [
        (dir.join("missing.csv"), "cannot read"),
        (config.clone(), "no `backend` column"),
    ] {
        let bad = plstar(&[
            "bench",
            "--quick",
            "--overwrite",
            "--before",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(bad.status.code(), Some(1));
        assert!(stderr(&bad).contains(message), "{}", stderr(&bad));
    }
    assert_eq!(
        std::fs::read_to_string(out.join("bench/bench.csv")).unwrap(),
        before
    );
}

#[test]
fn ctrl_c_stops_a_run_cleanly_and_keeps_every_record() {
    let dir = scratch("ctrlc");
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        // target_loss = 0: the run cannot end by itself before the signal (with the default
        // 1e-8 a slow signal on a busy machine let it reach the target and exit 0).
        SMALL
            .replace("steps = 40", "steps = 10000000\ntarget_loss = 0.0")
            .replace("[model]", "[card]\nenabled = false\n\n[model]"),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args([
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.join("out/small/metrics.csv.partial");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&partial).map_or(0, |t| t.lines().count()) < 200 {
        assert!(start.elapsed().as_secs() < 120, "the run did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The shell's builtin kill: no procps needed.
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let csv = std::fs::read_to_string(dir.join("out/small/metrics.csv")).unwrap();
    let rows = csv.lines().count() - 1;
    assert!(rows >= 200, "{rows} records kept");
    assert!(!partial.exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/small/run.json")).unwrap())
            .unwrap();
    assert_eq!(json["status"], "interrupted");
    assert_eq!(json["final_step"].as_u64().unwrap() as usize, rows - 1);
}

#[test]
fn a_run_whose_linearized_model_overflows_finishes_with_verdicts_report_and_figures() {
    // η = 20 ≈ 4.4/λ_max(K₀) (λ_max ≈ 0.22 for SMALL): the network still converges (a
    // catapult), but the linearized model's residual grows like (1 − ηλ_max)^t ≈ 3.4^t and
    // overflows f64 near step 290. Drawing its loss on a log axis once spun forever inside
    // plotters' tick search (a range of more than 308 decades), with run.json left "running".
    let dir = scratch("lin_overflow");
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        SMALL.replace("[model]", "[card]\nenabled = false\n\n[model]"),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join("out").to_str().unwrap(),
            "--learning-rate",
            "20",
            "--steps",
            "1000",
            "--target-loss",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run takes well under a second; a hang fails here instead of blocking the suite.
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() > 120 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("train did not finish within 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = dir.join("out/small");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|&h| h == "loss_linearized").unwrap();
    assert!(
        csv.lines().skip(1).any(|l| l
            .split(',')
            .nth(column)
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| !v.is_finite())),
        "the test's premise: the linearized model's loss overflows"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_ne!(json["status"], "running");
    assert!(json["finished_at"].is_string(), "{json}");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("## Verdicts"), "{report}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("report.md"));
    for file in ["loss_vs_bound.svg", "loss_vs_bound.png"] {
        assert!(run.join(file).exists(), "{file}");
    }
    let svg = std::fs::read_to_string(run.join("loss_vs_bound.svg")).unwrap();
    assert!(
        svg.contains("non-finite value"),
        "the figure says what it left out"
    );
}

/// SMALL without its theorem card: a run of a fraction of a second.
fn small_without_card() -> String {
    SMALL.replace("[model]", "[card]\nenabled = false\n\n[model]")
}

#[test]
fn train_after_ntk_of_the_same_name_runs_and_overwrite_keeps_the_ntk_report() {
    // Issue 19: `ntk --name X` then `train --name X` was refused ("already holds a run"), and
    // `--overwrite` then deleted ntk/. They write to <out>/X/ntk/ and <out>/X/: no clash.
    let dir = scratch("ntk_then_train");
    let config = dir.join("run.toml");
    std::fs::write(&config, small_without_card()).unwrap();
    let out = dir.join("out");
    let ntk = plstar(&[
        "ntk",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--name",
        "x",
        "--no-hessian",
    ]);
    assert!(ntk.status.success(), "{}", stderr(&ntk));
    let ntk_json = out.join("x/ntk/ntk.json");
    let before = std::fs::read_to_string(&ntk_json).unwrap();
    let train = |extra: &[&str]| {
        train_in(
            &dir,
            &small_without_card(),
            &[&["--name", "x"][..], extra].concat(),
        )
    };
    let o = train(&[]);
    assert!(
        o.status.success(),
        "train beside an ntk report: {}",
        stderr(&o)
    );
    assert!(out.join("x/run.json").exists() && out.join("x/metrics.csv").exists());
    let o = train(&[]);
    assert!(
        !o.status.success(),
        "a second train of the same name is refused"
    );
    assert!(
        stderr(&o).contains("already holds a run") && stderr(&o).contains("--overwrite"),
        "{}",
        stderr(&o)
    );
    let o = train(&["--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&ntk_json).unwrap(),
        before,
        "--overwrite replaces train's files and keeps the ntk report"
    );
    assert!(out.join("x/run.json").exists());
}

#[test]
fn ntk_names_the_backend_and_the_kernel_method_in_plain_words() {
    // Was: `backend ndarray (f64), K by Structured` (a Rust enum's name).
    let dir = scratch("ntk_words");
    let config = dir.join("run.toml");
    std::fs::write(&config, SMALL).unwrap();
    let o = plstar(&[
        "ntk",
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
        "--no-hessian",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("backend ndarray, f64, CPU")
            && stdout.contains("K by the structured method"),
        "{stdout}"
    );
    assert!(!stdout.contains("Structured"), "{stdout}");
}

#[test]
fn strict_exits_3_on_a_failed_verdict_and_the_default_exits_0() {
    // Five steps cannot reach L ≤ 1e-12: the verdict "reached the target loss" is FAIL.
    let dir = scratch("strict");
    let args = ["--steps", "5", "--target-loss", "1e-12"];
    let o = train_in(&dir, &small_without_card(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("[FAIL] reached the target loss"),
        "the test's premise: a FAIL verdict"
    );
    let o = train_in(
        &dir,
        &small_without_card(),
        &[&args[..], &["--strict", "--overwrite"][..]].concat(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("reached the target loss"),
        "{}",
        stderr(&o)
    );
    assert!(
        dir.join("out/small/report.md").exists(),
        "the records are written either way"
    );
    // A run whose verdicts all hold (or do not apply) exits 0 under --strict.
    let o = train_in(
        &dir,
        &small_without_card(),
        &[
            "--steps",
            "5",
            "--target-loss",
            "1e3",
            "--strict",
            "--overwrite",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let help = String::from_utf8_lossy(&plstar(&["train", "--help"]).stdout).into_owned();
    assert!(
        help.contains("--strict") && help.contains("Exit status"),
        "{help}"
    );
}

/// Columns of `text` on a terminal: its characters less the combining marks (μ̂'s hat).
fn columns(text: &str) -> usize {
    text.chars()
        .filter(|&c| !('\u{0300}'..='\u{036F}').contains(&c))
        .count()
}

#[test]
fn the_train_screen_names_eta_from_the_flag_aligns_the_card_and_gives_the_reason_once() {
    // Issue 19: `η used … (config)` for an η from --learning-rate; `backend ndarray (f64,
    // ndarray)`; long card labels pushing their row's columns right; the card's reason for not
    // certifying printed three times (under the card and in two verdicts). Width 16 on n = 8
    // is far too narrow for a certificate.
    let dir = scratch("screen");
    let o = train_in(
        &dir,
        &SMALL.replace("[256]", "[16]"),
        &["--learning-rate", "0.5", "--steps", "20"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/small/summary.json")).unwrap())
            .unwrap();
    let card = &summary["card"];
    assert_eq!(
        card["certificate"]["certified"], false,
        "the test's premise"
    );
    let diagnosis = card["diagnosis"].as_str().unwrap();
    assert_eq!(stdout.matches(diagnosis).count(), 1, "{stdout}");
    assert!(stdout.contains("--learning-rate"), "{stdout}");
    assert!(!stdout.contains("(config)"), "{stdout}");
    assert!(stdout.contains("backend ndarray, f64, CPU"), "{stdout}");
    let card_lines: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("theorem card"))
        .skip(1)
        .take_while(|l| l.ends_with(']'))
        .collect();
    assert!(card_lines.len() >= 10, "{stdout}");
    let value_column = |l: &str| {
        // The value starts after the label's padding: the first run of two spaces past the
        // two-space indent.
        let body = &l[2..];
        let at = body.find("  ").unwrap();
        let rest = &body[at..];
        columns(&body[..at]) + columns(rest) - columns(rest.trim_start())
    };
    let source_column = |l: &str| columns(&l[..l.rfind('[').unwrap()]);
    for l in &card_lines {
        assert_eq!(value_column(l), value_column(card_lines[0]), "{stdout}");
        assert_eq!(source_column(l), source_column(card_lines[0]), "{stdout}");
    }
}

#[test]
fn report_md_escapes_a_bar_inside_a_table_cell() {
    // The card's row `ρ = min |σ_out'|` split its Markdown row into five cells.
    let dir = scratch("report_bars");
    let o = train_in(&dir, SMALL, &["--steps", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(dir.join("out/small/report.md")).unwrap();
    assert!(report.contains("min \\|σ_out'\\|"), "{report}");
    // Every row of a table has as many unescaped bars as its header.
    let bars = |l: &str| l.replace("\\|", "").matches('|').count();
    let mut header = None;
    for l in report.lines() {
        if !l.starts_with('|') {
            header = None;
            continue;
        }
        let want = *header.get_or_insert(bars(l));
        assert_eq!(bars(l), want, "{l}");
    }
}

#[test]
fn f64_on_wgpu_is_named_before_an_existing_folder() {
    // Validate the flags before the disk: the folder's clash came first and hid the real error.
    let dir = scratch("wgpu64_first");
    std::fs::create_dir_all(dir.join("out/small")).unwrap();
    std::fs::write(dir.join("out/small/run.json"), "{}").unwrap();
    let o = train_in(&dir, SMALL, &["--backend", "wgpu", "--precision", "f64"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("f64") && err.contains("--backend ndarray"),
        "{err}"
    );
    assert!(!err.contains("already holds"), "{err}");
}

#[test]
fn a_missing_config_file_lists_the_configs_that_come_with_plstar() {
    let dir = scratch("missing_suggest");
    let o = plstar(&[
        "train",
        "--config",
        "configs/defualt.toml",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("configs/defualt.toml")
            && err.contains("default.toml, ")
            && err.contains("wide.toml"),
        "{err}"
    );
    assert!(
        !err.contains("sweep-width.toml"),
        "a run config is asked for: {err}"
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn reproduce_help_states_the_tolerances_of_check() {
    // The --check help pointed to tolerances "in `plstar reproduce --help`", which had none.
    let o = plstar(&["reproduce", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in ["1e-9", "1e-6", "1e-3", "±1 step"] {
        assert!(
            help.contains(needle),
            "reproduce --help lacks {needle}: {help}"
        );
    }
    assert!(
        !help.contains("tolerances in `plstar reproduce --help`"),
        "{help}"
    );
}

#[test]
fn no_linearized_skips_the_linearized_model_and_a_log_names_each_card_stage() {
    // Issue 19 item 3: the linearized comparison (a dense eigendecomposition of K₀) can be
    // skipped, and off a terminal (a batch log) the card names each stage as it starts.
    let dir = scratch("no_linearized");
    let config = dir.join("run.toml");
    std::fs::write(&config, SMALL).unwrap();
    let out = dir.join("out");
    let o = plstar(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-linearized",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("theorem card: the tangent kernel K(w₀)"),
        "{err}"
    );
    assert!(err.contains("theorem card: searching B(w₀, r)"), "{err}");
    let metrics = std::fs::read_to_string(out.join("small/metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "loss_linearized").unwrap();
    for line in metrics.lines().skip(1) {
        assert_eq!(line.split(',').nth(col), Some(""), "{line}");
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("small/run.json")).unwrap())
            .unwrap();
    assert_eq!(run["config"]["train"]["linearized"], false);
}

/// A path under the repository root (configs/imported.toml, the weight fixtures).
fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn ntk_weights_evaluates_a_network_trained_elsewhere_and_refuses_a_mismatched_config() {
    use crate::model::import::{fixture, npy};
    let dir = scratch("ntk-weights");
    let out = dir.join("out");
    let config = repo("configs/imported.toml");
    let (k_numpy, _) = npy("kernel_k1.npy");
    let (f_numpy, _) = npy("outputs_k1.npy");
    for (file, layout) in [
        ("torch_k1.safetensors", "PyTorch state_dict layout"),
        ("flax_k1.safetensors", "Flax layout"),
    ] {
        let weights = fixture(file);
        let o = plstar(&[
            "ntk",
            "--config",
            &config,
            "--weights",
            weights.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--name",
            file,
            "--export",
            "--no-hessian",
        ]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let loaded = stdout.lines().next().unwrap_or_default();
        for needle in [
            "loaded",
            file,
            layout,
            "3 dense layers 3 → 5 → 4 → 1 with biases",
        ] {
            assert!(loaded.contains(needle), "{needle:?} not in {loaded:?}");
        }
        let bundle = out.join(file).join("ntk/bundle");
        let (k, _) = plstar::report::npy::read(&bundle.join("kernel.npy")).unwrap();
        let err = crate::relative_error(&k, &k_numpy);
        assert!(
            err <= crate::tol::IMPORTED_ORACLE,
            "{file}: K vs numpy {err:e}"
        );
        let (f, _) = plstar::report::npy::read(&bundle.join("outputs.npy")).unwrap();
        let err = crate::relative_error(&f, &f_numpy);
        assert!(
            err <= crate::tol::IMPORTED_ORACLE,
            "{file}: F vs numpy {err:e}"
        );
    }

    // The same file under a config whose [model] is another network: refused, nothing written.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("widths = [5, 4]", "widths = [6, 4]")
        .replace("../tests", &repo("tests"));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let torch = fixture("torch_k1.safetensors");
    let o = plstar(&[
        "ntk",
        "--config",
        bad.to_str().unwrap(),
        "--weights",
        torch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    for needle in [
        "model.widths",
        "`net.0.weight` has shape [5, 3]",
        "[6, 3]",
        "set widths = [5, 4]",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!out.join("bad").exists(), "a refused run writes nothing");

    let o = plstar(&[
        "ntk",
        "--config",
        &config,
        "--weights",
        torch.to_str().unwrap(),
        "--params",
        "parameters.npy",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

#[test]
fn train_weights_starts_from_the_network_trained_elsewhere() {
    use crate::model::import::{fixture, npy};
    let dir = scratch("train-weights");
    let out = dir.join("out");
    let weights = fixture("flax_k1.safetensors");
    let o = plstar(&[
        "train",
        "--config",
        &repo("configs/imported.toml"),
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--steps",
        "3",
        "--learning-rate",
        "0.05",
        "--no-card",
        "--no-linearized",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("loaded"));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("imported/run.json")).unwrap())
            .unwrap();
    assert!(run["initial_parameters"]
        .as_str()
        .unwrap()
        .ends_with("flax_k1.safetensors"));
    // L(w₀) = ½‖F − y‖² with numpy's outputs and the CSV's targets.
    let (f, _) = npy("outputs_k1.npy");
    let csv = std::fs::read_to_string(fixture("data.csv")).unwrap();
    let y: Vec<f64> = csv
        .lines()
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let expected = 0.5 * f.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    let initial = run["initial_loss"].as_f64().unwrap();
    assert!(
        (initial - expected).abs() <= crate::tol::IMPORTED_ORACLE * expected,
        "L(w₀) = {initial} vs numpy's {expected}"
    );
}

/// Issue 19 (a fresh clone), item 1: `ntk --export DIR` replaced the `kernel.npy` of a user's
/// folder that also held `notes.txt`, without `--overwrite`. Such a folder is now refused and
/// left untouched; with `--overwrite` the bundle is written there and `notes.txt` is kept, also
/// when an earlier bundle is replaced.
#[test]
fn ntk_export_into_a_folder_holding_files_needs_overwrite_and_keeps_files_plstar_did_not_write() {
    let dir = scratch("ntk-export-existing");
    let config = dir.join("run.toml");
    std::fs::write(&config, SMALL).unwrap();
    let mine = dir.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "my notes").unwrap();
    std::fs::write(mine.join("kernel.npy"), "my old kernel").unwrap();
    let out = dir.join("out");
    let ntk = |extra: &[&str]| {
        let mut args = vec![
            "ntk",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-hessian",
            "--export",
            mine.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        plstar(&args)
    };
    let o = ntk(&[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for needle in [
        "already holds files",
        "kernel.npy, notes.txt",
        "--overwrite",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert_eq!(
        std::fs::read_to_string(mine.join("kernel.npy")).unwrap(),
        "my old kernel"
    );
    assert!(!out.exists(), "a refused ntk writes nothing");

    for _ in 0..2 {
        let o = ntk(&["--overwrite"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (_, shape) = plstar::report::npy::read(&mine.join("kernel.npy")).unwrap();
        assert_eq!(shape, vec![8, 8]);
        assert!(mine.join("manifest.json").exists());
        assert_eq!(
            std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
            "my notes"
        );
    }
}

/// A sweep of two points, width 8 with an identity and a tanh output, one seed, `steps` GD steps
/// toward a target out of reach (`L = 0`).
fn two_point_sweep(path: &Path, steps: usize) {
    std::fs::write(
        path,
        format!(
            "name = \"mini\"\nseeds = [0]\n[grid]\nwidths = [8]\n\
             output_activations = [\"identity\", \"tanh\"]\n[base.model]\nwidths = [8]\n\
             [base.data]\nsource = \"sphere\"\nn = 4\ndim = 3\n[base.train]\nsteps = {steps}\n\
             learning_rate = 0.1\ntarget_loss = 0.0\n"
        ),
    )
    .unwrap();
}

/// Issue 19 (a fresh clone), items 10–12 and 14: `--shard 50/100` of a small grid exited 0 with
/// no rows; the progress line did not name the output activation and printed `steps -1`;
/// `merge` and `plot` given `<out>` instead of `<out>/<name>` said only "cannot read
/// shard0/sweep.json"; shards of different sweeps were refused without saying what differs;
/// `sweep --help` called every sweep a width sweep.
#[test]
fn sweep_shards_name_their_runs_refuse_empty_shards_and_merge_names_what_differs() {
    let dir = scratch("sweep-shards");
    let (a, b) = (dir.join("a.toml"), dir.join("b.toml"));
    two_point_sweep(&a, 30);
    two_point_sweep(&b, 20);
    let sweep = |config: &Path, out: &Path, shard: &str| {
        plstar(&[
            "sweep",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--shard",
            shard,
        ])
    };

    let empty = dir.join("empty");
    let o = sweep(&a, &empty, "5/10");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for needle in [
        "--shard 5/10",
        "gets no runs",
        "2 points",
        "at most 2 shards",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!empty.exists(), "a refused shard writes nothing");

    // Stderr is not a terminal here: one plain line per finished run.
    let (shard0, shard1) = (dir.join("shard0"), dir.join("shard1"));
    let o0 = sweep(&a, &shard0, "0/2");
    assert!(o0.status.success(), "{}", stderr(&o0));
    let o1 = sweep(&b, &shard1, "1/2");
    assert!(o1.status.success(), "{}", stderr(&o1));
    let lines = stderr(&o0) + &stderr(&o1);
    for needle in ["identity output", "tanh output", "target not reached"] {
        assert!(lines.contains(needle), "{needle:?} not in {lines}");
    }
    assert!(!lines.contains("steps -1"), "{lines}");
    assert!(shard0.join("mini/rows.shard-0-of-2.csv").exists());

    // <out> given for <out>/<name>: the sweep folder inside is suggested, by merge and plot.
    let merged = dir.join("merged");
    let hint = format!("did you mean {}?", shard0.join("mini").display());
    let o = plstar(&[
        "merge",
        "--out",
        merged.to_str().unwrap(),
        shard0.to_str().unwrap(),
        shard1.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&hint), "{}", stderr(&o));
    let o = plstar(&["plot", shard0.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&hint), "{}", stderr(&o));
    // One shard's folder draws its own rows, and says that they are part of the grid.
    let o = plstar(&["plot", shard0.join("mini").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let note = stderr(&o);
    assert!(
        note.contains("of the grid's") && note.contains("plstar merge"),
        "{note}"
    );

    // Shards of two sweep files: the field that differs is named.
    let o = plstar(&[
        "merge",
        "--out",
        merged.to_str().unwrap(),
        shard0.join("mini").to_str().unwrap(),
        shard1.join("mini").to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("base.train.steps: 30 vs 20"), "{err}");
    assert!(!merged.exists(), "a refused merge writes nothing");

    let help = String::from_utf8_lossy(&plstar(&["sweep", "--help"]).stdout).into_owned();
    assert!(!help.contains("width sweep"), "{help}");
    assert!(
        help.contains("widths, depths, sample counts and activations"),
        "{help}"
    );
}
