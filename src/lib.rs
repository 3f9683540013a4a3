//! # plstar
//!
//! Measures why wide neural networks are easy to optimize: the tangent kernel
//! `K(w) = DF(w) DF(w)ᵀ`, the PL* condition `½‖∇L(w)‖² ≥ μ L(w)` with
//! `L(w) = ½‖F(w) − y‖²`, and gradient descent instrumented against the theorem of Liu, Zhu and
//! Belkin (2020). The mathematical specification is THEORY.md (shipped as `docs/THEORY.md`).
//!
//! # Map
//! Each folder owns one layer and uses only the layers listed after it (no cycles):
//!
//! | folder | owns | may use |
//! |---|---|---|
//! | `cli/` (binary) | one file per subcommand: its flags, the call, its printing | experiment, report, theorem, train, measure, model |
//! | [`experiment`] | config → validated settings; run, step size, sweep, merge, landscape, the reproduction and its check, ntk, bench | theorem, train, measure, report, model, data |
//! | [`theorem`] | the card (μ̂(r), L̂_F(r), β̂_F(r) over balls, the certificate), searches, step sizes, verdicts | train (its records), measure, model |
//! | [`train`] | GD and SGD with a record per step | measure, model |
//! | [`measure`] | loss, tangent kernel, spectra, Hessians, infinite-width kernels, the round-off model every deciding threshold comes from | model, data |
//! | [`model`] | the NTK-parameterized MLP; the run-time backend choice | error |
//! | [`data`] | sphere, orthogonal, digits and CSV data sets | model (upload only) |
//! | [`report`] | atomic files, npy, sweep rows, fits, figures, markdown, from plain data | error |
//! | [`error`] | the library's error type | — |
//!
//! Figures take plain data (rows, curves) and import no experiment; the command line owns the
//! progress bars and the printing; measurement neither prints nor touches files.

pub mod data;
pub mod error;
pub mod experiment;
pub mod measure;
pub mod model;
pub mod report;
pub mod theorem;
pub mod train;

pub use error::{Error, Result};
