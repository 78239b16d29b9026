//! The models domain: the engine (ONNX Runtime plus the loaded chat and embedding models), what
//! each model is doing (`app_status`), loading on worker threads, the model folders
//! ([`catalog`]) and imports ([`import`]).
//!
//! Loading never blocks the window and never takes the app down: each load runs on a blocking
//! worker, one at a time, announcing itself with `model-loading` and ending with
//! `provider-changed` or `model-error`. A model that fails to load leaves the previous one in
//! place (the engine swaps only on success), so the status can be "ready" with an error beside
//! it; with nothing loaded it is "failed", and chat answers `model_load_failed` until the user
//! picks another model or provider.

pub mod import;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use onyx_engine::Engine;
use onyx_engine::settings::Settings;
use onyx_runtime::{ActiveProvider, DeviceInfo};
use serde::Serialize;
use tauri::AppHandle;
use ts_rs::TS;

use crate::error::{Error, ErrorBody};
use crate::events;
use crate::notices::Notices;
use crate::settings::{SettingsState, runtime_config};
use onyx_convert::manifest::ModelKind;
use onyx_engine::catalog::Catalog;

/// Where a model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum LoadState {
    /// Nothing asked for yet.
    None,
    /// Being loaded (the previous model, if any, still answers).
    Loading,
    /// Loaded and answering.
    Ready,
    /// Could not be loaded, and no earlier model is there to answer instead.
    Failed,
}

/// One model as `app_status` shows it.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ModelStatus {
    /// Where it is.
    pub state: LoadState,
    /// The model's name: the one loaded, or the one being loaded or that failed.
    pub model: String,
    /// Where the loaded model runs.
    pub provider: Option<ActiveProvider>,
    /// The last load's failure, also when an earlier model still answers.
    pub error: Option<ErrorBody>,
    /// When this status was last changed, on a counter shared by every status change and model
    /// event. `app_status` answers and events can reach the window in either order; the window
    /// keeps whichever has the higher revision, so a late answer cannot undo a newer event.
    pub revision: u64,
}

/// What the shell knows about one model slot.
#[derive(Clone, Debug)]
struct Slot {
    status: ModelStatus,
    /// The name of the model the engine holds, if any.
    loaded: Option<String>,
}

impl Slot {
    fn new() -> Self {
        Slot {
            status: ModelStatus {
                state: LoadState::None,
                model: String::new(),
                provider: None,
                error: None,
                revision: 0,
            },
            loaded: None,
        }
    }
}

/// ONNX Runtime loads once per process; until then (or when it cannot) there is no engine.
enum EngineSlot {
    NotStarted,
    Ready(Arc<Engine>),
    Failed(String),
}

/// Which models a load job (re)loads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reload {
    /// The chat model.
    pub chat: bool,
    /// The embedding model.
    pub embedding: bool,
}

impl Reload {
    /// Both models.
    pub const ALL: Reload = Reload { chat: true, embedding: true };

    fn any(self) -> bool {
        self.chat || self.embedding
    }
}

/// What a settings change means for the models: which to reload, and whether the runtime
/// library or plugins changed (which only a restart applies once ONNX Runtime is loaded).
pub fn reloads_for(old: &Settings, new: &Settings) -> (Reload, bool) {
    let runtime_changed = old.runtime_library != new.runtime_library || old.plugin_dir != new.plugin_dir;
    // The NPU options change how sessions are built (and the cache they come from).
    let placement_changed = old.provider != new.provider || old.strict_npu != new.strict_npu || old.npu != new.npu;
    let reload = Reload {
        chat: placement_changed || old.chat_model != new.chat_model,
        embedding: placement_changed || old.embedding_model != new.embedding_model,
    };
    (reload, runtime_changed)
}

/// The models state. Cheap to clone; every clone is the same state.
#[derive(Clone)]
pub struct ModelsState {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppHandle,
    settings: SettingsState,
    notices: Notices,
    catalog: Catalog,
    /// Where compiled NPU models are kept (when the settings keep them).
    compiled_models: PathBuf,
    engine: Mutex<EngineSlot>,
    chat: Mutex<Slot>,
    embedding: Mutex<Slot>,
    /// The last revision given out (see [`ModelStatus::revision`]).
    revision: AtomicU64,
    /// Serializes load jobs: two sessions compiling at once on a 2-core laptop only slow each
    /// other, and each job reads the settings when it starts, so the last one wins.
    loading: Mutex<()>,
}

