//! Cancellation that reaches into a running ORT call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
        Ok(Self { inner: Arc::new(Inner { cancelled: AtomicBool::new(false), run_options }) })
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

    /// The run options every ORT call of a cancellable task uses.
    pub(crate) fn run_options(&self) -> &RunOptions {
        &self.inner.run_options
    }
}
