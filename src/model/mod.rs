//! The multi-layer perceptron of THEORY.md, generic over Burn's [`Backend`]; [`backend`] picks
//! the concrete backend at run time.
//!
//! Network with `L` hidden layers (widths `m_1 … m_L`, `m_0 = d`, `m_{L+1} = k` output units):
//!
//! ```text
//! α⁽⁰⁾ = x
//! z⁽ˡ⁾ = c_l · W⁽ˡ⁾ α⁽ˡ⁻¹⁾ + c_b · b⁽ˡ⁾          l = 1 … L+1
//! α⁽ˡ⁾ = σ(z⁽ˡ⁾)   (l ≤ L),   f(w; x) = σ_out(z⁽ᴸ⁺¹⁾) ∈ ℝᵏ
//! ```
//!
//! With `n` inputs, `F(w) ∈ ℝ^{n×k}` is flattened sample-major into the system's vector of
//! `N = n·k` equations (`F_{ia}` at `i·k + a`); `k = 1` is the scalar network of the paper.
//!
//! # Where the function is written
//! - [`Mlp::forward`]: the device and autodiff path, generic over Burn's `Backend` (training,
//!   the loss and its gradient, the autodiff kernel and Hessians);
//! - [`host::HostForward`]: the same function on the host (faer products), keeping `σ'`, `σ''`
//!   per layer for the structured kernel, the Hessian products and the card's searches;
//! - the rule "hidden or output activation for layer `l`": [`MlpConfig::activation_of`];
//! - each activation's `σ`, `σ'`, `σ''`: [`elementwise`] (host, the one definition), mirrored on
//!   the device by [`Activation::apply`] and [`Activation::derivative`] (a test holds them equal).
//!
//! | parameterization | `c_l` | `c_b` | initial `W⁽ˡ⁾` entries | initial `b⁽ˡ⁾` entries |
//! |---|---|---|---|---|
//! | [`Parameterization::Ntk`] (default) | `1/√m_{l−1}` | `β_b` | N(0, 1) | N(0, 1) |
//! | [`Parameterization::Standard`] | 1 | 1 | N(0, 1/m_{l−1}) | N(0, β_b²) |
//!
//! Both give the same distribution of functions at initialization; they differ in how a
//! gradient step moves them (the NTK scaling makes the tangent kernel O(1) as width grows).
//!
//! # Parameter vector
//! All trainable parameters flatten into one vector `w ∈ ℝᵖ` in this fixed order: for
//! `l = 1 … L+1` (input side first), `W⁽ˡ⁾` row-major with shape `[m_l, m_{l−1}]` (`[out, in]`),
//! then `b⁽ˡ⁾` (length `m_l`) when biases are enabled. So
//! `p = Σ_l m_l m_{l−1} (+ Σ_l m_l with biases)`.
//!
//! # Initialization
//! Weights are drawn on the host from a ChaCha8 stream seeded with `seed`, standard normal
//! draws taken in parameter-vector order and multiplied by the initial standard deviation of
//! the table, in f64, then rounded once to the backend's float type and uploaded. The same
//! seed therefore gives bit-identical weights on every backend of the same precision.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod activation;
pub mod backend;
pub mod elementwise;
pub mod host;
pub mod import;

pub use activation::Activation;

/// How weights are scaled: see the table in the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Parameterization {
    /// NTK parameterization (THEORY.md): N(0,1) entries, pre-activations divided by √fan_in.
    #[default]
    Ntk,
    /// Standard parameterization: N(0, 1/fan_in) entries, no scaling in the forward pass.
    Standard,
}

impl Parameterization {
    /// The name used in configs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Parameterization::Ntk => "ntk",
            Parameterization::Standard => "standard",
        }
    }
}

/// Architecture of an [`Mlp`]: everything needed to rebuild the function from a parameter
/// vector.
#[derive(Config, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input dimension `d = m_0`.
    pub input_dim: usize,
    /// Hidden widths `m_1 … m_L`; the depth `L` is their number (0 gives a linear model
    /// `σ_out(c_1 W x + c_b b)`).
    pub widths: Vec<usize>,
    /// Hidden activation σ.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// Output activation σ_out (identity for the theorem's linear output, ρ = 1).
    #[config(default = "Activation::Identity")]
    pub output_activation: Activation,
    /// Whether every layer has a bias vector.
    #[config(default = false)]
    pub bias: bool,
    /// β_b: the bias scale (NTK: multiplies b; standard: initial std of b).
    #[config(default = 1.0)]
    pub bias_scale: f64,
    /// Weight scaling.
    #[config(default = "Parameterization::Ntk")]
    pub parameterization: Parameterization,
    /// Output units per sample `k = m_{L+1}` (1: the scalar network of the paper's figures).
    /// With `k` outputs, `F(w) ∈ ℝ^{n×k}` and the system has `N = n·k` equations.
    #[config(default = 1)]
    pub outputs: usize,
}

