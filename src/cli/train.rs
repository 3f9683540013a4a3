//! `plstar train`: the theorem card, a training run with a live progress line, the verdicts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use plstar::experiment::card_text::{aligned_rows, card_rows, proved_line};
use plstar::experiment::config::Settings;
use plstar::experiment::run::{RunSummary, TrainRun};
use plstar::experiment::step::StepSize;
use plstar::model::backend::dispatch;
use plstar::theorem::card::{CardProgress, TheoremCard};
use plstar::theorem::verdict::VerdictState;
use plstar::train::{Control, StepRecord, StopReason};

use indicatif::ProgressDrawTarget;

use super::ntk::PathFlag;
use super::{backend_words, duration, load_config, progress_bar, spinner, BackendArgs, Override};

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
    #[arg(long, allow_negative_numbers = true, value_parser = super::seed_value)]
    seed: Option<u64>,
    /// Start from the weights of a network trained elsewhere instead of the seeded w₀: a
    /// PyTorch state_dict or Flax params saved as safetensors (the config's [model] must be
    /// that network, with parameterization = "standard"; see the README, "Weights trained
    /// elsewhere").
    #[arg(long, value_name = "FILE.safetensors")]
    weights: Option<PathBuf>,
    /// Step budget (overrides `train.steps`).
    #[arg(long, allow_negative_numbers = true, value_parser = super::count_value)]
    steps: Option<usize>,
    /// Step size η, or `auto` for the theorem's η* (overrides `train.learning_rate`).
    #[arg(long, value_name = "ETA|auto", allow_negative_numbers = true)]
    learning_rate: Option<plstar::experiment::config::LearningRate>,
    /// Stop once L(w_t) ≤ this (overrides `train.target_loss`).
    #[arg(long, value_name = "LOSS", allow_negative_numbers = true)]
    target_loss: Option<f64>,
    /// Skip the theorem card (sets `card.enabled = false`): at large n its dense
    /// eigendecomposition of K(w₀) alone takes minutes (about 9 min at n = 20 000 here), and
    /// on the operator path ‖H_F(w₀)‖ takes up to 120 Hessian-vector products.
    #[arg(long)]
    no_card: bool,
    /// Skip the comparison with the model linearized at w₀ (sets `train.linearized = false`):
    /// it needs a dense eigendecomposition of K(w₀) before the first step.
    #[arg(long)]
    no_linearized: bool,
    /// Where the kernel evaluations take K(w_t): dense (formed, N² f64 entries), operator
    /// (v ↦ K v matrix-free: λ_max and λ_min by Lanczos, each recorded once it met the
    /// tolerance; the kernel change estimated from 8 probes; the card's constants at w₀ only,
    /// no ball search; needs --no-linearized, which forms K), or auto: dense when its memory
    /// estimate fits, else operator.
    #[arg(long, value_enum, default_value_t = PathFlag::Auto)]
    kernel_path: PathFlag,
    /// The most Lanczos steps (products K v) per kernel evaluation on the operator path.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    lanczos_steps: u64,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Replace the run already in <OUT>/<NAME>/ (else it is refused). An ntk report in
    /// <OUT>/<NAME>/ntk/ is kept either way: `plstar ntk` and `plstar train` share the name.
    #[arg(long)]
    overwrite: bool,
    /// Exit with status 3 when any verdict is FAIL (for scripts; the records are written
    /// either way). Without it, a finished run exits 0 whatever its verdicts.
    #[arg(long)]
    strict: bool,
}

/// The exit status of a finished run with a FAIL verdict under `--strict`.
pub const EXIT_VERDICT_FAILED: u8 = 3;

/// Runs `plstar train`.
pub fn run(args: TrainArgs) -> Result<ExitCode> {
    // In the order a user fixes things, and nothing written before all of it holds: the
    // flags, the config, this machine (adapter, memory), then the folder.
    let (backend, precision) = args.backend.checked()?;
    let mut settings = settings(&args)?;
    let initial_parameters = match &args.weights {
        Some(weights) => Some(super::imported_parameters(
            weights,
            &settings,
            &args.config,
        )?),
        None => None,
    };
    args.backend.check_device()?;
    settings.train.kernel_evaluation = kernel_evaluation(&args, &settings)?;
    claim_run_folder(&args.out.join(&settings.name), args.overwrite)?;
    let eta_from_flag = matches!(
        args.learning_rate,
        Some(plstar::experiment::config::LearningRate::Value(_))
    );
    let card_spinner = spinner(args.quiet || !settings.config.card.enabled);
    card_spinner.set_message("theorem card: the kernel at w₀ and ‖H_F(w₀)‖");
    let plain = super::plain_progress(args.quiet) && settings.config.card.enabled;
    let mut on_card_progress = |p: &CardProgress| {
        let message = card_message(p);
        if plain {
            eprintln!("{message}");
        }
        card_spinner.set_message(message);
    };
    // The training bar appears once the card is done, so that its ETA counts training alone.
    let bar = progress_bar(settings.train.steps as u64 + 1, args.quiet, "steps");
    let show_bar = !bar.is_hidden();
    bar.set_draw_target(ProgressDrawTarget::hidden());
    let interrupted = ctrl_c_flag();
    let name = settings.name.clone();
    let (n_samples, quiet) = (settings.data.equations(), args.quiet);
    let linearized =
        settings.train.linearized && settings.train.optimizer == plstar::train::Optimizer::Gd;
    let mut on_card = |card: Option<&TheoremCard>, step: &StepSize| {
        card_spinner.finish_and_clear();
        print_card(&name, card, &step_source(step, eta_from_flag));
        let eig = plstar::theorem::card::dense_eigen_seconds(n_samples);
        if linearized && eig >= 5.0 && !quiet {
            eprintln!(
                "before the first step: the dense eigendecomposition of K(w₀) for the linearized \
                 model (N = {n_samples} equations, about {}; --no-linearized skips it)",
                duration(eig)
            );
        }
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
        eta_from_flag,
        initial_parameters,
        observer: &mut observer,
    };
    let summary = dispatch(backend, precision, job)??;
    bar.finish_and_clear();
    let summary = RunSummary {
        step_size: step_source(&summary.step_size, eta_from_flag),
        ..summary
    };
    print_summary(&settings, &summary);
    Ok(exit_code(&settings, &summary, args.strict))
}

