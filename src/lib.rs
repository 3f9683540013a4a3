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
//! | [`model`] | the MLP (NTK or standard parameterization, `k` outputs) and the one statement of its function; networks trained elsewhere (safetensors); the run-time backend choice | error |
//! | [`data`] | sphere, orthogonal, digits, CSV and npy data sets (k targets per sample) | model (upload only), report (the npy reader) |
//! | [`report`] | atomic files, npy, sweep rows, fits, figures, markdown, from plain data | error |
//! | [`error`] | the library's error type | — |
//!
//! # The network's function, written once
//! The model layer holds every definition of what the network computes; the layers above reuse
//! them and restate nothing:
//!
//! | what | where | used by |
//! |---|---|---|
//! | each activation's `σ`, `σ'`, `σ''` (host, `f64`, vectorized) and `erf` | [`model::elementwise`] | the host forward pass, the infinite-width recursion |
//! | the same `σ`, `σ'` as Burn tensor operations (device, differentiable) | [`model::Activation::apply`], [`model::Activation::derivative`] (held equal to the host by a test) | the MLP's forward pass, the structured kernel's device path |
//! | which activation layer `l` uses | [`model::MlpConfig::activation_of`] | every forward pass |
//! | the forward pass on the device (autodiff) | [`model::Mlp::forward`], `F ∈ ℝ^{n·k}` sample-major | training, the loss, autodiff kernels and Hessians |
//! | the forward pass on the host, keeping `σ'` (and `σ''`) per layer, in the working precision or `f64` | [`model::host::HostForward`] | the kernel's host path, the Hessian products and through them the card's searches |
//!
//! With `k` outputs every quantity is that of the system `F(w) = y` with `N = n·k` equations,
//! indexed sample-major (`(i, a) → i·k + a`): `K ∈ ℝ^{N×N}`, the loss `½‖F − Y‖²_F`, the card.
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
