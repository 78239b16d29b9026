//! Onyx's engine: chat generation and embeddings on whatever provider the runtime picked, one API
//! shared by the desktop app and the CLI.
//!
//! What flows in: a model folder (an Onyx package, an onnxruntime-genai folder or an Optimum
//! export), a provider choice, and requests. What flows out: streamed events (`Token`,
//! `ProviderChanged`, `Done`), replies with their statistics and the provider that produced them,
//! and embedding vectors.
//!
//! Everything here is blocking and CPU-heavy by design: callers run it on worker threads or in
//! `spawn_blocking`, never on an async runtime's threads. Every long call takes a
//! [`CancelToken`] that stops it within one decode step.

pub mod app_data;
mod cancel;
pub mod catalog;
pub mod chat;
pub mod conversations;
mod damaged;
mod decoder;
pub mod documents;
pub mod embed;
mod engine;
mod error;
pub mod history;
pub mod import;
pub mod index_db;
pub mod preview;
pub mod reply;
pub mod sampling;
pub mod settings;
pub mod template;
pub mod turn;

pub use cancel::CancelToken;
pub use decoder::CacheTraffic;
pub use engine::Engine;
pub use error::EngineError;
