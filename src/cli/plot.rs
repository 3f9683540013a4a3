//! `plstar plot`: a sweep's figures from its saved rows.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use plstar::report::markdown::figures_markdown;

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A sweep's output folder <OUT>/<NAME>/ (with sweep.json and rows.csv), as `plstar sweep
    /// --out <OUT>` or `plstar merge --out <OUT>` wrote it.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Runs `plstar plot`.
pub fn run(args: PlotArgs) -> Result<ExitCode> {
    // A folder without sweep.json (the <OUT> above <OUT>/<NAME>/) is named, with the sweep
    // folder inside it when there is one.
    plstar::experiment::merge::check_sweep_folder(&args.dir)?;
    let figures = plstar::experiment::sweep::plot(&args.dir)?;
    let (have, grid) = plstar::experiment::sweep::coverage(&args.dir)?;
    if have < grid {
        eprintln!(
            "note: {} holds {have} of the grid's {grid} runs; the figures draw those only. A \
             sweep still running, or one shard's folder: merge the shards first (plstar merge)",
            args.dir.display()
        );
    }
    let md = figures_markdown(&figures);
    plstar::report::files::write_atomic(&args.dir.join("figures.md"), md.as_bytes())?;
    for f in &figures {
        println!(
            "{}: {}",
            args.dir.join(format!("{}.svg", f.stem)).display(),
            f.caption
        );
        for (k, v) in &f.numbers {
            println!("    {k}: {v}");
        }
    }
    println!(
        "  captions and numbers: {}",
        args.dir.join("figures.md").display()
    );
    Ok(ExitCode::SUCCESS)
}
