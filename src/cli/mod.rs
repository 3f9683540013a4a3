//! One module per subcommand: its flags (`Args`), the function that runs it, and its printing.
//! This module holds what they share: the backend flags, config loading and progress bars.
//!
//! Every subcommand validates in the order a user fixes things, and touches the disk last: the
//! flags ([`BackendArgs::checked`]), then the config file, then the machine (a wgpu adapter,
//! the memory), and only then the output folder.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use plstar::experiment::config::{RunConfig, Settings};
use plstar::experiment::resources;
use plstar::model::backend::{dispatch, BackendInfo, BackendJob, BackendKind, Precision};

pub mod bench;
pub mod merge;
pub mod ntk;
pub mod plot;
pub mod reproduce;
pub mod sweep;
pub mod train;

#[derive(Args, Debug)]
pub struct BackendArgs {
    /// Tensor backend: ndarray (CPU) or wgpu (GPU through Vulkan/Metal/DX12, or a software
    /// Vulkan driver).
    #[arg(long, value_enum, default_value_t = BackendFlag::Ndarray)]
    pub backend: BackendFlag,
    /// Float precision [default: f64 on ndarray, f32 on wgpu; wgpu supports f32 only].
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionFlag>,
    /// The memory a run may need, in GiB, for the check before any work [default: the memory
    /// available on this machine].
    #[arg(long, value_name = "GIB", allow_negative_numbers = true)]
    pub memory_limit: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendFlag {
    Ndarray,
    Wgpu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrecisionFlag {
    F32,
    F64,
}

impl BackendFlag {
    pub fn kind(self) -> BackendKind {
        match self {
            BackendFlag::Ndarray => BackendKind::Ndarray,
            BackendFlag::Wgpu => BackendKind::Wgpu,
        }
    }
}

impl PrecisionFlag {
    pub fn precision(self) -> Precision {
        match self {
            PrecisionFlag::F32 => Precision::F32,
            PrecisionFlag::F64 => Precision::F64,
        }
    }
}

impl BackendArgs {
    pub fn resolve(&self) -> (BackendKind, Precision) {
        let backend = self.backend.kind();
        let precision = match (self.precision, backend) {
            (Some(p), _) => p.precision(),
            (None, BackendKind::Ndarray) => Precision::F64,
            (None, BackendKind::Wgpu) => Precision::F32,
        };
        (backend, precision)
    }
}

/// A job that does nothing: [`dispatch`] refuses an unsupported backend and precision before
/// it runs any job, with the message that names the fix.
struct Nothing;

impl BackendJob for Nothing {
    type Output = ();
    fn run<B: burn::tensor::backend::Backend>(self, _: B::Device, _: BackendInfo) {}
}

impl BackendArgs {
    /// The backend and precision, refused when they cannot run together (f64 on wgpu). Call it
    /// first: it needs nothing but the flags.
    pub fn checked(&self) -> Result<(BackendKind, Precision)> {
        if let Some(gib) = self.memory_limit {
            if !(gib.is_finite() && gib > 0.0) {
                anyhow::bail!(
                    "--memory-limit {gib}: must be a number of GiB > 0 (e.g. --memory-limit 16), \
                     or left out to use the memory available on this machine"
                );
            }
        }
        let (backend, precision) = self.resolve();
        if (backend, precision) == (BackendKind::Wgpu, Precision::F64) {
            // dispatch refuses this pair before it runs anything (one message, one place).
            dispatch(backend, precision, Nothing)?;
        }
        Ok((backend, precision))
    }

    /// Refuses `--backend wgpu` on a machine without a usable adapter, before any message or
    /// file.
    pub fn check_device(&self) -> Result<()> {
        if self.backend.kind() == BackendKind::Wgpu {
            plstar::model::backend::wgpu_device()?;
        }
        Ok(())
    }

    /// `--memory-limit` in bytes.
    pub fn limit_bytes(&self) -> Option<u64> {
        self.memory_limit
            .map(|gib| (gib * (1u64 << 30) as f64) as u64)
    }

    /// Where `ntk` and `train` take the tangent kernel of `s`: `flag`, or with `auto` the dense
    /// path when its memory estimate fits (the available memory, or `--memory-limit`) and the
    /// matrix-free operator otherwise (at most `lanczos_steps` Lanczos vectors, the Jacobian's
    /// factors up to [`plstar::experiment::ntk::operator_cache_limit`], plus `extra_operator_bytes`);
    /// each refused with its estimate and the other path named.
    pub fn kernel_path(
        &self,
        flag: ntk::PathFlag,
        s: &Settings,
        lanczos_steps: usize,
        extra_operator_bytes: u64,
    ) -> Result<PathChoice> {
        use plstar::experiment::resources::KernelStorage;
        let element_bytes = match self.resolve().1 {
            Precision::F32 => 4,
            Precision::F64 => 8,
        };
        let limit = self.limit_bytes();
        let n = s.data.len();
        let dense = resources::estimate(&s.model, n, element_bytes)?;
        let storage = KernelStorage::Operator {
            lanczos_steps,
            float_bytes: element_bytes,
            cache_limit: plstar::experiment::ntk::operator_cache_limit(limit),
        };
        let mut operator = resources::estimate_for(&s.model, n, element_bytes, storage)?;
        operator.bytes += extra_operator_bytes;
        let operator_path = match flag {
            ntk::PathFlag::Dense => {
                resources::check(&dense, limit).context(
                    "with --kernel-path dense (K formed, 8 N² bytes per copy); --kernel-path \
                     operator applies K without forming it",
                )?;
                false
            }
            ntk::PathFlag::Operator => {
                resources::check(&operator, limit).context("with --kernel-path operator")?;
                true
            }
            ntk::PathFlag::Auto => {
                if resources::check(&dense, limit).is_ok() {
                    false
                } else {
                    resources::check(&operator, limit)
                        .context("even matrix-free (--kernel-path operator)")?;
                    true
                }
            }
        };
        Ok(PathChoice {
            operator: operator_path,
            dense_bytes: dense.bytes,
        })
    }

    /// Refuses runs of `settings` that cannot fit in memory, before any work (see
    /// [`plstar::experiment::resources`]).
    pub fn check_memory(&self, settings: &[&Settings]) -> Result<()> {
        let element_bytes = match self.resolve().1 {
            Precision::F32 => 4,
            Precision::F64 => 8,
        };
        let limit = self
            .memory_limit
            .map(|gib| (gib * (1u64 << 30) as f64) as u64);
        for s in settings {
            let estimate = resources::estimate(&s.model, s.data.len(), element_bytes)?;
            resources::check(&estimate, limit)?;
        }
        Ok(())
    }
}

/// Where [`BackendArgs::kernel_path`] puts the kernel.
pub struct PathChoice {
    /// The matrix-free operator (else dense).
    pub operator: bool,
    /// The dense path's memory estimate, bytes (for the message that says why not).
    pub dense_bytes: u64,
}

/// The backend in plain words: `ndarray, f64, CPU`, or `wgpu (Vulkan), f32, <adapter>` with
/// the adapter's name where wgpu gives one.
pub fn backend_words(info: &BackendInfo) -> String {
    match info.backend {
        BackendKind::Ndarray => info.to_string(),
        BackendKind::Wgpu => match &info.adapter {
            Some(adapter) => format!("{info}, {adapter}"),
            None => info.to_string(),
        },
    }
}

/// The kind of config file a subcommand reads, for the suggestion when it is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    /// A run config (`train`, `ntk`, `bench --card`).
    Run,
    /// A sweep file (`sweep`).
    Sweep,
}

/// Refuses a config path that is not a file, suggesting the configs that come with plstar
/// (those of `configs/` here, else of the source tree this binary was built from).
pub fn check_config_exists(path: &Path, kind: ConfigKind) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    let what = if path.exists() {
        "is not a file"
    } else {
        "no such file"
    };
    let shipped = [
        PathBuf::from("configs"),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/configs")),
    ]
    .into_iter()
    .find_map(|dir| {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .filter(|n| match kind {
                ConfigKind::Sweep => n.starts_with("sweep"),
                ConfigKind::Run => !n.starts_with("sweep") && n != "landscape.toml",
            })
            .collect();
        names.sort();
        (!names.is_empty()).then_some((dir, names))
    });
    match shipped {
        Some((dir, names)) => anyhow::bail!(
            "cannot read the config file {}: {what}. The configs that come with plstar are in \
             {}/: {} (e.g. --config {}); or give the path of your own file",
            path.display(),
            dir.display(),
            names.join(", "),
            dir.join(&names[0]).display()
        ),
        None => anyhow::bail!(
            "cannot read the config file {}: {what}. Give the path of a TOML config (the ones \
             that come with plstar are in its configs/ folder: `ls configs/`)",
            path.display()
        ),
    }
}

