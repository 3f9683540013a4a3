//! `plstar merge`: joins the rows of sweep shards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Output root: the merged sweep goes to <OUT>/<NAME>/ (NAME from the shards' sweep.json),
    /// like `plstar sweep`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace an existing <OUT>/<NAME>/ (else it is refused).
    #[arg(long)]
    overwrite: bool,
    /// Merge even when the shards do not hold every (point, seed) run of the sweep (else the
    /// merge is refused, naming the missing runs). The figures then draw an incomplete grid.
    #[arg(long)]
    allow_partial: bool,
    /// The shard folders <OUT>/<NAME>/ of each `plstar sweep --shard I/N --out <OUT>` (each
    /// with sweep.json and rows.shard-I-of-N.csv).
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
}

/// Runs `plstar merge`.
pub fn run(args: MergeArgs) -> Result<ExitCode> {
    let merged = plstar::experiment::merge::merge(
        &args.out,
        &args.shards,
        args.overwrite,
        args.allow_partial,
    )?;
    println!(
        "merged {} of the sweep's {} runs into {}",
        merged.rows,
        merged.expected,
        merged.dir.join("rows.csv").display()
    );
    if !merged.missing.is_empty() {
        eprintln!(
            "warning (--allow-partial): {} runs are missing: {}",
            merged.missing.len(),
            plstar::experiment::merge::describe_missing(&merged.sweep, &merged.missing)
        );
    }
    Ok(ExitCode::SUCCESS)
}
