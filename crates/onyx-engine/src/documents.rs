//! The engine's side of "use my documents": the loaded embedding model as the index's
//! [`Embedder`], and answers grounded in retrieved chunks with numbered sources.
//!
//! What flows in: a chat request, the document index (`onyx_docs::store::Store` and a
//! [`Searcher`]) and retrieval options. What flows out: the reply, streamed as usual, preceded by
//! a `Sources` event, and the cited sources on the [`Reply`].
//!
//! The sources go into the latest user turn rather than the system prompt: small chat models
//! follow text near the question far better than a long preamble. When nothing in the index is
//! relevant enough, the model is not asked at all: the reply says so, because a model given no
//! sources would answer from its weights and look as if it had read the user's files.

use std::path::PathBuf;

use onyx_docs::search::{SearchOptions, SearchResult, Searcher};
use onyx_docs::store::Store;
use onyx_docs::{EmbedPurpose, Embedder};
use tokenizers::Tokenizer;

use crate::chat::ChatRequest;
use crate::embed::TextKind;
use crate::reply::{ChatEvent, CitedSource, FinishReason, Reply, Stats};
use crate::template::Message;
use crate::{CancelToken, Engine, EngineError};

/// The reply when the index holds nothing relevant to the question.
pub const NOTHING_RELEVANT: &str = "I couldn't find anything relevant to this in your documents, so I can't answer \
     it from them. Try rephrasing, or add the folder that covers it in the Documents panel.";

/// Most prompt tokens spent on sources, whatever the context allows: beyond this a small model
/// loses the question.
const MAX_SOURCE_TOKENS: usize = 1200;
/// Slack for the template's role markers and the instructions around the sources.
const PROMPT_OVERHEAD_TOKENS: usize = 96;

/// The loaded embedding model, seen by the document index. Each call takes the model's lock
/// only for its own batch, so searches and chat can interleave with a long indexing run.
pub struct EngineEmbedder<'a> {
    engine: &'a Engine,
    tokenizer: Tokenizer,
    max_tokens: usize,
    dim: usize,
    model_id: String,
    cancel: &'a CancelToken,
}

impl<'a> EngineEmbedder<'a> {
    /// An embedder over the engine's loaded embedding model; calls stop when `cancel` trips.
    pub fn new(engine: &'a Engine, cancel: &'a CancelToken) -> Result<Self, EngineError> {
        let (tokenizer, max_tokens, dim, model_id) = engine.with_embedding_model(|model| {
            // Vectors are comparable across variants of the same weights (int8 vs fp32 stay
            // above 0.99 cosine), so the index is keyed by the source weights, not the graph.
            let model_id = match model.manifest() {
                Some(manifest) => format!(
                    "{}@{}",
                    manifest.source.file,
                    manifest.source.sha256.get(..12).unwrap_or(&manifest.source.sha256)
                ),
                None => model.dir().file_name().map_or_else(|| "embedding".into(), |n| n.to_string_lossy().into()),
            };
            (model.tokenizer().clone(), model.max_tokens(), model.dim(), model_id)
        })?;
        Ok(EngineEmbedder { engine, tokenizer, max_tokens, dim, model_id, cancel })
    }
}

impl Embedder for EngineEmbedder<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn model_id(&self) -> String {
        self.model_id.clone()
    }

    fn embed(&mut self, texts: &[&str], purpose: EmbedPurpose) -> Result<Vec<Vec<f32>>, String> {
        let kind = match purpose {
            EmbedPurpose::Query => TextKind::Query,
            EmbedPurpose::Document => TextKind::Document,
        };
        self.engine.embed(texts, kind, self.cancel).map_err(|e| e.to_string())
    }
}

/// How documents are used for one answer.
#[derive(Clone, Debug, Default)]
pub struct DocumentOptions {
    /// Retrieval settings (k, sources, relevance floor).
    pub search: SearchOptions,
}

/// The document index an answer draws on.
pub struct DocumentIndex<'a> {
    /// The database.
    pub store: &'a Store,
    /// The cached vectors.
    pub searcher: &'a mut Searcher,
}

impl Engine {
    /// Answers the conversation's latest user turn from the user's documents.
    ///
    /// Retrieves chunks for that turn, puts as many as fit the context into it as numbered
    /// sources, asks the model to cite them as `[n]`, and returns them on the reply. Emits
    /// `ChatEvent::Sources` before the first token. If nothing relevant is found, the model is
    /// not run and the reply says so.
    pub fn chat_with_documents(
        &self,
        request: &ChatRequest,
        documents: DocumentIndex<'_>,
        options: &DocumentOptions,
        cancel: &CancelToken,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<Reply, EngineError> {
        let question = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| {
                EngineError::InvalidRequest("there is no user question to search the documents for".into())
            })?;
        let mut embedder = EngineEmbedder::new(self, cancel)?;
        let found = documents
            .searcher
            .search(documents.store, &mut embedder, &question, &options.search)
            .map_err(|e| EngineError::Documents(e.to_string()))?;
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }

