//! Verdicts: does a finished run agree with the PL* theorem (THEORY.md)? Each check is `pass`,
//! `fail`, or `not_applicable` with the reason (a precondition that does not hold): a check never
//! passes because its premise is vacuous. Each records its preconditions in `reason`.
//!
//! With the certificate ([`crate::theorem::card::Certificate`], radius `R_c`, `μ̂(r_s)`, `η*`),
//! for gradient descent with `η ≤ η*` (else not applicable):
//! 1. stayed in the certified ball: `max_t ‖w_t − w₀‖ ≤ R_c`;
//! 2. the certified rate bound: `L(w_t) ≤ (1 − η μ̂(r_s))^t L(w₀)` at every step.
//!
//! With the proved certificate ([`crate::theorem::proved`], radius `r̄`, `μ_lb(r̄)`, `η̄*`), for
//! gradient descent with `η ≤ η̄*`, the same two checks on the proved ball: 1′ `max_t ‖w_t − w₀‖
//! ≤ r̄`, 2′ `L(w_t) ≤ (1 − η μ_lb)^t L(w₀)`. Each verdict's reason names the certificate it used.
//!
//! On the ball the run actually used, `r_T = max_t ‖w_t − w₀‖` (with a card, once a step was
//! taken):
//! 3. PL* there: `μ̂(r_T)` above the round-off floor ([`crate::theorem::card::TravelledBall`]);
//! 4. the rate bound with `μ̂(r_T)` at every step, for gradient descent with `η μ̂(r_T) ≤ 1`
//!    (not applicable when 3 fails, for SGD — the theorem's SGD bound holds in expectation
//!    only, not along one path — or when `η μ̂(r_T) > 1`, where the theorem says nothing).
//!
//! No check passes on an empty premise: a run that took no step has every ball and rate check
//! not applicable, and a PL ratio that is undefined (`L = 0`) is not counted.
//!
//! **Thresholds** come from the round-off model ([`crate::measure::roundoff`]): a loss may exceed
//! its bound by the loss's round-off floor, the PL ratio may fall below `λ_min` by the PL
//! identity's tolerance, an eigenvalue below `μ̂` by the eigenvalue floor, a distance above a
//! radius by the f64 sum's `p u₆₄`. `L(w₀)` is the run's step-0 loss, one number for the records
//! and the verdicts.
//!
//! And:
//! 5. `pl_ratio ≥ λ_min(K(w_t))` at every kernel evaluation (an identity: a failure means a
//!    numerical problem);
//! 6. the certificate's search was conservative: every trajectory point inside the certified
//!    search ball has `λ_min(K(w_t)) ≥ μ̂(r_s)`;
//! 7. the target loss was reached.

use serde::{Deserialize, Serialize};

use crate::measure::roundoff::{RoundOff, UNIT_ROUNDOFF_F64};
use crate::theorem::card::{TheoremCard, TravelledBall};
use crate::train::{Optimizer, StepRecord, StopReason};

mod target;

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
    /// The round-off model of the network in the run's working precision.
    pub round_off: RoundOff,
    /// `N = n·k`, the equations of the system (the size of `K`; `n` for a scalar network).
    pub equations: usize,
    /// `p`.
    pub parameters: usize,
}

impl RunRecords<'_> {
    /// The last step taken (0 when the run took no step).
    fn steps_taken(&self) -> usize {
        self.records.last().map_or(0, |r| r.step)
    }

    /// Where the run diverged after its last record (the loss there non-finite, or past the
    /// divergence factor, so never recorded): that step and its loss as text.
    fn diverged_unrecorded(&self) -> Option<(usize, &str)> {
        match self.stop {
            StopReason::Diverged { step, loss } if *step > self.steps_taken() => {
                Some((*step, loss.as_str()))
            }
            _ => None,
        }
    }

    /// Why a run with no record after `w₀` has nothing to judge: no step, or a divergence at
    /// the first steps, whose distance and kernel were never recorded.
    fn no_step(&self) -> String {
        match self.diverged_unrecorded() {
            Some((step, loss)) => format!(
                "the run diverged at step {step} (L = {loss}) before any record after w₀: no \
                 distance or kernel was measured on its way"
            ),
            None => NO_STEP.into(),
        }
    }

    /// `L(w₀)`: the step-0 record's loss, the one number the records' bound column uses too.
    fn loss0(&self) -> f64 {
        self.records.first().map_or(f64::NAN, |r| r.loss)
    }

    /// Whether a distance `d` (a sum of `p` squares in f64) is within `radius`, up to that sum's
    /// round-off (`p u₆₄` relative, deterministic: Higham §3.1).
    fn within(&self, d: f64, radius: f64) -> bool {
        d <= radius * (1.0 + self.parameters as f64 * UNIT_ROUNDOFF_F64)
    }
}

