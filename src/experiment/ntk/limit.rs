//! The `ntk` report's infinite-width part: `K∞` of the architecture on the data, its extremes
//! and its gap to `K(w)`, formed densely on the dense path and applied matrix-free
//! ([`LimitOperator`]) on the operator path.

use std::time::Instant;

use serde::Serialize;

use crate::error::Result;
use crate::experiment::config::Settings;
use crate::measure::infinite::operator::LimitOperator;
use crate::measure::infinite::{dual_closed_form, limit_kernel, DualMethod, GaussianPair};
use crate::measure::kernel::operator::{
    operator_extremes, relative_gap_estimate, GapEstimate, OPERATOR_LANCZOS_TOL,
};
use crate::measure::kernel::TangentKernel;
use crate::measure::roundoff::RoundOff;
use crate::measure::spectrum::{kernel_extremes, EigenResiduals, KernelExtremes};

use super::DENSE_LIMIT;

/// The infinite-width kernel `K∞ = lim_{m→∞} K(w₀)` of the architecture on the data
/// ([`limit_kernel`]), as reported.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum InfiniteWidth {
    /// `K∞` exists and was computed.
    Computed {
        /// `λ_min(K∞)` (on the operator path, the bottom Ritz value: `≥ λ_min`, with an
        /// eigenvalue within `residuals.min` of it).
        lambda_min: f64,
        /// `λ_max(K∞)`.
        lambda_max: f64,
        /// Lanczos only: the residuals of the two Ritz pairs, the steps and whether both met
        /// the tolerance.
        #[serde(skip_serializing_if = "Option::is_none")]
        residuals: Option<EigenResiduals>,
        /// `‖K(w) − K∞‖_F / ‖K∞‖_F`: `O(m^{−1/2})` at `w₀`. Exact on the dense path, a Hutchinson
        /// estimate on the operator path ([`InfiniteWidth::Computed::gap_estimate`]).
        relative_gap: f64,
        /// The operator path's estimate of the gap, with its standard error and probe count.
        #[serde(skip_serializing_if = "Option::is_none")]
        gap_estimate: Option<GapEstimate>,
        /// How the dual kernels were evaluated: `closed form` (ReLU, erf, identity, or no hidden
        /// layer) or `quadrature` (tanh, softplus, GELU, sigmoid).
        duals: &'static str,
        /// `dense`, `lanczos`, or `lanczos (operator)`, as for `K`.
        eigen_method: &'static str,
        /// Operator path: products `K∞ v` taken and the share of `K∞`'s tiles kept between
        /// them (the rest recomputed in every product).
        #[serde(skip_serializing_if = "Option::is_none")]
        operator: Option<LimitOperatorSummary>,
        /// Seconds spent on `K∞` and its spectrum.
        seconds: f64,
    },
    /// The architecture has no deterministic `K∞`.
    Unavailable {
        /// Why (standard parameterization, non-identity output).
        reason: String,
    },
}

/// The `K∞` operator as reported.
#[derive(Clone, Debug, Serialize)]
pub struct LimitOperatorSummary {
    /// Products `K∞ v` (the Lanczos steps and the gap's probes).
    pub products: usize,
    /// The share of the tiles kept between products.
    pub kept_fraction: f64,
    /// The Lanczos tolerance (f64 entries: `1e-8`, the round-off floor being lower).
    pub tolerance: f64,
}

/// The operator path's gap probes `z` and their products `K z` (empty on the dense path).
#[derive(Default)]
pub(super) struct Probes {
    pub probes: Vec<Vec<f64>>,
    pub products: Vec<Vec<f64>>,
}

