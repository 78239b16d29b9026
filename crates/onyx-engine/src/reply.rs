//! What a chat turn produces: the events streamed while it runs, the finished [`Reply`] with its
//! [`Stats`] and [`FinishReason`], and the [`CitedSource`]s of an answer from documents. Plain
//! data, shared by plain chat and answers from documents, so both depend on it and not on each
//! other.

use onyx_docs::search::SearchResult;
use onyx_runtime::ActiveProvider;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why a reply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FinishReason {
    /// The model emitted an end-of-sequence token.
    Eos,
    /// A stop string appeared.
    Stop,
    /// `max_tokens` was reached.
    MaxTokens,
    /// The context is full.
    ContextFull,
    /// The caller cancelled.
    Cancelled,
    /// "Use my documents" found nothing relevant, so the model was not asked.
    NothingRelevant,
}

impl FinishReason {
    /// The name it is serialized and stored under (`maxTokens`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Eos => "eos",
            FinishReason::Stop => "stop",
            FinishReason::MaxTokens => "maxTokens",
            FinishReason::ContextFull => "contextFull",
            FinishReason::Cancelled => "cancelled",
            FinishReason::NothingRelevant => "nothingRelevant",
        }
    }
}

/// Numbers for every reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Prompt tokens (after trimming).
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// From the request to the first token, ms.
    pub time_to_first_token_ms: f64,
    /// Prompt tokens per second (prompt tokens actually run; a reused prefix is not counted).
    pub prefill_tokens_per_second: f64,
    /// Generated tokens per second after the first.
    pub decode_tokens_per_second: f64,
    /// Whole reply, ms.
    pub total_ms: f64,
}

/// Streamed while a reply is generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChatEvent {
    /// A piece of text (never a split UTF-8 character).
    Token {
        /// The text.
        text: String,
    },
    /// The model moved to another provider mid-reply.
    ProviderChanged {
        /// Where it ran.
        from: String,
        /// Where it runs now.
        to: String,
        /// Why it moved.
        reason: String,
    },
    /// The sources an answer from documents draws on, sent before its first token.
    Sources {
        /// Numbered as the model cites them.
        sources: Vec<CitedSource>,
    },
    /// The reply is complete.
    Done {
        /// Its numbers.
        stats: Stats,
    },
}

/// A finished reply.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    /// The reply text.
    pub text: String,
    /// Its token ids.
    pub token_ids: Vec<u32>,
    /// The prompt's token ids.
    pub prompt_ids: Vec<u32>,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Its numbers.
    pub stats: Stats,
    /// Where it ran (at the end, after any fallback).
    pub provider: ActiveProvider,
    /// Oldest messages left out so the conversation fits the context.
    pub dropped_messages: usize,
    /// Documents the reply was grounded in (empty unless documents were used).
    pub sources: Vec<CitedSource>,
}

/// A source given to the model, numbered as it is cited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CitedSource {
    /// The number the model cites it by: `[number]`.
    pub number: usize,
    /// The retrieved chunk.
    #[serde(flatten)]
    pub result: SearchResult,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_are_stored_under_their_serialized_names() {
        for reason in [
            FinishReason::Eos,
            FinishReason::Stop,
            FinishReason::MaxTokens,
            FinishReason::ContextFull,
            FinishReason::Cancelled,
            FinishReason::NothingRelevant,
        ] {
            assert_eq!(serde_json::to_value(reason).ok(), Some(serde_json::json!(reason.as_str())));
        }
    }
}
