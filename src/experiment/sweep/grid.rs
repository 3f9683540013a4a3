//! The grid of a sweep: its points, in grid order, and the run config of each.

use serde::{Deserialize, Serialize};

use super::SweepConfig;
use crate::experiment::config::RunConfig;
use crate::model::Activation;

/// `[grid]`: every combination of the given lists is a point (absent lists keep the base).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Hidden widths `m` (every hidden layer gets width `m`).
    pub widths: Vec<usize>,
    /// Depths `L` (default: the base's).
    #[serde(default)]
    pub depths: Option<Vec<usize>>,
    /// Sample counts `n` (default: the base's).
    #[serde(default)]
    pub n: Option<Vec<usize>>,
    /// Hidden activations (default: the base's).
    #[serde(default)]
    pub activations: Option<Vec<Activation>>,
    /// Output activations (default: the base's).
    #[serde(default)]
    pub output_activations: Option<Vec<Activation>>,
    /// Outputs per sample `k` (synthetic sources only: `data.outputs`; default: the base's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<usize>>,
}

/// One point of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Index in grid order.
    pub index: usize,
    /// Width `m`.
    pub width: usize,
    /// Depth `L`.
    pub depth: usize,
    /// Samples `n` (`None`: the base's data as configured).
    pub n: Option<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Output activation.
    pub output_activation: Activation,
    /// Outputs per sample `k` (`None`: the base's data as configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<usize>,
}

impl SweepConfig {
    /// Every point, in grid order (outputs, output activation, activation, depth, n, width;
    /// width varies fastest).
    pub fn points(&self) -> Vec<SweepPoint> {
        let base = &self.base.model;
        let depths = self
            .grid
            .depths
            .clone()
            .unwrap_or_else(|| vec![base.widths.len().max(1)]);
        let ns: Vec<Option<usize>> = match &self.grid.n {
            Some(v) => v.iter().map(|&n| Some(n)).collect(),
            None => vec![None],
        };
        let acts = self
            .grid
            .activations
            .clone()
            .unwrap_or_else(|| vec![base.activation]);
        let outs = self
            .grid
            .output_activations
            .clone()
            .unwrap_or_else(|| vec![base.output_activation]);
        let ks: Vec<Option<usize>> = match &self.grid.outputs {
            Some(v) => v.iter().map(|&k| Some(k)).collect(),
            None => vec![None],
        };
        let mut points: Vec<SweepPoint> = vec![];
        for &outputs in &ks {
            for &output_activation in &outs {
                for &activation in &acts {
                    for &depth in &depths {
                        for &n in &ns {
                            for &width in &self.grid.widths {
                                let point = SweepPoint {
                                    index: points.len(),
                                    width,
                                    depth,
                                    n,
                                    activation,
                                    output_activation,
                                    outputs,
                                };
                                if self.within_size(&point) {
                                    points.push(point);
                                }
                            }
                        }
                    }
                }
            }
        }
        points
    }

    /// Whether `point` has at most `max_parameters` parameters (a point whose config does not
    /// validate is kept: validation reports it).
    fn within_size(&self, point: &SweepPoint) -> bool {
        let Some(max) = self.max_parameters else {
            return true;
        };
        match self
            .run_config(point, self.seeds.first().copied().unwrap_or(0))
            .validate()
        {
            Ok(s) => s.model.parameter_count() <= max,
            Err(_) => true,
        }
    }

    /// The run config of `point` with `seed`.
    pub fn run_config(&self, point: &SweepPoint, seed: u64) -> RunConfig {
        let mut c = self.base.clone();
        c.name = Some(format!("{}-p{}-s{}", self.name, point.index, seed));
        c.seed = seed;
        c.card.extra_radii.extend(&self.mu_radii);
        c.model.widths = vec![point.width; point.depth];
        c.model.activation = point.activation;
        c.model.output_activation = point.output_activation;
        if let Some(n) = point.n {
            c.data.n = Some(n);
        }
        if let Some(k) = point.outputs {
            c.data.outputs = Some(k);
            // The model's outputs follow the data: a base that states them would refuse k.
            c.model.outputs = None;
        }
        c
    }
}
