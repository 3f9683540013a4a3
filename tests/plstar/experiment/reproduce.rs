//! The reproduction's pipeline and its `--check` rules, called directly (no binary, no run):
//! the check against rows that differ, the plan of a resumed reproduction, and what a quick
//! reproduction moves into place and writes in its report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use plstar::experiment::landscape::LandscapeResult;
use plstar::experiment::reproduce::check::{compare, compare_sweep, CheckLine};
use plstar::experiment::reproduce::{landscape_config, Reproduction};
use plstar::model::backend::{BackendKind, Precision};
use plstar::report::rows::{read_rows, rows_text, SweepRow, TIMINGS_HEADER};

fn scratch(test: &str) -> PathBuf {
    crate::scratch("reproduce", test)
}

/// The committed width sweep's rows.
fn committed() -> Vec<SweepRow> {
    read_rows(Path::new("results/sweep-width/rows.csv")).expect("committed rows")
}

/// The names of the failing lines' columns (`(point, seed)` for rows not recomputed).
fn failing_columns(lines: &[CheckLine]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.passed())
        .map(|l| match l {
            CheckLine::Column { column, .. } => column.clone(),
            CheckLine::NotRecomputed { .. } => "(point, seed)".into(),
            other => format!("{other}"),
        })
        .collect()
}

#[test]
fn the_check_passes_identical_rows_and_names_every_column_that_differs_beyond_its_tolerance() {
    let old = committed();
    let same = compare_sweep("sweep-width", &old, &old);
    assert!(same.iter().all(CheckLine::passed), "{same:?}");
    assert!(same.len() > 20, "a line per compared column: {same:?}");
    // A row with a trained column 1% off (a relative difference 0.01/1.01), one whose step count moved by 2, one whose kernel
    // change moved by 1e-4 (within the trained tolerance 1e-3), and one row not recomputed.
    let i = old
        .iter()
        .position(|r| r.final_loss > 0.0 && r.steps_to_target > 0 && r.kernel_change > 0.0)
        .expect("a trained row");
    let mut new = old.clone();
    new[i].final_loss *= 1.01;
    new[i].steps_to_target += 2;
    new[i].kernel_change *= 1.0 + 1e-4;
    new.pop();
    let lines = compare_sweep("sweep-width", &old, &new);
    assert_eq!(
        failing_columns(&lines),
        ["(point, seed)", "final_loss", "steps_to_target"]
    );
    let final_loss = lines
        .iter()
        .find(|l| matches!(l, CheckLine::Column { column, .. } if column == "final_loss"))
        .unwrap();
    let text = final_loss.to_string();
    assert!(
        text.starts_with("sweep-width") && text.contains("9.9e-3") && text.ends_with("FAIL"),
        "{text}"
    );
    assert_eq!(
        failing_columns(&compare_sweep("sweep-width", &[], &new)),
        ["sweep-width    no committed rows to compare with: FAIL"]
    );
}

#[test]
fn the_check_reads_the_staged_rows_and_the_landscape_against_the_committed_ones() {
    let dir = scratch("check");
    let old = committed();
    let radii: Vec<f64> = old[0].mu_at.iter().map(|m| m.0).collect();
    let landscape: LandscapeResult =
        serde_json::from_str(&std::fs::read_to_string("results/landscape/landscape.json").unwrap())
            .unwrap();
    let stage = |rows: &[SweepRow]| {
        std::fs::create_dir_all(dir.join("sweep-width")).unwrap();
        std::fs::write(dir.join("sweep-width/rows.csv"), rows_text(&radii, rows)).unwrap();
        compare(
            Path::new("results"),
            &dir,
            &["sweep-width"],
            "landscape",
            &landscape,
        )
        .unwrap()
    };
    let check = stage(&old);
    assert!(check.passed(), "{check}");
    let table = check.to_string();
    assert!(table.starts_with("sweep "), "{table}");
    assert!(table.contains("landscape      barrier"), "{table}");
    assert!(table
        .trim_end()
        .ends_with("check: PASS — the recomputed numbers agree with the committed ones"));
    let mut moved = old.clone();
    moved[0].lambda_max0 *= 1.0 + 1e-6;
    let check = stage(&moved);
    assert!(!check.passed());
    assert_eq!(failing_columns(&check.lines), ["lambda_max0"]);
    assert!(check
        .to_string()
        .trim_end()
        .ends_with("check: FAIL — see the rows above"));
    // A landscape measure that moved beyond the trained tolerance fails too.
    let mut other = landscape.clone();
    other.measures.barrier *= 1.1;
    let check = compare(Path::new("results"), &dir, &[], "landscape", &other).unwrap();
    assert_eq!(failing_columns(&check.lines), ["barrier"]);
}

