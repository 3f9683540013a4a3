//! Verdicts: does a finished run agree with the PL* theorem (THEORY.md), each with its numbers?
//!
//! 0. (only when it fails) PL* is certified: `μ̂ > 0` — else checks 1–2 are vacuous and skipped;
//! 1. stayed in the ball: `max_t ‖w_t − w₀‖ ≤ R`;
//! 2. the rate bound held at every step: `L(w_t) ≤ (1 − η μ̂)^t L(w₀)` (first failing step);
//! 3. `pl_ratio ≥ λ_min(K(w_t))` at every kernel evaluation (an identity: a failure means a
//!    numerical problem);
//! 4. the probes were conservative: `min_t λ_min(K(w_t))` along the trajectory `≥ μ̂` from the
//!    probes (else the probes missed a worse point and `μ̂` over-estimates `μ`);
//! 5. the target loss was reached (steps to reach it).
//!
//! For SGD the rate bound is the GD bound, checked on the full-batch loss: the theorem promises
//! it in expectation only, so its verdict is informative.

use serde::{Deserialize, Serialize};

use crate::theorem::card::BallEstimate;
use crate::train::{Optimizer, StepRecord, StopReason};

/// Relative slack for comparisons of floating-point quantities.
pub const SLACK: f64 = 1e-9;

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What is checked.
    pub check: String,
    /// Whether it passed.
    pub passed: bool,
    /// The numbers behind it.
    pub detail: String,
}

/// All verdicts of a run and the figures they rest on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunVerdicts {
    /// The checks, in the order of the module docs (theorem checks only with a card).
    pub verdicts: Vec<Verdict>,
    /// `max_t ‖w_t − w₀‖`.
    pub max_distance: f64,
    /// `min_t λ_min(K(w_t))` over the kernel evaluations (μ̂ along the trajectory).
    pub trajectory_mu: Option<f64>,
    /// The step where the target was reached.
    pub steps_to_target: Option<usize>,
    /// The smallest loss reached: the ε of PL*_ε when the target was not reached.
    pub epsilon_reached: f64,
    /// Final loss.
    pub final_loss: f64,
}

impl RunVerdicts {
    /// Whether every verdict passed.
    pub fn all_passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// Judges `records` of a run with step size `eta` against the `card`.
pub fn judge(
    card: Option<&BallEstimate>,
    records: &[StepRecord],
    eta: f64,
    target_loss: f64,
    stop: &StopReason,
    optimizer: &Optimizer,
) -> RunVerdicts {
    let max_distance = records
        .iter()
        .map(|r| r.distance_from_init)
        .fold(0.0, f64::max);
    let trajectory_mu = records
        .iter()
        .filter_map(|r| r.lambda_min)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v))));
    let steps_to_target = match stop {
        StopReason::TargetReached { step } => Some(*step),
        _ => None,
    };
    let epsilon_reached = records.iter().map(|r| r.loss).fold(f64::INFINITY, f64::min);
    let final_loss = records.last().map_or(f64::NAN, |r| r.loss);
    let mut verdicts = vec![];
    if let Some(card) = card.filter(|c| !c.pl_star_possible) {
        verdicts.push(Verdict {
            check: "PL* certified on the ball: μ̂ > 0".into(),
            passed: false,
            detail: format!(
                "μ̂ = {:.4e} ≤ 1e-10 λ_max: {} (the ball and rate checks are vacuous and skipped)",
                card.mu_hat, card.diagnosis
            ),
        });
    }
    if let Some(card) = card.filter(|c| c.pl_star_possible) {
        verdicts.push(Verdict {
            check: "stayed in the ball B(w0, R)".into(),
            passed: max_distance <= card.radius * (1.0 + SLACK),
            detail: format!(
                "max_t ‖w_t − w0‖ = {max_distance:.4e} vs R = {:.4e}",
                card.radius
            ),
        });
        verdicts.push(rate_bound(card, records, eta, optimizer));
    }
    verdicts.extend(pl_ratio(records));
    if let (Some(card), Some(tmu)) = (card, trajectory_mu) {
        verdicts.push(Verdict {
            check: "probes were conservative: min λ_min along the trajectory ≥ μ̂ (probes)".into(),
            passed: tmu >= card.mu_hat - SLACK * card.lambda_max0,
            detail: format!(
                "trajectory min λ_min = {tmu:.4e}, probes μ̂ = {:.4e}, λ₀ = {:.4e}",
                card.mu_hat, card.lambda0
            ),
        });
    }
    verdicts.push(target(
        target_loss,
        steps_to_target,
        final_loss,
        epsilon_reached,
        stop,
    ));
    RunVerdicts {
        verdicts,
        max_distance,
        trajectory_mu,
        steps_to_target,
        epsilon_reached,
        final_loss,
    }
}

