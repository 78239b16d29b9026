//! One chat turn over a stored conversation: what the app's `chat_send` does, and what any other
//! front end (an API server) does the same way.
//!
//! The order a turn goes in, so that the database never disagrees with what the user saw:
//! 1. the request is checked ([`Turn::new`]) before anything is written;
//! 2. the user's message is stored (or, to regenerate, the last reply is deleted):
//!    [`TurnEvent::Started`];
//! 3. the model runs, with the user's documents when they are given; tokens, sources and
//!    provider changes are passed on as they come ([`TurnEvent::Reply`]);
//! 4. the reply is stored with its statistics, provider, sources and finish reason.
//!
//! A cancelled reply is stored with finish reason `cancelled` like any other, unless nothing was
//! generated yet (then the turn fails with [`EngineError::Cancelled`]). A failure after step 2
//! leaves the user's message stored, so a regenerate can retry it.

use crate::chat::ChatRequest;
use crate::conversations::{ConversationError, NewMessage, Role, StoredMessage};
use crate::documents::{DocumentIndex, DocumentOptions};
use crate::history::History;
use crate::reply::{ChatEvent, FinishReason, Reply};
use crate::settings::Settings;
use crate::template::Message;
use crate::{CancelToken, Engine, EngineError};

/// Longest user message accepted, in characters; far beyond any context the models hold.
pub const MAX_MESSAGE_CHARS: usize = 100_000;

/// What a turn answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    /// A new user message.
    Send(String),
    /// The last user message, again: its reply is deleted and generated anew.
    Regenerate,
}

impl Turn {
    /// The turn for a request's `text` and `regenerate` flag, checked before anything is written.
    pub fn new(text: Option<&str>, regenerate: bool) -> Result<Self, TurnError> {
        let invalid = |why: &str| Err(TurnError::InvalidRequest(why.to_owned()));
        match (text, regenerate) {
            (Some(_), true) => invalid("regenerate takes no text: send the message on its own"),
            (None, false) => invalid("there is no message to send"),
            (None, true) => Ok(Turn::Regenerate),
            (Some(text), false) if text.trim().is_empty() => invalid("the message is empty"),
            (Some(text), false) if text.chars().count() > MAX_MESSAGE_CHARS => {
                invalid(&format!("a message can have at most {MAX_MESSAGE_CHARS} characters"))
            }
            (Some(text), false) => Ok(Turn::Send(text.to_owned())),
        }
    }
}

/// What a turn reports while it runs.
#[derive(Clone, Debug)]
pub enum TurnEvent {
    /// The user's message is stored (`None` when regenerating).
    Started {
        /// As stored.
        user_message: Option<StoredMessage>,
    },
    /// The model's tokens, sources and provider changes, as they come. Never
    /// [`ChatEvent::Done`]: the turn ends when its reply is stored and returned.
    Reply(ChatEvent),
}

/// Why a turn failed.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The request cannot be answered (names what is wrong with it).
    #[error("{0}")]
    InvalidRequest(String),
    /// Reading or writing the conversation failed.
    #[error(transparent)]
    History(#[from] ConversationError),
    /// The model failed, or the turn was cancelled before its first token.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The prompt: the conversation, with the settings' system prompt in front unless it has its own.
pub fn prompt_messages(mut messages: Vec<Message>, system_prompt: &str) -> Result<Vec<Message>, TurnError> {
    if messages.last().is_none_or(|message| message.role != Role::User.as_str()) {
        return Err(TurnError::InvalidRequest("the conversation has no user message to answer".into()));
    }
    if !system_prompt.trim().is_empty() && !messages.iter().any(|message| message.role == Role::System.as_str()) {
        messages.insert(0, Message::new(Role::System.as_str(), system_prompt));
    }
    Ok(messages)
}

/// The request a turn sends the model, from the settings.
pub fn chat_request(messages: Vec<Message>, settings: &Settings) -> ChatRequest {
    ChatRequest {
        messages,
        sampling: settings.sampling(),
        max_tokens: settings.max_tokens as usize,
        stop: Vec::new(),
        ignore_eos: false,
        context_limit: Some(settings.context_length as usize),
    }
}

/// The stored form of a reply: its text, and its numbers, provider and sources as the engine
/// reported them.
pub fn stored_reply(reply: &Reply) -> NewMessage {
    let json = |value: serde_json::Result<serde_json::Value>| value.ok();
    NewMessage {
        role: Role::Assistant,
        content: reply.text.clone(),
        stats: json(serde_json::to_value(&reply.stats)),
        provider: json(serde_json::to_value(&reply.provider)),
        sources: (!reply.sources.is_empty()).then(|| json(serde_json::to_value(&reply.sources))).flatten(),
        finish_reason: Some(reply.finish_reason.as_str().to_owned()),
    }
}

/// Runs one turn of conversation `id` (see the module docs), answering from `documents` when
/// they are given. Returns the stored reply and the engine's own.
#[allow(clippy::too_many_arguments)]
pub fn run_turn(
    engine: &Engine,
    history: &History,
    id: i64,
    turn: Turn,
    settings: &Settings,
    documents: Option<DocumentIndex<'_>>,
    cancel: &CancelToken,
    on_event: &mut dyn FnMut(TurnEvent),
) -> Result<(StoredMessage, Reply), TurnError> {
    let user_message = match turn {
        Turn::Send(text) => Some(history.append(id, NewMessage::new(Role::User, text))?),
        Turn::Regenerate => {
            let messages = history.messages(id)?;
            if !messages.iter().any(|message| message.role == Role::User) {
                return Err(TurnError::InvalidRequest("there is no message to answer again".into()));
            }
            if let Some(last) = messages.last().filter(|message| message.role == Role::Assistant) {
                history.delete_from(id, last.id)?;
            }
            None
        }
    };
    on_event(TurnEvent::Started { user_message });

    let request = chat_request(prompt_messages(history.chat_messages(id)?, &settings.system_prompt)?, settings);
    let mut forward = |event: ChatEvent| {
        if !matches!(event, ChatEvent::Done { .. }) {
            on_event(TurnEvent::Reply(event));
        }
    };
    let reply = match documents {
        Some(index) => {
            let options = DocumentOptions { search: settings.documents.search_options() };
            engine.chat_with_documents(&request, index, &options, cancel, &mut forward)?
        }
        None => engine.chat(&request, cancel, &mut forward)?,
    };
    if reply.finish_reason == FinishReason::Cancelled && reply.text.is_empty() {
        return Err(EngineError::Cancelled.into());
    }
    let message = history.append(id, stored_reply(&reply))?;
    Ok((message, reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_anything_is_written() {
        assert_eq!(Turn::new(Some("hi"), false).ok(), Some(Turn::Send("hi".into())));
        assert_eq!(Turn::new(None, true).ok(), Some(Turn::Regenerate));
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        for (text, regenerate) in [(Some("  "), false), (None, false), (Some("hi"), true), (Some(long.as_str()), false)]
        {
            assert!(matches!(Turn::new(text, regenerate), Err(TurnError::InvalidRequest(_))), "{text:?}");
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
        assert!(matches!(prompt_messages(answered, ""), Err(TurnError::InvalidRequest(_))));
    }
}
