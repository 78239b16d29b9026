//! Errors of the runtime layer. Each message names the file, value or device it is about, so a
//! one-line report is enough for a user to act on.

use std::path::PathBuf;

use crate::attempt::{Attempt, LibraryAttempt};

/// Loading ONNX Runtime failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No candidate location held a loadable ONNX Runtime library.
    #[error("could not load ONNX Runtime; tried {}", describe_attempts(.tried))]
    NotFound {
        /// Every location looked at, in order, with what went wrong there.
        tried: Vec<LibraryAttempt>,
    },
    /// The library loaded, but creating the ORT environment failed.
    #[error("ONNX Runtime at {path} loaded but could not start: {reason}")]
    Environment {
        /// The library that was loaded.
        path: PathBuf,
        /// ORT's message.
        reason: String,
    },
}

fn describe_attempts(tried: &[LibraryAttempt]) -> String {
    if tried.is_empty() {
        return "no locations (no path given, ORT_DYLIB_PATH unset, no runtime/ folder found)".into();
    }
    tried.iter().map(|a| format!("{} ({})", a.path.display(), a.reason)).collect::<Vec<_>>().join("; ")
}

/// Choosing a provider or building a session on it failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider name is not `auto|npu|gpu|cpu` nor a discovered EP.
    #[error("unknown provider '{name}': expected auto, npu, gpu, cpu or one of the discovered EPs ({})", .known.join(", "))]
    UnknownProvider {
        /// What the user asked for.
        name: String,
        /// EP names that were discovered on this machine.
        known: Vec<String>,
    },
    /// The model could not be read.
    #[error("cannot read model {path}: {reason}")]
    ModelUnreadable {
        /// The model file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Every candidate device failed (or, in strict mode, the only allowed ones did).
    #[error("no provider could run {model} for '{requested}': {}", describe_provider_attempts(.tried))]
    AllFailed {
        /// What the user asked for.
        requested: String,
        /// The model, as a file path or `<in-memory model>`.
        model: String,
        /// Each device tried, with its reason.
        tried: Vec<Attempt>,
    },
}

fn describe_provider_attempts(tried: &[Attempt]) -> String {
    if tried.is_empty() {
        return "no matching device was found".into();
    }
    tried.iter().map(|a| format!("{} on {}: {}", a.ep, a.device, a.reason)).collect::<Vec<_>>().join("; ")
}
