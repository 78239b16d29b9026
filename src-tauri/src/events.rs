//! App-wide events: their names (constants, so the Rust side and IPC.md cannot drift apart by a
//! typo) and payloads. Streams that belong to one call (a reply, an import) go through that
//! call's `Channel` instead; events are for what any part of the window may care about.

use std::path::PathBuf;

use onyx_convert::manifest::ModelKind;
use onyx_runtime::ActiveProvider;
use serde::Serialize;
use tauri::{AppHandle, Emitter};
use ts_rs::TS;

use crate::error::ErrorBody;

/// A model finished loading, or a reply moved to another provider: `ProviderChanged`.
pub const PROVIDER_CHANGED: &str = "provider-changed";
/// A model started loading: `ModelLoading`.
pub const MODEL_LOADING: &str = "model-loading";
/// A model could not be loaded: `ModelError`.
pub const MODEL_ERROR: &str = "model-error";
/// An index run moved on: `onyx_docs::index::Progress`, at most about four a second.
pub const INDEX_PROGRESS: &str = "index-progress";
/// An index run stopped on an error: `IndexError`.
pub const INDEX_ERROR: &str = "index-error";

/// Payload of [`PROVIDER_CHANGED`].
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "ProviderChangedEvent")]
#[serde(rename_all = "camelCase")]
pub struct ProviderChanged {
    /// The model that moved.
    pub model: ModelKind,
    /// Its name, as in the settings: a window that missed the `model-loading` event (it
    /// subscribed late, at start-up) still shows which model is ready.
    pub name: String,
    /// Where it runs now.
    pub provider: ActiveProvider,
    /// Why it moved, when it was not a requested load (a fallback mid-reply).
    pub reason: Option<String>,
    /// The model status's revision after the change (`ModelStatus::revision`).
    pub revision: u64,
}

/// Payload of [`MODEL_LOADING`].
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "ModelLoadingEvent")]
#[serde(rename_all = "camelCase")]
pub struct ModelLoading {
    /// The model being loaded.
    pub model: ModelKind,
    /// Its name, as in the settings.
    pub name: String,
    /// The model status's revision after the change (`ModelStatus::revision`).
    pub revision: u64,
}

/// Payload of [`MODEL_ERROR`]: the model, then the error's `code` and `message`.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "ModelErrorEvent")]
#[serde(rename_all = "camelCase")]
pub struct ModelError {
    /// The model that failed.
    pub model: ModelKind,
    /// What went wrong.
    #[serde(flatten)]
    pub error: ErrorBody,
    /// The model that still answers, loaded before: a failed load does not unload it.
    pub still_loaded: Option<String>,
    /// The model status's revision after the change (`ModelStatus::revision`).
    pub revision: u64,
}

/// Payload of [`INDEX_ERROR`]: the source, then the error's `code` and `message`.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "IndexErrorEvent")]
#[serde(rename_all = "camelCase")]
pub struct IndexError {
    /// The folder or file the run was indexing.
    pub source: PathBuf,
    /// What went wrong.
    #[serde(flatten)]
    pub error: ErrorBody,
}

/// Sends an event to every window. A failure (no window left, the app closing) is logged and
/// otherwise ignored: no caller could do anything better with it, and it must never panic.
pub fn emit<T: Serialize + Clone>(app: &AppHandle, name: &str, payload: T) {
    if let Err(error) = app.emit(name, payload) {
        eprintln!("onyx-app: could not send the {name} event: {error}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn payloads_are_camel_case_with_flattened_errors() {
        let loading = ModelLoading { model: ModelKind::Embedding, name: "all-minilm-l6-v2".into(), revision: 3 };
        assert_eq!(
            serde_json::to_value(loading).ok(),
            Some(json!({"model": "embedding", "name": "all-minilm-l6-v2", "revision": 3}))
        );
        let error = ModelError {
            model: ModelKind::Chat,
            error: ErrorBody { code: "model_load_failed".into(), message: "model /m: is not a folder".into() },
            still_loaded: Some("smollm2".into()),
            revision: 4,
        };
        assert_eq!(
            serde_json::to_value(error).ok(),
            Some(json!({
                "model": "chat",
                "code": "model_load_failed",
                "message": "model /m: is not a folder",
                "stillLoaded": "smollm2",
                "revision": 4,
            }))
        );
        let index = IndexError {
            source: PathBuf::from("/docs"),
            error: ErrorBody { code: "documents".into(), message: "/docs: cannot be read".into() },
        };
        assert_eq!(
            serde_json::to_value(index).ok(),
            Some(json!({"source": "/docs", "code": "documents", "message": "/docs: cannot be read"}))
        );
    }
}
