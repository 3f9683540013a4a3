//! What a [`LineChart`] draws, decided before any pixel: the axis ranges, each curve as shown
//! (broken at points an axis cannot show, cut at the range's edges), the ticks, and the note
//! on what was left out.

use super::draw::{tick_label, COINCIDE_PX, PLOT_PIXELS};
use super::scale::{axis_range, clip, AxisRange, Dropped, Point, Units};
use super::{text, ticks, LineChart, Scale, MAX_DECADES};

/// What a chart draws of one curve, in data units.
#[derive(Default)]
pub(super) struct Shown {
    /// Unbroken runs of the line (broken at points not drawn, cut at the range's edges).
    pub(super) lines: Vec<Vec<Point>>,
    /// The points inside the range.
    pub(super) markers: Vec<Point>,
    /// The error bars, cut at the range's edges.
    pub(super) bars: Vec<(f64, f64, f64)>,
}

impl Shown {
    /// Whether anything of the curve's own line or points is drawn (what earns a legend entry).
    pub(super) fn has_line_or_points(&self) -> bool {
        !self.markers.is_empty() || !self.lines.is_empty()
    }
}

/// What a [`LineChart`] draws: its axis ranges, each curve as shown (in plotters' numbers, see
/// [`Units`]), and the note on what was left out.
pub(super) struct Plan {
    pub(super) x: (f64, f64),
    pub(super) y: (f64, f64),
    /// The ticks, in plotters' numbers.
    pub(super) x_ticks: ticks::Ticks,
    pub(super) y_ticks: ticks::Ticks,
    /// How the coordinates became plotters' numbers (the tests read the ranges back).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) x_units: Units,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) y_units: Units,
    pub(super) curves: Vec<Shown>,
    pub(super) note: Option<String>,
}

/// The ticks of an axis over `r`, `pixels` long, in plotters' numbers; on a linear axis of
/// `integers` (e.g. steps), at integers only.
fn axis_ticks(
    units: Units,
    r: &AxisRange,
    pixels: f64,
    vertical: bool,
    integers: bool,
) -> ticks::Ticks {
    let t = ticks::ticks(units.scale, r.lo, r.hi, pixels, vertical, integers);
    ticks::Ticks {
        labelled: t
            .labelled
            .into_iter()
            .map(|(t, label)| (units.plot(t), label))
            .collect(),
        light: t.light.into_iter().map(|t| units.plot(t)).collect(),
    }
}

impl Plan {
    /// Whether anything is drawn.
    pub(super) fn has_data(&self) -> bool {
        self.curves
            .iter()
            .any(|c| c.has_line_or_points() || !c.bars.is_empty())
    }
}

/// `n` and the noun, singular or plural.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A curve's points in drawing coordinates, `None` where an axis cannot show one.
type Coordinates = Vec<Option<Point>>;

/// A curve's error bars `(x, low, high)` in drawing coordinates, `None` where one has no
/// drawable `x` or a NaN end.
type BarCoordinates = Vec<Option<(f64, f64, f64)>>;

/// What planning left out: points by the reason they were not drawn ([`Dropped`] indexes it),
/// error bars not drawn, and error bars cut at the range's edge.
#[derive(Default)]
struct LeftOut {
    points: [usize; 3],
    bars_dropped: usize,
    bars_cut: usize,
}

/// The x and y ranges that show the drawable coordinates: y over every point and bar end, x
/// over those inside the y range; each marked when it belongs to the first curve (the
/// measurement, which a cut log axis keeps first).
fn axis_ranges(
    (sx, sy): (Scale, Scale),
    coords: &[Coordinates],
    bars: &[BarCoordinates],
) -> (Option<AxisRange>, Option<AxisRange>) {
    let drawable: Vec<(Point, bool)> = coords
        .iter()
        .zip(bars)
        .enumerate()
        .flat_map(|(i, (pts, bars))| {
            let bar_ends = bars
                .iter()
                .flatten()
                .flat_map(|&(tx, a, b)| [(tx, a), (tx, b)])
                .filter(|p| p.1.is_finite());
            pts.iter()
                .flatten()
                .copied()
                .chain(bar_ends)
                .map(move |p| (p, i == 0))
        })
        .collect();
    let mut ys: Vec<(f64, bool)> = drawable.iter().map(|&(p, first)| (p.1, first)).collect();
    let y = axis_range(sy, true, &mut ys);
    let mut xs: Vec<(f64, bool)> = drawable
        .iter()
        .filter(|(p, _)| y.is_some_and(|y| y.contains(p.1)))
        .map(|&(p, first)| (p.0, first))
        .collect();
    let x = axis_range(sx, false, &mut xs);
    (x, y)
}

