//! The reproduction's check (`plstar reproduce --check`): the recomputed rows against the committed ones, column by column,
//! with tolerances by kind of quantity:
//!
//! | kind | columns | tolerance (relative) |
//! |---|---|---|
//! | kernel at `w₀` (one dense eigendecomposition) | `p`, `n`, `lambda0`¹, `lambda_max0`, `positivity_threshold`, `beta_bound`, `beta_bound_slope`, `residual_norm0`, `radius0` | 1e-9 |
//! | iterative (searches, alternating maximization, the card's step size; the proved radius, a bisection) | `mu_r*`¹, `certified`, `certified_radius`, `proved`, `proved_radius`, `mu_lower_bound`, `eta_star`, `eta`, `mu_travelled`¹, `mu_trajectory`¹, `hessian_norm0`, `hessian_norm_max`, `per_output_hessian0` | 1e-6 |
//! | trained (hundreds of steps) | `r_travelled`, `kernel_change`, `linearization_gap_max`, `final_loss` | 1e-3 |
//! | step counts | `steps_to_target`, `kernel_stage_step` | ±1 step |
//!
//! ¹ Smallest eigenvalues of `K`: two values that are both at or below the row's round-off floor
//! (`|λ| ≤ positivity_threshold = (2/√3) γ √(max_i K_ii tr K(w₀)) + N u₆₄ λ_max(K(w₀))`, the eigenvalue floor of
//! [`crate::measure::roundoff`]) agree, whatever their ratio: both say "not positive", and their
//! digits are round-off.
//!
//! On the machine that wrote the rows they agree bit for bit; the tolerances leave room for
//! another CPU's rounding: a dense eigenvalue moves by a few ulps of `λ_max`, an iterative
//! search that takes the same path by its stopping tolerance, and a trajectory amplifies
//! round-off over its steps. Gradient descent far outside the kernel regime can amplify it
//! beyond any tolerance: for sweep-pn's width-8 network (p = 72, n = 40) at its `η ≈ 0.2258`,
//! changing `η` by 4e-15 relative moved `steps_to_target` from 1791 to 1823 (measured). A change
//! of the code's round-off can therefore move those rows' trained columns; the same code on the
//! same machine reproduces them bit for bit.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiment::landscape::LandscapeResult;
use crate::report::rows::{read_rows, SweepRow};

/// The relative tolerance of the kernel at `w₀` (one dense eigendecomposition).
pub const KERNEL: f64 = 1e-9;
/// The relative tolerance of iterative results (searches, alternating maximization, the
/// card's step size).
pub const ITERATIVE: f64 = 1e-6;
/// The relative tolerance of trained quantities (hundreds of steps).
pub const TRAINED: f64 = 1e-3;

/// One line of the check's table.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckLine {
    /// The committed folder has no rows of this sweep: a failure.
    NoCommittedRows {
        /// The sweep.
        sweep: String,
    },
    /// Committed `(point, seed)` rows that were not recomputed: a failure.
    NotRecomputed {
        /// The sweep.
        sweep: String,
        /// The committed rows.
        rows: usize,
        /// How many of them have no recomputed row (> 0).
        missing: usize,
    },
    /// One column over the rows both sides have (or one landscape measure).
    Column {
        /// The sweep, or the landscape.
        sweep: String,
        /// The column (or the landscape's measure).
        column: String,
        /// The rows compared.
        rows: usize,
        /// How many differ by more than the tolerance.
        fails: usize,
        /// The largest difference (relative, or in steps).
        worst: f64,
        /// The tolerance.
        tolerance: f64,
    },
    /// The committed folder has no `landscape.json`: a failure.
    NoCommittedLandscape {
        /// The landscape.
        name: String,
        /// The file looked for.
        path: PathBuf,
    },
}

impl CheckLine {
    /// Whether this line agrees.
    pub fn passed(&self) -> bool {
        matches!(self, CheckLine::Column { fails: 0, .. })
    }
}

impl fmt::Display for CheckLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckLine::NoCommittedRows { sweep } => {
                write!(f, "{sweep:<14} no committed rows to compare with: FAIL")
            }
            CheckLine::NotRecomputed {
                sweep,
                rows,
                missing,
            } => write!(
                f,
                "{sweep:<14} {:<28} {rows:>6} {missing:>6}  rows not recomputed",
                "(point, seed)"
            ),
            CheckLine::Column {
                sweep,
                column,
                rows,
                fails,
                worst,
                tolerance,
            } => write!(
                f,
                "{sweep:<14} {column:<28} {rows:>6} {fails:>6}  {worst:.1e} (tolerance {tolerance:.0e}){}",
                if *fails == 0 { "" } else { "  FAIL" }
            ),
            CheckLine::NoCommittedLandscape { name, path } => {
                write!(f, "{name:<14} no committed {}: FAIL", path.display())
            }
        }
    }
}

/// The check's table: a line per compared column of every sweep, and per landscape measure.
/// Displayed as the table `plstar reproduce --check` prints, with its header and verdict.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Check {
    /// The lines, in order.
    pub lines: Vec<CheckLine>,
}

