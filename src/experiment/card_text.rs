//! The theorem card in words and tables: what the terminal prints, `report.md` shows and
//! `summary.json` cites as the source of each figure.

use crate::experiment::step::StepSize;
use crate::theorem::card::TheoremCard;

/// Where each figure of the card came from.
pub fn card_sources(c: &TheoremCard) -> Vec<(String, String)> {
    if c.operator_residuals0.is_some() {
        return operator_card_sources();
    }
    let searched = c.profile.iter().filter(|e| e.searched).count();
    vec![
        (
            "lambda0, lambda_max0, lipschitz_f0, hessian_norm0, residual_norm0, loss0, rho, \
             linearized_distance, radius0, eta_star0"
                .into(),
            "w0 (exact up to floating point; ‖H_F‖ by alternating maximization, a lower bound \
             when not converged)"
                .into(),
        ),
        (
            "profile (mu, lipschitz_f, beta_f per radius)".into(),
            format!(
                "{searched} balls B(w0, r) searched inward out, {} points measured in all: \
                 projected descent on λ_min(K) and ascent on λ_max(K) with exact gradients; \
                 β̂_F = max ‖H_F‖ at w0 and the best points (lower bounds)",
                c.points.len()
            ),
        ),
        (
            "certificate".into(),
            "the smallest searched r with μ̂(r) above the eigenvalue round-off floor \
             and r ≥ R(r) = 2 L̂_F(r) ‖r0‖ / μ̂(r); certified radius R(r), \
             η* = 1/(L̂_F(r)² + β̂_F(r) ‖r0‖); state: estimated (a search), or not certified \
             when β̂_F was measured at w0 only"
                .into(),
        ),
        (
            "proved".into(),
            "bounds, not a search: β̄_F(r) ≥ sup over B(w0, r) of ‖H_F‖ from w0's weights and the \
             inputs' spectral norm (theorem::bound; every depth, identity output), μ_lb(r) = \
             (√λ0⁻ − β̄_F(r) r)₊², L̄_F(r) = √λ_max⁺ + β̄_F(r) r with λ0⁻ = λ0 − margin, λ_max⁺ = \
             λ_max + margin: the eigenvalue round-off floor φ, plus above 1 024 equations the \
             Lanczos residual and a Cholesky test's shift; proved radius: the smallest r with \
             μ_lb(r) > 0 and r ≥ 2 L̄_F(r) ‖r0‖ / μ_lb(r), η̄* = 1/(L̄_F(r)² + β̄_F(r) ‖r0‖)"
                .into(),
        ),
        (
            "verdicts.travelled".into(),
            "B(w0, r_T), r_T = max_t ‖w_t − w0‖: the card's points inside it, the trajectory's \
             kernel evaluations and a descent search at r_T"
                .into(),
        ),
    ]
}

/// On the operator path, the note that a value divided by `λ₀` (an upper estimate there) is a
/// lower estimate; empty on the dense path.
fn lower_estimate(c: &TheoremCard) -> &'static str {
    if c.operator_residuals0.is_some() {
        " (lower estimate: λ₀ is an upper one)"
    } else {
        ""
    }
}

/// [`card_sources`] of the operator path's card ([`crate::theorem::card::operator_card`]).
fn operator_card_sources() -> Vec<(String, String)> {
    vec![
        (
            "lambda0, lambda_max0, operator_residuals0".into(),
            "w0, Lanczos on the matrix-free operator v ↦ K v: lambda0 is the bottom Ritz value, \
             an upper estimate of λ_min(K(w0)), with its residual ‖Kv − λv‖"
                .into(),
        ),
        (
            "trace0, lipschitz_f0, hessian_norm0, residual_norm0, loss0, rho, radius0, eta_star0"
                .into(),
            "w0 (tr K exact from the Jacobian's factors; ‖H_F‖ by alternating maximization on \
             Hessian-vector products over sample blocks, at most 6 rounds, a lower estimate); \
             radius0 = 2 L_F(w0) ‖r0‖ / lambda0, a lower estimate since lambda0 is an upper one"
                .into(),
        ),
        (
            "certificate, proved".into(),
            "none on the operator path: no ball search (each point would cost a Lanczos run on \
             the operator) and no proof (no lower bound on lambda0); the reasons say so"
                .into(),
        ),
        (
            "verdicts.travelled".into(),
            "not applicable on the operator path: μ̂(r_T) would rest on Lanczos Ritz values, \
             upper estimates of λ_min"
                .into(),
        ),
    ]
}

