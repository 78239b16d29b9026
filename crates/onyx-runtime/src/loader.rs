//! Finding and loading the ONNX Runtime shared library, and registering EP plugin libraries.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use ts_rs::TS;

use crate::attempt::LibraryAttempt;
use crate::device::{self, DeviceInfo};
use crate::error::RuntimeError;
use crate::ffi::c_str_lossy;
use crate::options::SessionDefaults;

/// Where to look for ONNX Runtime and its plugins. Everything is optional: the defaults find the
/// libraries that `scripts/setup.sh` put in the repository's `runtime/` folder, or the ones
/// bundled next to the executable.
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfig {
    /// The runtime library file, or a folder holding it (a setting or a command-line flag).
    pub library_path: Option<PathBuf>,
    /// An extra folder to search for EP plugin libraries.
    pub plugin_dir: Option<PathBuf>,
    /// An EP whose devices are reported as NPUs whatever their hardware is. Machines without an
    /// NPU use it to drive the NPU code paths for real: tests name the ggml plugin EP, a CPU
    /// plugin that runs the npu graphs, as the stand-in NPU.
    pub npu_stand_in: Option<String>,
}

/// The ONNX Runtime library in use.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedLibrary {
    /// The file that was loaded.
    pub path: PathBuf,
    /// ORT's own version string, e.g. `1.32.0`.
    pub version: String,
    /// Locations tried before this one, with why they were passed over.
    pub skipped: Vec<LibraryAttempt>,
}

/// Whether an EP plugin library was registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PluginState {
    /// Registered; its devices are listed with the others.
    Registered,
    /// Not registered; the runtime keeps working without it.
    Failed,
}

/// An EP plugin library found on disk and what happened when registering it.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "PluginLibrary")]
#[serde(rename_all = "camelCase")]
pub struct PluginStatus {
    /// The name it was registered under (e.g. `QNNExecutionProvider`).
    pub ep_name: String,
    /// The library file.
    pub path: PathBuf,
    /// Registered or failed.
    pub status: PluginState,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How many devices it added to ORT's list. A plugin can register fine and still offer
    /// nothing: OpenVINO's only serves Intel hardware, QNN's only Qualcomm NPUs.
    pub device_count: usize,
}

/// Plugin libraries Onyx knows, by file name, and the name each is registered under.
///
/// The QNN name must be `QNNExecutionProvider`: QNN's own documentation and option prefixes use
/// it. The others only need to be unique per library.
const KNOWN_PLUGINS: &[(&str, &str)] = &[
    ("onnxruntime_providers_qnn.dll", "QNNExecutionProvider"),
    ("libonnxruntime_providers_qnn.so", "QNNExecutionProvider"),
    ("onnxruntime_providers_openvino_plugin.dll", "OpenVINOExecutionProvider"),
    ("libonnxruntime_providers_openvino_plugin.so", "OpenVINOExecutionProvider"),
    ("onnxruntime_providers_webgpu.dll", "WebGpuExecutionProvider"),
    ("libonnxruntime_providers_webgpu.so", "WebGpuExecutionProvider"),
    ("libonnxruntime_providers_webgpu.dylib", "WebGpuExecutionProvider"),
    ("onnxruntime_ggml.dll", "ggml"),
    ("libonnxruntime_ggml.so", "ggml"),
    ("libonnxruntime_ggml.dylib", "ggml"),
];

/// The process-wide ONNX Runtime: the loaded library, its environment, plugins and devices.
pub struct Runtime {
    pub(crate) env: ort::environment::Environment,
    library: LoadedLibrary,
    plugins: Vec<PluginStatus>,
    devices: Vec<DeviceInfo>,
    /// What every session gets unless its request says otherwise (the user's QNN options and
    /// compile cache); changed when the settings change.
    defaults: std::sync::RwLock<SessionDefaults>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Serializes first-time initialisation: ORT's loader and environment are process globals.
static INIT_LOCK: Mutex<()> = Mutex::new(());

impl Runtime {
    /// Loads ONNX Runtime (once per process) and registers the plugins found.
    ///
    /// ORT cannot be unloaded and allows a single environment, so after the first success every
    /// call returns the same runtime and `config` is ignored; a changed library path takes effect
    /// at the next start. A failed attempt leaves nothing behind, so it can be retried with a
    /// corrected config.
    pub fn init(config: &RuntimeConfig) -> Result<&'static Runtime, RuntimeError> {
        if let Some(runtime) = RUNTIME.get() {
            return Ok(runtime);
        }
        // A poisoned lock only means another thread panicked mid-init; the state it guards
        // (`RUNTIME`) is still consistent, so carry on.
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = RUNTIME.get() {
            return Ok(runtime);
        }
        let runtime = Self::load(config)?;
        Ok(RUNTIME.get_or_init(|| runtime))
    }

