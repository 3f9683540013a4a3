//! The model layer: the MLP, the backends, networks trained elsewhere.

mod activation;
mod backends;
pub mod import;
mod mlp;
