//! `model_import`: the engine's [`Importer`] (onyx_engine::import) on a blocking worker, its
//! stages streamed on the window's channel as [`ImportEvent`]s; `model_import_cancel` stops it.

use std::path::{Path, PathBuf};

use onyx_engine::catalog::{Catalog, ModelEntry};
use onyx_engine::import::{ImportError, Importer};
use serde::Serialize;
use tauri::ipc::Channel;
use ts_rs::TS;

use crate::error::{Error, ErrorBody};

/// Streamed on `model_import`'s channel.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ImportEvent {
    /// The source was recognised; the model will be called `name`.
    Started {
        /// The file or folder being imported.
        source: PathBuf,
        /// The folder name it gets.
        name: String,
    },
    /// The import moved on: a new stage started, or the current one progressed.
    Progress {
        /// `reading`, `tokenizer`, `cpu graph`, `npu graphs`, `embedding graphs`, `copying` or `checking`.
        stage: String,
        /// Share of the whole import done, `0..=1`: never less than the last event's, and `1`
        /// only once the model is in place and checked.
        fraction: f32,
    },
    /// The model is in place.
    Done {
        /// As `models_list` will show it.
        model: ModelEntry,
    },
    /// The import failed or was cancelled (`code` is `cancelled` then).
    Error(ErrorBody),
}

/// The import state. Cheap to clone.
#[derive(Clone)]
pub struct ImportState {
    importer: Importer,
}

/// How commands receive the import state.
pub type ImportHandle<'a> = tauri::State<'a, ImportState>;

impl From<ImportError> for Error {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::InvalidRequest(message) => Error::InvalidRequest(message),
            ImportError::Busy(message) => Error::Busy(message),
            ImportError::Failed(message) => Error::ImportFailed(message),
            ImportError::Cancelled => Error::Cancelled,
        }
    }
}

impl ImportState {
    /// Imports go into `catalog`'s imports folder.
    pub fn new(catalog: Catalog) -> Self {
        ImportState { importer: Importer::new(catalog) }
    }

    /// `model_import_cancel`: stops the running import at its next progress report.
    pub fn cancel(&self) -> Result<(), Error> {
        self.importer.cancel();
        Ok(())
    }

    /// `model_import`. Events go to `channel`; the result is also returned.
    pub async fn import(
        &self,
        source: String,
        name: Option<String>,
        channel: Channel<ImportEvent>,
    ) -> Result<ModelEntry, Error> {
        let prepared = self.importer.prepare(Path::new(source.trim()), name.as_deref())?;
        let started = ImportEvent::Started { source: prepared.source().to_path_buf(), name: prepared.name.clone() };
        send(&channel, started);
        let events = channel.clone();
        let result = tauri::async_runtime::spawn_blocking(move || {
            prepared
                .run(&mut |stage, fraction| send(&events, ImportEvent::Progress { stage: stage.to_owned(), fraction }))
        })
        .await
        .map_err(Error::worker("model import"))
        .and_then(|result| result.map_err(Error::from));
        match result {
            Ok(model) => {
                send(&channel, ImportEvent::Done { model: model.clone() });
                Ok(model)
            }
            Err(error) => {
                send(&channel, ImportEvent::Error(ErrorBody::from(&error)));
                Err(error)
            }
        }
    }
}

/// A closed channel means the window went away; the import still finishes and lists.
fn send(channel: &Channel<ImportEvent>, event: ImportEvent) {
    if let Err(error) = channel.send(event) {
        eprintln!("onyx-app: could not send an import event: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_events_are_tagged_and_camel_case() {
        let event = ImportEvent::Progress { stage: "cpu graph".into(), fraction: 0.5 };
        assert_eq!(
            serde_json::to_value(event).ok(),
            Some(serde_json::json!({"event": "progress", "data": {"stage": "cpu graph", "fraction": 0.5}}))
        );
        // The fraction is always a number, also when a stage starts (IPC.md, ui/src/ipc/generated.ts).
        let start = ImportEvent::Progress { stage: "reading".into(), fraction: 0.0 };
        assert_eq!(
            serde_json::to_string(&start).ok().as_deref(),
            Some(r#"{"event":"progress","data":{"stage":"reading","fraction":0.0}}"#)
        );
        let error = ImportEvent::Error(ErrorBody { code: "cancelled".into(), message: "cancelled".into() });
        assert_eq!(
            serde_json::to_value(error).ok(),
            Some(serde_json::json!({"event": "error", "data": {"code": "cancelled", "message": "cancelled"}}))
        );
    }
}