/// What a TOML file holds, told by its top-level tables: a sweep (`[grid]`, `[base]`), the
/// landscape of figure (f) (`[over]`, `[under]`) or a run (`[model]`, `[data]`, …); `None`
/// when it is none of these or not TOML (the parser's own message then says what is wrong).
fn file_kind(path: &Path) -> Option<&'static str> {
    let text = std::fs::read_to_string(path).ok()?;
    let table: toml::Table = toml::from_str(text.trim_start_matches('\u{feff}')).ok()?;
    let has = |keys: &[&str]| keys.iter().any(|k| table.contains_key(*k));
    if has(&["grid", "base"]) {
        Some("sweep")
    } else if has(&["over", "under"]) {
        Some("landscape")
    } else if has(&["model", "data", "train", "card"]) {
        Some("run")
    } else {
        None
    }
}

/// Refuses a config file of another kind than `kind` (a sweep file given to `train`, a run
/// config given to `sweep`), naming the command that reads it, before its fields are checked
/// against the wrong schema.
pub fn check_config_kind(path: &Path, kind: ConfigKind) -> Result<()> {
    let shown = path.display();
    match (kind, file_kind(path)) {
        (ConfigKind::Run, Some("sweep")) => anyhow::bail!(
            "{shown} is a sweep config (it has [grid] and [base]): run it with `plstar sweep \
             --config {shown}`; train and ntk take a run config ([model], [data], [train]), \
             such as configs/default.toml"
        ),
        (ConfigKind::Run, Some("landscape")) => anyhow::bail!(
            "{shown} is the landscape config of figure (f) (it has [over] and [under]), which \
             `plstar reproduce` runs; train and ntk take a run config ([model], [data], \
             [train]), such as configs/default.toml"
        ),
        (ConfigKind::Sweep, Some("run")) => anyhow::bail!(
            "{shown} is a run config (it has [model] and [data], no [grid]): run it with \
             `plstar train --config {shown}` (or `plstar ntk`); sweep takes a sweep config \
             ([grid], [base]), such as configs/sweep-width.toml"
        ),
        (ConfigKind::Sweep, Some("landscape")) => anyhow::bail!(
            "{shown} is the landscape config of figure (f) (it has [over] and [under]), which \
             `plstar reproduce` runs; sweep takes a sweep config ([grid], [base]), such as \
             configs/sweep-width.toml"
        ),
        _ => Ok(()),
    }
}

