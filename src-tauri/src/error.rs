//! The one error type the shell's commands return, and its wire form.
//!
//! The UI receives every error as `{ "code": ..., "message": ... }`: `code` is a stable
//! snake_case string the front end may branch on (ui/src/ipc/errors.ts, IPC.md's table),
//! `message` is the human-readable `Display` text. A variant gets its own code only when the UI
//! treats it differently; the JSON of every code is pinned by the tests below.

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use ts_rs::TS;

use onyx_engine::EngineError;
use onyx_engine::conversations::ConversationError;
use onyx_engine::settings::SettingsError;

/// The longest provider choice accepted from the UI; real EP names are under 40 characters.
pub const MAX_PROVIDER_LEN: usize = 128;

/// Why a command could not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `settings_set` got values that do not validate; the message lists every `field: problem`.
    #[error(transparent)]
    InvalidSettings(#[from] SettingsError),
    /// The provider choice sent by the UI is not something a person could have picked.
    #[error(
        "{choice:?} is not a provider choice: expected auto, npu, gpu, cpu or an execution \
         provider name of at most {max} printable characters",
        max = MAX_PROVIDER_LEN
    )]
    InvalidProvider {
        /// The rejected text, as received.
        choice: String,
    },
    /// A command got arguments it cannot use (an empty message, a bad model name, ...).
    #[error("{0}")]
    InvalidRequest(String),
    /// A model folder is missing or not loadable, or ONNX Runtime itself did not load.
    #[error("{0}")]
    ModelLoadFailed(String),
    /// Chat or search needs a model that is not loaded (yet).
    #[error("{0}")]
    NoModel(String),
    /// Generation failed after the model was loaded (prompt too long, a provider failed mid-reply).
    #[error("{0}")]
    ChatFailed(String),
    /// A conversation, message, source or file that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An import or index run is already going.
    #[error("{0}")]
    Busy(String),
    /// The user stopped it.
    #[error("cancelled")]
    Cancelled,
    /// The document index failed; the message names the path.
    #[error("{0}")]
    Documents(String),
    /// A model import failed; the message names the file and the problem.
    #[error("{0}")]
    ImportFailed(String),
    /// The conversations database or the settings file failed.
    #[error("{0}")]
    Storage(String),
    /// The system could not open a link or a file; the message names it.
    #[error("{0}")]
    OpenFailed(String),
    /// A background task panicked or was dropped before finishing.
    #[error("the {task} stopped unexpectedly: {source}")]
    Worker {
        /// What was running, for the message ("system check", "reply", ...).
        task: &'static str,
        /// Tauri's report of the failed task.
        #[source]
        source: tauri::Error,
    },
}

impl Error {
    /// The stable code the UI sees.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidSettings(_) => "invalid_settings",
            Error::InvalidProvider { .. } => "invalid_provider",
            Error::InvalidRequest(_) => "invalid_request",
            Error::ModelLoadFailed(_) => "model_load_failed",
            Error::NoModel(_) => "no_model",
            Error::ChatFailed(_) => "chat_failed",
            Error::NotFound(_) => "not_found",
            Error::Busy(_) => "busy",
            Error::Cancelled => "cancelled",
            Error::Documents(_) => "documents",
            Error::ImportFailed(_) => "import_failed",
            Error::Storage(_) => "storage",
            Error::OpenFailed(_) => "open_failed",
            Error::Worker { .. } => "worker_failed",
        }
    }

    /// A worker-failure mapper for `spawn_blocking(..).await.map_err(Error::worker("reply"))`.
    pub fn worker(task: &'static str) -> impl FnOnce(tauri::Error) -> Error {
        move |source| Error::Worker { task, source }
    }

    /// An engine failure while chatting or searching, sorted by what the UI does about it.
    pub fn from_engine(error: EngineError) -> Error {
        match error {
            EngineError::Cancelled => Error::Cancelled,
            EngineError::NotLoaded(kind) => Error::NoModel(format!("no {kind} model is loaded")),
            EngineError::Documents(message) => Error::Documents(message),
            EngineError::Runtime(_) | EngineError::Package { .. } => Error::ModelLoadFailed(error.to_string()),
            EngineError::Provider(_)
            | EngineError::Template(_)
            | EngineError::Tokenizer(_)
            | EngineError::InvalidRequest(_)
            | EngineError::PromptTooLong { .. }
            | EngineError::Inference { .. } => Error::ChatFailed(error.to_string()),
        }
    }
}

impl From<ConversationError> for Error {
    fn from(error: ConversationError) -> Self {
        match error {
            ConversationError::NotFound { .. } | ConversationError::MessageNotFound { .. } => {
                Error::NotFound(error.to_string())
            }
            ConversationError::EmptyTitle | ConversationError::TitleTooLong { .. } => {
                Error::InvalidRequest(error.to_string())
            }
            _ => Error::Storage(error.to_string()),
        }
    }
}