impl Check {
    /// Whether every line agrees.
    pub fn passed(&self) -> bool {
        self.lines.iter().all(CheckLine::passed)
    }

    /// The lines that do not agree.
    pub fn failures(&self) -> impl Iterator<Item = &CheckLine> {
        self.lines.iter().filter(|l| !l.passed())
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<14} {:<28} {:>6} {:>6}  worst",
            "sweep", "column", "rows", "fails"
        )?;
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        writeln!(
            f,
            "{}",
            if self.passed() {
                "check: PASS — the recomputed numbers agree with the committed ones"
            } else {
                "check: FAIL — see the rows above"
            }
        )
    }
}

/// Compares the staged rows of every sweep and the landscape with those in `out`.
pub fn compare(
    out: &Path,
    staging: &Path,
    sweeps: &[&str],
    landscape: &str,
    result: &LandscapeResult,
) -> Result<Check> {
    let mut check = Check::default();
    for name in sweeps {
        let old = read_rows(&out.join(name).join("rows.csv"))?;
        let new = read_rows(&staging.join(name).join("rows.csv"))?;
        check.lines.extend(compare_sweep(name, &old, &new));
    }
    check
        .lines
        .extend(compare_landscape(out, landscape, result)?);
    Ok(check)
}

/// The committed rows `old` of sweep `name` against the recomputed `new`, matched by
/// `(point, seed)`: a line per column.
pub fn compare_sweep(name: &str, old: &[SweepRow], new: &[SweepRow]) -> Vec<CheckLine> {
    if old.is_empty() {
        return vec![CheckLine::NoCommittedRows {
            sweep: name.to_string(),
        }];
    }
    let pairs: Vec<(&SweepRow, Option<&SweepRow>)> = old
        .iter()
        .map(|o| {
            (
                o,
                new.iter().find(|n| (n.point, n.seed) == (o.point, o.seed)),
            )
        })
        .collect();
    let missing = pairs.iter().filter(|(_, n)| n.is_none()).count();
    let mut lines = vec![];
    if missing > 0 {
        lines.push(CheckLine::NotRecomputed {
            sweep: name.to_string(),
            rows: old.len(),
            missing,
        });
    }
    let matched: Vec<(&SweepRow, &SweepRow)> = pairs
        .iter()
        .filter_map(|(o, n)| Some((*o, (*n)?)))
        .collect();
    for (column, tolerance, kind, get) in columns(old) {
        let (mut fails, mut worst) = (0, 0.0f64);
        for (o, n) in &matched {
            let (a, b) = (get(o), get(n));
            let round_off = o.positivity_threshold;
            let d = match kind {
                Kind::Absolute => (a - b).abs(),
                Kind::Relative => difference(a, b),
                Kind::SmallestEigenvalue if a.abs().max(b.abs()) <= round_off => 0.0,
                Kind::SmallestEigenvalue => difference(a, b),
            };
            worst = worst.max(d);
            fails += usize::from(d > tolerance);
        }
        lines.push(CheckLine::Column {
            sweep: name.to_string(),
            column,
            rows: matched.len(),
            fails,
            worst,
            tolerance,
        });
    }
    lines
}

/// How a column's two values are compared.
#[derive(Clone, Copy)]
enum Kind {
    /// `|a − b| / max(|a|, |b|)`.
    Relative,
    /// `|a − b|` (step counts).
    Absolute,
    /// Relative, and equal when both are at or below the row's round-off level.
    SmallestEigenvalue,
}

/// A column: its name, tolerance, how it is compared, and its accessor.
type Column = (String, f64, Kind, Box<dyn Fn(&SweepRow) -> f64>);

