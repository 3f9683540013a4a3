//! Experiments: what a command runs, from a validated configuration to files on disk.
//!
//! - [`config`]: TOML run configurations → validated [`config::Settings`];
//! - [`run`]: one training run with its theorem card, verdicts and files ([`card_text`]: the
//!   card in words and tables);
//! - [`step`]: the step size from the config or the card;
//! - [`sweep`]: grids of runs reduced to resumable rows, in shards; [`merge`] joins the shards;
//! - [`landscape`]: figure (f), the non-convexity of the loss landscape;
//! - [`reproduce`]: the default sweeps and the landscape behind the figures, REPORT.md, and
//!   the check of recomputed rows against committed ones ([`reproduce::check`]);
//! - [`ntk`]: the kernel report at one point and the numpy bundle;
//! - [`bench`](mod@bench): kernel timing cases;
//! - [`resources`]: the memory a run needs, checked before any work.

pub mod bench;
pub mod card_text;
pub mod config;
pub mod landscape;
pub mod merge;
pub mod ntk;
pub mod reproduce;
pub mod resources;
pub mod run;
pub mod step;
pub mod sweep;
