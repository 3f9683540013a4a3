//! Shards: the grid dealt to `count` parts by estimated cost, each with its own rows file.

use super::{SweepConfig, SweepPoint};

/// A shard: one of `count` parts of the grid, dealt by estimated cost ([`Shard::points`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The rows file of this shard.
    pub fn rows_file(&self) -> String {
        self.file("rows")
    }

    /// The timings file of this shard.
    pub fn timings_file(&self) -> String {
        self.file("timings")
    }

    fn file(&self, stem: &str) -> String {
        if self.count == 1 {
            format!("{stem}.csv")
        } else {
            format!("{stem}.shard-{}-of-{}.csv", self.index, self.count)
        }
    }

    /// The points of `sweep` this shard runs, in grid order: those [`shard_assignment`] deals
    /// to it. One shard runs every point.
    pub fn points(&self, sweep: &SweepConfig) -> Vec<SweepPoint> {
        let points = sweep.points();
        if self.count <= 1 {
            return points;
        }
        let shards = shard_assignment(sweep, &points, self.count);
        points
            .into_iter()
            .zip(shards)
            .filter(|(_, shard)| *shard == self.index)
            .map(|(p, _)| p)
            .collect()
    }
}

/// The shard (`0 ≤ s < count`) of each of `points`, balanced by estimated cost: the points,
/// most costly first ([`point_cost`]; equal costs in grid order), each go to the shard with the
/// least cost so far (ties: the lower shard). The greedy longest-first rule (LPT) leaves the
/// busiest shard within 4/3 of the best possible split; round-robin by index could give one
/// shard every widest point (widths 64, 1024, 16384 of sweep-width's two shards: 46 s against
/// 9 s). Integer costs make the split exact, so every shard of a job array computes the same.
pub fn shard_assignment(sweep: &SweepConfig, points: &[SweepPoint], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let costs: Vec<u128> = points.iter().map(|p| point_cost(sweep, p)).collect();
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| costs[b].cmp(&costs[a]).then(a.cmp(&b)));
    let mut loads = vec![0u128; count];
    let mut shard_of = vec![0; points.len()];
    for i in order {
        let lightest = (0..count).min_by_key(|&s| (loads[s], s)).unwrap_or(0);
        loads[lightest] += costs[i];
        shard_of[i] = lightest;
    }
    shard_of
}

/// The estimated cost of `point`'s runs (all its seeds), in units of multiply-adds:
/// `seeds · (n p (T + n) + n³)` with `p` parameters, `n` samples and `T` training steps (a
/// forward and backward pass over the data per step, `n` kernel rows of `p` for the card, a
/// dense eigendecomposition). Only the ratios between points matter. A point whose config does
/// not validate is costed by its widths (`L m²`): it fails when run, wherever it goes.
pub fn point_cost(sweep: &SweepConfig, point: &SweepPoint) -> u128 {
    let seed = sweep.seeds.first().copied().unwrap_or(0);
    let config = sweep.run_config(point, seed);
    let steps = config.train.steps as u128;
    let seeds = sweep.seeds.len().max(1) as u128;
    let per_run = match config.validate() {
        Ok(s) => {
            let (n, p) = (s.data.len() as u128, s.model.parameter_count() as u128);
            n * p * (steps + n) + n * n * n
        }
        Err(_) => point.depth as u128 * (point.width as u128).pow(2),
    };
    seeds * per_run.max(1)
}