/// A command-line flag that replaced a config key: what the user typed and the key it
/// overrides, so that a refused value is blamed on the flag, not on the file.
#[derive(Clone, Debug)]
pub struct Override {
    /// The flag, e.g. `--learning-rate`.
    pub flag: &'static str,
    /// Its value as given (empty for a switch such as `--no-card`).
    pub value: String,
    /// The dotted config key it replaces, e.g. `train.learning_rate`.
    pub key: &'static str,
}

impl Override {
    /// `--flag value`, or `--flag` for a switch.
    fn typed(&self) -> String {
        if self.value.is_empty() {
            self.flag.to_string()
        } else {
            format!("{} {}", self.flag, self.value)
        }
    }
}

/// Validates `config`, read from `path` with `overrides` applied. A refused key that a flag
/// set is reported as the flag's value: `--learning-rate 0 (overrides train.learning_rate of
/// FILE): must be …`; any other error as the file's, `invalid config FILE: …`, with a note
/// when the message rests on a key a flag set (`card.enabled` from `--no-card`).
pub fn validate_config(
    config: &RunConfig,
    path: &Path,
    overrides: &[Override],
) -> Result<Settings> {
    config.validate().map_err(|e| {
        let plstar::Error::Config { key, message } = &e else {
            return anyhow::Error::new(e).context(format!("invalid config {}", path.display()));
        };
        let culprit = overrides.iter().find(|o| o.key == key);
        let notes: Vec<String> = overrides
            .iter()
            // Dotted keys only: `name` or `seed` would match ordinary words.
            .filter(|o| o.key != key && o.key.contains('.') && message.contains(o.key))
            .map(|o| format!("{} comes from {}", o.key, o.typed()))
            .collect();
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        match culprit {
            Some(o) => anyhow::anyhow!(
                "{} (overrides {key} of {}): {message}{notes}",
                o.typed(),
                path.display()
            ),
            None => anyhow::anyhow!("invalid config {}: {e}{notes}", path.display()),
        }
    })
}

