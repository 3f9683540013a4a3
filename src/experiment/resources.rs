//! The memory a run needs, estimated from its resolved configuration before any work, against
//! the memory this machine has available.
//!
//! The estimate, with `p` parameters, `n` samples of `k` targets each (`N = n k` equations),
//! `S = Σ_l m_l` hidden units, `e` bytes per backend float and 8 bytes per host `f64`:
//! - host vectors of length `p`: the Lanczos basis of a Hessian-norm estimate (at most 30
//!   vectors), and the card's search and the training state (`w₀`, the current point,
//!   gradients, Hessian-vector products, warm starts; 16): `46 · 8p`;
//! - backend tensors of the model, its gradients and second-order autodiff graph: `8 · e p`;
//! - activations and back-propagated signals for a kernel block of `b = min(n, 1024)` samples
//!   and for the forward/backward passes over all `n` (`k` signal rows per sample): `6 e (b + n) S k`;
//! - the `N × N` kernel, its eigenvectors and the dense eigensolver's workspace: `4 · 8 N²`;
//! - the data set, `d` the input dimension: its host inputs and targets and what generating
//!   them allocates, [`crate::data::host_bytes`] `= 8 (n d + n k) + 8 (33 d + 32)`, plus their
//!   backend copy `e (n d + n k)`.
//!
//! The sums are taken in `u128`, so no size wraps around; an estimate beyond `u64` is refused.
//!
//! The data set's host part is exact, not an estimate, and is allocated while the configuration
//! is validated: [`check_data`] refuses it there, before any allocation, against the available
//! memory (`--memory-limit` cannot lift it: the bytes are really needed).
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

use std::path::Path;

use crate::data;
use crate::error::{Error, Result};
use crate::measure::kernel::operator::factors_bytes;
use crate::model::MlpConfig;

/// The estimate of a run's memory.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceEstimate {
    /// `p`.
    pub parameters: usize,
    /// The estimate, bytes.
    pub bytes: u64,
    /// The data set's part of it (host and backend), bytes.
    pub data_bytes: u64,
}

/// The memory `model` on `n` samples of dimension `model.input_dim` with `k = model.outputs`
/// targets each needs, with `element_bytes` per backend float; an error naming the size when it
/// overflows `u64`.
pub fn estimate(model: &MlpConfig, n: usize, element_bytes: usize) -> Result<ResourceEstimate> {
    estimate_for(model, n, element_bytes, KernelStorage::Dense)
}

/// Where the tangent kernel is held, for [`estimate_for`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelStorage {
    /// Formed: the `4 · 8 N²` term.
    Dense,
    /// Applied matrix-free ([`crate::measure::kernel::operator`]): instead of `N²`, the Lanczos
    /// basis of at most `lanczos_steps` vectors and a few more, `8 N (steps + 4)`, and the
    /// factors kept between products, `s n Σ_l (m_{l−1} + k m_l)` (`s` the working
    /// float's bytes, [`crate::measure::kernel::operator::factors_bytes`]) up to `cache_limit` ([`crate::experiment::ntk::operator_cache_limit`]).
    Operator {
        /// The most Lanczos steps.
        lanczos_steps: usize,
        /// Bytes of the working float (4 or 8).
        float_bytes: usize,
        /// The most bytes of factors kept.
        cache_limit: usize,
    },
}

/// [`estimate`] with the kernel held as `storage` says.
pub fn estimate_for(
    model: &MlpConfig,
    n: usize,
    element_bytes: usize,
    storage: KernelStorage,
) -> Result<ResourceEstimate> {
    let overflow = || {
        Error::config(
            "model.widths",
            format!(
                "widths {:?} with n = {n} samples of dimension d = {}: the memory estimate \
                 overflows a 64-bit integer; reduce the widths, the depth, n or d",
                model.widths, model.input_dim
            ),
        )
    };
    let p = model.checked_parameter_count().ok_or_else(overflow)? as u128;
    let (n128, d, e) = (n as u128, model.input_dim as u128, element_bytes as u128);
    let k = model.outputs as u128;
    let equations = n128 * k;
    let units: u128 = model.widths.iter().map(|&m| m as u128).sum();
    let block = n128.min(1024);
    let data = data::host_bytes(n, model.input_dim, model.outputs) + e * (n128 * d + n128 * k);
    let bytes = 46 * 8 * p
        + 8 * e * p
        + 6 * e * (block + n128) * units * k
        + kernel_bytes(model, n as u128, equations, storage)
        + data;
    Ok(ResourceEstimate {
        parameters: p as usize,
        bytes: u64::try_from(bytes).map_err(|_| overflow())?,
        data_bytes: u64::try_from(data).map_err(|_| overflow())?,
    })
}

