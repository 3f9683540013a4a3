//! Data sets: `n` inputs `x_i ∈ ℝᵈ` with `k` targets each (`Y ∈ ℝⁿˣᵏ`, row-major), held on the
//! host in f64.
//!
//! Five sources:
//! - [`sphere`]: points uniform on the unit sphere `S^{d−1}` with synthetic targets (`k = 1`);
//! - [`orthogonal`]: the orthonormal inputs `e_1 … e_n` with synthetic targets (`k = 1`);
//! - [`digits_encoded`]: the UCI optical digits shipped with plstar, any 2 … 10 classes, the
//!   labels encoded as [`Encoding`] says (two classes → ±1, `k = 1`, by default; three or more →
//!   one-hot rows, `k` = the number of classes); [`digits`] is its two-class ±1 form;
//! - [`csv`] / [`csv_columns`]: a user file, one sample a line, one or several columns the
//!   targets;
//! - [`npy`](fn@npy): two NumPy files, inputs `[n, d]` and targets `[n]` or `[n, k]`.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::upload;

mod csv_file;
mod npy_files;
mod uci_digits;

pub use csv_file::{csv, csv_columns};
pub use npy_files::npy;
pub use uci_digits::{digits, digits_encoded, Encoding};

/// The digits data set (UCI, CC BY 4.0; see `data/README.md`), embedded in the binary.
pub const DIGITS_CSV: &str = include_str!("../../data/digits.csv");

/// Width of the teacher network behind [`SyntheticTarget::Teacher`].
pub const TEACHER_WIDTH: usize = 32;

/// A data set on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Inputs, row-major `[n, d]`.
    pub inputs: Vec<f64>,
    /// Targets `Y`, row-major `[n, k]` (sample-major: `y_{ia}` at `i·k + a`); length `n` for a
    /// scalar target (`k = 1`).
    pub targets: Vec<f64>,
    /// Input dimension `d`.
    pub dim: usize,
    /// Targets per sample `k` (the network's output units).
    pub outputs: usize,
}

impl Dataset {
    /// Builds a data set with one target per sample, checking that the shapes agree.
    pub fn new(inputs: Vec<f64>, targets: Vec<f64>, dim: usize) -> Result<Self> {
        Self::with_outputs(inputs, targets, dim, 1)
    }

    /// Builds a data set with `outputs = k` targets per sample (`targets` row-major `[n, k]`),
    /// checking that the shapes agree.
    pub fn with_outputs(
        inputs: Vec<f64>,
        targets: Vec<f64>,
        dim: usize,
        outputs: usize,
    ) -> Result<Self> {
        if outputs == 0 || !targets.len().is_multiple_of(outputs) {
            return Err(Error::Shape(format!(
                "{} target values do not form rows of {outputs} outputs",
                targets.len()
            )));
        }
        let n = targets.len() / outputs;
        if dim == 0 || inputs.len() != n * dim {
            return Err(Error::Shape(format!(
                "{} input values do not form {n} rows of dimension {dim}",
                inputs.len(),
            )));
        }
        Ok(Self {
            inputs,
            targets,
            dim,
            outputs,
        })
    }

    /// The number of samples `n`.
    pub fn len(&self) -> usize {
        self.targets.len() / self.outputs
    }

    /// The number of equations `N = n·k` of the system `F(w) = Y` (the tangent kernel's size).
    pub fn equations(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Row `i` of the inputs.
    pub fn input(&self, i: usize) -> &[f64] {
        &self.inputs[i * self.dim..(i + 1) * self.dim]
    }

    /// Row `i` of the targets (`k` values).
    pub fn target(&self, i: usize) -> &[f64] {
        &self.targets[i * self.outputs..(i + 1) * self.outputs]
    }

    /// Inputs `[n, d]` and targets `[n·k]` (row-major `[n, k]`, flattened as [`Mlp::forward`]
    /// returns `F`) on `device`.
    ///
    /// [`Mlp::forward`]: crate::model::Mlp::forward
    pub fn to_tensors<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 1>) {
        (
            upload(&self.inputs, [self.len(), self.dim], device),
            upload(&self.targets, [self.targets.len()], device),
        )
    }
}

