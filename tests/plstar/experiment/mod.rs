//! The experiment layer: sweeps, figures, merges and the reproduction.

mod operator_paths;
mod reproduce;
mod sweep;
