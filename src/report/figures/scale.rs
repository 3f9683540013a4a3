//! Axis scales in drawing coordinates: a value's coordinate on a linear, log or symmetric-log
//! axis (or why it has none), an axis's drawn range, the numbers plotters is given, and the
//! clipping of a segment to the drawn range.

use super::{Scale, MAX_DECADES};

/// The largest magnitude drawn on any axis, and `1 / LIMIT` the smallest on a log axis:
/// beyond it, padding the range or searching its ticks in f64 overflows or underflows.
const LIMIT: f64 = 1e300;

/// Why a point is not drawn (in the order the note names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Dropped {
    /// NaN or ±∞.
    NonFinite = 0,
    /// `≤ 0` on a log axis.
    NonPositive = 1,
    /// Beyond [`LIMIT`] or outside the drawn range.
    Outside = 2,
}

impl Scale {
    /// The scale with a symmetric-log width within `[1/LIMIT, LIMIT]`.
    pub(super) fn checked(self) -> Self {
        match self {
            Scale::SymLog(c) if c.is_finite() && c > 0.0 => {
                Scale::SymLog(c.clamp(1.0 / LIMIT, LIMIT))
            }
            Scale::SymLog(_) => Scale::SymLog(1.0),
            s => s,
        }
    }

    /// The drawing coordinate of `v`: `v` on a linear axis, `log₁₀ v` on a log axis,
    /// `sign(v) log₁₀(1 + |v|/c)` on a symmetric-log one; or why it has none.
    pub(super) fn coordinate(self, v: f64) -> std::result::Result<f64, Dropped> {
        match self {
            _ if !v.is_finite() => Err(Dropped::NonFinite),
            Scale::Linear if v.abs() <= LIMIT => Ok(v),
            Scale::Log if v <= 0.0 => Err(Dropped::NonPositive),
            Scale::Log if (1.0 / LIMIT..=LIMIT).contains(&v) => Ok(v.log10()),
            Scale::SymLog(c) if v.abs() <= LIMIT => {
                let ratio = v.abs() / c;
                let t = if ratio.is_finite() {
                    ratio.ln_1p() / std::f64::consts::LN_10
                } else {
                    v.abs().log10() - c.log10()
                };
                Ok(t.copysign(v))
            }
            _ => Err(Dropped::Outside),
        }
    }

    /// The coordinate of an error bar's end: a value the axis cannot show lies beyond its
    /// bottom or its top (`±∞`), so the bar is cut there; `None` for NaN.
    pub(super) fn bar_end(self, v: f64) -> Option<f64> {
        match self.coordinate(v) {
            Ok(t) => Some(t),
            Err(_) if v.is_nan() => None,
            Err(_) => Some(match self {
                Scale::Log if v >= 1.0 => f64::INFINITY,
                Scale::Linear | Scale::SymLog(_) if v > 0.0 => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            }),
        }
    }

    /// The value at drawing coordinate `t`.
    pub(super) fn value(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log => 10f64.powf(t),
            Scale::SymLog(c) => (c * (10f64.powf(t.abs()) - 1.0)).copysign(t),
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
            Scale::SymLog(_) => "symmetric-log",
        }
    }
}

/// One axis's drawn range, in drawing coordinates (`log₁₀` on a log axis).
#[derive(Clone, Copy, Debug)]
pub(super) struct AxisRange {
    pub(super) lo: f64,
    pub(super) hi: f64,
    /// Whether the data spans more than [`MAX_DECADES`], so that the axis leaves some out.
    pub(super) cut: bool,
}

impl AxisRange {
    pub(super) fn contains(&self, t: f64) -> bool {
        (self.lo..=self.hi).contains(&t)
    }
}

/// How an axis's drawing coordinates `t` become the numbers plotters draws on its (always
/// linear) axes: `(t − lo) / 10^e` on a linear axis (`lo` the range's start, `10^e` the span's
/// order of magnitude), `t` itself on a log or symmetric-log axis. plotters only ever sees
/// numbers of order 1 to 10³, which it maps to pixels without loss; the ticks are chosen here
/// ([`ticks`]), not by plotters (whose tick search loops for a very long time over a linear
/// span of 1e-300 and skips every log tick below 2.2e-16).
#[derive(Clone, Copy, Debug)]
pub(super) struct Units {
    pub(super) scale: Scale,
    origin: f64,
    exponent: i32,
}