/// Where the kernel evaluations take `K`: `--kernel-path`, or with `auto` the dense path when
/// its memory estimate fits and the operator otherwise (said on stderr), each checked against
/// the memory before any work. On the operator path the card gives its constants at `w₀` only
/// (said on stderr), and the linearized model, which needs `K(w₀)`'s eigendecomposition, is
/// refused with the flags that turn it off.
fn kernel_evaluation(args: &TrainArgs, s: &Settings) -> Result<plstar::train::KernelEvaluation> {
    use plstar::train::KernelEvaluation;
    let lanczos_steps = args.lanczos_steps as usize;
    // The card on the operator path adds its Hessian's sample block and Lanczos vectors.
    let card = if s.config.card.enabled {
        plstar::theorem::card::operator_card_bytes(&s.model, s.data.len())
    } else {
        0
    };
    let choice = args
        .backend
        .kernel_path(args.kernel_path, s, lanczos_steps, card)?;
    if choice.operator && args.kernel_path == PathFlag::Auto {
        eprintln!(
            "kernel evaluations: the matrix-free operator (a dense K needs about {:.1} GiB; \
             --kernel-path dense forces it)",
            choice.dense_bytes as f64 / (1u64 << 30) as f64
        );
    }
    let operator_path = choice.operator;
    let cache_limit = plstar::experiment::ntk::operator_cache_limit(args.backend.limit_bytes());
    if !operator_path {
        return Ok(KernelEvaluation::Dense);
    }
    let big = s.data.equations();
    if s.config.card.enabled {
        let seconds = plstar::theorem::card::operator_card_seconds(
            big,
            s.model.parameter_count(),
            lanczos_steps,
            match args.backend.resolve().1 {
                plstar::model::backend::Precision::F32 => 4,
                _ => 8,
            },
        );
        eprintln!(
            "theorem card on the operator path: the constants at w₀ (λ₀ a Lanczos Ritz value, an \
             upper estimate), no ball search and no proof (N = {big}); about {} on the 2-core \
             development machine. --kernel-path dense searches where K fits, --no-card skips it",
            duration(seconds)
        );
    }
    let linearized = s.train.linearized && s.train.optimizer == plstar::train::Optimizer::Gd;
    if linearized {
        anyhow::bail!(
            "the linearized model needs the eigendecomposition of K(w₀) (N = {big}), and this \
             run's kernel evaluations take the operator path: pass --no-linearized, or \
             --kernel-path dense"
        );
    }
    Ok(KernelEvaluation::Operator {
        lanczos_steps,
        cache_limit,
    })
}

/// The line the card's spinner shows (and a log prints) for `p`.
fn card_message(p: &CardProgress) -> String {
    match *p {
        CardProgress::Init {
            stage,
            estimate_seconds,
        } => match estimate_seconds {
            // Long stages say how long, on a terminal or in a log.
            Some(s) if s >= 5.0 => {
                format!(
                    "theorem card: {stage} (about {}; --no-card skips the card)",
                    duration(s)
                )
            }
            _ => format!("theorem card: {stage}"),
        },
        CardProgress::Radius {
            radius_index,
            radii,
            radius,
            mu,
        } => format!(
            "theorem card: searching B(w₀, r), radius {radius_index}/{radii}, r = {radius:.3e} \
             (μ̂ so far {mu:.3e})"
        ),
    }
}

/// The step size with its source named as the user gave it: `--learning-rate` rather than
/// `config` when the number came from the flag.
fn step_source(step: &StepSize, from_flag: bool) -> StepSize {
    let mut step = step.clone();
    if from_flag && step.source == "config" {
        step.source = "--learning-rate".into();
    }
    step
}

