//! The settings domain: one [`Settings`] struct (onyx_engine::settings), persisted with
//! tauri-plugin-store as `settings.json` in the app data folder, under the single key
//! [`STORE_KEY`].
//!
//! Loading never stops the app. The file is read here before the store plugin sees it, because
//! the plugin silently starts empty on a file it cannot parse and would later save over it:
//! - no file: the defaults (a first run), nothing to say;
//! - a file that is not settings at all (not JSON, no `settings` object): moved aside with
//!   [`quarantine`], the defaults used, and a notice naming both files;
//! - settings with some bad fields: each bad field takes its default (the engine's
//!   [`Settings::from_json`] says which and why); the original is moved aside too, so the values
//!   the user had are not lost, and the repaired settings are written in its place.
//!
//! Saving validates first and reports every problem at once (`invalid_settings`); applying a
//! change to the loaded models is the models domain's job (`ModelsState::apply`, called by the
//! `settings_set` command).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use onyx_engine::settings::{SettingProblem, Settings, SettingsError, quarantine};
use onyx_runtime::RuntimeConfig;
use serde_json::Value;
use tauri::{AppHandle, Wry};
use tauri_plugin_store::{Store, StoreExt};

use crate::error::Error;
use crate::notices::Notices;

/// The store file, relative to the app data folder (the plugin resolves it there).
pub const STORE_FILE: &str = "settings.json";
/// The one key the settings live under in the store.
pub const STORE_KEY: &str = "settings";

/// The settings in use, and where they are saved. Cheap to clone.
#[derive(Clone)]
pub struct SettingsState {
    inner: Arc<Inner>,
}

struct Inner {
    current: Mutex<Settings>,
    /// `None` in tests: nothing is persisted.
    store: Option<Arc<Store<Wry>>>,
    path: PathBuf,
}

/// How commands receive the settings.
pub type SettingsHandle<'a> = tauri::State<'a, SettingsState>;

impl std::fmt::Debug for SettingsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsState").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

/// What reading the settings file gave.
#[derive(Debug, PartialEq)]
pub struct LoadedFile {
    /// Valid settings.
    pub settings: Settings,
    /// One line per repair, for the user.
    pub notices: Vec<String>,
    /// The file should be written again (it was repaired, upgraded or moved aside).
    pub rewrite: bool,
}

/// Reads the store file at `path` (see the module docs for what happens to bad files).
pub fn read_store_file(path: &Path) -> LoadedFile {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return LoadedFile { settings: Settings::default(), notices: Vec::new(), rewrite: false };
        }
        Err(error) => return discard(path, &format!("it cannot be read ({error})")),
    };
    let value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut object)) => match object.remove(STORE_KEY) {
            Some(value) => value,
            None => return discard(path, &format!("it has no \"{STORE_KEY}\" entry")),
        },
        Ok(other) => return discard(path, &format!("it holds {} instead of an object", kind_of(&other))),
        Err(error) => return discard(path, &format!("it is not valid JSON ({error})")),
    };
    let loaded = Settings::from_json(value);
    if loaded.discarded {
        let why = loaded.notices.join("; ");
        return discard(path, &why);
    }
    // The upgrade notice is not a repair: nothing the user wrote was dropped.
    let repaired = loaded.notices.len() > usize::from(loaded.migrated_from.is_some());
    let mut notices: Vec<String> =
        loaded.notices.into_iter().map(|notice| format!("Settings file {}: {notice}", path.display())).collect();
    if repaired {
        match quarantine(path) {
            Ok(moved) => notices.push(format!("The original settings were kept as {}.", moved.display())),
            Err(error) => notices.push(format!("The original settings could not be kept ({error}).")),
        }
    }
    LoadedFile { settings: loaded.settings, notices, rewrite: repaired || loaded.migrated_from.is_some() }
}