/// Parses a seed flag (`--seed`): a whole number from 0 to 2⁶⁴ − 1. Clap names the flag and
/// the value before this message (`invalid value '-1' for '--seed <SEED>': …`).
pub fn seed_value(text: &str) -> std::result::Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("a seed is a whole number from 0 to {}", u64::MAX))
}

/// Parses a count flag (`--steps`, `--repeats`): a whole number from 0 to `usize::MAX`.
pub fn count_value(text: &str) -> std::result::Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("must be a whole number from 0 to {}", usize::MAX))
}

/// Reads a run config and applies the `--name` and `--seed` overrides.
pub fn load_config(path: &Path, name: Option<String>, seed: Option<u64>) -> Result<RunConfig> {
    check_config_exists(path, ConfigKind::Run)?;
    check_config_kind(path, ConfigKind::Run)?;
    let mut config = RunConfig::from_file(path)?;
    if let Some(name) = name {
        config.name = Some(name);
    }
    if let Some(seed) = seed {
        config.seed = seed;
    }
    Ok(config)
}

/// The parameter vector of a network trained elsewhere (`--weights FILE.safetensors`), checked
/// against the config's `[model]` (read from `config_path`); prints one line saying what was
/// loaded.
pub fn imported_parameters(
    weights: &Path,
    settings: &Settings,
    config_path: &Path,
) -> Result<(Vec<f64>, PathBuf)> {
    let network = plstar::model::import::ImportedNetwork::read(weights)?;
    let w = network.parameters_for(&settings.model).with_context(|| {
        format!(
            "{} does not hold the network of {}'s [model]",
            weights.display(),
            config_path.display()
        )
    })?;
    println!("loaded {}", network.summary());
    Ok((w, weights.to_path_buf()))
}

/// A progress bar on stderr counting `unit`s (`"steps"`, `"runs"`), hidden with `--quiet` or
/// when stderr is not a terminal. An empty `unit` shows no count (the message carries it).
pub fn progress_bar(len: u64, quiet: bool, unit: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    let template = if unit.is_empty() {
        "{bar:30} {elapsed_precise} (eta {eta})  {msg}".to_string()
    } else {
        format!("{{bar:30}} {{pos}}/{{len}} {unit}  {{elapsed_precise}} (eta {{eta}})  {{msg}}")
    };
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
    bar
}

/// Whether long commands print one plain line per finished unit of work on stderr instead of
/// a bar: when stderr is not a terminal (a batch job, a pipe to a log) and not `--quiet`.
pub fn plain_progress(quiet: bool) -> bool {
    !quiet && !std::io::stderr().is_terminal()
}

/// A spinner on stderr for work of unknown length, hidden like [`progress_bar`].
pub fn spinner(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise}  {msg}").expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// `seconds` in words: seconds, minutes or hours.
pub(crate) fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}
