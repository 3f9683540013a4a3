//! `plstar bench`: the structured kernel's time, GFLOP/s and peak memory, one child process
//! per case (`plstar bench-case`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use plstar::experiment::bench::{
    default_grid, quick_grid, reference_shapes, scaling_grid, BenchCase, BenchPath, BenchResult,
    CardBenchJob, CardBenchResult,
};
use plstar::experiment::config::{RunConfig, Settings};
use plstar::model::backend::{dispatch, BackendKind, Precision};
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
    #[arg(long, conflicts_with = "scaling")]
    quick: bool,
    /// Issue 22's scaling grid instead of the default one: ReLU, d = 32, L = 2, m = 1024; the
    /// dense kernel at n = 1 024 … 16 384 and one matrix-free product K v at n = 1 024 … 65 536,
    /// each cold (first call in a fresh process) and warm (best of --repeats); writes
    /// <OUT>/bench/scaling.svg and .png, time against n (log-log) with the n² and n·p slopes.
    #[arg(long)]
    scaling: bool,
    /// Timed repetitions per case (the best is kept).
    #[arg(long, default_value_t = 2, allow_negative_numbers = true, value_parser = super::count_value)]
    repeats: usize,
    /// Output root: writes <OUT>/bench/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Replace an existing <OUT>/bench/ (else it is refused).
    #[arg(long)]
    overwrite: bool,
    /// Also time the whole theorem card of this config, on each backend and precision
    /// (`--card` alone: configs/default.toml).
    #[arg(long, value_name = "CONFIG", num_args = 0..=1, default_missing_value = "configs/default.toml")]
    card: Option<PathBuf>,
    /// An earlier build's bench.csv: print each matching case's speed-up over it and the f64
    /// target of issue 13 (every f64 case at least 2× faster). Files without `activation` and
    /// `input_dim` columns (the first bench) are the tanh grid, d = 64.
    #[arg(long, value_name = "CSV")]
    before: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchCaseArgs {
    /// The case as JSON (a `BenchCase`).
    #[arg(long)]
    case: String,
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Runs one case and prints its result as JSON (`plstar bench-case`).
pub fn run_case(args: BenchCaseArgs) -> Result<ExitCode> {
    let (backend, precision) = args.backend.resolve();
    let job = plstar::experiment::bench::BenchJob {
        case: serde_json::from_str(&args.case).context("bad --case")?,
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
    } else if args.scaling {
        scaling_grid()
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
    let card = match &args.card {
        Some(path) => Some(
            RunConfig::from_file(path)
                .and_then(|c| c.validate())
                .with_context(|| format!("bench --card {}", path.display()))?,
        ),
        None => None,
    };
    let before = match &args.before {
        Some(path) => Some((path, read_before(path)?)),
        None => None,
    };
    let combos = combinations(&args);
    let results = run_cases(&args, &grid, &combos)?;
    println!(
        "structured tangent kernel K = DF DFᵀ (NTK, no bias), best of {} runs; GEMM = the \
         same process's [n, m]×[m, n] product, the better of the backend and faer",
        args.repeats
    );
    let csv = print_table(&results);
    print_targets(&results);
    if args.scaling {
        print_scaling(&results, &dir)?;
    }
    if let Some((path, before)) = &before {
        print_speedups(&results, path, before);
    }
    let cards = match &card {
        Some(settings) => time_cards(settings, &combos, args.repeats)?,
        None => vec![],
    };
    files::write_atomic(&dir.join("bench.csv"), csv.as_bytes())?;
    files::write_json(
        &dir.join("bench.json"),
        &serde_json::json!({
            "plstar_version": files::VERSION,
            "git_revision": files::git_revision(),
            "measured_at": files::utc_now(),
            "results": results,
            "cards": cards,
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
                "{backend} {precision} {} {} n={} m={} L={} k={}",
                case.path.name(),
                case.activation,
                case.n,
                case.width,
                case.depth,
                case.outputs
            ));
            let out = std::process::Command::new(&exe)
                .args(["bench-case", "--case", &serde_json::to_string(case)?])
                .args(["--repeats", &args.repeats.to_string()])
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
        "{:<8} {:<5} {:<8} {:<5} {:>2} {:>5} {:>5} {:>3} {:>9} {:>9} {:>8} {:>8} {:>6} {:>9} {:>10}",
        "backend",
        "prec",
        "path",
        "act",
        "L",
        "m",
        "n",
        "k",
        "cold s",
        "warm s",
        "GFLOP/s",
        "GEMM",
        "/GEMM",
        "λ s",
        "peak MiB"
    );
    let mut csv = String::from(
        "backend,precision,activation,input_dim,depth,width,n,outputs,gram_path,seconds,kernel_gflops,\
         gemm_gflops,gemm_backend_gflops,gemm_faer_gflops,flops,extremes_seconds,\
         extremes_method,peak_bytes,path,cold_seconds\n",
    );
    for r in results {
        let c = &r.case;
        let peak = r
            .peak_bytes
            .map_or("?".to_string(), |b| format!("{:.0}", b as f64 / 1048576.0));
        println!(
            "{:<8} {:<5} {:<8} {:<5} {:>2} {:>5} {:>5} {:>3} {:>9} {:>9.4} {:>8.1} {:>8.1} {:>5.0}% {:>9.4} {:>10}",
            r.backend.backend.name(),
            r.backend.precision.name(),
            c.path.name(),
            c.activation.name(),
            c.depth,
            c.width,
            c.n,
            c.outputs,
            r.cold_seconds.map_or("?".to_string(), |t| format!("{t:.4}")),
            r.seconds,
            r.kernel_gflops,
            r.gemm_gflops,
            100.0 * r.kernel_gflops / r.gemm_gflops,
            r.extremes_seconds,
            peak
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{},{},{},{}\n",
            r.backend.backend.name(),
            r.backend.precision.name(),
            c.activation.name(),
            c.input_dim,
            c.depth,
            c.width,
            c.n,
            c.outputs,
            r.gram_path,
            r.seconds,
            r.kernel_gflops,
            r.gemm_gflops,
            r.gemm_backend_gflops,
            r.gemm_faer_gflops,
            c.timed_flops(),
            r.extremes_seconds,
            r.extremes_method,
            r.peak_bytes.map_or(String::new(), |b| b.to_string()),
            c.path.name(),
            r.cold_seconds.map_or(String::new(), |t| format!("{t:e}"))
        ));
    }
    csv
}

/// The JAX peer timings of issue 13 (f32, `jit(vmap(jacrev))` contraction, warm median of 5,
/// on the 2-core development machine) for the reference shapes `(L, m, n)` that JAX could run.
const JAX_SECONDS: [((usize, usize, usize), f64); 2] =
    [((1, 4096, 512), 0.235), ((3, 1024, 512), 3.35)];

/// The speed and memory targets of the reference shapes, as ratios (f32 on ndarray).
fn print_targets(results: &[BenchResult]) {
    let shapes = reference_shapes();
    let f32_cases = results.iter().filter(|r| {
        r.backend.backend == BackendKind::Ndarray
            && r.backend.precision == Precision::F32
            && shapes.contains(&r.case)
    });
    for r in f32_cases {
        let c = &r.case;
        let key = (c.depth, c.width, c.n);
        let shape = format!("L={}, m={}, n={}", c.depth, c.width, c.n);
        if let Some((_, jax)) = JAX_SECONDS.iter().find(|(k, _)| *k == key) {
            println!(
                "target {shape}: ≥ 20× JAX ({jax} s): {:.1}×; kernel at ≥ 50% of GEMM: {:.0}%",
                jax / r.seconds,
                100.0 * r.kernel_gflops / r.gemm_gflops
            );
        }
        match key {
            (1, 4096, 512) => println!(
                "target {shape}: ≤ 12 ms: {:.1} ms = {:.2}× the target",
                1e3 * r.seconds,
                r.seconds / 0.012
            ),
            (3, 4096, 512) => println!(
                "target {shape}: < 0.3 s and < 1 GiB: {:.3} s ({:.2}×), peak {} ({})",
                r.seconds,
                r.seconds / 0.3,
                r.peak_bytes
                    .map_or("?".into(), |b| format!("{:.2} GiB", gib(b))),
                r.peak_bytes
                    .map_or("?".into(), |b| format!("{:.2}×", gib(b)))
            ),
            (3, 1024, 4096) => println!(
                "target {shape}: kernel + λ_min, λ_max ({}) < 2 s: {:.2} s = {:.2}× the target",
                r.extremes_method,
                r.seconds + r.extremes_seconds,
                (r.seconds + r.extremes_seconds) / 2.0
            ),
            _ => {}
        }
    }
    print_output_targets(results);
    print_cold_targets(results);
}

/// Issue 22's cold-call targets: each dense case's first call in a fresh process (as `plstar
/// ntk` runs it) within 1.5× of its warm best, and the `L = 1, m = 4096, n = 512` shape cold
/// within 12 ms (20× the JAX peer's warm median, 0.235 s).
fn print_cold_targets(results: &[BenchResult]) {
    let dense: Vec<(&BenchResult, f64)> = results
        .iter()
        .filter(|r| r.case.path == BenchPath::Dense)
        .filter_map(|r| r.cold_seconds.map(|c| (r, c / r.seconds)))
        .collect();
    if let Some((worst, ratio)) = dense.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        let c = &worst.case;
        let within = dense.iter().filter(|(_, q)| *q <= 1.5).count();
        println!(
            "target cold ≤ 1.5× warm (dense): {within} of {} cases; the worst {:.2}× ({} {} L={} m={} n={})",
            dense.len(),
            ratio,
            worst.backend.precision.name(),
            c.activation.name(),
            c.depth,
            c.width,
            c.n
        );
    }
    for (r, _) in &dense {
        let c = &r.case;
        if r.backend.precision == Precision::F32 && (c.depth, c.width, c.n) == (1, 4096, 512) {
            let cold = r.cold_seconds.unwrap_or(f64::NAN);
            println!(
                "target {} L=1, m=4096, n=512 cold ≤ 12 ms (20× JAX's 0.235 s): {:.1} ms = {:.2}× the target; {}",
                c.activation.name(),
                1e3 * cold,
                cold / 0.012,
                gemm_floor(r)
            );
        }
    }
}

