//! `plstar reproduce`: the flags, the call into [`plstar::experiment::reproduce`] (the
//! pipeline: staging, plan, runs, moving into place, REPORT.md, and the `--check` rules), and
//! the printing and progress bar.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use indicatif::ProgressBar;

use plstar::experiment::reproduce::{Planned, Reproduction};
use plstar::experiment::sweep::SweepEvent;
use plstar::report::rows::total_wall_seconds;

use super::{progress_bar, BackendArgs};

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: each sweep goes to <OUT>/<sweep name>/, the report to <OUT>/REPORT.md
    /// (with --quick: <OUT>/<sweep name>-quick/ and <OUT>/REPORT-quick.md).
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// A reduced grid (the first four widths, points of at most 100 000 parameters, two seeds, a
    /// tenth of the steps), written beside the full one: <OUT>/<sweep name>-quick/ and
    /// <OUT>/REPORT-quick.md (REPORT.md is left as it is).
    #[arg(long)]
    quick: bool,
    /// Continue an interrupted reproduction (keep the runs already in <OUT>/.reproduce/).
    #[arg(long, conflicts_with = "check")]
    resume: bool,
    /// Recompute into <OUT>/.reproduce-check/ and compare with the rows in <OUT>, column by
    /// column, relative tolerances by kind: 1e-9 for the kernel at w₀ (p, n, λ₀, λ_max, the
    /// round-off floor), 1e-6 for iterative results (the searches' μ̂, the certificate, η*, η,
    /// the Hessian norms), 1e-3 for trained quantities (r_T, kernel change, linearization gap,
    /// final loss), ±1 step for step counts; two smallest eigenvalues both at or below their
    /// row's round-off floor agree. Prints one line per column; exit status 1 when any differs.
    #[arg(long)]
    check: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `plstar reproduce`.
pub fn run(args: ReproduceArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    // The flags, the configs, this machine; only then the disk (the staging folder).
    let (backend, precision) = args.backend.checked()?;
    let reproduction = Reproduction {
        out: args.out.clone(),
        quick: args.quick,
        resume: args.resume,
        check: args.check,
        backend,
        precision,
    };
    let sweeps = reproduction.sweeps()?;
    let landscape = reproduction.landscape()?;
    if args.check {
        reproduction.check_committed(&sweeps, &landscape)?;
    }
    args.backend.check_device()?;
    for (_, sweep) in &sweeps {
        let settings = super::sweep::sweep_settings(sweep)?;
        args.backend
            .check_memory(&settings.iter().collect::<Vec<_>>())?;
    }
    reproduction.clear_staging()?;
    let plan = reproduction.plan(sweeps)?;
    announce(&args, &plan, &reproduction.staging());
    let bar = progress_bar(plan.iter().flat_map(|p| &p.todo).sum(), args.quiet, "");
    let mut sections = String::new();
    for p in &plan {
        let mut on_event = progress(p, &bar, super::plain_progress(args.quiet));
        sections.push_str(&reproduction.run_sweep(p, &mut on_event)?);
    }
    bar.finish_and_clear();
    let (result, landscape_section) = reproduction.run_landscape(&landscape)?;
    sections.push_str(&landscape_section);
    if args.check {
        let check = reproduction.check(&plan, &landscape, &result)?;
        print!("{check}");
        return Ok(if check.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let written = reproduction.finish(&plan, &landscape, &sections, started)?;
    println!("wrote (in {:.0} s):", started.elapsed().as_secs_f64());
    for path in &written {
        println!("  {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What will run, and how long the last reproduction in `out` took.
fn announce(args: &ReproduceArgs, plan: &[Planned], staging: &Path) {
    if args.quiet {
        return;
    }
    let verb = if args.check {
        "recomputing to check against"
    } else {
        "recomputing"
    };
    eprintln!(
        "plstar reproduce: {verb} {} (staging in {}):",
        args.out.display(),
        staging.display()
    );
    for p in plan {
        let total = p.sweep.points().len() * p.sweep.seeds.len();
        let last = total_wall_seconds(&args.out.join(&p.sweep.name))
            .ok()
            .filter(|(_, count)| *count > 0)
            .map_or("no earlier timing here".to_string(), |(s, count)| {
                format!("{count} runs took {s:.0} s here last time")
            });
        eprintln!(
            "  {} ({}): {} of {total} runs to do; {last}",
            p.sweep.name,
            p.origin,
            p.todo.len()
        );
    }
    eprintln!("  then the landscape (figure f, a few seconds)");
}

/// The progress of one planned sweep: the bar advances by each run's parameter count, so that
/// its ETA weighs wide runs; with `plain`, one line per finished run instead.
fn progress<'a>(
    planned: &'a Planned,
    bar: &'a ProgressBar,
    plain: bool,
) -> impl FnMut(SweepEvent<'_>) + 'a {
    let sweep = &planned.sweep;
    let (mut k, total) = (0, planned.todo.len());
    move |e: SweepEvent<'_>| {
        if let SweepEvent::Finished(r, seconds) = e {
            bar.inc(planned.todo.get(k).copied().unwrap_or(0));
            k += 1;
            if plain {
                eprintln!(
                    "plstar reproduce {}: run {k}/{total} done in {seconds:.1} s ({})",
                    sweep.name,
                    super::sweep::run_words(r)
                );
            }
            bar.set_message(format!(
                "{}: run {k}/{total} ({}; {seconds:.1} s)",
                sweep.name,
                super::sweep::run_words(r)
            ));
        }
    }
}
