//! The theorem card on the matrix-free path: the constants at `w₀` where `K(w₀)` is too large to
//! form (`N = n·k` beyond the dense path's memory), with no search and no proof.
//!
//! - `λ₀`, `λ_max(K(w₀))` by Lanczos on the operator `v ↦ K v`
//!   ([`crate::measure::kernel::operator`]), each with its residual `‖K v − λ v‖`; `λ₀` is then
//!   the bottom Ritz value, an *upper* estimate of `λ_min(K(w₀))` (a Krylov space proves no lower
//!   bound), so `R(w₀) = 2 L_F(w₀) ‖r₀‖ / λ₀` is a lower estimate of the theorem's radius at `w₀`.
//! - `tr K(w₀)` and `max_i K_ii(w₀)` exactly, from the Jacobian's factors.
//! - `‖H_F(w₀)‖` by the alternation of [`hessian_operator_norm_from`] from the uniform `z`, on
//!   the Hessian-vector products over sample blocks
//!   ([`DerivativePath::HostBlocks`](crate::measure::hessian::DerivativePath::HostBlocks) on the
//!   CPU), with the searched points' settings (at most 6 rounds of 20 Lanczos steps): a lower
//!   estimate. The per-output start (`card.per_output_hessian`, one Lanczos run per equation) is
//!   not taken: `N` runs at this size would take hours.
//! - `√(r₀ᵀK₀⁻¹r₀)` is not computed (NaN: it places the search's radii, and there is no search).
//!
//! **Certificates.** The search (state *estimated*) measures `λ_min(K)` at every point it
//! visits, hundreds of operator products each: it is not run, and the certificate's state is
//! *none* with that reason. The proof (state *proved*) needs a lower bound on `λ₀`, which the
//! dense path gets from its eigensolver; here its state is *not applicable*, with the reason,
//! `λ₀⁻ = 0` (the only lower bound known for a positive semi-definite `K`) and `λ_max⁺ = ∞` (a
//! Ritz `λ_max` is a lower estimate; JSON `null`). The step size `auto` is then
//! `η*(w₀) = 1 / (λ_max(K(w₀)) + ‖H_F(w₀)‖ ‖r₀‖)`, constants at `w₀`, an upper estimate since
//! both terms are lower ones (THEORY.md, "What is measured, and how honest it is").

use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::{output_rho, searched_hessian_settings, CardProgress, InitMeasures, TheoremCard};
use crate::error::Result;
use crate::measure::hessian::{hessian_operator_norm_from, HOST_BLOCK_BYTES};
use crate::measure::kernel::operator::{
    operator_extremes, operator_tolerance, KernelOperator, OPERATOR_BLOCK,
};
use crate::measure::spectrum::KernelExtremes;
use crate::model::{download, Mlp, MlpConfig};
use crate::theorem::bound::smoothness_bound;
use crate::theorem::certificate::Certificate;
use crate::theorem::proved::{ProofState, ProvedCertificate};

/// `K(w₀)` as the operator path measured it: `λ_min`, `λ_max` by Lanczos with their residuals,
/// and `diag K`.
#[derive(Clone, Debug)]
pub struct OperatorKernel0 {
    /// The extremes ([`operator_extremes`]; `residuals` is `Some`).
    pub extremes: KernelExtremes,
    /// `diag K(w₀)` `[N]`.
    pub diagonal: Vec<f64>,
    /// Seconds the operator took (set-up, diagonal and products).
    pub seconds: f64,
}

