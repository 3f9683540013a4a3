//! The MLP: forward formula, parameter vector, seeded initialization, gradient.

use burn::tensor::Tensor;
use plstar::measure::loss::{loss_gradient, square_loss};
use plstar::model::{download, upload, Activation, Mlp, MlpConfig, Parameterization};

use crate::{relative_error, tol, F64};

fn config(widths: &[usize], act: Activation, bias: bool, param: Parameterization) -> MlpConfig {
    MlpConfig::new(3, widths.to_vec())
        .with_activation(act)
        .with_output_activation(Activation::Identity)
        .with_bias(bias)
        .with_bias_scale(0.7)
        .with_parameterization(param)
}

/// σ on the host, written from the definitions (libm's erf), independent of plstar.
fn sigma(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Relu => x.max(0.0),
        Activation::Tanh => x.tanh(),
        Activation::Erf => libm::erf(x),
        Activation::Softplus => (1.0 + x.exp()).ln(),
        Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt())),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Identity => x,
    }
}

/// The forward formula of THEORY.md with plain loops, reading `w` in the documented order:
/// per layer `W⁽ˡ⁾` row-major `[out, in]`, then `b⁽ˡ⁾`.
fn hand_forward(cfg: &MlpConfig, w: &[f64], x: &[f64]) -> f64 {
    let mut sizes = vec![cfg.input_dim];
    sizes.extend(&cfg.widths);
    sizes.push(1);
    let mut a = x.to_vec();
    let mut at = 0;
    for l in 1..sizes.len() {
        let (fan_in, fan_out) = (sizes[l - 1], sizes[l]);
        let wl = &w[at..at + fan_in * fan_out];
        at += fan_in * fan_out;
        let bl = if cfg.bias {
            at += fan_out;
            Some(&w[at - fan_out..at])
        } else {
            None
        };
        let (cw, cb) = match cfg.parameterization {
            Parameterization::Ntk => (1.0 / (fan_in as f64).sqrt(), cfg.bias_scale),
            Parameterization::Standard => (1.0, 1.0),
        };
        let act = if l + 1 == sizes.len() {
            cfg.output_activation
        } else {
            cfg.activation
        };
        a = (0..fan_out)
            .map(|j| {
                let z: f64 = (0..fan_in).map(|k| wl[j * fan_in + k] * a[k]).sum::<f64>() * cw
                    + bl.map_or(0.0, |b| cb * b[j]);
                sigma(act, z)
            })
            .collect();
    }
    assert_eq!(at, w.len(), "hand parser consumed the whole vector");
    a[0]
}

fn inputs() -> Vec<f64> {
    vec![
        0.3, -0.8, 0.52, -1.1, 0.4, 0.25, 0.9, 0.1, -0.45, 0.0, 0.0, 1.0,
    ]
}

#[test]
fn forward_of_a_two_by_two_relu_net_equals_the_number_worked_by_hand() {
    // x = (1, 0), W1 = [[1, 2], [3, 4]], W2 = [1, −1], NTK scaling 1/√2 per layer:
    // z1 = (1, 3)/√2, relu keeps it, f = (1 − 3)/√2/√2 = −1.
    let cfg = MlpConfig::new(2, vec![2]).with_activation(Activation::Relu);
    let device = Default::default();
    let model = Mlp::<F64>::from_vector(&cfg, &[1.0, 2.0, 3.0, 4.0, 1.0, -1.0], &device).unwrap();
    let f = download(model.forward(upload(&[1.0, 0.0], [1, 2], &device)));
    assert!((f[0] + 1.0).abs() < 1e-15, "f = {}", f[0]);
}

#[test]
fn forward_matches_the_hand_computed_formula_for_every_activation_and_parameterization() {
    let device = Default::default();
    let x = inputs();
    for act in Activation::ALL {
        for param in [Parameterization::Ntk, Parameterization::Standard] {
            for (widths, bias) in [(vec![4], false), (vec![4, 5], true), (vec![], true)] {
                let cfg =
                    config(&widths, act, bias, param).with_output_activation(Activation::Tanh);
                let w = cfg.initial_parameters(11);
                let model = Mlp::<F64>::from_vector(&cfg, &w, &device).unwrap();
                let got = download(model.forward(upload(&x, [4, 3], &device)));
                for (i, xi) in x.chunks(3).enumerate() {
                    let want = hand_forward(&cfg, &w, xi);
                    assert!(
                        (got[i] - want).abs() <= tol::FORWARD_F64 * want.abs().max(1.0),
                        "{act} {param:?} widths {widths:?} bias {bias}: sample {i}: {} vs {want}",
                        got[i]
                    );
                }
            }
        }
    }
}