#[test]
fn a_quick_reproduction_plans_what_is_left_moves_its_folders_into_place_and_reports_beside_them() {
    let out = scratch("quick");
    let reproduction = Reproduction {
        out: out.clone(),
        quick: true,
        resume: true,
        check: false,
        backend: BackendKind::Ndarray,
        precision: Precision::F64,
    };
    assert_eq!(reproduction.staging(), out.join(".reproduce"));
    assert_eq!(reproduction.report_path(), out.join("REPORT-quick.md"));
    let sweeps = reproduction.sweeps().unwrap();
    let names: Vec<String> = sweeps.iter().map(|(_, s)| s.name.clone()).collect();
    assert_eq!(
        names,
        ["sweep-width-quick", "sweep-depth-quick", "sweep-pn-quick"]
    );
    // The new user's finding 6: the quick landscape went to the committed `landscape/`.
    assert_eq!(reproduction.landscape().unwrap().name, "landscape-quick");
    // One run of the width sweep already staged (point 0, seed 0): the plan leaves it out.
    let staged = reproduction.staging().join("sweep-width-quick");
    std::fs::create_dir_all(&staged).unwrap();
    let row = committed()
        .into_iter()
        .find(|r| (r.point, r.seed) == (0, 0))
        .unwrap();
    std::fs::write(
        staged.join("rows.csv"),
        rows_text(&sweeps[0].1.mu_radii, &[row]),
    )
    .unwrap();
    let runs: Vec<usize> = sweeps
        .iter()
        .map(|(_, s)| s.points().len() * s.seeds.len())
        .collect();
    let plan = reproduction.plan(sweeps).unwrap();
    let todo: Vec<usize> = plan.iter().map(|p| p.todo.len()).collect();
    assert_eq!(todo, [runs[0] - 1, runs[1], runs[2]]);
    // Every staged folder (the sweeps' and the landscape's) moves into place, replacing what
    // was there; the full grid's REPORT.md is left alone.
    let landscape = landscape_config().unwrap();
    for name in names
        .iter()
        .map(String::as_str)
        .chain([landscape.name.as_str()])
    {
        let dir = reproduction.staging().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("timings.csv"),
            format!("{TIMINGS_HEADER}\n0,0,1.5\n0,1,2.5\n"),
        )
        .unwrap();
        std::fs::create_dir_all(out.join(name)).unwrap();
        std::fs::write(out.join(name).join("old"), "replaced").unwrap();
    }
    std::fs::write(out.join("REPORT.md"), "the full grid's\n").unwrap();
    let sections = "## Sweep `sweep-width-quick`\n\n![a](sweep-width-quick/a.svg)\n\n";
    let written = reproduction
        .finish(&plan, &landscape, sections, Instant::now())
        .unwrap();
    let mut expected: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    expected.extend([out.join(&landscape.name), out.join("REPORT-quick.md")]);
    assert_eq!(written, expected);
    assert!(
        !reproduction.staging().exists(),
        "the staging folder is removed"
    );
    for dir in &expected[..4] {
        assert!(
            dir.join("timings.csv").exists() && !dir.join("old").exists(),
            "{dir:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("REPORT.md")).unwrap(),
        "the full grid's\n"
    );
    let report = std::fs::read_to_string(out.join("REPORT-quick.md")).unwrap();
    assert!(
        report.starts_with("# plstar: reproduced figures\n"),
        "{report}"
    );
    assert!(
        report.contains("· backend ndarray (f64) · quick grid ·"),
        "{report}"
    );
    assert!(
        report.contains(sections),
        "the sections, as given: {report}"
    );
    // The cost sums the three sweeps' timings (not the landscape's): 6 runs, 12 s.
    assert!(
        report.contains("Cost: 6 sweep runs, 12 s of run time in all"),
        "{report}"
    );
    assert!(report.contains("(resumed:"), "{report}");
}
