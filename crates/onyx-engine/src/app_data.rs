//! Where Onyx keeps its files, the same for every front end: the app data folder (what Tauri's
//! `app_data_dir` resolves to: the platform's data folder, from `dirs`, and [`APP_IDENTIFIER`]),
//! the files in it, and reading the settings file there.
//!
//! The settings file is `settings.json` as tauri-plugin-store writes it: one object with the
//! settings under [`SETTINGS_KEY`]. Reading it never fails:
//! - no file: the defaults (a first run), nothing to say;
//! - a file that is not settings at all (not JSON, no `settings` object): the defaults, and a
//!   notice naming the file; the app ([`Repair::MoveAside`]) moves it aside first with
//!   [`quarantine`];
//! - settings with some bad fields: each bad field takes its default ([`Settings::from_json`]
//!   says which and why); the app keeps the original aside and writes the repaired settings.
//!
//! The CLI reads the same file with [`Repair::LeaveAlone`]: it repairs in memory and tells the
//! user, but never moves or rewrites the app's file.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::settings::{Settings, describe, quarantine};

/// The app's identifier: the name of its data folder. Also `identifier` in tauri.conf.json (a
/// test in the app checks they agree).
pub const APP_IDENTIFIER: &str = "dev.onyx.desktop";
/// The settings file's name in the app data folder.
pub const SETTINGS_FILE: &str = "settings.json";
/// The one key the settings live under in that file.
pub const SETTINGS_KEY: &str = "settings";

/// The app data folder (`~/.local/share/dev.onyx.desktop` on Linux, `%APPDATA%\dev.onyx.desktop`
/// on Windows). `None` when the platform names no data folder.
pub fn data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join(APP_IDENTIFIER))
}

/// The files in the app data folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPaths {
    /// The folder itself.
    pub data_dir: PathBuf,
    /// The settings.
    pub settings_file: PathBuf,
    /// Conversations and their messages (SQLite).
    pub conversations_db: PathBuf,
    /// The document index (SQLite), shared by the app and `onyx index`.
    pub documents_db: PathBuf,
    /// Models the user imported, one folder each.
    pub imported_models: PathBuf,
    /// Compiled NPU models (EP context binaries), so a model compiles once.
    pub compiled_models: PathBuf,
}

impl AppPaths {
    /// The layout inside `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        AppPaths {
            data_dir: data_dir.to_path_buf(),
            settings_file: data_dir.join(SETTINGS_FILE),
            conversations_db: data_dir.join("conversations.sqlite"),
            documents_db: data_dir.join(onyx_docs::DATABASE_FILE),
            imported_models: data_dir.join("models"),
            compiled_models: data_dir.join("compiled"),
        }
    }

    /// The layout inside [`data_dir`].
    pub fn from_platform() -> Option<Self> {
        data_dir().map(|dir| Self::in_dir(&dir))
    }
}

/// What reading a bad settings file may do to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Keep the original aside (the app, which then writes the repaired settings).
    MoveAside,
    /// Touch nothing (the CLI, which only reads the app's file).
    LeaveAlone,
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

/// Reads the settings file at `path` (see the module docs for what happens to bad files).
pub fn read_settings_file(path: &Path, repair: Repair) -> LoadedFile {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return LoadedFile { settings: Settings::default(), notices: Vec::new(), rewrite: false };
        }
        Err(error) => return discard(path, repair, &format!("it cannot be read ({error})")),
    };
    let value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut object)) => match object.remove(SETTINGS_KEY) {
            Some(value) => value,
            None => return discard(path, repair, &format!("it has no \"{SETTINGS_KEY}\" entry")),
        },
        Ok(other) => return discard(path, repair, &format!("it holds {} instead of an object", describe(&other))),
        Err(error) => return discard(path, repair, &format!("it is not valid JSON ({error})")),
    };
    let loaded = Settings::from_json(value);
    if loaded.discarded {
        let why = loaded.notices.join("; ");
        return discard(path, repair, &why);
    }
    // The upgrade notice is not a repair: nothing the user wrote was dropped.
    let repaired = loaded.notices.len() > usize::from(loaded.migrated_from.is_some());
    let mut notices: Vec<String> =
        loaded.notices.into_iter().map(|notice| format!("Settings file {}: {notice}", path.display())).collect();
    if repaired && repair == Repair::MoveAside {
        match quarantine(path) {
            Ok(moved) => notices.push(format!("The original settings were kept as {}.", moved.display())),
            Err(error) => notices.push(format!("The original settings could not be kept ({error}).")),
        }
    }
    let rewrite = repair == Repair::MoveAside && (repaired || loaded.migrated_from.is_some());
    LoadedFile { settings: loaded.settings, notices, rewrite }
}