/// The kernel's part of the estimate (see [`KernelStorage`]).
fn kernel_bytes(model: &MlpConfig, n: u128, equations: u128, storage: KernelStorage) -> u128 {
    match storage {
        KernelStorage::Dense => 4 * 8 * equations * equations,
        KernelStorage::Operator {
            lanczos_steps,
            float_bytes,
            cache_limit,
        } => {
            let cache = factors_bytes(model, n as usize, float_bytes);
            let cache = if cache <= cache_limit as u128 {
                cache
            } else {
                0
            };
            8 * equations * (lanczos_steps as u128 + 4) + cache
        }
    }
}

/// Refuses a data set of `n` samples of dimension `d` with `k = outputs` targets each whose
/// host part, [`crate::data::host_bytes`]`(n, d, k)`, exceeds the memory available (or, where that is unknown,
/// the address space, `isize::MAX` bytes). Call it before the data set is built; `key` names the
/// field to change.
pub fn check_data(key: &str, n: usize, dim: usize, outputs: usize) -> Result<()> {
    let bytes = data::host_bytes(n, dim, outputs);
    let (limit, what) = match available_bytes() {
        Some(a) => (
            a as u128,
            format!("{} are available", human_u128(a as u128)),
        ),
        None => (
            isize::MAX as u128,
            "that exceeds the address space".to_string(),
        ),
    };
    if bytes <= limit {
        return Ok(());
    }
    Err(Error::config(
        key,
        format!(
            "n = {n} samples of dimension d = {dim} with k = {outputs} targets: the data set \
             alone needs ≈ {} of host memory (8 (n d + n k) bytes of f64 inputs and targets, \
             plus 8 (33 d + 32) for the generator), but {what}: reduce data.n or data.dim",
            human_u128(bytes)
        ),
    ))
}

/// Refuses a data file larger than the memory available: it is read whole (its parsed values
/// come on top). Nothing is checked where the size or the available memory is unknown.
pub fn check_data_file(key: &str, path: &Path) -> Result<()> {
    let (Ok(meta), Some(available)) = (std::fs::metadata(path), available_bytes()) else {
        return Ok(());
    };
    if meta.len() <= available {
        return Ok(());
    }
    Err(Error::config(
        key,
        format!(
            "{} is {}, more than the {} available, and is read whole: use a smaller file or a \
             subset of its rows",
            path.display(),
            human(meta.len()),
            human(available)
        ),
    ))
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
    // The key of the larger part: the data set or the model.
    let key = if 2 * estimate.data_bytes > estimate.bytes {
        "data.n"
    } else {
        "model.widths"
    };
    Err(Error::config(
        key,
        format!(
            "needs ≈ {} (p = {:.2e} parameters; the data set ≈ {}), but {} are available: reduce \
             the widths, the depth, n or d, or pass --memory-limit GIB if you know better",
            human(estimate.bytes),
            estimate.parameters as f64,
            human(estimate.data_bytes),
            human(limit)
        ),
    ))
}

/// `bytes` in MiB below 1 GiB, else in GiB (or TiB).
fn human(bytes: u64) -> String {
    human_u128(bytes as u128)
}

/// [`human`] for sizes beyond `u64`.
fn human_u128(bytes: u128) -> String {
    let b = bytes as f64;
    if b < (1u64 << 30) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else if b < (1u64 << 40) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.1} TiB", b / (1u64 << 40) as f64)
    }
}