    /// Sets what every later session gets unless its request says otherwise: the app and the
    /// CLI pass the user's QNN options and compile cache folder here.
    pub fn set_session_defaults(&self, defaults: SessionDefaults) {
        *self.defaults.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = defaults;
    }

    /// What [`Runtime::set_session_defaults`] last set.
    pub fn session_defaults(&self) -> SessionDefaults {
        self.defaults.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The runtime if [`Runtime::init`] has succeeded in this process.
    pub fn get() -> Option<&'static Runtime> {
        RUNTIME.get()
    }

    fn load(config: &RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let mut skipped = Vec::new();
        let mut loaded = None;
        for path in library_candidates(config) {
            match try_load(&path) {
                Ok(version) => {
                    loaded = Some((path, version));
                    break;
                }
                Err(reason) => skipped.push(LibraryAttempt { path, reason }),
            }
        }
        let Some((path, version)) = loaded else {
            return Err(RuntimeError::NotFound { tried: skipped });
        };

        let env = ort::init()
            .with_name("onyx")
            .with_telemetry(false)
            .build()
            .map_err(|e| RuntimeError::Environment { path: path.clone(), reason: e.to_string() })?;
        // ORT's default logger writes warnings to stderr, which would garble `--json` output and
        // the terminal chat. Errors still come back to us as statuses.
        env.set_log_level(ort::logging::LogLevel::Error);

        let plugins = register_plugins(&env, &plugin_dirs(config, &path));
        let devices = device::list(&env, config.npu_stand_in.as_deref());
        Ok(Runtime {
            env,
            library: LoadedLibrary { path, version, skipped },
            plugins,
            devices,
            defaults: std::sync::RwLock::new(SessionDefaults::default()),
        })
    }

    /// The library in use.
    pub fn library(&self) -> &LoadedLibrary {
        &self.library
    }

    /// Every plugin library found, registered or not.
    pub fn plugins(&self) -> &[PluginStatus] {
        &self.plugins
    }

    /// Devices ORT discovered across the CPU EP and every registered plugin, in ORT's order.
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }
}

/// The platform's file name for ONNX Runtime.
fn library_file_names() -> &'static [&'static str] {
    if cfg!(windows) {
        &["onnxruntime.dll"]
    } else if cfg!(target_os = "macos") {
        &["libonnxruntime.dylib"]
    } else {
        &["libonnxruntime.so", "libonnxruntime.so.1"]
    }
}

/// Candidate library files in search order: the explicit path, `ORT_DYLIB_PATH`, `ONYX_RUNTIME`,
/// next to the executable, then the repository's `runtime/` folder.
fn library_candidates(config: &RuntimeConfig) -> Vec<PathBuf> {
    let mut dirs_or_files: Vec<PathBuf> = Vec::new();
    if let Some(path) = &config.library_path {
        dirs_or_files.push(path.clone());
    }
    for var in ["ORT_DYLIB_PATH", "ONYX_RUNTIME"] {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            dirs_or_files.push(PathBuf::from(value));
        }
    }
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        dirs_or_files.push(exe_dir);
    }
    if let Some(runtime_dir) = repository_runtime_dir() {
        dirs_or_files.push(runtime_dir);
    }

    let mut candidates = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in dirs_or_files {
        // A folder means "the runtime library inside it"; anything else is taken as the file
        // itself, so a missing or misspelled file is reported under its own name.
        let files: Vec<PathBuf> = if entry.is_dir() {
            library_file_names().iter().map(|name| entry.join(name)).collect()
        } else {
            vec![entry]
        };
        for file in files {
            if seen.insert(file.clone()) {
                candidates.push(file);
            }
        }
    }
    candidates
}

/// The Onyx repository this program runs from, if any: found by walking up from the working
/// directory and from the executable (so `target/debug/onyx` finds it wherever it is started
/// from). Its `runtime/` and `models/` folders are the defaults when nothing else is configured.
pub fn repository_root() -> Option<PathBuf> {
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    starts.into_iter().flatten().find_map(|start| {
        start.ancestors().find(|dir| dir.join("scripts").join("setup.sh").is_file()).map(Path::to_path_buf)
    })
}

/// The repository's `runtime/` folder, once setup has made it.
pub(crate) fn repository_runtime_dir() -> Option<PathBuf> {
    repository_root().map(|root| root.join("runtime")).filter(|dir| dir.is_dir())
}

