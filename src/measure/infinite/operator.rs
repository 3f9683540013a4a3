//! `K∞` as a matrix-free operator, `v ↦ (K∞ ⊗ I_k) v`: the entries are computed tile by tile
//! inside each product ([`LimitEntries::entry`], the recursion of the
//! [parent module](super)), so `λ_min(K∞)`, `λ_max(K∞)` and the gap to `K(w)` at large `n` need
//! no `n²` storage.
//!
//! The lower triangle is cut into tiles of [`LIMIT_TILE`]² pairs. Each product visits every tile
//! once: an off-diagonal tile `(I, J)` adds `T v_J` to `y_I` and `Tᵀ v_I` to `y_J`, so each pair's
//! entry is computed once per product. Tiles that fit the cache limit are computed once, at
//! construction, and kept (f64: the kept operator is the same operator); the rest are recomputed
//! in every product.
//!
//! Deterministic: the tiles are split into a fixed number of parts whatever the thread count,
//! and the parts' sums are added in order, so a product gives the same bits on every run.

use rayon::prelude::*;

use super::{DualMethod, LimitEntries, NoLimitKernel};
use crate::data::Dataset;
use crate::measure::spectrum::SymmetricOperator;
use crate::model::MlpConfig;

/// Samples per side of a tile (512 KiB of f64 entries: it stays in the L2 cache while it is
/// applied).
pub const LIMIT_TILE: usize = 256;

/// The number of parts the tiles are split into for the threads (each with its own `N`-vector
/// of partial sums).
const PARTS: usize = 64;

/// `K∞ ⊗ I_k` applied without forming it. See the [module docs](self).
#[derive(Debug)]
pub struct LimitOperator {
    entries: LimitEntries,
    outputs: usize,
    /// The lower-triangle tiles `(I, J ≤ I)` by block row.
    tiles: Vec<(usize, usize)>,
    /// The entries of the first tiles of `tiles`, row-major, where they fit the cache limit.
    kept: Vec<Vec<f64>>,
    products: usize,
}

impl LimitOperator {
    /// The operator of `cfg`'s `K∞` on the inputs of `data` (dual kernels by `method`), keeping
    /// the tiles that fit in `cache_limit` bytes.
    ///
    /// Errors as [`super::limit_kernel_by`] (no limit for the architecture). Cost: the kept tiles'
    /// entries (`min(1, cache_limit / 4n²)` of one uncached product's entries).
    pub fn new(
        cfg: &MlpConfig,
        data: &Dataset,
        method: DualMethod,
        cache_limit: usize,
    ) -> Result<Self, NoLimitKernel> {
        let entries = LimitEntries::new(cfg, data, method)?;
        let blocks = entries.len().div_ceil(LIMIT_TILE);
        let tiles: Vec<(usize, usize)> = (0..blocks)
            .flat_map(|b| (0..=b).map(move |c| (b, c)))
            .collect();
        let keep = (cache_limit / Self::tile_bytes()).min(tiles.len());
        let mut op = Self {
            entries,
            outputs: cfg.outputs,
            tiles,
            kept: vec![],
            products: 0,
        };
        let kept = op.tiles[..keep]
            .par_iter()
            .map(|&(b, c)| {
                let mut values = vec![];
                op.tile(b, c, &mut values);
                values
            })
            .collect();
        op.kept = kept;
        Ok(op)
    }

    /// Bytes of one kept tile.
    pub fn tile_bytes() -> usize {
        LIMIT_TILE * LIMIT_TILE * std::mem::size_of::<f64>()
    }

    /// Bytes the operator holds beyond its inputs when `n` samples with `k` outputs keep at most
    /// `cache_limit` bytes of tiles: the kept tiles and the parts' partial sums.
    pub fn memory_bytes(n: usize, k: usize, cache_limit: usize) -> usize {
        let blocks = n.div_ceil(LIMIT_TILE);
        let all = blocks * (blocks + 1) / 2 * Self::tile_bytes();
        all.min(cache_limit / Self::tile_bytes() * Self::tile_bytes()) + PARTS * n * k * 8
    }

    /// `N = n·k`.
    pub fn dim(&self) -> usize {
        self.entries.len() * self.outputs
    }

    /// Products taken so far.
    pub fn products(&self) -> usize {
        self.products
    }

