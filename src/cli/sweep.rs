//! `plstar sweep`: a grid of runs with resumable rows, optionally one shard of it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use plstar::experiment::config::Settings;
use plstar::experiment::sweep::{Shard, SweepConfig};
use plstar::model::backend::dispatch;
use plstar::report::rows::SweepRow;

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
    #[arg(long, value_name = "I/N", allow_hyphen_values = true)]
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
    super::check_config_kind(&args.config, super::ConfigKind::Sweep)?;
    let sweep = SweepConfig::from_file(&args.config).map_err(|e| {
        // A parse error already starts with the file's path; a field's error does not.
        let shown = args.config.display().to_string();
        match &e {
            plstar::Error::Config { key, .. } if *key == shown => anyhow::Error::new(e),
            _ => anyhow::Error::new(e).context(format!("invalid sweep {shown}")),
        }
    })?;
    check_shard_has_runs(&sweep, shard)?;
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
                    "plstar sweep {}: run {finished}/{planned} done in {seconds:.1} s ({})",
                    sweep.name,
                    run_words(r)
                );
            }
            bar.inc(1);
            bar.set_message(run_words(r));
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

/// One finished run in words, for the progress line: its point (with both activations, so
/// that the identity- and tanh-output runs of one width tell apart), seed, `λ₀` and when it
/// reached the target: `m = 64, L = 1, n = 8, tanh hidden, identity output, seed 0: λ₀ =
/// 9.48e-2, target reached at step 312` (or `target not reached`; the rows' −1).
pub fn run_words(r: &SweepRow) -> String {
    let reached = if r.steps_to_target >= 0 {
        format!("target reached at step {}", r.steps_to_target)
    } else {
        "target not reached".to_string()
    };
    let outputs = match r.outputs {
        1 => String::new(),
        k => format!(", k = {k}"),
    };
    format!(
        "m = {}, L = {}, n = {}{outputs}, {} hidden, {} output, seed {}: λ₀ = {:.2e}, {reached}",
        r.width, r.depth, r.n, r.activation, r.output_activation, r.seed, r.lambda0
    )
}

/// Refuses a shard that the split gives no grid point (more shards than points), naming the
/// grid's size and the shard counts that give every shard work: such a shard would finish at
/// once with no rows.
fn check_shard_has_runs(sweep: &SweepConfig, shard: Shard) -> Result<()> {
    if !shard.points(sweep).is_empty() {
        return Ok(());
    }
    let points = sweep.points().len();
    let runs = points * sweep.seeds.len();
    anyhow::bail!(
        "--shard {}/{}: this shard gets no runs. The grid of sweep `{}` has {points} point{} \
         ({runs} run{} with {} seed{}), and shards are dealt whole points, so use at most \
         {points} shard{} (--shard I/N with N ≤ {points}, 0 ≤ I < N)",
        shard.index,
        shard.count,
        sweep.name,
        if points == 1 { "" } else { "s" },
        if runs == 1 { "" } else { "s" },
        sweep.seeds.len(),
        if sweep.seeds.len() == 1 { "" } else { "s" },
        if points == 1 { "" } else { "s" },
    )
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
