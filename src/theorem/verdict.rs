//! Verdicts: does a finished run agree with the PL* theorem (THEORY.md)? Each check is `pass`,
//! `fail`, or `not_applicable` with the reason (a precondition that does not hold): a check never
//! passes because its premise is vacuous. Each records its preconditions in `reason`.
//!
//! With the certificate ([`crate::theorem::card::Certificate`], radius `R_c`, `μ̂(r_s)`, `η*`),
//! for gradient descent with `η ≤ η*` (else not applicable):
//! 1. stayed in the certified ball: `max_t ‖w_t − w₀‖ ≤ R_c`;
//! 2. the certified rate bound: `L(w_t) ≤ (1 − η μ̂(r_s))^t L(w₀)` at every step.
//!
//! On the ball the run actually used, `r_T = max_t ‖w_t − w₀‖` (always applicable with a card):
//! 3. PL* there: `μ̂(r_T) > 0` ([`crate::theorem::card::TravelledBall`]);
//! 4. the rate bound with `μ̂(r_T)` at every step (not applicable when 3 fails; for SGD the GD
//!    bound on the full-batch loss, which SGD has in expectation only).
//!
//! And:
//! 5. `pl_ratio ≥ λ_min(K(w_t))` at every kernel evaluation (an identity: a failure means a
//!    numerical problem);
//! 6. the certificate's search was conservative: every trajectory point inside the certified
//!    search ball has `λ_min(K(w_t)) ≥ μ̂(r_s)`;
//! 7. the target loss was reached.

use serde::{Deserialize, Serialize};

use crate::theorem::card::{TheoremCard, TravelledBall};
use crate::train::{Optimizer, StepRecord, StopReason};

/// Relative slack for comparisons of floating-point quantities.
pub const SLACK: f64 = 1e-9;

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictState {
    /// The check applies and holds.
    Pass,
    /// The check applies and does not hold.
    Fail,
    /// A precondition does not hold (see the reason).
    NotApplicable,
}

impl VerdictState {
    /// `pass`, `FAIL` or `n/a`, for people.
    pub fn label(self) -> &'static str {
        match self {
            VerdictState::Pass => "pass",
            VerdictState::Fail => "FAIL",
            VerdictState::NotApplicable => "n/a",
        }
    }
}

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What is checked.
    pub check: String,
    /// Pass, fail or not applicable.
    pub state: VerdictState,
    /// The preconditions (when it applies) or the one that does not hold (when not).
    pub reason: String,
    /// The numbers behind it.
    pub detail: String,
}

impl Verdict {
    fn applies(check: String, passed: bool, reason: String, detail: String) -> Self {
        let state = if passed {
            VerdictState::Pass
        } else {
            VerdictState::Fail
        };
        Self {
            check,
            state,
            reason,
            detail,
        }
    }

    fn not_applicable(check: String, reason: String) -> Self {
        Self {
            check,
            state: VerdictState::NotApplicable,
            reason,
            detail: String::new(),
        }
    }
}

/// All verdicts of a run and the figures they rest on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunVerdicts {
    /// The checks, in the order of the module docs.
    pub verdicts: Vec<Verdict>,
    /// `r_T = max_t ‖w_t − w₀‖`.
    pub max_distance: f64,
    /// PL* on `B(w₀, r_T)` (with a card).
    pub travelled: Option<TravelledBall>,
    /// `min_t λ_min(K(w_t))` over the kernel evaluations.
    pub trajectory_mu: Option<f64>,
    /// `max_{t ≥ 1} ‖r_t − r_t^lin‖ / ‖r₀‖` against the model linearized at `w₀` (gradient
    /// descent that took at least one step).
    pub max_linearization_gap: Option<f64>,
    /// The step where the target was reached.
    pub steps_to_target: Option<usize>,
    /// The smallest loss reached: the ε of PL*_ε when the target was not reached.
    pub epsilon_reached: f64,
    /// Final loss.
    pub final_loss: f64,
}

/// The largest linearization gap `max_t ‖r_t − r_t^lin‖ / ‖r₀‖` at which a run still counts as
/// in the kernel regime: the network's residual stays within a tenth of the initial residual of
/// the linearized model's at every step, so the loss curves agree to within about 10% of
/// `‖r₀‖` in residual norm (a convention, stated with every report that uses it).
pub const KERNEL_REGIME_GAP: f64 = 0.1;

impl RunVerdicts {
    /// Whether the run stayed in the kernel regime (gradient descent only).
    pub fn kernel_regime(&self) -> Option<bool> {
        self.max_linearization_gap.map(|g| g <= KERNEL_REGIME_GAP)
    }

    /// Whether no verdict failed.
    pub fn none_failed(&self) -> bool {
        self.verdicts.iter().all(|v| v.state != VerdictState::Fail)
    }
}