/// How commands receive the models state.
pub type ModelsHandle<'a> = tauri::State<'a, ModelsState>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every guarded value is replaced whole, so a panic elsewhere never leaves one half-written.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ModelsState {
    /// A state with no engine yet; call [`ModelsState::reload`] to start loading.
    pub fn new(
        app: AppHandle,
        settings: SettingsState,
        notices: Notices,
        catalog: Catalog,
        compiled_models: PathBuf,
    ) -> Self {
        ModelsState {
            inner: Arc::new(Inner {
                app,
                settings,
                notices,
                catalog,
                compiled_models,
                engine: Mutex::new(EngineSlot::NotStarted),
                chat: Mutex::new(Slot::new()),
                embedding: Mutex::new(Slot::new()),
                revision: AtomicU64::new(0),
                loading: Mutex::new(()),
            }),
        }
    }

    /// The model folders.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    fn slot(&self, kind: ModelKind) -> &Mutex<Slot> {
        match kind {
            ModelKind::Chat => &self.inner.chat,
            ModelKind::Embedding => &self.inner.embedding,
        }
    }

    /// Changes the slot of `kind` under its lock and stamps it with a new revision, which the
    /// caller puts on the event that announces the change. Taken under the slot lock, so the
    /// revisions of one slot's changes are in the order the changes happened.
    fn change(&self, kind: ModelKind, apply: impl FnOnce(&mut Slot)) -> u64 {
        let mut slot = lock(self.slot(kind));
        apply(&mut slot);
        let revision = self.inner.revision.fetch_add(1, Ordering::Relaxed) + 1;
        slot.status.revision = revision;
        revision
    }

    /// The chat and embedding statuses.
    pub fn statuses(&self) -> (ModelStatus, ModelStatus) {
        (lock(&self.inner.chat).status.clone(), lock(&self.inner.embedding).status.clone())
    }

    /// The devices ONNX Runtime found, once it is loaded.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        match &*lock(&self.inner.engine) {
            EngineSlot::Ready(engine) => engine.runtime().devices().to_vec(),
            _ => Vec::new(),
        }
    }

    /// The engine, when a model of `kind` is loaded in it; otherwise the error chat or search
    /// should answer with. Never waits for a load or a reply in progress.
    pub fn ready(&self, kind: ModelKind) -> Result<Arc<Engine>, Error> {
        let slot = lock(self.slot(kind)).clone();
        let engine = match &*lock(&self.inner.engine) {
            EngineSlot::Ready(engine) => Some(Arc::clone(engine)),
            _ => None,
        };
        match (engine, slot.loaded) {
            (Some(engine), Some(_)) => Ok(engine),
            _ => Err(match slot.status.state {
                LoadState::Loading => Error::NoModel(format!("the {} model is still loading", kind.as_str())),
                LoadState::Failed => Error::ModelLoadFailed(
                    slot.status
                        .error
                        .map_or_else(|| format!("the {} model failed to load", kind.as_str()), |e| e.message),
                ),
                LoadState::None | LoadState::Ready => {
                    Error::NoModel(format!("no {} model is loaded: pick one in Settings", kind.as_str()))
                }
            }),
        }
    }

    /// A reply moved the chat model to another provider mid-way (the engine's CPU fallback):
    /// the badge follows.
    pub fn provider_moved(&self, provider: ActiveProvider, reason: Option<String>) {
        let mut name = String::new();
        let revision = self.change(ModelKind::Chat, |slot| {
            slot.status.provider = Some(provider.clone());
            name = slot.status.model.clone();
        });
        let payload = events::ProviderChanged { model: ModelKind::Chat, name, provider, reason, revision };
        events::emit(&self.inner.app, events::PROVIDER_CHANGED, payload);
    }

    /// Applies changed settings: reloads what they affect, on a worker.
    pub fn apply(&self, old: &Settings, new: &Settings) {
        let (reload, runtime_changed) = reloads_for(old, new);
        let engine_failed = matches!(*lock(&self.inner.engine), EngineSlot::Failed(_));
        if runtime_changed && engine_failed {
            // ONNX Runtime never loaded, so a corrected path can still be tried now.
            *lock(&self.inner.engine) = EngineSlot::NotStarted;
            self.reload(Reload::ALL, || {});
            return;
        }
        if runtime_changed {
            self.inner
                .notices
                .push("The new ONNX Runtime library or plugin folder takes effect when Onyx is restarted.");
        }
        if reload.any() {
            self.reload(reload, || {});
        }
    }

    /// Loads the models `which` names, as the settings say at the time the job runs, on a
    /// blocking worker; then runs `then` (also when loading failed).
    pub fn reload(&self, which: Reload, then: impl FnOnce() + Send + 'static) {
        let state = self.clone();
        for kind in state.kinds(which) {
            // Shown at once, so the window never shows a stale "ready" while the job waits its turn.
            let name = state.model_name(kind);
            state.change(kind, |slot| {
                slot.status.state = LoadState::Loading;
                slot.status.model = name;
            });
        }
        tauri::async_runtime::spawn_blocking(move || {
            let job = std::panic::AssertUnwindSafe(|| state.load(which));
            if let Err(panic) = std::panic::catch_unwind(job) {
                let message = panic_message(panic.as_ref());
                for kind in state.kinds(which) {
                    state.failed(kind, &Error::ModelLoadFailed(format!("loading stopped unexpectedly: {message}")));
                }
            }
            then();
        });
    }

    fn kinds(&self, which: Reload) -> Vec<ModelKind> {
        let mut kinds = Vec::new();
        if which.chat {
            kinds.push(ModelKind::Chat);
        }
        if which.embedding {
            kinds.push(ModelKind::Embedding);
        }
        kinds
    }

    fn model_name(&self, kind: ModelKind) -> String {
        let settings = self.inner.settings.current();
        match kind {
            ModelKind::Chat => settings.chat_model,
            ModelKind::Embedding => settings.embedding_model,
        }
    }

    /// The load job itself (on a worker).
    fn load(&self, which: Reload) {
        let _turn = lock(&self.inner.loading);
        let settings = self.inner.settings.current();
        let engine = match self.engine_for(&settings) {
            Ok(engine) => engine,
            Err(error) => {
                for kind in self.kinds(which) {
                    self.failed(kind, &error);
                }
                return;
            }
        };
        // Every session of this job is built with the NPU options the settings hold now.
        engine.runtime().set_session_defaults(settings.npu.session_defaults(Some(&self.inner.compiled_models)));
        for kind in self.kinds(which) {
            let name = self.model_name(kind);
            let revision = self.change(kind, |slot| {
                slot.status.state = LoadState::Loading;
                slot.status.model = name.clone();
            });
            events::emit(
                &self.inner.app,
                events::MODEL_LOADING,
                events::ModelLoading { model: kind, name: name.clone(), revision },
            );
            let started = std::time::Instant::now();
            let loaded = self.inner.catalog.resolve(&name).and_then(|dir| {
                let choice = settings.provider_choice();
                let result = match kind {
                    ModelKind::Chat => engine.load_chat(&dir, &choice, settings.strict_npu),
                    ModelKind::Embedding => engine.load_embedding(&dir, &choice, settings.strict_npu),
                };
                result.map_err(|error| error.to_string())
            });
            match loaded {
                Ok(provider) => {
                    let seconds = started.elapsed().as_secs_f64();
                    let (what, place) = (kind.as_str(), provider.summary());
                    eprintln!("onyx-app: {what} model '{name}' ready on {place} ({seconds:.1} s)");
                    if kind == ModelKind::Chat
                        && let Some(steps) = injected_decode_failure()
                    {
                        eprintln!("onyx-app: {FAULT_VARIABLE}={steps}: the chat model will fail after {steps} steps");
                        // Only `NotLoaded` can fail here, and the model was loaded just above.
                        let _ = engine.with_chat_model(|model| model.inject_failure_after(Some(steps)));
                    }
                    let revision = self.change(kind, |slot| {
                        slot.status.state = LoadState::Ready;
                        slot.status.model = name.clone();
                        slot.status.provider = Some(provider.clone());
                        slot.status.error = None;
                        slot.loaded = Some(name.clone());
                    });
                    let payload = events::ProviderChanged { model: kind, name, provider, reason: None, revision };
                    events::emit(&self.inner.app, events::PROVIDER_CHANGED, payload);
                }
                Err(reason) => {
                    let what = kind.as_str();
                    self.failed(
                        kind,
                        &Error::ModelLoadFailed(format!("cannot load the {what} model '{name}': {reason}")),
                    );
                }
            }
        }
    }

    /// The engine, loading ONNX Runtime on first use.
    fn engine_for(&self, settings: &Settings) -> Result<Arc<Engine>, Error> {
        let mut slot = lock(&self.inner.engine);
        match &*slot {
            EngineSlot::Ready(engine) => return Ok(Arc::clone(engine)),
            EngineSlot::Failed(message) => return Err(Error::ModelLoadFailed(message.clone())),
            EngineSlot::NotStarted => {}
        }
        match Engine::new(&runtime_config(settings)) {
            Ok(engine) => {
                let engine = Arc::new(engine);
                *slot = EngineSlot::Ready(Arc::clone(&engine));
                Ok(engine)
            }
            Err(error) => {
                let message = format!(
                    "ONNX Runtime could not be loaded, so no model can run: {error}. Run scripts/setup.sh, or set the runtime library in Settings."
                );
                *slot = EngineSlot::Failed(message.clone());
                Err(Error::ModelLoadFailed(message))
            }
        }
    }

    /// Records a failed load: the previous model keeps answering if there is one.
    fn failed(&self, kind: ModelKind, error: &Error) {
        let body = ErrorBody::from(error);
        let mut still_loaded = None;
        let revision = self.change(kind, |slot| {
            still_loaded.clone_from(&slot.loaded);
            slot.status.error = Some(body.clone());
            match slot.loaded.clone() {
                Some(previous) => {
                    slot.status.state = LoadState::Ready;
                    slot.status.model = previous;
                }
                None => {
                    slot.status.state = LoadState::Failed;
                    slot.status.provider = None;
                }
            }
        });
        eprintln!("onyx-app: {error}");
        let payload = events::ModelError { model: kind, error: body, still_loaded, revision };
        events::emit(&self.inner.app, events::MODEL_ERROR, payload);
    }
}

