//! `app_status`: what the window shows in its header and banners (the two models, the devices),
//! and the notices collected while starting (a settings file repaired, a database moved aside).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use onyx_runtime::DeviceInfo;
use serde::Serialize;

use crate::models::{ModelStatus, ModelsState};

/// Where the app keeps its files: all of them in the platform's app data folder
/// (`~/.local/share/dev.onyx.desktop` on Linux), the folder the CLI also looks in.
#[derive(Clone, Debug)]
pub struct AppPaths {
    /// Conversations and their messages (SQLite).
    pub conversations_db: PathBuf,
    /// The document index (SQLite), shared with `onyx index` by default.
    pub documents_db: PathBuf,
    /// Models the user imported, one folder each.
    pub imported_models: PathBuf,
}

impl AppPaths {
    /// The layout inside `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        AppPaths {
            conversations_db: data_dir.join("conversations.sqlite"),
            documents_db: data_dir.join(onyx_docs::DATABASE_FILE),
            imported_models: data_dir.join("models"),
        }
    }
}

/// Things to tell the user about this run, in the order they happened. They are kept for the
/// whole run (the window may reload and ask again); the UI decides when to hide them.
#[derive(Clone, Debug, Default)]
pub struct Notices {
    list: Arc<Mutex<Vec<String>>>,
}

impl Notices {
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        // Plain data: a panic mid-push leaves a usable list.
        self.list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a notice (once: the same text twice is one notice), and logs it for whoever runs
    /// the app from a terminal.
    pub fn push(&self, notice: impl Into<String>) {
        let notice = notice.into();
        eprintln!("onyx-app: {notice}");
        let mut list = self.lock();
        if !list.contains(&notice) {
            list.push(notice);
        }
    }

    /// Every notice so far.
    pub fn all(&self) -> Vec<String> {
        self.lock().clone()
    }
}

/// The reply of `app_status`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// The chat model.
    pub chat: ModelStatus,
    /// The embedding model (documents).
    pub embedding: ModelStatus,
    /// Devices ONNX Runtime found; empty until it has loaded (or when it could not).
    pub devices: Vec<DeviceInfo>,
    /// See [`Notices`].
    pub notices: Vec<String>,
}

/// Assembles [`AppStatus`]; cheap, never waits for a model.
pub fn app_status(models: &ModelsState, notices: &Notices) -> AppStatus {
    let (chat, embedding) = models.statuses();
    AppStatus { chat, embedding, devices: models.devices(), notices: notices.all() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_keep_their_order_and_drop_repeats() {
        let notices = Notices::default();
        let shared = notices.clone();
        notices.push("settings repaired");
        shared.push("database moved aside");
        notices.push("settings repaired");
        assert_eq!(notices.all(), ["settings repaired", "database moved aside"]);
    }

    #[test]
    fn every_file_lives_in_the_data_folder() {
        let paths = AppPaths::in_dir(Path::new("/data/onyx"));
        assert_eq!(paths.conversations_db, Path::new("/data/onyx/conversations.sqlite"));
        assert_eq!(paths.documents_db, Path::new("/data/onyx/documents.sqlite"));
        assert_eq!(paths.imported_models, Path::new("/data/onyx/models"));
    }
}
