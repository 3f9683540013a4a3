//! The library's error type. Every message names the offending key, value or line and, where
//! there is one, the fix.

use std::path::PathBuf;

/// Errors raised by the plstar library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent with another.
    #[error("{key}: {message}")]
    Config {
        /// The dotted key of the field, e.g. `model.widths`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A data file could not be parsed.
    #[error("{path}:{line}: {message}", path = path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the problem is with the whole file).
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A whole file is unreadable or of the wrong kind (no line to point at): a `.npy` file
    /// that is not one, holds another dtype, or the wrong number of values.
    #[error("{path}: {message}", path = path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A parameter vector or tensor does not match the model's shapes.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The requested backend cannot run here.
    #[error("{0}")]
    Backend(String),
    /// Reading or writing a file failed. The cause is the error's source (printed once, after
    /// this message, by the binary's error chain).
    #[error("{action} {path}", path = path.display())]
    Io {
        /// What was being done (e.g. "cannot write").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// A configuration error on `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// An I/O error while doing `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
