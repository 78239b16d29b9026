//! Where the CLI finds what a command works on: model folders (`-m`, `ONYX_MODELS`, the
//! repository's models/) and the document index (`--db`, `ONYX_INDEX`, the app's own).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Default chat and embedding packages, as setup names them under models/.
pub const DEFAULT_CHAT_MODEL: &str = "smollm2-135m-instruct";
pub const DEFAULT_EMBEDDING_MODEL: &str = "all-minilm-l6-v2";

/// Resolves `-m`: a folder, or a name under `ONYX_MODELS` or the repository's models/.
pub fn resolve_model(model: Option<&str>, default: &str) -> anyhow::Result<PathBuf> {
    let name = model.unwrap_or(default);
    let direct = PathBuf::from(name);
    if direct.is_dir() {
        return Ok(direct);
    }
    let mut roots = Vec::new();
    if let Some(dir) = std::env::var_os("ONYX_MODELS").filter(|v| !v.is_empty()) {
        roots.push(PathBuf::from(dir));
    }
    if let Some(root) = onyx_runtime::repository_root() {
        roots.push(root.join("models"));
    }
    for root in &roots {
        if root.join(name).is_dir() {
            return Ok(root.join(name));
        }
    }
    let looked: Vec<String> = roots.iter().map(|r| r.join(name).display().to_string()).collect();
    bail!(
        "model '{name}' not found (looked in: {}); run scripts/setup.sh or pass -m FOLDER",
        if looked.is_empty() { "no models folder found".into() } else { looked.join(", ") }
    )
}

/// The database the command works on: `--db`, `ONYX_INDEX`, or the desktop app's own.
pub fn database_path(db: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(db) = db {
        return Ok(db.to_path_buf());
    }
    if let Some(env) = std::env::var_os("ONYX_INDEX").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(env));
    }
    onyx_docs::default_database_path()
        .context("no --db given, and no home folder to find the app's index in; pass --db FILE")
}