/// What a run did, for [`judge`].
pub struct RunRecords<'a> {
    /// Every record.
    pub records: &'a [StepRecord],
    /// The step size used.
    pub eta: f64,
    /// The target loss.
    pub target_loss: f64,
    /// How it stopped.
    pub stop: &'a StopReason,
    /// GD or SGD.
    pub optimizer: &'a Optimizer,
}

/// Judges a run against its `card` and the ball it `travelled` (both absent without a card).
pub fn judge(
    card: Option<&TheoremCard>,
    travelled: Option<&TravelledBall>,
    run: &RunRecords<'_>,
) -> RunVerdicts {
    let records = run.records;
    let max_distance = records
        .iter()
        .map(|r| r.distance_from_init)
        .fold(0.0, f64::max);
    let trajectory_mu = records
        .iter()
        .filter_map(|r| r.lambda_min)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v))));
    // Over the steps after w₀ (at t = 0 both models agree by construction).
    let max_linearization_gap = records
        .iter()
        .filter(|r| r.step > 0)
        .filter_map(|r| r.linearization_gap)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
    let steps_to_target = match run.stop {
        StopReason::TargetReached { step } => Some(*step),
        _ => None,
    };
    let epsilon_reached = records.iter().map(|r| r.loss).fold(f64::INFINITY, f64::min);
    let final_loss = records.last().map_or(f64::NAN, |r| r.loss);
    let mut verdicts = certified_checks(card, run, max_distance);
    verdicts.extend(travelled_checks(card, travelled, run));
    verdicts.push(pl_ratio(records));
    verdicts.push(search_conservative(card, records));
    verdicts.push(target(
        run.target_loss,
        steps_to_target,
        final_loss,
        epsilon_reached,
        run.stop,
    ));
    RunVerdicts {
        verdicts,
        max_distance,
        travelled: travelled.cloned(),
        trajectory_mu,
        max_linearization_gap,
        steps_to_target,
        epsilon_reached,
        final_loss,
    }
}

/// Checks 1 and 2, on the certified ball.
fn certified_checks(
    card: Option<&TheoremCard>,
    run: &RunRecords<'_>,
    max_distance: f64,
) -> Vec<Verdict> {
    let ball = "stayed in the certified ball B(w₀, R_c)".to_string();
    let rate = "certified rate bound L(w_t) ≤ (1 − η μ̂)^t L(w₀) at every step".to_string();
    let not_applicable = |reason: String| {
        vec![
            Verdict::not_applicable(ball.clone(), reason.clone()),
            Verdict::not_applicable(rate.clone(), reason),
        ]
    };
    let Some(card) = card else {
        return not_applicable("no theorem card (card.enabled = false)".into());
    };
    let c = &card.certificate;
    let (Some(radius), Some(mu), Some(eta_star)) = (c.radius, c.mu, c.eta_star) else {
        return not_applicable(format!("no certificate: {}", c.reason));
    };
    if matches!(run.optimizer, Optimizer::Sgd { .. }) {
        return not_applicable(
            "SGD: the theorem's ball and rate statements are for gradient descent (SGD has the \
             rate in expectation only)"
                .into(),
        );
    }
    let eta = run.eta;
    if eta > eta_star * (1.0 + SLACK) {
        return not_applicable(format!(
            "η = {eta:.4e} > η* = {eta_star:.4e}: the theorem covers η ≤ η* only"
        ));
    }
    let reason = format!(
        "certified (R_c = {radius:.4e}, μ̂ = {mu:.4e}), GD, η = {eta:.4e} ≤ η* = {eta_star:.4e}"
    );
    vec![
        Verdict::applies(
            ball,
            max_distance <= radius * (1.0 + SLACK),
            reason.clone(),
            format!("max_t ‖w_t − w₀‖ = {max_distance:.4e} vs R_c = {radius:.4e}"),
        ),
        rate_bound(rate, card, run, mu, reason),
    ]
}

/// Checks 3 and 4, on the travelled ball.
fn travelled_checks(
    card: Option<&TheoremCard>,
    travelled: Option<&TravelledBall>,
    run: &RunRecords<'_>,
) -> Vec<Verdict> {
    let pl = "PL* on the travelled ball: μ̂(r_T) > 0".to_string();
    let sgd = matches!(run.optimizer, Optimizer::Sgd { .. });
    let rate = format!(
        "rate bound with μ̂(r_T): L(w_t) ≤ (1 − η μ̂(r_T))^t L(w₀) at every step{}",
        if sgd {
            " (GD bound; SGD has it in expectation)"
        } else {
            ""
        }
    );
    let (Some(card), Some(t)) = (card, travelled) else {
        let reason = "no theorem card (card.enabled = false)".to_string();
        return vec![
            Verdict::not_applicable(pl, reason.clone()),
            Verdict::not_applicable(rate, reason),
        ];
    };
    let positive = card.is_positive(t.mu);
    let detail = format!(
        "r_T = {:.4e}, μ̂(r_T) = {:.4e} over {} points{}, round-off level {:.1e}",
        t.radius,
        t.mu,
        t.points,
        if t.searched {
            " (with a search at r_T)"
        } else {
            ""
        },
        card.positivity_threshold
    );
    let mut out = vec![Verdict::applies(
        pl,
        positive,
        "always applies (the ball the run used)".into(),
        detail,
    )];
    out.push(if positive {
        rate_bound(rate, card, run, t.mu, format!("μ̂(r_T) = {:.4e} > 0", t.mu))
    } else {
        Verdict::not_applicable(rate, format!("μ̂(r_T) = {:.4e} is not positive", t.mu))
    });
    out
}

