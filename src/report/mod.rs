//! Reports: files, figures and tables drawn from saved records. Uses no experiment, theorem or
//! measurement module: experiments and the command line hand it plain data.
//!
//! - [`files`]: atomic writes and provenance (version, git revision, timestamps);
//! - [`npy`]: numpy `.npy` files;
//! - [`rows`]: the sweep rows (`rows.csv`) that sweeps write and figures read;
//! - [`fit`]: power-law fits;
//! - [`figures`]: line charts (SVG and PNG) of training runs, sweeps and the landscape;
//! - [`markdown`]: figure sections of `figures.md` and `REPORT.md`.

pub mod figures;
pub mod files;
pub mod fit;
pub mod markdown;
pub mod npy;
pub mod rows;