/// The defaults, with the unusable file moved aside.
fn discard(path: &Path, repair: Repair, why: &str) -> LoadedFile {
    let kept = match repair {
        Repair::LeaveAlone => "it was left as it is".to_owned(),
        Repair::MoveAside => match quarantine(path) {
            Ok(moved) => format!("it was moved to {}", moved.display()),
            Err(error) => format!("it could not be moved aside ({error})"),
        },
    };
    LoadedFile {
        settings: Settings::default(),
        notices: vec![format!(
            "The settings file {} was not usable: {why}; {kept}, and the defaults are in use.",
            path.display()
        )],
        rewrite: repair == Repair::MoveAside,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_files_live_in_one_folder() {
        let paths = AppPaths::in_dir(Path::new("/data/onyx"));
        assert_eq!(paths.settings_file, Path::new("/data/onyx/settings.json"));
        assert_eq!(paths.conversations_db, Path::new("/data/onyx/conversations.sqlite"));
        assert_eq!(paths.documents_db, Path::new("/data/onyx/documents.sqlite"));
        assert_eq!(paths.imported_models, Path::new("/data/onyx/models"));
        assert!(data_dir().is_none_or(|dir| dir.ends_with(APP_IDENTIFIER)));
    }

    #[test]
    fn the_cli_reads_a_bad_file_without_touching_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), r#"{"settings": {"temperature": "hot", "maxTokens": 64}}"#);
        let loaded = read_settings_file(&path, Repair::LeaveAlone);
        assert_eq!((loaded.settings.max_tokens, loaded.rewrite), (64, false));
        assert!(loaded.notices.iter().any(|n| n.contains("temperature")), "{:?}", loaded.notices);
        assert!(moved_aside(dir.path()).is_empty());
        let garbage = write(dir.path(), "not json");
        let loaded = read_settings_file(&garbage, Repair::LeaveAlone);
        assert_eq!(loaded.settings, Settings::default());
        assert!(loaded.notices[0].contains("it was left as it is"), "{:?}", loaded.notices);
        assert_eq!(std::fs::read_to_string(&garbage).ok().as_deref(), Some("not json"));
    }

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join(SETTINGS_FILE);
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
        let loaded = read_settings_file(&dir.path().join(SETTINGS_FILE), Repair::MoveAside);
        assert_eq!(loaded, LoadedFile { settings: Settings::default(), notices: Vec::new(), rewrite: false });
    }

    #[test]
    fn saved_settings_load_back_unchanged_and_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings { temperature: 0.2, chat_model: "qwen".into(), ..Settings::default() };
        let path = write(dir.path(), &json!({ "settings": settings.to_json() }).to_string());
        let loaded = read_settings_file(&path, Repair::MoveAside);
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
            let loaded = read_settings_file(&path, Repair::MoveAside);
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
        let loaded = read_settings_file(&path, Repair::MoveAside);
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
        let loaded = read_settings_file(&path, Repair::MoveAside);
        assert_eq!(loaded.settings.chat_model, "qwen");
        assert!(loaded.rewrite);
        assert_eq!(loaded.notices.len(), 1, "{:?}", loaded.notices);
        assert!(moved_aside(dir.path()).is_empty());
    }
}
