//! The `plstar` binary as a user sees it: outputs of a run, and the messages for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_plstar");

/// A fresh folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plstar-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plstar(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the plstar binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
    assert!(json["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(json["config"]["model"]["widths"][0] == 256);
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("step,loss,grad_norm_sq,distance_from_init")
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 41);
    assert!(
        rows[40][1] < 0.1 * rows[0][1],
        "loss decreases by an order of magnitude"
    );
    assert!(!run.join("metrics.csv.partial").exists());
    assert_eq!(json["final_loss"].as_f64().unwrap(), rows[40][1]);
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
    assert!(rows >= 1 && rows < 1000, "{rows} finite records kept");
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
