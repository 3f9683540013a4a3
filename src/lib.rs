//! # plstar
//!
//! Measures why wide neural networks are easy to optimize: the tangent kernel
//! `K(w) = DF(w) DF(w)ᵀ`, the PL* condition `½‖∇L(w)‖² ≥ μ L(w)` with
//! `L(w) = ½‖F(w) − y‖²`, and gradient descent instrumented against the theorem of Liu, Zhu and
//! Belkin (2020). The mathematical specification is THEORY.md (shipped as `docs/THEORY.md`).
//!
//! Layers, each depending only on those below it:
//! - experiments: [`run`] (a training run and its files), [`train`] (GD and SGD with the
//!   theorem's records), [`verdict`] (checks against the theorem), [`figures`] (plots from saved records),
//!   [`ntk`] (the kernel report at one point and the numpy bundle), [`bench`] (kernel timing),
//!   [`sweep`] (grids of runs with resumable rows), [`landscape`] (figure f: non-convexity);
//! - measurement: [`loss`] (`L` and `∇L`), [`kernel`] (the tangent kernel), [`spectrum`]
//!   (dense and Lanczos eigenvalues), [`hessian`] (Hessian-vector products and Hessian norms),
//!   [`theorem`] (μ̂, L̂_F, β̂_F, R and η* over the ball), [`infinite`] (closed-form
//!   infinite-width kernels), [`fit`] (power-law fits);
//! - model and data: [`model`] (the NTK-parameterized MLP, generic over Burn's `Backend`),
//!   [`data`] (sphere, digits, CSV);
//! - plumbing: [`config`] (TOML → validated settings), [`backend`] (run-time backend choice),
//!   [`records`] (atomic output files), [`npy`] (numpy files), [`error`].

pub mod backend;
pub mod bench;
pub mod config;
pub mod data;
pub mod error;
pub mod figures;
pub mod fit;
pub mod hessian;
pub mod infinite;
pub mod kernel;
pub mod landscape;
pub mod loss;
pub mod model;
pub mod npy;
pub mod ntk;
pub mod records;
pub mod run;
pub mod spectrum;
pub mod sweep;
pub mod theorem;
pub mod train;
pub mod verdict;

pub use error::{Error, Result};
