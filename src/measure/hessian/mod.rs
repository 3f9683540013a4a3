//! Hessians through exact Hessian-vector products.
//!
//! Two paths compute the same products ([`DerivativePath`]):
//! - **device**, any backend: the model is rebuilt on `Autodiff<Autodiff<B>>` from inner-level
//!   leaves. A backward pass on the outer level gives `∇_w g` as a tensor still tracked by the
//!   inner level; a second backward of `⟨∇_w g, v⟩` gives `∇²g · v`
//!   ([`hessian_vector_product`]);
//! - **host**, the CPU specialization (`host.rs`): the forward pass at `w` is kept in `f64` and
//!   each product is a forward tangent pass and a differentiated reverse pass written out for the
//!   MLP, with no activation evaluated again. The tests hold it equal to the device path. Where
//!   the kept pass of all `n` samples would not fit, the same passes run over blocks of samples,
//!   each block's forward pass recomputed per product ([`DerivativePath::HostBlocks`]).
//!
//! No finite differences are involved in `H v` on either path.
//!
//! Quantities (THEORY.md):
//! - the loss Hessian `H_L = DFᵀDF + Σ_k r_k H_{F_k}` (λ_min can be negative: the sign is kept);
//! - the output Hessians `H_{F_k} = ∇²_w f(w; x_k)` and their contraction
//!   `H(z) = Σ_k z_k H_{F_k}` (the Hessian of `zᵀF(w)`);
//! - `‖H_F‖ = sup_{‖z‖=‖u‖=1} |uᵀ H(z) u|` (the operator norm of the n×p×p tensor) by
//!   alternating maximization, and `max_k ‖H_{F_k}‖₂ ≤ ‖H_F‖` (`z = e_k`); given the latter,
//!   [`hessian_operator_norm_from_outputs`] starts from the best `e_k` and never reports below it.

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::measure::kernel::fits_on_host;
use crate::measure::loss::{contraction_gradient, square_loss};
use crate::measure::spectrum::{
    lanczos, lanczos_dominant_from, ExtremeEigenvalues, LanczosSettings, SymmetricOperator,
};
use crate::model::{download, machine_epsilon, upload, Mlp};

mod host;

pub use host::HostPoint;

/// Where the second-order products of [`Derivatives`] run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerivativePath {
    /// Second-order reverse mode through Burn's autodiff on the model's backend
    /// ([`hessian_vector_product`]): any backend, and the GPU path.
    Device,
    /// The MLP's own tangent and reverse passes on the host, in `f64`, from one forward pass kept
    /// per point ([`HostPoint`]): the CPU specialization.
    Host,
    /// The host passes over blocks of `block` samples, each block's forward pass recomputed in
    /// every product and dropped after it: the CPU specialization where one kept forward pass
    /// of all `n` samples would not fit in
    /// [`HOST_FACTOR_LIMIT`](crate::measure::kernel::HOST_FACTOR_LIMIT). Every product is a sum
    /// over samples (`H(z) v = Σ_i z_i ∇²f_i v`, `DFᵀz = Σ_i z_i ∇f_i`) or a per-sample value
    /// (`DF v`, `D²F[u, u]`), so the blocks give the same products up to the order of the sums.
    /// Memory: one block's forward pass, at most [`HOST_BLOCK_BYTES`]; cost per product: one more
    /// forward pass than [`DerivativePath::Host`].
    HostBlocks {
        /// Samples per block.
        block: usize,
    },
}

/// The most bytes one block's kept forward pass holds on [`DerivativePath::HostBlocks`]
/// (512 MiB: 3 200 samples of an L = 2, m = 1024 network).
pub const HOST_BLOCK_BYTES: u64 = 512 << 20;

/// `f64` values the host path keeps per sample and unit (forward pass and a product's
/// intermediates).
const HOST_VALUES_PER_UNIT: usize = 10;

impl DerivativePath {
    /// For the backends whose tensors live in host memory (burn-ndarray):
    /// [`DerivativePath::Host`] when the kept forward pass and a product's intermediates (about
    /// ten `f64` values per sample and unit) fit in
    /// [`HOST_FACTOR_LIMIT`](crate::measure::kernel::HOST_FACTOR_LIMIT), else
    /// [`DerivativePath::HostBlocks`] with blocks of [`HOST_BLOCK_BYTES`]. [`DerivativePath::Device`]
    /// for the others.
    pub fn for_backend<B: Backend>(model: &Mlp<B>, n: usize) -> DerivativePath {
        let per_sample = HOST_VALUES_PER_UNIT * size_of::<f64>();
        if fits_on_host(model, n, per_sample) {
            DerivativePath::Host
        } else if crate::model::backend::in_host_memory::<B>() {
            let units: usize = model.config().layer_sizes().iter().sum();
            let block =
                (HOST_BLOCK_BYTES as usize / (units * per_sample).max(1)).clamp(1, n.max(1));
            DerivativePath::HostBlocks { block }
        } else {
            DerivativePath::Device
        }
    }
}