/// Check 2: `L(w_t) ≤ (1 − η μ̂)^t L(w₀)` at every step (the first failing step otherwise).
fn rate_bound(
    card: &BallEstimate,
    records: &[StepRecord],
    eta: f64,
    optimizer: &Optimizer,
) -> Verdict {
    let first_fail = records
        .iter()
        .find(|r| r.loss > card.loss_bound(eta, r.step) * (1.0 + SLACK) + f64::MIN_POSITIVE);
    let sgd = matches!(optimizer, Optimizer::Sgd { .. });
    Verdict {
        check: format!(
            "rate bound L(w_t) ≤ (1 − η μ̂)^t L(w0) at every step{}",
            if sgd {
                " (GD bound; SGD has it in expectation)"
            } else {
                ""
            }
        ),
        passed: first_fail.is_none(),
        detail: match first_fail {
            None => format!(
                "held at all {} steps with η = {eta:.4e}, μ̂ = {:.4e} (1 − ημ̂ = {:.6})",
                records.len(),
                card.mu_hat,
                1.0 - eta * card.mu_hat
            ),
            Some(r) => format!(
                "first failed at step {}: L = {:.4e} > bound {:.4e}",
                r.step,
                r.loss,
                card.loss_bound(eta, r.step)
            ),
        },
    }
}

/// Check 3: `‖∇L‖²/(2L) ≥ λ_min(K(w_t))` at every kernel evaluation (none without one).
fn pl_ratio(records: &[StepRecord]) -> Option<Verdict> {
    let evaluated: Vec<&StepRecord> = records.iter().filter(|r| r.lambda_min.is_some()).collect();
    if evaluated.is_empty() {
        return None;
    }
    let bad = evaluated.iter().find(|r| {
        let lmin = r.lambda_min.expect("filtered");
        r.pl_ratio < lmin - SLACK * r.lambda_max.unwrap_or(lmin).abs()
    });
    Some(Verdict {
        check: "PL ratio ‖∇L‖²/(2L) ≥ λ_min(K(w_t)) at every evaluation".into(),
        passed: bad.is_none(),
        detail: match bad {
            None => format!("held at all {} kernel evaluations", evaluated.len()),
            Some(r) => format!(
                "failed at step {}: pl_ratio = {:.4e} < λ_min = {:.4e}",
                r.step,
                r.pl_ratio,
                r.lambda_min.unwrap_or(f64::NAN)
            ),
        },
    })
}

/// Check 5: the target loss was reached (or why not, with the smallest loss reached).
fn target(
    target_loss: f64,
    steps_to_target: Option<usize>,
    final_loss: f64,
    epsilon_reached: f64,
    stop: &StopReason,
) -> Verdict {
    Verdict {
        check: format!("reached the target loss {target_loss:.1e}"),
        passed: steps_to_target.is_some(),
        detail: match steps_to_target {
            Some(s) => format!("at step {s} (L = {final_loss:.4e})"),
            None => format!(
                "not reached: {}, final L = {final_loss:.4e}, smallest L = {epsilon_reached:.4e} (the ε of PL*_ε)",
                match stop {
                    StopReason::StepBudget => "step budget used".to_string(),
                    StopReason::Diverged { step, .. } => format!("diverged at step {step}"),
                    StopReason::Interrupted { step } => format!("interrupted after step {step}"),
                    StopReason::TargetReached { .. } => unreachable!(),
                }
            ),
        },
    }
}