impl Units {
    pub(super) fn new(scale: Scale, r: &AxisRange) -> Self {
        match scale {
            Scale::Linear => Units {
                scale,
                origin: r.lo,
                exponent: (r.hi - r.lo).log10().floor() as i32,
            },
            _ => Units {
                scale,
                origin: 0.0,
                exponent: 0,
            },
        }
    }

    /// The number plotters draws for drawing coordinate `t`.
    pub(super) fn plot(self, t: f64) -> f64 {
        (t - self.origin) / 10f64.powi(self.exponent)
    }

    /// The drawing coordinate of the number `p` plotters draws.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn coordinate(self, p: f64) -> f64 {
        p * 10f64.powi(self.exponent) + self.origin
    }

    /// The data value of the number `p` plotters draws.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn value(self, p: f64) -> f64 {
        self.scale.value(self.coordinate(p))
    }
}

/// The range of an axis showing the drawing coordinates `ts`, padded (by a factor on log
/// axes, 5% of the span on a linear y axis), never of zero width, on a log axis at most
/// [`MAX_DECADES`] (plus padding) wide; `None` when `ts` is empty.
pub(super) fn axis_range(scale: Scale, is_y: bool, ts: &mut [(f64, bool)]) -> Option<AxisRange> {
    ts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (ts.first()?.0, ts.last()?.0);
    let (mut lo, mut hi, cut) = match scale {
        Scale::Log => densest_window(ts, MAX_DECADES),
        Scale::Linear | Scale::SymLog(_) => (first, last, false),
    };
    let size = lo.abs().max(hi.abs());
    match (scale, is_y) {
        (Scale::Log, _) => {
            // At least a decade (y) or a factor 2 (x) around constant data; padded by a factor
            // 1.5 (y) or 1.3 (x).
            let (least, pad) = if is_y {
                (1.0, 1.5f64.log10())
            } else {
                (2f64.log10(), 1.3f64.log10())
            };
            // Layout, not a decision on a measured value: a log range narrower than 1e-9 decades
            // draws as a point, so it is widened (literals here set pixels, not verdicts).
            if hi - lo < 1e-9 {
                lo -= least / 2.0;
                hi += least / 2.0;
            }
            let bound = LIMIT.log10() + 0.5;
            lo = (lo - pad).max(-bound);
            hi = (hi + pad).min(bound);
        }
        // A linear span of at least 1e-9 of the values' size and 1/LIMIT: narrower data is
        // drawn as constant, in the middle of the axis.
        (Scale::Linear | Scale::SymLog(_), false) => {
            if hi - lo <= (size * 1e-9).max(1.0 / LIMIT) {
                let width = (0.1 * size).max(1.0);
                lo -= width / 2.0;
                hi += width / 2.0;
            }
        }
        (Scale::Linear | Scale::SymLog(_), true) => {
            let pad = if hi - lo > (size * 1e-9).max(1.0 / LIMIT) {
                0.05 * (hi - lo)
            } else if 0.05 * size > 1.0 / LIMIT {
                0.05 * size
            } else {
                1.0
            };
            lo -= pad;
            hi += pad;
        }
    }
    Some(AxisRange { lo, hi, cut })
}

/// The stretch `(lo, hi, cut)` of the sorted `ts` at most `width` wide that holds the most
/// points marked `true` (those of the first curve), then the most of the others, then the
/// lowest; `cut` when it leaves some out.
fn densest_window(ts: &[(f64, bool)], width: f64) -> (f64, f64, bool) {
    let n = ts.len();
    if ts[n - 1].0 - ts[0].0 <= width {
        return (ts[0].0, ts[n - 1].0, false);
    }
    // (marked, others) in the window ts[i..=j].
    let weight = |p: &(f64, bool)| if p.1 { (1, 0) } else { (0, 1) };
    let (mut best, mut best_count) = ((0, 0), weight(&ts[0]));
    let (mut j, mut count) = (0, weight(&ts[0]));
    for i in 0..n {
        if i > 0 {
            let (a, b) = weight(&ts[i - 1]);
            count = (count.0 - a, count.1 - b);
        }
        if j < i {
            j = i;
            count = weight(&ts[i]);
        }
        while j + 1 < n && ts[j + 1].0 - ts[i].0 <= width {
            j += 1;
            let (a, b) = weight(&ts[j]);
            count = (count.0 + a, count.1 + b);
        }
        if count > best_count {
            (best, best_count) = ((i, j), count);
        }
    }
    (ts[best.0].0, ts[best.1].0, true)
}

