//! One module per subcommand: its flags (`Args`), the function that runs it, and its printing.
//! This module holds what they share: the backend flags, config loading and progress bars.
//!
//! Every subcommand validates in the order a user fixes things, and touches the disk last: the
//! flags ([`BackendArgs::checked`]), then the config file, then the machine (a wgpu adapter,
//! the memory), and only then the output folder.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
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
    #[arg(long, value_name = "GIB")]
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

    /// Refuses runs of `settings` that cannot fit in memory, before any work (see
    /// [`plstar::experiment::resources`]).
    pub fn check_memory(&self, settings: &[&Settings]) -> Result<()> {
        let element_bytes = match self.resolve().1 {
            Precision::F32 => 4,
            Precision::F64 => 8,
        };
        let limit = self
            .memory_limit
            .map(|gib| (gib.max(0.0) * (1u64 << 30) as f64) as u64);
        for s in settings {
            let estimate = resources::estimate(&s.model, s.data.len(), element_bytes)?;
            resources::check(&estimate, limit)?;
        }
        Ok(())
    }
}

/// The backend in plain words: `ndarray, f64, CPU`, or `wgpu (Vulkan), f32, <adapter>` with
/// the adapter's name where wgpu gives one.
pub fn backend_words(info: &BackendInfo) -> String {
    match info.backend {
        BackendKind::Ndarray => info.to_string(),
        BackendKind::Wgpu => match plstar::model::backend::wgpu_adapter_name() {
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

/// Reads a run config and applies the `--name` and `--seed` overrides.
pub fn load_config(path: &Path, name: Option<String>, seed: Option<u64>) -> Result<RunConfig> {
    check_config_exists(path, ConfigKind::Run)?;
    let mut config = RunConfig::from_file(path)?;
    if let Some(name) = name {
        config.name = Some(name);
    }
    if let Some(seed) = seed {
        config.seed = seed;
    }
    Ok(config)
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