/// The derivatives of `F` at one point `w` (the model's parameters) on inputs `x`: every product
/// at this point goes through here, on the path chosen once.
pub struct Derivatives<'a, B: Backend> {
    model: &'a Mlp<B>,
    x: &'a Tensor<B, 2>,
    host: Host,
}

/// The host side of [`Derivatives`].
enum Host {
    /// [`DerivativePath::Device`].
    None,
    /// [`DerivativePath::Host`]: the forward pass of every sample, kept.
    Whole(HostPoint),
    /// [`DerivativePath::HostBlocks`]: samples per block.
    Blocks(usize),
}

impl<'a, B: Backend> Derivatives<'a, B> {
    /// The derivatives at `model` on `x`, on [`DerivativePath::for_backend`].
    pub fn at(model: &'a Mlp<B>, x: &'a Tensor<B, 2>) -> Self {
        Self::on(model, x, DerivativePath::for_backend(model, x.dims()[0]))
    }

    /// The derivatives at `model` on `x`, on `path` (the host path runs the forward pass now).
    pub fn on(model: &'a Mlp<B>, x: &'a Tensor<B, 2>, path: DerivativePath) -> Self {
        let host = match path {
            DerivativePath::Device => Host::None,
            DerivativePath::Host => Host::Whole(HostPoint::at(model, x)),
            DerivativePath::HostBlocks { block } => Host::Blocks(block.max(1)),
        };
        Self { model, x, host }
    }

    /// The path the products take.
    pub fn path(&self) -> DerivativePath {
        match self.host {
            Host::None => DerivativePath::Device,
            Host::Whole(_) => DerivativePath::Host,
            Host::Blocks(block) => DerivativePath::HostBlocks { block },
        }
    }

    /// `f(first sample, point)` for every host block in order (one block on
    /// [`DerivativePath::Host`]); `None` on the device path.
    fn on_host<T>(&self, mut f: impl FnMut(usize, &HostPoint) -> T) -> Option<Vec<T>> {
        match &self.host {
            Host::None => None,
            Host::Whole(point) => Some(vec![f(0, point)]),
            Host::Blocks(block) => {
                let [n, d] = self.x.dims();
                Some(
                    (0..n)
                        .step_by(*block)
                        .map(|start| {
                            let rows = self.x.clone().slice([start..(start + block).min(n), 0..d]);
                            f(start, &HostPoint::at(self.model, &rows))
                        })
                        .collect(),
                )
            }
        }
    }

    /// `n`.
    pub fn samples(&self) -> usize {
        self.x.dims()[0]
    }

    /// `N = n·k`, the length of `F` (and of a contraction's `z`).
    pub fn equations(&self) -> usize {
        self.samples() * self.model.config().outputs
    }