/// What `plstar ntk` keeps in a run folder: `<OUT>/<NAME>/ntk/`, never train's to replace.
const NTK_FOLDER: &str = "ntk";

/// Refuses a run folder that holds anything but an ntk report unless `overwrite`, in which
/// case everything but `ntk/` is removed (a run never mixes its files with an earlier one's,
/// and `plstar ntk --name X` then `plstar train --name X` keep both).
fn claim_run_folder(dir: &std::path::Path, overwrite: bool) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut held: Vec<std::path::PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name() != NTK_FOLDER)
        .map(|e| e.path())
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    held.sort();
    if !overwrite {
        let names: Vec<String> = held
            .iter()
            .take(4)
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        anyhow::bail!(
            "{} already holds a run ({}{}): pass --overwrite to replace it (an ntk/ report \
             there is kept), or --name NAME (or --out DIR) to keep both",
            dir.display(),
            names.join(", "),
            if held.len() > 4 { ", …" } else { "" }
        );
    }
    for path in held {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}

/// The config with the command line's overrides, validated; a refused value that a flag gave
/// is blamed on the flag ([`super::validate_config`]).
fn settings(args: &TrainArgs) -> Result<Settings> {
    use plstar::experiment::config::LearningRate;
    let mut config = load_config(&args.config, args.name.clone(), args.seed)?;
    let mut overrides = vec![];
    let mut flag = |flag, value: String, key| overrides.push(Override { flag, value, key });
    if let Some(name) = &args.name {
        flag("--name", name.clone(), "name");
    }
    if let Some(seed) = args.seed {
        flag("--seed", seed.to_string(), "seed");
    }
    if let Some(steps) = args.steps {
        config.train.steps = steps;
        flag("--steps", steps.to_string(), "train.steps");
    }
    if let Some(eta) = args.learning_rate {
        config.train.learning_rate = eta;
        let text = match eta {
            LearningRate::Value(v) => v.to_string(),
            LearningRate::Auto => "auto".into(),
        };
        flag("--learning-rate", text, "train.learning_rate");
    }
    if let Some(t) = args.target_loss {
        config.train.target_loss = t;
        flag("--target-loss", t.to_string(), "train.target_loss");
    }
    if args.no_card {
        config.card.enabled = false;
        flag("--no-card", String::new(), "card.enabled");
    }
    if args.no_linearized {
        config.train.linearized = false;
        flag("--no-linearized", String::new(), "train.linearized");
    }
    super::validate_config(&config, &args.config, &overrides)
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
        "plstar train {}: {}, p = {}; backend {}; η = {:.4e} ({})",
        settings.name,
        match settings.data.outputs {
            1 => format!("n = {}", summary.samples),
            k => format!(
                "n = {}, k = {k} outputs (N = {})",
                summary.samples,
                summary.samples * k
            ),
        },
        summary.parameters,
        backend_words(&summary.backend),
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
    // The card's diagnosis (why it did not certify) is printed once, under the card; the
    // verdicts that rest on the certificate point to it instead of repeating it.
    let diagnosis = summary
        .card
        .as_ref()
        .map(|c| c.diagnosis.as_str())
        .filter(|d| !d.is_empty());
    for v in &summary.verdicts.verdicts {
        if v.state == VerdictState::NotApplicable {
            let reason = match diagnosis {
                Some(d) if v.reason.contains(d) => {
                    let short = v.reason.replace(&format!(": {d}"), "").replace(d, "");
                    format!(
                        "{} (why: under the theorem card above)",
                        short.trim_end_matches([':', ' '])
                    )
                }
                _ => v.reason.clone(),
            };
            println!("    [{}] {}: {}", v.state.label(), v.check, reason);
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

/// 0 for a finished run, 3 for one with a FAIL verdict under `--strict`, 130 after Ctrl-C, 1
/// (with the message and the fix) on divergence.
fn exit_code(settings: &Settings, summary: &RunSummary, strict: bool) -> ExitCode {
    match &summary.stop {
        StopReason::TargetReached { .. } | StopReason::StepBudget => {
            let failed: Vec<&str> = summary
                .verdicts
                .verdicts
                .iter()
                .filter(|v| v.state == VerdictState::Fail)
                .map(|v| v.check.as_str())
                .collect();
            if strict && !failed.is_empty() {
                eprintln!(
                    "--strict: {} verdict{} FAIL ({}): exit status {EXIT_VERDICT_FAILED}",
                    failed.len(),
                    if failed.len() == 1 { "" } else { "s" },
                    failed.join("; ")
                );
                ExitCode::from(EXIT_VERDICT_FAILED)
            } else {
                ExitCode::SUCCESS
            }
        }
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
            "plstar train {name}: no theorem card (card.enabled = false); η = {:.4e} ({})",
            step.value, step.source
        ),
        Some(c) => {
            println!("theorem card for {name} (before training):");
            for line in aligned_rows(&card_rows(c, step)) {
                println!("  {line}");
            }
            println!("  {}", c.diagnosis);
            let proved = proved_line(c);
            if !proved.is_empty() {
                println!("  {proved}");
            }
        }
    }
}