/// One curve as drawn inside `x × y`, in plotters' numbers (`units`): its line broken at the
/// points with no coordinates and cut where it leaves the range, its marks inside the range,
/// its bars cut at the range's edges; what is left out is counted in `left`.
fn shown(
    pts: &[Option<Point>],
    curve_bars: &[Option<(f64, f64, f64)>],
    (x, y): (&AxisRange, &AxisRange),
    (ux, uy): (Units, Units),
    left: &mut LeftOut,
) -> Shown {
    let to_data = |p: Point| (ux.plot(p.0), uy.plot(p.1));
    let mut shown = Shown::default();
    let mut run: Vec<Point> = vec![];
    let end_run = |run: &mut Vec<Point>, lines: &mut Vec<Vec<Point>>| {
        if run.len() >= 2 {
            lines.push(run.iter().copied().map(to_data).collect());
        }
        run.clear();
    };
    let mut prev: Option<Point> = None;
    for p in pts {
        let Some(t) = *p else {
            end_run(&mut run, &mut shown.lines);
            prev = None;
            continue;
        };
        let inside = x.contains(t.0) && y.contains(t.1);
        if inside {
            shown.markers.push(to_data(t));
        } else {
            left.points[Dropped::Outside as usize] += 1;
        }
        match prev.map(|q| clip(q, t, x, y)) {
            None if inside => run.push(t),
            None => {}
            Some(None) => end_run(&mut run, &mut shown.lines),
            Some(Some((a, b))) => {
                if run.last() != Some(&a) {
                    end_run(&mut run, &mut shown.lines);
                    run.push(a);
                }
                run.push(b);
                if b != t {
                    end_run(&mut run, &mut shown.lines);
                }
            }
        }
        prev = Some(t);
    }
    end_run(&mut run, &mut shown.lines);
    for bar in curve_bars {
        match bar {
            Some((tx, a, b)) if x.contains(*tx) && *a <= y.hi && *b >= y.lo => {
                let (ca, cb) = (a.max(y.lo), b.min(y.hi));
                if (ca, cb) != (*a, *b) {
                    left.bars_cut += 1;
                }
                shown.bars.push((ux.plot(*tx), uy.plot(ca), uy.plot(cb)));
            }
            _ => left.bars_dropped += 1,
        }
    }
    shown
}

impl LineChart {
    /// For each curve, whether anything of its line or points is drawn (what earns it a
    /// legend entry): a title or caption names only what is drawn.
    pub fn drawn(&self) -> Vec<bool> {
        self.plan()
            .curves
            .iter()
            .map(Shown::has_line_or_points)
            .collect()
    }

    /// The labels of the x and the y axis's ticks, in order.
    pub fn tick_labels(&self) -> (Vec<String>, Vec<String>) {
        let plan = self.plan();
        let texts = |t: &ticks::Ticks| t.labelled.iter().map(|l| l.1.clone()).collect();
        (texts(&plan.x_ticks), texts(&plan.y_ticks))
    }

