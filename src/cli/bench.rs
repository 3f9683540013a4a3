//! `plstar bench`: the structured kernel's time, GFLOP/s and peak memory, one child process
//! per case (`plstar bench-case`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use plstar::experiment::bench::{default_grid, quick_grid, BenchCase, BenchResult};
use plstar::model::backend::{dispatch, BackendKind};
use plstar::report::files;

use super::{progress_bar, BackendArgs, BackendFlag, PrecisionFlag};

#[derive(Args, Debug)]
pub struct BenchArgs {
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
    /// Replace an existing <OUT>/bench/ (else it is refused).
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args, Debug)]
pub struct BenchCaseArgs {
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

/// Runs one case and prints its result as JSON (`plstar bench-case`).
pub fn run_case(args: BenchCaseArgs) -> Result<ExitCode> {
    let (backend, precision) = args.backend.resolve();
    let job = plstar::experiment::bench::BenchJob {
        case: plstar::experiment::bench::BenchCase {
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

/// Runs `plstar bench`.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let grid = if args.quick {
        quick_grid()
    } else {
        default_grid()
    };
    // Before minutes of work: the output folder must be new (or replaceable) and writable.
    let dir = args.out.join("bench");
    if dir.join("bench.csv").exists() && !args.overwrite {
        anyhow::bail!(
            "{} already holds a benchmark: pass --overwrite to replace it, or --out DIR",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    files::write_atomic(&dir.join(".writable"), b"")
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    let _ = std::fs::remove_file(dir.join(".writable"));
    let combos = combinations(&args);
    let results = run_cases(&args, &grid, &combos)?;
    println!(
        "structured tangent kernel K = DF DFᵀ (tanh, NTK, d = {}), best of {} runs",
        plstar::experiment::bench::BENCH_INPUT_DIM,
        args.repeats
    );
    let csv = print_table(&results);
    print_targets(&results);
    files::write_atomic(&dir.join("bench.csv"), csv.as_bytes())?;
    files::write_json(
        &dir.join("bench.json"),
        &serde_json::json!({
            "plstar_version": files::VERSION,
            "git_revision": files::git_revision(),
            "measured_at": files::utc_now(),
            "results": results,
        }),
    )?;
    println!("  results: {}", dir.join("bench.csv").display());
    Ok(ExitCode::SUCCESS)
}

/// The (backend, precision) pairs to run: every asked precision on ndarray, f32 on wgpu where
/// an adapter exists.
fn combinations(args: &BenchArgs) -> Vec<(BackendFlag, PrecisionFlag)> {
    let mut combos = vec![];
    for &b in &args.backends {
        match b {
            BackendFlag::Ndarray => {
                for &p in &args.precisions {
                    combos.push((b, p));
                }
            }
            BackendFlag::Wgpu => {
                if let Err(e) = plstar::model::backend::wgpu_device() {
                    eprintln!("note: skipping wgpu: {e}");
                } else {
                    combos.push((b, PrecisionFlag::F32));
                }
            }
        }
    }
    combos
}

/// Every case of `grid` on every combination, each in its own child process (`bench-case`)
/// so that its peak memory is its own.
fn run_cases(
    args: &BenchArgs,
    grid: &[BenchCase],
    combos: &[(BackendFlag, PrecisionFlag)],
) -> Result<Vec<BenchResult>> {
    let exe = std::env::current_exe().context("cannot find the plstar executable")?;
    let bar = progress_bar((grid.len() * combos.len()) as u64, false, "cases");
    let mut results: Vec<BenchResult> = vec![];
    for &(b, p) in combos {
        for case in grid {
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
    Ok(results)
}

/// Prints the results table; returns it as `bench.csv`.
fn print_table(results: &[BenchResult]) -> String {
    println!(
        "{:<8} {:<5} {:>2} {:>5} {:>5} {:>10} {:>9} {:>10}",
        "backend", "prec", "L", "m", "n", "time (s)", "GFLOP/s", "peak (MiB)"
    );
    let mut csv = String::from("backend,precision,depth,width,n,seconds,gflops,flops,peak_bytes\n");
    for r in results {
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
    csv
}

/// The time and memory targets, as ratios.
fn print_targets(results: &[BenchResult]) {
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
}
