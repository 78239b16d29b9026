//! The chat domain: `chat_send` runs one turn of a conversation ([`onyx_engine::turn`], which
//! stores both sides of it) on a blocking worker and streams it on the window's channel;
//! `chat_cancel` stops one by its stream id ([`streams`]).
//!
//! What the shell adds to the engine's turn: the stream id and its cancel token, the checks
//! that the models (and the documents, when asked for) are ready before anything is written,
//! the channel events (`started`, `sources`, `token`, `providerChanged`, then `done` once the
//! reply is stored, or `error`), and the badge's update when the reply moved provider.

pub mod streams;

use onyx_engine::conversations::StoredMessage;
use onyx_engine::documents::DocumentIndex;
use onyx_engine::history::History;
use onyx_engine::reply::{ChatEvent, CitedSource};
use onyx_engine::turn::{Turn, TurnEvent, run_turn};
use onyx_engine::{CancelToken, Engine};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use ts_rs::TS;

use crate::documents::DocumentsState;
use crate::error::{Error, ErrorBody};
use crate::models::ModelsState;
use crate::settings::SettingsState;
use onyx_convert::manifest::ModelKind;
use streams::StreamRegistry;

/// Longest stream id accepted.
const MAX_STREAM_ID_CHARS: usize = 128;

/// The request of `chat_send`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChatSend {
    /// Chosen by the window, to cancel this reply with.
    pub stream_id: String,
    /// The conversation.
    pub conversation_id: i64,
    /// The new user message; `None` to regenerate.
    #[serde(default)]
    pub text: Option<String>,
    /// Delete the last reply and generate it again (with `text: None`).
    #[serde(default)]
    pub regenerate: bool,
    /// Answer from the user's documents, citing them.
    #[serde(default)]
    pub use_documents: bool,
}

/// Streamed on `chat_send`'s channel.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ChatStreamEvent {
    /// The user's message is stored (`None` when regenerating).
    Started {
        /// As stored.
        user_message: Option<StoredMessage>,
    },
    /// The sources an answer from documents draws on, before its first token.
    Sources {
        /// Numbered as the reply cites them.
        sources: Vec<CitedSource>,
    },
    /// A piece of the reply.
    Token {
        /// Never a split character.
        text: String,
    },
    /// The reply moved to another provider mid-way.
    ProviderChanged {
        /// Where it ran.
        from: String,
        /// Where it runs now.
        to: String,
        /// Why.
        reason: String,
    },
    /// The reply is stored.
    Done {
        /// As stored.
        message: StoredMessage,
    },
    /// The reply failed (`code` `cancelled` when stopped before its first token).
    Error(ErrorBody),
}

/// Checks a request before anything is written.
fn check(request: &ChatSend) -> Result<Turn, Error> {
    let id = &request.stream_id;
    if id.is_empty() || id.chars().count() > MAX_STREAM_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(format!(
            "the stream id must be 1 to {MAX_STREAM_ID_CHARS} printable characters"
        )));
    }
    Ok(Turn::new(request.text.as_deref(), request.regenerate)?)
}

/// The chat state: the replies in progress, and the domains a reply uses. Cheap to clone.
#[derive(Clone)]
pub struct ChatState {
    streams: StreamRegistry<CancelToken>,
    models: ModelsState,
    conversations: History,
    settings: SettingsState,
    documents: DocumentsState,
}

/// How commands receive the chat state.
pub type ChatHandle<'a> = tauri::State<'a, ChatState>;

impl ChatState {
    /// A chat over these domains.
    pub fn new(
        models: ModelsState,
        conversations: History,
        settings: SettingsState,
        documents: DocumentsState,
    ) -> Self {
        ChatState { streams: StreamRegistry::default(), models, conversations, settings, documents }
    }

    /// `chat_cancel`: stops the reply `stream_id` within one decode step. An unknown id is no
    /// error: the reply may have just ended, or not have started yet (see [`streams`]).
    pub fn cancel(&self, stream_id: &str) -> Result<(), Error> {
        self.streams.cancel(stream_id);
        Ok(())
    }

    /// `chat_send` (see the module docs).
    pub async fn send(&self, request: ChatSend, channel: Channel<ChatStreamEvent>) -> Result<StoredMessage, Error> {
        let turn = check(&request)?;
        let engine = self.models.ready(ModelKind::Chat)?;
        if request.use_documents {
            self.models.ready(ModelKind::Embedding)?;
            self.documents.available()?;
        }
        // The conversation must exist before anything else happens.
        self.conversations.messages(request.conversation_id)?;
        let cancel = CancelToken::new().map_err(Error::from_engine)?;
        let registered = self.streams.register(&request.stream_id, cancel.clone())?;
        let chat = self.clone();
        let events = channel.clone();
        let result = tauri::async_runtime::spawn_blocking(move || {
            let _registered = registered;
            chat.reply(&engine, &request, turn, &cancel, &events)
        })
        .await
        .map_err(Error::worker("reply"))
        .and_then(|result| result);
        if let Err(error) = &result {
            send(&channel, ChatStreamEvent::Error(ErrorBody::from(error)), None);
        }
        result
    }