    /// The axis ranges, each curve as drawn, and the note: points an axis cannot show are
    /// left out (the line broken there), a log axis spans at most [`MAX_DECADES`] decades
    /// (those holding the most points of the first curve, then of the others), lines and bars
    /// are cut at the range's edges.
    pub(super) fn plan(&self) -> Plan {
        let (sx, sy) = (self.x_scale.checked(), self.y_scale.checked());
        let mut left = LeftOut::default();
        let coords = self.coordinates(sx, sy, &mut left.points);
        let bars = self.bar_coordinates(sx, sy);
        let (Some(x), Some(y)) = axis_ranges((sx, sy), &coords, &bars) else {
            return self.empty_plan(sx, sy, left.points);
        };
        let (ux, uy) = (Units::new(sx, &x), Units::new(sy, &y));
        let curves = coords
            .iter()
            .zip(&bars)
            .map(|(pts, curve_bars)| shown(pts, curve_bars, (&x, &y), (ux, uy), &mut left))
            .collect();
        let mut plan = Plan {
            x: (ux.plot(x.lo), ux.plot(x.hi)),
            y: (uy.plot(y.lo), uy.plot(y.hi)),
            x_ticks: axis_ticks(ux, &x, PLOT_PIXELS.0, false, self.integers(|p| p.0)),
            y_ticks: axis_ticks(uy, &y, PLOT_PIXELS.1, true, self.integers(|p| p.1)),
            x_units: ux,
            y_units: uy,
            curves,
            note: None,
        };
        let mut note = self.note(
            !plan.has_data(),
            left.points,
            (left.bars_dropped, left.bars_cut),
            [
                x.cut.then(|| (sx.value(x.lo), sx.value(x.hi))),
                y.cut.then(|| (sy.value(y.lo), sy.value(y.hi))),
            ],
        );
        if let Some(sentence) = self.coinciding_sentence(&plan) {
            note = if note.is_empty() {
                sentence
            } else {
                format!("{note} {sentence}")
            };
        }
        plan.note = (!note.is_empty()).then_some(note);
        plan
    }

    /// Each curve's points in drawing coordinates; those an axis cannot show are `None`, and
    /// counted in `dropped` by the first reason ([`Dropped`]).
    fn coordinates(&self, sx: Scale, sy: Scale, dropped: &mut [usize; 3]) -> Vec<Coordinates> {
        let mut coords: Vec<Coordinates> = vec![];
        for c in &self.curves {
            let mut pts = vec![];
            for &(x, y) in &c.points {
                pts.push(match (sx.coordinate(x), sy.coordinate(y)) {
                    (Ok(tx), Ok(ty)) => Some((tx, ty)),
                    (a, b) => {
                        let why = a.err().into_iter().chain(b.err()).min();
                        dropped[why.unwrap_or(Dropped::Outside) as usize] += 1;
                        None
                    }
                });
            }
            coords.push(pts);
        }
        coords
    }

    /// Each curve's error bars in drawing coordinates, ends ordered; an end an axis cannot
    /// show lies beyond its edge ([`Scale::bar_end`]).
    fn bar_coordinates(&self, sx: Scale, sy: Scale) -> Vec<BarCoordinates> {
        self.curves
            .iter()
            .map(|c| {
                c.error_bars
                    .iter()
                    .map(|&(x, lo, hi)| {
                        let tx = sx.coordinate(x).ok()?;
                        let (a, b) = (sy.bar_end(lo)?, sy.bar_end(hi)?);
                        Some((tx, a.min(b), a.max(b)))
                    })
                    .collect()
            })
            .collect()
    }

    /// The plan of a chart with nothing to draw: the coordinates 0 … 1 (1 … 10 on a log axis)
    /// and the note.
    fn empty_plan(&self, sx: Scale, sy: Scale, dropped: [usize; 3]) -> Plan {
        let unit = AxisRange {
            lo: 0.0,
            hi: 1.0,
            cut: false,
        };
        let (ux, uy) = (Units::new(sx, &unit), Units::new(sy, &unit));
        Plan {
            x: (ux.plot(0.0), ux.plot(1.0)),
            y: (uy.plot(0.0), uy.plot(1.0)),
            x_ticks: axis_ticks(ux, &unit, PLOT_PIXELS.0, false, false),
            y_ticks: axis_ticks(uy, &unit, PLOT_PIXELS.1, true, false),
            x_units: ux,
            y_units: uy,
            curves: self.curves.iter().map(|_| Shown::default()).collect(),
            note: Some(self.note(true, dropped, (0, 0), [None, None])),
        }
    }

