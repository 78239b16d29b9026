//! The chat domain: `chat_send` streams a reply on its channel and stores both sides of the
//! turn; `chat_cancel` stops one by its stream id ([`streams`]).
//!
//! The order a reply goes in, so that the database never disagrees with the window:
//! 1. checks that need no writing (the request, the model, the documents when asked for);
//! 2. the user's message is stored (or, to regenerate, the last reply is deleted), then `started`;
//! 3. the engine runs on a blocking worker; `token`, `sources` and `providerChanged` are
//!    forwarded as they come;
//! 4. the reply is stored with its statistics, provider, sources and finish reason, then `done`.
//!
//! A cancelled reply is stored with finish reason `cancelled` like any other, unless nothing was
//! generated yet (then the command answers `cancelled`). A failure after step 2 leaves the
//! user's message stored, so "regenerate" can retry it; the failure goes out as an `error` event
//! and as the command's error.

pub mod streams;

use onyx_docs::search::SearchOptions;
use onyx_engine::chat::ChatRequest;
use onyx_engine::conversations::{NewMessage, Role, StoredMessage};
use onyx_engine::documents::{DocumentIndex, DocumentOptions};
use onyx_engine::reply::{ChatEvent, CitedSource, FinishReason};
use onyx_engine::template::Message;
use onyx_engine::{CancelToken, Engine};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use ts_rs::TS;

use crate::conversations::ConversationsState;
use crate::documents::DocumentsState;
use crate::error::{Error, ErrorBody};
use crate::models::ModelsState;
use crate::settings::SettingsState;
use onyx_convert::manifest::ModelKind;
use streams::StreamRegistry;

/// Longest user message accepted, in characters; far beyond any context the models hold.
pub const MAX_MESSAGE_CHARS: usize = 100_000;
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

/// A checked request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Turn {
    /// Answer a new user message.
    Send(String),
    /// Answer the last user message again.
    Regenerate,
}

/// Checks a request before anything is written.
fn check(request: &ChatSend) -> Result<Turn, Error> {
    let id = &request.stream_id;
    if id.is_empty() || id.chars().count() > MAX_STREAM_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(format!(
            "the stream id must be 1 to {MAX_STREAM_ID_CHARS} printable characters"
        )));
    }
    match (&request.text, request.regenerate) {
        (Some(_), true) => Err(Error::InvalidRequest("regenerate takes no text: send the message on its own".into())),
        (None, false) => Err(Error::InvalidRequest("there is no message to send".into())),
        (None, true) => Ok(Turn::Regenerate),
        (Some(text), false) if text.trim().is_empty() => Err(Error::InvalidRequest("the message is empty".into())),
        (Some(text), false) if text.chars().count() > MAX_MESSAGE_CHARS => {
            Err(Error::InvalidRequest(format!("a message can have at most {MAX_MESSAGE_CHARS} characters")))
        }
        (Some(text), false) => Ok(Turn::Send(text.clone())),
    }
}

/// The prompt: the conversation, with the settings' system prompt in front unless it has its own.
fn prompt_messages(mut messages: Vec<Message>, system_prompt: &str) -> Result<Vec<Message>, Error> {
    if messages.last().is_none_or(|message| message.role != Role::User.as_str()) {
        return Err(Error::InvalidRequest("the conversation has no user message to answer".into()));
    }
    if !system_prompt.trim().is_empty() && !messages.iter().any(|message| message.role == Role::System.as_str()) {
        messages.insert(0, Message::new(Role::System.as_str(), system_prompt));
    }
    Ok(messages)
}

/// The chat state: the replies in progress, and the domains a reply uses. Cheap to clone.
#[derive(Clone)]
pub struct ChatState {
    streams: StreamRegistry<CancelToken>,
    models: ModelsState,
    conversations: ConversationsState,
    settings: SettingsState,
    documents: DocumentsState,
}

/// How commands receive the chat state.
pub type ChatHandle<'a> = tauri::State<'a, ChatState>;