/// Fault injection for the end-to-end tests: with `ONYX_FAULT_DECODE_FAILURE_AFTER=N` set, every
/// chat model loaded fails on its (N+1)-th decoder step, as a crashing NPU driver would, so the
/// mid-reply fallback to the CPU and the badge following it can be checked on machines without
/// an NPU. Unset (always, outside tests) it does nothing.
const FAULT_VARIABLE: &str = "ONYX_FAULT_DECODE_FAILURE_AFTER";

fn injected_decode_failure() -> Option<usize> {
    let value = std::env::var(FAULT_VARIABLE).ok()?;
    match value.trim().parse() {
        Ok(steps) => Some(steps),
        Err(_) => {
            eprintln!("onyx-app: {FAULT_VARIABLE}={value:?} is not a step count; ignored");
            None
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a worker panicked".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_changes_reload_only_what_they_touch() {
        let base = Settings::default();
        let same = reloads_for(&base, &base.clone());
        assert_eq!(same, (Reload::default(), false));

        let chat = Settings { chat_model: "qwen".into(), ..base.clone() };
        assert_eq!(reloads_for(&base, &chat), (Reload { chat: true, embedding: false }, false));
        let embedding = Settings { embedding_model: "bge".into(), ..base.clone() };
        assert_eq!(reloads_for(&base, &embedding), (Reload { chat: false, embedding: true }, false));
        for placement in
            [Settings { provider: "cpu".into(), ..base.clone() }, Settings { strict_npu: true, ..base.clone() }]
        {
            assert_eq!(reloads_for(&base, &placement), (Reload::ALL, false));
        }
        let runtime = Settings { plugin_dir: Some("/opt/plugins".into()), ..base.clone() };
        assert_eq!(reloads_for(&base, &runtime), (Reload::default(), true));
        // Sampling, prompts and the theme apply to the next reply without a reload.
        let sampling = Settings { temperature: 0.1, system_prompt: "Be brief.".into(), ..base.clone() };
        assert_eq!(reloads_for(&base, &sampling), (Reload::default(), false));
    }

    #[test]
    fn model_status_is_camel_case_with_a_lowercase_state() {
        let status = ModelStatus {
            state: LoadState::Failed,
            model: "smollm2".into(),
            provider: None,
            error: Some(ErrorBody { code: "model_load_failed".into(), message: "gone".into() }),
            revision: 7,
        };
        assert_eq!(
            serde_json::to_value(status).ok(),
            Some(serde_json::json!({
                "state": "failed",
                "model": "smollm2",
                "provider": null,
                "error": {"code": "model_load_failed", "message": "gone"},
                "revision": 7,
            }))
        );
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("formatted")), "formatted");
        assert_eq!(panic_message(&42), "a worker panicked");
    }
}