/// The card as `(label, value, source)` rows, for the terminal ([`aligned_rows`]) and the
/// report. The step size's row names where `η` came from in its source column (`config`,
/// `--learning-rate`, or the card's rule for `auto`).
pub fn card_rows(c: &TheoremCard, step: &StepSize) -> Vec<(String, String, String)> {
    let f = |v: f64| format!("{v:.4e}");
    let cert = &c.certificate;
    let mut rows = vec![
        match c.outputs {
            1 => (
                "n, p, width m, depth L".into(),
                format!("{}, {}, {}, {}", c.n, c.p, c.width, c.depth),
                "config",
            ),
            k => (
                "N = n·k, p, width m, depth L".into(),
                format!(
                    "{} = {}·{k}, {}, {}, {}",
                    c.n,
                    c.n / k,
                    c.p,
                    c.width,
                    c.depth
                ),
                "config",
            ),
        },
        match &c.operator_residuals0 {
            None => ("λ₀ = λ_min(K(w₀))".into(), f(c.lambda0), "w₀"),
            Some(r) => (
                "λ₀ = λ_min(K(w₀))".into(),
                format!(
                    "{} (Ritz value, an upper estimate: residual {:.1e}, {} steps{})",
                    f(c.lambda0),
                    r.min,
                    r.iterations,
                    if r.converged { "" } else { ", unconverged" }
                ),
                "w₀, Lanczos on the operator",
            ),
        },
        lambda_max_row(c),
        hessian_row(c),
        ("‖F(w₀) − y‖".into(), f(c.residual_norm0), "w₀"),
        ("ρ = min |σ_out'|".into(), f(c.rho), "w₀"),
        (
            "GD distance, linearized √(r₀ᵀK₀⁻¹r₀)".into(),
            if c.operator_residuals0.is_some() {
                "— (not computed on the operator path)".into()
            } else {
                f(c.linearized_distance)
            },
            "w₀",
        ),
        (
            "R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀".into(),
            format!("{}{}", f(c.radius0), lower_estimate(c)),
            "w₀",
        ),
        (
            "κ(w₀) = λ_max/λ₀".into(),
            format!("{}{}", condition(c.condition_number0), lower_estimate(c)),
            "w₀",
        ),
        (
            "round-off floor of eigenvalues".into(),
            format!("{:.1e}", c.positivity_threshold),
            "w₀",
        ),
        ("certificate".into(), cert.state.label().into(), "search"),
    ];
    rows.extend(search_rows(c));
    rows.extend(proved_rows(c));
    rows.extend([
        ("η used".into(), f(step.value), step.source.as_str()),
        (
            "κ = 1/(η μ)".into(),
            step.condition_number.map_or("—".into(), condition),
            if c.proved_eta_star().is_some() {
                "proved"
            } else if cert.certified {
                "search"
            } else {
                "w₀"
            },
        ),
    ]);
    rows.into_iter()
        .map(|(k, v, src)| (k, v, src.to_string()))
        .collect()
}

/// The searched certificate's rows: with a certificate the searched radius, `μ̂`, `L̂_F`,
/// `β̂_F`, the certified radius and `η*`; without one, `η*(w₀)` from `w₀` alone.
fn search_rows(c: &TheoremCard) -> Vec<(String, String, &'static str)> {
    let f = |v: f64| format!("{v:.4e}");
    let opt = |v: Option<f64>| v.map_or("—".to_string(), f);
    let cert = &c.certificate;
    if cert.certified {
        vec![
            (
                "searched radius r_s".into(),
                opt(cert.searched_radius),
                "search",
            ),
            ("μ̂(r_s) = min λ_min(K)".into(), opt(cert.mu), "search"),
            (
                "L̂_F(r_s) = max √λ_max(K)".into(),
                opt(cert.lipschitz_f),
                "search",
            ),
            (
                "β̂_F(r_s) = max ‖H_F‖".into(),
                opt(cert.beta_f),
                "search (lower bound)",
            ),
            (
                "certified radius R_c = 2 L̂_F ‖r₀‖ / μ̂".into(),
                opt(cert.radius),
                "search",
            ),
            (
                "η* = 1/(L̂_F² + β̂_F ‖r₀‖)".into(),
                opt(cert.eta_star),
                "search",
            ),
        ]
    } else {
        vec![(
            "η*(w₀) = 1/(λ_max + ‖H_F‖ ‖r₀‖)".into(),
            f(c.eta_star0),
            "w₀",
        )]
    }
}

/// The proved certificate's rows: its state, and with a proof the radius, `μ_lb`, `L̄_F`, `β̄_F`
/// and `η̄*` (the reason is [`proved_line`]).
fn proved_rows(c: &TheoremCard) -> Vec<(String, String, &'static str)> {
    let Some(p) = c.proved.as_ref() else {
        return vec![];
    };
    let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4e}"));
    let mut rows = vec![(
        "proved certificate".to_string(),
        p.state.label().to_string(),
        "bound",
    )];
    if p.proved() {
        rows.extend([
            ("proved radius r̄ (r̄ ≥ R̄(r̄))".into(), f(p.radius), "bound"),
            (
                "μ_lb(r̄) = (√λ₀⁻ − β̄_F r̄)₊²".into(),
                f(p.mu_lower_bound),
                "bound",
            ),
            (
                "L̄_F(r̄) = √λ_max⁺ + β̄_F r̄".into(),
                f(p.lipschitz_bound),
                "bound",
            ),
            ("β̄_F(r̄) ≥ sup ‖H_F‖".into(), f(p.beta_bound), "bound"),
            ("η̄* = 1/(L̄_F² + β̄_F ‖r₀‖)".into(), f(p.eta_star), "bound"),
        ]);
    }
    rows
}

