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
use plstar::kernel::KernelMethod;
use plstar::ntk::{NtkJob, NtkOptions, NtkReport};
use plstar::run::{card_rows, StepSize, TrainRun};
use plstar::theorem::BallEstimate;
use plstar::train::{Control, StepRecord, StopReason};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// Train a network (GD or SGD) and check the PL* theorem as it goes.
    ///
    /// Prints the theorem card (λ₀, L_F, ‖H_F‖, μ̂, R, η* from probes of the ball), trains with a
    /// live progress line, then prints the verdicts. Writes <OUT>/<NAME>/: metrics.csv (one row
    /// per step), summary.json, report.md, loss_vs_bound.{svg,png}, distance_vs_radius.{svg,png},
    /// parameters.npy and run.json. Exits 1 when the loss diverges and 130 on Ctrl-C (the
    /// records before are kept either way).
    Train(TrainArgs),
    /// Report the tangent kernel and the theorem's local quantities at w₀ (or a saved w).
    ///
    /// Prints and saves <OUT>/<NAME>/ntk.json: n, p, widths, λ_min(K), λ_max(K), κ, tr K,
    /// L_F = √λ_max, ‖H_F‖, max_k ‖H_{F_k}‖₂, ‖F(w) − y‖, L(w), the PL ratio ‖∇L‖²/(2L) and the
    /// check that it is ≥ λ_min(K). With --export DIR, writes a bundle numpy reads directly.
    Ntk(NtkArgs),
    /// Benchmark the structured tangent kernel: time, GFLOP/s and peak memory over
    /// n ∈ {128, 512, 2048}, width m ∈ {256, 1024, 4096}, depth L ∈ {1, 3}.
    ///
    /// Each case runs in its own child process so that its peak memory (VmHWM) is its own.
    /// Writes <OUT>/bench/bench.csv and bench.json.
    Bench(BenchArgs),
    /// Run a width sweep: one training run with its theorem card per (grid point, seed).
    ///
    /// Appends one row per run to <OUT>/<NAME>/rows.csv (synced as each finishes); re-running
    /// the same command resumes, skipping finished runs. --shard I/N runs every N-th point (for
    /// job arrays); `plstar merge` joins the shards.
    Sweep(SweepArgs),
    /// Draw a sweep's figures (SVG and PNG) from its saved rows only, with captions and the
    /// measured numbers in <DIR>/figures.md.
    Plot(PlotArgs),
    /// Run the default sweeps behind the figures, draw them, and write <OUT>/REPORT.md.
    ///
    /// Sweeps: configs/sweep-width.toml (figures a–d: width vs μ̂/λ₀, Hessian norm, kernel change,
    /// loss curves; identity and tanh output) and configs/sweep-pn.toml (figure e: p/n). Resumable
    /// like `plstar sweep`. --quick runs a reduced grid.
    Reproduce(ReproduceArgs),
    /// Merge the rows of sweep shards (refuses shards of different sweeps).
    Merge(MergeArgs),
    /// Run one benchmark case and print its result as JSON (used by `plstar bench`).
    #[command(hide = true)]
    BenchCase(BenchCaseArgs),
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// The sweep's TOML file (see configs/sweep-width.toml).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: rows go to <OUT>/<NAME>/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Run only the points with index ≡ I (mod N), e.g. --shard 0/4.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct ReproduceArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: each sweep goes to <OUT>/<sweep name>/, the report to <OUT>/REPORT.md.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// A reduced grid (three widths, two seeds, a tenth of the steps).
    #[arg(long)]
    quick: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct PlotArgs {
    /// A sweep's output folder (with sweep.json and rows.csv).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Where the merged rows.csv and sweep.json go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The shard folders (each with sweep.json and rows*.csv).
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Backends to run (wgpu is skipped with a note where no adapter exists).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [BackendFlag::Ndarray])]
    backends: Vec<BackendFlag>,
    /// Precisions to run on ndarray (wgpu runs f32 only).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PrecisionFlag::F32, PrecisionFlag::F64])]
    precisions: Vec<PrecisionFlag>,
    /// A small grid (n ≤ 512, m ≤ 1024) for a quick look.
    #[arg(long)]
    quick: bool,
    /// Timed repetitions per case (the best is kept).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    /// Output root: writes <OUT>/bench/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct BenchCaseArgs {
    #[arg(long)]
    n: usize,
    #[arg(long)]
    width: usize,
    #[arg(long)]
    depth: usize,
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    #[command(flatten)]
    backend: BackendArgs,
}

