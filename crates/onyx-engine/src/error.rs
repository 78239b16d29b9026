//! The engine's errors. Messages name the model, file or value at fault; none of them leaves the
//! engine unusable.

use std::path::PathBuf;

/// Why a model load, a reply or an embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// ONNX Runtime could not be loaded.
    #[error(transparent)]
    Runtime(#[from] onyx_runtime::RuntimeError),
    /// No provider could run the model.
    #[error(transparent)]
    Provider(#[from] onyx_runtime::ProviderError),
    /// The model folder is incomplete or inconsistent.
    #[error("model {path}: {problem}")]
    Package {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The chat template could not be rendered.
    #[error("chat template: {0}")]
    Template(String),
    /// Tokenizing or detokenizing failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The request itself is unusable.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Even the system prompt and the latest message do not fit the context.
    #[error("the prompt needs {needed} tokens but the model's context holds {available}")]
    PromptTooLong {
        /// Tokens needed (prompt plus room for the reply).
        needed: usize,
        /// Tokens available.
        available: usize,
    },
    /// Running the model failed.
    #[error("inference on {provider}: {message}")]
    Inference {
        /// Provider that failed.
        provider: String,
        /// ORT's message.
        message: String,
    },
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The document index failed (its message names the file or value).
    #[error("documents: {0}")]
    Documents(String),
    /// No model of that kind is loaded.
    #[error("no {0} model is loaded")]
    NotLoaded(&'static str),
}

impl EngineError {
    pub(crate) fn package(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        EngineError::Package { path: path.into(), problem: problem.into() }
    }
}

/// Reading a model folder fails with the file and the problem; the engine reports it as a
/// package error on that file.
impl From<onyx_convert::ConvertError> for EngineError {
    fn from(error: onyx_convert::ConvertError) -> Self {
        use onyx_convert::ConvertError;
        match error {
            ConvertError::Io { path, source } => EngineError::package(path, format!("cannot read: {source}")),
            ConvertError::Malformed { path, problem } => EngineError::package(path, problem),
            ConvertError::Unsupported { path, what } => EngineError::package(path, format!("unsupported: {what}")),
            ConvertError::Write { path, source } => EngineError::package(path, format!("cannot write: {source}")),
            ConvertError::Cancelled => EngineError::Cancelled,
        }
    }
}
