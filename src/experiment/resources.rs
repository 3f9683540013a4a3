//! The memory a run needs, estimated from its resolved configuration before any work, against
//! the memory this machine has available.
//!
//! The estimate, with `p` parameters, `n` samples, `S = Σ_l m_l` hidden units, `e` bytes per
//! backend float and 8 bytes per host `f64`:
//! - host vectors of length `p`: the Lanczos basis of a Hessian-norm estimate (at most 30
//!   vectors), and the card's search and the training state (`w₀`, the current point,
//!   gradients, Hessian-vector products, warm starts; 16): `46 · 8p`;
//! - backend tensors of the model, its gradients and second-order autodiff graph: `8 · e p`;
//! - activations and back-propagated signals for a kernel block of `b = min(n, 1024)` samples
//!   and for the forward/backward passes over all `n`: `6 e (b + n) S`;
//! - the kernel, its eigenvectors and the dense eigensolver's workspace: `4 · 8 n²`.
//!
//! It is an order-of-magnitude guard against sizes that cannot run, not a prediction of the
//! peak: a run may use less. Calibrated against the peak resident memory (`VmHWM`) of runs on
//! the development machine (f64 unless stated), it errs on the safe side:
//! - `ntk` with its Hessian norms, widths [2048, 2048], n = 8 (p = 4.3e6): estimate 1.7 GiB,
//!   peak at least 1.3 GiB (the 16-vector estimate of the previous version, 0.78 GiB, was
//!   below it);
//! - `ntk --no-hessian`, L = 3, m = 1024, n = 4096: estimate 2.1 GiB, peak 0.77 GiB (f32:
//!   1.6 GiB, 0.49 GiB);
//! - `ntk --no-hessian`, L = 3, m = 4096, n = 512 (p = 3.4e7): estimate 14.1 GiB, peak
//!   0.82 GiB: without the Hessian norms the `p`-vectors are not needed, and the estimate is 17×
//!   the peak (`--memory-limit` overrides it).

use crate::error::{Error, Result};
use crate::model::MlpConfig;

/// The estimate of a run's memory.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceEstimate {
    /// `p`.
    pub parameters: usize,
    /// The estimate, bytes.
    pub bytes: u64,
}

/// The memory `model` on `n` samples needs, with `element_bytes` per backend float; an error
/// naming the size when the arithmetic overflows.
pub fn estimate(model: &MlpConfig, n: usize, element_bytes: usize) -> Result<ResourceEstimate> {
    let overflow = || {
        Error::config(
            "model.widths",
            format!(
                "widths {:?} with n = {n} samples: the memory estimate overflows a 64-bit \
                 integer; reduce the widths, the depth or n",
                model.widths
            ),
        )
    };
    let p = model.checked_parameter_count().ok_or_else(overflow)? as u128;
    let (n128, e) = (n as u128, element_bytes as u128);
    let units: u128 = model.widths.iter().map(|&m| m as u128).sum();
    let block = n128.min(1024);
    let bytes = 46 * 8 * p + 8 * e * p + 6 * e * (block + n128) * units + 4 * 8 * n128 * n128;
    Ok(ResourceEstimate {
        parameters: p as usize,
        bytes: u64::try_from(bytes).map_err(|_| overflow())?,
    })
}

/// The memory available to a new process (Linux: `MemAvailable` of `/proc/meminfo`), when
/// known.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses `estimate` when it exceeds `limit` (bytes; default: the available memory, no check
/// where that is unknown), with the numbers and the fix.
pub fn check(estimate: &ResourceEstimate, limit: Option<u64>) -> Result<()> {
    let Some(limit) = limit.or_else(available_bytes) else {
        return Ok(());
    };
    if estimate.bytes <= limit {
        return Ok(());
    }
    Err(Error::config(
        "model.widths",
        format!(
            "needs ≈ {} (p = {:.2e} parameters), but {} are available: reduce the widths, the \
             depth or n, or pass --memory-limit GIB if you know better",
            human(estimate.bytes),
            estimate.parameters as f64,
            human(limit)
        ),
    ))
}

/// `bytes` in MiB below 1 GiB, else in GiB (or TiB).
fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < (1u64 << 30) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else if b < (1u64 << 40) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.1} TiB", b / (1u64 << 40) as f64)
    }
}