        let (tokenizer, context) = self.with_chat_model(|m| (m.tokenizer().clone(), request.context(m.context())))?;
        let count = |text: &str| tokenizer.encode(text, false).map(|e| e.len()).unwrap_or(text.len() / 3);
        let conversation: usize = request.messages.iter().map(|m| count(&m.content) + 8).sum();
        let budget = context
            .saturating_sub(request.max_tokens.min(context / 4))
            .saturating_sub(conversation + PROMPT_OVERHEAD_TOKENS)
            .min(MAX_SOURCE_TOKENS);
        let mut sources = Vec::new();
        let mut used = 0;
        for result in found.results {
            let block = source_block(sources.len() + 1, &result);
            let tokens = count(&block);
            if used + tokens > budget {
                // Later results rank lower; a smaller one might fit, but order matters more.
                break;
            }
            used += tokens;
            sources.push(CitedSource { number: sources.len() + 1, result });
        }
        on_event(ChatEvent::Sources { sources: sources.clone() });

        if sources.is_empty() {
            on_event(ChatEvent::Token { text: NOTHING_RELEVANT.to_owned() });
            let stats = Stats::default();
            on_event(ChatEvent::Done { stats: stats.clone() });
            let provider = self.chat_provider().ok_or(EngineError::NotLoaded("chat"))?;
            return Ok(Reply {
                text: NOTHING_RELEVANT.to_owned(),
                token_ids: Vec::new(),
                prompt_ids: Vec::new(),
                finish_reason: FinishReason::NothingRelevant,
                stats,
                provider,
                dropped_messages: 0,
                sources,
            });
        }

        let mut grounded = request.clone();
        if let Some(last_user) = grounded.messages.iter_mut().rev().find(|m| m.role == "user") {
            *last_user = Message::new("user", grounded_question(&question, &sources));
        }
        let mut reply = self.chat(&grounded, cancel, on_event)?;
        reply.sources = sources;
        Ok(reply)
    }
}

/// One numbered source as the model reads it.
fn source_block(number: usize, result: &SearchResult) -> String {
    let name =
        result.path.file_name().map_or_else(|| result.path.display().to_string(), |n| n.to_string_lossy().into());
    let heading = if result.heading.is_empty() { String::new() } else { format!(" — {}", result.heading) };
    format!("[{number}] {name}{heading}\n{}\n", result.text.trim())
}

/// The user's question with the sources in front and the citation instruction after.
fn grounded_question(question: &str, sources: &[CitedSource]) -> String {
    let mut text = String::from("Sources from my documents:\n\n");
    for source in sources {
        text.push_str(&source_block(source.number, &source.result));
        text.push('\n');
    }
    text.push_str(
        "Answer the question below using only these sources. Cite each source you use by its number in \
         brackets, like [1]. If the sources do not contain the answer, say that they don't.\n\nQuestion: ",
    );
    text.push_str(question.trim());
    text
}

/// Paths of the cited sources, for a compact listing.
pub fn cited_paths(sources: &[CitedSource]) -> Vec<PathBuf> {
    sources.iter().map(|s| s.result.path.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(path: &str, heading: &str, text: &str) -> SearchResult {
        SearchResult {
            path: PathBuf::from(path),
            same_content: Vec::new(),
            score: 0.0,
            similarity: 0.5,
            vector_rank: Some(1),
            keyword_rank: None,
            heading: heading.into(),
            byte_range: 0..text.len(),
            lines: (1, 1),
            snippet: text.into(),
            highlights: Vec::new(),
            text: text.into(),
            chunk_id: 1,
        }
    }

    #[test]
    fn the_question_carries_numbered_sources_and_the_citation_rule() {
        let sources = vec![
            CitedSource {
                number: 1,
                result: result("/d/book/ownership.html", "Ownership > Rules", "Each value has an owner."),
            },
            CitedSource { number: 2, result: result("/d/notes.md", "", "  Moves invalidate. ") },
        ];
        let text = grounded_question(" Who owns a value? ", &sources);
        assert!(text.contains("[1] ownership.html — Ownership > Rules\nEach value has an owner.\n"), "{text}");
        assert!(text.contains("[2] notes.md\nMoves invalidate.\n"), "{text}");
        assert!(text.contains("like [1]"));
        assert!(text.ends_with("Question: Who owns a value?"));
        assert_eq!(cited_paths(&sources), [PathBuf::from("/d/book/ownership.html"), PathBuf::from("/d/notes.md")]);
    }
}