/// The least time a case's flops can take on this machine: `timed_flops` at 100% of the GEMM
/// rate measured in the same process, for the same shape and precision (a large GEMM is the
/// fastest this code, or any BLAS, runs; measured here at about 90% of the cores' FMA peak by
/// `scripts/fma_peak.c`). A target at or below it is bound by the machine, not by plstar's
/// overheads (page faults, the forward pass, the Hadamard sums), which only add to it.
fn gemm_floor(r: &BenchResult) -> String {
    let floor = r.case.timed_flops() / (r.gemm_gflops * 1e9);
    let (value, unit) = if floor < 1.0 {
        (1e3 * floor, "ms")
    } else {
        (floor, "s")
    };
    format!(
        "its {:.2e} flops at 100% of this run's GEMM ({:.0} GFLOP/s) take {value:.1} {unit}",
        r.case.timed_flops(),
        r.gemm_gflops
    )
}

/// The scaling grid's summary (issue 22): per `n`, the dense kernel (cold, warm, its
/// extremes, peak memory) beside one operator product (cold, warm, GFLOP/s, peak memory); how
/// many products cost as much as the dense kernel and its extremes (the time crossover: while
/// Lanczos needs fewer products, the operator is the cheaper path); where the dense estimate
/// stops fitting in memory (the memory crossover); and the figure of time against `n`.
fn print_scaling(results: &[BenchResult], dir: &std::path::Path) -> Result<()> {
    use plstar::report::figures::{save, scaling::scaling_chart};
    let f32_rows = |path: BenchPath| -> Vec<&BenchResult> {
        let mut rows: Vec<&BenchResult> = results
            .iter()
            .filter(|r| r.case.path == path && r.backend.precision == Precision::F32)
            .collect();
        rows.sort_by_key(|r| r.case.n);
        rows
    };
    let (dense, operator) = (f32_rows(BenchPath::Dense), f32_rows(BenchPath::Operator));
    if dense.is_empty() && operator.is_empty() {
        println!("scaling: no f32 cases (run with --precisions f32)");
        return Ok(());
    }
    println!("scaling, f32, ReLU, d = 32, L = 2, m = 1024 (p = 1 082 368):");
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {:>8} {:>9} {:>11}",
        "n",
        "K cold s",
        "K warm s",
        "λ s",
        "K GiB",
        "Kv cold s",
        "Kv warm s",
        "GFLOP/s",
        "Kv GiB",
        "dense / Kv"
    );
    let mut ns: Vec<usize> = dense.iter().chain(&operator).map(|r| r.case.n).collect();
    ns.sort_unstable();
    ns.dedup();
    let gib_of = |r: &BenchResult| {
        r.peak_bytes
            .map_or("?".to_string(), |b| format!("{:.2}", gib(b)))
    };
    let cold_of = |r: &BenchResult| {
        r.cold_seconds
            .map_or("?".to_string(), |t| format!("{t:.3}"))
    };
    let dash = || "—".to_string();
    for n in ns {
        let d = dense.iter().find(|r| r.case.n == n);
        let o = operator.iter().find(|r| r.case.n == n);
        println!(
            "{:>6} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {:>8} {:>9} {:>11}",
            n,
            d.map_or_else(dash, |r| cold_of(r)),
            d.map_or_else(dash, |r| format!("{:.3}", r.seconds)),
            d.map_or_else(dash, |r| format!("{:.3}", r.extremes_seconds)),
            d.map_or_else(dash, |r| gib_of(r)),
            o.map_or_else(dash, |r| cold_of(r)),
            o.map_or_else(dash, |r| format!("{:.3}", r.seconds)),
            o.map_or_else(dash, |r| format!("{:.0}", r.kernel_gflops)),
            o.map_or_else(dash, |r| gib_of(r)),
            match (d, o) {
                (Some(d), Some(o)) =>
                    format!("{:.0}", (d.seconds + d.extremes_seconds) / o.seconds),
                _ => dash(),
            }
        );
    }
    if let Some(r) = dense.iter().find(|r| r.case.n == 16384) {
        println!(
            "target dense n=16384: K ≤ 6 s: {:.2} s = {:.2}× the target; ≥ 50% of GEMM: {:.0}%; {}",
            r.seconds,
            r.seconds / 6.0,
            100.0 * r.kernel_gflops / r.gemm_gflops,
            gemm_floor(r)
        );
    }
    if let Some(first) = dense.first().or(operator.first()) {
        print_memory_crossover(first);
    }
    let chart = scaling_chart(
        &dense
            .iter()
            .map(|r| (r.case.n as f64, r.seconds, r.extremes_seconds))
            .collect::<Vec<_>>(),
        &operator
            .iter()
            .map(|r| (r.case.n as f64, r.seconds))
            .collect::<Vec<_>>(),
    );
    let drawing = save(&chart, dir, "scaling")?;
    for path in &drawing.paths {
        println!("  figure: {}", path.display());
    }
    if let Some(note) = drawing.note {
        println!("  {note}");
    }
    Ok(())
}