/// The reason every ball and rate check is not applicable to a run that took no step.
const NO_STEP: &str =
    "the run took no step (steps = 0 or the target was met at w₀): B(w₀, 0) is one point and \
     the bounds hold trivially there";

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
    verdicts.extend(proved_checks(card, run, max_distance));
    verdicts.extend(travelled_checks(card, travelled, run));
    verdicts.push(pl_ratio(run));
    verdicts.push(search_conservative(card, run));
    let card_only = matches!(run.stop, StopReason::StepBudget) && run.steps_taken() == 0;
    verdicts.push(target::target(
        run.target_loss,
        steps_to_target,
        (final_loss, epsilon_reached),
        run.stop,
        card_only,
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

/// A certificate's ball as checks 1–2 (and 1′–2′) read it: its radius, `μ`, step-size limit and
/// how the reason names it.
struct Ball {
    radius: f64,
    mu: f64,
    eta_star: f64,
    /// The reason's opening: which certificate, with its numbers.
    named: String,
}

/// How the checks on one certificate's ball are worded.
struct BallWords {
    ball: &'static str,
    rate: &'static str,
    /// The radius's symbol (`R_c`, `r̄`).
    radius: &'static str,
    /// The rate's `μ` (`μ̂`, `μ_lb`).
    mu: &'static str,
    /// The step-size limit (`η*`, `η̄*`) and who covers it (the theorem, the proof).
    eta: &'static str,
    covers: &'static str,
}

/// Checks 1 and 2, on the certified ball.
fn certified_checks(
    card: Option<&TheoremCard>,
    run: &RunRecords<'_>,
    max_distance: f64,
) -> Vec<Verdict> {
    let words = BallWords {
        ball: "stayed in the certified ball B(w₀, R_c)",
        rate: "certified rate bound L(w_t) ≤ (1 − η μ̂)^t L(w₀) at every step",
        radius: "R_c",
        mu: "μ̂",
        eta: "η*",
        covers: "the theorem",
    };
    ball_checks(card, run, max_distance, &words, |card| {
        let c = &card.certificate;
        let (true, Some(radius), Some(mu), Some(eta_star)) =
            (c.certified, c.radius, c.mu, c.eta_star)
        else {
            return Err(format!("no certificate: {}", c.reason));
        };
        Ok(Ball {
            radius,
            mu,
            eta_star,
            named: format!(
                "certificate {} (R_c = {radius:.4e}, μ̂ = {mu:.4e})",
                c.state.label()
            ),
        })
    })
}

/// Checks 1′ and 2′, on the proved ball: as checks 1 and 2 with the proved certificate's radius,
/// `μ_lb` and `η̄*` ([`crate::theorem::proved`]). A failure contradicts a proof: a bug in the bound
/// or in the measurement, never the theorem.
fn proved_checks(
    card: Option<&TheoremCard>,
    run: &RunRecords<'_>,
    max_distance: f64,
) -> Vec<Verdict> {
    let words = BallWords {
        ball: "stayed in the proved ball B(w₀, r̄)",
        rate: "proved rate bound L(w_t) ≤ (1 − η μ_lb)^t L(w₀) at every step",
        radius: "r̄",
        mu: "μ_lb",
        eta: "η̄*",
        covers: "the proof",
    };
    ball_checks(card, run, max_distance, &words, |card| {
        let Some(c) = card.proved.as_ref() else {
            return Err("the card has no proved certificate (written before it existed)".into());
        };
        let (true, Some(radius), Some(mu), Some(eta_star)) =
            (c.proved(), c.radius, c.mu_lower_bound, c.eta_star)
        else {
            return Err(format!(
                "no proved certificate ({}): {}",
                c.state.label(),
                c.reason
            ));
        };
        Ok(Ball {
            radius,
            mu,
            eta_star,
            named: format!(
                "certificate proved (bound): r̄ = {radius:.4e}, μ_lb = {mu:.4e}, β̄_F = {:.4e}",
                c.beta_bound.unwrap_or(f64::NAN)
            ),
        })
    })
}

/// The ball and rate checks on the ball `pick` gives (or not applicable with its reason): both
/// need gradient descent, `η` within the certificate's limit and at least one step.
fn ball_checks(
    card: Option<&TheoremCard>,
    run: &RunRecords<'_>,
    max_distance: f64,
    words: &BallWords,
    pick: impl Fn(&TheoremCard) -> std::result::Result<Ball, String>,
) -> Vec<Verdict> {
    let not_applicable = |reason: String| {
        vec![
            Verdict::not_applicable(words.ball.into(), reason.clone()),
            Verdict::not_applicable(words.rate.into(), reason),
        ]
    };
    let Some(card) = card else {
        return not_applicable("no theorem card (card.enabled = false)".into());
    };
    let ball = match pick(card) {
        Ok(ball) => ball,
        Err(reason) => return not_applicable(reason),
    };
    if matches!(run.optimizer, Optimizer::Sgd { .. }) {
        return not_applicable(
            "SGD: the theorem's ball and rate statements are for gradient descent (SGD has the \
             rate in expectation only)"
                .into(),
        );
    }
    let (eta, eta_star, limit) = (run.eta, ball.eta_star, words.eta);
    if eta > eta_star {
        return not_applicable(format!(
            "η = {eta:.4e} > {limit} = {eta_star:.4e}: {} covers η ≤ {limit} only",
            words.covers
        ));
    }
    let reason = format!(
        "{}, GD, η = {eta:.4e} ≤ {limit} = {eta_star:.4e}",
        ball.named
    );
    // A divergence breaks the rate bound even before any record; the ball check below is then
    // not applicable (the diverged distance was never measured).
    if run.steps_taken() == 0 && run.diverged_unrecorded().is_none() {
        return not_applicable(NO_STEP.into());
    }
    let inside = run.within(max_distance, ball.radius);
    let ball_verdict = match run.diverged_unrecorded() {
        // The diverged iterate's distance was never measured: only a recorded exit decides.
        Some((step, _)) if inside => Verdict::not_applicable(
            words.ball.into(),
            format!(
                "the run diverged at step {step}, whose distance was not recorded (the recorded \
                 steps stayed within {max_distance:.4e} ≤ {} = {:.4e})",
                words.radius, ball.radius
            ),
        ),
        _ => Verdict::applies(
            words.ball.into(),
            inside,
            reason.clone(),
            format!(
                "max_t ‖w_t − w₀‖ = {max_distance:.4e} vs {} = {:.4e}",
                words.radius, ball.radius
            ),
        ),
    };
    vec![
        ball_verdict,
        rate_bound(words.rate.into(), card, run, (ball.mu, words.mu), reason),
    ]
}

/// Checks 3 and 4, on the travelled ball.
fn travelled_checks(
    card: Option<&TheoremCard>,
    travelled: Option<&TravelledBall>,
    run: &RunRecords<'_>,
) -> Vec<Verdict> {
    let pl = "PL* on the travelled ball: μ̂(r_T) > 0".to_string();
    let rate = "rate bound with μ̂(r_T): L(w_t) ≤ (1 − η μ̂(r_T))^t L(w₀) at every step".to_string();
    let both_not_applicable = |reason: &str| {
        vec![
            Verdict::not_applicable(pl.clone(), reason.to_string()),
            Verdict::not_applicable(rate.clone(), reason.to_string()),
        ]
    };
    let (Some(card), Some(t)) = (card, travelled) else {
        return both_not_applicable("no theorem card (card.enabled = false)");
    };
    if run.steps_taken() == 0 {
        return both_not_applicable(&run.no_step());
    }
    if card.operator_residuals0.is_some() {
        return both_not_applicable(
            "operator path: μ̂(r_T) would rest on Lanczos Ritz values, upper estimates of λ_min, \
             and no search; a positive upper estimate cannot show λ_min > 0",
        );
    }
    let positive = card.is_positive(t.mu);
    let detail = format!(
        "r_T = {:.4e}, μ̂(r_T) = {:.4e} over {} points{}, round-off floor {:.1e}",
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
        "applies once a step was taken (the ball the run used)".into(),
        if positive {
            detail
        } else {
            format!("{detail}: μ̂(r_T) is at or below the round-off floor")
        },
    )];
    let eta_mu = run.eta * t.mu;
    out.push(if !positive {
        Verdict::not_applicable(
            rate,
            format!(
                "μ̂(r_T) = {:.4e} is not above the round-off floor {:.1e}",
                t.mu, card.positivity_threshold
            ),
        )
    } else if matches!(run.optimizer, Optimizer::Sgd { .. }) {
        Verdict::not_applicable(
            rate,
            "SGD: the bound (1 − η μ)^t L(w₀) is the theorem's gradient-descent bound; for SGD \
             the theorem bounds the loss in expectation only, not along one run"
                .into(),
        )
    } else if eta_mu > 1.0 {
        Verdict::not_applicable(
            rate,
            format!(
                "η μ̂(r_T) = {eta_mu:.4e} > 1: the factor 1 − η μ̂ is negative and the theorem \
                 (which needs η ≤ η* ≤ 1/μ) says nothing"
            ),
        )
    } else {
        rate_bound(
            rate,
            card,
            run,
            (t.mu, "μ̂"),
            format!("GD, μ̂(r_T) = {:.4e} > 0, η μ̂(r_T) = {eta_mu:.4e} ≤ 1", t.mu),
        )
    });
    out
}

/// `L(w_t) ≤ (1 − η μ)^t L(w₀)` at every step, up to the loss's round-off floor (the first
/// failing step otherwise), with `μ` named `symbol` (`μ̂` searched, `μ_lb` proved). `L(w₀)` is
/// the step-0 record's loss.
fn rate_bound(
    check: String,
    card: &TheoremCard,
    run: &RunRecords<'_>,
    (mu, symbol): (f64, &str),
    reason: String,
) -> Verdict {
    let eta = run.eta;
    let loss0 = run.loss0();
    let bound = |step: usize| (1.0 - eta * mu).powi(step as i32) * loss0;
    let first_fail = run.records.iter().find(|r| {
        !holds(
            r.loss,
            bound(r.step) + card.loss_floor(r.loss, r.distance_from_init),
        )
    });
    let diverged = run.diverged_unrecorded().filter(|_| first_fail.is_none());
    if let Some((step, loss)) = diverged {
        // Divergence: L(w_step) was non-finite or above divergence_factor · L(w₀) ≥ L(w₀),
        // above the bound, which never exceeds L(w₀).
        return Verdict::applies(
            check,
            false,
            reason,
            format!(
                "failed at step {step}: the loss diverged (L = {loss}) against the bound {:.6e}",
                bound(step)
            ),
        );
    }
    let detail = match first_fail {
        None => format!(
            "held at all {} steps with η = {eta:.4e}, {symbol} = {mu:.4e} (1 − η{symbol} = {:.6})",
            run.records.len(),
            1.0 - eta * mu
        ),
        Some(r) => format!(
            "first failed at step {}: L = {:.6e} > bound {:.6e} + round-off floor {:.1e}",
            r.step,
            r.loss,
            bound(r.step),
            card.loss_floor(r.loss, r.distance_from_init)
        ),
    };
    Verdict::applies(check, first_fail.is_none(), reason, detail)
}

/// Check 5: `‖∇L‖²/(2L) ≥ λ_min(K(w_t))` at every kernel evaluation where the ratio is defined
/// (`L > 0`), up to the PL identity's round-off tolerance (with `tr K ≤ n λ_max`).
fn pl_ratio(run: &RunRecords<'_>) -> Verdict {
    let check = "PL ratio ‖∇L‖²/(2L) ≥ λ_min(K(w_t)) at every evaluation".to_string();
    let evaluated: Vec<&StepRecord> = run
        .records
        .iter()
        .filter(|r| r.lambda_min.is_some())
        .collect();
    if evaluated.is_empty() {
        return Verdict::not_applicable(
            check,
            "no kernel evaluation with λ_min in the run (the matrix-free operator records λ_min \
             only where its Lanczos run met the tolerance)"
                .into(),
        );
    }
    if run.steps_taken() == 0 {
        // One point, no trajectory: `plstar ntk` checks the identity at a point.
        return Verdict::not_applicable(check, run.no_step());
    }
    let defined: Vec<&StepRecord> = evaluated
        .iter()
        .copied()
        .filter(|r| !r.pl_ratio.is_nan())
        .collect();
    if defined.is_empty() {
        return Verdict::not_applicable(
            check,
            "the PL ratio is undefined (L = 0) at every kernel evaluation".into(),
        );
    }
    let n = run.equations;
    let tolerance = |r: &StepRecord| {
        let lmax = r.lambda_max.unwrap_or(0.0).abs();
        2.0 * run.round_off.eigenvalue_floor_from_lambda_max(n, lmax)
    };
    let bad = defined.iter().find(|r| {
        let lmin = r.lambda_min.expect("filtered");
        !holds(lmin - tolerance(r), r.pl_ratio)
    });
    let undefined = evaluated.len() - defined.len();
    let detail = match bad {
        None => format!(
            "held at all {} kernel evaluations{}",
            defined.len(),
            if undefined > 0 {
                format!(" ({undefined} more with L = 0, where it is undefined)")
            } else {
                String::new()
            }
        ),
        Some(r) => format!(
            "failed at step {}: pl_ratio = {:.6e} < λ_min = {:.6e} − round-off tolerance {:.1e}",
            r.step,
            r.pl_ratio,
            r.lambda_min.unwrap_or(f64::NAN),
            tolerance(r)
        ),
    };
    Verdict::applies(
        check,
        bad.is_none(),
        "an identity (‖∇L‖² = rᵀKr): a failure is a numerical problem".into(),
        detail,
    )
}

/// Check 6: no trajectory point after `w₀` inside the certificate's searched ball is below its
/// `μ̂` by more than the eigenvalue floor (`w₀` itself is among the searched points: checking it
/// would be vacuous).
fn search_conservative(card: Option<&TheoremCard>, run: &RunRecords<'_>) -> Verdict {
    let check =
        "the certificate's search was conservative: λ_min(K(w_t)) ≥ μ̂(r_s) inside B(w₀, r_s)"
            .to_string();
    let Some(card) = card else {
        return Verdict::not_applicable(check, "no theorem card (card.enabled = false)".into());
    };
    let (Some(r_s), Some(mu)) = (card.certificate.searched_radius, card.certificate.mu) else {
        return Verdict::not_applicable(check, "no certificate".into());
    };
    let inside: Vec<&StepRecord> = run
        .records
        .iter()
        .filter(|r| r.step > 0 && r.lambda_min.is_some() && run.within(r.distance_from_init, r_s))
        .collect();
    if inside.is_empty() {
        return Verdict::not_applicable(
            check,
            "no kernel evaluation of the trajectory after w₀ inside the searched ball".into(),
        );
    }
    let low = inside
        .iter()
        .map(|r| r.lambda_min.expect("filtered"))
        .fold(f64::INFINITY, f64::min);
    Verdict::applies(
        check,
        low >= mu - card.positivity_threshold,
        format!(
            "searched μ̂(r_s), {} trajectory evaluations after w₀ inside r_s",
            inside.len()
        ),
        format!(
            "trajectory min λ_min = {low:.4e}, searched μ̂ = {mu:.4e} (round-off floor {:.1e}), \
             r_s = {r_s:.4e}",
            card.positivity_threshold
        ),
    )
}

/// `a ≤ b`, false when either is NaN (a NaN never passes a check).
fn holds(a: f64, b: f64) -> bool {
    matches!(
        a.partial_cmp(&b),
        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
    )
}
