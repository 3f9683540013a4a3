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
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::backend::{BackendInfo, BackendJob};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::hessian::loss_hessian_extremes;
use crate::loss::loss_gradient;
use crate::model::Mlp;
use crate::records::{write_atomic, write_json, VERSION};
use crate::spectrum::LanczosSettings;
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

/// What figure (f) shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LandscapeResult {
    /// plstar's version.
    pub plstar_version: String,
    /// Backend.
    pub backend: BackendInfo,
    /// The config.
    pub config: LandscapeConfig,
    /// `(n, p)` of the over-parameterized model.
    pub over_size: (usize, usize),
    /// `(n, p)` of the under-parameterized model.
    pub under_size: (usize, usize),
    /// `L(w*₁)`, `L(w*₂)` and `‖w*₁ − w*₂‖`.
    pub minimizers: (f64, f64, f64),
    /// `(t, L((1 − t) w*₁ + t w*₂))`.
    pub segment: Vec<(f64, f64)>,
    /// `max_t L − max(L(w*₁), L(w*₂))`: the barrier.
    pub barrier: f64,
    /// `(δ, λ_min(H_L(w*₁ + δu)))` for every probe, over-parameterized.
    pub near_over: Vec<(f64, f64)>,
    /// `λ_min(H_L(w*₁))` of the over-parameterized minimizer.
    pub at_min_over: f64,
    /// The under-parameterized minimum's loss.
    pub under_loss: f64,
    /// `(δ, λ_min(H_L(w* + δu)))`, under-parameterized.
    pub near_under: Vec<(f64, f64)>,
    /// `λ_min(H_L(w*))` of the under-parameterized minimum.
    pub at_min_under: f64,
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
        let minimize = |seed: u64, s: &crate::config::Settings, x, y| -> Result<Mlp<B>> {
            let eta = match s.learning_rate {
                crate::config::LearningRate::Value(v) => v,
                crate::config::LearningRate::Auto => {
                    return Err(Error::config(
                        "landscape.train.learning_rate",
                        "give a number (the landscape runs have no theorem card)",
                    ))
                }
            };
            let settings = TrainSettings::gd(s.train.steps, eta, s.train.target_loss);
            Ok(train(
                s.model.init::<B>(seed, &device),
                x,
                y,
                &settings,
                None,
                &mut |_| Control::Continue,
            )
            .model)
        };
        let m1 = minimize(c.seeds[0], &over, &x, &y)?;
        let m2 = minimize(c.seeds[1], &over, &x, &y)?;
        let (w1, w2) = (m1.to_vector(), m2.to_vector());
        let loss_at = |w: &[f64], s: &crate::config::Settings, x, y| -> Result<f64> {
            Ok(loss_gradient(&Mlp::<B>::from_vector(&s.model, w, &device)?, x, y).loss())
        };
        let k = c.segment_points.max(2);
        let segment: Vec<(f64, f64)> = (0..k)
            .map(|i| {
                let t = i as f64 / (k - 1) as f64;
                let w: Vec<f64> = w1
                    .iter()
                    .zip(&w2)
                    .map(|(a, b)| (1.0 - t) * a + t * b)
                    .collect();
                loss_at(&w, &over, &x, &y).map(|l| (t, l))
            })
            .collect::<Result<_>>()?;
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
        let mut probe =
            |model: &Mlp<B>, s: &crate::config::Settings, x, y| -> Result<(f64, Vec<(f64, f64)>)> {
                let w = model.to_vector();
                let at_min = loss_hessian_extremes(model, x, y, &lanczos()).min.value;
                let mut out = vec![];
                for &delta in &c.deltas {
                    for _ in 0..c.directions {
                        let u: Vec<f64> = (0..w.len())
                            .map(|_| StandardNormal.sample(&mut rng))
                            .collect();
                        let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
                        let wp: Vec<f64> =
                            w.iter().zip(&u).map(|(a, b)| a + delta * b / nu).collect();
                        let m = Mlp::<B>::from_vector(&s.model, &wp, &device)?;
                        out.push((delta, loss_hessian_extremes(&m, x, y, &lanczos()).min.value));
                    }
                }
                Ok((at_min, out))
            };
        let (at_min_over, near_over) = probe(&m1, &over, &x, &y)?;
        let (xu, yu) = under.data.to_tensors::<B>(&device);
        let mu = minimize(c.seeds[0], &under, &xu, &yu)?;
        let under_loss = loss_gradient(&mu, &xu, &yu).loss();
        let (at_min_under, near_under) = probe(&mu, &under, &xu, &yu)?;

        let result = LandscapeResult {
            plstar_version: VERSION.into(),
            backend: info,
            config: c.clone(),
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
        };
        std::fs::create_dir_all(self.dir).map_err(|e| Error::io("cannot create", self.dir, e))?;
        write_json(&self.dir.join("landscape.json"), &result)?;
        let mut csv = String::from("model,delta,lambda_min_loss_hessian\n");
        for (d, l) in &result.near_over {
            csv.push_str(&format!("over,{d:e},{l:e}\n"));
        }
        for (d, l) in &result.near_under {
            csv.push_str(&format!("under,{d:e},{l:e}\n"));
        }
        write_atomic(&self.dir.join("near_minimizer.csv"), csv.as_bytes())?;
        Ok(result)
    }
}
