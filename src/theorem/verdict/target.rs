//! Check 7 of [`super::judge`]: the target loss.

use super::Verdict;
use crate::train::StopReason;

/// Check 7: the target loss was reached (or why not, with the smallest loss reached).
pub(super) fn target(
    target_loss: f64,
    steps_to_target: Option<usize>,
    (final_loss, epsilon_reached): (f64, f64),
    stop: &StopReason,
    card_only: bool,
) -> Verdict {
    if card_only && steps_to_target.is_none() {
        // A step budget of 0 (a card-only run) never tried to reach the target.
        return Verdict::not_applicable(
            format!("reached the target loss {target_loss:.1e}"),
            "a step budget of 0 (a card-only run): no step was asked for".into(),
        );
    }
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
