//! Data errors: each names the file and what is wrong with it.

use std::path::PathBuf;

use thiserror::Error;

/// An error reading or writing data.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file or directory does not exist.
    #[error("{path}: not found. {hint}")]
    NotFound {
        /// The missing path.
        path: PathBuf,
        /// How to get the data.
        hint: String,
    },
    /// The file exists but its content is not what the format requires.
    #[error("{path}: {message}")]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A parameter is out of range (index, count, shape name).
    #[error("{0}")]
    Invalid(String),
    /// An I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl DataError {
    /// A format error for `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An I/O error for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, DataError>;

/// Item `index` of an in-memory dataset, or an error naming the range (`what`: "images", ...).
pub(crate) fn dataset_item<T: Clone>(
    items: &[T],
    index: usize,
    what: &str,
) -> std::result::Result<T, burn::data::dataset::DatasetError> {
    items
        .get(index)
        .cloned()
        .ok_or_else(|| out_of_range(index, items.len(), what))
}

/// The error for an index past the end of a dataset of `len` items.
pub(crate) fn out_of_range(
    index: usize,
    len: usize,
    what: &str,
) -> burn::data::dataset::DatasetError {
    burn::data::dataset::DatasetError::new(DataError::Invalid(format!(
        "index {index} is out of range for {len} {what}"
    )))
}
