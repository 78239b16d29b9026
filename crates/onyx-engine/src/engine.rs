//! [`Engine`]: the handle the app and the CLI share. It owns the loaded models; each model has
//! one owner at a time (a mutex), so sessions are never run concurrently, while the handle itself
//! is `Send + Sync` and cheap to share.

use std::path::Path;
use std::sync::Mutex;

use onyx_runtime::{ActiveProvider, ProviderChoice, Runtime, RuntimeConfig};

use crate::chat::{ChatModel, ChatRequest};
use crate::embed::{EmbeddingModel, TextKind};
use crate::reply::{ChatEvent, Reply};
use crate::{CancelToken, EngineError};

/// The engine. Calls block and are CPU-heavy: run them on a worker thread or `spawn_blocking`.
pub struct Engine {
    runtime: &'static Runtime,
    chat: Mutex<Option<ChatModel>>,
    embedding: Mutex<Option<EmbeddingModel>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a model half-updated (models are replaced
    // whole), so a poisoned lock is safe to keep using.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    /// Loads ONNX Runtime (once per process) and starts with no models.
    pub fn new(config: &RuntimeConfig) -> Result<Self, EngineError> {
        Ok(Self { runtime: Runtime::init(config)?, chat: Mutex::new(None), embedding: Mutex::new(None) })
    }

    /// The runtime (devices, plugins, library).
    pub fn runtime(&self) -> &'static Runtime {
        self.runtime
    }

    /// Loads (or replaces) the chat model. On error the previous model stays loaded.
    pub fn load_chat(&self, dir: &Path, choice: &ProviderChoice, strict: bool) -> Result<ActiveProvider, EngineError> {
        let model = ChatModel::load(self.runtime, dir, choice, strict)?;
        let provider = model.provider().clone();
        *lock(&self.chat) = Some(model);
        Ok(provider)
    }

    /// Loads (or replaces) the embedding model. On error the previous model stays loaded.
    pub fn load_embedding(
        &self,
        dir: &Path,
        choice: &ProviderChoice,
        strict: bool,
    ) -> Result<ActiveProvider, EngineError> {
        let model = EmbeddingModel::load(self.runtime, dir, choice, strict)?;
        let provider = model.provider().clone();
        *lock(&self.embedding) = Some(model);
        Ok(provider)
    }

    /// Where the chat model runs, if one is loaded.
    pub fn chat_provider(&self) -> Option<ActiveProvider> {
        lock(&self.chat).as_ref().map(|m| m.provider().clone())
    }

    /// Generates a reply with the loaded chat model, streaming events.
    pub fn chat(
        &self,
        request: &ChatRequest,
        cancel: &CancelToken,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<Reply, EngineError> {
        let mut guard = lock(&self.chat);
        let model = guard.as_mut().ok_or(EngineError::NotLoaded("chat"))?;
        model.generate(self.runtime, request, cancel, on_event)
    }

    /// Runs `f` with the loaded chat model (token counting, test hooks).
    pub fn with_chat_model<R>(&self, f: impl FnOnce(&mut ChatModel) -> R) -> Result<R, EngineError> {
        let mut guard = lock(&self.chat);
        let model = guard.as_mut().ok_or(EngineError::NotLoaded("chat"))?;
        Ok(f(model))
    }

    /// Embeds `texts` with the loaded embedding model.
    pub fn embed(&self, texts: &[&str], kind: TextKind, cancel: &CancelToken) -> Result<Vec<Vec<f32>>, EngineError> {
        let mut guard = lock(&self.embedding);
        let model = guard.as_mut().ok_or(EngineError::NotLoaded("embedding"))?;
        model.embed(texts, kind, 32, cancel)
    }

    /// Runs `f` with the loaded embedding model.
    pub fn with_embedding_model<R>(&self, f: impl FnOnce(&mut EmbeddingModel) -> R) -> Result<R, EngineError> {
        let mut guard = lock(&self.embedding);
        let model = guard.as_mut().ok_or(EngineError::NotLoaded("embedding"))?;
        Ok(f(model))
    }
}