    /// The share of the tiles kept (1: no entry is recomputed in a product).
    pub fn kept_fraction(&self) -> f64 {
        if self.tiles.is_empty() {
            1.0
        } else {
            self.kept.len() as f64 / self.tiles.len() as f64
        }
    }

    /// `diag(K∞ ⊗ I_k)`, `N` entries. Cost `n` entries.
    pub fn diagonal(&self) -> Vec<f64> {
        (0..self.entries.len())
            .flat_map(|i| std::iter::repeat_n(self.entries.entry(i, i), self.outputs))
            .collect()
    }

    /// `(K∞ ⊗ I_k) v`, `v` sample-major `[n·k]`. Cost: `n(n+1)/2` entries less the kept ones,
    /// and `2n²k` flops.
    pub fn product(&mut self, v: &[f64]) -> Vec<f64> {
        assert_eq!(v.len(), self.dim(), "K∞ v: v has the wrong length");
        let big = self.dim();
        let per_part = self.tiles.len().div_ceil(PARTS).max(1);
        let this = &*self;
        let parts: Vec<Vec<f64>> = (0..self.tiles.len().div_ceil(per_part))
            .into_par_iter()
            .map(|part| {
                let mut y = vec![0.0; big];
                let mut scratch = vec![];
                let first = part * per_part;
                for t in first..(first + per_part).min(this.tiles.len()) {
                    let (b, c) = this.tiles[t];
                    let values = match this.kept.get(t) {
                        Some(values) => values,
                        None => {
                            this.tile(b, c, &mut scratch);
                            &scratch
                        }
                    };
                    this.accumulate(b, c, values, v, &mut y);
                }
                y
            })
            .collect();
        let mut out = vec![0.0; big];
        for part in parts {
            out.iter_mut().zip(part).for_each(|(o, p)| *o += p);
        }
        self.products += 1;
        out
    }

    /// The sample ranges of block `b`.
    fn range(&self, b: usize) -> std::ops::Range<usize> {
        b * LIMIT_TILE..((b + 1) * LIMIT_TILE).min(self.entries.len())
    }

    /// The entries of tile `(b, c)` into `values`, row-major; a diagonal tile's upper triangle is
    /// mirrored from its lower one.
    fn tile(&self, b: usize, c: usize, values: &mut Vec<f64>) {
        let (rows, cols) = (self.range(b), self.range(c));
        let width = cols.len();
        values.clear();
        values.resize(rows.len() * width, 0.0);
        for (r, i) in rows.clone().enumerate() {
            for (s, j) in cols.clone().enumerate() {
                if b == c && s > r {
                    break;
                }
                values[r * width + s] = self.entries.entry(i, j);
            }
        }
        if b == c {
            for r in 0..rows.len() {
                for s in r + 1..width {
                    values[r * width + s] = values[s * width + r];
                }
            }
        }
    }

    /// `y_I += T v_J` and, off the diagonal, `y_J += Tᵀ v_I` for each output.
    fn accumulate(&self, b: usize, c: usize, values: &[f64], v: &[f64], y: &mut [f64]) {
        let (rows, cols) = (self.range(b), self.range(c));
        let (k, width) = (self.outputs, cols.len());
        for (r, i) in rows.enumerate() {
            let row = &values[r * width..(r + 1) * width];
            for a in 0..k {
                let vi = v[i * k + a];
                let mut acc = 0.0;
                if k == 1 {
                    let (vj, yj) = (&v[cols.clone()], cols.clone());
                    acc = row.iter().zip(vj).map(|(t, x)| t * x).sum();
                    if b != c {
                        for (t, out) in row.iter().zip(&mut y[yj]) {
                            *out += t * vi;
                        }
                    }
                } else {
                    for (s, j) in cols.clone().enumerate() {
                        acc += row[s] * v[j * k + a];
                        if b != c {
                            y[j * k + a] += row[s] * vi;
                        }
                    }
                }
                y[i * k + a] += acc;
            }
        }
    }
}

impl SymmetricOperator for LimitOperator {
    fn dim(&self) -> usize {
        LimitOperator::dim(self)
    }

    /// [`LimitOperator::product`].
    fn apply(&mut self, v: &[f64]) -> Vec<f64> {
        self.product(v)
    }
}