/// Loads one candidate, returning ORT's version string or why it was rejected.
fn try_load(path: &Path) -> Result<String, String> {
    if !path.exists() {
        return Err("not found".into());
    }
    if path.is_dir() {
        return Err("is a folder, not a library file".into());
    }
    // Open it ourselves first: `ort` reports a failed dlopen as just "dlopen failed", while the
    // loader's own message says what is wrong ("invalid ELF header", a missing dependency, ...).
    // SAFETY: loading a library runs its initialisers; this is the library the user pointed us
    // at as ONNX Runtime, which we are about to load anyway.
    if let Err(e) = unsafe { libloading::Library::new(path) } {
        return Err(error_chain(&e));
    }
    // `init_from` checks that the file exports ORT's API and is at least the version our `ort`
    // binding was built for.
    ort::init_from(path).map_err(|e| e.to_string())?;
    runtime_version(path)
}

/// An error and its sources on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// ORT's own version string (`OrtApiBase::GetVersionString`). `ort` exposes only the build-info
/// string, whose format varies between builds, so ask the library directly.
fn runtime_version(path: &Path) -> Result<String, String> {
    // SAFETY: the library was just loaded successfully by `ort::init_from`, so opening it again
    // only bumps its reference count and runs no initialisers; `OrtGetApiBase` has this signature
    // in every ORT release, and the version string is static.
    unsafe {
        let library = libloading::Library::new(path).map_err(|e| e.to_string())?;
        let get_api_base: libloading::Symbol<'_, unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            library.get(b"OrtGetApiBase").map_err(|e| e.to_string())?;
        let base = get_api_base();
        if base.is_null() {
            return Err("OrtGetApiBase returned null".into());
        }
        Ok(c_str_lossy(((*base).GetVersionString)()))
    }
}

/// Folders searched for plugin libraries: the configured one, then the runtime library's folder
/// and its immediate sub-folders (setup puts each plugin in its own, next to its dependencies).
fn plugin_dirs(config: &RuntimeConfig, library: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = &config.plugin_dir {
        // ORT resolves a relative library path against its own folder, not the working
        // directory the user typed it in: `--plugin-dir runtime/x` would name `runtime/runtime/x`.
        dirs.push(std::path::absolute(dir).unwrap_or_else(|_| dir.clone()));
    }
    if let Some(lib_dir) = library.parent() {
        dirs.push(lib_dir.to_path_buf());
        if let Ok(entries) = std::fs::read_dir(lib_dir) {
            let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
            subdirs.sort();
            dirs.extend(subdirs);
        }
    }
    if let Some(runtime_dir) = repository_runtime_dir().filter(|dir| !dirs.contains(dir)) {
        dirs.push(runtime_dir);
    }
    dirs
}

/// Finds the known plugin libraries in `dirs` and registers each EP once. Failures are reported,
/// never fatal: a broken plugin must not take the CPU path down with it.
fn register_plugins(env: &ort::environment::Environment, dirs: &[PathBuf]) -> Vec<PluginStatus> {
    let mut statuses: Vec<PluginStatus> = Vec::new();
    let mut seen_files = BTreeSet::new();
    for dir in dirs {
        if let Err(e) = std::fs::read_dir(dir) {
            // Only a configured folder can be missing (the others were listed from disk); say so
            // rather than silently finding no plugins there.
            statuses.push(PluginStatus {
                ep_name: String::new(),
                path: dir.clone(),
                status: PluginState::Failed,
                error: Some(format!("cannot read plugin folder: {e}")),
                device_count: 0,
            });
            continue;
        }
        for (file_name, ep_name) in KNOWN_PLUGINS {
            let path = dir.join(file_name);
            if !path.is_file() {
                continue;
            }
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen_files.insert(canonical) {
                continue;
            }
            let already = statuses.iter().find(|s| s.ep_name == *ep_name && s.status == PluginState::Registered);
            let devices_before = env.devices().count();
            let (status, error) = if let Some(first) = already {
                (PluginState::Failed, Some(format!("{ep_name} is already registered from {}", first.path.display())))
            } else {
                match env.register_ep_library(*ep_name, &path) {
                    Ok(()) => (PluginState::Registered, None),
                    Err(e) => (PluginState::Failed, Some(e.message().to_owned())),
                }
            };
            let device_count = env.devices().count().saturating_sub(devices_before);
            statuses.push(PluginStatus { ep_name: (*ep_name).to_owned(), path, status, error, device_count });
        }
    }
    statuses
}
