//! `plstar ntk`: the tangent kernel and the theorem's local quantities at one point.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use plstar::experiment::ntk::{InfiniteWidth, KernelPath, NtkJob, NtkOptions, NtkReport};
use plstar::measure::kernel::KernelMethod;
use plstar::model::backend::dispatch;

use super::{backend_words, load_config, BackendArgs, Override};

#[derive(Args, Debug)]
pub struct NtkArgs {
    /// The run's TOML config (model and data; [train] is ignored).
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Output root: the report goes to <OUT>/<NAME>/ntk/ntk.json (beside a `plstar train`
    /// run of the same name, which it leaves alone).
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Run name (overrides `name`).
    #[arg(long)]
    name: Option<String>,
    /// Seed of the initial weights (overrides `seed`).
    #[arg(long, allow_negative_numbers = true, value_parser = super::seed_value)]
    seed: Option<u64>,
    /// Evaluate at this parameter vector (a .npy file of p values, e.g. a train run's
    /// parameters.npy) instead of the seeded initialization. float32 or float64, shape [p],
    /// [1, p] or [p, 1]; converted to f64 exactly (one line says what was converted).
    #[arg(long, value_name = "FILE.npy")]
    params: Option<PathBuf>,
    /// Evaluate at the weights of a network trained elsewhere: a PyTorch state_dict or Flax
    /// params saved as safetensors (the config's [model] must be that network, with
    /// parameterization = "standard"; see the README, "Weights trained elsewhere").
    #[arg(long, value_name = "FILE.safetensors", conflicts_with = "params")]
    weights: Option<PathBuf>,
    /// How to compute K: structured (layer-wise, default) or autodiff (Jacobian rows, small
    /// problems; the reference).
    #[arg(long, value_enum, default_value_t = MethodFlag::Structured)]
    method: MethodFlag,
    /// Where K lives: dense (formed, N² f64 entries), operator (v ↦ K v matrix-free: λ_min,
    /// λ_max by Lanczos with residuals, no kernel.npy, K∞ matrix-free with --infinite and the
    /// gap estimated, --certify the card's constants at the point only), or
    /// auto: dense when its memory estimate fits, else operator.
    #[arg(long, value_enum, default_value_t = PathFlag::Auto)]
    kernel_path: PathFlag,
    /// The most Lanczos steps (products K v) on the operator path; an unconverged λ_min is
    /// reported as such, with its residual.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    lanczos_steps: u64,
    /// Skip the Hessian norms (they cost many Hessian-vector products).
    #[arg(long)]
    no_hessian: bool,
    /// Write the numpy bundle (kernel.npy, inputs.npy, targets.npy, outputs.npy, parameters.npy,
    /// layer{l}_weight.npy, layer{l}_bias.npy, kernel_infinite.npy with --infinite,
    /// manifest.json) to DIR [default: <OUT>/<NAME>/ntk/bundle]. A DIR that holds files is
    /// refused without --overwrite.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    export: Option<Option<PathBuf>>,
    /// Replace an existing <OUT>/<NAME>/ntk/ (else it is refused), and write the bundle into
    /// a --export DIR that holds files: the files of an earlier bundle there (those its
    /// manifest.json lists) are replaced, other files are kept.
    #[arg(long)]
    overwrite: bool,
    /// Also search balls around the point for the theorem's certificate (the config's [card]
    /// settings) and add it to ntk.json (on the operator path: no search, as the certificate's
    /// state says, and the card's constants at the point in card_at_point, ‖H_F‖ included).
    #[arg(long)]
    certify: bool,
    /// Also compute the infinite-width kernel K∞ of the architecture (any depth, NTK
    /// parameterization, identity output) and report λ_min(K∞), λ_max(K∞) and
    /// ‖K(w) − K∞‖_F / ‖K∞‖_F; where K∞ does not exist, says why.
    #[arg(long)]
    infinite: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PathFlag {
    Auto,
    Dense,
    Operator,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodFlag {
    Structured,
    Autodiff,
}

/// Runs `plstar ntk`.
pub fn run(args: NtkArgs) -> Result<ExitCode> {
    // The flags, the config, the parameter file, this machine, then the disk.
    let (backend, precision) = args.backend.checked()?;
    let config = load_config(&args.config, args.name.clone(), args.seed)?;
    let mut overrides = vec![];
    if let Some(name) = &args.name {
        overrides.push(Override {
            flag: "--name",
            value: name.clone(),
            key: "name",
        });
    }
    let settings = super::validate_config(&config, &args.config, &overrides)?;
    let parameters = match (&args.params, &args.weights) {
        (_, Some(weights)) => Some(super::imported_parameters(
            weights,
            &settings,
            &args.config,
        )?),
        (Some(path), None) => Some(saved_parameters(path, settings.model.parameter_count())?),
        (None, None) => None,
    };
    args.backend.check_device()?;
    let path = kernel_path(&args, &settings)?;
    let dir = args.out.join(&settings.name).join("ntk");
    if dir.exists() && !args.overwrite {
        anyhow::bail!(
            "{} already holds an ntk report: pass --overwrite to replace it, or --name NAME (or \
             --out DIR) to keep both",
            dir.display()
        );
    }
    let export = args
        .export
        .clone()
        .map(|d| d.unwrap_or_else(|| dir.join("bundle")));
    // Checked before anything is removed: a refusal leaves every folder as it was.
    let earlier_bundle = match &export {
        Some(e) if !e.starts_with(&dir) => claim_export_folder(e, args.overwrite)?,
        _ => vec![],
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    for path in earlier_bundle {
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    let options = NtkOptions {
        cache_limit: plstar::experiment::ntk::operator_cache_limit(
            args.backend
                .memory_limit
                .map(|gib| (gib * (1u64 << 30) as f64) as u64),
        ),
        path,
        lanczos_steps: args.lanczos_steps as usize,
        method: match args.method {
            MethodFlag::Structured => KernelMethod::Structured,
            MethodFlag::Autodiff => KernelMethod::Autodiff,
        },
        hessian: !args.no_hessian,
        parameters,
        export: export.clone(),
        certify: args.certify,
        infinite: args.infinite,
    };
    let bar = super::spinner(false);
    let progress = |stage: &str| bar.set_message(stage.to_string());
    let report = dispatch(
        backend,
        precision,
        NtkJob {
            settings: &settings,
            options,
            progress: &progress,
        },
    );
    bar.finish_and_clear();
    let report = report??;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    plstar::report::files::write_json(&dir.join("ntk.json"), &report)?;
    print_ntk(&report);
    println!("  report: {}", dir.join("ntk.json").display());
    if let Some(e) = &export {
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

/// The kernel path: `--kernel-path`, or with `auto` the dense path when its memory estimate
/// fits (the available memory, or `--memory-limit`) and the operator otherwise; each refused
/// with the estimate and the other path named. On the operator path `--certify` gives the
/// card's constants at the point only (said on stderr), and `--method autodiff` is refused (the
/// operator has its own products).
fn kernel_path(args: &NtkArgs, s: &plstar::experiment::config::Settings) -> Result<KernelPath> {
    let limit = args.backend.limit_bytes();
    // K∞'s kept tiles and partial sums, counted beside the operator's factors (conservative: the two
    // are not held at once).
    let infinite = if args.infinite {
        plstar::measure::infinite::operator::LimitOperator::memory_bytes(
            s.data.len(),
            s.data.outputs,
            plstar::experiment::ntk::operator_cache_limit(limit),
        ) as u64
    } else {
        0
    };
    // With --certify, the card's Hessian on the operator path (its sample block and vectors).
    let card = if args.certify {
        plstar::theorem::card::operator_card_bytes(&s.model, s.data.len())
    } else {
        0
    };
    let choice = args.backend.kernel_path(
        args.kernel_path,
        s,
        args.lanczos_steps as usize,
        infinite + card,
    )?;
    let path = if choice.operator {
        KernelPath::Operator
    } else {
        KernelPath::Dense
    };
    if path == KernelPath::Operator {
        let big = s.data.equations();
        if args.certify {
            // The card reuses this run's Lanczos: its own cost is ‖H_F‖ alone.
            let seconds =
                plstar::theorem::card::operator_card_seconds(big, s.model.parameter_count(), 0, 4);
            eprintln!(
                "--certify on the operator path (N = {big}): the card's constants at the point, \
                 no ball search and no proof; its ‖H_F‖ takes about {} on the 2-core \
                 development machine. --kernel-path dense searches where K fits",
                super::duration(seconds)
            );
        }
        if matches!(args.method, MethodFlag::Autodiff) {
            anyhow::bail!(
                "--method autodiff forms K from Jacobian rows; the operator path (N = {big}) \
                 applies K matrix-free: drop --method, or pass --kernel-path dense"
            );
        }
    }
    Ok(path)
}

/// The `p` parameters of a `--params` file: float32 or float64, shape `[p]`, `[1, p]` or
/// `[p, 1]`, converted exactly (one line on stderr says what was converted); each refusal is
/// one message with its fix, a value that is not finite among them.
fn saved_parameters(path: &Path, p: usize) -> Result<(Vec<f64>, PathBuf)> {
    let (w, note) = plstar::report::npy::read_vector(path, p)?;
    if let Some(note) = &note {
        eprintln!("{}: {note}", path.display());
    }
    if let Some(i) = w.iter().position(|v| !v.is_finite()) {
        anyhow::bail!(
            "{}: parameter {i} is {} (not finite): pass the parameters.npy of a run that did \
             not diverge",
            path.display(),
            w[i]
        );
    }
    Ok((w, path.to_path_buf()))
}

/// Refuses a `--export` folder of the user's that holds anything, unless `overwrite`: an
/// earlier bundle's files would be replaced, and a user's own `kernel.npy` with them. With
/// `overwrite`, returns the files of an earlier bundle there, those its `manifest.json` (format
/// `plstar-ntk-bundle/…`) lists, for the caller to remove; every other file is kept, since
/// plstar did not write it.
fn claim_export_folder(dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "--export {}: is a file, not a folder: give a folder for the bundle (it is created \
             when absent)",
            dir.display()
        );
    }
    let mut held: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return Ok(vec![]),
    };
    if held.is_empty() {
        return Ok(vec![]);
    }
    held.sort();
    if !overwrite {
        anyhow::bail!(
            "--export {} already holds files ({}{}): pass --overwrite to write the bundle there \
             (an earlier bundle's files are replaced, other files are kept; a file of yours \
             named like a bundle file, e.g. kernel.npy, is replaced), or --export an empty or \
             new folder",
            dir.display(),
            held.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
            if held.len() > 4 { ", …" } else { "" }
        );
    }
    Ok(earlier_bundle_files(dir))
}

/// The files that an earlier bundle's `manifest.json` in `dir` lists, and the manifest itself;
/// none when `dir` holds no plstar manifest.
fn earlier_bundle_files(dir: &Path) -> Vec<PathBuf> {
    let manifest = dir.join("manifest.json");
    let Some(json) = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return vec![];
    };
    let ours = json["format"]
        .as_str()
        .is_some_and(|f| f.starts_with("plstar-ntk-bundle/"));
    if !ours {
        return vec![];
    }
    let mut files: Vec<PathBuf> = json["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        // Plain names only: a manifest never sends a removal outside the folder.
        .filter(|f| !f.is_empty() && Path::new(f).file_name() == Some(std::ffi::OsStr::new(f)))
        .map(|f| dir.join(f))
        .filter(|p| p.is_file())
        .collect();
    files.push(manifest);
    files
}

/// `min, max after N steps`, with "(not converged)" where Lanczos stopped short.
fn residual_text(e: &plstar::measure::spectrum::EigenResiduals) -> String {
    format!(
        "{:.2e}, {:.2e} after {} steps{}",
        e.min,
        e.max,
        e.iterations,
        if e.converged { "" } else { " (not converged)" }
    )
}

/// The Lanczos residuals and the operator's products, where the report has them.
fn eigen_rows(r: &NtkReport, row: &dyn Fn(&str, String)) {
    if let Some(e) = &r.eigen_residuals {
        row("Lanczos residuals at λ_min, λ_max", residual_text(e));
    }
    if let (Some(o), Some(at)) = (
        &r.operator,
        r.eigen_residuals.as_ref().and_then(|e| e.max_converged_at),
    ) {
        row(
            "λ_max met the tolerance at step",
            format!(
                "{at} (≈ {:.0} s of products)",
                at as f64 * o.seconds_per_product
            ),
        );
    }
    if let Some(o) = &r.operator {
        row(
            "operator products K v",
            format!(
                "{} at {:.3} s each ({} passes, factors {}); diag K in {:.2} s; \
                 Lanczos tolerance {:.1e}",
                o.products,
                o.seconds_per_product,
                o.working_precision,
                if o.cached { "kept" } else { "recomputed" },
                o.diagonal_seconds,
                o.tolerance
            ),
        );
    }
}

/// `K∞`'s rows: its extremes (with the Lanczos residuals and, on the operator path, the bottom
/// Ritz value as an upper estimate), and the gap (exact, or a Hutchinson estimate with its
/// standard error).
fn infinite_rows(r: &NtkReport, row: &dyn Fn(&str, String)) {
    match &r.infinite_width {
        Some(InfiniteWidth::Computed {
            lambda_min,
            lambda_max,
            residuals,
            relative_gap,
            gap_estimate,
            duals,
            operator,
            seconds,
            ..
        }) => {
            let min = match (operator, residuals) {
                (Some(_), Some(e)) => format!(
                    "≤ {lambda_min:.6e} (bottom Ritz value; an eigenvalue within {:.1e} of it; \
                     duals by {duals})",
                    e.min
                ),
                _ => format!("{lambda_min:.6e} (duals by {duals})"),
            };
            row("λ_min(K∞)", min);
            row("λ_max(K∞)", format!("{lambda_max:.6e}"));
            if let Some(e) = residuals {
                row("K∞ Lanczos residuals at λ_min, λ_max", residual_text(e));
            }
            if let Some(o) = operator {
                row(
                    "K∞ operator",
                    format!(
                        "{} products K∞ v, {:.0}% of its tiles kept, {seconds:.1} s",
                        o.products,
                        100.0 * o.kept_fraction
                    ),
                );
            }
            let gap = match gap_estimate {
                Some(g) => format!(
                    "{relative_gap:.4e} ± {:.1e} (Hutchinson estimate, {} Rademacher probes)",
                    g.standard_error, g.probes
                ),
                None => format!("{relative_gap:.6e}"),
            };
            row("‖K(w) − K∞‖_F / ‖K∞‖_F", gap);
        }
        Some(InfiniteWidth::Unavailable { reason }) => {
            row("K∞", format!("not available: {reason}"));
        }
        None => {}
    }
}

/// `λ_min(K)`: on the operator path the bottom Ritz value is an upper estimate of `λ_min`, and
/// its residual bounds the distance to the nearest eigenvalue (Bauer–Fike), not to `λ_min`.
fn lambda_min_row(r: &NtkReport, row: &dyn Fn(&str, String)) {
    if r.p < r.equations {
        let n = match r.equations / r.n.max(1) {
            1 => format!("n = {}", r.equations),
            k => format!("N = n·k = {}", r.n * k),
        };
        return row(
            "λ_min(K)",
            format!(
                "0 (exact: rank K ≤ p = {} < {n}; the eigensolver gave {:.3e})",
                r.p, r.lambda_min
            ),
        );
    }
    match (&r.operator, &r.eigen_residuals) {
        (Some(_), Some(e)) => row(
            "λ_min(K)",
            format!(
                "≤ {:.6e} (bottom Ritz value; an eigenvalue within {:.1e} of it)",
                r.lambda_min, e.min
            ),
        ),
        _ => row("λ_min(K)", format!("{:.6e}", r.lambda_min)),
    }
}

/// `λ_max(K)`: on the operator path the top Ritz value, a lower estimate until it meets the
/// tolerance (and the κ and L_F derived from it with it).
fn lambda_max_row(r: &NtkReport, row: &dyn Fn(&str, String)) {
    let unconverged = r.operator.is_some()
        && r.eigen_residuals
            .as_ref()
            .is_some_and(|e| !e.converged && e.max_converged_at.is_none());
    row(
        "λ_max(K)",
        if unconverged {
            format!(
                "≥ {:.6e} (top Ritz value, not converged: a lower estimate, and so are κ and L_F)",
                r.lambda_max
            )
        } else {
            format!("{:.6e}", r.lambda_max)
        },
    );
}

fn print_ntk(r: &NtkReport) {
    println!(
        "plstar ntk {}: at {}; backend {}; K by {}; eigenvalues by {}",
        r.config.name.as_deref().unwrap_or(""),
        r.evaluated_at,
        backend_words(&r.backend),
        match (r.kernel_path, r.kernel_method) {
            (KernelPath::Operator, _) => "the matrix-free operator v ↦ DF(DFᵀv) (never formed)",
            (KernelPath::Dense, KernelMethod::Structured) =>
                "the structured method (layer by layer)",
            (KernelPath::Dense, KernelMethod::Autodiff) => "autodiff (one Jacobian row per sample)",
        },
        r.eigen_method
    );
    let row = |name: &str, value: String| println!("  {name:<34} {value}");
    row("n (samples)", r.n.to_string());
    row("p (parameters)", r.p.to_string());
    row("widths", format!("{:?}", r.widths));
    lambda_min_row(r, &row);
    lambda_max_row(r, &row);
    eigen_rows(r, &row);
    row(
        "seconds: K, eigensolver",
        format!(
            "{:.3}, {:.3}",
            r.kernel_form_seconds,
            r.kernel_seconds - r.kernel_form_seconds
        ),
    );
    row(
        "κ = λ_max/λ_min",
        plstar::experiment::card_text::condition(r.condition_number),
    );
    row(
        "round-off floor of eigenvalues",
        format!("{:.1e}", r.round_off_floor),
    );
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
        // r indexes the N = n·k equations F_r (sample-major: sample r / k, output r % k).
        let outputs = (r.equations / r.n.max(1)).max(1);
        let at = h.per_output.argmax;
        row(
            "max_r ‖H_{F_r}‖₂ (each equation)",
            format!(
                "{:.6e} (r = {at}: sample {}{}){}",
                h.per_output.max,
                at / outputs,
                if outputs > 1 {
                    format!(", output {}", at % outputs)
                } else {
                    String::new()
                },
                if h.per_output.converged {
                    ""
                } else {
                    "  (some Lanczos runs not converged: a lower bound)"
                }
            ),
        );
    }
    row("‖F(w) − y‖", format!("{:.6e}", r.residual_norm));
    row("L(w) = ½‖F(w) − y‖²", format!("{:.6e}", r.loss));
    row("PL ratio ‖∇L‖²/(2L)", format!("{:.6e}", r.pl_ratio));
    infinite_rows(r, &row);
    if let Some(c) = &r.certificate {
        row(
            "certificate",
            match (c.radius, c.eta_star) {
                (Some(radius), Some(eta)) => {
                    format!("certified radius {radius:.4e}, η* = {eta:.4e}")
                }
                _ => "not certified".into(),
            },
        );
        row("", c.reason.clone());
    }
    row(
        "PL ratio ≥ λ_min(K)",
        if r.pl_ratio_at_least_lambda_min {
            "yes".into()
        } else {
            "NO".to_string()
        },
    );
}
