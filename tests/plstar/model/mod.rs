//! The model layer: the MLP and the backends.

mod activation;
mod backends;
mod mlp;