impl MlpConfig {
    /// Checks that every dimension is ≥ 1 and the bias scale is finite and ≥ 0.
    pub fn validate(&self) -> Result<()> {
        if self.input_dim == 0 {
            return Err(Error::config(
                "model.input_dim",
                "must be ≥ 1, got 0 (set it from the data)",
            ));
        }
        if self.outputs == 0 {
            return Err(Error::config(
                "model.outputs",
                "must be ≥ 1, got 0 (1 for a scalar network, k for k output units per sample)",
            ));
        }
        if let Some(i) = self.widths.iter().position(|&m| m == 0) {
            return Err(Error::config(
                "model.widths",
                format!("every hidden width must be ≥ 1, got 0 at position {i} (widths = {:?}); remove the entry or give a positive width", self.widths),
            ));
        }
        if !(self.bias_scale.is_finite() && self.bias_scale >= 0.0) {
            return Err(Error::config(
                "model.bias_scale",
                format!("must be a finite number ≥ 0, got {}", self.bias_scale),
            ));
        }
        if self.checked_parameter_count().is_none() {
            return Err(Error::config(
                "model.widths",
                format!(
                    "the parameter count of widths {:?} on input dimension {} overflows a 64-bit \
                     integer: reduce the widths or the depth",
                    self.widths, self.input_dim
                ),
            ));
        }
        Ok(())
    }

    /// `p` with checked arithmetic (`None` when it overflows `usize`).
    pub fn checked_parameter_count(&self) -> Option<usize> {
        self.weight_shapes()
            .iter()
            .try_fold(0usize, |total, [o, i]| {
                let layer = o
                    .checked_mul(*i)?
                    .checked_add(if self.bias { *o } else { 0 })?;
                total.checked_add(layer)
            })
    }

    /// Number of hidden layers `L`.
    pub fn depth(&self) -> usize {
        self.widths.len()
    }

    /// `[m_0, m_1, …, m_L, k]`.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut s = Vec::with_capacity(self.widths.len() + 2);
        s.push(self.input_dim);
        s.extend_from_slice(&self.widths);
        s.push(self.outputs);
        s
    }

    /// `(out, in)` of every weight matrix, input side first.
    pub fn weight_shapes(&self) -> Vec<[usize; 2]> {
        self.layer_sizes()
            .windows(2)
            .map(|w| [w[1], w[0]])
            .collect()
    }

    /// The parameter count `p`.
    pub fn parameter_count(&self) -> usize {
        self.weight_shapes()
            .iter()
            .map(|[o, i]| o * i + if self.bias { *o } else { 0 })
            .sum()
    }

    /// The activation of layer `layer` (1-based, `1 … L+1`): σ for the hidden layers, σ_out for
    /// the output layer `L+1`. The one statement of this rule: every forward pass reads it.
    pub fn activation_of(&self, layer: usize) -> Activation {
        if layer == self.depth() + 1 {
            self.output_activation
        } else {
            self.activation
        }
    }

    /// The smallest hidden width `m` (the input dimension for a linear model).
    pub fn min_width(&self) -> usize {
        self.widths.iter().copied().min().unwrap_or(self.input_dim)
    }

    /// `c_l`, the factor multiplying `W⁽ˡ⁾ α⁽ˡ⁻¹⁾` in layer `l` (1-based).
    pub fn weight_multiplier(&self, layer: usize) -> f64 {
        match self.parameterization {
            Parameterization::Ntk => 1.0 / (self.layer_sizes()[layer - 1] as f64).sqrt(),
            Parameterization::Standard => 1.0,
        }
    }

    /// `c_b`, the factor multiplying `b⁽ˡ⁾`.
    pub fn bias_multiplier(&self) -> f64 {
        match self.parameterization {
            Parameterization::Ntk => self.bias_scale,
            Parameterization::Standard => 1.0,
        }
    }

    /// The initial standard deviation of the entries of `W⁽ˡ⁾` (1-based `layer`).
    pub fn weight_init_std(&self, layer: usize) -> f64 {
        match self.parameterization {
            Parameterization::Ntk => 1.0,
            Parameterization::Standard => 1.0 / (self.layer_sizes()[layer - 1] as f64).sqrt(),
        }
    }

    /// The initial standard deviation of the entries of `b⁽ˡ⁾`.
    pub fn bias_init_std(&self) -> f64 {
        match self.parameterization {
            Parameterization::Ntk => 1.0,
            Parameterization::Standard => self.bias_scale,
        }
    }

    /// The initial parameter vector `w₀` for `seed` (host, f64; order in the module docs).
    pub fn initial_parameters(&self, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        let mut w = Vec::with_capacity(self.parameter_count());
        for (l, [o, i]) in self.weight_shapes().into_iter().enumerate() {
            let std = self.weight_init_std(l + 1);
            w.extend((0..o * i).map(|_| std * rng.sample::<f64, _>(StandardNormal)));
            if self.bias {
                let std = self.bias_init_std();
                w.extend((0..o).map(|_| std * rng.sample::<f64, _>(StandardNormal)));
            }
        }
        w
    }

    /// A model at its seeded initialization `w₀` on `device`.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Mlp<B> {
        Mlp::from_vector(self, &self.initial_parameters(seed), device)
            .expect("initial_parameters has length parameter_count")
    }
}

