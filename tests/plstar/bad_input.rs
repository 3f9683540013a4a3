//! Bad input refused up front, with the key and the fix, a non-zero exit and nothing written;
//! and the inputs that look odd but are valid (a byte-order mark, `steps = 0`).

use std::path::Path;

use crate::{plstar, stderr};

/// A sweep file with `name` and `seeds`, and nothing else out of the ordinary.
fn sweep_file(dir: &Path, name: &str, seeds: &str, widths: &str) -> String {
    let path = dir.join("s.toml");
    std::fs::write(
        &path,
        format!(
            "name = {name:?}\nseeds = {seeds}\n[grid]\nwidths = {widths}\n[base.model]\nwidths = [8]\n\
             [base.data]\nsource = \"sphere\"\nn = 4\ndim = 3\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `plstar sweep` on the file and checks the refusal: exit 1, `needles` in the message,
/// the output root never created.
fn refused_sweep(test: &str, name: &str, seeds: &str, widths: &str, needles: &[&str]) {
    let dir = crate::scratch("bad", test);
    let file = sweep_file(&dir, name, seeds, widths);
    let out = dir.join("out");
    let o = plstar(&[
        "sweep",
        "--config",
        &file,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for needle in needles {
        assert!(
            stderr(&o).contains(needle),
            "{needle:?} not in {}",
            stderr(&o)
        );
    }
    assert!(!out.exists(), "a refused sweep writes nothing");
}

#[test]
fn a_sweep_name_that_leaves_its_folder_is_refused() {
    refused_sweep(
        "name-dotdot",
        "..",
        "[0]",
        "[8]",
        &["name", "not a valid name"],
    );
    refused_sweep("name-slash", "a/b", "[0]", "[8]", &["not a valid name"]);
    refused_sweep("name-empty", "", "[0]", "[8]", &["not a valid name"]);
}

#[test]
fn duplicate_or_empty_grid_lists_and_seeds_are_refused() {
    refused_sweep(
        "dup-seeds",
        "s",
        "[0, 0]",
        "[8]",
        &["seeds", "appears twice"],
    );
    refused_sweep(
        "dup-widths",
        "s",
        "[0]",
        "[8, 16, 8]",
        &["grid.widths", "appears twice"],
    );
    refused_sweep(
        "no-widths",
        "s",
        "[0]",
        "[]",
        &["grid.widths", "at least one"],
    );
    refused_sweep("no-seeds", "s", "[]", "[8]", &["seeds", "at least one"]);
}

/// A run config on `data` (a `[data]` section) with `steps`.
fn run_file(dir: &Path, data: &str, steps: usize) -> String {
    let path = dir.join("run.toml");
    std::fs::write(
        &path,
        format!("name = \"r\"\n[model]\nwidths = [16]\n[data]\n{data}\n[train]\nsteps = {steps}\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_csv_with_a_byte_order_mark_is_read_and_steps_zero_is_a_card_only_run() {
    let dir = crate::scratch("bad", "bom");
    std::fs::write(
        dir.join("d.csv"),
        "\u{feff}a,b,y\n1,2,0.5\n4,5,-0.5\n7,8,0.25\n",
    )
    .unwrap();
    let file = run_file(&dir, "source = \"csv\"\npath = \"d.csv\"\nheader = true", 0);
    let out = dir.join("out");
    let train = |extra: &[&str]| {
        let base = [
            "train",
            "--config",
            &file,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        plstar(&[&base[..], extra].concat())
    };
    let o = train(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A card-only run asked for no step: "reached the target loss" is not applicable (it
    // failed, and --strict exited 3, on a run that never tried).
    let strict = train(&["--overwrite", "--strict"]);
    assert!(strict.status.success(), "{}", stderr(&strict));
    let run = out.join("r");
    let report = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(
        report.contains("a step budget of 0 (a card-only run)"),
        "{report}"
    );
    for file in ["metrics.csv", "summary.json", "report.md", "run.json"] {
        assert!(run.join(file).exists(), "{file} missing");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "half-written files left: {leftovers:?}"
    );
    // One record (t = 0): no kernel-regime claim can be made from it.
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert!(
        json["verdicts"]["max_linearization_gap"].is_null(),
        "{summary}"
    );
}

#[test]
fn a_second_run_into_the_same_folder_is_refused_without_overwrite() {
    let dir = crate::scratch("bad", "clobber");
    let file = run_file(&dir, "source = \"sphere\"\nn = 4\ndim = 3", 5);
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let first = plstar(&["train", "--config", &file, "--out", out, "--quiet"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = std::fs::read_to_string(dir.join("out/r/run.json")).unwrap();
    let again = plstar(&["train", "--config", &file, "--out", out, "--quiet"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--overwrite"), "{}", stderr(&again));
    assert_eq!(
        std::fs::read_to_string(dir.join("out/r/run.json")).unwrap(),
        before,
        "the first run is untouched"
    );
    let replaced = plstar(&[
        "train",
        "--config",
        &file,
        "--out",
        out,
        "--quiet",
        "--overwrite",
    ]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
}

/// Runs `plstar train` on `widths` and checks the refusal: exit 1, `needle` in the message, no
/// output folder.
fn refused_size(test: &str, widths: &str, extra: &[&str], needle: &str) {
    let dir = crate::scratch("bad", test);
    let path = dir.join("run.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"r\"\n[model]\nwidths = {widths}\n[data]\nsource = \"sphere\"\nn = 4\ndim = 3\n"
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let mut args = vec!["train", "--config", path.to_str().unwrap(), "--out"];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    let o = plstar(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(needle),
        "{needle:?} not in {}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(!out.exists(), "a refused size writes nothing");
}

#[test]
fn absurd_sizes_are_refused_before_any_work_with_the_numbers() {
    // A billion units: p = 4e9 needs about a terabyte; refused from the estimate, not by an
    // allocation failure minutes later.
    refused_size("billion", "[1000000000]", &[], "needs ≈");
    // Widths whose parameter count overflows 64 bits: refused by name, no panic.
    refused_size(
        "overflow",
        "[9223372036854775807, 9223372036854775807]",
        &[],
        "overflows a 64-bit integer",
    );
    // A small net under a tiny explicit limit: the flag is honoured.
    refused_size(
        "limit",
        "[64]",
        &["--memory-limit", "0.00001"],
        "--memory-limit",
    );
}

/// Runs `plstar <command>` on the run config `toml` and checks the refusal: exit 1, every
/// needle in the message, no allocation abort or panic, nothing written.
fn refused_run(test: &str, command: &str, toml: &str, needles: &[&str]) {
    let dir = crate::scratch("bad", test);
    let path = dir.join("run.toml");
    std::fs::write(&path, toml).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        command,
        "--config",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if command == "train" {
        args.push("--quiet");
    }
    let o = plstar(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!err.contains("memory allocation"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "a refused run writes nothing");
}

/// Issue 18, fault 10: the data set is in the memory check, which runs before it is built.
/// n = 10¹⁰ points on S² (3.2e11 bytes of f64) and d = 2·10⁹ (the inputs and the teacher's
/// 32 × d weights, 5.9e11 bytes) used to abort with "memory allocation of … bytes failed".
#[test]
fn data_sets_larger_than_memory_are_refused_with_the_estimate_not_an_abort() {
    refused_run(
        "huge-n",
        "train",
        "name = \"r\"\n[model]\nwidths = [16]\n[data]\nsource = \"sphere\"\nn = 10000000000\n\
         dim = 3\n",
        &["data.n", "n = 10000000000", "needs ≈", "reduce data.n"],
    );
    refused_run(
        "huge-dim",
        "ntk",
        "name = \"r\"\n[model]\nwidths = [16]\n[data]\nsource = \"sphere\"\nn = 4\n\
         dim = 2000000000\n",
        &[
            "data.dim",
            "d = 2000000000",
            "needs ≈",
            "reduce data.n or data.dim",
        ],
    );
    // d = n = 10¹⁰ orthonormal inputs: n² = 10²⁰ overflows usize, and is refused by its size.
    refused_run(
        "huge-orthogonal",
        "ntk",
        "name = \"r\"\n[model]\nwidths = [16]\n[data]\nsource = \"orthogonal\"\n\
         n = 10000000000\n",
        &["data.n", "needs ≈"],
    );
}

/// Issue 18, fault 7: `steps = 0` without the card computes nothing; it is refused with the
/// reason instead of exiting 0 (with the card it is a card-only run, accepted above).
#[test]
fn steps_zero_without_the_card_is_refused_with_the_reason() {
    refused_run(
        "steps-zero-no-card",
        "train",
        "name = \"r\"\n[model]\nwidths = [16]\n[data]\nsource = \"sphere\"\nn = 4\ndim = 3\n\
         [train]\nsteps = 0\nlearning_rate = 0.1\n[card]\nenabled = false\n",
        &[
            "train.steps = 0 with card.enabled = false computes nothing",
            "set steps ≥ 1 or enable the card",
        ],
    );
}

#[test]
fn a_parameter_file_with_nan_is_refused_by_index_before_any_report() {
    let dir = crate::scratch("bad", "nan-params");
    let file = run_file(&dir, "source = \"sphere\"\nn = 4\ndim = 3", 5);
    // p = 3·16 + 16 = 64 for widths [16] on d = 3, no bias.
    let mut w = vec![0.1; 64];
    w[7] = f64::NAN;
    let npy = dir.join("w.npy");
    plstar::report::npy::write(&npy, &w, &[64]).unwrap();
    let out = dir.join("out");
    let o = plstar(&[
        "ntk",
        "--config",
        &file,
        "--params",
        npy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("parameter 7 is NaN"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");
}

/// With the Vulkan loader pointed at no driver, `--backend wgpu` is refused by wgpu's own adapter
/// query: exit 1, the clean message with the fix, no panic text (the probe no longer catches a
/// panic), and nothing written.
#[test]
fn a_missing_gpu_adapter_is_refused_without_a_panic() {
    let dir = crate::scratch("bad", "no-adapter");
    let out = dir.join("out");
    let o = std::process::Command::new(crate::BIN)
        .args(["train", "--config"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/default.toml"))
        .args(["--backend", "wgpu", "--quiet", "--out"])
        .arg(&out)
        .env("VK_ICD_FILENAMES", dir.join("no-driver.json"))
        .env("VK_DRIVER_FILES", dir.join("no-driver.json"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no usable GPU adapter"), "{err}");
    assert!(err.contains("--backend ndarray"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "a refused run writes nothing");
}

/// Issue 19, item 2: `classes = [0, 1, …, 9]` was accepted and truncated to `[0, 1]`. A list is
/// read whole (ten classes give ten targets per sample); one that repeats a class is refused by
/// the binary, naming the key and the value, before writing anything.
#[test]
fn a_digit_class_list_with_a_repeated_class_is_refused_not_truncated() {
    refused_run(
        "repeated-class",
        "train",
        "name = \"r\"\n[model]\nwidths = [16]\n[data]\nsource = \"digits\"\n\
         classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3]\n",
        &[
            "data.classes",
            "lists digit 3 twice in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3]",
        ],
    );
}

/// Issue 19, item 2: `run.json` of a CSV run said `"normalize": null` and `"target_column":
/// null` while the inputs were scaled to unit length and the last column was the target. Both
/// records (`run.json`, `summary.json`) now hold the values used.
#[test]
fn run_json_of_a_csv_run_records_the_resolved_normalize_and_target_column() {
    let dir = crate::scratch("bad", "resolved-csv");
    std::fs::write(dir.join("d.csv"), "3,4,0.5\n1,0,-0.5\n0,2,0.25\n").unwrap();
    let path = dir.join("run.toml");
    std::fs::write(
        &path,
        "name = \"r\"\n[model]\nwidths = [16]\n[data]\nsource = \"csv\"\npath = \"d.csv\"\n\
         [train]\nsteps = 3\nlearning_rate = 0.1\n[card]\nenabled = false\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = plstar(&[
        "train",
        "--config",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in ["run.json", "summary.json"] {
        let text = std::fs::read_to_string(out.join("r").join(file)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let data = &json["config"]["data"];
        assert_eq!(data["normalize"], "sphere", "{file}: {data}");
        assert_eq!(data["target_column"], 2, "{file}: {data}");
        assert_eq!(data["header"], false, "{file}: {data}");
        assert_eq!(data["n"], 3, "{file}: {data}");
    }
}

/// Issue 19 (a fresh clone), item 7: a refused value that a flag gave was blamed on the config
/// file (`invalid config FILE: train.learning_rate: … got 0` while the file says 1.0). The
/// message now names the flag, its value and the key it overrides, and not the file as the
/// culprit. `--target-loss -1` (item 8) reaches the same check instead of clap's "unexpected
/// argument".
#[test]
fn a_refused_flag_value_is_named_as_the_flags_not_the_files() {
    let dir = crate::scratch("bad", "flag-blame");
    let file = run_file(&dir, "source = \"sphere\"\nn = 4\ndim = 3", 5);
    let out = dir.join("out");
    for (flag, value, needle) in [
        (
            "--learning-rate",
            "0",
            "--learning-rate 0 (overrides train.learning_rate of ",
        ),
        ("--name", "a/b", "--name a/b (overrides name of "),
        (
            "--target-loss",
            "-1",
            "--target-loss -1 (overrides train.target_loss of ",
        ),
    ] {
        let o = plstar(&[
            "train",
            "--config",
            &file,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            flag,
            value,
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(err.contains(needle) && err.contains(&file), "{flag}: {err}");
        assert!(!err.contains("invalid config"), "{flag}: {err}");
    }
    // A message that rests on a key another flag set says so.
    let o = plstar(&[
        "train",
        "--config",
        &file,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--steps",
        "0",
        "--no-card",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--steps 0 (overrides train.steps of "),
        "{err}"
    );
    assert!(err.contains("card.enabled comes from --no-card"), "{err}");
    assert!(!out.exists(), "a refused run writes nothing");
}

/// Issue 19 (a fresh clone), item 8: `--seed -1`, `--steps -1` and `--memory-limit -3` gave
/// clap's "unexpected argument '-1' found". Each now names the flag and the valid range.
#[test]
fn negative_numbers_to_numeric_flags_name_the_flag_and_the_range() {
    let dir = crate::scratch("bad", "negative-flags");
    let file = run_file(&dir, "source = \"sphere\"\nn = 4\ndim = 3", 5);
    let out = dir.join("out");
    let train = |flag: &str, value: &str| {
        plstar(&[
            "train",
            "--config",
            &file,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            flag,
            value,
        ])
    };
    for (flag, needle) in [
        (
            "--seed",
            "a seed is a whole number from 0 to 18446744073709551615",
        ),
        ("--steps", "must be a whole number from 0 to"),
    ] {
        let o = train(flag, "-1");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag}: {err}");
        assert!(
            err.contains(&format!("'{flag}")) && err.contains(needle),
            "{flag}: {err}"
        );
        assert!(!err.contains("unexpected argument"), "{flag}: {err}");
    }
    let o = train("--memory-limit", "-3");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--memory-limit -3: must be a number of GiB > 0"),
        "{err}"
    );
    assert!(!out.exists(), "a refused run writes nothing");
}

/// Issue 19 (a fresh clone), item 9: a `--params` file that is not `.npy`, or holds int64, got
/// the "p = … pass the parameters.npy" hint twice, a fake `:0` location and the p-mismatch
/// prefix. Each case is now one message; only a wrong element count speaks of `p`.
#[test]
fn a_parameter_file_of_the_wrong_kind_gets_one_message_naming_what_is_wrong() {
    let dir = crate::scratch("bad", "params-kind");
    let file = run_file(&dir, "source = \"sphere\"\nn = 4\ndim = 3", 5);
    let text = dir.join("w.txt");
    std::fs::write(&text, "0.1 0.2 0.3\n").unwrap();
    // p = 3·16 + 16 = 64: the same bytes declared int64.
    let int64 = dir.join("w-int64.npy");
    let mut bytes = plstar::report::npy::encode(&[0.0; 64], &[64]);
    let at = bytes.windows(3).position(|w| w == b"<f8").unwrap();
    bytes[at..at + 3].copy_from_slice(b"<i8");
    std::fs::write(&int64, bytes).unwrap();
    let short = dir.join("w-short.npy");
    plstar::report::npy::write(&short, &[0.1; 3], &[3]).unwrap();
    let out = dir.join("out");
    for (path, needles, about_p) in [
        (&text, &["w.txt: not a .npy file", "np.save"][..], false),
        (
            &int64,
            &[
                "w-int64.npy: dtype \"<i8\" is not supported",
                "float32 and float64",
            ][..],
            false,
        ),
        (&short, &["shape [3]", "p = 64"][..], true),
    ] {
        let o = plstar(&[
            "ntk",
            "--config",
            &file,
            "--params",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
        assert!(!err.contains(":0:"), "{err}");
        assert!(err.matches("pass the parameters.npy").count() <= 1, "{err}");
        assert_eq!(err.contains("p = 64"), about_p, "{err}");
        assert_eq!(err.lines().count(), 1, "one message: {err}");
    }
    assert!(!out.exists(), "nothing written");
}

/// Issue 19 (a fresh clone), item 15: `train --config configs/sweep-width.toml` said "unknown
/// field `seeds`", and `sweep` on a run config "unknown field `seed`" with the path twice. The
/// wrong kind of file is now named with the command that reads it, and a sweep file's own
/// parse error names its path once.
#[test]
fn a_sweep_file_given_to_train_and_a_run_config_given_to_sweep_name_the_right_command() {
    let dir = crate::scratch("bad", "wrong-kind");
    let sweep = sweep_file(&dir, "s", "[0]", "[8]");
    let run = run_file(&dir, "source = \"sphere\"\nn = 4\ndim = 3", 5);
    let out = dir.join("out");
    let o = plstar(&["train", "--config", &sweep, "--out", out.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is a sweep config") && err.contains("plstar sweep --config"),
        "{err}"
    );
    assert!(!err.contains("unknown field"), "{err}");
    let o = plstar(&["sweep", "--config", &run, "--out", out.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is a run config") && err.contains("plstar train --config"),
        "{err}"
    );
    assert!(!err.contains("unknown field"), "{err}");

    let text = std::fs::read_to_string(&sweep).unwrap();
    std::fs::write(&sweep, text.replace("seeds = [0]", "seeds = [0]\nsead = 1")).unwrap();
    let o = plstar(&["sweep", "--config", &sweep, "--out", out.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown field `sead`"), "{err}");
    assert_eq!(
        err.matches(sweep.as_str()).count(),
        1,
        "the path once: {err}"
    );
    assert!(!out.exists(), "a refused command writes nothing");
}

/// `reproduce --check` refuses before any work when there is nothing to compare with (an empty
/// `--out`: it used to recompute all 48 runs first, then fail), and when the committed rows were
/// computed in another precision (f64 in `results/`, an f32 check would fail every kernel column
/// on round-off); both name the fix, and neither leaves a staging folder.
#[test]
fn reproduce_check_without_committed_rows_or_in_another_precision_is_refused_up_front() {
    let dir = crate::scratch("bad", "check-empty");
    let out = dir.to_str().unwrap();
    let empty = plstar(&["reproduce", "--check", "--out", out, "--quiet"]);
    assert_eq!(empty.status.code(), Some(1), "{}", stderr(&empty));
    let text = stderr(&empty);
    assert!(
        text.contains("holds no sweep rows") && text.contains("without --check"),
        "{text}"
    );
    assert!(!dir.join(".reproduce-check").exists());
    let f32_check = plstar(&["reproduce", "--check", "--precision", "f32", "--quiet"]);
    assert_eq!(f32_check.status.code(), Some(1), "{}", stderr(&f32_check));
    let text = stderr(&f32_check);
    assert!(
        text.contains("ndarray f64") && text.contains("--precision f64"),
        "{text}"
    );
    assert!(!Path::new("results/.reproduce-check").exists());
}