    /// The note's sentence on labelled curves drawn on each other ([`Self::coinciding`]), if
    /// any.
    fn coinciding_sentence(&self, plan: &Plan) -> Option<String> {
        let hidden = self.coinciding(plan);
        if hidden.is_empty() {
            return None;
        }
        let pairs: Vec<String> = hidden
            .iter()
            .map(|&(a, b)| {
                format!(
                    "\"{}\" and \"{}\"",
                    text::plain(&self.curves[a].label),
                    text::plain(&self.curves[b].label)
                )
            })
            .collect();
        Some(format!(
            "Drawn on each other (within {COINCIDE_PX} pixels at every point): {}.",
            pairs.join("; ")
        ))
    }

    /// Whether every finite coordinate `at(p)` of every point is an integer (step numbers).
    fn integers(&self, at: impl Fn(&(f64, f64)) -> f64) -> bool {
        self.curves
            .iter()
            .flat_map(|c| c.points.iter().map(&at))
            .filter(|v| v.is_finite())
            .all(|v| v.fract() == 0.0)
    }

    /// The pairs of labelled curves `(a, b)`, `a < b`, whose drawn points lie within
    /// [`COINCIDE_PX`] pixels of each other at every point (the same `x`s, the same number of
    /// points), so that the later one hides the earlier one but for its marks.
    fn coinciding(&self, plan: &Plan) -> Vec<(usize, usize)> {
        let px = |p: &Point| {
            (
                (p.0 - plan.x.0) / (plan.x.1 - plan.x.0) * PLOT_PIXELS.0,
                (p.1 - plan.y.0) / (plan.y.1 - plan.y.0) * PLOT_PIXELS.1,
            )
        };
        let drawn: Vec<Option<Vec<(f64, f64)>>> = self
            .curves
            .iter()
            .zip(&plan.curves)
            .map(|(c, s)| {
                let all_drawn = s.markers.len() == c.points.len() && s.markers.len() >= 2;
                (!c.label.is_empty() && all_drawn).then(|| s.markers.iter().map(px).collect())
            })
            .collect();
        let mut pairs = vec![];
        for (a, pa) in drawn.iter().enumerate() {
            for (b, pb) in drawn.iter().enumerate().skip(a + 1) {
                if let (Some(pa), Some(pb)) = (pa, pb) {
                    let close = pa.len() == pb.len()
                        && pa.iter().zip(pb).all(|(p, q)| {
                            (p.0 - q.0).abs() < 0.5 && (p.1 - q.1).abs() <= COINCIDE_PX
                        });
                    if close {
                        pairs.push((a, b));
                    }
                }
            }
        }
        pairs
    }

    /// The note on what the chart leaves out ("" when nothing).
    fn note(
        &self,
        nothing: bool,
        dropped: [usize; 3],
        (bars_dropped, bars_cut): (usize, usize),
        cuts: [Option<(f64, f64)>; 2],
    ) -> String {
        let mut sentences = vec![];
        if nothing {
            sentences.push("Nothing to draw.".to_string());
        }
        let mut parts = vec![];
        if dropped[0] > 0 {
            parts.push(format!(
                "{} (NaN or ±∞)",
                count(
                    dropped[0],
                    "point with a non-finite value",
                    "points with a non-finite value"
                )
            ));
        }
        if dropped[1] > 0 {
            parts.push(count(
                dropped[1],
                "point with a value ≤ 0 on a log axis",
                "points with a value ≤ 0 on a log axis",
            ));
        }
        if dropped[2] > 0 {
            parts.push(count(
                dropped[2],
                "point outside the drawn range",
                "points outside the drawn range",
            ));
        }
        if !parts.is_empty() {
            sentences.push(format!("Not drawn: {}.", parts.join(", ")));
        }
        let scales = [self.x_scale.checked(), self.y_scale.checked()];
        for ((axis, scale), cut) in ["x", "y"].into_iter().zip(scales).zip(cuts) {
            if let Some((lo, hi)) = cut {
                sentences.push(format!(
                    "The {} {axis} axis shows at most {MAX_DECADES} decades, those holding the most points (here {} … {}).",
                    scale.name(),
                    tick_label(lo),
                    tick_label(hi),
                ));
            }
        }
        if bars_dropped > 0 {
            sentences.push(format!(
                "{} (NaN, or outside the drawn range).",
                count(bars_dropped, "error bar not drawn", "error bars not drawn")
            ));
        }
        if bars_cut > 0 {
            sentences.push(format!(
                "{} at the edge of the drawn range.",
                count(bars_cut, "error bar cut", "error bars cut")
            ));
        }
        sentences.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::{Curve, PALETTE};

    fn chart(log_x: bool, log_y: bool, points: Vec<(f64, f64)>) -> LineChart {
        let scale = |log| if log { Scale::Log } else { Scale::Linear };
        LineChart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: scale(log_x),
            y_scale: scale(log_y),
            curves: vec![Curve::measured("c", points, PALETTE[0])],
        }
    }