/// The multi-layer perceptron of the [module docs](self) with scalar output.
///
/// # Shapes
/// - input `x`: `[n, d]` (one sample a row)
/// - output `F(w)`: `[n]`
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// `W⁽ˡ⁾`, shape `[m_l, m_{l−1}]`, input side first.
    weights: Vec<Param<Tensor<B, 2>>>,
    /// `b⁽ˡ⁾`, shape `[m_l]`; empty when biases are disabled.
    biases: Vec<Param<Tensor<B, 1>>>,
    #[module(skip)]
    config: MlpConfig,
}

impl<B: Backend> Mlp<B> {
    /// Builds a model from its weight matrices and (when `config.bias`) bias vectors.
    ///
    /// Errors when a shape differs from the architecture.
    pub fn from_parts(
        config: &MlpConfig,
        weights: Vec<Tensor<B, 2>>,
        biases: Vec<Tensor<B, 1>>,
    ) -> Result<Self> {
        let shapes = config.weight_shapes();
        if weights.len() != shapes.len() {
            return Err(Error::Shape(format!(
                "expected {} weight matrices, got {}",
                shapes.len(),
                weights.len()
            )));
        }
        for (l, (w, s)) in weights.iter().zip(&shapes).enumerate() {
            if w.dims() != *s {
                return Err(Error::Shape(format!(
                    "layer {}: weight has shape {:?}, expected {:?}",
                    l + 1,
                    w.dims(),
                    s
                )));
            }
        }
        let expected_biases = if config.bias { shapes.len() } else { 0 };
        if biases.len() != expected_biases {
            return Err(Error::Shape(format!(
                "expected {expected_biases} bias vectors, got {}",
                biases.len()
            )));
        }
        for (l, (b, s)) in biases.iter().zip(&shapes).enumerate() {
            if b.dims() != [s[0]] {
                return Err(Error::Shape(format!(
                    "layer {}: bias has shape {:?}, expected [{}]",
                    l + 1,
                    b.dims(),
                    s[0]
                )));
            }
        }
        Ok(Self {
            weights: weights.into_iter().map(Param::from_tensor).collect(),
            biases: biases.into_iter().map(Param::from_tensor).collect(),
            config: config.clone(),
        })
    }

    /// Builds a model from a parameter vector `w ∈ ℝᵖ` (order in the [module docs](self)),
    /// rounding each entry once to the backend's float type.
    pub fn from_vector(config: &MlpConfig, w: &[f64], device: &B::Device) -> Result<Self> {
        let p = config.parameter_count();
        if w.len() != p {
            return Err(Error::Shape(format!(
                "parameter vector has length {}, the architecture has p = {p}",
                w.len()
            )));
        }
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        let mut at = 0;
        for [o, i] in config.weight_shapes() {
            weights.push(upload::<B, 2>(&w[at..at + o * i], [o, i], device));
            at += o * i;
            if config.bias {
                biases.push(upload::<B, 1>(&w[at..at + o], [o], device));
                at += o;
            }
        }
        Self::from_parts(config, weights, biases)
    }

    /// The parameter vector `w ∈ ℝᵖ` on the host (order in the [module docs](self)).
    pub fn to_vector(&self) -> Vec<f64> {
        flatten(&self.weights(), &self.biases())
    }

    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The weight matrices `W⁽ˡ⁾` (`[out, in]`), input side first.
    pub fn weights(&self) -> Vec<Tensor<B, 2>> {
        self.weights.iter().map(|p| p.val()).collect()
    }

