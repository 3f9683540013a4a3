//! Measurement: the quantities of THEORY.md at a point `w`, generic over Burn's `Backend`.
//! Neither prints nor touches files.
//!
//! - [`loss`]: `L(w) = ½‖F(w) − y‖²` and its gradient;
//! - [`kernel`]: the tangent kernel `K(w) = DF(w) DF(w)ᵀ`;
//! - [`spectrum`]: dense and Lanczos eigenvalues of symmetric matrices (host `f64`);
//! - [`hessian`]: Hessian-vector products and Hessian norms;
//! - [`infinite`]: infinite-width kernels `K∞` of any depth (the NTK recursion);
//! - [`roundoff`]: the round-off model every deciding threshold comes from.

pub mod hessian;
pub mod infinite;
pub mod kernel;
pub mod loss;
pub mod roundoff;
pub mod spectrum;
