//! One module per subcommand: its flags (`Args`), the function that runs it, and its printing.
//! This module holds what they share: the backend flags, config loading and progress bars.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use plstar::experiment::config::{RunConfig, Settings};
use plstar::experiment::resources;
use plstar::model::backend::{BackendKind, Precision};

pub mod bench;
pub mod merge;
pub mod ntk;
pub mod plot;
pub mod reproduce;
pub mod reproduce_check;
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

impl BackendArgs {
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

/// Reads a run config and applies the `--name` and `--seed` overrides.
pub fn load_config(path: &Path, name: Option<String>, seed: Option<u64>) -> Result<RunConfig> {
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
