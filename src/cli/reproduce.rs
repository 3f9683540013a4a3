//! `plstar reproduce`: the default sweeps and the landscape behind the figures, and REPORT.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use plstar::experiment::landscape::{LandscapeConfig, LandscapeJob};
use plstar::experiment::sweep::{Shard, SweepConfig, SweepEvent, SweepJob};
use plstar::model::backend::dispatch;
use plstar::report::figures::landscape::landscape_figures;
use plstar::report::files;
use plstar::report::markdown::{figure_sections, figures_markdown};

use super::{progress_bar, BackendArgs};

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: each sweep goes to <OUT>/<sweep name>/, the report to <OUT>/REPORT.md.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// A reduced grid (the first four widths, two seeds, a tenth of the steps).
    #[arg(long)]
    quick: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

const LANDSCAPE: &str = include_str!("../../configs/landscape.toml");

const REPRODUCE_SWEEPS: [(&str, &str); 3] = [
    (
        "configs/sweep-width.toml",
        include_str!("../../configs/sweep-width.toml"),
    ),
    (
        "configs/sweep-depth.toml",
        include_str!("../../configs/sweep-depth.toml"),
    ),
    (
        "configs/sweep-pn.toml",
        include_str!("../../configs/sweep-pn.toml"),
    ),
];

/// What the sweeps of one invocation cost.
#[derive(Default)]
struct Cost {
    /// Rows found from an earlier invocation.
    reused: usize,
    /// Rows in all.
    runs: usize,
    /// The sum of the rows' wall times.
    run_seconds: f64,
}

/// Runs `plstar reproduce`.
pub fn run(args: ReproduceArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let (backend, precision) = args.backend.resolve();
    let mut report = format!(
        "# plstar: reproduced figures\n\nplstar {} (git {}) · backend {} ({}) · {} · written {}\n\n\
         Conventions (THEORY.md): L(w) = ½‖F(w) − y‖² summed over samples; K = DF DFᵀ without \
         averaging; m = hidden width, p = parameters, n = samples. Every number below is read from \
         the sweep rows beside each figure; error bars are the min–max over seeds.\n\n",
        files::VERSION,
        files::git_revision().unwrap_or("unknown"),
        backend,
        precision,
        if args.quick { "quick grid" } else { "full grid" },
        files::utc_now()
    );
    let mut cost = Cost::default();
    for (origin, text) in REPRODUCE_SWEEPS {
        report.push_str(&reproduce_sweep(&args, origin, text, &mut cost)?);
    }
    report.push_str(&reproduce_landscape(&args)?);
    report.push_str(&format!(
        "Cost: {} sweep runs, {:.0} s of run time in all (the sum of the rows' \
         wall_seconds), plus figure (f); this invocation took {:.0} s and reused {} rows \
         computed by an earlier one.\n",
        cost.runs,
        cost.run_seconds,
        started.elapsed().as_secs_f64(),
        cost.reused
    ));
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    files::write_atomic(&args.out.join("REPORT.md"), report.as_bytes())?;
    println!(
        "report: {} ({:.0} s)",
        args.out.join("REPORT.md").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs (or resumes) one sweep, draws its figures, and returns its REPORT.md section.
fn reproduce_sweep(
    args: &ReproduceArgs,
    origin: &str,
    text: &str,
    cost: &mut Cost,
) -> Result<String> {
    let (backend, precision) = args.backend.resolve();
    let mut sweep = SweepConfig::from_toml(text, origin)?;
    if args.quick {
        sweep = sweep.quick();
    }
    let dir = args.out.join(&sweep.name);
    let bar = progress_bar(0, args.quiet);
    let mut reused_here = 0;
    let mut on_event = |e: SweepEvent<'_>| match e {
        SweepEvent::Planned { todo, done } => {
            reused_here = done;
            bar.set_length(todo as u64)
        }
        SweepEvent::Finished(r) => {
            bar.inc(1);
            bar.set_message(format!("{}: m = {} seed {}", sweep.name, r.width, r.seed));
        }
    };
    let job = SweepJob {
        sweep: &sweep,
        dir: dir.clone(),
        shard: Shard { index: 0, count: 1 },
        on_event: &mut on_event,
    };
    let rows = dispatch(backend, precision, job)??;
    bar.finish_and_clear();
    cost.reused += reused_here;
    cost.runs += rows.len();
    cost.run_seconds += rows.iter().map(|r| r.wall_seconds).sum::<f64>();
    let figures = plstar::experiment::sweep::plot(&dir)?;
    files::write_atomic(
        &dir.join("figures.md"),
        figures_markdown(&figures).as_bytes(),
    )?;
    println!(
        "{}: {} figures in {}",
        sweep.name,
        figures.len(),
        dir.display()
    );
    Ok(format!("## Sweep `{}` ({origin})\n\n", sweep.name)
        + &figure_sections(&figures, Some(&sweep.name)))
}

/// Computes figure (f) and returns its REPORT.md section.
fn reproduce_landscape(args: &ReproduceArgs) -> Result<String> {
    let (backend, precision) = args.backend.resolve();
    let landscape: LandscapeConfig =
        toml::from_str(LANDSCAPE).map_err(|e| anyhow::anyhow!("configs/landscape.toml: {e}"))?;
    let dir = args.out.join(&landscape.name);
    let t = std::time::Instant::now();
    if !args.quiet {
        eprintln!("figure (f): two minimizers, the segment between them, Hessians near them…");
    }
    let result = dispatch(
        backend,
        precision,
        LandscapeJob {
            config: &landscape,
            dir: &dir,
        },
    )??;
    let figures = landscape_figures(&dir, &result.measures)?;
    files::write_atomic(
        &dir.join("figures.md"),
        figures_markdown(&figures).as_bytes(),
    )?;
    println!(
        "{}: {} figures in {} ({:.0} s)",
        landscape.name,
        figures.len(),
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok("## The landscape (configs/landscape.toml)\n\n".to_string()
        + &figure_sections(&figures, Some(&landscape.name)))
}