    /// The model at `w`.
    pub fn model(&self) -> &'a Mlp<B> {
        self.model
    }

    /// `∇²g(w) v` for `objective` (and `DF(w) v` for a contraction).
    pub fn product(&self, objective: &Objective<B>, v: &[f64]) -> HessianVectorProduct {
        let k = self.model.config().outputs;
        let targets = match (objective, &self.host) {
            (_, Host::None) | (Objective::Contraction(_), _) => None,
            (Objective::Loss(y), _) => Some(download(y.clone())),
        };
        let parts = self.on_host(|start, point| {
            let rows = start * k..start * k + point.output().len();
            match (objective, &targets) {
                (Objective::Contraction(z), _) => point.hvp(&z[rows], false, v),
                (Objective::Loss(_), Some(y)) => {
                    let r: Vec<f64> = point
                        .output()
                        .iter()
                        .zip(&y[rows])
                        .map(|(f, y)| f - y)
                        .collect();
                    point.hvp(&r, true, v)
                }
                (Objective::Loss(_), None) => unreachable!("the loss has targets"),
            }
        });
        let Some(parts) = parts else {
            return hessian_vector_product(self.model, self.x, objective, v);
        };
        let (hv, jv): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        HessianVectorProduct {
            hv: sum_vectors(hv),
            jv: matches!(objective, Objective::Contraction(_)).then(|| jv.concat()),
        }
    }

    /// `DF(w)ᵀ z = ∇_w (zᵀF)`, parameter-vector order.
    pub fn gradient(&self, z: &[f64]) -> Vec<f64> {
        let k = self.model.config().outputs;
        let parts =
            self.on_host(|start, point| point.vjp(&z[start * k..start * k + point.output().len()]));
        match parts {
            Some(parts) => sum_vectors(parts),
            None => contraction_gradient(self.model, self.x, z),
        }
    }

    /// `D²F(w)[u, u] = (uᵀ H_{F_k} u)_k`: exact on the host path (a second-order forward pass);
    /// on the device path the central difference `(DF(w + hu)u − DF(w − hu)u) / 2h` of exact
    /// Jacobian-vector products, `h = step`.
    pub fn second_derivative(&self, u: &[f64], step: f64) -> Vec<f64> {
        if let Some(parts) = self.on_host(|_, point| point.second_derivative(u)) {
            return parts.concat();
        }
        let n = self.equations();
        let w = self.model.to_vector();
        let jvp_at = |sign: f64| {
            let ws: Vec<f64> = w.iter().zip(u).map(|(a, b)| a + sign * step * b).collect();
            let m = Mlp::<B>::from_vector(self.model.config(), &ws, &self.x.device())
                .expect("length p");
            hessian_vector_product(&m, self.x, &Objective::Contraction(vec![0.0; n]), u)
                .jv
                .expect("contraction gives a JVP")
        };
        let (plus, minus) = (jvp_at(1.0), jvp_at(-1.0));
        plus.iter()
            .zip(&minus)
            .map(|(a, b)| (a - b) / (2.0 * step))
            .collect()
    }
}

/// The element-wise sum of equal-length vectors (empty input: empty).
fn sum_vectors(parts: Vec<Vec<f64>>) -> Vec<f64> {
    let mut parts = parts.into_iter();
    let mut sum = parts.next().unwrap_or_default();
    for part in parts {
        sum.iter_mut().zip(&part).for_each(|(a, b)| *a += b);
    }
    sum
}

type Inner<B> = Autodiff<B>;
type Outer<B> = Autodiff<Autodiff<B>>;

/// The scalar function whose Hessian is taken.
#[derive(Clone, Debug)]
pub enum Objective<B: Backend> {
    /// `L(w) = ½‖F(w) − y‖²` with targets `y` `[n·k]` (sample-major).
    Loss(Tensor<B, 1>),
    /// `zᵀ F(w)` for a fixed `z ∈ ℝⁿ` (host values).
    Contraction(Vec<f64>),
}

/// `∇²g(w) v` and, for a contraction `g = zᵀF`, the Jacobian-vector product `DF(w) v`.
#[derive(Clone, Debug)]
pub struct HessianVectorProduct {
    /// `∇²g(w) v`, parameter-vector order.
    pub hv: Vec<f64>,
    /// `DF(w) v ∈ ℝⁿ` (only for [`Objective::Contraction`]).
    pub jv: Option<Vec<f64>>,
}

fn split<B: Backend>(
    model: &Mlp<B>,
    v: &[f64],
    device: &B::Device,
) -> (Vec<Tensor<B, 2>>, Vec<Tensor<B, 1>>) {
    let probe = Mlp::<B>::from_vector(model.config(), v, device).expect("v has length p");
    (probe.weights(), probe.biases())
}

