//! The one error type the shell's commands return, and its wire form.
//!
//! The UI receives every error as `{ "code": ..., "message": ... }`: `code` is a stable
//! snake_case string the front end may branch on (ui/src/ipc/errors.ts), `message` is the
//! human-readable `Display` text. A variant gets its own code only when the UI treats it
//! differently; the JSON is pinned by the tests below.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Why a command could not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider choice sent by the UI is not something a person could have picked.
    #[error(
        "{choice:?} is not a provider choice: expected auto, npu, gpu, cpu or an execution \
         provider name of at most {max} printable characters",
        max = crate::doctor::MAX_PROVIDER_LEN
    )]
    InvalidProvider {
        /// The rejected text, as received.
        choice: String,
    },
    /// The background task running the doctor panicked or was cancelled before finishing.
    #[error("the system check stopped unexpectedly: {0}")]
    Worker(#[source] tauri::Error),
}

impl Error {
    /// The stable code the UI sees.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidProvider { .. } => "invalid_provider",
            Error::Worker(_) => "worker_failed",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_provider_serializes_as_code_and_message() -> Result<(), serde_json::Error> {
        let error = Error::InvalidProvider { choice: "bad\nchoice".into() };
        let json = serde_json::to_value(&error)?;
        assert_eq!(
            json,
            serde_json::json!({
                "code": "invalid_provider",
                "message": "\"bad\\nchoice\" is not a provider choice: expected auto, npu, gpu, \
                            cpu or an execution provider name of at most 128 printable characters",
            })
        );
        Ok(())
    }

    #[test]
    fn worker_failure_has_its_own_code() -> Result<(), serde_json::Error> {
        let error = Error::Worker(tauri::Error::FailedToReceiveMessage);
        let json = serde_json::to_value(&error)?;
        assert_eq!(json["code"], "worker_failed");
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|message| message.starts_with("the system check stopped unexpectedly")),
            "{json}"
        );
        Ok(())
    }
}