    #[test]
    fn the_plan_counts_every_point_it_leaves_out() {
        let pts = vec![
            (0.0, 0.0),
            (1.0, f64::INFINITY),
            (2.0, f64::NAN),
            (3.0, 1e-300),
            (4.0, 1e300),
            (5.0, -1.0),
        ];
        let log = chart(false, true, pts.clone()).plan();
        let note = log.note.unwrap();
        assert!(note.contains("2 points with a non-finite value"), "{note}");
        assert!(note.contains("2 points with a value ≤ 0"), "{note}");
        assert!(note.contains("1 point outside the drawn range"), "{note}");
        assert!(note.contains("at most 40 decades"), "{note}");
        assert_eq!(log.curves[0].markers.len(), 1);
        let linear = chart(false, false, pts).plan();
        let note = linear.note.unwrap();
        assert!(
            note.starts_with("Not drawn: 2 points with a non-finite value"),
            "{note}"
        );
        assert!(!note.contains('≤') && !note.contains("outside"), "{note}");
        assert_eq!(linear.curves[0].markers.len(), 4);
        let all_drawn = chart(true, true, vec![(1.0, 1.0), (10.0, 100.0)]).plan();
        assert_eq!(all_drawn.note, None);
        // A log x axis is padded by a factor 1.3.
        let x0 = all_drawn.x_units.value(all_drawn.x.0);
        assert!((x0 * 1.3 - 1.0).abs() < 1e-9, "{x0}");
        assert_eq!(all_drawn.curves[0].lines.len(), 1);
    }

    #[test]
    fn a_line_breaks_at_a_missing_point_and_is_cut_where_it_leaves_the_range() {
        // A converging curve over 24 decades and one that diverges to ∞: the axis keeps the
        // first curve and 16 more decades, and the second is drawn up to its top.
        let mut c = chart(
            false,
            true,
            (0..100).map(|t| (t as f64, 10f64.powi(-t / 4))).collect(),
        );
        c.curves.push(Curve::reference(
            "diverging",
            (0..100).map(|t| (t as f64, 10f64.powi(8 * t))).collect(),
            PALETTE[1],
        ));
        let plan = c.plan();
        let (lo, hi) = (plan.y_units.value(plan.y.0), plan.y_units.value(plan.y.1));
        assert!(
            (1e-25..1e-24).contains(&lo) && (1e16..1e17).contains(&hi),
            "{lo} … {hi}"
        );
        let lines = &plan.curves[1].lines;
        assert_eq!(lines.len(), 1);
        let top = lines[0].last().unwrap().1;
        assert!((top / plan.y.1 - 1.0).abs() < 1e-9, "{top} vs {:?}", plan.y);
        let mut gap = chart(
            false,
            false,
            vec![
                (0.0, 1.0),
                (1.0, 2.0),
                (2.0, f64::NAN),
                (3.0, 1.0),
                (4.0, 0.0),
            ],
        );
        gap.curves[0].error_bars = vec![(0.0, f64::NAN, 1.0), (1.0, 0.0, f64::INFINITY)];
        let plan = gap.plan();
        assert_eq!(plan.curves[0].lines.len(), 2);
        assert_eq!(plan.curves[0].bars.len(), 1);
        let note = plan.note.unwrap();
        assert!(
            note.contains("1 error bar not drawn") && note.contains("1 error bar cut"),
            "{note}"
        );
    }
}
