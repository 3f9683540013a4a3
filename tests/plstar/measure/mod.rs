//! The measurement layer: kernel, spectra, Hessians, infinite-width kernels.

mod hessian;
mod infinite;
mod kernel;
mod spectrum;
