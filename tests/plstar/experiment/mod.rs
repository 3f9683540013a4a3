//! The experiment layer: sweeps, figures, merges and the reproduction.

mod reproduce;
mod sweep;