/// How targets of synthetic data are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SyntheticTarget {
    /// A random teacher network, `y = Σ_j a_j tanh(⟨v_j, x⟩) / √32`, with `a_j ~ N(0,1)`,
    /// `v_j ~ N(0, I_d)`, `j = 1 … 32` (drawn from the data seed after the inputs). With `k`
    /// outputs, `k` heads on the same hidden units: `y_b = Σ_j a_{bj} tanh(⟨v_j, x⟩) / √32`, the
    /// heads' `a` drawn one after the other (head 0 is the scalar teacher).
    #[default]
    Teacher,
    /// A fixed smooth function, `y = sin(3 ⟨x, 1⟩ / √d)`; with `k` outputs, column `b` is
    /// `sin(3 ⟨x, 1⟩ / √d + b)`.
    Smooth,
    /// Random signs `y = ±1` with equal probability, independent per sample and output.
    Sign,
}

/// How inputs are normalized.
///
/// Neither division amplifies round-off into data: values are read exactly, and every sum is
/// taken on values scaled by a power of two (exact), so that no square overflows or underflows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// Each input divided by its Euclidean norm: `x_i ← x_i / ‖x_i‖`, so `x_i ∈ S^{d−1}` (as in
    /// THEORY.md). Any row with a non-zero entry has a direction, however small or large its
    /// norm (`1e-170` or `1e200` entries included); an all-zero row is refused.
    #[default]
    Sphere,
    /// Each feature shifted and scaled to mean 0, variance 1: `x_ij ← (x_ij − x̄_j) / s_j` with
    /// `x̄_j = Σ_i x_ij / n` and `s_j² = Σ_i (x_ij − x̄_j)² / n`.
    ///
    /// A feature is constant, and becomes exactly 0, when its spread is within round-off of its
    /// magnitude: `max_i x_ij − min_i x_ij ≤ 8 u · max_i |x_ij|`, with `u = 2⁻⁵³` the unit
    /// round-off of f64. (An exact `s_j > 0` test is not enough: `x̄_j` of a column that is 0.1
    /// on every row carries an ulp of error, so `s_j ≈ 1e-17` and the column would map to ±1.)
    Standardize,
    /// As read.
    None,
}

/// The host bytes that building a data set of `n` samples of dimension `d` with `k` targets
/// each allocates at its peak, in `u128` (exact for any `usize` sizes):
/// `8 (n d + n k) + 8 (33 d + 32 k)`, the inputs and targets in f64 plus the synthetic sources'
/// scratch (one Gaussian row of `d`, and the teacher's `32 d + 32 k` weights for its `k`
/// heads). [`orthogonal`] has `d = n`. The file sources hold their text or bytes and
/// parsed rows on top of this while reading (bounded by the files: see
/// `crate::experiment::resources`).
pub fn host_bytes(n: usize, dim: usize, outputs: usize) -> u128 {
    let (n, d, k) = (n as u128, dim as u128, outputs as u128);
    let width = TEACHER_WIDTH as u128;
    8 * (n * d + n * k) + 8 * ((width + 1) * d + width * k)
}

/// `n` points uniform on `S^{d−1}` (normalized Gaussians) with targets from `target`, all
/// drawn from a ChaCha8 stream seeded with `seed`.
///
/// Allocates [`host_bytes`]`(n, d, 1)`; panics when `n d` overflows `usize` (validated configs
/// are refused before, by their size).
pub fn sphere(n: usize, dim: usize, target: SyntheticTarget, seed: u64) -> Dataset {
    sphere_outputs(n, dim, 1, target, seed)
}

