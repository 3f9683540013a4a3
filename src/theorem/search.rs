//! Constrained searches of a ball `B(w₀, r) = {w : ‖w − w₀‖ ≤ r}` for the extremes of the
//! tangent kernel's spectrum: projected descent on `λ_min(K(w))` (for `μ̂(r)`) and projected
//! ascent on `λ_max(K(w))` (for `L̂_F(r) = √λ_max`).
//!
//! The gradient is exact: with `v` a unit eigenvector of `K(w)` for a simple eigenvalue
//! `λ = vᵀKv = ‖DFᵀv‖²`, `∇_w λ = 2 H(v) DFᵀv`, one Hessian-vector product of `vᵀF`
//! ([`eigenvalue_gradient`]). Each start takes normalized steps `w ← P(w ∓ α ∇λ/‖∇λ‖)`, `P` the
//! projection onto the ball; a step that does not improve the value is rejected and halves `α`
//! (first `α = r/2`), an accepted one grows it by half. Starts, in this order (a run with fewer
//! `restarts` keeps the first ones): `w₀ − r g`, then `w₀ + r g`, with `g` the unit gradient of the
//! loss at `w₀` (gradient descent moves along `−g`); the warm start (the best point of the
//! previous, smaller radius, pushed out to the sphere of radius `r`); then random directions.
//!
//! A search finds a local extreme: `μ̂(r)` is an upper estimate of `inf_B λ_min` (and `L̂_F(r)`
//! a lower estimate of `sup_B √λ_max`); every point it measured is returned, with its distance,
//! so that callers take extremes over exactly the points inside each ball.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::measure::hessian::{Derivatives, Objective};
use crate::measure::kernel::{tangent_kernel, KernelMethod, TangentKernel};
use crate::measure::spectrum::{kernel_extreme_pairs, EXTREMES_DENSE_LIMIT};
use crate::model::{Mlp, MlpConfig};

/// How each ball is searched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchSettings {
    /// Starts per radius and extreme (in order: `w₀ − r g`, `w₀ + r g`, the warm start, then
    /// random directions).
    pub restarts: usize,
    /// Gradient evaluations per start (rejected steps cost a kernel, not a gradient).
    pub steps: usize,
    /// Seed of the random directions.
    pub seed: u64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            restarts: 4,
            steps: 6,
            seed: 0,
        }
    }
}

/// Which end of the spectrum a search moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extreme {
    /// Descent on `λ_min(K)`.
    Bottom,
    /// Ascent on `λ_max(K)`.
    Top,
}

/// Where a measured point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// The initialization `w₀`.
    Init,
    /// A point of the descent on `λ_min`.
    Bottom,
    /// A point of the ascent on `λ_max`.
    Top,
    /// A point of the training trajectory.
    Trajectory,
}

/// The kernel's extremes at one measured point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointMeasure {
    /// Where the point came from.
    pub kind: PointKind,
    /// `‖w − w₀‖`.
    pub distance: f64,
    /// `λ_min(K(w))`.
    pub lambda_min: f64,
    /// `λ_max(K(w))`.
    pub lambda_max: f64,
}

/// The best point a search reached, and every point it measured.
#[derive(Clone, Debug)]
pub struct SearchResult {
    /// The parameter vector of the best point.
    pub best: Vec<f64>,
    /// Its `λ_min` (bottom) or `λ_max` (top).
    pub value: f64,
    /// Every measured point (all inside the ball).
    pub points: Vec<PointMeasure>,
}

/// `∇_w λ = 2 H(v) DFᵀv` for the unit eigenvector `v` of a simple eigenvalue `λ` of `K(w)`.
///
/// Cost: one backward pass (`DFᵀv`) and one Hessian-vector product of `vᵀF`.
pub fn eigenvalue_gradient<B: Backend>(model: &Mlp<B>, x: &Tensor<B, 2>, v: &[f64]) -> Vec<f64> {
    let derivatives = Derivatives::at(model, x);
    let g_v = derivatives.gradient(v);
    derivatives
        .product(&Objective::Contraction(v.to_vec()), &g_v)
        .hv
        .into_iter()
        .map(|h| 2.0 * h)
        .collect()
}

/// A ball around `w₀` on inputs `x`, searched with `settings`.
pub struct BallSearch<'a, B: Backend> {
    cfg: &'a MlpConfig,
    w0: &'a [f64],
    x: &'a Tensor<B, 2>,
    /// The unit gradient `g` of the loss at `w₀`.
    loss_direction: Vec<f64>,
    settings: SearchSettings,
    rng: rand::rngs::ChaCha8Rng,
}

impl<'a, B: Backend> BallSearch<'a, B> {
    /// A search around `w₀` (the model's parameters `w0`); `loss_gradient` is `∇L(w₀)`.
    pub fn new(
        cfg: &'a MlpConfig,
        w0: &'a [f64],
        x: &'a Tensor<B, 2>,
        loss_gradient: &[f64],
        settings: &SearchSettings,
    ) -> Self {
        let ng = norm(loss_gradient).max(f64::MIN_POSITIVE);
        Self {
            cfg,
            w0,
            x,
            loss_direction: loss_gradient.iter().map(|g| g / ng).collect(),
            settings: settings.clone(),
            rng: rand::rngs::ChaCha8Rng::seed_from_u64(settings.seed),
        }
    }

    /// The architecture searched.
    pub fn config(&self) -> &MlpConfig {
        self.cfg
    }