impl ChatState {
    /// A chat over these domains.
    pub fn new(
        models: ModelsState,
        conversations: ConversationsState,
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

    /// Steps 2 to 4, on the worker.
    fn reply(
        &self,
        engine: &Engine,
        request: &ChatSend,
        turn: Turn,
        cancel: &CancelToken,
        channel: &Channel<ChatStreamEvent>,
    ) -> Result<StoredMessage, Error> {
        let id = request.conversation_id;
        let user_message = match turn {
            Turn::Send(text) => Some(self.conversations.append(id, NewMessage::new(Role::User, text))?),
            Turn::Regenerate => {
                let messages = self.conversations.messages(id)?;
                if !messages.iter().any(|message| message.role == Role::User) {
                    return Err(Error::InvalidRequest("there is no message to answer again".into()));
                }
                if let Some(last) = messages.last().filter(|message| message.role == Role::Assistant) {
                    self.conversations.delete_from(id, last.id)?;
                }
                None
            }
        };
        send(channel, ChatStreamEvent::Started { user_message }, Some(cancel));

        let settings = self.settings.current();
        let messages = prompt_messages(self.conversations.chat_messages(id)?, &settings.system_prompt)?;
        let chat_request = ChatRequest {
            messages,
            sampling: settings.sampling(),
            max_tokens: settings.max_tokens as usize,
            stop: Vec::new(),
            ignore_eos: false,
            context_limit: Some(settings.context_length as usize),
        };
        let mut moved: Option<String> = None;
        let mut forward = |event: ChatEvent| {
            let event = match event {
                ChatEvent::Token { text } => ChatStreamEvent::Token { text },
                ChatEvent::Sources { sources } => ChatStreamEvent::Sources { sources },
                ChatEvent::ProviderChanged { from, to, reason } => {
                    moved = Some(reason.clone());
                    ChatStreamEvent::ProviderChanged { from, to, reason }
                }
                // `done` follows once the reply is stored.
                ChatEvent::Done { .. } => return,
            };
            send(channel, event, Some(cancel));
        };
        let reply = if request.use_documents {
            let options = DocumentOptions {
                search: SearchOptions {
                    k: settings.documents.top_k as usize,
                    min_similarity: settings.documents.min_similarity,
                    ..SearchOptions::default()
                },
            };
            // The search happens first; the shared searcher stays locked for the reply (another
            // search waits for it), which keeps its vectors from being loaded twice.
            self.documents.with_index(|store, searcher| {
                engine.chat_with_documents(
                    &chat_request,
                    DocumentIndex { store, searcher },
                    &options,
                    cancel,
                    &mut forward,
                )
            })?
        } else {
            engine.chat(&chat_request, cancel, &mut forward)
        }
        .map_err(Error::from_engine)?;
        if let Some(reason) = moved {
            self.models.provider_moved(reply.provider.clone(), Some(reason));
        }
        if reply.finish_reason == FinishReason::Cancelled && reply.text.is_empty() {
            return Err(Error::Cancelled);
        }
        let to_json = |value: serde_json::Result<serde_json::Value>| value.ok();
        let message = self.conversations.append(
            id,
            NewMessage {
                role: Role::Assistant,
                content: reply.text.clone(),
                stats: to_json(serde_json::to_value(&reply.stats)),
                provider: to_json(serde_json::to_value(&reply.provider)),
                sources: (!reply.sources.is_empty()).then(|| to_json(serde_json::to_value(&reply.sources))).flatten(),
                finish_reason: serde_json::to_value(reply.finish_reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
            },
        )?;
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
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert!(matches!(check(&request(Some(&long), false)), Err(Error::InvalidRequest(_))));
        for id in ["", "a\nb"] {
            let bad = ChatSend { stream_id: id.into(), ..request(Some("hi"), false) };
            assert!(matches!(check(&bad), Err(Error::InvalidRequest(_))), "{id:?}");
        }
    }

    #[test]
    fn the_system_prompt_goes_first_unless_the_conversation_has_one() {
        let user = Message::new("user", "hi");
        let with = prompt_messages(vec![user.clone()], "Be brief.").expect("a user message");
        assert_eq!(with, vec![Message::new("system", "Be brief."), user.clone()]);
        let own = vec![Message::new("system", "Pirate."), user.clone()];
        assert_eq!(prompt_messages(own.clone(), "Be brief.").ok(), Some(own));
        assert_eq!(prompt_messages(vec![user.clone()], "  ").ok(), Some(vec![user.clone()]));
        let answered = vec![user, Message::new("assistant", "hello")];
        assert!(matches!(prompt_messages(answered, ""), Err(Error::InvalidRequest(_))));
    }
}
