//! Figures drawn from any data: non-finite, zero, negative, empty, constant or absurdly wide
//! series come back promptly, with both files written and a note naming what was not drawn.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use plotters::style::RGBColor;
use plstar::report::figures::{save, training::training_figures, Curve, Drawing, LineChart};

/// Longer than any drawing takes (a fraction of a second); a drawing that loops fails here.
const DRAW_LIMIT: Duration = Duration::from_secs(60);

fn scratch(test: &str) -> PathBuf {
    crate::scratch("figures", test)
}

fn curve(label: &str, points: Vec<(f64, f64)>, color: RGBColor, dashed: bool) -> Curve {
    Curve {
        label: label.into(),
        points,
        color,
        dashed,
        error_bars: vec![],
    }
}

/// The curve of the issue, {0, ∞, NaN, 1e-300, 1e300}, an all-NaN curve and an empty one.
fn hostile_curves() -> Vec<Curve> {
    let hostile = [0.0, f64::INFINITY, f64::NAN, 1e-300, 1e300];
    vec![
        curve(
            "0, ∞, NaN, 1e-300, 1e300",
            hostile
                .iter()
                .enumerate()
                .map(|(i, &y)| (i as f64, y))
                .collect(),
            RGBColor(0, 114, 178),
            false,
        ),
        curve(
            "all NaN",
            (0..3).map(|i| (i as f64, f64::NAN)).collect(),
            RGBColor(213, 94, 0),
            true,
        ),
        curve("empty", vec![], RGBColor(0, 158, 115), false),
    ]
}

fn chart(title: &str, log_x: bool, log_y: bool, curves: Vec<Curve>) -> LineChart {
    LineChart {
        title: title.into(),
        x_label: "x".into(),
        y_label: "y".into(),
        log_y,
        log_x,
        curves,
    }
}