impl OperatorKernel0 {
    /// `K(w₀)` of `model` on `x` by the operator: its factors kept up to `cache_limit` bytes,
    /// `diag K`, then Lanczos of at most `lanczos_steps` products at the round-off model's
    /// tolerance ([`operator_tolerance`]).
    ///
    /// Cost: `lanczos_steps` products of `4 n p` flops at most; memory the factors (or one
    /// block's) and `lanczos_steps + 2` vectors of `N`.
    pub fn at<B: Backend>(
        model: &Mlp<B>,
        x: &Tensor<B, 2>,
        lanczos_steps: usize,
        cache_limit: usize,
    ) -> Self {
        let started = Instant::now();
        let mut op = KernelOperator::new(model, x, OPERATOR_BLOCK, cache_limit);
        let diagonal = op.diagonal();
        let extremes = operator_extremes(&mut op, lanczos_steps, operator_tolerance::<B>(model));
        Self {
            extremes,
            diagonal,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// The expected seconds of [`operator_card`] with [`OperatorKernel0::at`] on the 2-core
/// development machine, for `N` equations, `p` parameters, at most `lanczos_steps` operator
/// products in `precision_bytes`-byte floats, and at most 120 Hessian-vector products in f64:
/// `(2.5e-11 s · (bytes / 4) · steps + 1.0e-10 s · 120) · N p`. Measured 2026-12-01 on
/// `configs/large-n.toml` at n = 32 768 in f32 (N p = 3.5e10), alone on the machine: 0.87 s
/// per product, about 7 min for at most 120 Hessian-vector products, 11.5 min in all. A guide for progress
/// displays, not a promise.
pub fn operator_card_seconds(
    equations: usize,
    parameters: usize,
    lanczos_steps: usize,
    precision_bytes: usize,
) -> f64 {
    let np = equations as f64 * parameters as f64;
    let product = 2.5e-11 * precision_bytes as f64 / 4.0;
    (product * lanczos_steps as f64 + 1.0e-10 * 120.0) * np
}

/// The bytes [`operator_card`] adds to the operator path's own (its factors and Lanczos
/// vectors, which the card's `K(w₀)` run shares) for `n` samples of `cfg`: one sample block's
/// kept f64 forward pass and product intermediates (ten values per sample and unit, at most
/// [`HOST_BLOCK_BYTES`]) and the 22 f64 vectors of `p` of the Hessian's Lanczos runs (20
/// steps, the start and a product).
pub fn operator_card_bytes(cfg: &MlpConfig, n: usize) -> u64 {
    let units: usize = cfg.layer_sizes().iter().sum();
    let block = (10 * 8 * units as u64 * n as u64).min(HOST_BLOCK_BYTES);
    block + 22 * 8 * cfg.parameter_count() as u64
}

/// The card of `model` (at `w₀`) on inputs `x` `[n, d]`, targets `y`, on the operator path, from
/// `kernel0` measured at the same point (module docs: constants at `w₀`, no search, no proof).
///
/// Cost: `‖H_F(w₀)‖`, at most 120 Hessian-vector products over sample blocks (each a forward,
/// a tangent and a differentiated reverse pass, about seven GEMMs of `n p` multiply-adds in
/// `f64`; about 7 min for them all at n = 32 768, p = 1.08e6), and `smoothness_bound`'s pass over
/// the inputs.
pub fn operator_card<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    kernel0: OperatorKernel0,
    progress: &mut dyn FnMut(&CardProgress),
) -> Result<TheoremCard> {
    progress(&CardProgress::Init {
        stage: "‖H_F(w₀)‖ (alternating Lanczos on Hessian-vector products over sample blocks)",
        estimate_seconds: None,
    });
    let hessian0 = hessian_operator_norm_from(model, x, &searched_hessian_settings(), None);
    let r0 = download(model.forward(x.clone()) - y.clone());
    let OperatorKernel0 {
        extremes,
        diagonal,
        seconds,
    } = kernel0;
    let residuals = extremes.residuals.clone();
    let init = InitMeasures {
        lambda0: extremes.lambda_min,
        lambda_max0: extremes.lambda_max,
        trace0: diagonal.iter().sum(),
        max_kernel_diagonal0: diagonal.iter().copied().fold(0.0, f64::max),
        hessian0,
        linearized_distance: f64::NAN,
        rho: output_rho(model, x),
        operator_residuals: residuals.clone(),
        lanczos: None,
        r0,
    };
    let mut card = TheoremCard::at_init(model, x, init);
    let (min_residual, iterations) = residuals.map_or((f64::NAN, 0), |r| (r.min, r.iterations));
    let ritz = format!(
        "λ₀ = {:.3e} is the bottom Ritz value of {iterations} Lanczos steps on the operator, \
         residual {min_residual:.1e}: an upper estimate of λ_min(K(w₀))",
        card.lambda0
    );
    // The proof needs λ₀ − φ > 0 as a lower bound; here λ₀ is an upper estimate, and a Ritz
    // λ_max a lower one: the only lower bound on λ_min of a PSD K is 0, no upper bound is known.
    let bound = smoothness_bound(model, x);
    let no_lower_bound = format!(
        "no lower bound on λ₀: {ritz}, and a Krylov space proves no lower bound; the dense \
         path's eigensolver gives one where K fits (--kernel-path dense)"
    );
    card.proved = Some(ProvedCertificate {
        state: ProofState::NotApplicable,
        lambda0_lower: 0.0,
        lambda_max_upper: f64::INFINITY,
        radius: None,
        mu_lower_bound: None,
        lipschitz_bound: None,
        beta_bound: None,
        eta_star: None,
        reason: match &bound.not_applicable {
            Some(why) => format!("{why}; besides, {no_lower_bound}"),
            None => no_lower_bound,
        },
        bound,
    });
    card.certificate = Certificate::none(card.not_certifiable().unwrap_or_else(|| {
        format!(
            "not searched: the operator path gives the constants at w₀ only; {ritz}. A search \
             measures λ_min(K) at every point it visits, as many operator products as at w₀ \
             ({seconds:.2} s here); --kernel-path dense searches where K fits"
        )
    }));
    card.diagnosis = card.certificate.reason.clone();
    Ok(card)
}
