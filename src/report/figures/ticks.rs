//! The ticks of an axis: where they go and what they read.
//!
//! plotters' own choice labels a log axis's powers of ten only (widths 16…16384 read 100,
//! 1000, 10000; a radius axis 2…20 reads 10 alone), so the figures choose their ticks: a log
//! axis labels every decade, and `1, 2, 3, 5` or every integer times a power of ten where there
//! is room (a decade or so shown); only when even the decades would crowd each other does it
//! label every second, fifth, tenth … decade, the others drawn as light lines. A linear axis
//! takes steps of `1, 2, 5` times a power of ten; a symmetric-log axis labels `0` and `±` the
//! powers of ten.

use super::Scale;

/// Pixels per character of a 13 px tick label (DejaVu Sans digits are 0.64 em).
const CHAR_PX: f64 = 7.4;
/// Space between two tick labels along a horizontal axis, pixels.
const X_GAP: f64 = 20.0;
/// The least distance between two labelled ticks of a vertical axis, pixels.
const Y_STEP: f64 = 20.0;
/// The least distance between two labelled ticks of a vertical linear axis, pixels.
const Y_STEP_LINEAR: f64 = 36.0;
/// The most labelled ticks on a linear axis.
const MAX_LINEAR: usize = 12;
/// The least distance between two light grid lines, pixels.
const LIGHT_STEP: f64 = 5.0;
/// The most ticks considered on any axis (a bound on the work for absurd ranges).
const MAX_TICKS: usize = 2000;

/// The mantissas labelled in each decade, densest first.
const MANTISSAS: [&[f64]; 5] = [
    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    &[1.0, 2.0, 3.0, 5.0],
    &[1.0, 2.0, 5.0],
    &[1.0, 3.0],
    &[1.0],
];
/// Every how many decades a crowded log axis labels.
const DECADE_STEPS: [i64; 9] = [2, 5, 10, 20, 50, 100, 200, 500, 1000];

/// An axis's ticks, in drawing coordinates (`log₁₀ v` on a log axis, see [`Scale`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Ticks {
    /// Labelled ticks, ascending: position and label.
    pub labelled: Vec<(f64, String)>,
    /// Unlabelled (light) grid lines.
    pub light: Vec<f64>,
}

/// `v` with `digits` significant digits and no trailing zeros: plain between `1e-2` and `1e5`
/// (`0.25`, `1024`), else scientific (`1e-3`, `2.5e-7`).
pub(crate) fn label(v: f64, digits: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = digits.max(1);
    if (1e-2..1e5).contains(&v.abs()) {
        let decimals = (digits as i32 - 1 - v.abs().log10().floor() as i32).max(0) as usize;
        let text = format!("{v:.decimals$}");
        return if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        };
    }
    let text = format!("{v:.prec$e}", prec = digits - 1);
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    format!("{mantissa}e{exponent}")
}

/// Labels for `values` with the fewest significant digits (at least 3) that tell them apart.
fn distinct_labels(values: &[f64]) -> Vec<String> {
    let mut labels = vec![];
    for digits in 3..=17 {
        labels = values.iter().map(|&v| label(v, digits)).collect();
        if labels.windows(2).all(|w| w[0] != w[1]) {
            break;
        }
    }
    labels
}

/// Whether labelled ticks at `ts` (drawing coordinates, ascending) leave each label room, at
/// `px` pixels per unit of drawing coordinate; `step` the least distance on a vertical axis.
fn fits(ts: &[(f64, String)], px: f64, vertical: bool, step: f64) -> bool {
    ts.windows(2).all(|w| {
        let room = (w[1].0 - w[0].0) * px;
        if vertical {
            room >= step
        } else {
            let half = |s: &str| s.chars().count() as f64 * CHAR_PX / 2.0;
            room >= half(&w[0].1) + half(&w[1].1) + X_GAP
        }
    })
}

/// The ticks of an axis showing drawing coordinates `lo..hi` over `pixels` pixels; on a
/// linear axis of `integers` (e.g. steps), integers only.
pub(crate) fn ticks(
    scale: Scale,
    lo: f64,
    hi: f64,
    pixels: f64,
    vertical: bool,
    integers: bool,
) -> Ticks {
    let ticks = match scale {
        _ if !(lo < hi && lo.is_finite() && hi.is_finite()) => None,
        Scale::Linear => linear(lo, hi, pixels, vertical, integers),
        Scale::Log => log_like(scale, lo, hi, pixels, vertical),
        Scale::SymLog(_) => log_like(scale, lo, hi, pixels, vertical),
    };
    ticks.unwrap_or_else(|| {
        // No candidate fits: the two ends.
        let values = [scale.value(lo), scale.value(hi)];
        let labels = distinct_labels(&values);
        Ticks {
            labelled: vec![(lo, labels[0].clone()), (hi, labels[1].clone())],
            light: vec![],
        }
    })
}

