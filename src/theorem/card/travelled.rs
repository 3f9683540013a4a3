//! PL* on the ball a run actually travelled (THEORY.md: the verdicts on `B(w₀, r_T)`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::TheoremCard;
use crate::error::Result;
use crate::measure::loss::loss_gradient;
use crate::model::Mlp;
use crate::theorem::search::{BallSearch, Extreme, PointMeasure, SearchSettings};

/// PL* on the ball a run actually used: `r_T = max_t ‖w_t − w₀‖` and `μ̂(r_T)`, the smallest
/// `λ_min(K)` over the card's points inside `B(w₀, r_T)`, the trajectory's kernel evaluations and
/// a descent search at `r_T` warm-started from the card's nearest searched radius.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TravelledBall {
    /// `r_T`.
    pub radius: f64,
    /// `μ̂(r_T)`.
    pub mu: f64,
    /// Measured points inside `B(w₀, r_T)`.
    pub points: usize,
    /// Whether a search ran at `r_T` (not when `r_T = 0`, `λ₀` is already not positive, or the
    /// card is the operator path's).
    pub searched: bool,
}

/// The [`TravelledBall`] of a run from `model` (= `w₀`) that travelled `radius`; `trajectory`
/// holds the kernel evaluations along it.
pub fn travelled_ball<B: Backend>(
    card: &TheoremCard,
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    radius: f64,
    trajectory: &[PointMeasure],
    settings: &SearchSettings,
) -> Result<TravelledBall> {
    let inside = |d: f64| card.inside(d, radius);
    let mut points: Vec<PointMeasure> = card
        .points
        .iter()
        .chain(trajectory)
        .filter(|q| inside(q.distance))
        .cloned()
        .collect();
    // No search on the operator path: each point would cost a Lanczos run on the operator.
    let searched = radius > 0.0
        && card.p >= card.n
        && card.is_positive(card.lambda0)
        && card.operator_residuals0.is_none();
    if searched {
        let cfg = model.config().clone();
        let w0 = model.to_vector();
        let loss_grad = loss_gradient(model, x, y).to_vector();
        let warm = card
            .bottom_points
            .iter()
            .find(|(r, _)| *r >= radius)
            .or(card.bottom_points.last())
            .map(|(_, w)| w.as_slice());
        let mut search = BallSearch::new(&cfg, &w0, x, &loss_grad, settings);
        points.extend(search.search(radius, Extreme::Bottom, warm)?.points);
    }
    Ok(TravelledBall {
        radius,
        mu: points
            .iter()
            .map(|q| q.lambda_min)
            .fold(f64::INFINITY, f64::min),
        points: points.len(),
        searched,
    })
}
