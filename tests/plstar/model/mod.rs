//! The model layer: the MLP and the backends.

mod backends;
mod mlp;
