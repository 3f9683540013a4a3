//! The loss landscape is not locally convex (THEORY.md, "Loss landscapes are not locally
//! convex"): figure (f).
//!
//! Over-parameterized (`p > n`): two runs from different seeds reach two distinct global
//! minimizers `w*₁`, `w*₂` (`L ≈ 0`). The loss along the segment `(1 − t) w*₁ + t w*₂` rises above
//! zero in between (the solution set is not convex), and at points `w*₁ + δu` near a minimizer
//! (random unit `u`) `λ_min(H_L) < 0` (the loss is not convex in any neighbourhood). Against it,
//! an under-parameterized model (`p < n`) trained to its minimum, where `λ_min(H_L) ≥ 0` nearby:
//! isolated, locally convex minima.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::config::{LearningRate, RunConfig, Settings};
use crate::measure::hessian::loss_hessian_extremes;
use crate::measure::loss::loss_gradient;
use crate::measure::spectrum::LanczosSettings;
use crate::model::backend::{BackendInfo, BackendJob};
use crate::model::Mlp;
use crate::report::figures::landscape::LandscapeMeasures;
use crate::report::files::{write_atomic, write_json, VERSION};
use crate::train::{train, Control, TrainSettings};

/// `configs/landscape.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandscapeConfig {
    /// Output folder name.
    pub name: String,
    /// The over-parameterized model and data (`[over.model]`, `[over.data]`, `[over.train]`).
    pub over: RunConfig,
    /// The under-parameterized model and data.
    pub under: RunConfig,
    /// Seeds of the two minimizers.
    pub seeds: [u64; 2],
    /// Points on the segment (including both ends).
    pub segment_points: usize,
    /// Distances `δ` of the probes `w* + δu`.
    pub deltas: Vec<f64>,
    /// Random directions `u` per distance.
    pub directions: usize,
}

/// `landscape.json`: what figure (f) shows, with its provenance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LandscapeResult {
    /// plstar's version.
    pub plstar_version: String,
    /// The git revision of the build (absent from results written before the field).
    #[serde(default)]
    pub git_revision: Option<String>,
    /// Backend.
    pub backend: BackendInfo,
    /// The config.
    pub config: LandscapeConfig,
    /// The measures the figure draws.
    #[serde(flatten)]
    pub measures: LandscapeMeasures,
}

/// Figure (f)'s computation as a [`BackendJob`]; writes `dir/landscape.json`.
pub struct LandscapeJob<'a> {
    /// The config.
    pub config: &'a LandscapeConfig,
    /// Output folder.
    pub dir: &'a Path,
}

fn lanczos() -> LanczosSettings {
    LanczosSettings {
        max_iter: 80,
        tol: 1e-8,
        seed: 0,
    }
}

impl BackendJob for LandscapeJob<'_> {
    type Output = Result<LandscapeResult>;

    fn run<B: Backend>(self, device: B::Device, info: BackendInfo) -> Result<LandscapeResult> {
        let c = self.config;
        let over = c.over.validate()?;
        let under = c.under.validate()?;
        let (x, y) = over.data.to_tensors::<B>(&device);
        let m1 = minimize(c.seeds[0], &over, &x, &y)?;
        let m2 = minimize(c.seeds[1], &over, &x, &y)?;
        let (w1, w2) = (m1.to_vector(), m2.to_vector());
        let segment = segment_losses(&w1, &w2, c.segment_points.max(2), &over, &x, &y)?;
        let k = segment.len();
        let ends = segment[0].1.max(segment[k - 1].1);
        let barrier = segment
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max)
            - ends;
        let distance = w1
            .iter()
            .zip(&w2)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();

        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(c.seeds[0]);
        let (at_min_over, near_over) = probe_near(&m1, c, &over, &x, &y, &mut rng)?;
        let (xu, yu) = under.data.to_tensors::<B>(&device);
        let mu = minimize(c.seeds[0], &under, &xu, &yu)?;
        let under_loss = loss_gradient(&mu, &xu, &yu).loss();
        let (at_min_under, near_under) = probe_near(&mu, c, &under, &xu, &yu, &mut rng)?;

        let result = LandscapeResult {
            plstar_version: VERSION.into(),
            git_revision: crate::report::files::git_revision().map(str::to_string),
            backend: info,
            config: c.clone(),
            measures: LandscapeMeasures {
                over_size: (over.data.len(), over.model.parameter_count()),
                under_size: (under.data.len(), under.model.parameter_count()),
                minimizers: (segment[0].1, segment[k - 1].1, distance),
                segment,
                barrier,
                near_over,
                at_min_over,
                under_loss,
                near_under,
                at_min_under,
            },
        };
        write_outputs(self.dir, &result)?;
        Ok(result)
    }
}

