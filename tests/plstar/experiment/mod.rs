//! The experiment layer: sweeps, figures and merges.

mod sweep;
