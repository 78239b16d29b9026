//! Onyx's local documents: the private search index behind "use my documents".
//!
//! What flows in: folders and files the user adds, and an [`Embedder`] (the engine's embedding
//! model; this crate never touches ONNX Runtime). What flows out: a SQLite index in WAL mode,
//! progress events while indexing, the skipped files with their reasons, and ranked search
//! results with their file, location and a snippet.
//!
//! The pipeline, one stage a module:
//! 1. [`walk`]: folders walked with ignore rules; every skipped file is recorded with why.
//! 2. [`extract`]: plain text plus its block structure (headings, paragraphs, code) from
//!    txt/md/rst/html/pdf/docx/source code.
//! 3. [`chunk`]: token-aware chunks of about 256 embedding tokens, with overlap and heading path.
//! 4. [`store`]: the SQLite schema (versioned), one transaction per file so a crash loses at most
//!    the file in progress.
//! 5. [`index`]: the incremental, resumable, cancellable indexer that drives the stages.
//! 6. [`vectors`] and [`search`]: the exact int8 vector scan and FTS5 BM25, fused by reciprocal
//!    rank.
//! 7. [`watch`]: re-indexes changed files while the app runs.
//!
//! Everything here blocks; callers run it on worker threads.

pub mod chunk;
pub mod extract;
pub mod index;
pub mod search;
pub mod sqlite;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod vectors;
pub mod walk;
pub mod watch;

use tokenizers::Tokenizer;

/// What a text is embedded for: retrieval models may prefix queries and passages differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedPurpose {
    /// A search query.
    Query,
    /// A chunk of a document being indexed.
    Document,
}

/// The embedding model as the index sees it. The engine implements this over its
/// `EmbeddingModel`, tests may implement it over anything deterministic.
pub trait Embedder {
    /// Length of every vector `embed` returns.
    fn dim(&self) -> usize;
    /// The model's tokenizer: chunks are measured in its tokens so each fits the model.
    fn tokenizer(&self) -> &Tokenizer;
    /// Most tokens the model reads per text, special tokens included.
    fn max_tokens(&self) -> usize;
    /// A short name of the model. Vectors of different models cannot be compared, so the index
    /// records it and refuses to mix.
    fn model_id(&self) -> String;
    /// One unit-length vector per text, in order.
    fn embed(&mut self, texts: &[&str], purpose: EmbedPurpose) -> Result<Vec<Vec<f32>>, String>;
}

/// The index database's file name in the app's data folder (see onyx_engine::app_data).
pub const DATABASE_FILE: &str = "documents.sqlite";