/// A minimizer: GD from the seeded initialization with the config's fixed step size.
fn minimize<B: Backend>(
    seed: u64,
    s: &Settings,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
) -> Result<Mlp<B>> {
    let eta = match s.learning_rate {
        LearningRate::Value(v) => v,
        LearningRate::Auto => {
            return Err(Error::config(
                "landscape.train.learning_rate",
                "give a number (the landscape runs have no theorem card)",
            ))
        }
    };
    let settings = TrainSettings::gd(s.train.steps, eta, s.train.target_loss);
    Ok(train(
        s.model.init::<B>(seed, &x.device()),
        x,
        y,
        &settings,
        None,
        &mut |_| Control::Continue,
    )
    .model)
}

/// `(t, L((1 − t) w₁ + t w₂))` at `k` evenly spaced `t ∈ [0, 1]`.
fn segment_losses<B: Backend>(
    w1: &[f64],
    w2: &[f64],
    k: usize,
    s: &Settings,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
) -> Result<Vec<(f64, f64)>> {
    (0..k)
        .map(|i| {
            let t = i as f64 / (k - 1) as f64;
            let w: Vec<f64> = w1
                .iter()
                .zip(w2)
                .map(|(a, b)| (1.0 - t) * a + t * b)
                .collect();
            let model = Mlp::<B>::from_vector(&s.model, &w, &x.device())?;
            Ok((t, loss_gradient(&model, x, y).loss()))
        })
        .collect()
}

/// `λ_min(H_L)` at the minimizer `model`, and `(δ, λ_min(H_L(w* + δu)))` for every distance
/// of the config and `directions` random unit `u` each (drawn from `rng`).
fn probe_near<B: Backend>(
    model: &Mlp<B>,
    c: &LandscapeConfig,
    s: &Settings,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 1>,
    rng: &mut rand::rngs::ChaCha8Rng,
) -> Result<(f64, Vec<(f64, f64)>)> {
    let w = model.to_vector();
    let at_min = loss_hessian_extremes(model, x, y, &lanczos()).min.value;
    let mut out = vec![];
    for &delta in &c.deltas {
        for _ in 0..c.directions {
            let u: Vec<f64> = (0..w.len()).map(|_| StandardNormal.sample(rng)).collect();
            let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            let wp: Vec<f64> = w.iter().zip(&u).map(|(a, b)| a + delta * b / nu).collect();
            let m = Mlp::<B>::from_vector(&s.model, &wp, &x.device())?;
            out.push((delta, loss_hessian_extremes(&m, x, y, &lanczos()).min.value));
        }
    }
    Ok((at_min, out))
}

/// `landscape.json` and `near_minimizer.csv` in `dir`.
fn write_outputs(dir: &Path, result: &LandscapeResult) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    write_json(&dir.join("landscape.json"), result)?;
    let mut csv = String::from("model,delta,lambda_min_loss_hessian\n");
    for (d, l) in &result.measures.near_over {
        csv.push_str(&format!("over,{d:e},{l:e}\n"));
    }
    for (d, l) in &result.measures.near_under {
        csv.push_str(&format!("under,{d:e},{l:e}\n"));
    }
    write_atomic(&dir.join("near_minimizer.csv"), csv.as_bytes())
}