impl From<onyx_engine::turn::TurnError> for Error {
    fn from(error: onyx_engine::turn::TurnError) -> Self {
        use onyx_engine::turn::TurnError;
        match error {
            TurnError::InvalidRequest(message) => Error::InvalidRequest(message),
            TurnError::History(error) => Error::from(error),
            TurnError::Engine(error) => Error::from_engine(error),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut wire = serializer.serialize_struct("Error", 2)?;
        wire.serialize_field("code", self.code())?;
        wire.serialize_field("message", &self.to_string())?;
        wire.end()
    }
}

/// An error as data: what `app_status`, stream events and app events carry where a command's
/// own `Err` cannot go. Same shape as [`Error`] on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "IpcError")]
pub struct ErrorBody {
    /// [`Error::code`].
    pub code: String,
    /// The error's message.
    pub message: String,
}

impl From<&Error> for ErrorBody {
    fn from(error: &Error) -> Self {
        ErrorBody { code: error.code().to_owned(), message: error.to_string() }
    }
}

impl From<Error> for ErrorBody {
    fn from(error: Error) -> Self {
        ErrorBody::from(&error)
    }
}

#[cfg(test)]
mod tests {
    use onyx_engine::settings::SettingProblem;
    use serde_json::json;

    use super::*;

    fn wire(error: &Error) -> serde_json::Value {
        serde_json::to_value(error).unwrap_or_else(|e| panic!("{error:?} does not serialize: {e}"))
    }

    #[test]
    fn invalid_provider_serializes_as_code_and_message() {
        let error = Error::InvalidProvider { choice: "bad\nchoice".into() };
        assert_eq!(
            wire(&error),
            json!({
                "code": "invalid_provider",
                "message": "\"bad\\nchoice\" is not a provider choice: expected auto, npu, gpu, \
                            cpu or an execution provider name of at most 128 printable characters",
            })
        );
    }

    #[test]
    fn invalid_settings_lists_every_problem() {
        let problems = vec![
            SettingProblem { field: "temperature".into(), message: "7.5 is outside 0..=2".into() },
            SettingProblem { field: "documents.topK".into(), message: "50 is outside 1..=20".into() },
        ];
        assert_eq!(
            wire(&Error::InvalidSettings(SettingsError { problems })),
            json!({
                "code": "invalid_settings",
                "message": "invalid settings: temperature: 7.5 is outside 0..=2; documents.topK: 50 is outside 1..=20",
            })
        );
    }

    #[test]
    fn every_code_is_pinned() {
        let cases = [
            (Error::InvalidRequest("the message is empty".into()), "invalid_request", "the message is empty"),
            (
                Error::ModelLoadFailed("cannot load the chat model 'x': model /m/x: is not a folder".into()),
                "model_load_failed",
                "cannot load the chat model 'x': model /m/x: is not a folder",
            ),
            (Error::NoModel("the chat model is still loading".into()), "no_model", "the chat model is still loading"),
            (
                Error::ChatFailed("the prompt needs 3000 tokens but the model's context holds 2048".into()),
                "chat_failed",
                "the prompt needs 3000 tokens but the model's context holds 2048",
            ),
            (Error::NotFound("conversation 7 does not exist".into()), "not_found", "conversation 7 does not exist"),
            (Error::Busy("an index run is already going".into()), "busy", "an index run is already going"),
            (Error::Cancelled, "cancelled", "cancelled"),
            (Error::Documents("/d/x: no such file or folder".into()), "documents", "/d/x: no such file or folder"),
            (Error::ImportFailed("/m.gguf: not a GGUF file".into()), "import_failed", "/m.gguf: not a GGUF file"),
            (
                Error::Storage("the conversation database /c: disk full".into()),
                "storage",
                "the conversation database /c: disk full",
            ),
        ];
        for (error, code, message) in cases {
            assert_eq!(wire(&error), json!({"code": code, "message": message}));
            assert_eq!(
                serde_json::to_value(ErrorBody::from(&error)).ok(),
                Some(json!({"code": code, "message": message}))
            );
        }
    }

    #[test]
    fn worker_failure_has_its_own_code() {
        let json = wire(&Error::Worker { task: "system check", source: tauri::Error::FailedToReceiveMessage });
        assert_eq!(json["code"], "worker_failed");
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("the system check stopped unexpectedly")),
            "{json}"
        );
    }

    #[test]
    fn engine_and_storage_errors_map_to_the_codes_the_ui_branches_on() {
        assert_eq!(Error::from_engine(EngineError::Cancelled).code(), "cancelled");
        assert_eq!(Error::from_engine(EngineError::NotLoaded("chat")).to_string(), "no chat model is loaded");
        assert_eq!(Error::from_engine(EngineError::NotLoaded("chat")).code(), "no_model");
        let too_long = EngineError::PromptTooLong { needed: 3000, available: 2048 };
        assert_eq!(Error::from_engine(too_long).code(), "chat_failed");
        assert_eq!(Error::from_engine(EngineError::Documents("x".into())).code(), "documents");
        assert_eq!(Error::from(ConversationError::NotFound { id: 3 }).code(), "not_found");
        assert_eq!(Error::from(ConversationError::EmptyTitle).code(), "invalid_request");
    }
}
