//! The estimated certificate: the theorem's ball with the constants a search measured
//! ([`super::card`]'s profile), and what it rests on ([`CertificateState`]). The proved
//! certificate, from bounds, is [`super::proved`].
//!
//! At the smallest grid radius `r_s` with `μ̂(r_s) > 0` and `r_s ≥ R(r_s)`, the constants over
//! `B(w₀, R(r_s)) ⊆ B(w₀, r_s)` are at least as good, so the certified radius is `R(r_s)`, with
//! `η* = 1 / (L̂_F(r_s)² + β̂_F(r_s) ‖F(w₀) − y‖)` (module docs of [`super::card`]).

use serde::{Deserialize, Serialize};

use super::card::TheoremCard;
/// The state of a certificate (THEORY.md, "What is measured, and how honest it is").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    /// Estimated by a search: `μ̂`, `L̂_F` and `β̂_F` are extremes over the points a constrained
    /// search visited (μ̂ and L̂_F at every searched point, β̂_F at `w₀` and the searched points);
    /// the theorem holds on the certified ball as far as measured.
    Estimated,
    /// The search found a radius with `μ̂(r) > 0` and `r ≥ R(r)`, but `β̂_F` was measured at `w₀`
    /// only (`hessian_at_searched = false`): `η*` rests on one point and is not certified.
    BetaAtInitOnly,
    /// No certificate (the reason says why).
    None,
}

impl CertificateState {
    /// `estimated`, `β̂_F at w₀ only` or `none`, for people.
    pub fn label(self) -> &'static str {
        match self {
            CertificateState::Estimated => "estimated (search)",
            CertificateState::BetaAtInitOnly => "not certified: β̂_F measured at w₀ only",
            CertificateState::None => "none",
        }
    }
}

/// The certificate: where the theorem applies, as far as the search measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Whether some searched ball satisfies `μ̂(r) > 0` and `r ≥ R(r)` with `β̂_F` measured at
    /// the searched points (the state is [`CertificateState::Estimated`]).
    pub certified: bool,
    /// What the certificate rests on.
    pub state: CertificateState,
    /// The certified radius `R(r_s)` (see the module docs).
    pub radius: Option<f64>,
    /// `r_s`, the searched radius whose constants certify.
    pub searched_radius: Option<f64>,
    /// `μ̂(r_s)`.
    pub mu: Option<f64>,
    /// `L̂_F(r_s)`.
    pub lipschitz_f: Option<f64>,
    /// `β̂_F(r_s)`.
    pub beta_f: Option<f64>,
    /// `η* = 1 / (L̂_F(r_s)² + β̂_F(r_s) ‖r₀‖)`.
    pub eta_star: Option<f64>,
    /// The grid radii a search ran on (ascending; the profile lists every grid radius).
    pub searched_radii: Vec<f64>,
    /// `μ̂(r)` at each of `searched_radii`.
    pub mu_profile: Vec<f64>,
    /// Why it is (or is not) certified, in plain words.
    pub reason: String,
}

impl Certificate {
    /// No certificate, for `reason`.
    pub(crate) fn none(reason: String) -> Self {
        Self {
            certified: false,
            state: CertificateState::None,
            radius: None,
            searched_radius: None,
            mu: None,
            lipschitz_f: None,
            beta_f: None,
            eta_star: None,
            searched_radii: vec![],
            mu_profile: vec![],
            reason,
        }
    }

    /// The certificate of a searched profile: the smallest searched radius `r` with
    /// `μ̂(r) > 0` and `r ≥ R(r)`.
    pub(crate) fn from_profile(card: &TheoremCard) -> Self {
        let mut c = Self::none(String::new());
        // Only the radii a search ran on: a grid radius past the certifying one is not searched
        // and carries a smaller ball's μ̂ in the profile (`profile[i].searched` says which).
        let searched = || card.profile.iter().filter(|e| e.searched);
        c.searched_radii = searched().map(|e| e.radius).collect();
        c.mu_profile = searched().map(|e| e.mu).collect();
        let found = card
            .profile
            .iter()
            .find(|e| e.searched && card.is_positive(e.mu) && e.theorem_radius <= e.radius);
        let largest = card.profile.iter().rev().find(|e| e.searched);
        match (found, largest) {
            (Some(e), _) => {
                let eta = 1.0 / (e.lipschitz_f.powi(2) + e.beta_f * card.residual_norm0);
                c.state = if e.beta_f_searched {
                    CertificateState::Estimated
                } else {
                    CertificateState::BetaAtInitOnly
                };
                c.certified = c.state == CertificateState::Estimated;
                c.radius = Some(e.theorem_radius);
                c.searched_radius = Some(e.radius);
                c.mu = Some(e.mu);
                c.lipschitz_f = Some(e.lipschitz_f);
                c.beta_f = Some(e.beta_f);
                c.eta_star = Some(eta);
                let found = format!(
                    "on B(w₀, r = {:.3e}) the search found μ̂ = {:.3e} > 0 over {} points, and \
                     r ≥ R = 2 L̂_F ‖r₀‖ / μ̂ = {:.3e}",
                    e.radius, e.mu, e.points, e.theorem_radius,
                );
                c.reason = if c.certified {
                    format!(
                        "certified (estimated by a search): {found}; PL* holds on B(w₀, R) as far \
                         as measured, η* = {eta:.3e}{}",
                        if e.beta_f_converged {
                            ""
                        } else {
                            " (‖H_F‖ did not converge everywhere: β̂_F is a lower bound)"
                        }
                    )
                } else {
                    format!(
                        "not certified: {found}, but β̂_F = ‖H_F(w₀)‖ was measured at w₀ only \
                         (card.hessian_at_searched = false), so η* = {eta:.3e} rests on one point; \
                         set hessian_at_searched = true to certify"
                    )
                };
            }
            (None, Some(e)) if !card.is_positive(e.mu) => {
                c.reason = format!(
                    "not certified: the search found λ_min(K) = {:.3e}, at or below the round-off \
                     floor {:.1e}, inside B(w₀, {:.3e}); the width is too small for the theorem's \
                     ball",
                    e.mu, card.positivity_threshold, e.radius
                );
            }
            (None, Some(e)) => {
                c.reason = format!(
                    "not certified up to the largest radius searched, r = {:.3e}: there \
                     μ̂ = {:.3e} gives R = {:.3e} > r (R(w₀) = {:.3e}); the width is too small \
                     for the theorem's ball",
                    e.radius, e.mu, e.theorem_radius, card.radius0
                );
            }
            (None, None) => c.reason = "not certified: no radius was searched".into(),
        }
        c
    }
}
