//! `plstar reproduce`: the default sweeps and the landscape behind the figures, and REPORT.md.
//!
//! Every run is recomputed, in a staging folder `<out>/.reproduce/`; only when all of them are
//! done do the new folders replace `<out>/<name>/` and REPORT.md get written, so an interrupted
//! reproduction loses nothing committed (`--resume` continues it). `--check` recomputes into
//! `<out>/.reproduce-check/` and compares with the rows in `<out>` instead
//! ([`super::reproduce_check`]).
//!
//! `--quick` writes its folders as `<out>/<name>-quick/` and its report as
//! `<out>/REPORT-quick.md` beside them: the full grid's `REPORT.md` is never touched by it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::ProgressBar;

use plstar::experiment::landscape::{LandscapeConfig, LandscapeJob, LandscapeResult};
use plstar::experiment::sweep::{Shard, SweepConfig, SweepEvent, SweepJob};
use plstar::model::backend::dispatch;
use plstar::report::figures::landscape::landscape_figures;
use plstar::report::files;
use plstar::report::markdown::{figure_sections, figures_markdown};
use plstar::report::rows::{read_rows, total_wall_seconds};

use super::{progress_bar, reproduce_check, BackendArgs};

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

/// A sweep of the reproduction and its runs still to do.
struct Planned {
    origin: &'static str,
    sweep: SweepConfig,
    /// Parameter counts of the runs still to do (the progress bar's work units).
    todo: Vec<u64>,
}

/// The report of a reproduction in `out`: `REPORT.md`, or `REPORT-quick.md` beside the quick
/// grid's `-quick` folders (so that `--quick` never rewrites the full grid's report).
pub fn report_path(out: &Path, quick: bool) -> PathBuf {
    out.join(if quick {
        "REPORT-quick.md"
    } else {
        "REPORT.md"
    })
}