/// The defaults, with the unusable file moved aside.
fn discard(path: &Path, why: &str) -> LoadedFile {
    let kept = match quarantine(path) {
        Ok(moved) => format!("it was moved to {}", moved.display()),
        Err(error) => format!("it could not be moved aside ({error})"),
    };
    LoadedFile {
        settings: Settings::default(),
        notices: vec![format!(
            "The settings file {} was not usable: {why}; {kept}, and the defaults are in use.",
            path.display()
        )],
        rewrite: true,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the settings sent by the UI: typed, then validated, every problem at once. A value of
/// the wrong type (a UI bug rather than a user's choice) is reported the same way.
pub fn parse_new(value: Value) -> Result<Settings, Error> {
    let settings: Settings = serde_json::from_value(value).map_err(|error| {
        Error::InvalidSettings(SettingsError {
            problems: vec![SettingProblem { field: STORE_KEY.into(), message: error.to_string() }],
        })
    })?;
    settings.validate()?;
    Ok(settings)
}

/// Where ONNX Runtime is loaded from, as the settings say.
pub fn runtime_config(settings: &Settings) -> RuntimeConfig {
    RuntimeConfig {
        library_path: settings.runtime_library.clone(),
        plugin_dir: settings.plugin_dir.clone(),
        npu_stand_in: None,
    }
}

impl SettingsState {
    /// Loads the settings for the app (see the module docs), telling `notices` what was repaired.
    pub fn load(app: &AppHandle, notices: &Notices) -> Result<Self, Error> {
        let path = tauri_plugin_store::resolve_store_path(app, STORE_FILE)
            .map_err(|error| Error::Storage(format!("cannot find the app data folder for {STORE_FILE}: {error}")))?;
        let loaded = read_store_file(&path);
        for notice in &loaded.notices {
            notices.push(notice.clone());
        }
        // Saved explicitly, right after each change: the debounced auto-save could lose the last
        // change when the app quits.
        let store =
            app.store_builder(STORE_FILE).disable_auto_save().build().map_err(|error| {
                Error::Storage(format!("cannot open the settings file {}: {error}", path.display()))
            })?;
        let state =
            SettingsState { inner: Arc::new(Inner { current: Mutex::new(loaded.settings), store: Some(store), path }) };
        if loaded.rewrite {
            let settings = state.current();
            if let Err(error) = state.save(&settings) {
                notices.push(error.to_string());
            }
        }
        Ok(state)
    }

    /// In-memory settings that are never saved (tests).
    #[cfg(test)]
    pub fn in_memory(settings: Settings) -> Self {
        SettingsState {
            inner: Arc::new(Inner { current: Mutex::new(settings), store: None, path: PathBuf::from(STORE_FILE) }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Settings> {
        // Replaced whole under the lock, so never half-written.
        self.inner.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The settings in use.
    pub fn current(&self) -> Settings {
        self.lock().clone()
    }

    fn save(&self, settings: &Settings) -> Result<(), Error> {
        let Some(store) = &self.inner.store else { return Ok(()) };
        store.set(STORE_KEY, settings.to_json());
        store.save().map_err(|error| {
            Error::Storage(format!("cannot save the settings file {}: {error}", self.inner.path.display()))
        })
    }

    /// Validates, saves and swaps in new settings, returning the previous ones. Nothing changes
    /// when validation or saving fails.
    pub fn replace(&self, value: Value) -> Result<(Settings, Settings), Error> {
        let new = parse_new(value)?;
        let mut current = self.lock();
        self.save(&new)?;
        let old = std::mem::replace(&mut *current, new.clone());
        Ok((old, new))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join(STORE_FILE);
        std::fs::write(&path, text).expect("write the settings file");
        path
    }

    fn moved_aside(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list the folder")
            .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|name| name.starts_with("settings.json.corrupt-"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_missing_file_is_a_first_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let loaded = read_store_file(&dir.path().join(STORE_FILE));
        assert_eq!(loaded, LoadedFile { settings: Settings::default(), notices: Vec::new(), rewrite: false });
    }

    #[test]
    fn saved_settings_load_back_unchanged_and_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings { temperature: 0.2, chat_model: "qwen".into(), ..Settings::default() };
        let path = write(dir.path(), &json!({ "settings": settings.to_json() }).to_string());
        let loaded = read_store_file(&path);
        assert_eq!(loaded, LoadedFile { settings, notices: Vec::new(), rewrite: false });
        assert!(path.is_file() && moved_aside(dir.path()).is_empty());
    }

    #[test]
    fn garbage_gives_the_defaults_and_is_kept_aside() {
        for (text, why) in [
            ("{not json", "is not valid JSON"),
            ("[1, 2]", "holds an array instead of an object"),
            (r#"{"theme": "dark"}"#, "has no \"settings\" entry"),
            (r#"{"settings": 42}"#, "settings must be a JSON object, not a number"),
        ] {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = write(dir.path(), text);
            let loaded = read_store_file(&path);
            assert_eq!(loaded.settings, Settings::default(), "{text}");
            assert!(loaded.rewrite);
            assert_eq!(loaded.notices.len(), 1, "{:?}", loaded.notices);
            assert!(loaded.notices[0].contains(why), "{text}: {:?}", loaded.notices);
            assert!(loaded.notices[0].contains("was moved to"), "{:?}", loaded.notices);
            assert!(!path.exists(), "the bad file was moved away");
            let kept = moved_aside(dir.path());
            assert_eq!(kept.len(), 1);
            assert_eq!(std::fs::read_to_string(dir.path().join(&kept[0])).ok().as_deref(), Some(text));
        }
    }

    #[test]
    fn a_bad_field_costs_only_itself_and_the_original_is_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = json!({"settings": {"version": 1, "temperature": 9, "topK": 7}}).to_string();
        let path = write(dir.path(), &text);
        let loaded = read_store_file(&path);
        assert_eq!(loaded.settings, Settings { top_k: 7, ..Settings::default() });
        assert!(loaded.rewrite);
        assert!(loaded.notices[0].ends_with("temperature: 9 is outside 0..=2; using 0.7"), "{:?}", loaded.notices);
        assert!(loaded.notices[1].starts_with("The original settings were kept as"), "{:?}", loaded.notices);
        assert_eq!(moved_aside(dir.path()).len(), 1);
    }

    #[test]
    fn an_older_layout_is_upgraded_without_moving_anything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(dir.path(), &json!({"settings": {"model": "qwen"}}).to_string());
        let loaded = read_store_file(&path);
        assert_eq!(loaded.settings.chat_model, "qwen");
        assert!(loaded.rewrite);
        assert_eq!(loaded.notices.len(), 1, "{:?}", loaded.notices);
        assert!(moved_aside(dir.path()).is_empty());
    }

    #[test]
    fn new_settings_are_validated_all_at_once() {
        let mut value = Settings::default().to_json();
        value["temperature"] = json!(5);
        value["documents"]["topK"] = json!(0);
        let error = parse_new(value).expect_err("two problems");
        assert_eq!(error.code(), "invalid_settings");
        assert_eq!(
            error.to_string(),
            "invalid settings: temperature: 5 is outside 0..=2; documents.topK: 0 is outside 1..=20"
        );
        let wrong_type = parse_new(json!({"temperature": "hot"})).expect_err("a string");
        assert!(wrong_type.to_string().starts_with("invalid settings: settings: invalid type"), "{wrong_type}");
    }

    #[test]
    fn replace_keeps_the_old_settings_when_the_new_ones_are_invalid() {
        let state = SettingsState::in_memory(Settings::default());
        let mut bad = Settings::default().to_json();
        bad["maxTokens"] = json!(0);
        assert!(state.replace(bad).is_err());
        assert_eq!(state.current(), Settings::default());
        let mut good = Settings::default().to_json();
        good["provider"] = json!("cpu");
        let (old, new) = state.replace(good).expect("valid settings");
        assert_eq!((old.provider.as_str(), new.provider.as_str()), ("auto", "cpu"));
        assert_eq!(state.current().provider, "cpu");
    }
}