/// `L(w_t) ≤ (1 − η μ)^t L(w₀)` at every step (the first failing step otherwise).
fn rate_bound(
    check: String,
    card: &TheoremCard,
    run: &RunRecords<'_>,
    mu: f64,
    reason: String,
) -> Verdict {
    let eta = run.eta;
    let first_fail = run
        .records
        .iter()
        .find(|r| r.loss > card.loss_bound(eta, mu, r.step) * (1.0 + SLACK) + f64::MIN_POSITIVE);
    let detail = match first_fail {
        None => format!(
            "held at all {} steps with η = {eta:.4e}, μ̂ = {mu:.4e} (1 − ημ̂ = {:.6})",
            run.records.len(),
            1.0 - eta * mu
        ),
        Some(r) => format!(
            "first failed at step {}: L = {:.4e} > bound {:.4e}",
            r.step,
            r.loss,
            card.loss_bound(eta, mu, r.step)
        ),
    };
    Verdict::applies(check, first_fail.is_none(), reason, detail)
}

/// Check 5: `‖∇L‖²/(2L) ≥ λ_min(K(w_t))` at every kernel evaluation.
fn pl_ratio(records: &[StepRecord]) -> Verdict {
    let check = "PL ratio ‖∇L‖²/(2L) ≥ λ_min(K(w_t)) at every evaluation".to_string();
    let evaluated: Vec<&StepRecord> = records.iter().filter(|r| r.lambda_min.is_some()).collect();
    if evaluated.is_empty() {
        return Verdict::not_applicable(check, "no kernel evaluation in the run".into());
    }
    let bad = evaluated.iter().find(|r| {
        let lmin = r.lambda_min.expect("filtered");
        r.pl_ratio < lmin - SLACK * r.lambda_max.unwrap_or(lmin).abs()
    });
    let detail = match bad {
        None => format!("held at all {} kernel evaluations", evaluated.len()),
        Some(r) => format!(
            "failed at step {}: pl_ratio = {:.4e} < λ_min = {:.4e}",
            r.step,
            r.pl_ratio,
            r.lambda_min.unwrap_or(f64::NAN)
        ),
    };
    Verdict::applies(
        check,
        bad.is_none(),
        "an identity (‖∇L‖² = rᵀKr): a failure is a numerical problem".into(),
        detail,
    )
}

/// Check 6: no trajectory point inside the certificate's searched ball is below its `μ̂`.
fn search_conservative(card: Option<&TheoremCard>, records: &[StepRecord]) -> Verdict {
    let check =
        "the certificate's search was conservative: λ_min(K(w_t)) ≥ μ̂(r_s) inside B(w₀, r_s)"
            .to_string();
    let Some(card) = card else {
        return Verdict::not_applicable(check, "no theorem card (card.enabled = false)".into());
    };
    let (Some(r_s), Some(mu)) = (card.certificate.searched_radius, card.certificate.mu) else {
        return Verdict::not_applicable(check, "no certificate".into());
    };
    let inside: Vec<&StepRecord> = records
        .iter()
        .filter(|r| r.lambda_min.is_some() && r.distance_from_init <= r_s * (1.0 + SLACK))
        .collect();
    if inside.is_empty() {
        return Verdict::not_applicable(
            check,
            "no kernel evaluation of the trajectory inside the searched ball".into(),
        );
    }
    let low = inside
        .iter()
        .map(|r| r.lambda_min.expect("filtered"))
        .fold(f64::INFINITY, f64::min);
    Verdict::applies(
        check,
        low >= mu - SLACK * card.lambda_max0,
        format!(
            "certified, {} trajectory evaluations inside r_s",
            inside.len()
        ),
        format!("trajectory min λ_min = {low:.4e}, certified μ̂ = {mu:.4e}, r_s = {r_s:.4e}"),
    )
}

/// Check 7: the target loss was reached (or why not, with the smallest loss reached).
fn target(
    target_loss: f64,
    steps_to_target: Option<usize>,
    final_loss: f64,
    epsilon_reached: f64,
    stop: &StopReason,
) -> Verdict {
    let detail = match steps_to_target {
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
    };
    Verdict::applies(
        format!("reached the target loss {target_loss:.1e}"),
        steps_to_target.is_some(),
        "always applies".into(),
        detail,
    )
}