/// Steps of `1, 2, 5 × 10^e` (at least 1 for `integers`), the smallest whose labels fit (at
/// most [`MAX_LINEAR`]).
fn linear(lo: f64, hi: f64, pixels: f64, vertical: bool, integers: bool) -> Option<Ticks> {
    let px = pixels / (hi - lo);
    let e0 = (hi - lo).log10().floor() as i32;
    for e in (e0 - 2)..=(e0 + 1) {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(e);
            if !(step.is_finite() && step > 0.0) || (integers && step < 1.0) {
                continue;
            }
            let values = multiples(lo, hi, step, MAX_LINEAR)?;
            if values.len() < 2 {
                continue;
            }
            let labels = distinct_labels(&values);
            let labelled: Vec<(f64, String)> = values.into_iter().zip(labels).collect();
            if !fits(&labelled, px, vertical, Y_STEP_LINEAR) {
                continue;
            }
            let light_step = step / if m == 2.0 { 4.0 } else { 5.0 };
            let light_step = if integers && light_step < 1.0 {
                1.0
            } else {
                light_step
            };
            let light = if light_step < step && light_step * px >= LIGHT_STEP {
                multiples(lo, hi, light_step, MAX_TICKS).unwrap_or_default()
            } else {
                vec![]
            };
            return Some(Ticks { labelled, light });
        }
    }
    None
}

/// The multiples of `step` in `lo..=hi`, distinct; `Some(vec![])` when more than `most`.
fn multiples(lo: f64, hi: f64, step: f64, most: usize) -> Option<Vec<f64>> {
    let (k0, k1) = ((lo / step).ceil(), (hi / step).floor());
    if !(k0.is_finite() && k1.is_finite()) {
        return None;
    }
    if k1 - k0 + 1.0 > most as f64 {
        return Some(vec![]);
    }
    let mut values: Vec<f64> = (0..=((k1 - k0).max(-1.0) as i64))
        .map(|i| (k0 + i as f64) * step)
        .filter(|v| (lo..=hi).contains(v))
        .collect();
    values.dedup();
    Some(values)
}

