//! The measurement layer: kernel, spectra, Hessians.

mod hessian;
mod kernel;
mod spectrum;
