//! plstar's integration tests, in one binary (Burn links slowly). The modules mirror `src/`'s
//! folders (`model/`, `measure/`, `theorem`, `train`, `experiment/`, `cli`); each holds one
//! capability against an oracle that does not share its code; tolerances live in `tol`.
//! `house` holds the house rules on size (files and functions in `src/`).
//!
//! Run with the README's command: `cargo test --release`.

mod bad_input;
mod cli;
mod data;
mod experiment;
mod figures;
mod house;
mod labels;
mod measure;
mod model;
mod operator_card;
mod precision;
mod proved;
mod theorem;
mod train;

/// Backend aliases: f64 on ndarray for tight oracles.
pub type F64 = burn::backend::NdArray<f64>;
/// f32 on ndarray, for comparisons with wgpu.
pub type F32 = burn::backend::NdArray<f32>;

/// Tolerances, in one place.
pub mod tol {
    /// Forward pass vs a hand computation in f64 (only summation order differs).
    pub const FORWARD_F64: f64 = 1e-13;
    /// Reverse-mode gradient vs central differences in f64 (relative, whole vector), as the
    /// issue requires.
    pub const GRADIENT_FD: f64 = 1e-7;
    /// GD on a linear model vs the exact residual recursion (f64).
    pub const LINEAR_GD: f64 = 1e-10;
    /// Structured (on the CPU, its host specialization) vs autodiff tangent kernel in f64
    /// (relative Frobenius); issue 13 holds the faster kernel to 1e-12.
    pub const KERNEL_METHODS: f64 = 1e-12;
    /// Hessian-vector products vs central differences of exact gradients in f64 (relative).
    pub const HVP_FD: f64 = 1e-7;
    /// The host (written-out MLP passes) vs the device (second-order autodiff) Hessian-vector
    /// products in f64 (relative, whole vector): only summation order differs.
    pub const HVP_PATHS: f64 = 1e-12;
    /// A network trained elsewhere, read by `model::import`, vs the numpy oracle of
    /// scripts/make_weights_fixture.py in f64: its outputs (absolute) and tangent kernel
    /// (relative Frobenius). Only summation order differs (measured: about 1.5e-16).
    pub const IMPORTED_ORACLE: f64 = 1e-12;
    /// ndarray f32 vs wgpu f32 (relative).
    pub const BACKENDS_F32: f64 = 1e-4;
}

/// `‖a − b‖ / ‖b‖`.
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den.max(f64::MIN_POSITIVE)
}

/// The `plstar` binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_plstar");

/// A fresh, empty folder for one test (`group` keeps the test groups apart).
pub fn scratch(group: &str, test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("plstar-{group}-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `plstar` binary with `args` and waits for it.
pub fn plstar(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .output()
        .expect("the plstar binary runs")
}

/// A command's standard error as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The wgpu device, or `None` (with a note) where no adapter exists; with
/// `PLSTAR_REQUIRE_WGPU=1` (CI) a missing adapter fails the test instead.
pub fn wgpu_or_skip(test: &str) -> Option<burn::backend::wgpu::WgpuDevice> {
    match plstar::model::backend::wgpu_device() {
        Ok(device) => Some(device),
        Err(e) => {
            if std::env::var("PLSTAR_REQUIRE_WGPU").as_deref() == Ok("1") {
                panic!("{test}: PLSTAR_REQUIRE_WGPU=1 but {e}");
            }
            eprintln!("SKIPPED {test}: no wgpu adapter: {e}");
            None
        }
    }
}