/// `∇²g(w) v` for the objective `g` at the model's parameters `w`, inputs `x` `[n, d]`, by
/// second-order reverse mode on the model's backend (the device path of [`Derivatives`]).
///
/// Cost: about two forward and two backward passes.
pub fn hessian_vector_product<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    objective: &Objective<B>,
    v: &[f64],
) -> HessianVectorProduct {
    let device = x.device();
    let cfg = model.config();
    let leaves_w: Vec<Tensor<Inner<B>, 2>> = model
        .weights()
        .into_iter()
        .map(|w| Tensor::from_inner(w).require_grad())
        .collect();
    let leaves_b: Vec<Tensor<Inner<B>, 1>> = model
        .biases()
        .into_iter()
        .map(|b| Tensor::from_inner(b).require_grad())
        .collect();
    let outer: Mlp<Outer<B>> = Mlp::from_parts(
        cfg,
        leaves_w.iter().cloned().map(Tensor::from_inner).collect(),
        leaves_b.iter().cloned().map(Tensor::from_inner).collect(),
    )
    .expect("shapes come from a valid model");
    let x_outer: Tensor<Outer<B>, 2> = Tensor::from_inner(Tensor::from_inner(x.clone()));
    let mut z_leaf: Option<Tensor<Inner<B>, 1>> = None;
    let g = match objective {
        Objective::Loss(y) => square_loss(
            &outer,
            x_outer,
            Tensor::from_inner(Tensor::from_inner(y.clone())),
        ),
        Objective::Contraction(z) => {
            let zl: Tensor<Inner<B>, 1> =
                Tensor::from_inner(upload::<B, 1>(z, [z.len()], &device)).require_grad();
            z_leaf = Some(zl.clone());
            (outer.forward(x_outer) * Tensor::from_inner(zl)).sum()
        }
    };
    let grads = g.backward();
    let (vw, vb) = split(model, v, &device);
    let mut s: Option<Tensor<Inner<B>, 1>> = None;
    let mut acc = |term: Tensor<Inner<B>, 1>| {
        s = Some(match s.take() {
            None => term,
            Some(t) => t + term,
        })
    };
    for (w, v) in outer.weights().iter().zip(vw) {
        let gw = w.grad(&grads).expect("weight on the graph");
        acc((gw * Tensor::from_inner(v)).sum());
    }
    for (b, v) in outer.biases().iter().zip(vb) {
        let gb = b.grad(&grads).expect("bias on the graph");
        acc((gb * Tensor::from_inner(v)).sum());
    }
    let s = s.expect("at least one parameter");
    let grads2 = s.backward();
    let mut hv = Vec::with_capacity(v.len());
    for (l, w) in leaves_w.iter().enumerate() {
        // A parameter on which ∇g does not depend (e.g. a linear layer's weight in a linear
        // model) has no second-order gradient: its block of H v is zero.
        let shape = w.dims();
        hv.extend(
            w.grad(&grads2)
                .map(download)
                .unwrap_or_else(|| vec![0.0; shape[0] * shape[1]]),
        );
        if let Some(b) = leaves_b.get(l) {
            let len = b.dims()[0];
            hv.extend(
                b.grad(&grads2)
                    .map(download)
                    .unwrap_or_else(|| vec![0.0; len]),
            );
        }
    }
    let jv = z_leaf.map(|z| {
        let n = z.dims()[0];
        z.grad(&grads2)
            .map(download)
            .unwrap_or_else(|| vec![0.0; n])
    });
    HessianVectorProduct { hv, jv }
}

/// `∇²g(w)` as a [`SymmetricOperator`] on `ℝᵖ` (one [`Derivatives::product`] per application).
pub struct HessianOperator<'d, 'a, B: Backend> {
    /// The derivatives at `w`.
    pub derivatives: &'d Derivatives<'a, B>,
    /// The function `g`.
    pub objective: Objective<B>,
}

impl<B: Backend> SymmetricOperator for HessianOperator<'_, '_, B> {
    fn dim(&self) -> usize {
        self.derivatives.model.config().parameter_count()
    }
    fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        self.derivatives.product(&self.objective, v).hv
    }
}

/// `λ_min(H_L)` and `λ_max(H_L)` of the loss Hessian by Lanczos (signs kept).
pub fn loss_hessian_extremes<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    settings: &LanczosSettings,
) -> ExtremeEigenvalues {
    let derivatives = Derivatives::at(model, x);
    let mut op = HessianOperator {
        derivatives: &derivatives,
        objective: Objective::Loss(y.clone()),
    };
    lanczos(&mut op, settings)
}

/// `‖H_{F_r}‖₂`, the spectral norm of the Hessian of the `r`-th equation (`r = i·k + a`: output
/// `a` of sample `i`), by Lanczos on `H(e_r)`. For a single input and output (`n = k = 1`,
/// `r = 0`) this is `‖H_f(x)‖₂` of the linearity paper.
pub fn output_hessian_norm<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    r: usize,
    settings: &LanczosSettings,
) -> ExtremeEigenvalues {
    let big = x.dims()[0] * model.config().outputs;
    let mut z = vec![0.0; big];
    z[r] = 1.0;
    let derivatives = Derivatives::at(model, x);
    let mut op = HessianOperator {
        derivatives: &derivatives,
        objective: Objective::Contraction(z),
    };
    lanczos(&mut op, settings)
}