/// [`sphere`] with `k = outputs` targets per sample ([`SyntheticTarget`] says how each column is
/// made); `outputs = 1` is [`sphere`] draw for draw.
///
/// Allocates [`host_bytes`]`(n, d, k)`; panics when `n d` overflows `usize`.
pub fn sphere_outputs(
    n: usize,
    dim: usize,
    outputs: usize,
    target: SyntheticTarget,
    seed: u64,
) -> Dataset {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut inputs = Vec::with_capacity(
        n.checked_mul(dim)
            .expect("n·d overflows usize: RunConfig::validate refuses this size first"),
    );
    for _ in 0..n {
        let g: Vec<f64> = (0..dim).map(|_| rng.sample(StandardNormal)).collect();
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        inputs.extend(g.iter().map(|v| v / norm));
    }
    with_targets(inputs, dim, outputs, target, &mut rng)
}

/// The `n` orthonormal inputs `e_1 … e_n ∈ ℝⁿ` (so `d = n`) with targets from `target`, drawn
/// from a ChaCha8 stream seeded with `seed`. For one hidden layer without bias the
/// infinite-width kernel on them is diagonal: `λ_min(K)` is as large as it gets for `n` unit
/// inputs, and the theorem's ball is small (the certificate's showcase).
///
/// Allocates [`host_bytes`]`(n, n, 1)`; panics when `n²` overflows `usize` (validated configs are
/// refused before, by their size).
pub fn orthogonal(n: usize, target: SyntheticTarget, seed: u64) -> Dataset {
    orthogonal_outputs(n, 1, target, seed)
}

/// [`orthogonal`] with `k = outputs` targets per sample; `outputs = 1` is [`orthogonal`] draw for
/// draw. Allocates [`host_bytes`]`(n, n, k)`.
pub fn orthogonal_outputs(n: usize, outputs: usize, target: SyntheticTarget, seed: u64) -> Dataset {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut inputs = vec![
        0.0;
        n.checked_mul(n).expect(
            "n² overflows usize: RunConfig::validate refuses this size first"
        )
    ];
    for i in 0..n {
        inputs[i * n + i] = 1.0;
    }
    with_targets(inputs, n, outputs, target, &mut rng)
}

/// The data set of `inputs` (`[n, dim]`, row-major) with `k = outputs` synthetic targets per
/// sample, sample-major (`y_{ib}` at `i·k + b`).
fn with_targets(
    inputs: Vec<f64>,
    dim: usize,
    outputs: usize,
    target: SyntheticTarget,
    rng: &mut rand::rngs::ChaCha8Rng,
) -> Dataset {
    let n = inputs.len() / dim;
    let k = outputs;
    let targets = match target {
        SyntheticTarget::Teacher => {
            let v: Vec<f64> = (0..TEACHER_WIDTH * dim)
                .map(|_| rng.sample(StandardNormal))
                .collect();
            // Head b's weights a[b·32 + j]: head 0 is the k = 1 teacher, draw for draw.
            let a: Vec<f64> = (0..TEACHER_WIDTH * k)
                .map(|_| rng.sample(StandardNormal))
                .collect();
            inputs
                .chunks(dim)
                .flat_map(|x| {
                    let hidden: Vec<f64> = (0..TEACHER_WIDTH)
                        .map(|j| dot(&v[j * dim..(j + 1) * dim], x).tanh())
                        .collect();
                    let a = &a;
                    (0..k).map(move |b| {
                        (0..TEACHER_WIDTH)
                            .map(|j| a[b * TEACHER_WIDTH + j] * hidden[j])
                            .sum::<f64>()
                            / (TEACHER_WIDTH as f64).sqrt()
                    })
                })
                .collect()
        }
        SyntheticTarget::Smooth => inputs
            .chunks(dim)
            .flat_map(|x| {
                let t = 3.0 * x.iter().sum::<f64>() / (dim as f64).sqrt();
                (0..k).map(move |b| (t + b as f64).sin())
            })
            .collect(),
        SyntheticTarget::Sign => (0..n * k)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect(),
    };
    Dataset {
        inputs,
        targets,
        dim,
        outputs: k,
    }
}

