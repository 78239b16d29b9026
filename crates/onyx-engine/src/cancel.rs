//! Cancellation that reaches into a running ORT call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use onyx_runtime::ort::session::RunOptions;

/// A cheap, clonable cancel switch. Tripping it stops generation before the next step and
/// terminates an ORT run already in flight.
#[derive(Clone)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

struct Inner {
    cancelled: AtomicBool,
    run_options: RunOptions,
    /// ORT runs started under this token: lets a caller (a test) cancel a run it knows is in
    /// flight, instead of guessing with a sleep.
    runs_started: AtomicUsize,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

impl CancelToken {
    /// A fresh token. Needs ONNX Runtime loaded (the run options are ORT objects).
    pub fn new() -> Result<Self, crate::EngineError> {
        let run_options = RunOptions::new()
            .map_err(|e| crate::EngineError::Inference { provider: "-".into(), message: e.to_string() })?;
        let inner = Inner { cancelled: AtomicBool::new(false), run_options, runs_started: AtomicUsize::new(0) };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Trips the switch: the next step does not start, and a running one is terminated.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        // Best effort: if terminate fails, the flag still stops the loop at the next step.
        let _ = self.inner.run_options.terminate();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// How many ORT runs have started under this token.
    pub fn runs_started(&self) -> usize {
        self.inner.runs_started.load(Ordering::SeqCst)
    }

    /// The run options every ORT call of a cancellable task uses, taken right before the call:
    /// a run counts as started from here.
    pub(crate) fn run_options(&self) -> &RunOptions {
        self.inner.runs_started.fetch_add(1, Ordering::SeqCst);
        &self.inner.run_options
    }
}