/// `max_r ‖H_{F_r}‖₂` over the `N = n·k` equations `r = i·k + a` (the `n` outputs of a scalar
/// network).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerOutputHessianNorm {
    /// `max_r ‖H_{F_r}‖₂`.
    pub max: f64,
    /// The maximizing `r`.
    pub argmax: usize,
    /// `‖H_{F_r}‖₂` for every `r`.
    pub norms: Vec<f64>,
    /// Whether every Lanczos run converged.
    pub converged: bool,
}

/// `max_r ‖H_{F_r}‖₂`, one Lanczos run per sample and output (cost `n·k` runs; each a few dozen
/// HVPs of a single sample). `progress` receives the number of samples done.
pub fn max_output_hessian_norm<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    settings: &LanczosSettings,
) -> PerOutputHessianNorm {
    max_output_hessian_norm_with_progress(model, x, settings, &mut |_| {})
}

/// [`max_output_hessian_norm`] reporting the number of outputs done to `progress` after each.
pub fn max_output_hessian_norm_with_progress<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    settings: &LanczosSettings,
    progress: &mut dyn FnMut(usize),
) -> PerOutputHessianNorm {
    let [n, d] = x.dims();
    let k = model.config().outputs;
    let mut norms = Vec::with_capacity(n * k);
    let mut converged = true;
    for i in 0..n {
        progress(i);
        // H_{F_{ia}} depends on x_i only: run on that single row, one output at a time.
        let xi = x.clone().slice([i..i + 1, 0..d]);
        for a in 0..k {
            let e = output_hessian_norm(model, &xi, a, settings);
            converged &= e.converged;
            norms.push(e.spectral_norm());
        }
    }
    let argmax = (0..n * k).fold(0, |a, r| if norms[r] > norms[a] { r } else { a });
    PerOutputHessianNorm {
        max: norms[argmax],
        argmax,
        norms,
        converged,
    }
}

/// Settings of [`hessian_operator_norm`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HessianNormSettings {
    /// Lanczos settings for each inner eigenproblem.
    pub lanczos: LanczosSettings,
    /// The most alternating (z, u) rounds.
    pub max_rounds: usize,
    /// Stop when the value changes by less than this, relatively.
    pub tol: f64,
    /// Central-difference step for `D²F[u, u]` on the device path (used only to choose `z`; the
    /// host path computes `D²F[u, u]` exactly and ignores it); `None` scales it
    /// with the backend's precision: `h = ε^{1/3}` (`6e-6` in f64, `5e-3` in f32), which
    /// balances the `O(h²)` truncation error against the `O(ε/h)` round-off of a unit `u`.
    pub step: Option<f64>,
}

impl Default for HessianNormSettings {
    fn default() -> Self {
        Self {
            lanczos: LanczosSettings {
                max_iter: 30,
                tol: 1e-5,
                seed: 0,
            },
            max_rounds: 30,
            tol: 1e-4,
            step: None,
        }
    }
}

/// The estimate of `‖H_F‖` and how it was reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HessianNorm {
    /// `|uᵀ H(z) u|` at the final `(z, u)`: a lower bound on `‖H_F‖` (up to round-off), exact
    /// when the alternation reached the global maximum.
    pub value: f64,
    /// The unit `z ∈ ℝⁿ` reached.
    pub z: Vec<f64>,
    /// Alternating rounds taken.
    pub rounds: usize,
    /// Whether both the outer alternation settled within `tol` between rounds and the inner
    /// Lanczos run of the last round met its own tolerance. Otherwise the value is only a lower
    /// bound, and reports say so.
    pub converged: bool,
    /// `‖H(z) u − λ u‖` of the final Lanczos pair.
    pub residual: f64,
}

/// `‖H_F‖ = sup_{‖z‖=‖u‖=1} |uᵀ (Σ_k z_k H_{F_k}) u|` by alternating maximization:
/// for fixed `z`, `u` is the dominant eigenvector of `H(z)` (Lanczos on exact HVPs); for fixed
/// `u`, the best `z` is `q/‖q‖` with `q_k = uᵀ H_{F_k} u = D²F[u, u]_k`
/// ([`Derivatives::second_derivative`]: exact on the host path, a central difference of exact
/// Jacobian-vector products on the device path). The value is the largest seen over the rounds
/// (reported with its `z` and residual); it comes from the exact HVPs alone.
pub fn hessian_operator_norm<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    settings: &HessianNormSettings,
) -> HessianNorm {
    hessian_operator_norm_from(model, x, settings, None)
}