/// A point in drawing coordinates (or, once converted back, in data units).
pub(super) type Point = (f64, f64);

/// The part of the segment `a → b` inside the rectangle `x × y` (Liang–Barsky), with `a` and
/// `b` themselves where they are inside; `None` when it misses the rectangle.
pub(super) fn clip(a: Point, b: Point, x: &AxisRange, y: &AxisRange) -> Option<(Point, Point)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut u0, mut u1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x.lo),
        (dx, x.hi - a.0),
        (-dy, a.1 - y.lo),
        (dy, y.hi - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else if p < 0.0 {
            u0 = u0.max(q / p);
        } else {
            u1 = u1.min(q / p);
        }
    }
    if u0 > u1 {
        return None;
    }
    let at = |u: f64| {
        if u == 0.0 {
            a
        } else if u == 1.0 {
            b
        } else {
            (a.0 + u * dx, a.1 + u * dy)
        }
    };
    Some((at(u0), at(u1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_densest_window_keeps_the_first_curve_then_the_most_points() {
        let others = |ts: &[f64]| ts.iter().map(|&t| (t, false)).collect::<Vec<_>>();
        assert_eq!(
            densest_window(&others(&[-3.0, 0.0, 20.0]), 30.0),
            (-3.0, 20.0, false)
        );
        let ts = others(&[-300.0, -30.0, -20.0, -10.0, 0.0, 250.0, 300.0]);
        assert_eq!(densest_window(&ts, 30.0), (-30.0, 0.0, true));
        // A tie keeps the lowest window.
        assert_eq!(densest_window(&others(&[-300.0, 300.0]), 30.0).0, -300.0);
        // Two points of the first curve outweigh three of the others.
        let mut ts = others(&[-300.0, -299.0, -298.0]);
        ts.extend([(250.0, true), (260.0, true)]);
        assert_eq!(densest_window(&ts, 30.0), (250.0, 260.0, true));
    }

    #[test]
    fn axis_ranges_are_finite_never_empty_and_at_most_max_decades_on_a_log_axis() {
        let cases: [&[f64]; 7] = [
            &[0.0],
            &[1e300],
            &[-1e300, 1e300],
            &[1e15, 1e15 + 0.1],
            &[-300.0, 300.0],
            &[-300.0, -299.0, 12.0, 300.0],
            &[5.0, 5.0, 5.0],
        ];
        for ts in cases {
            for (scale, is_y) in [
                (Scale::Linear, true),
                (Scale::Linear, false),
                (Scale::Log, true),
                (Scale::Log, false),
            ] {
                // Log coordinates are log₁₀ of values within [1/LIMIT, LIMIT].
                let mut t: Vec<(f64, bool)> = ts
                    .iter()
                    .map(|&v| match scale {
                        Scale::Log => (v.clamp(-300.0, 300.0), false),
                        _ => (v, false),
                    })
                    .collect();
                let r = axis_range(scale, is_y, &mut t).unwrap();
                let (lo, hi) = (scale.value(r.lo), scale.value(r.hi));
                assert!(
                    lo.is_finite() && hi.is_finite() && lo < hi,
                    "{ts:?} {scale:?}: {lo} … {hi}"
                );
                if scale == Scale::Log {
                    assert!(
                        lo > 0.0 && r.hi - r.lo <= MAX_DECADES + 1.0,
                        "{ts:?}: {r:?}"
                    );
                }
            }
        }
        assert!(axis_range(Scale::Log, true, &mut []).is_none());
    }

    #[test]
    fn a_segment_leaving_the_range_is_cut_at_its_edge() {
        let r = AxisRange {
            lo: 0.0,
            hi: 1.0,
            cut: false,
        };
        let inside = ((0.2, 0.2), (0.4, 0.6));
        assert_eq!(clip(inside.0, inside.1, &r, &r), Some(inside));
        let (a, b) = clip((0.5, 0.5), (0.5, 3.0), &r, &r).unwrap();
        assert_eq!((a, b), ((0.5, 0.5), (0.5, 1.0)));
        assert_eq!(clip((2.0, 2.0), (3.0, 5.0), &r, &r), None);
    }
}