    /// The extreme of `λ_min` (bottom) or `λ_max` (top) over `B(w₀, r)` reached from the starts,
    /// `warm` (a point of a smaller ball) among them.
    pub fn search(
        &mut self,
        r: f64,
        extreme: Extreme,
        warm: Option<&[f64]>,
    ) -> Result<SearchResult> {
        let mut result = SearchResult {
            best: self.w0.to_vec(),
            value: f64::NAN,
            points: vec![],
        };
        for start in self.starts(r, warm) {
            self.descend(start, r, extreme, &mut result)?;
        }
        Ok(result)
    }

    /// The start points on the sphere of radius `r`.
    fn starts(&mut self, r: f64, warm: Option<&[f64]>) -> Vec<Vec<f64>> {
        let p = self.w0.len();
        let mut directions: Vec<Vec<f64>> = vec![
            self.loss_direction.iter().map(|g| -g).collect(),
            self.loss_direction.clone(),
        ];
        if let Some(w) = warm {
            let d: Vec<f64> = w.iter().zip(self.w0).map(|(a, b)| a - b).collect();
            if norm(&d) > 0.0 {
                directions.push(d);
            }
        }
        while directions.len() < self.settings.restarts {
            directions.push(
                (0..p)
                    .map(|_| StandardNormal.sample(&mut self.rng))
                    .collect(),
            );
        }
        directions.truncate(self.settings.restarts.max(1));
        directions
            .into_iter()
            .map(|d| {
                let nd = norm(&d).max(f64::MIN_POSITIVE);
                self.w0
                    .iter()
                    .zip(&d)
                    .map(|(a, b)| a + r * b / nd)
                    .collect()
            })
            .collect()
    }

    /// Projected steps from `start`, recording every point in `result` and keeping the best.
    fn descend(
        &self,
        start: Vec<f64>,
        r: f64,
        extreme: Extreme,
        result: &mut SearchResult,
    ) -> Result<()> {
        let sign = match extreme {
            Extreme::Bottom => -1.0,
            Extreme::Top => 1.0,
        };
        let better = |a: f64, b: f64| if sign < 0.0 { a < b } else { a > b };
        let mut w = start;
        let (mut value, mut vector) = self.measure(&w, extreme, result)?;
        let mut alpha = 0.5 * r;
        let mut gradients = 0;
        let mut gradient: Option<Vec<f64>> = None;
        while gradients < self.settings.steps && alpha > 1e-6 * r {
            let g = match gradient.take() {
                Some(g) => g,
                None => {
                    gradients += 1;
                    let m = Mlp::<B>::from_vector(self.cfg, &w, &self.x.device())?;
                    eigenvalue_gradient(&m, self.x, &vector)
                }
            };
            let ng = norm(&g);
            if !(ng > 0.0 && ng.is_finite()) {
                break;
            }
            let candidate = self.project(
                w.iter()
                    .zip(&g)
                    .map(|(a, b)| a + sign * alpha * b / ng)
                    .collect(),
                r,
            );
            let (v, vec) = self.measure(&candidate, extreme, result)?;
            if better(v, value) {
                (w, value, vector) = (candidate, v, vec);
                alpha *= 1.5;
            } else {
                gradient = Some(g);
                alpha *= 0.5;
            }
        }
        if result.value.is_nan() || better(value, result.value) {
            result.value = value;
            result.best = w;
        }
        Ok(())
    }

    /// `w` pulled back onto `B(w₀, r)` when outside it.
    fn project(&self, w: Vec<f64>, r: f64) -> Vec<f64> {
        let d: Vec<f64> = w.iter().zip(self.w0).map(|(a, b)| a - b).collect();
        let nd = norm(&d);
        if nd <= r {
            return w;
        }
        self.w0
            .iter()
            .zip(&d)
            .map(|(a, b)| a + r * b / nd)
            .collect()
    }

    /// The kernel's extremes at `w` (recorded in `result`), and the searched eigenvalue with its
    /// unit eigenvector.
    fn measure(
        &self,
        w: &[f64],
        extreme: Extreme,
        result: &mut SearchResult,
    ) -> Result<(f64, Vec<f64>)> {
        let m = Mlp::<B>::from_vector(self.cfg, w, &self.x.device())?;
        let (lambda_min, lambda_max, bottom, top) =
            extreme_pairs(&tangent_kernel(&m, self.x, KernelMethod::Structured))?;
        result.points.push(PointMeasure {
            kind: match extreme {
                Extreme::Bottom => PointKind::Bottom,
                Extreme::Top => PointKind::Top,
            },
            distance: norm(
                &w.iter()
                    .zip(self.w0)
                    .map(|(a, b)| a - b)
                    .collect::<Vec<_>>(),
            ),
            lambda_min,
            lambda_max,
        });
        Ok(match extreme {
            Extreme::Bottom => (lambda_min, bottom),
            Extreme::Top => (lambda_max, top),
        })
    }
}

/// `(λ_min, λ_max, v_min, v_max)` of `k`: by the dense eigensolver up to
/// [`EXTREMES_DENSE_LIMIT`] equations, above by [`kernel_extreme_pairs`]' Lanczos runs (`λ_max` on
/// `K`, `λ_min` on `K⁻¹` through a Cholesky factor: `N³/3` flops where the dense solver takes
/// about 10× that with its eigenvectors; a digits10 point, `N = 17 970`, about 2 minutes
/// instead of 21). A Lanczos value that missed its tolerance is still the Ritz value, an upper
/// estimate of `λ_min` and a lower one of `λ_max`: the direction every searched value errs in.
fn extreme_pairs(k: &TangentKernel) -> Result<(f64, f64, Vec<f64>, Vec<f64>)> {
    let e = kernel_extreme_pairs(k, EXTREMES_DENSE_LIMIT)?;
    let v = e
        .vectors
        .expect("kernel_extreme_pairs returns the vectors on every path");
    Ok((e.lambda_min, e.lambda_max, v.min, v.max))
}

/// `‖v‖₂`.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}