    /// The bias vectors `b⁽ˡ⁾`, input side first (empty without biases).
    pub fn biases(&self) -> Vec<Tensor<B, 1>> {
        self.biases.iter().map(|p| p.val()).collect()
    }

    /// `F(w)` for inputs `x` `[n, d]`: the `[n, k]` outputs `F_{ia} = f_a(w; x_i)` flattened
    /// sample-major to `[n·k]` (`F_{ia}` at `i·k + a`; `[n]` for a scalar network), the vector
    /// of the system `F(w) = y` with `N = n·k` equations. The device and autodiff path of the
    /// network's function; the host passes are [`host::HostForward`].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 1> {
        let [n, _] = x.dims();
        let mut a = x;
        for (l, w) in self.weights.iter().enumerate() {
            let mut z = a.matmul(w.val().transpose());
            let c = self.config.weight_multiplier(l + 1);
            if c != 1.0 {
                z = z.mul_scalar(c);
            }
            if let Some(b) = self.biases.get(l) {
                z = z + b
                    .val()
                    .mul_scalar(self.config.bias_multiplier())
                    .unsqueeze_dim(0);
            }
            a = self.config.activation_of(l + 1).apply(z);
        }
        a.reshape([n * self.config.outputs])
    }
}

/// Uploads host f64 values as a tensor of the backend's float type.
pub fn upload<B: Backend, const D: usize>(
    values: &[f64],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let data = TensorData::new(values.to_vec(), shape).convert::<B::FloatElem>();
    Tensor::from_data(data, float_options::<B>(device))
}

/// Creation options for a float tensor of `B`'s own precision on `device`.
///
/// Burn 0.21 keeps one default float dtype per device *kind*, set by the first backend that
/// asks (`burn_backend::get_device_settings`): `NdArray<f32>` and `NdArray<f64>` share the CPU
/// device, so in a process that used `NdArray<f32>` first, a plain `Tensor::from_data` on
/// `NdArray<f64>` stores f32 values (measured: f64 kernels off by 1e-7 when an f32 test ran
/// first). Every float tensor plstar creates names its dtype.
pub fn float_options<B: Backend>(device: &B::Device) -> burn::tensor::TensorCreationOptions<B> {
    burn::tensor::TensorCreationOptions::new(device.clone())
        .with_dtype(<B::FloatElem as burn::tensor::Element>::dtype())
}

/// The machine epsilon of the backend's float type (`2.2e-16` for f64, `1.2e-7` for f32): the
/// unit of round-off that thresholds and finite-difference steps scale with.
pub fn machine_epsilon<B: Backend>() -> f64 {
    if std::mem::size_of::<B::FloatElem>() <= 4 {
        f64::from(f32::EPSILON)
    } else {
        f64::EPSILON
    }
}

/// Per-layer weight matrices and (possibly no) bias vectors as one host vector in the
/// parameter-vector order of the [module docs](self): `W⁽¹⁾, b⁽¹⁾, W⁽²⁾, b⁽²⁾, …`.
pub fn flatten<B: Backend>(weights: &[Tensor<B, 2>], biases: &[Tensor<B, 1>]) -> Vec<f64> {
    let mut w = Vec::new();
    for (l, wl) in weights.iter().enumerate() {
        w.extend(download(wl.clone()));
        if let Some(b) = biases.get(l) {
            w.extend(download(b.clone()));
        }
    }
    w
}

/// Downloads a tensor to host f64 values (row-major).
pub fn download<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    download_as::<B, f64, D>(t)
}

/// Downloads a tensor to host values of type `E` (row-major).
///
/// Flattened first: burn-ndarray copies a tensor that is shared (with a parameter or a gradient
/// container) or not row-major (a weight gradient from a matmul's backward) out element by
/// element through a dynamic-rank iterator (≈ 25 ns per element: a fifth of a theorem card's
/// time, and 0.8 s for the weights of an L = 3, m = 4096 net, were measured there); its reshape
/// makes a fresh row-major copy with typed dimensions, which is then moved out without another
/// copy.
pub fn download_as<B: Backend, E: burn::tensor::Element, const D: usize>(
    t: Tensor<B, D>,
) -> Vec<E> {
    let len = t.shape().num_elements();
    t.reshape([len])
        .into_data()
        .convert::<E>()
        .into_vec::<E>()
        .expect("converted to the requested element type")
}
