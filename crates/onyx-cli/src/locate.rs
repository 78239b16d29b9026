//! What the CLI works with when a flag does not say: the desktop app's own choices. The app's
//! settings file gives the models, the provider and the generation parameters; the app's model
//! catalog (`ONYX_MODELS`, the repository's models/, the app's imports) turns a model name into
//! a folder; the app's document index is the default `--db`. So `onyx chat` with no flags answers
//! as the app's chat window does.

use std::path::{Path, PathBuf};

use anyhow::Context;
use onyx_engine::Engine;
use onyx_engine::app_data::{AppPaths, Repair, read_settings_file};
use onyx_engine::catalog::Catalog;
use onyx_engine::settings::Settings;
use onyx_runtime::RuntimeConfig;

/// The app's settings and catalog, read once per command.
pub struct Defaults {
    /// The app's settings (its defaults when it has none yet).
    pub settings: Settings,
    catalog: Catalog,
    paths: Option<AppPaths>,
}

impl Defaults {
    /// Reads the app's settings file, leaving it as it is: a damaged one is repaired in memory
    /// only, and what was repaired is printed as a warning.
    pub fn load() -> Self {
        let paths = AppPaths::from_platform();
        let settings = match &paths {
            Some(paths) => {
                let loaded = read_settings_file(&paths.settings_file, Repair::LeaveAlone);
                for notice in &loaded.notices {
                    eprintln!("warning: {notice}");
                }
                loaded.settings
            }
            None => Settings::default(),
        };
        let imported = paths.as_ref().map_or_else(|| PathBuf::from("models"), |p| p.imported_models.clone());
        Defaults { settings, catalog: Catalog::from_environment(None, imported), paths }
    }

    /// The chat model's folder: `-m` (a folder, or a name in the catalog), else the settings'.
    pub fn chat_model(&self, flag: Option<&str>) -> anyhow::Result<PathBuf> {
        self.model(flag, &self.settings.chat_model)
    }

    /// The embedding model's folder, as [`Defaults::chat_model`].
    pub fn embedding_model(&self, flag: Option<&str>) -> anyhow::Result<PathBuf> {
        self.model(flag, &self.settings.embedding_model)
    }

    fn model(&self, flag: Option<&str>, configured: &str) -> anyhow::Result<PathBuf> {
        let name = flag.unwrap_or(configured);
        // A folder given on the command line, relative to the working directory.
        let direct = Path::new(name);
        if flag.is_some() && direct.is_dir() {
            return Ok(direct.to_path_buf());
        }
        self.catalog
            .resolve(name)
            .map_err(|why| anyhow::anyhow!("{why}; or pass -m FOLDER (scripts/setup.sh makes the defaults)"))
    }

    /// An engine whose sessions get the NPU options of `settings` (the QNN options, and the
    /// app's cache of compiled models when the settings keep one), as the app's do.
    pub fn engine(&self, config: &RuntimeConfig, settings: &Settings) -> anyhow::Result<Engine> {
        let engine = Engine::new(config)?;
        let compiled = self.paths.as_ref().map(|paths| paths.compiled_models.as_path());
        engine.runtime().set_session_defaults(settings.npu.session_defaults(compiled));
        Ok(engine)
    }

    /// The provider: `--provider`, else the settings'.
    pub fn provider(&self, flag: Option<&str>) -> String {
        flag.map_or_else(|| self.settings.provider.clone(), str::to_owned)
    }

    /// The database the command works on: `--db`, `ONYX_INDEX`, or the desktop app's own.
    pub fn database(&self, db: Option<&Path>) -> anyhow::Result<PathBuf> {
        if let Some(db) = db {
            return Ok(db.to_path_buf());
        }
        if let Some(env) = std::env::var_os("ONYX_INDEX").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(env));
        }
        self.paths
            .as_ref()
            .map(|paths| paths.documents_db.clone())
            .context("no --db given, and no home folder to find the app's index in; pass --db FILE")
    }
}
