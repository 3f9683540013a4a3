//! Activation functions σ: the names of the config, and the device forms (Burn tensor
//! operations, differentiable by `Autodiff<…>`) of `σ` ([`Activation::apply`]) and `σ'`
//! ([`Activation::derivative`]). Their host forms, `σ`, `σ'`, `σ''` in `f64` written to
//! vectorize, are [`crate::model::elementwise`]: the one host definition, which the host forward
//! pass, the kernel, the Hessians and the infinite-width recursion read; the device forms mirror
//! it, and a test holds the two equal on every activation.

use burn::tensor::backend::Backend;
use burn::tensor::{activation, Tensor};
use serde::{Deserialize, Serialize};

/// Element-wise activation functions σ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`. Not differentiable at 0: outside the hypotheses of the wide-network theorem.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// The error function `erf(x) = 2/√π ∫₀ˣ e^{−t²} dt` (has closed-form infinite-width kernels).
    Erf,
    /// `log(1 + eˣ)`, evaluated stably as `max(x, 0) + log1p(e^{−|x|})`.
    Softplus,
    /// Exact GELU, `x Φ(x) = x (1 + erf(x/√2)) / 2`.
    Gelu,
    /// The logistic function `1 / (1 + e^{−x})`, evaluated as `(1 + tanh(x/2)) / 2`.
    Sigmoid,
    /// `x` (a linear layer).
    Identity,
}

impl Activation {
    /// Every activation, in documentation order.
    pub const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Erf,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Sigmoid,
        Activation::Identity,
    ];

    /// The name used in configs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Erf => "erf",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "identity",
        }
    }

    /// Whether σ is twice continuously differentiable (inside the theorem's hypotheses).
    pub fn is_smooth(self) -> bool {
        !matches!(self, Activation::Relu)
    }

    /// Applies σ element-wise. Built from Burn tensor operations only, so that it can be
    /// differentiated to any order by `Autodiff<…>`.
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => x.tanh(),
            Activation::Erf => x.erf(),
            Activation::Softplus => activation::relu(x.clone()) + x.abs().neg().exp().log1p(),
            Activation::Gelu => {
                x.clone() * (x.mul_scalar(std::f64::consts::FRAC_1_SQRT_2).erf() + 1.0) * 0.5
            }
            // Burn's fused sigmoid loses precision in f64 (relative errors ~1e-7 were measured
            // on ndarray); the identity σ(x) = (1 + tanh(x/2))/2 is exact and stable.
            Activation::Sigmoid => (x.mul_scalar(0.5).tanh() + 1.0).mul_scalar(0.5),
            Activation::Identity => x,
        }
    }

    /// `σ'(z)` element-wise on a device tensor, from the closed forms of [`crate::model::elementwise`]
    /// (a test holds the two equal). The structured kernel's device path uses it.
    pub fn derivative<B: Backend, const D: usize>(self, z: Tensor<B, D>) -> Tensor<B, D> {
        use std::f64::consts::{FRAC_1_SQRT_2, PI};
        match self {
            // `.float()` would take the device's default dtype (see `model::float_options`).
            Activation::Relu => {
                let dtype = z.dtype();
                z.greater_elem(0.0).float().cast(dtype)
            }
            Activation::Tanh => z.tanh().square().neg().add_scalar(1.0),
            Activation::Erf => z.square().neg().exp().mul_scalar(2.0 / PI.sqrt()),
            // softplus' = sigmoid = (1 + tanh(z/2))/2
            Activation::Softplus => (z.mul_scalar(0.5).tanh() + 1.0).mul_scalar(0.5),
            // gelu' = Φ(z) + z φ(z)
            Activation::Gelu => {
                let cdf = (z.clone().mul_scalar(FRAC_1_SQRT_2).erf() + 1.0).mul_scalar(0.5);
                let pdf = z
                    .clone()
                    .square()
                    .mul_scalar(-0.5)
                    .exp()
                    .mul_scalar(1.0 / (2.0 * PI).sqrt());
                cdf + z * pdf
            }
            Activation::Sigmoid => {
                let s = (z.mul_scalar(0.5).tanh() + 1.0).mul_scalar(0.5);
                s.clone() * s.neg().add_scalar(1.0)
            }
            Activation::Identity => z.ones_like(),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
