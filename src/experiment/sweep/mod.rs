//! Width sweeps: a grid of architectures and data sizes, several seeds each; one training run
//! with its theorem card per `(point, seed)`, reduced to one CSV row.
//!
//! Rows are appended to `rows.csv` (or `rows.shard-I-of-N.csv`) and synced as each run ends, so
//! a killed sweep resumes where it stopped: on re-run, finished `(point, seed)` pairs are
//! skipped and a torn last line is dropped. `sweep.json` holds the resolved sweep; a re-run or a
//! merge with a different one is refused.
//!
//! - [`SweepConfig`]: the sweep file, validated (`config`); [`Grid`] and [`SweepPoint`]: its
//!   points (`grid`);
//! - [`Shard`]: one of `N` parts of the grid, dealt by estimated cost (`shard`);
//! - [`SweepJob`]: the sweep on a backend, appending one row per run (`job`); each run
//!   (`run`) is reduced to a [`SweepRow`](crate::report::rows::SweepRow) (`reduce`);
//! - [`plot()`]: the figures from the saved rows (`plot`).

mod config;
mod grid;
mod job;
mod plot;
mod reduce;
mod run;
mod shard;

pub use config::SweepConfig;
pub use grid::{Grid, SweepPoint};
pub use job::{claim_dir, SweepEvent, SweepJob, SweepRecord};
pub use plot::{coverage, plot};
pub use run::CURVE_POINTS;
pub use shard::{point_cost, shard_assignment, Shard};