/// The largest `n` whose dense-path estimate fits the available memory, for `case`'s network
/// (f32): above it `plstar ntk --kernel-path auto` takes the operator.
fn print_memory_crossover(case: &BenchResult) {
    let Some(limit) = plstar::experiment::resources::available_bytes() else {
        return;
    };
    let config = case.case.config();
    let fits = |n: usize| {
        plstar::experiment::resources::estimate(&config, n, 4)
            .map(|e| e.bytes <= limit)
            .unwrap_or(false)
    };
    let (mut lo, mut hi) = (1usize, 1usize << 22);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    println!(
        "memory crossover: the dense path's estimate fits the {:.1} GiB available up to \
         n = {lo}; `plstar ntk --kernel-path auto` takes the operator above",
        gib(limit)
    );
}

/// The k-output target: the `k = 10` kernel costs at most `k² = 100` times the `k = 1` kernel of
/// the same shape, at the same fraction of the GEMM rate (per backend and precision).
fn print_output_targets(results: &[BenchResult]) {
    let cases = plstar::experiment::bench::output_cases();
    for one in results.iter().filter(|r| r.case == cases[0]) {
        let Some(ten) = results.iter().find(|r| {
            r.case == cases[1]
                && r.backend.backend == one.backend.backend
                && r.backend.precision == one.backend.precision
        }) else {
            continue;
        };
        let k = ten.case.outputs as f64;
        println!(
            "target {} {} L=3, m=1024, n=512: k = {k} costs ≤ k² = {} × k = 1: {:.1}× ({:.4} s vs {:.4} s); \
             fraction of GEMM {:.0}% (k = {k}) vs {:.0}% (k = 1)",
            one.backend.backend.name(),
            one.backend.precision.name(),
            k * k,
            ten.seconds / one.seconds,
            ten.seconds,
            one.seconds,
            100.0 * ten.kernel_gflops / ten.gemm_gflops,
            100.0 * one.kernel_gflops / one.gemm_gflops,
        );
    }
}