#[test]
fn parameter_count_matches_the_layer_sizes() {
    // d = 3, widths [4, 5]: 4·3 + 4 + 5·4 + 5 + 1·5 + 1 = 47.
    assert_eq!(
        config(&[4, 5], Activation::Tanh, true, Parameterization::Ntk).parameter_count(),
        47
    );
    assert_eq!(
        config(&[4, 5], Activation::Tanh, false, Parameterization::Ntk).parameter_count(),
        37
    );
    assert_eq!(
        config(&[], Activation::Tanh, false, Parameterization::Ntk).parameter_count(),
        3
    );
}

#[test]
fn flatten_then_unflatten_is_the_identity() {
    let device = Default::default();
    let cfg = config(&[6, 4], Activation::Gelu, true, Parameterization::Ntk);
    let w: Vec<f64> = (0..cfg.parameter_count())
        .map(|i| (i as f64 * 0.37).sin())
        .collect();
    let model = Mlp::<F64>::from_vector(&cfg, &w, &device).unwrap();
    assert_eq!(
        model.to_vector(),
        w,
        "to_vector(from_vector(w)) must return w bit for bit"
    );
    let again = Mlp::<F64>::from_vector(&cfg, &model.to_vector(), &device).unwrap();
    assert_eq!(again.to_vector(), w);
}

#[test]
fn a_parameter_vector_of_the_wrong_length_is_rejected() {
    let cfg = config(&[4], Activation::Tanh, false, Parameterization::Ntk);
    let err = Mlp::<F64>::from_vector(&cfg, &[0.0; 5], &Default::default()).unwrap_err();
    assert!(err.to_string().contains("p = 16"), "{err}");
}

#[test]
fn initialization_is_seeded_and_has_the_documented_scale() {
    let cfg = MlpConfig::new(50, vec![400]);
    let a = cfg.initial_parameters(7);
    assert_eq!(a, cfg.initial_parameters(7), "same seed, same weights");
    assert_ne!(a, cfg.initial_parameters(8), "different seeds differ");
    let model = cfg.init::<F64>(7, &Default::default());
    assert_eq!(
        model.to_vector(),
        a,
        "init uploads exactly initial_parameters"
    );
    // NTK: every entry N(0,1). 20 400 draws: the sample variance is within 4% of 1.
    let var = a.iter().map(|v| v * v).sum::<f64>() / a.len() as f64;
    assert!((var - 1.0).abs() < 0.04, "sample variance {var}");
    // Standard: first layer N(0, 1/50).
    let std_cfg = cfg
        .clone()
        .with_parameterization(Parameterization::Standard);
    let s = std_cfg.initial_parameters(7);
    let var1 = s[..20_000].iter().map(|v| v * v).sum::<f64>() / 20_000.0;
    assert!(
        (var1 * 50.0 - 1.0).abs() < 0.04,
        "first-layer variance × fan_in = {}",
        var1 * 50.0
    );
}

/// Central differences of `L` in f64: `(L(w + h eᵢ) − L(w − h eᵢ)) / 2h`.
fn fd_gradient(cfg: &MlpConfig, w: &[f64], x: &[f64], y: &[f64], h: f64) -> Vec<f64> {
    let device = Default::default();
    let n = y.len();
    let xt: Tensor<F64, 2> = upload(x, [n, cfg.input_dim], &device);
    let yt: Tensor<F64, 1> = upload(y, [n], &device);
    let loss = |w: &[f64]| {
        let m = Mlp::<F64>::from_vector(cfg, w, &device).unwrap();
        download(square_loss(&m, xt.clone(), yt.clone()))[0]
    };
    (0..w.len())
        .map(|i| {
            let mut wp = w.to_vec();
            let mut wm = w.to_vec();
            wp[i] += h;
            wm[i] -= h;
            (loss(&wp) - loss(&wm)) / (2.0 * h)
        })
        .collect()
}

#[test]
fn gradient_of_the_loss_matches_central_differences_for_every_activation() {
    // ReLU is included: with these inputs no pre-activation sits within h of its kink.
    let device = Default::default();
    let x = inputs();
    let y = [0.5, -0.3, 1.2, 0.1];
    for act in Activation::ALL {
        for param in [Parameterization::Ntk, Parameterization::Standard] {
            let cfg = config(&[5, 4], act, true, param);
            let w = cfg.initial_parameters(3);
            let model = Mlp::<F64>::from_vector(&cfg, &w, &device).unwrap();
            let g = loss_gradient(
                &model,
                &upload(&x, [4, 3], &device),
                &upload(&y, [4], &device),
            );
            let fd = fd_gradient(&cfg, &w, &x, &y, 1e-5);
            let err = relative_error(&g.to_vector(), &fd);
            assert!(
                err < tol::GRADIENT_FD,
                "{act} {param:?}: relative error {err:e}"
            );
            // L itself: ½‖F − y‖² (sum, with the ½).
            let f = download(model.forward(upload(&x, [4, 3], &device)));
            let half_sse: f64 = 0.5 * f.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
            assert!((g.loss() - half_sse).abs() < 1e-14 * half_sse.max(1.0));
        }
    }
}