/// The compared columns (the `mu_r*` ones from the committed rows' radii).
fn columns(rows: &[SweepRow]) -> Vec<Column> {
    let c = |name: &str, tol: f64, get: fn(&SweepRow) -> f64| -> Column {
        (name.to_string(), tol, Kind::Relative, Box::new(get))
    };
    let eigen = |name: &str, tol: f64, get: fn(&SweepRow) -> f64| -> Column {
        (
            name.to_string(),
            tol,
            Kind::SmallestEigenvalue,
            Box::new(get),
        )
    };
    let mut out = vec![
        c("p", KERNEL, |r| r.p as f64),
        c("n", KERNEL, |r| r.n as f64),
        c("outputs", KERNEL, |r| r.outputs as f64),
        eigen("lambda0", KERNEL, |r| r.lambda0),
        c("lambda_max0", KERNEL, |r| r.lambda_max0),
        c("positivity_threshold", KERNEL, |r| r.positivity_threshold),
        eigen("mu_trajectory", ITERATIVE, |r| r.mu_trajectory),
        c("certified", ITERATIVE, |r| f64::from(u8::from(r.certified))),
        c("certified_radius", ITERATIVE, |r| r.certified_radius),
        c("eta_star", ITERATIVE, |r| r.eta_star),
        c("eta", ITERATIVE, |r| r.eta),
        c("proved", ITERATIVE, |r| f64::from(u8::from(r.proved))),
        c("proved_radius", ITERATIVE, |r| r.proved_radius),
        c("beta_bound", KERNEL, |r| r.beta_bound),
        c("beta_bound_slope", KERNEL, |r| r.beta_bound_slope),
        c("mu_lower_bound", ITERATIVE, |r| r.mu_lower_bound),
        c("residual_norm0", KERNEL, |r| r.residual_norm0),
        c("radius0", KERNEL, |r| r.radius0),
        eigen("mu_travelled", ITERATIVE, |r| r.mu_travelled),
        c("hessian_norm0", ITERATIVE, |r| r.hessian_norm0),
        c("hessian_norm_max", ITERATIVE, |r| r.hessian_norm_max),
        c("per_output_hessian0", ITERATIVE, |r| r.per_output_hessian0),
        c("r_travelled", TRAINED, |r| r.r_travelled),
        c("kernel_change", TRAINED, |r| r.kernel_change),
        c("linearization_gap_max", TRAINED, |r| {
            r.linearization_gap_max
        }),
        c("final_loss", TRAINED, |r| r.final_loss),
    ];
    for &(radius, _) in rows.first().map_or(&[][..], |r| &r.mu_at[..]) {
        out.push((
            format!("mu_r{radius}"),
            ITERATIVE,
            Kind::SmallestEigenvalue,
            Box::new(move |r: &SweepRow| r.mu_at(radius)),
        ));
    }
    // Step counts: one step apart is within the trained tolerance.
    out.push((
        "steps_to_target".into(),
        1.0,
        Kind::Absolute,
        Box::new(|r: &SweepRow| r.steps_to_target as f64),
    ));
    out.push((
        "kernel_stage_step".into(),
        1.0,
        Kind::Absolute,
        Box::new(|r: &SweepRow| r.kernel_stage_step as f64),
    ));
    out
}

/// `|a − b| / max(|a|, |b|)` (0 when both are NaN or equal; 1 when one is NaN).
fn difference(a: f64, b: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        0.0
    } else if a.is_nan() || b.is_nan() {
        1.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// The landscape's measures against the committed `landscape.json` (trained tolerance).
fn compare_landscape(out: &Path, name: &str, new: &LandscapeResult) -> Result<Vec<CheckLine>> {
    let path = out.join(name).join("landscape.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(vec![CheckLine::NoCommittedLandscape {
            name: name.to_string(),
            path,
        }]);
    };
    let old: LandscapeResult = serde_json::from_str(&text)
        .map_err(|e| Error::io("cannot parse", &path, std::io::Error::other(e)))?;
    let (o, n) = (&old.measures, &new.measures);
    let pairs = [
        ("barrier", o.barrier, n.barrier),
        ("minimizer distance", o.minimizers.2, n.minimizers.2),
        ("at_min_over", o.at_min_over, n.at_min_over),
        ("at_min_under", o.at_min_under, n.at_min_under),
        ("under_loss", o.under_loss, n.under_loss),
    ];
    Ok(pairs
        .into_iter()
        .map(|(column, a, b)| {
            let d = difference(a, b);
            let pass = d <= TRAINED || (a.abs().max(b.abs()) < 1e-9);
            CheckLine::Column {
                sweep: name.to_string(),
                column: column.to_string(),
                rows: 1,
                fails: usize::from(!pass),
                worst: d,
                tolerance: TRAINED,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether every line of the comparison agrees.
    fn passes(name: &str, old: &[SweepRow], new: &[SweepRow]) -> bool {
        compare_sweep(name, old, new).iter().all(CheckLine::passed)
    }

    /// The committed width sweep's rows, read back.
    fn committed() -> Vec<SweepRow> {
        read_rows(Path::new("results/sweep-width/rows.csv")).expect("committed rows")
    }

    /// Two smallest eigenvalues at round-off level agree whatever their ratio; a positive one
    /// that moves by more than the tolerance, or one that crosses the round-off level, fails.
    #[test]
    fn round_off_eigenvalues_agree_and_real_changes_fail() {
        let old = committed();
        let threshold = old[0].positivity_threshold;
        let with_lambda0 = |v: f64| {
            let mut rows = old.clone();
            rows[0].lambda0 = v;
            rows
        };
        let at_round_off = with_lambda0(0.5 * threshold);
        assert!(passes("t", &with_lambda0(-0.9 * threshold), &at_round_off));
        assert!(!passes("t", &with_lambda0(3.0 * threshold), &at_round_off));
        let positive = old[0].lambda0.max(1e3 * threshold);
        assert!(passes(
            "t",
            &with_lambda0(positive),
            &with_lambda0(positive)
        ));
        assert!(!passes(
            "t",
            &with_lambda0(positive),
            &with_lambda0(positive * (1.0 + 1e-6))
        ));
        // λ_max is not an eigenvalue at the bottom: a round-off-sized change of it is a change.
        let mut moved = old.clone();
        moved[0].lambda_max0 *= 1.0 + 1e-6;
        assert!(!passes("t", &old, &moved));
    }
}
