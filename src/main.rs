//! The `plstar` command line: parses the flags and dispatches to the subcommand's module in
//! [`cli`], which validates its settings, runs it and prints; errors are printed once, with
//! their causes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Measure the PL* condition of wide neural networks: tangent kernels, Hessians and
/// theorem-instrumented gradient descent (Liu, Zhu & Belkin 2020), on CPU or GPU.
///
/// Conventions (THEORY.md): loss L(w) = ½‖F(w) − y‖² summed over samples; tangent kernel
/// K(w) = DF DFᵀ (no averaging); PL*: ½‖∇L‖² ≥ μ L.
#[derive(Parser, Debug)]
#[command(name = "plstar", version, about, long_about = None, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit status of every subcommand (`plstar --help`; README's table).
const EXIT_STATUS: &str = "\
Exit status:
  0    success; for train, a finished run (target reached or step budget spent) whatever its
       verdicts, unless --strict
  1    an error, printed with its cause and fix: bad input (config, flags' values, data, shards
       to merge), I/O, a diverged train run (records kept), ntk's PL ratio below λ_min(K),
       reproduce --check finding a difference
  2    the command line cannot be parsed (unknown flag, missing argument, bad choice)
  3    train --strict: the run finished but a verdict is FAIL
  130  train interrupted by Ctrl-C (records kept)";

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a network (GD or SGD) and check the PL* theorem as it goes.
    ///
    /// Prints the theorem card (λ₀, L_F, ‖H_F‖, μ̂, R, η* from probes of the ball), trains with a
    /// live progress line, then prints the verdicts. Writes <OUT>/<NAME>/: metrics.csv (one row
    /// per step), summary.json, report.md, loss_vs_bound.{svg,png}, distance_vs_radius.{svg,png},
    /// parameters.npy and run.json (an ntk report in <OUT>/<NAME>/ntk/ is left alone).
    ///
    /// Exit status: 0 for a finished run whatever its verdicts (3 with --strict when any is
    /// FAIL), 1 on an error or when the loss diverges, 2 for a command line that cannot be
    /// parsed, 130 on Ctrl-C (the records before are kept either way).
    #[command(after_help = EXIT_STATUS)]
    Train(cli::train::TrainArgs),
    /// Report the tangent kernel and the theorem's local quantities at w₀ (or a saved w).
    ///
    /// Prints and saves <OUT>/<NAME>/ntk/ntk.json: n, p, widths, λ_min(K), λ_max(K), κ, tr K,
    /// L_F = √λ_max, ‖H_F‖, max_k ‖H_{F_k}‖₂, ‖F(w) − y‖, L(w), the PL ratio ‖∇L‖²/(2L) and the
    /// check that it is ≥ λ_min(K). With --export DIR, writes a bundle numpy reads directly.
    Ntk(cli::ntk::NtkArgs),
    /// Benchmark the structured tangent kernel: time, GFLOP/s against this machine's GEMM rate,
    /// λ_min/λ_max time and peak memory, over four reference shapes (ReLU, d = 32) and a tanh
    /// grid n ∈ {128, 512, 2048}, width m ∈ {256, 1024, 4096}, depth L ∈ {1, 3}; with --card,
    /// the time of a whole theorem card.
    ///
    /// Each case runs in its own child process so that its peak memory (VmHWM) is its own.
    /// Writes <OUT>/bench/bench.csv and bench.json.
    Bench(cli::bench::BenchArgs),
    /// Run a sweep over a grid of widths, depths, sample counts and activations: one training
    /// run with its theorem card per (grid point, seed).
    ///
    /// Appends one row per run to <OUT>/<NAME>/rows.csv (synced as each finishes); re-running
    /// the same command resumes, skipping finished runs. --shard I/N runs one of N parts of the
    /// grid (whole points, balanced by estimated cost, for job arrays) into
    /// rows.shard-I-of-N.csv; `plstar merge` joins the shards.
    Sweep(cli::sweep::SweepArgs),
    /// Draw a sweep's figures (SVG and PNG) from its saved rows only, with captions and the
    /// measured numbers in <DIR>/figures.md.
    Plot(cli::plot::PlotArgs),
    /// Run the default sweeps behind the figures, draw them, and write <OUT>/REPORT.md
    /// (with --quick, <OUT>/REPORT-quick.md beside the -quick folders).
    ///
    /// Sweeps: configs/sweep-width.toml (figures a–d and g: μ̂(r)/λ₀ at fixed radii, certified
    /// radius, λ₀, Hessian norm, kernel change, loss curves, linearization gap against width;
    /// identity and tanh output), configs/sweep-depth.toml (the same at depths 1–3) and
    /// configs/sweep-pn.toml (figure e: p/n); then configs/landscape.toml (figure f). Resumable
    /// like `plstar sweep`. --quick runs a reduced grid.
    Reproduce(cli::reproduce::ReproduceArgs),
    /// Merge the rows of sweep shards (refuses shards of different sweeps, and shards that
    /// leave runs of the grid missing unless --allow-partial).
    Merge(cli::merge::MergeArgs),
    /// Run one benchmark case and print its result as JSON (used by `plstar bench`).
    #[command(hide = true)]
    BenchCase(cli::bench::BenchCaseArgs),
}

fn main() -> ExitCode {
    // A closed stdout (`plstar ntk … | head`) ends the process as it ends other Unix tools,
    // instead of a panic in println!: Rust's runtime sets SIGPIPE to "ignore", which turns the
    // write into an error. Files are written atomically, so nothing is left half-written.
    #[cfg(unix)]
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid action for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let result = match Cli::parse().command {
        Command::Train(args) => cli::train::run(args),
        Command::Ntk(args) => cli::ntk::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Sweep(args) => cli::sweep::run(args),
        Command::Plot(args) => cli::plot::run(args),
        Command::Reproduce(args) => cli::reproduce::run(args),
        Command::Merge(args) => cli::merge::run(args),
        Command::BenchCase(args) => cli::bench::run_case(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
