//! `plstar sweep`: a grid of runs with resumable rows, optionally one shard of it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use plstar::experiment::config::Settings;
use plstar::experiment::sweep::{Shard, SweepConfig};
use plstar::model::backend::dispatch;

use super::{progress_bar, BackendArgs};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The sweep's TOML file (see configs/sweep-width.toml).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: rows go to <OUT>/<NAME>/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Run only shard I of N, e.g. --shard 0/4: the grid points are dealt to the N shards by
    /// estimated cost, longest first into the least-loaded shard (deterministic: every shard
    /// computes the same split), so the shards take about the same time.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Parses `--shard I/N`.
pub fn parse_shard(text: &str) -> Result<Shard> {
    let parsed = text.split_once('/').and_then(|(i, n)| {
        Some((
            i.trim().parse::<usize>().ok()?,
            n.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((index, count)) if count >= 1 && index < count => Ok(Shard { index, count }),
        _ => anyhow::bail!("--shard {text:?}: expected I/N with 0 ≤ I < N, e.g. --shard 0/4"),
    }
}

/// Runs `plstar sweep`.
pub fn run(args: SweepArgs) -> Result<ExitCode> {
    use plstar::experiment::sweep::{SweepEvent, SweepJob};
    // The flags, the sweep file, this machine, then the disk.
    let (backend, precision) = args.backend.checked()?;
    let shard = match &args.shard {
        Some(t) => parse_shard(t)?,
        None => Shard { index: 0, count: 1 },
    };
    super::check_config_exists(&args.config, super::ConfigKind::Sweep)?;
    let sweep = SweepConfig::from_file(&args.config)
        .with_context(|| format!("invalid sweep {}", args.config.display()))?;
    args.backend.check_device()?;
    args.backend
        .check_memory(&sweep_settings(&sweep)?.iter().collect::<Vec<_>>())?;
    let dir = args.out.join(&sweep.name);
    let bar = progress_bar(0, args.quiet, "runs");
    let plain = super::plain_progress(args.quiet);
    let (mut finished, mut planned) = (0, 0);
    let mut on_event = |e: SweepEvent<'_>| match e {
        SweepEvent::Planned { todo, done } => {
            planned = todo;
            bar.set_length(todo as u64);
            if done > 0 {
                bar.suspend(|| eprintln!("resuming: {done} runs already in {}", dir.display()));
            }
        }
        SweepEvent::Finished(r, seconds) => {
            finished += 1;
            if plain {
                eprintln!(
                    "plstar sweep {}: run {finished}/{planned} done in {seconds:.1} s (m = {}, L = {}, \
                     n = {}, seed {}: λ₀ = {:.2e}, steps {})",
                    sweep.name, r.width, r.depth, r.n, r.seed, r.lambda0, r.steps_to_target
                );
            }
            bar.inc(1);
            bar.set_message(format!(
                "m = {} L = {} n = {} seed {}: λ₀ = {:.2e}, steps {}",
                r.width, r.depth, r.n, r.seed, r.lambda0, r.steps_to_target
            ));
        }
    };
    let job = SweepJob {
        sweep: &sweep,
        dir: dir.clone(),
        shard,
        on_event: &mut on_event,
    };
    let rows = dispatch(backend, precision, job)??;
    bar.finish_and_clear();
    println!(
        "plstar sweep {}: {} rows in {}",
        sweep.name,
        rows.len(),
        dir.join(shard.rows_file()).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The validated settings of every grid point of `sweep` (first seed), for the memory check.
pub fn sweep_settings(sweep: &SweepConfig) -> Result<Vec<Settings>> {
    let seed = sweep.seeds.first().copied().unwrap_or(0);
    sweep
        .points()
        .iter()
        .map(|p| Ok(sweep.run_config(p, seed).validate()?))
        .collect()
}
