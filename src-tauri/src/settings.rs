//! The settings domain: one [`Settings`] struct (onyx_engine::settings), persisted with
//! tauri-plugin-store as `settings.json` in the app data folder, under the single key
//! [`SETTINGS_KEY`].
//!
//! Loading never stops the app. The file is read (and repaired: see onyx_engine::app_data) before
//! the store plugin sees it, because the plugin silently starts empty on a file it cannot parse
//! and would later save over it; the notices go to the user, and repaired settings are written
//! back at once.
//!
//! Saving validates first and reports every problem at once (`invalid_settings`); applying a
//! change to the loaded models is the models domain's job (`ModelsState::apply`, called by the
//! `settings_set` command).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use onyx_engine::app_data::{Repair, SETTINGS_FILE, SETTINGS_KEY, read_settings_file};
use onyx_engine::settings::{SettingProblem, Settings, SettingsError};
use onyx_runtime::RuntimeConfig;
use serde_json::Value;
use tauri::{AppHandle, Wry};
use tauri_plugin_store::{Store, StoreExt};

use crate::error::Error;
use crate::notices::Notices;

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

/// Reads the settings sent by the UI: typed, then validated, every problem at once. A value of
/// the wrong type (a UI bug rather than a user's choice) is reported the same way.
pub fn parse_new(value: Value) -> Result<Settings, Error> {
    let settings: Settings = serde_json::from_value(value).map_err(|error| {
        Error::InvalidSettings(SettingsError {
            problems: vec![SettingProblem { field: SETTINGS_KEY.into(), message: error.to_string() }],
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
        let path = tauri_plugin_store::resolve_store_path(app, SETTINGS_FILE)
            .map_err(|error| Error::Storage(format!("cannot find the app data folder for {SETTINGS_FILE}: {error}")))?;
        let loaded = read_settings_file(&path, Repair::MoveAside);
        for notice in &loaded.notices {
            notices.push(notice.clone());
        }
        // Saved explicitly, right after each change: the debounced auto-save could lose the last
        // change when the app quits.
        let store =
            app.store_builder(SETTINGS_FILE).disable_auto_save().build().map_err(|error| {
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
            inner: Arc::new(Inner { current: Mutex::new(settings), store: None, path: PathBuf::from(SETTINGS_FILE) }),
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
        store.set(SETTINGS_KEY, settings.to_json());
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