/// `‖H_F‖` given the per-output norms already measured: never below them.
///
/// Every unit `z` is admissible in `‖H_F‖ = sup_{‖z‖=‖u‖=1} |uᵀ H(z) u|`, `z = e_k` included,
/// and `H(e_k) = H_{F_k}`; so `‖H_F‖ ≥ max_k ‖H_{F_k}‖₂`. The alternation of
/// [`hessian_operator_norm_from`] climbs to a local maximum, which from the uniform start can lie
/// below that bound. Here it starts at `z = e_{k*}`, `k* = argmax_k ‖H_{F_k}‖₂` (its first round
/// is Lanczos on `H_{F_{k*}}` itself, and each later round only raises the value), and the
/// reported value is
///
/// `max(alternation, max_k ‖H_{F_k}‖₂)`,
///
/// with `z = e_{k*}` when the second term wins (by round-off or a Lanczos run that stopped
/// early; `residual` then stays that of the alternation's best pair). `converged` is the
/// alternation's: unconverged, the value is still a lower bound on `‖H_F‖`, and at least the
/// bound already measured.
///
/// Cost: [`hessian_operator_norm`]'s; `per_output` (from [`max_output_hessian_norm`], `n`
/// Lanczos runs of one sample each) is not recomputed.
pub fn hessian_operator_norm_from_outputs<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    settings: &HessianNormSettings,
    per_output: &PerOutputHessianNorm,
) -> HessianNorm {
    let n = x.dims()[0] * model.config().outputs;
    let start = (per_output.norms.len() == n && per_output.argmax < n).then(|| {
        let mut e = vec![0.0; n];
        e[per_output.argmax] = 1.0;
        e
    });
    let mut norm = hessian_operator_norm_from(model, x, settings, start.as_deref());
    if let Some(e) = start {
        if per_output.max > norm.value {
            norm.value = per_output.max;
            norm.z = e;
        }
    }
    norm
}

/// [`hessian_operator_norm`] with the alternation started from `start_z` (e.g. the maximizing
/// `z` at a nearby point: the card's searched points) instead of the uniform `z = 1/√n`.
pub fn hessian_operator_norm_from<B: Backend>(
    model: &Mlp<B>,
    x: &Tensor<B, 2>,
    settings: &HessianNormSettings,
    start_z: Option<&[f64]>,
) -> HessianNorm {
    let derivatives = Derivatives::at(model, x);
    let n = derivatives.equations();
    let mut z = match start_z {
        Some(z) if z.len() == n => z.to_vec(),
        _ => vec![1.0 / (n as f64).sqrt(); n],
    };
    let step = settings
        .step
        .unwrap_or_else(|| machine_epsilon::<B>().cbrt());
    let mut value = 0.0;
    let mut residual = f64::NAN;
    let mut rounds = 0;
    let mut converged = false;
    let mut start: Option<Vec<f64>> = None;
    let mut best_z = z.clone();
    while rounds < settings.max_rounds {
        rounds += 1;
        let mut op = HessianOperator {
            derivatives: &derivatives,
            objective: Objective::Contraction(z.clone()),
        };
        // Warm start from the previous round's u: consecutive H(z) differ little.
        let e = lanczos_dominant_from(&mut op, &settings.lanczos, start.as_deref());
        let pair = e.dominant().clone();
        start = Some(pair.vector.clone());
        let new_value = pair.value.abs();
        let settled = (new_value - value).abs() <= settings.tol * new_value.max(f64::MIN_POSITIVE);
        if new_value >= value {
            // The reported (z, residual) are those of the reported value.
            (value, best_z, residual) = (new_value, z.clone(), pair.residual);
        }
        if settled && rounds > 1 {
            // Settled value. The Lanczos residual (reported) may stay above its tolerance when
            // the top eigenvalues of H(z) cluster; Ritz values are lower bounds either way, and
            // the value counts as converged only when that inner run converged too.
            converged = e.converged;
            break;
        }
        let q = derivatives.second_derivative(&pair.vector, step);
        let nq = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nq == 0.0 {
            converged = e.converged;
            break;
        }
        z = q.into_iter().map(|v| v / nq).collect();
    }
    HessianNorm {
        value,
        z: best_z,
        rounds,
        converged,
        residual,
    }
}
