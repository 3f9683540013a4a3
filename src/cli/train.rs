//! `plstar train`: the theorem card, a training run with a live progress line, the verdicts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use plstar::experiment::card_text::card_rows;
use plstar::experiment::config::Settings;
use plstar::experiment::run::{RunSummary, TrainRun};
use plstar::experiment::step::StepSize;
use plstar::model::backend::{dispatch, BackendKind};
use plstar::theorem::card::{CardProgress, TheoremCard};
use plstar::theorem::verdict::VerdictState;
use plstar::train::{Control, StepRecord, StopReason};

use indicatif::ProgressDrawTarget;

use super::{load_config, progress_bar, spinner, BackendArgs};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The run's TOML config (see configs/default.toml, where every field is described).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: the run writes <OUT>/<NAME>/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Run name (overrides `name`; default: the config file's stem).
    #[arg(long)]
    name: Option<String>,
    /// Seed of the initial weights (overrides `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Step budget (overrides `train.steps`).
    #[arg(long)]
    steps: Option<usize>,
    /// Step size η, or `auto` for the theorem's η* (overrides `train.learning_rate`).
    #[arg(long, value_name = "ETA|auto")]
    learning_rate: Option<plstar::experiment::config::LearningRate>,
    /// Stop once L(w_t) ≤ this (overrides `train.target_loss`).
    #[arg(long, value_name = "LOSS")]
    target_loss: Option<f64>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Replace an existing run folder <OUT>/<NAME>/ (else it is refused).
    #[arg(long)]
    overwrite: bool,
}