/// A case of an earlier benchmark: `(backend, precision, activation, input_dim, L, m, n, k)`
/// (`k = 1` for files written before the `outputs` column).
type CaseKey = (String, String, String, usize, usize, usize, usize, usize);

/// The `seconds` of every case of an earlier `bench.csv`, by case.
fn read_before(path: &std::path::Path) -> Result<Vec<(CaseKey, f64)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("bench --before: cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let need = |name: &str| {
        column(name).with_context(|| {
            format!(
                "bench --before {}: no `{name}` column in its header (give a bench.csv written \
                 by `plstar bench`)",
                path.display()
            )
        })
    };
    let (backend, precision, depth, width, n, seconds) = (
        need("backend")?,
        need("precision")?,
        need("depth")?,
        need("width")?,
        need("n")?,
        need("seconds")?,
    );
    let (activation, input_dim) = (column("activation"), column("input_dim"));
    let outputs = column("outputs");
    let mut rows = vec![];
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || {
            format!(
                "bench --before {}: line {} is not a benchmark row: {line}",
                path.display(),
                i + 2
            )
        };
        let get = |k: usize| f.get(k).copied().with_context(bad);
        let number = |k: usize| -> Result<usize> { get(k)?.parse().with_context(bad) };
        let key = (
            get(backend)?.to_string(),
            get(precision)?.to_string(),
            activation.map_or(Ok("tanh"), get)?.to_string(),
            input_dim.map_or(Ok(64), number)?,
            number(depth)?,
            number(width)?,
            number(n)?,
            outputs.map_or(Ok(1), number)?,
        );
        rows.push((key, get(seconds)?.parse::<f64>().with_context(bad)?));
    }
    Ok(rows)
}