/// Saves `chart` on another thread and fails if it takes longer than [`DRAW_LIMIT`].
fn save_in_bounded_time(chart: LineChart, dir: &Path, stem: &str) -> Drawing {
    let (send, receive) = mpsc::channel();
    let (dir, stem_owned) = (dir.to_path_buf(), stem.to_string());
    std::thread::spawn(move || {
        let _ = send.send(save(&chart, &dir, &stem_owned).map_err(|e| e.to_string()));
    });
    let drawing = receive
        .recv_timeout(DRAW_LIMIT)
        .unwrap_or_else(|_| panic!("{stem}: drawing did not return within {DRAW_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("{stem}: {e}"));
    for path in &drawing.paths {
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        assert!(len > 2000, "{}: {len} bytes", path.display());
    }
    assert_eq!(drawing.paths.len(), 2, "{stem}: an SVG and a PNG");
    drawing
}

#[test]
fn non_finite_zero_and_extreme_values_on_a_log_axis_are_left_out_and_named() {
    let dir = scratch("log");
    let drawing = save_in_bounded_time(
        chart("hostile values, log y", false, true, hostile_curves()),
        &dir,
        "hostile_log",
    );
    let note = drawing.note.clone().expect("a note on what was left out");
    // ∞, NaN and the three NaN of the second curve; the 0; 1e-300 and 1e300 are 600 decades
    // apart, so the axis keeps 40 decades around one of them and leaves the other out.
    for needle in [
        "5 points with a non-finite value (NaN or ±∞)",
        "1 point with a value ≤ 0 on a log axis",
        "1 point outside the drawn range",
        "at most 40 decades",
    ] {
        assert!(note.contains(needle), "{needle:?} not in {note:?}");
    }
    assert!(drawing
        .caption("Caption.")
        .starts_with("Caption. Not drawn: "));
    // The same values on both axes of a log-log chart.
    let both = hostile_curves()
        .into_iter()
        .map(|mut c| {
            c.points = c.points.iter().map(|&(_, y)| (y, y)).collect();
            c
        })
        .collect();
    let drawing = save_in_bounded_time(
        chart("hostile values, log-log", true, true, both),
        &dir,
        "hostile_log_log",
    );
    assert!(drawing
        .note
        .unwrap()
        .contains("5 points with a non-finite value"));
}

#[test]
fn non_finite_values_on_a_linear_axis_are_left_out_and_named() {
    let dir = scratch("linear");
    let drawing = save_in_bounded_time(
        chart("hostile values, linear y", false, false, hostile_curves()),
        &dir,
        "hostile_linear",
    );
    let note = drawing.note.clone().expect("a note on what was left out");
    assert_eq!(
        note, "Not drawn: 5 points with a non-finite value (NaN or ±∞).",
        "0, 1e-300 and 1e300 are drawn on a linear axis"
    );
}

#[test]
fn a_chart_with_nothing_to_draw_still_writes_its_files_and_says_so() {
    let dir = scratch("nothing");
    for (log_x, log_y) in [(false, false), (false, true), (true, true)] {
        let curves = hostile_curves().into_iter().skip(1).collect();
        let stem = format!("nothing_{log_x}_{log_y}");
        let drawing = save_in_bounded_time(chart("nothing", log_x, log_y, curves), &dir, &stem);
        let note = drawing.note.unwrap();
        assert!(
            note.starts_with("Nothing to draw. Not drawn: 3 points with a non-finite value"),
            "{note}"
        );
    }
}

#[test]
fn constant_single_and_huge_ranges_draw_on_every_axis_kind() {
    let dir = scratch("degenerate");
    let cases: [(&str, Vec<(f64, f64)>); 7] = [
        ("one point", vec![(3.0, 2.0)]),
        ("all zero", vec![(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]),
        ("all 1e300", vec![(1e300, 1e300), (1e300, 1e300)]),
        ("subnormal", vec![(1.0, 5e-324), (2.0, 1e-310)]),
        ("±1e300", vec![(-1e300, -1e300), (1e300, 1e300)]),
        ("1e15 + 0.1", vec![(1e15, 1e15), (1e15 + 0.1, 1e15 + 0.1)]),
        ("f64::MAX", vec![(1.0, f64::MAX), (2.0, f64::MIN_POSITIVE)]),
    ];
    for (i, (name, points)) in cases.into_iter().enumerate() {
        for (log_x, log_y) in [(false, false), (false, true), (true, false), (true, true)] {
            let c = chart(
                name,
                log_x,
                log_y,
                vec![curve(name, points.clone(), RGBColor(0, 0, 0), false)],
            );
            save_in_bounded_time(c, &dir, &format!("case{i}_{log_x}_{log_y}"));
        }
    }
}

/// A run's `metrics.csv` and `summary.json` in `dir`: the loss falls 33 decades while the
/// linearized model's loss grows by `(1 − ηλ)^{2t}`, overflowing to `inf` (then NaN).
fn overflowing_run(dir: &Path) {
    let mut csv = String::from("step,loss,distance_from_init,loss_bound,loss_linearized\n");
    for t in 0..=2000 {
        let loss = 10f64.powf(-(t as f64) * 33.0 / 2000.0);
        let lin = 0.5 * 7f64.powi(2 * t);
        let lin = if t > 400 { f64::NAN } else { lin };
        csv.push_str(&format!(
            "{t},{loss:e},{},{},{lin:e}\n",
            (t as f64).sqrt() * 1e-2,
            0.9f64.powi(t)
        ));
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    let summary =
        r#"{"step_size": {"value": 16.0}, "card": {"certificate": {"mu": 0.01, "radius": 0.5}}}"#;
    std::fs::write(dir.join("summary.json"), summary).unwrap();
}

#[test]
fn training_figures_of_a_run_whose_linearized_model_overflowed_are_drawn() {
    let dir = scratch("training");
    overflowing_run(&dir);
    let (send, receive) = mpsc::channel();
    let run = dir.clone();
    std::thread::spawn(move || {
        let _ = send.send(training_figures(&run).map_err(|e| e.to_string()));
    });
    let files = receive
        .recv_timeout(DRAW_LIMIT)
        .expect("training_figures returns")
        .unwrap();
    for stem in ["loss_vs_bound", "distance_vs_radius"] {
        for ext in ["svg", "png"] {
            assert!(
                files.contains(&dir.join(format!("{stem}.{ext}"))),
                "{files:?}"
            );
        }
    }
    let svg = std::fs::read_to_string(dir.join("loss_vs_bound.svg")).unwrap();
    assert!(
        svg.contains("non-finite value"),
        "the note is drawn under the plot"
    );
}
