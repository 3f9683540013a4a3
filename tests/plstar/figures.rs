//! Figures drawn from any data: non-finite, zero, negative, empty, constant or absurdly wide
//! series come back promptly, with both files written and a note naming what was not drawn.
//! And figures that say what they draw: titles name only the references drawn, log axes label
//! their decades, scripts are drawn as scripts.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use plotters::style::RGBColor;
use plstar::report::figures::landscape::{landscape_figures, LandscapeMeasures};
use plstar::report::figures::training::{distance_chart, loss_chart, training_figures, RunCurves};
use plstar::report::figures::{plain_text, save, Curve, Drawing, Line, LineChart, Scale};

/// Longer than any drawing takes (a fraction of a second); a drawing that loops fails here.
const DRAW_LIMIT: Duration = Duration::from_secs(60);

fn scratch(test: &str) -> PathBuf {
    crate::scratch("figures", test)
}

fn curve(label: &str, points: Vec<(f64, f64)>, color: RGBColor, dashed: bool) -> Curve {
    if dashed {
        Curve::reference(label, points, color)
    } else {
        Curve::measured(label, points, color)
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

fn scale(log: bool) -> Scale {
    if log {
        Scale::Log
    } else {
        Scale::Linear
    }
}

fn chart(title: &str, log_x: bool, log_y: bool, curves: Vec<Curve>) -> LineChart {
    LineChart {
        title: title.into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x_scale: scale(log_x),
        y_scale: scale(log_y),
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

#[test]
fn a_symmetric_log_axis_draws_hostile_values_too() {
    let dir = scratch("symlog");
    for c in [1e-6, 0.0, f64::NAN, 1e300] {
        let mut ch = chart("hostile values, symlog y", true, false, hostile_curves());
        ch.y_scale = Scale::SymLog(c);
        let drawing = save_in_bounded_time(ch, &dir, "hostile_symlog");
        let note = drawing.note.unwrap();
        assert!(note.contains("non-finite value"), "{note}");
    }
}

/// A log axis over `lo … hi` on the x axis of a chart, and its tick labels.
fn log_x_labels(lo: f64, hi: f64) -> Vec<String> {
    let widths: Vec<(f64, f64)> = std::iter::successors(Some(lo), |w| Some(w * 4.0))
        .take_while(|w| *w <= hi)
        .map(|w| (w, 1.0 / w))
        .collect();
    let c = chart(
        "widths",
        true,
        true,
        vec![curve("w", widths, RGBColor(0, 0, 0), false)],
    );
    c.tick_labels().0
}

#[test]
fn a_log_axis_labels_every_decade_it_shows_and_steps_between_where_there_is_room() {
    let labels = log_x_labels(16.0, 16384.0);
    for decade in ["100", "1000", "10000"] {
        assert!(labels.iter().any(|l| l == decade), "{decade}: {labels:?}");
    }
    assert!(
        labels.iter().any(|l| l == "20") && labels.iter().any(|l| l == "5000"),
        "intermediate ticks on three decades: {labels:?}"
    );
    // A radius axis 2 … 20 (about a decade): 2, 3, 5 are labelled.
    let radii = chart(
        "radii",
        false,
        true,
        vec![curve(
            "r",
            vec![(0.0, 2.2), (1.0, 4.5), (2.0, 18.0)],
            RGBColor(0, 0, 0),
            false,
        )],
    );
    let (_, y) = radii.tick_labels();
    for needle in ["2", "3", "5", "10"] {
        assert!(y.iter().any(|l| l == needle), "{needle}: {y:?}");
    }
    // 30 decades: every decade or every second one, never fewer.
    let loss = chart(
        "loss",
        false,
        true,
        vec![curve(
            "L",
            (0..=30).map(|t| (t as f64, 10f64.powi(-t))).collect(),
            RGBColor(0, 0, 0),
            false,
        )],
    );
    let (_, y) = loss.tick_labels();
    assert!(y.len() >= 15, "{y:?}");
}

/// A run's curves, with or without the linearized model, a certificate and a target loss.
fn run(linearized: bool, certified: bool) -> RunCurves {
    let steps = |f: fn(f64) -> f64| (0..50).map(|t| (t as f64, f(t as f64))).collect::<Vec<_>>();
    RunCurves {
        loss: steps(|t| 0.8f64.powf(t)),
        loss_linearized: if linearized {
            steps(|t| 0.81f64.powf(t))
        } else {
            vec![]
        },
        loss_bound: if certified {
            steps(|t| 0.9f64.powf(t))
        } else {
            vec![]
        },
        distance: steps(|t| 0.1 * t.sqrt()),
        eta: 0.5,
        mu: certified.then_some(0.2),
        radius: certified.then_some(3.0),
        target_loss: Some(1e-4),
    }
}

#[test]
fn a_run_figures_title_names_only_the_references_it_draws() {
    let loss = loss_chart(&run(true, true));
    assert_eq!(
        loss.title,
        "Training loss against the linearized model and the PL* rate bound"
    );
    let loss = loss_chart(&run(true, false));
    assert_eq!(loss.title, "Training loss against the linearized model");
    assert!(loss.curves.iter().all(|c| !c.label.contains("bound")));
    assert_eq!(loss_chart(&run(false, false)).title, "Training loss");
    // A linearized model whose loss overflowed from the first step is not drawn, nor named.
    let mut overflowed = run(true, false);
    overflowed
        .loss_linearized
        .iter_mut()
        .for_each(|p| p.1 = f64::INFINITY);
    assert_eq!(loss_chart(&overflowed).title, "Training loss");
    // The target loss is a labelled reference line.
    let target = loss_chart(&run(false, false));
    let line = target
        .curves
        .iter()
        .find(|c| c.label.contains("target loss"));
    assert!(line.is_some_and(|c| c.line == Line::Dashed && c.points[0].1 == 1e-4));

    assert_eq!(
        distance_chart(&run(false, true)).title,
        "Distance from initialization against the certified radius"
    );
    let uncertified = distance_chart(&run(false, false));
    assert_eq!(uncertified.title, "Distance from initialization");
    assert_eq!(uncertified.curves.len(), 1);
}

#[test]
fn scripts_and_accents_are_drawn_not_printed() {
    assert_eq!(plain_text("R_c = 2 L̂_F ‖r₀‖ / μ̂"), "Rc = 2 L̂F ‖r₀‖ / μ̂");
    assert_eq!(plain_text("(1 − ημ̂)^t L(w₀)"), "(1 − ημ̂)t L(w₀)");
    // In the SVG a subscript is a tspan, and no `_` or `^` of the notation is left.
    let dir = scratch("scripts");
    let c = chart(
        "λ_min(K) and (1 − ημ̂)^t",
        false,
        true,
        vec![curve(
            "certified radius R_c",
            vec![(0.0, 1.0), (1.0, 2.0)],
            RGBColor(0, 0, 0),
            false,
        )],
    );
    save_in_bounded_time(c, &dir, "scripts");
    let svg = std::fs::read_to_string(dir.join("scripts.svg")).unwrap();
    assert!(
        svg.contains("R<tspan") && svg.contains(">c</tspan>"),
        "{svg}"
    );
    assert!(
        svg.contains("λ<tspan") && svg.contains(">min</tspan>"),
        "{svg}"
    );
    assert!(!svg.contains("R_c") && !svg.contains(")^t"), "{svg}");
}

/// Measures like the committed `results/landscape`: λ_min near an over-parameterized
/// minimizer of order −1e-6 at δ = 1e-3, −1e-3 at δ = 1.
fn landscape_measures() -> LandscapeMeasures {
    let probes = |values: &[[f64; 3]]| {
        [1e-3, 1e-2, 1e-1, 1.0]
            .iter()
            .zip(values)
            .flat_map(|(&d, v)| v.iter().map(move |&l| (d, l)))
            .collect::<Vec<_>>()
    };
    LandscapeMeasures {
        over_size: (8, 576),
        under_size: (40, 6),
        minimizers: (1e-12, 1e-12, 35.4),
        segment: (0..=40)
            .map(|i| {
                let t = i as f64 / 40.0;
                (t, 3.0 * t * (1.0 - t))
            })
            .collect(),
        barrier: 0.75,
        near_over: probes(&[
            [-5.1e-6, -3.0e-6, -2.3e-6],
            [-2.4e-5, -4.7e-5, -2.7e-5],
            [-2.8e-4, -4.3e-4, -3.1e-4],
            [-3.9e-3, -1.4e-3, -2.7e-3],
        ]),
        at_min_over: -1.7e-8,
        under_loss: 15.05,
        near_under: probes(&[
            [1.21e-3, 1.21e-3, 1.21e-3],
            [1.21e-3, 1.20e-3, 1.20e-3],
            [1.25e-3, 1.15e-3, 1.12e-3],
            [-3.1e-3, -4.2e-3, -1.1e-2],
        ]),
        at_min_under: 1.21e-3,
    }
}

#[test]
fn the_values_near_a_minimizer_stand_apart_from_zero_on_a_symmetric_log_axis() {
    let dir = scratch("landscape");
    let figures = landscape_figures(&dir, &landscape_measures()).unwrap();
    let near = figures
        .iter()
        .find(|f| f.stem == "f_near_minimizer")
        .expect("the near-minimizer figure");
    assert!(near.caption.contains("symmetric-log"), "{}", near.caption);
    let svg = std::fs::read_to_string(dir.join("f_near_minimizer.svg")).unwrap();
    // Tick labels on both sides of 0, down to 1e-5 (the linear part is ±1e-6).
    for tick in [">\n0\n<", ">\n-1e-5\n<", ">\n-1e-3\n<", ">\n1e-3\n<"] {
        assert!(svg.contains(tick), "{tick:?} not a tick label");
    }
}

#[test]
fn spectrum_figure_reports_the_known_extremes_and_the_eigenvalues_at_round_off() {
    // 5 000 eigenvalues λ_i = 10^{−i/1000} (1 … 1e-4.999) in shuffled order plus 3 at or below a
    // floor of 1e-12 (0, −1e-15, 1e-12): the numbers give N = 5 003, λ_max = 1, λ_min = −1e-15 and
    // 3 at round-off; both files are written although the log axis cannot draw those 3.
    let dir = scratch("spectrum");
    let mut ev: Vec<f64> = (0..5000)
        .map(|i| 10f64.powf(-(i as f64) / 1000.0))
        .collect();
    ev.extend([0.0, -1e-15, 1e-12]);
    ev.reverse();
    let figure = plstar::report::figures::spectrum::spectrum_figure(&dir, &ev, 1e-12, "K")
        .unwrap()
        .expect("drawable");
    let number = |name: &str| {
        figure
            .numbers
            .iter()
            .find(|(k, _)| k.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {:?}", figure.numbers))
            .1
            .clone()
    };
    assert_eq!(number("N"), "5003");
    assert_eq!(number("λ_max"), "1.0000e0");
    assert_eq!(number("λ_min"), "-1.0000e-15");
    assert!(
        number("at or below").starts_with("3 "),
        "{:?}",
        figure.numbers
    );
    for ext in ["svg", "png"] {
        assert!(dir.join(format!("spectrum.{ext}")).exists());
    }
}