    /// The turn itself, on the worker.
    fn reply(
        &self,
        engine: &Engine,
        request: &ChatSend,
        turn: Turn,
        cancel: &CancelToken,
        channel: &Channel<ChatStreamEvent>,
    ) -> Result<StoredMessage, Error> {
        let settings = self.settings.current();
        let mut moved: Option<String> = None;
        let mut forward = |event: TurnEvent| {
            let event = match event {
                TurnEvent::Started { user_message } => ChatStreamEvent::Started { user_message },
                TurnEvent::Reply(ChatEvent::Token { text }) => ChatStreamEvent::Token { text },
                TurnEvent::Reply(ChatEvent::Sources { sources }) => ChatStreamEvent::Sources { sources },
                TurnEvent::Reply(ChatEvent::ProviderChanged { from, to, reason }) => {
                    moved = Some(reason.clone());
                    ChatStreamEvent::ProviderChanged { from, to, reason }
                }
                // The turn never passes it on: `done` follows once the reply is stored.
                TurnEvent::Reply(ChatEvent::Done { .. }) => return,
            };
            send(channel, event, Some(cancel));
        };
        let id = request.conversation_id;
        let history = &self.conversations;
        let result = if request.use_documents {
            // The shared searcher stays locked for the turn (another search waits for it), which
            // keeps its vectors from being loaded twice.
            self.documents.with_index(|store, searcher| {
                let index = DocumentIndex { store, searcher };
                run_turn(engine, history, id, turn, &settings, Some(index), cancel, &mut forward)
            })?
        } else {
            run_turn(engine, history, id, turn, &settings, None, cancel, &mut forward)
        };
        let (message, reply) = result?;
        if let Some(reason) = moved {
            self.models.provider_moved(reply.provider, Some(reason));
        }
        send(channel, ChatStreamEvent::Done { message: message.clone() }, None);
        Ok(message)
    }
}

/// Sends a stream event. The channel fails only when the window is gone; then nobody reads the
/// reply, so it is stopped (and stored as far as it got).
fn send(channel: &Channel<ChatStreamEvent>, event: ChatStreamEvent, cancel: Option<&CancelToken>) {
    if let Err(error) = channel.send(event) {
        eprintln!("onyx-app: the window stopped listening to a reply: {error}");
        if let Some(cancel) = cancel {
            cancel.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use onyx_engine::conversations::Role;
    use serde_json::json;

    use super::*;

    fn request(text: Option<&str>, regenerate: bool) -> ChatSend {
        ChatSend {
            stream_id: "s1".into(),
            conversation_id: 1,
            text: text.map(str::to_owned),
            regenerate,
            use_documents: false,
        }
    }

    #[test]
    fn stream_events_are_tagged_with_camel_case_data() {
        let token = ChatStreamEvent::Token { text: "hi".into() };
        assert_eq!(serde_json::to_value(token).ok(), Some(json!({"event": "token", "data": {"text": "hi"}})));
        let started = ChatStreamEvent::Started { user_message: None };
        assert_eq!(
            serde_json::to_value(started).ok(),
            Some(json!({"event": "started", "data": {"userMessage": null}}))
        );
        let moved = ChatStreamEvent::ProviderChanged { from: "npu".into(), to: "cpu".into(), reason: "driver".into() };
        assert_eq!(
            serde_json::to_value(moved).ok(),
            Some(json!({"event": "providerChanged", "data": {"from": "npu", "to": "cpu", "reason": "driver"}}))
        );
        let error = ChatStreamEvent::Error(ErrorBody { code: "cancelled".into(), message: "cancelled".into() });
        assert_eq!(
            serde_json::to_value(error).ok(),
            Some(json!({"event": "error", "data": {"code": "cancelled", "message": "cancelled"}}))
        );
        assert_eq!(
            serde_json::to_value(ChatStreamEvent::Sources { sources: Vec::new() }).ok(),
            Some(json!({"event": "sources", "data": {"sources": []}}))
        );
    }

    #[test]
    fn done_carries_the_stored_message() {
        let message = StoredMessage {
            id: 4,
            conversation_id: 1,
            role: Role::Assistant,
            content: "Hello".into(),
            created_at: 1_700_000_000_000,
            stats: Some(json!({"generatedTokens": 2})),
            provider: None,
            sources: None,
            finish_reason: Some("eos".into()),
        };
        let done = serde_json::to_value(ChatStreamEvent::Done { message }).ok();
        assert_eq!(
            done,
            Some(json!({"event": "done", "data": {"message": {
                "id": 4, "conversationId": 1, "role": "assistant", "content": "Hello", "createdAt": 1_700_000_000_000_i64,
                "stats": {"generatedTokens": 2}, "provider": null, "sources": null, "finishReason": "eos",
            }}}))
        );
    }

    #[test]
    fn the_request_is_read_in_camel_case_with_defaults() {
        let parsed: ChatSend =
            serde_json::from_value(json!({"streamId": "s1", "conversationId": 1, "text": "hi"})).expect("parses");
        assert_eq!(parsed, request(Some("hi"), false));
    }

    #[test]
    fn requests_are_checked_before_anything_is_written() {
        assert_eq!(check(&request(Some("hi"), false)).ok(), Some(Turn::Send("hi".into())));
        assert_eq!(check(&request(None, true)).ok(), Some(Turn::Regenerate));
        for bad in [request(Some("  "), false), request(None, false), request(Some("hi"), true)] {
            assert!(matches!(check(&bad), Err(Error::InvalidRequest(_))), "{bad:?}");
        }
        for id in ["", "a\nb"] {
            let bad = ChatSend { stream_id: id.into(), ..request(Some("hi"), false) };
            assert!(matches!(check(&bad), Err(Error::InvalidRequest(_))), "{id:?}");
        }
    }
}