/// Runs `plstar reproduce`.
pub fn run(args: ReproduceArgs) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    // The flags, the configs, this machine; only then the disk (the staging folder).
    args.backend.checked()?;
    let sweeps = sweeps(&args)?;
    let landscape: LandscapeConfig =
        toml::from_str(LANDSCAPE).map_err(|e| anyhow::anyhow!("configs/landscape.toml: {e}"))?;
    args.backend.check_device()?;
    for (_, sweep) in &sweeps {
        let settings = super::sweep::sweep_settings(sweep)?;
        args.backend
            .check_memory(&settings.iter().collect::<Vec<_>>())?;
    }
    let staging = args.out.join(if args.check {
        ".reproduce-check"
    } else {
        ".reproduce"
    });
    if !args.resume && staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot clear {}", staging.display()))?;
    }
    let plan = plan(sweeps, &staging)?;
    announce(&args, &plan, &staging);
    let bar = progress_bar(plan.iter().flat_map(|p| &p.todo).sum(), args.quiet, "");
    let mut sections = String::new();
    for p in &plan {
        sections.push_str(&reproduce_sweep(&args, p, &staging, &bar)?);
    }
    bar.finish_and_clear();
    let (result, landscape_section) = reproduce_landscape(&args, &landscape, &staging)?;
    sections.push_str(&landscape_section);
    if args.check {
        let names: Vec<&str> = plan.iter().map(|p| p.sweep.name.as_str()).collect();
        let passed =
            reproduce_check::compare(&args.out, &staging, &names, &landscape.name, &result)?;
        let _ = std::fs::remove_dir_all(&staging);
        return Ok(if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let mut written = vec![];
    for name in plan
        .iter()
        .map(|p| p.sweep.name.clone())
        .chain([landscape.name.clone()])
    {
        written.push(move_into_place(
            &staging.join(&name),
            &args.out.join(&name),
        )?);
    }
    let report = report_text(&args, &plan, &sections, started)?;
    let report_path = report_path(&args.out, args.quick);
    files::write_atomic(&report_path, report.as_bytes())?;
    let _ = std::fs::remove_dir_all(&staging);
    println!("wrote (in {:.0} s):", started.elapsed().as_secs_f64());
    for dir in written.iter().chain([&report_path]) {
        println!("  {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The reproduction's sweeps (reduced with `--quick`), with the config each comes from.
fn sweeps(args: &ReproduceArgs) -> Result<Vec<(&'static str, SweepConfig)>> {
    REPRODUCE_SWEEPS
        .iter()
        .map(|&(origin, text)| {
            let sweep = SweepConfig::from_toml(text, origin)?;
            Ok((origin, if args.quick { sweep.quick() } else { sweep }))
        })
        .collect()
}

/// The sweeps and the runs each still has to do in `staging`.
fn plan(sweeps: Vec<(&'static str, SweepConfig)>, staging: &Path) -> Result<Vec<Planned>> {
    let mut plan = vec![];
    for (origin, sweep) in sweeps {
        let done: Vec<(usize, u64)> = read_rows(&staging.join(&sweep.name).join("rows.csv"))?
            .iter()
            .map(|r| (r.point, r.seed))
            .collect();
        let mut todo = vec![];
        for point in sweep.points() {
            for &seed in &sweep.seeds {
                if !done.contains(&(point.index, seed)) {
                    let s = sweep.run_config(&point, seed).validate()?;
                    todo.push(s.model.parameter_count() as u64);
                }
            }
        }
        plan.push(Planned {
            origin,
            sweep,
            todo,
        });
    }
    Ok(plan)
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

/// Runs (or resumes) one sweep in `staging`, draws its figures, and returns its REPORT.md
/// section. The bar advances by each run's parameter count, so that its ETA weighs wide runs.
fn reproduce_sweep(
    args: &ReproduceArgs,
    planned: &Planned,
    staging: &Path,
    bar: &ProgressBar,
) -> Result<String> {
    let (backend, precision) = args.backend.resolve();
    let sweep = &planned.sweep;
    let dir = staging.join(&sweep.name);
    let (mut k, total) = (0, planned.todo.len());
    let plain = super::plain_progress(args.quiet);
    let mut on_event = |e: SweepEvent<'_>| {
        if let SweepEvent::Finished(r, seconds) = e {
            bar.inc(planned.todo.get(k).copied().unwrap_or(0));
            k += 1;
            if plain {
                eprintln!(
                    "plstar reproduce {}: run {k}/{total} done in {seconds:.1} s (m = {}, L = {}, \
                     seed {})",
                    sweep.name, r.width, r.depth, r.seed
                );
            }
            bar.set_message(format!(
                "{}: run {k}/{total} (m = {}, L = {}, seed {}: {seconds:.1} s)",
                sweep.name, r.width, r.depth, r.seed
            ));
        }
    };
    let job = SweepJob {
        sweep,
        dir: dir.clone(),
        shard: Shard { index: 0, count: 1 },
        on_event: &mut on_event,
    };
    dispatch(backend, precision, job)??;
    let figures = plstar::experiment::sweep::plot(&dir)?;
    files::write_atomic(
        &dir.join("figures.md"),
        figures_markdown(&figures).as_bytes(),
    )?;
    Ok(
        format!("## Sweep `{}` ({})\n\n", sweep.name, planned.origin)
            + &figure_sections(&figures, Some(&sweep.name)),
    )
}

/// Computes figure (f) in `staging` and returns it with its REPORT.md section.
fn reproduce_landscape(
    args: &ReproduceArgs,
    landscape: &LandscapeConfig,
    staging: &Path,
) -> Result<(LandscapeResult, String)> {
    let (backend, precision) = args.backend.resolve();
    let dir = staging.join(&landscape.name);
    let result = dispatch(
        backend,
        precision,
        LandscapeJob {
            config: landscape,
            dir: &dir,
        },
    )??;
    let figures = landscape_figures(&dir, &result.measures)?;
    files::write_atomic(
        &dir.join("figures.md"),
        figures_markdown(&figures).as_bytes(),
    )?;
    let section = "## The landscape (configs/landscape.toml)\n\n".to_string()
        + &figure_sections(&figures, Some(&landscape.name));
    Ok((result, section))
}

/// Replaces `dest` by the staged folder `staged`; returns `dest`.
fn move_into_place(staged: &Path, dest: &Path) -> Result<PathBuf> {
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("cannot replace {}", dest.display()))?;
    }
    std::fs::rename(staged, dest)
        .with_context(|| format!("cannot move {} to {}", staged.display(), dest.display()))?;
    Ok(dest.to_path_buf())
}

/// REPORT.md: provenance, conventions, the sections, and the cost.
fn report_text(
    args: &ReproduceArgs,
    plan: &[Planned],
    sections: &str,
    started: std::time::Instant,
) -> Result<String> {
    let (backend, precision) = args.backend.resolve();
    let (mut seconds, mut runs) = (0.0, 0);
    for p in plan {
        let (s, n) = total_wall_seconds(&args.out.join(&p.sweep.name))?;
        (seconds, runs) = (seconds + s, runs + n);
    }
    Ok(format!(
        "# plstar: reproduced figures\n\nplstar {} (git {}) · backend {} ({}) · {} · written {}\n\n\
         Conventions (THEORY.md): L(w) = ½‖F(w) − y‖² summed over samples; K = DF DFᵀ without \
         averaging; m = hidden width, p = parameters, n = samples. Every number below is read from \
         the sweep rows beside each figure; error bars are the min–max over seeds. Certificates \
         are in the state `estimated` (a search): μ̂, L̂_F and β̂_F are extremes over the points \
         the search measured, β̂_F at w₀ and at every searched point inside the certifying ball; \
         positivity and round-off come from the round-off model (THEORY.md, \"Round-off\").\n\n{sections}\
         Cost: {runs} sweep runs, {seconds:.0} s of run time in all (the sum of the sweeps' \
         timings.csv), plus figure (f); this invocation took {:.0} s{}.\n",
        files::VERSION,
        files::git_revision().unwrap_or("unknown"),
        backend,
        precision,
        if args.quick { "quick grid" } else { "full grid" },
        files::utc_now(),
        started.elapsed().as_secs_f64(),
        if args.resume {
            " (resumed: some runs come from an earlier, interrupted invocation)"
        } else {
            ""
        }
    ))
}
