//! The step size of a run: the config's number, or the card's `η*` (GD) or SGD rule for
//! `learning_rate = "auto"`.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::experiment::config::LearningRate;
use crate::theorem::card::TheoremCard;
use crate::theorem::step_size::sgd_step_size;
use crate::train::Optimizer;

/// The step size used and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepSize {
    /// `η`.
    pub value: f64,
    /// `config`, or `auto: …` naming the card's rule and constants.
    pub source: String,
    /// `κ = 1/(η μ)` with the proved `μ_lb`, else the certified `μ̂`, else `λ₀` (with a card); infinite when that `μ` is
    /// at or below the round-off floor. In JSON the text `"inf (singular at round-off)"`.
    #[serde(serialize_with = "crate::measure::roundoff::kappa_option::serialize")]
    pub condition_number: Option<f64>,
}

/// Resolves the step size from the config and the card.
pub fn resolve_step_size(
    learning_rate: LearningRate,
    optimizer: &Optimizer,
    card: Option<&TheoremCard>,
) -> Result<StepSize> {
    let (value, source) = match (learning_rate, card) {
        (LearningRate::Value(v), _) => (v, "config".to_string()),
        (LearningRate::Auto, Some(c)) => match optimizer {
            Optimizer::Gd if c.proved_eta_star().is_some() => (
                c.eta_star(),
                "auto: proved η̄* = 1/(L̄_F² + β̄_F ‖r₀‖) over the proved ball (bounds, not a search)"
                    .into(),
            ),
            Optimizer::Gd if c.certificate.certified => (
                c.eta_star(),
                "auto: certified η* = 1/(L̂_F² + β̂_F ‖r₀‖) over the searched ball".into(),
            ),
            Optimizer::Gd => (
                c.eta_star(),
                "auto: η*(w₀) = 1/(λ_max(K(w₀)) + ‖H_F(w₀)‖ ‖r₀‖) (no certificate: constants at w₀)"
                    .into(),
            ),
            Optimizer::Sgd { batch_size, .. } => (
                sgd_step_size(c, *batch_size),
                format!("auto: SGD rule b η* / (n + b − 1) for batch size {batch_size} (Ma, Bassily & Belkin 2018; see theorem::step_size::sgd_step_size)"),
            ),
        },
        (LearningRate::Auto, None) => {
            return Err(Error::config(
                "train.learning_rate",
                "\"auto\" needs the theorem card (card.enabled = true)",
            ))
        }
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::config(
            "train.learning_rate",
            format!("\"auto\" gave η = {value:e} from the card: give a number instead"),
        ));
    }
    Ok(StepSize {
        value,
        source,
        condition_number: card.map(|c| {
            let proved = c.proved.as_ref().filter(|p| p.proved());
            let mu = match (proved.and_then(|p| p.mu_lower_bound), c.certificate.mu) {
                (Some(mu), _) => mu,
                (None, Some(mu)) if c.certificate.certified => mu,
                _ => c.lambda0,
            };
            // κ = 1/(ημ) = (1/η)/μ: infinite when μ is at round-off (never negative).
            crate::measure::roundoff::condition_number(mu, 1.0 / value, c.positivity_threshold)
        }),
    })
}
