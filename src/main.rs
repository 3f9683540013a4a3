//! The `plstar` command line: parses flags, turns them into validated settings, dispatches to
//! the chosen backend, shows progress, and prints errors once with their cause.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use plstar::backend::{dispatch, BackendKind, Precision};
use plstar::config::RunConfig;
use plstar::run::TrainRun;
use plstar::train::{Control, StepRecord, StopReason};

/// Measure the PL* condition of wide neural networks: tangent kernels, Hessians and
/// theorem-instrumented gradient descent (Liu, Zhu & Belkin 2020), on CPU or GPU.
///
/// Conventions (THEORY.md): loss L(w) = ½‖F(w) − y‖² summed over samples; tangent kernel
/// K(w) = DF DFᵀ (no averaging); PL*: ½‖∇L‖² ≥ μ L.
#[derive(Parser, Debug)]
#[command(name = "plstar", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a network by full-batch gradient descent and record loss, ‖∇L‖² and ‖w_t − w₀‖.
    ///
    /// Writes <OUT>/<NAME>/metrics.csv (one row per step) and run.json (config, seeds, backend,
    /// precision, version). Exits non-zero when the loss diverges (the records before it are kept).
    Train(TrainArgs),
}

#[derive(Args, Debug)]
struct TrainArgs {
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
    /// Step size η (overrides `train.learning_rate`).
    #[arg(long, value_name = "ETA")]
    learning_rate: Option<f64>,
    /// Stop once L(w_t) ≤ this (overrides `train.target_loss`).
    #[arg(long, value_name = "LOSS")]
    target_loss: Option<f64>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct BackendArgs {
    /// Tensor backend: ndarray (CPU) or wgpu (GPU through Vulkan/Metal/DX12, or a software
    /// Vulkan driver).
    #[arg(long, value_enum, default_value_t = BackendFlag::Ndarray)]
    backend: BackendFlag,
    /// Float precision [default: f64 on ndarray, f32 on wgpu; wgpu supports f32 only].
    #[arg(long, value_enum)]
    precision: Option<PrecisionFlag>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendFlag {
    Ndarray,
    Wgpu,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PrecisionFlag {
    F32,
    F64,
}

impl BackendArgs {
    fn resolve(&self) -> (BackendKind, Precision) {
        let backend = match self.backend {
            BackendFlag::Ndarray => BackendKind::Ndarray,
            BackendFlag::Wgpu => BackendKind::Wgpu,
        };
        let precision = match (self.precision, backend) {
            (Some(PrecisionFlag::F32), _) => Precision::F32,
            (Some(PrecisionFlag::F64), _) => Precision::F64,
            (None, BackendKind::Ndarray) => Precision::F64,
            (None, BackendKind::Wgpu) => Precision::F32,
        };
        (backend, precision)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn train(args: TrainArgs) -> Result<ExitCode> {
    let mut config = RunConfig::from_file(&args.config)?;
    if let Some(name) = args.name {
        config.name = Some(name);
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(steps) = args.steps {
        config.train.steps = steps;
    }
    if let Some(eta) = args.learning_rate {
        config.train.learning_rate = eta;
    }
    if let Some(t) = args.target_loss {
        config.train.target_loss = t;
    }
    let settings = config
        .validate()
        .with_context(|| format!("invalid config {}", args.config.display()))?;
    let (backend, precision) = args.backend.resolve();

    let bar = progress_bar(settings.train.steps as u64 + 1, args.quiet);
    let mut observer = |r: &StepRecord| {
        bar.set_position(r.step as u64 + 1);
        if r.step % 10 == 0 {
            bar.set_message(format!(
                "L = {:.3e}  ‖∇L‖² = {:.3e}  ‖w−w₀‖ = {:.3e}",
                r.loss, r.grad_norm_sq, r.distance_from_init
            ));
        }
        Control::Continue
    };
    let job = TrainRun {
        settings: &settings,
        out: args.out.clone(),
        observer: &mut observer,
    };
    let summary = dispatch(backend, precision, job)??;
    bar.finish_and_clear();

    let first = summary.records.first();
    let last = summary.records.last();
    println!(
        "plstar train {}: n = {}, p = {}, backend {} ({}, {})",
        settings.name,
        summary.samples,
        summary.parameters,
        summary.backend.backend,
        summary.backend.precision,
        summary.backend.device
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
    println!("  outputs: {}", summary.dir.display());
    match summary.stop {
        StopReason::TargetReached { step } => {
            println!(
                "  reached the target loss {:e} at step {step}",
                settings.train.target_loss
            );
            Ok(ExitCode::SUCCESS)
        }
        StopReason::StepBudget => {
            println!(
                "  used the step budget ({} steps) without reaching the target loss {:e}",
                settings.train.steps, settings.train.target_loss
            );
            Ok(ExitCode::SUCCESS)
        }
        StopReason::Interrupted { step } => {
            println!("  interrupted after step {step}");
            Ok(ExitCode::FAILURE)
        }
        StopReason::Diverged { step, loss } => {
            eprintln!(
                "error: the loss became {loss} at step {step}: gradient descent diverged with step \
                 size η = {}. Use a smaller step size (e.g. --learning-rate {}). The {} records \
                 before it are kept in {}",
                settings.train.learning_rate,
                settings.train.learning_rate / 4.0,
                summary.records.len(),
                summary.dir.join("metrics.csv").display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps  {elapsed_precise} (eta {eta})  {msg}",
        )
        .expect("valid template"),
    );
    bar
}