/// Each case's speed-up over the earlier benchmark, and the f64 target (≥ 2× on every case).
fn print_speedups(results: &[BenchResult], path: &std::path::Path, before: &[(CaseKey, f64)]) {
    let mut f64_ratios: Vec<(f64, String)> = vec![];
    println!("speed-up against {} (its seconds / these):", path.display());
    for r in results {
        let c = &r.case;
        let key: CaseKey = (
            r.backend.backend.name().to_string(),
            r.backend.precision.name().to_string(),
            c.activation.name().to_string(),
            c.input_dim,
            c.depth,
            c.width,
            c.n,
            c.outputs,
        );
        let Some((_, old)) = before.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        let label = format!(
            "{} {} {} L={} m={} n={}",
            key.0, key.1, key.2, c.depth, c.width, c.n
        );
        let ratio = old / r.seconds;
        println!("  {label}: {old:.4} s → {:.4} s = {ratio:.2}×", r.seconds);
        if r.backend.precision == Precision::F64 {
            f64_ratios.push((ratio, label));
        }
    }
    match f64_ratios
        .iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
    {
        Some((worst, label)) => println!(
            "target f64 ≥ 2× faster than {} on every case: {} cases, the least {worst:.2}× ({label}){}",
            path.display(),
            f64_ratios.len(),
            if *worst >= 2.0 { "" } else { ": NOT MET" }
        ),
        None => println!(
            "target f64 ≥ 2× faster than {}: no f64 case of this run is in it",
            path.display()
        ),
    }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The whole theorem card of `settings` on every combination, in this process.
fn time_cards(
    settings: &Settings,
    combos: &[(BackendFlag, PrecisionFlag)],
    repeats: usize,
) -> Result<Vec<CardBenchResult>> {
    let mut cards = vec![];
    for &(b, p) in combos {
        let (backend, precision) = (b.kind(), p.precision());
        let job = CardBenchJob { settings, repeats };
        let r = dispatch(backend, precision, job)??;
        println!(
            "card {} ({} radii) on {backend} {precision}: {:.2} s; target < 2 s: {:.2}×",
            r.name,
            r.radii,
            r.seconds,
            r.seconds / 2.0
        );
        cards.push(r);
    }
    Ok(cards)
}
