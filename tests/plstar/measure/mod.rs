//! The measurement layer: kernel, spectra, Hessians, infinite-width kernels.

mod elementwise;
mod hessian;
mod infinite;
mod kernel;
mod limit_operator;
mod operator;
mod outputs;
mod roundoff;
mod spectrum;

use plstar::model::{Activation, MlpConfig};

/// `d` inputs, hidden `act` layers of `widths`, biases (scale 0.6) or none, and a tanh output at
/// depth 2 (a non-identity output in the mix).
pub(crate) fn varied_config(d: usize, act: Activation, widths: &[usize], bias: bool) -> MlpConfig {
    MlpConfig::new(d, widths.to_vec())
        .with_activation(act)
        .with_output_activation(if widths.len() == 2 {
            Activation::Tanh
        } else {
            Activation::Identity
        })
        .with_bias(bias)
        .with_bias_scale(0.6)
}