/// With `opts.infinite`, `K∞` by the path of `kernel`: formed against the dense `kernel`
/// ([`dense`]), or matrix-free against the probes' products ([`operator`]) when there is none;
/// `(None, None)` without.
pub(super) fn infinite_width(
    s: &Settings,
    opts: &super::NtkOptions,
    kernel: Option<&TangentKernel>,
    probes: &Probes,
    progress: &dyn Fn(&str),
) -> Result<(Option<InfiniteWidth>, Option<TangentKernel>)> {
    if !opts.infinite {
        return Ok((None, None));
    }
    Ok(match kernel {
        Some(kernel) => {
            progress("infinite-width kernel");
            let (summary, limit) = dense(s, kernel)?;
            (Some(summary), limit)
        }
        None => {
            progress("infinite-width kernel (matrix-free), λ_min, λ_max by Lanczos, the gap");
            let summary = operator(
                s,
                &probes.probes,
                &probes.products,
                opts.lanczos_steps,
                opts.cache_limit,
            );
            (Some(summary), None)
        }
    })
}

/// How the dual kernels of `s`'s architecture are evaluated.
fn duals(s: &Settings) -> &'static str {
    let closed = s.model.depth() == 0
        || dual_closed_form(s.model.activation, &GaussianPair::new(1.0, 1.0, 0.0)).is_some();
    if closed {
        "closed form"
    } else {
        "quadrature"
    }
}

/// `K∞` of `s`'s architecture on its data, formed, with its extremes and the relative gap to
/// `kernel`, or the reason it does not exist. Cost: [`limit_kernel`] plus one eigensolve.
fn dense(s: &Settings, kernel: &TangentKernel) -> Result<(InfiniteWidth, Option<TangentKernel>)> {
    let started = Instant::now();
    let limit = match limit_kernel(&s.model, &s.data) {
        Ok(limit) => limit,
        Err(reason) => {
            let reason = reason.to_string();
            return Ok((InfiniteWidth::Unavailable { reason }, None));
        }
    };
    let KernelExtremes {
        method: eigen_method,
        lambda_min,
        lambda_max,
        residuals,
        ..
    } = kernel_extremes(&limit, DENSE_LIMIT)?;
    let summary = InfiniteWidth::Computed {
        lambda_min,
        lambda_max,
        residuals,
        relative_gap: kernel.relative_distance(&limit),
        gap_estimate: None,
        duals: duals(s),
        eigen_method,
        operator: None,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((summary, Some(limit)))
}

/// `K∞` of `s`'s architecture applied matrix-free ([`LimitOperator`], tiles kept up to
/// `cache_limit` bytes): `λ_min`, `λ_max` by Lanczos (at most `lanczos_steps` products) with
/// their residuals, and the gap to `K` estimated from `probes` and their products `K z`
/// ([`relative_gap_estimate`], one product `K∞ z` each).
fn operator(
    s: &Settings,
    probes: &[Vec<f64>],
    kernel_products: &[Vec<f64>],
    lanczos_steps: usize,
    cache_limit: usize,
) -> InfiniteWidth {
    let started = Instant::now();
    let mut op = match LimitOperator::new(&s.model, &s.data, DualMethod::ClosedForm, cache_limit) {
        Ok(op) => op,
        Err(reason) => {
            let reason = reason.to_string();
            return InfiniteWidth::Unavailable { reason };
        }
    };
    // K∞'s entries are f64 sums of length d and L dual kernels: the f64 model's product floor.
    let tolerance = RoundOff::f64(s.data.dim, s.model.depth())
        .operator_product()
        .max(OPERATOR_LANCZOS_TOL);
    let extremes = operator_extremes(&mut op, lanczos_steps, tolerance);
    let limit_products: Vec<Vec<f64>> = probes.iter().map(|z| op.product(z)).collect();
    let gap = relative_gap_estimate(kernel_products, &limit_products);
    InfiniteWidth::Computed {
        lambda_min: extremes.lambda_min,
        lambda_max: extremes.lambda_max,
        residuals: extremes.residuals,
        relative_gap: gap.value,
        gap_estimate: Some(gap),
        duals: duals(s),
        eigen_method: extremes.method,
        operator: Some(LimitOperatorSummary {
            products: op.products(),
            kept_fraction: op.kept_fraction(),
            tolerance,
        }),
        seconds: started.elapsed().as_secs_f64(),
    }
}