/// The proved certificate's reason in one line (`proved: …`, `not proved: …`, `proof not
/// applicable: …`), printed under the card beside the search's diagnosis; empty for a card
/// without one.
pub fn proved_line(c: &TheoremCard) -> String {
    let Some(p) = c.proved.as_ref() else {
        return String::new();
    };
    let head = match p.state {
        crate::theorem::proved::ProofState::Proved => "proved (bound)",
        crate::theorem::proved::ProofState::None => "not proved (bound)",
        crate::theorem::proved::ProofState::NotApplicable => "proof not applicable",
    };
    format!("{head}: {}", p.reason)
}

/// The width of `text` on a terminal, in columns: its characters less the combining marks
/// (the hats of `μ̂`, `L̂_F`, `β̂_F` take no column of their own).
pub fn display_width(text: &str) -> usize {
    text.chars()
        .filter(|&c| !matches!(c, '\u{0300}'..='\u{036F}' | '\u{20D0}'..='\u{20FF}'))
        .count()
}

/// `(label, value, source)` rows as lines `label  value  [source]`, each column padded to its
/// widest entry (by [`display_width`]), so that every row lines up.
pub fn aligned_rows(rows: &[(String, String, String)]) -> Vec<String> {
    let widest = |column: fn(&(String, String, String)) -> &str| {
        rows.iter()
            .map(|r| display_width(column(r)))
            .max()
            .unwrap_or(0)
    };
    let (label_width, value_width) = (widest(|r| &r.0), widest(|r| &r.1));
    let pad = |text: &str, width: usize| {
        format!(
            "{text}{}",
            " ".repeat(width.saturating_sub(display_width(text)))
        )
    };
    rows.iter()
        .map(|(k, v, src)| format!("{}  {}  [{src}]", pad(k, label_width), pad(v, value_width)))
        .collect()
}

/// A condition number, or `inf (singular at round-off)`.
pub fn condition(kappa: f64) -> String {
    if kappa.is_finite() {
        format!("{kappa:.4e}")
    } else {
        crate::measure::roundoff::SINGULAR.into()
    }
}

/// The card's `λ_max(K(w₀))` row: on the operator path the top Ritz value with its residual,
/// a lower estimate until it converged.
fn lambda_max_row(c: &TheoremCard) -> (String, String, &'static str) {
    let f = |v: f64| format!("{v:.4e}");
    match &c.operator_residuals0 {
        None => ("λ_max(K(w₀))".into(), f(c.lambda_max0), "w₀"),
        Some(r) => (
            "λ_max(K(w₀))".into(),
            format!(
                "{} (residual {:.1e}{})",
                f(c.lambda_max0),
                r.max,
                if r.converged || r.max_converged_at.is_some() {
                    ""
                } else {
                    ", unconverged: a lower estimate"
                }
            ),
            "w₀, Lanczos on the operator",
        ),
    }
}

/// The card's `‖H_F(w₀)‖` row. On the operator path it runs with the searched points' settings
/// (at most 6 rounds of 20 Lanczos steps, from the uniform z): a local maximum, which the dense
/// card's 30 × 30 from the best per-output start can exceed (digits10-small: 1.480 against
/// 1.655).
fn hessian_row(c: &TheoremCard) -> (String, String, &'static str) {
    let value = hessian(c.hessian_norm0, c.hessian_norm0_converged);
    match &c.operator_residuals0 {
        None => ("‖H_F(w₀)‖".into(), value, "w₀"),
        Some(_) => (
            "‖H_F(w₀)‖".into(),
            format!("{value} (a local maximum of ≤ 6 × 20 Lanczos steps: a lower estimate)"),
            "w₀, alternation on blocked Hessian-vector products",
        ),
    }
}

fn hessian(value: f64, converged: bool) -> String {
    if converged {
        format!("{value:.4e}")
    } else {
        format!("{value:.4e} (lower bound: not converged)")
    }
}

/// The profile `μ̂(r)`, `L̂_F(r)`, `β̂_F(r)`, `R(r)` as a markdown table.
pub fn profile_markdown(c: &TheoremCard) -> String {
    let mut md = String::from(
        "| r | μ̂(r) | L̂_F(r) | β̂_F(r) | R(r) | points | |\n|---|---|---|---|---|---|---|\n",
    );
    for e in &c.profile {
        md.push_str(&format!(
            "| {:.3e} | {:.4e} | {:.4e} | {}{} | {:.3e} | {} | {} |\n",
            e.radius,
            e.mu,
            e.lipschitz_f,
            format_args!("{:.4e}", e.beta_f),
            match (e.beta_f_converged, e.beta_f_searched) {
                (true, true) => "",
                (false, true) => " (lower bound)",
                (_, false) => " (not measured at this ball's searched points: it does not certify)",
            },
            e.theorem_radius,
            e.points,
            if !e.searched {
                "not searched"
            } else if c.is_positive(e.mu) && e.theorem_radius <= e.radius {
                "r ≥ R(r)"
            } else {
                ""
            }
        ));
    }
    md
}
