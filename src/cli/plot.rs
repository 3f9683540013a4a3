//! `plstar plot`: a sweep's figures from its saved rows.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use plstar::report::markdown::figures_markdown;

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A sweep's output folder (with sweep.json and rows.csv).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Runs `plstar plot`.
pub fn run(args: PlotArgs) -> Result<ExitCode> {
    let figures = plstar::experiment::sweep::plot(&args.dir)?;
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
