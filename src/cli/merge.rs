//! `plstar merge`: joins the rows of sweep shards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Where the merged rows.csv and sweep.json go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The shard folders (each with sweep.json and rows*.csv).
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
}

/// Runs `plstar merge`.
pub fn run(args: MergeArgs) -> Result<ExitCode> {
    let rows = plstar::experiment::sweep::merge(&args.out, &args.shards)?;
    println!(
        "merged {rows} rows into {}",
        args.out.join("rows.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}
