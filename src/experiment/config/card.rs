//! `[card]`: the theorem card's search settings.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::theorem::card::CardSettings;
use crate::theorem::search::SearchSettings;

/// `[card]`: the theorem card (searches of balls around `w₀`) computed before training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSection {
    /// Compute the card (needed for `learning_rate = "auto"` and the theorem's verdicts).
    #[serde(default = "super::default_true")]
    pub enabled: bool,
    /// Starts per radius and search (−g, +g, the warm start, then random directions).
    #[serde(default = "default_restarts")]
    pub restarts: usize,
    /// Gradient evaluations per start of each search.
    #[serde(default = "default_search_steps")]
    pub steps: usize,
    /// Grid radii per doubling.
    #[serde(default = "default_radii_per_octave")]
    pub radii_per_octave: usize,
    /// The most grid radii.
    #[serde(default = "default_max_radii")]
    pub max_radii: usize,
    /// Absolute radii searched besides the grid.
    #[serde(default)]
    pub extra_radii: Vec<f64>,
    /// Measure ‖H_F‖ at the best points of every radius (w₀ always is).
    #[serde(default = "super::default_true")]
    pub hessian_at_searched: bool,
    /// Keep searching radii above the certificate.
    #[serde(default)]
    pub search_past_certificate: bool,
    /// Keep `‖H_F(w₀)‖` at least `max_r ‖H_{F_r}(w₀)‖₂`, one Lanczos run per equation (`N`
    /// runs: tens of minutes at N ≈ 20 000); false starts the alternation from the uniform `z`
    /// alone.
    #[serde(default = "super::default_true")]
    pub per_output_hessian: bool,
}

impl Default for CardSection {
    fn default() -> Self {
        let c = CardSettings::default();
        Self {
            enabled: true,
            restarts: c.search.restarts,
            steps: c.search.steps,
            radii_per_octave: c.radii_per_octave,
            max_radii: c.max_radii,
            extra_radii: c.extra_radii,
            hessian_at_searched: c.hessian_at_searched,
            search_past_certificate: c.search_past_certificate,
            per_output_hessian: c.per_output_hessian,
        }
    }
}

impl CardSection {
    /// The card settings, the searches seeded with the run's seed.
    pub fn settings(&self, seed: u64) -> CardSettings {
        CardSettings {
            search: SearchSettings {
                restarts: self.restarts,
                steps: self.steps,
                seed,
            },
            radii_per_octave: self.radii_per_octave,
            max_radii: self.max_radii,
            extra_radii: self.extra_radii.clone(),
            hessian_at_searched: self.hessian_at_searched,
            search_past_certificate: self.search_past_certificate,
            per_output_hessian: self.per_output_hessian,
        }
    }

    /// Checks the section: every extra radius finite and `> 0`; `restarts`, `radii_per_octave`
    /// and `max_radii` at least 1.
    pub(super) fn check(&self) -> Result<()> {
        if self
            .extra_radii
            .iter()
            .any(|r| !(r.is_finite() && *r > 0.0))
        {
            return Err(Error::config(
                "card.extra_radii",
                format!(
                    "every radius is an absolute distance ‖w − w₀‖ > 0, got {:?}",
                    self.extra_radii
                ),
            ));
        }
        for (key, value) in [
            ("card.restarts", self.restarts),
            ("card.radii_per_octave", self.radii_per_octave),
            ("card.max_radii", self.max_radii),
        ] {
            if value == 0 {
                return Err(Error::config(key, "must be ≥ 1, got 0"));
            }
        }
        Ok(())
    }
}

fn default_restarts() -> usize {
    SearchSettings::default().restarts
}
fn default_search_steps() -> usize {
    SearchSettings::default().steps
}
fn default_radii_per_octave() -> usize {
    CardSettings::default().radii_per_octave
}
fn default_max_radii() -> usize {
    CardSettings::default().max_radii
}
