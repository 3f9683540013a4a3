//! Least-squares fits for the figures: power laws `y = C x^s` fitted on `ln y = ln C + s ln x`.

use serde::{Deserialize, Serialize};

/// A fitted power law with the standard error of its slope.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerFit {
    /// The exponent `s`.
    pub slope: f64,
    /// Standard error of `s` (ordinary least squares; NaN with fewer than 3 points).
    pub slope_stderr: f64,
    /// `ln C`.
    pub intercept: f64,
    /// Points used (positive and finite only).
    pub points: usize,
}

impl PowerFit {
    /// `C x^s`.
    pub fn predict(&self, x: f64) -> f64 {
        (self.intercept + self.slope * x.ln()).exp()
    }
}

/// Fits `y = C x^s` to the points with `x, y > 0`. `None` with fewer than 2 usable points or
/// a single distinct `x`.
pub fn power_law(x: &[f64], y: &[f64]) -> Option<PowerFit> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite() && **a > 0.0 && **b > 0.0)
        .map(|(a, b)| (a.ln(), b.ln()))
        .collect();
    let k = pts.len() as f64;
    if pts.len() < 2 {
        return None;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = pts
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let slope_stderr = if pts.len() > 2 {
        (sse / (k - 2.0) / sxx).sqrt()
    } else {
        f64::NAN
    };
    Some(PowerFit {
        slope,
        slope_stderr,
        intercept,
        points: pts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_law_recovers_a_known_slope_and_its_uncertainty_covers_the_truth() {
        // y = 3 x^{-1/2} with ±5% multiplicative wiggle: the fit recovers −0.5 within 2 stderr.
        let x: Vec<f64> = (4..=14).map(|e| 2f64.powi(e)).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| 3.0 * v.powf(-0.5) * (1.0 + 0.05 * ((i as f64) * 2.3).sin()))
            .collect();
        let fit = power_law(&x, &y).unwrap();
        assert!(
            (fit.slope + 0.5).abs() < 2.0 * fit.slope_stderr + 1e-12,
            "{fit:?}"
        );
        assert!(fit.slope_stderr < 0.02);
        // Exact data: exact slope and intercept, zero error.
        let exact: Vec<f64> = x.iter().map(|v| 7.0 * v.powf(1.5)).collect();
        let fit = power_law(&x, &exact).unwrap();
        assert!((fit.slope - 1.5).abs() < 1e-12 && (fit.intercept - 7f64.ln()).abs() < 1e-10);
        assert!(fit.slope_stderr < 1e-10);
        assert!((fit.predict(10.0) - 7.0 * 10f64.powf(1.5)).abs() < 1e-8);
        // Non-positive values are skipped; too few points give None.
        assert!(power_law(&[1.0, 2.0], &[0.0, 1.0]).is_none());
    }
}