/// The values `± m 10^k` (`m` in `mantissas`, `k` a multiple of `every`) whose drawing
/// coordinates lie in `lo..=hi`, with `0` on a symmetric-log axis, as `(coordinate, value)`.
fn log_values(scale: Scale, lo: f64, hi: f64, mantissas: &[f64], every: i64) -> Vec<(f64, f64)> {
    // The decades to visit: those of the range's ends (log), or of the largest magnitude it
    // shows down to the linear part's width (symmetric log).
    let (k0, k1) = match scale {
        Scale::SymLog(c) => {
            let top = lo.abs().max(hi.abs());
            (
                c.log10().floor() as i64,
                (c.log10() + top).ceil() as i64 + 1,
            )
        }
        _ => (lo.floor() as i64, hi.ceil() as i64),
    };
    if k1 - k0 > MAX_TICKS as i64 {
        return vec![];
    }
    let signs: &[f64] = match scale {
        Scale::SymLog(_) => &[-1.0, 1.0],
        _ => &[1.0],
    };
    let mut out = vec![];
    if matches!(scale, Scale::SymLog(_)) && (lo..=hi).contains(&0.0) {
        out.push((0.0, 0.0));
    }
    for k in (k0..=k1).filter(|k| k.rem_euclid(every) == 0) {
        for &m in mantissas {
            for &s in signs {
                let v = s * m * 10f64.powi(k as i32);
                if let Scale::SymLog(c) = scale {
                    // 1e-9: a tick exactly at the linear threshold c survives the rounding of
                    // m · 10^k (tick placement only, no measured value is decided here).
                    if v.abs() < c * (1.0 - 1e-9) {
                        continue;
                    }
                }
                let Ok(t) = scale.coordinate(v) else { continue };
                if (lo..=hi).contains(&t) {
                    out.push((t, v));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Log and symmetric-log ticks: the densest labelling of [`MANTISSAS`], then of every
/// [`DECADE_STEPS`]th decade, that fits.
fn log_like(scale: Scale, lo: f64, hi: f64, pixels: f64, vertical: bool) -> Option<Ticks> {
    let px = pixels / (hi - lo);
    let labelled = |values: &[(f64, f64)]| -> Vec<(f64, String)> {
        let labels = distinct_labels(&values.iter().map(|v| v.1).collect::<Vec<_>>());
        values.iter().map(|v| v.0).zip(labels).collect()
    };
    let light = |every: i64, mantissas: &[f64]| -> Vec<f64> {
        let values = log_values(scale, lo, hi, mantissas, every);
        let ts: Vec<f64> = values.iter().map(|v| v.0).collect();
        let room = ts
            .windows(2)
            .map(|w| (w[1] - w[0]) * px)
            .fold(f64::INFINITY, f64::min);
        if room >= LIGHT_STEP && ts.len() <= MAX_TICKS {
            ts
        } else {
            vec![]
        }
    };
    // A symmetric-log axis labels nothing between 0 and 5 times its linear part's width
    // (log₁₀ 6 from 0), where labels would crowd the 0.
    let labellable = |values: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        match scale {
            Scale::SymLog(c) => values
                .into_iter()
                .filter(|v| v.1 == 0.0 || v.1.abs() >= 5.0 * c * (1.0 - 1e-9))
                .collect(),
            _ => values,
        }
    };
    for (i, mantissas) in MANTISSAS.iter().enumerate() {
        let values = labellable(log_values(scale, lo, hi, mantissas, 1));
        let ticks = labelled(&values);
        if values.len() >= 2 && fits(&ticks, px, vertical, Y_STEP) {
            let light = if i == 0 {
                vec![]
            } else {
                light(1, MANTISSAS[0])
            };
            return Some(Ticks {
                labelled: ticks,
                light: light
                    .into_iter()
                    .filter(|t| !values.iter().any(|v| v.0 == *t))
                    .collect(),
            });
        }
    }
    for every in DECADE_STEPS {
        let values = labellable(log_values(scale, lo, hi, &[1.0], every));
        let ticks = labelled(&values);
        if values.len() >= 2 && fits(&ticks, px, vertical, Y_STEP) {
            let light = light(1, &[1.0]);
            return Some(Ticks {
                labelled: ticks,
                light: light
                    .into_iter()
                    .filter(|t| !values.iter().any(|v| v.0 == *t))
                    .collect(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &Ticks) -> Vec<&str> {
        t.labelled.iter().map(|l| l.1.as_str()).collect()
    }

    #[test]
    fn labels_have_three_significant_digits_and_no_trailing_zeros() {
        assert_eq!(label(1024.0, 3), "1024");
        assert_eq!(label(0.25, 3), "0.25");
        assert_eq!(label(1e-3, 3), "1e-3");
        assert_eq!(label(2.5e-7, 3), "2.5e-7");
        assert_eq!(label(-0.0, 3), "0");
        assert_eq!(
            distinct_labels(&[1e15, 1e15 + 2.0]),
            ["1e15", "1.000000000000002e15"]
        );
    }

    #[test]
    fn a_log_axis_labels_every_decade_and_more_where_there_is_room() {
        // Widths 16…16384 padded by 1.3 on an 800 px axis.
        let (lo, hi) = ((16.0f64 / 1.3).log10(), (16384.0f64 * 1.3).log10());
        let t = ticks(Scale::Log, lo, hi, 800.0, false, false);
        assert_eq!(
            texts(&t),
            ["20", "50", "100", "200", "500", "1000", "2000", "5000", "10000", "20000"]
        );
        // A radius axis 1.5…20 over 450 px.
        let t = ticks(
            Scale::Log,
            1.5f64.log10(),
            20f64.log10(),
            450.0,
            true,
            false,
        );
        assert_eq!(texts(&t), ["2", "3", "5", "10", "20"]);
        // A decade or less: every integer.
        let t = ticks(Scale::Log, 2f64.log10(), 9.5f64.log10(), 450.0, true, false);
        assert_eq!(texts(&t), ["2", "3", "4", "5", "6", "7", "8", "9"]);
        // 22 decades over 450 px: every decade.
        let t = ticks(Scale::Log, -18.2, 3.3, 450.0, true, false);
        assert_eq!(texts(&t)[..3], ["1e-18", "1e-17", "1e-16"]);
        assert_eq!(t.labelled.len(), 22);
        // 40 decades over 450 px: every second decade, the others light.
        let t = ticks(Scale::Log, -33.2, 6.3, 450.0, true, false);
        assert_eq!(texts(&t)[..3], ["1e-32", "1e-30", "1e-28"]);
        assert_eq!((t.labelled.len(), t.light.len()), (20, 20));
        // 300 decades: every 20th.
        let t = ticks(Scale::Log, -150.0, 150.0, 450.0, true, false);
        assert_eq!(texts(&t)[..2], ["1e-140", "1e-120"]);
    }

    #[test]
    fn a_symmetric_log_axis_labels_zero_and_signed_decades() {
        let s = Scale::SymLog(1e-6);
        let (lo, hi) = (s.coordinate(-2e-2).unwrap(), s.coordinate(2e-3).unwrap());
        let t = ticks(s, lo, hi, 450.0, true, false);
        let labels = texts(&t);
        for needle in ["-0.01", "-1e-3", "-1e-4", "-1e-5", "0", "1e-5", "1e-3"] {
            assert!(labels.contains(&needle), "{needle} not in {labels:?}");
        }
        assert!(!labels.contains(&"1e-6"), "{labels:?}");
    }

    #[test]
    fn a_linear_axis_takes_round_steps() {
        let t = ticks(Scale::Linear, -0.05, 1.05, 450.0, true, false);
        assert_eq!(
            texts(&t),
            ["0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"]
        );
        let t = ticks(Scale::Linear, 0.0, 12.0, 800.0, false, false);
        assert_eq!(texts(&t), ["0", "2", "4", "6", "8", "10", "12"]);
        // Steps 0 … 5: integers only.
        let t = ticks(Scale::Linear, 0.0, 5.0, 800.0, false, true);
        assert_eq!(texts(&t), ["0", "1", "2", "3", "4", "5"]);
        assert!(t.light.is_empty(), "{:?}", t.light);
    }
}