#[derive(Args, Debug)]
struct NtkArgs {
    /// The run's TOML config (model and data; [train] is ignored).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: the report goes to <OUT>/<NAME>/ntk.json.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Run name (overrides `name`).
    #[arg(long)]
    name: Option<String>,
    /// Seed of the initial weights (overrides `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Evaluate at this parameter vector (a .npy file of p float64, e.g. a train run's
    /// parameters.npy) instead of the seeded initialization.
    #[arg(long, value_name = "FILE.npy")]
    params: Option<PathBuf>,
    /// How to compute K: structured (layer-wise, default) or autodiff (Jacobian rows, small
    /// problems; the reference).
    #[arg(long, value_enum, default_value_t = MethodFlag::Structured)]
    method: MethodFlag,
    /// Skip the Hessian norms (they cost many Hessian-vector products).
    #[arg(long)]
    no_hessian: bool,
    /// Write the numpy bundle (kernel.npy, inputs.npy, targets.npy, outputs.npy, parameters.npy,
    /// layer{l}_weight.npy, layer{l}_bias.npy, manifest.json) to this folder.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MethodFlag {
    Structured,
    Autodiff,
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
    /// Step size η, or `auto` for the theorem's η* (overrides `train.learning_rate`).
    #[arg(long, value_name = "ETA|auto")]
    learning_rate: Option<plstar::config::LearningRate>,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendFlag {
    Ndarray,
    Wgpu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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
    let result: Result<ExitCode> = match cli.command {
        Command::Train(args) => train(args),
        Command::Ntk(args) => ntk(args),
        Command::Bench(args) => bench(args),
        Command::Sweep(args) => sweep(args),
        Command::Plot(args) => plot(args),
        Command::Reproduce(args) => reproduce(args),
        Command::Merge(args) => plstar::sweep::merge(&args.out, &args.shards)
            .map(|rows| {
                println!(
                    "merged {rows} rows into {}",
                    args.out.join("rows.csv").display()
                );
                ExitCode::SUCCESS
            })
            .map_err(Into::into),
        Command::BenchCase(args) => bench_case(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a run config and applies the `--name` and `--seed` overrides.
fn load_config(
    path: &std::path::Path,
    name: Option<String>,
    seed: Option<u64>,
) -> Result<RunConfig> {
    let mut config = RunConfig::from_file(path)?;
    if let Some(name) = name {
        config.name = Some(name);
    }
    if let Some(seed) = seed {
        config.seed = seed;
    }
    Ok(config)
}

fn train(args: TrainArgs) -> Result<ExitCode> {
    let mut config = load_config(&args.config, args.name, args.seed)?;
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
    if backend == BackendKind::Wgpu {
        // Fail fast, before any message or file, when no adapter exists.
        plstar::backend::wgpu_device()?;
    }
    if !args.quiet && settings.config.card.enabled {
        eprintln!("computing the theorem card (probes of the ball B(w₀, R))…");
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // A second Ctrl-C (or a handler that cannot be installed) falls back to the default.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let name = settings.name.clone();
    let mut on_card = |card: Option<&BallEstimate>, step: &StepSize| {
        bar.suspend(|| print_card(&name, card, step));
    };
    let mut observer = |r: &StepRecord| {
        bar.set_position(r.step as u64 + 1);
        if r.step % 10 == 0 {
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
        on_card: &mut on_card,
        observer: &mut observer,
    };
    let summary = dispatch(backend, precision, job)??;
    bar.finish_and_clear();

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
        println!(
            "    [{}] {}: {}",
            if v.passed { "pass" } else { "FAIL" },
            v.check,
            v.detail
        );
    }
    println!(
        "  outputs: {} (metrics.csv, summary.json, report.md, figures)",
        summary.dir.display()
    );
    match summary.stop {
        StopReason::TargetReached { .. } | StopReason::StepBudget => Ok(ExitCode::SUCCESS),
        StopReason::Interrupted { step } => {
            eprintln!(
                "interrupted after step {step}: every record so far is saved in {}",
                summary.dir.display()
            );
            Ok(ExitCode::from(130))
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
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_card(name: &str, card: Option<&BallEstimate>, step: &StepSize) {
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

fn ntk(args: NtkArgs) -> Result<ExitCode> {
    let config = load_config(&args.config, args.name, args.seed)?;
    let settings = config
        .validate()
        .with_context(|| format!("invalid config {}", args.config.display()))?;
    let parameters = match &args.params {
        Some(path) => {
            let (w, shape) = plstar::npy::read(path)?;
            let p = settings.model.parameter_count();
            if shape.len() != 1 || w.len() != p {
                anyhow::bail!(
                    "{}: holds an array of shape {shape:?}, but the model of {} has p = {p} parameters; \
                     pass the parameters.npy of a run with the same model and data dimension",
                    path.display(),
                    args.config.display()
                );
            }
            Some((w, path.clone()))
        }
        None => None,
    };
    let (backend, precision) = args.backend.resolve();
    let options = NtkOptions {
        method: match args.method {
            MethodFlag::Structured => KernelMethod::Structured,
            MethodFlag::Autodiff => KernelMethod::Autodiff,
        },
        hessian: !args.no_hessian,
        parameters,
        export: args.export.clone(),
    };
    let report = dispatch(
        backend,
        precision,
        NtkJob {
            settings: &settings,
            options,
        },
    )??;
    let dir = args.out.join(&settings.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    plstar::records::write_json(&dir.join("ntk.json"), &report)?;
    print_ntk(&report);
    println!("  report: {}", dir.join("ntk.json").display());
    if let Some(e) = &args.export {
        println!(
            "  bundle: {} (np.load each .npy; see manifest.json)",
            e.display()
        );
    }
    Ok(if report.pl_ratio_at_least_lambda_min {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: the PL ratio is below λ_min(K): this contradicts ‖∇L‖² = rᵀKr and signals a numerical problem (try --precision f64)");
        ExitCode::FAILURE
    })
}

fn print_ntk(r: &NtkReport) {
    println!(
        "plstar ntk {}: at {}, backend {} ({}), K by {:?}, eigenvalues by {}",
        r.config.name.as_deref().unwrap_or(""),
        r.evaluated_at,
        r.backend.backend,
        r.backend.precision,
        r.kernel_method,
        r.eigen_method
    );
    let row = |name: &str, value: String| println!("  {name:<34} {value}");
    row("n (samples)", r.n.to_string());
    row("p (parameters)", r.p.to_string());
    row("widths", format!("{:?}", r.widths));
    row("λ_min(K)", format!("{:.6e}", r.lambda_min));
    row("λ_max(K)", format!("{:.6e}", r.lambda_max));
    row("κ = λ_max/λ_min", format!("{:.6e}", r.condition_number));
    row("tr K", format!("{:.6e}", r.trace));
    row("L_F(w) = √λ_max(K)", format!("{:.6e}", r.lipschitz_f));
    if let Some(h) = &r.hessian {
        row(
            "‖H_F‖ (operator norm)",
            format!(
                "{:.6e}{}",
                h.operator_norm,
                if h.operator_norm_converged {
                    ""
                } else {
                    "  (not converged: a lower bound)"
                }
            ),
        );
        row(
            "max_k ‖H_F_k‖₂",
            format!("{:.6e} (k = {})", h.per_output.max, h.per_output.argmax),
        );
    }
    row("‖F(w) − y‖", format!("{:.6e}", r.residual_norm));
    row("L(w) = ½‖F(w) − y‖²", format!("{:.6e}", r.loss));
    row("PL ratio ‖∇L‖²/(2L)", format!("{:.6e}", r.pl_ratio));
    row(
        "PL ratio ≥ λ_min(K)",
        if r.pl_ratio_at_least_lambda_min {
            "yes".into()
        } else {
            "NO".to_string()
        },
    );
}

fn bench_case(args: BenchCaseArgs) -> Result<ExitCode> {
    let (backend, precision) = args.backend.resolve();
    let job = plstar::bench::BenchJob {
        case: plstar::bench::BenchCase {
            n: args.n,
            width: args.width,
            depth: args.depth,
        },
        repeats: args.repeats,
    };
    let result = dispatch(backend, precision, job)?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(ExitCode::SUCCESS)
}

fn bench(args: BenchArgs) -> Result<ExitCode> {
    use plstar::bench::{default_grid, quick_grid, BenchResult};
    let exe = std::env::current_exe().context("cannot find the plstar executable")?;
    let grid = if args.quick {
        quick_grid()
    } else {
        default_grid()
    };
    let mut combos = vec![];
    for &b in &args.backends {
        match b {
            BackendFlag::Ndarray => {
                for &p in &args.precisions {
                    combos.push((b, p));
                }
            }
            BackendFlag::Wgpu => {
                if let Err(e) = plstar::backend::wgpu_device() {
                    eprintln!("note: skipping wgpu: {e}");
                } else {
                    combos.push((b, PrecisionFlag::F32));
                }
            }
        }
    }
    let bar = progress_bar((grid.len() * combos.len()) as u64, false);
    let mut results: Vec<BenchResult> = vec![];
    for &(b, p) in &combos {
        for case in &grid {
            let backend = format!("{b:?}").to_lowercase();
            let precision = format!("{p:?}").to_lowercase();
            bar.set_message(format!(
                "{backend} {precision} n={} m={} L={}",
                case.n, case.width, case.depth
            ));
            let out = std::process::Command::new(&exe)
                .args([
                    "bench-case",
                    "--n",
                    &case.n.to_string(),
                    "--width",
                    &case.width.to_string(),
                ])
                .args([
                    "--depth",
                    &case.depth.to_string(),
                    "--repeats",
                    &args.repeats.to_string(),
                ])
                .args(["--backend", &backend, "--precision", &precision])
                .output()
                .context("cannot run a benchmark case")?;
            if !out.status.success() {
                anyhow::bail!(
                    "benchmark case {case:?} on {backend} {precision} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let line = String::from_utf8_lossy(&out.stdout);
            results.push(serde_json::from_str(line.trim()).context("bad benchmark output")?);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    println!(
        "structured tangent kernel K = DF DFᵀ (tanh, NTK, d = {}), best of {} runs",
        plstar::bench::BENCH_INPUT_DIM,
        args.repeats
    );
    println!(
        "{:<8} {:<5} {:>2} {:>5} {:>5} {:>10} {:>9} {:>10}",
        "backend", "prec", "L", "m", "n", "time (s)", "GFLOP/s", "peak (MiB)"
    );
    let mut csv = String::from("backend,precision,depth,width,n,seconds,gflops,flops,peak_bytes\n");
    for r in &results {
        let peak = r
            .peak_bytes
            .map_or("?".to_string(), |b| format!("{:.0}", b as f64 / 1048576.0));
        println!(
            "{:<8} {:<5} {:>2} {:>5} {:>5} {:>10.4} {:>9.1} {:>10}",
            r.backend.backend.name(),
            r.backend.precision.name(),
            r.case.depth,
            r.case.width,
            r.case.n,
            r.seconds,
            r.gflops,
            peak
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{:e},{:e},{:e},{}\n",
            r.backend.backend.name(),
            r.backend.precision.name(),
            r.case.depth,
            r.case.width,
            r.case.n,
            r.seconds,
            r.gflops,
            r.case.flops(),
            r.peak_bytes.map_or(String::new(), |b| b.to_string())
        ));
    }
    let find = |w: usize| {
        results.iter().filter(move |r| {
            r.case.depth == 3
                && r.case.width == w
                && r.case.n == 512
                && r.backend.backend == BackendKind::Ndarray
        })
    };
    for r in find(1024) {
        println!(
            "target L=3, m=1024, n=512 well under 1 s ({}): {:.3} s = {:.2}× the target",
            r.backend.precision.name(),
            r.seconds,
            r.seconds / 1.0
        );
    }
    for r in find(4096) {
        if let Some(b) = r.peak_bytes {
            println!(
                "target L=3, m=4096, n=512 under 2 GiB ({}): peak {:.2} GiB = {:.2}× the target",
                r.backend.precision.name(),
                b as f64 / (1u64 << 30) as f64,
                b as f64 / (2u64 << 30) as f64
            );
        }
    }
    let dir = args.out.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    plstar::records::write_atomic(&dir.join("bench.csv"), csv.as_bytes())?;
    plstar::records::write_json(
        &dir.join("bench.json"),
        &serde_json::json!({
            "plstar_version": plstar::records::VERSION,
            "git_revision": plstar::records::git_revision(),
            "measured_at": plstar::records::utc_now(),
            "results": results,
        }),
    )?;
    println!("  results: {}", dir.join("bench.csv").display());
    Ok(ExitCode::SUCCESS)
}

fn parse_shard(text: &str) -> Result<plstar::sweep::Shard> {
    let parsed = text.split_once('/').and_then(|(i, n)| {
        Some((
            i.trim().parse::<usize>().ok()?,
            n.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((index, count)) if count >= 1 && index < count => {
            Ok(plstar::sweep::Shard { index, count })
        }
        _ => anyhow::bail!("--shard {text:?}: expected I/N with 0 ≤ I < N, e.g. --shard 0/4"),
    }
}

fn sweep(args: SweepArgs) -> Result<ExitCode> {
    use plstar::sweep::{SweepConfig, SweepEvent, SweepJob};
    let sweep = SweepConfig::from_file(&args.config)
        .with_context(|| format!("invalid sweep {}", args.config.display()))?;
    let shard = match &args.shard {
        Some(t) => parse_shard(t)?,
        None => plstar::sweep::Shard { index: 0, count: 1 },
    };
    let (backend, precision) = args.backend.resolve();
    let dir = args.out.join(&sweep.name);
    let bar = progress_bar(0, args.quiet);
    let mut on_event = |e: SweepEvent<'_>| match e {
        SweepEvent::Planned { todo, done } => {
            bar.set_length(todo as u64);
            if done > 0 {
                bar.suspend(|| eprintln!("resuming: {done} runs already in {}", dir.display()));
            }
        }
        SweepEvent::Finished(r) => {
            bar.inc(1);
            bar.set_message(format!(
                "m = {} L = {} n = {} seed {}: λ₀ = {:.2e}, steps {}",
                r.width, r.depth, r.n, r.seed, r.lambda0, r.steps_to_target
            ));
        }
    };
    let job = SweepJob {
        sweep: &sweep,
        dir: dir.clone(),
        shard,
        on_event: &mut on_event,
    };
    let rows = dispatch(backend, precision, job)??;
    bar.finish_and_clear();
    println!(
        "plstar sweep {}: {} rows in {}",
        sweep.name,
        rows.len(),
        dir.join(shard.rows_file()).display()
    );
    Ok(ExitCode::SUCCESS)
}

fn plot(args: PlotArgs) -> Result<ExitCode> {
    let figures = plstar::figures::sweep_figures(&args.dir)?;
    let md = figures_markdown(&figures);
    plstar::records::write_atomic(&args.dir.join("figures.md"), md.as_bytes())?;
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

fn figures_markdown(figures: &[plstar::figures::Figure]) -> String {
    let mut md = String::new();
    for f in figures {
        md.push_str(&format!("![{0}]({0}.svg)\n\n{1}\n\n", f.stem, f.caption));
        if !f.numbers.is_empty() {
            md.push_str("| measured | value |\n|---|---|\n");
            for (k, v) in &f.numbers {
                md.push_str(&format!("| {k} | {v} |\n"));
            }
            md.push('\n');
        }
    }
    md
}

const LANDSCAPE: &str = include_str!("../configs/landscape.toml");

const REPRODUCE_SWEEPS: [(&str, &str); 2] = [
    (
        "configs/sweep-width.toml",
        include_str!("../configs/sweep-width.toml"),
    ),
    (
        "configs/sweep-pn.toml",
        include_str!("../configs/sweep-pn.toml"),
    ),
];

fn reproduce(args: ReproduceArgs) -> Result<ExitCode> {
    use plstar::sweep::{SweepConfig, SweepEvent, SweepJob};
    let started = std::time::Instant::now();
    let (backend, precision) = args.backend.resolve();
    let mut report = format!(
        "# plstar: reproduced figures\n\nplstar {} (git {}) · backend {} ({}) · {} · written {}\n\n\
         Conventions (THEORY.md): L(w) = ½‖F(w) − y‖² summed over samples; K = DF DFᵀ without \
         averaging; m = hidden width, p = parameters, n = samples. Every number below is read from \
         the sweep rows beside each figure; error bars are the min–max over seeds.\n\n",
        plstar::records::VERSION,
        plstar::records::git_revision().unwrap_or("unknown"),
        backend,
        precision,
        if args.quick { "quick grid" } else { "full grid" },
        plstar::records::utc_now()
    );
    let (mut reused, mut runs, mut run_seconds) = (0usize, 0usize, 0.0f64);
    for (origin, text) in REPRODUCE_SWEEPS {
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
        let shard = plstar::sweep::Shard { index: 0, count: 1 };
        let job = SweepJob {
            sweep: &sweep,
            dir: dir.clone(),
            shard,
            on_event: &mut on_event,
        };
        let rows = dispatch(backend, precision, job)??;
        bar.finish_and_clear();
        reused += reused_here;
        runs += rows.len();
        run_seconds += rows.iter().map(|r| r.wall_seconds).sum::<f64>();
        let figures = plstar::figures::sweep_figures(&dir)?;
        plstar::records::write_atomic(
            &dir.join("figures.md"),
            figures_markdown(&figures).as_bytes(),
        )?;
        report.push_str(&format!("## Sweep `{}` ({origin})\n\n", sweep.name));
        let rel = |stem: &str| format!("{}/{stem}.svg", sweep.name);
        for f in &figures {
            report.push_str(&format!(
                "![{}]({})\n\n{}\n\n",
                f.stem,
                rel(&f.stem),
                f.caption
            ));
            if !f.numbers.is_empty() {
                report.push_str("| measured | value |\n|---|---|\n");
                for (k, v) in &f.numbers {
                    report.push_str(&format!("| {k} | {v} |\n"));
                }
                report.push('\n');
            }
        }
        println!(
            "{}: {} figures in {}",
            sweep.name,
            figures.len(),
            dir.display()
        );
    }
    let landscape: plstar::landscape::LandscapeConfig =
        toml::from_str(LANDSCAPE).map_err(|e| anyhow::anyhow!("configs/landscape.toml: {e}"))?;
    let dir = args.out.join(&landscape.name);
    let t = std::time::Instant::now();
    if !args.quiet {
        eprintln!("figure (f): two minimizers, the segment between them, Hessians near them…");
    }
    dispatch(
        backend,
        precision,
        plstar::landscape::LandscapeJob {
            config: &landscape,
            dir: &dir,
        },
    )??;
    let figures = plstar::figures::landscape_figures(&dir)?;
    plstar::records::write_atomic(
        &dir.join("figures.md"),
        figures_markdown(&figures).as_bytes(),
    )?;
    report.push_str("## The landscape (configs/landscape.toml)\n\n");
    for f in &figures {
        report.push_str(&format!(
            "![{0}]({1}/{0}.svg)\n\n{2}\n\n| measured | value |\n|---|---|\n",
            f.stem, landscape.name, f.caption
        ));
        for (k, v) in &f.numbers {
            report.push_str(&format!("| {k} | {v} |\n"));
        }
        report.push('\n');
    }
    println!(
        "{}: {} figures in {} ({:.0} s)",
        landscape.name,
        figures.len(),
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    report.push_str(&format!(
        "Cost: {runs} sweep runs, {run_seconds:.0} s of run time in all (the sum of the rows' \
         wall_seconds), plus figure (f); this invocation took {:.0} s and reused {reused} rows \
         computed by an earlier one.\n",
        started.elapsed().as_secs_f64()
    ));
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    plstar::records::write_atomic(&args.out.join("REPORT.md"), report.as_bytes())?;
    println!(
        "report: {} ({:.0} s)",
        args.out.join("REPORT.md").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