/// Parses comma-separated numbers; returns `(line number, values)` per data line.
fn parse_csv(text: &str, path: &Path, header: bool) -> Result<Vec<(usize, Vec<f64>)>> {
    let err = |line: usize, message: String| Error::Data {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut rows: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut header_seen = !header;
    for (k, raw) in text.lines().enumerate() {
        let line_no = k + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            header_seen = true;
            continue;
        }
        let mut values = Vec::new();
        for (c, field) in line.split(',').enumerate() {
            let field = field.trim();
            let v: f64 = field.parse().map_err(|_| {
                err(
                    line_no,
                    format!(
                        "column {c}: {field:?} is not a number{}",
                        if field.contains('\t') {
                            " (plstar reads comma-separated values only; this line is separated \
                             by tabs: convert the file, e.g. tr '\\t' ',' < in > out)"
                        } else if field.contains(';') {
                            " (plstar reads comma-separated values only; this line is separated \
                             by semicolons: convert the file, e.g. tr ';' ',' < in > out)"
                        } else if rows.is_empty() && !header {
                            " (if this line is a header, set data.header = true)"
                        } else {
                            ""
                        }
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(err(
                    line_no,
                    format!("column {c}: {field} is not finite; remove or impute it"),
                ));
            }
            values.push(v);
        }
        if let Some((first_line, first)) = rows.first() {
            if values.len() != first.len() {
                return Err(err(
                    line_no,
                    format!(
                        "ragged row: {} fields, but line {first_line} has {}; every row needs the same number of columns",
                        values.len(),
                        first.len()
                    ),
                ));
            }
        }
        rows.push((line_no, values));
    }
    if rows.is_empty() {
        return Err(err(0, "no data rows".into()));
    }
    Ok(rows)
}

/// `data` with its inputs normalized as [`Normalization`] documents; an all-zero row cannot be
/// put on the sphere (an error naming the sample and the fix).
fn normalized(mut data: Dataset, normalize: Normalization, path: &Path) -> Result<Dataset> {
    let d = data.dim;
    match normalize {
        Normalization::None => {}
        Normalization::Sphere => {
            for (i, x) in data.inputs.chunks_mut(d).enumerate() {
                let max = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                if max == 0.0 {
                    return Err(Error::Data {
                        path: path.to_path_buf(),
                        line: 0,
                        message: format!("sample {i} is all zeros and cannot be projected to the sphere; use data.normalize = \"standardize\" or \"none\""),
                    });
                }
                // ‖x‖ = s ‖x / s‖: the scaled squares neither overflow nor underflow, and the
                // power-of-two scale is exact, so ordinary rows get the same bits as x / ‖x‖.
                let s = power_of_two_scale(max);
                x.iter_mut().for_each(|v| *v /= s);
                let norm = dot(x, x).sqrt();
                x.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Normalization::Standardize => {
            let n = data.len() as f64;
            for j in 0..d {
                let column = || data.inputs.iter().skip(j).step_by(d);
                let (min, max) = column()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                let magnitude = min.abs().max(max.abs());
                if max - min <= CONSTANT_SPREAD * magnitude {
                    for v in data.inputs.iter_mut().skip(j).step_by(d) {
                        *v = 0.0;
                    }
                    continue;
                }
                // Mean and spread of x / s (s a power of two: exact, and the same bits as
                // without it where no square over- or underflows).
                let s = power_of_two_scale(magnitude);
                let mean = column().map(|v| v / s).sum::<f64>() / n;
                let var = column().map(|v| (v / s - mean).powi(2)).sum::<f64>() / n;
                let sd = var.sqrt();
                for v in data.inputs.iter_mut().skip(j).step_by(d) {
                    *v = (*v / s - mean) / sd;
                }
            }
        }
    }
    Ok(data)
}

/// The spread below which a feature is constant, relative to its magnitude: `8 u` with
/// `u = ε/2 = 2⁻⁵³` the unit round-off of f64 (see [`Normalization::Standardize`]).
const CONSTANT_SPREAD: f64 = 8.0 * (f64::EPSILON / 2.0);

/// The power of two `2^e` with `e = ⌊log₂ a⌋` clamped to the normal exponents `−1022 … 1023`:
/// dividing by it is exact and brings `a > 0` into `[1, 2)` (about; `log₂` may round).
fn power_of_two_scale(a: f64) -> f64 {
    let e = (a.log2().floor() as i32).clamp(-1022, 1023);
    2f64.powi(e)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
