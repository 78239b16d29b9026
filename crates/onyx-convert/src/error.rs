//! The model builder's error type. Every variant names the file (or tensor, or key) at fault and
//! what is wrong with it, because "conversion failed" helps no one.

use std::path::PathBuf;

/// Why a conversion or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not in the format it claims, or is damaged.
    #[error("{path}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the offending value.
        problem: String,
    },
    /// The model is valid but not something Onyx can convert (yet).
    #[error("{path}: unsupported: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported, e.g. "architecture 'mamba'".
        what: String,
    },
    /// The caller's progress callback asked to stop; nothing was left behind.
    #[error("cancelled")]
    Cancelled,
    /// Writing the package failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder being written.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ConvertError {
    /// A [`ConvertError::Malformed`] for `path`.
    pub fn malformed(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        ConvertError::Malformed { path: path.into(), problem: problem.into() }
    }

    /// A [`ConvertError::Unsupported`] for `path`.
    pub fn unsupported(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        ConvertError::Unsupported { path: path.into(), what: what.into() }
    }
}
