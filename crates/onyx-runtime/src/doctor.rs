//! `onyx doctor`: everything a user (or a bug report) needs to know about where models can run.
//!
//! The report never fails as a whole: a missing runtime or a broken plugin is a finding, written
//! into the report with its reason, so the app's first window and the CLI can always show it.

use serde::Serialize;
use ts_rs::TS;

use crate::attempt::{Attempt, LibraryAttempt};
use crate::device::DeviceInfo;
use crate::loader::{PluginStatus, Runtime, RuntimeConfig};
use crate::provider::{ActiveProvider, ProviderChoice};
use crate::session::{ModelSource, SessionRequest};
use crate::{ProviderError, RuntimeError};

/// The runtime library: loaded, or every place tried.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum RuntimeStatus {
    /// ORT is loaded.
    #[serde(rename_all = "camelCase")]
    Loaded {
        /// The library file.
        path: String,
        /// ORT's version.
        version: String,
        /// Locations passed over before it.
        skipped: Vec<LibraryAttempt>,
    },
    /// ORT could not be loaded.
    #[serde(rename_all = "camelCase")]
    Failed {
        /// One-line error.
        error: String,
        /// Every location tried.
        tried: Vec<LibraryAttempt>,
    },
}

/// The outcome of resolving the requested provider on the probe model.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "ProviderResolution")]
#[serde(rename_all = "camelCase")]
pub struct ProviderCheck {
    /// What was asked for.
    pub requested: String,
    /// Where the probe model ended up running, if anywhere.
    pub active: Option<ActiveProvider>,
    /// Devices tried and passed over (also inside `active` when one succeeded).
    pub tried: Vec<Attempt>,
    /// Why no provider could be used, if none could.
    pub error: Option<String>,
}

/// The whole doctor report.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    /// The runtime library.
    pub runtime: RuntimeStatus,
    /// EP plugin libraries found.
    pub plugins: Vec<PluginStatus>,
    /// Devices discovered.
    pub devices: Vec<DeviceInfo>,
    /// The provider check (absent when no probe model was given or ORT did not load).
    pub provider: Option<ProviderCheck>,
}

/// Loads the runtime (if not yet loaded), then resolves `requested_provider` by building a real
/// session on `probe_model`, so the report shows where a model actually runs, not a guess.
pub fn run(config: &RuntimeConfig, requested_provider: &str, probe_model: Option<&[u8]>) -> DoctorReport {
    run_with_strictness(config, requested_provider, false, probe_model)
}

/// [`run`], with strict mode: the probe must run entirely on the requested provider.
pub fn run_with_strictness(
    config: &RuntimeConfig,
    requested_provider: &str,
    strict: bool,
    probe_model: Option<&[u8]>,
) -> DoctorReport {
    let runtime = match Runtime::init(config) {
        Ok(runtime) => runtime,
        Err(error) => {
            let tried = match &error {
                RuntimeError::NotFound { tried } => tried.clone(),
                RuntimeError::Environment { .. } => Vec::new(),
            };
            return DoctorReport {
                runtime: RuntimeStatus::Failed { error: error.to_string(), tried },
                plugins: Vec::new(),
                devices: Vec::new(),
                provider: None,
            };
        }
    };
    let library = runtime.library();
    let provider = probe_model.map(|model| {
        let choice = ProviderChoice::parse(requested_provider);
        let mut request = SessionRequest::new(ModelSource::Bytes(model), choice.clone());
        request.strict = strict;
        match runtime.build_session(&request) {
            Ok(built) => ProviderCheck {
                requested: choice.to_string(),
                tried: built.provider.tried.clone(),
                active: Some(built.provider),
                error: None,
            },
            Err(error) => {
                let tried = match &error {
                    ProviderError::AllFailed { tried, .. } => tried.clone(),
                    _ => Vec::new(),
                };
                ProviderCheck { requested: choice.to_string(), active: None, tried, error: Some(error.to_string()) }
            }
        }
    });
    DoctorReport {
        runtime: RuntimeStatus::Loaded {
            path: library.path.display().to_string(),
            version: library.version.clone(),
            skipped: library.skipped.clone(),
        },
        plugins: runtime.plugins().to_vec(),
        devices: runtime.devices().to_vec(),
        provider,
    }
}
