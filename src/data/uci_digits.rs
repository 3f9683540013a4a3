//! The digits source: the UCI optical digits shipped with plstar, restricted to some classes,
//! the labels encoded as [`Encoding`] says.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::{normalized, parse_csv, Dataset, Normalization, DIGITS_CSV};
use crate::error::{Error, Result};

/// How the digit labels become target rows: with `c = (c_0, …, c_{k−1})` the classes as listed
/// (`data.classes`) and `a` the position of sample `i`'s label in that list (`label_i = c_a`),
/// column `b` of the target row is the following.
///
/// The default ([`Encoding::default_for`]): `sign` for two classes (the scalar ±1 target of
/// binary classification, `k = 1`), `one_hot` for three or more (the usual regression onto
/// class indicators). An encoding given in a config is always honoured: `one_hot` or
/// `centered` with two classes gives `k = 2` outputs; `sign` with more than two is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Two classes only, one target per sample (`k = 1`): `y_i = +1` for `c_0`, `−1` for `c_1`.
    Sign,
    /// `k` = the number of classes: `y_{ib} = 1` if `b = a`, else `0`.
    OneHot,
    /// One-hot minus `1/k`: `y_{ib} = δ_{ab} − 1/k`, so every row sums to 0 (`1 − 1/k` for the
    /// label, `−1/k` elsewhere; the sum of the computed f64 row is within `k u` of 0).
    Centered,
}

impl Encoding {
    /// The encoding used when a config names none: [`Encoding::Sign`] for two classes,
    /// [`Encoding::OneHot`] for three or more.
    pub fn default_for(classes: usize) -> Encoding {
        if classes == 2 {
            Encoding::Sign
        } else {
            Encoding::OneHot
        }
    }

    /// The name used in configs: `sign`, `one_hot` or `centered`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Sign => "sign",
            Encoding::OneHot => "one_hot",
            Encoding::Centered => "centered",
        }
    }

    /// Targets per sample for `classes` classes: 1 for `sign`, `classes` otherwise.
    pub fn outputs(self, classes: usize) -> usize {
        match self {
            Encoding::Sign => 1,
            Encoding::OneHot | Encoding::Centered => classes,
        }
    }

    /// Appends the target row of a sample of class `a` (its position in the class list) out of
    /// `classes` to `targets`.
    fn push_row(self, a: usize, classes: usize, targets: &mut Vec<f64>) {
        match self {
            Encoding::Sign => targets.push(if a == 0 { 1.0 } else { -1.0 }),
            Encoding::OneHot => targets.extend((0..classes).map(|b| f64::from(u8::from(a == b)))),
            Encoding::Centered => {
                let shift = 1.0 / classes as f64;
                targets.extend((0..classes).map(|b| f64::from(u8::from(a == b)) - shift));
            }
        }
    }
}

/// The digits data set restricted to two classes: target `+1` for `classes[0]`, `−1` for
/// `classes[1]` (`k = 1`): [`digits_encoded`] with [`Encoding::Sign`].
pub fn digits(
    classes: [u8; 2],
    n: Option<usize>,
    normalize: Normalization,
    seed: u64,
) -> Result<Dataset> {
    digits_encoded(&classes, Encoding::Sign, n, normalize, seed)
}

/// The digits data set restricted to `classes` (2 … 10 distinct digits), the labels encoded as
/// `encoding` says: `k = encoding.outputs(classes.len())` targets per sample, column `b` of a
/// row standing for `classes[b]` (see [`Encoding`]). The samples keep the file's order, then
/// are shuffled with a ChaCha8 stream seeded with `seed`; when `n` is given the first `n` of
/// them are kept (a seeded random subset). Inputs are then normalized.
///
/// Refused, naming the key and the value: a class outside 0…9, a class listed twice, fewer than
/// two classes (`data.classes`); `sign` with other than two classes (`data.encoding`); `n` of 0
/// or more than the samples of these classes (`data.n`).
pub fn digits_encoded(
    classes: &[u8],
    encoding: Encoding,
    n: Option<usize>,
    normalize: Normalization,
    seed: u64,
) -> Result<Dataset> {
    let path = Path::new("<embedded data/digits.csv>");
    if let Some(&c) = classes.iter().find(|&&c| c > 9) {
        return Err(Error::config(
            "data.classes",
            format!("digit classes are 0…9, got {c} in {classes:?}"),
        ));
    }
    if let Some((_, &c)) = classes
        .iter()
        .enumerate()
        .find(|&(i, c)| classes[..i].contains(c))
    {
        return Err(Error::config(
            "data.classes",
            format!(
                "lists digit {c} twice in {classes:?}: every class must appear once (the \
                 classes must differ)"
            ),
        ));
    }
    if classes.len() < 2 {
        return Err(Error::config(
            "data.classes",
            format!(
                "needs at least two distinct digits, got {classes:?} ({} entries): e.g. \
                 classes = [3, 8] (targets ±1) or classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] \
                 (one-hot rows of 10)",
                classes.len()
            ),
        ));
    }
    if encoding == Encoding::Sign && classes.len() != 2 {
        return Err(Error::config(
            "data.encoding",
            format!(
                "\"sign\" (one target, +1 for the first class and −1 for the second) needs \
                 exactly two classes, got {} in {classes:?}: use encoding = \"one_hot\" (the \
                 default for three or more) or \"centered\"",
                classes.len()
            ),
        ));
    }
    let rows = parse_csv(DIGITS_CSV, path, false)?;
    let mut picked: Vec<(Vec<f64>, usize)> = rows
        .into_iter()
        .filter_map(|(_, mut r)| {
            let label = r.pop()?;
            let a = classes.iter().position(|&c| f64::from(c) == label)?;
            Some((r, a))
        })
        .collect();
    let available = picked.len();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    picked.shuffle(&mut rng);
    if let Some(n) = n {
        if n == 0 || n > available {
            return Err(Error::config(
                "data.n",
                format!(
                    "must be between 1 and {available} (the samples of classes {classes:?}), \
                     got {n}"
                ),
            ));
        }
        picked.truncate(n);
    }
    let dim = 64;
    let k = encoding.outputs(classes.len());
    let mut targets = Vec::with_capacity(picked.len() * k);
    for (_, a) in &picked {
        encoding.push_row(*a, classes.len(), &mut targets);
    }
    let inputs = picked.into_iter().flat_map(|(x, _)| x).collect();
    normalized(
        Dataset::with_outputs(inputs, targets, dim, k)?,
        normalize,
        path,
    )
}