/// Runs `plstar train`.
pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let settings = settings(&args)?;
    let (backend, precision) = args.backend.resolve();

    if backend == BackendKind::Wgpu {
        // Fail fast, before any message or file, when no adapter exists.
        plstar::model::backend::wgpu_device()?;
    }
    args.backend.check_memory(&[&settings])?;
    claim_run_folder(&args.out.join(&settings.name), args.overwrite)?;
    let card_spinner = spinner(args.quiet || !settings.config.card.enabled);
    card_spinner.set_message("theorem card: the kernel at w₀ and ‖H_F(w₀)‖");
    let mut on_card_progress = |p: &CardProgress| {
        card_spinner.set_message(format!(
            "theorem card: searching B(w₀, r), radius {}/{}, r = {:.3e} (μ̂ so far {:.3e})",
            p.radius_index, p.radii, p.radius, p.mu
        ));
    };
    // The training bar appears once the card is done, so that its ETA counts training alone.
    let bar = progress_bar(settings.train.steps as u64 + 1, args.quiet, "steps");
    let show_bar = !bar.is_hidden();
    bar.set_draw_target(ProgressDrawTarget::hidden());
    let interrupted = ctrl_c_flag();
    let name = settings.name.clone();
    let mut on_card = |card: Option<&TheoremCard>, step: &StepSize| {
        card_spinner.finish_and_clear();
        print_card(&name, card, step);
        bar.reset();
        if show_bar {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    };
    let mut observer = |r: &StepRecord| {
        bar.set_position(r.step as u64 + 1);
        if r.step.is_multiple_of(10) {
            bar.set_message(format!(
                "L = {:.3e}  pl_ratio = {:.3e}  ‖w−w₀‖ = {:.3e}{}",
                r.loss,
                r.pl_ratio,
                r.distance_from_init,
                r.distance_over_radius
                    .map_or(String::new(), |v| format!(" ({:.2} R)", v))
            ));
        }
        if interrupted.load(Ordering::SeqCst) {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let job = TrainRun {
        settings: &settings,
        out: args.out.clone(),
        on_card_progress: &mut on_card_progress,
        on_card: &mut on_card,
        observer: &mut observer,
    };
    let summary = dispatch(backend, precision, job)??;
    bar.finish_and_clear();
    print_summary(&settings, &summary);
    Ok(exit_code(&settings, &summary))
}

/// Refuses an existing run folder unless `overwrite`, in which case it is removed (a run never
/// mixes its files with an earlier one's).
fn claim_run_folder(dir: &std::path::Path, overwrite: bool) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !overwrite {
        anyhow::bail!(
            "{} already holds a run: pass --overwrite to replace it, or --name NAME (or \
             --out DIR) to keep both",
            dir.display()
        );
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot replace {}", dir.display()))
}

/// The config with the command line's overrides, validated.
fn settings(args: &TrainArgs) -> Result<Settings> {
    let mut config = load_config(&args.config, args.name.clone(), args.seed)?;
    if let Some(steps) = args.steps {
        config.train.steps = steps;
    }
    if let Some(eta) = args.learning_rate {
        config.train.learning_rate = eta;
    }
    if let Some(t) = args.target_loss {
        config.train.target_loss = t;
    }
    config
        .validate()
        .with_context(|| format!("invalid config {}", args.config.display()))
}

/// A flag that the first Ctrl-C sets (the run then stops after its step and keeps its
/// records); a second Ctrl-C (or a handler that cannot be installed) exits at once.
fn ctrl_c_flag() -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    interrupted
}

/// The run's one-paragraph summary: sizes, backend, step size, loss, verdicts, outputs.
fn print_summary(settings: &Settings, summary: &RunSummary) {
    let first = summary.records.first();
    let last = summary.records.last();
    println!(
        "plstar train {}: n = {}, p = {}, backend {} ({}, {}), η = {:.4e} ({})",
        settings.name,
        summary.samples,
        summary.parameters,
        summary.backend.backend,
        summary.backend.precision,
        summary.backend.device,
        summary.step_size.value,
        summary.step_size.source
    );
    if let (Some(a), Some(b)) = (first, last) {
        println!(
            "  loss ½‖F−y‖²: {:.4e} at step 0 → {:.4e} at step {} ({:.1e}×), ‖w−w₀‖ = {:.4e}",
            a.loss,
            b.loss,
            b.step,
            b.loss / a.loss,
            b.distance_from_init
        );
    }
    println!("  verdicts:");
    for v in &summary.verdicts.verdicts {
        if v.state == VerdictState::NotApplicable {
            println!("    [{}] {}: {}", v.state.label(), v.check, v.reason);
        } else {
            println!("    [{}] {}: {}", v.state.label(), v.check, v.detail);
        }
    }
    if let (Some(gap), Some(inside)) = (
        summary.verdicts.max_linearization_gap,
        summary.verdicts.kernel_regime(),
    ) {
        println!(
            "  kernel regime: max_t ‖F(w_t) − F_lin,t‖/‖r₀‖ = {gap:.3e} against the model linearized at w₀ ({})",
            if inside { "stayed in it" } else { "left it" }
        );
    }
    println!(
        "  outputs: {} (metrics.csv, summary.json, report.md, figures)",
        summary.dir.display()
    );
}

/// 0 for a finished run, 130 after Ctrl-C, 1 (with the message and the fix) on divergence.
fn exit_code(settings: &Settings, summary: &RunSummary) -> ExitCode {
    match &summary.stop {
        StopReason::TargetReached { .. } | StopReason::StepBudget => ExitCode::SUCCESS,
        StopReason::Interrupted { step } => {
            eprintln!(
                "interrupted after step {step}: every record so far is saved in {}",
                summary.dir.display()
            );
            ExitCode::from(130)
        }
        StopReason::Diverged { step, loss } => {
            eprintln!(
                "error: the loss became {loss} at step {step}: training diverged with step \
                 size η = {:.4e}. Use a smaller step size (e.g. --learning-rate {:.4e}{}). The {} records \
                 before it are kept in {}",
                summary.step_size.value,
                summary.step_size.value / 4.0,
                if settings.config.card.enabled { ", or --learning-rate auto for the theorem's η*" } else { "" },
                summary.records.len(),
                summary.dir.join("metrics.csv").display()
            );
            ExitCode::FAILURE
        }
    }
}

/// The theorem card, printed before training.
fn print_card(name: &str, card: Option<&TheoremCard>, step: &StepSize) {
    match card {
        None => println!(
            "plstar train {name}: no theorem card (card.enabled = false); η = {:.4e}",
            step.value
        ),
        Some(c) => {
            println!("theorem card for {name} (before training):");
            for (k, v, src) in card_rows(c, step) {
                println!("  {k:<30} {v:<24} [{src}]");
            }
            println!("  {}", c.diagnosis);
        }
    }
}
