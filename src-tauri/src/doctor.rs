//! The doctor domain of the shell: the state it needs and the off-main-thread call into
//! `onyx_runtime::doctor`. Tauri-specific glue lives here so that commands.rs stays one line per
//! command and the runtime crate never learns about Tauri.

use std::sync::{Arc, Mutex};

use onyx_runtime::RuntimeConfig;
use onyx_runtime::doctor::{self, DoctorReport};

use crate::error::{Error, MAX_PROVIDER_LEN};

/// What the doctor needs across calls. Cheap to clone: the probe model is shared, not copied.
#[derive(Clone, Debug)]
pub struct DoctorState {
    config: RuntimeConfig,
    /// Built once: every run probes the same tiny model, and building it is pure CPU work.
    probe_model: Arc<[u8]>,
    /// Serializes runs. Each one may load ORT and compile a session; on a 2-core laptop
    /// overlapping runs only slow each other down, and the UI shows only the newest anyway.
    running: Arc<Mutex<()>>,
}

/// How commands receive the doctor state.
pub type DoctorStateHandle<'a> = tauri::State<'a, DoctorState>;

impl DoctorState {
    /// State for the given runtime configuration, with the probe model built.
    pub fn new(config: RuntimeConfig) -> Self {
        Self { config, probe_model: onyx_convert::probe::probe_model().into(), running: Arc::new(Mutex::new(())) }
    }

    /// Runs the doctor with `provider` on a blocking worker thread: loading ONNX Runtime and
    /// building the probe session take long enough to freeze the window if done on the main
    /// thread or on an async worker.
    pub async fn report(&self, provider: String) -> Result<DoctorReport, Error> {
        let provider = validate_provider(provider)?;
        let state = self.clone();
        tauri::async_runtime::spawn_blocking(move || {
            // A run that panicked poisons the lock but leaves nothing half-written behind it:
            // the report is built fresh each time, so the next run may go ahead.
            let _turn = state.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            doctor::run(&state.config, &provider, Some(&state.probe_model))
        })
        .await
        .map_err(Error::worker("system check"))
    }
}

/// Rejects text no selector could have produced (the IPC boundary is where untrusted input
/// enters). Anything else is passed on: the runtime decides which EP names exist, and reports an
/// unknown one inside the report.
fn validate_provider(provider: String) -> Result<String, Error> {
    let trimmed = provider.trim();
    let plausible = trimmed.chars().count() <= MAX_PROVIDER_LEN && !trimmed.chars().any(char::is_control);
    if plausible { Ok(trimmed.to_owned()) } else { Err(Error::InvalidProvider { choice: provider }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_ep_names_are_accepted() {
        for choice in ["auto", "npu", "gpu", "cpu", "OpenVINOExecutionProvider.AUTO", "QNN#2"] {
            assert!(matches!(validate_provider(choice.into()), Ok(ref kept) if kept == choice));
        }
    }

    #[test]
    fn surrounding_whitespace_is_dropped_and_empty_means_the_runtime_default() {
        assert!(matches!(validate_provider("  gpu ".into()), Ok(ref kept) if kept == "gpu"));
        assert!(matches!(validate_provider(String::new()), Ok(ref kept) if kept.is_empty()));
    }

    #[test]
    fn control_characters_and_overlong_names_are_rejected() {
        assert!(matches!(validate_provider("cpu\u{0}".into()), Err(Error::InvalidProvider { .. })));
        assert!(matches!(validate_provider("x".repeat(MAX_PROVIDER_LEN + 1)), Err(Error::InvalidProvider { .. })));
    }
}
