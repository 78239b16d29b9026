//! Where models are found: the folders searched, the models in them (what each holds, as
//! [`ModelFolder`] reads it), and turning a settings name (`smollm2-135m-instruct`) into a
//! folder. The app lists its models from here; the CLI resolves `-m NAME` here too.
//!
//! Folders, in lookup order (the first holding a name wins):
//! 1. `ONYX_MODELS`, when set;
//! 2. the repository's `models/` when Onyx runs from a checkout (dev, CI);
//! 3. the app bundle's `models/` resource folder, when the installer ships models;
//! 4. `<app data>/models`, where imports go.
//!
//! The first three hold the "default" models, the last the "imported" ones.

use std::path::{Path, PathBuf};

use onyx_convert::folder::ModelFolder;
use onyx_convert::manifest::{ModelKind, Target};
use serde::Serialize;
use ts_rs::TS;

/// Where a model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Shipped with the app or made by setup.
    Default,
    /// Imported by the user into the app data folder.
    Imported,
}

/// One model folder, as `models_list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ModelEntry {
    /// The folder's name: what the settings store.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// What it is for.
    pub kind: ModelKind,
    /// Where it came from.
    pub origin: Origin,
    /// The targets an Onyx package was built for (`cpu`, `npu`); empty for other layouts.
    pub variants: Vec<Target>,
}

/// A name that can be a model folder under a models folder: what imports may be called and what
/// settings may name without a path. `.partial-` names are conversions still being written.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && !name.contains(".partial-")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The model folders, in lookup order.
#[derive(Clone, Debug)]
pub struct Catalog {
    roots: Vec<(PathBuf, Origin)>,
}

impl Catalog {
    /// Default folders first, then the imports folder.
    pub fn new(default_dirs: impl IntoIterator<Item = PathBuf>, imported: PathBuf) -> Self {
        let mut roots: Vec<(PathBuf, Origin)> = Vec::new();
        let candidates = default_dirs.into_iter().map(|dir| (dir, Origin::Default));
        for (dir, origin) in candidates.chain(std::iter::once((imported, Origin::Imported))) {
            // The same folder reached twice (ONYX_MODELS pointing at the repository's) lists once.
            let same = |known: &PathBuf| known == &dir || same_file(known, &dir);
            if !roots.iter().any(|(known, _)| same(known)) {
                roots.push((dir, origin));
            }
        }
        Catalog { roots }
    }

    /// The folders the app looks in when it runs: `ONYX_MODELS`, the repository's `models/`,
    /// the bundle's `resource_models`, then `imported`.
    pub fn from_environment(resource_models: Option<PathBuf>, imported: PathBuf) -> Self {
        let env = std::env::var_os("ONYX_MODELS").filter(|v| !v.is_empty()).map(PathBuf::from);
        let repository = onyx_runtime::repository_root().map(|root| root.join("models"));
        let defaults = [env, repository, resource_models.filter(|dir| dir.is_dir())].into_iter().flatten();
        Catalog::new(defaults, imported)
    }

    /// Where imports go.
    pub fn imported_dir(&self) -> &Path {
        // `new` always appends it last (unless it equals a default folder, which then serves).
        self.roots
            .iter()
            .find(|(_, origin)| *origin == Origin::Imported)
            .or_else(|| self.roots.last())
            .map_or(Path::new("models"), |(dir, _)| dir.as_path())
    }

    /// Every model in every folder, each name once (the first folder wins, as in [`Catalog::resolve`]),
    /// sorted by name.
    pub fn list(&self) -> Vec<ModelEntry> {
        let mut entries: Vec<ModelEntry> = Vec::new();
        for (root, origin) in &self.roots {
            let Ok(read) = std::fs::read_dir(root) else { continue };
            for entry in read.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !is_plain_name(&name) || entries.iter().any(|e| e.name == name) {
                    continue;
                }
                // Whatever the engine could not load is not offered (ModelFolder says what is what).
                let path = entry.path();
                if let Ok(folder) = ModelFolder::open(&path) {
                    let variants = folder.targets();
                    entries.push(ModelEntry { name, path, kind: folder.kind, origin: *origin, variants });
                }
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries
    }

    /// The folder for a settings model value: an absolute path as is, a name from the first
    /// folder that holds it. The error says where it looked.
    pub fn resolve(&self, model: &str) -> Result<PathBuf, String> {
        let direct = Path::new(model);
        if direct.is_absolute() {
            return if direct.is_dir() {
                Ok(direct.to_path_buf())
            } else {
                Err(format!("the model folder {model} does not exist"))
            };
        }
        if let Some(dir) = self.roots.iter().map(|(root, _)| root.join(model)).find(|dir| dir.is_dir()) {
            return Ok(dir);
        }
        let looked: Vec<String> = self.roots.iter().map(|(root, _)| root.display().to_string()).collect();
        Err(format!(
            "model '{model}' not found (looked in {}); import it or pick another in Settings",
            looked.join(", ")
        ))
    }

    /// Whether any folder already has an entry called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.roots.iter().any(|(root, _)| std::fs::symlink_metadata(root.join(name)).is_ok())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(path, text).expect("write file");
    }

    /// A minimal package of `kind` with a cpu variant, and an npu one when `npu`.
    fn package(dir: &Path, kind: &str, npu: bool) {
        let variant = |target: &str| {
            serde_json::json!({"target": target, "quant": "fp32", "files": [format!("model.{target}.onnx")],
                               "shapes": "dynamic", "inputs": [], "outputs": []})
        };
        let mut variants = vec![variant("cpu")];
        if npu {
            variants.push(variant("npu"));
        }
        let mut manifest = serde_json::json!({
            "formatVersion": 2, "kind": kind, "name": "m", "architecture": {"name": "x"},
            "source": {"file": "w", "sha256": "0"}, "contextLength": 8, "variants": variants,
        });
        match kind {
            "chat" => manifest["chat"] = serde_json::json!({"specialTokens": {"eos": [2]}, "logits": "last"}),
            _ => manifest["embedding"] = serde_json::json!({"dim": 4, "pooling": "mean", "normalize": true}),
        }
        file(&dir.join(onyx_convert::manifest::MANIFEST_FILE), &manifest.to_string());
        for name in ["tokenizer.json", "model.cpu.onnx", "model.npu.onnx"] {
            file(&dir.join(name), "");
        }
    }

    #[test]
    fn listing_merges_the_folders_and_the_first_name_wins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (defaults, imported) = (dir.path().join("repo-models"), dir.path().join("data/models"));
        package(&defaults.join("smollm2"), "chat", true);
        package(&defaults.join("minilm"), "embedding", false);
        package(&imported.join("smollm2"), "chat", false);
        package(&imported.join("qwen"), "chat", false);
        package(&imported.join("qwen.partial-42"), "chat", false);
        package(&imported.join(".hidden"), "chat", false);
        // Not models: a file, a folder of notes, and a package missing its graph.
        file(&defaults.join("README.md"), "not a model");
        file(&defaults.join("notes/todo.txt"), "");
        package(&imported.join("broken"), "chat", false);
        std::fs::remove_file(imported.join("broken/model.cpu.onnx")).expect("remove");
        let catalog = Catalog::new([defaults.clone(), dir.path().join("missing")], imported.clone());

        let listed: Vec<(String, ModelKind, Origin)> =
            catalog.list().into_iter().map(|e| (e.name, e.kind, e.origin)).collect();
        assert_eq!(
            listed,
            [
                ("minilm".into(), ModelKind::Embedding, Origin::Default),
                ("qwen".into(), ModelKind::Chat, Origin::Imported),
                ("smollm2".into(), ModelKind::Chat, Origin::Default),
            ]
        );
        assert_eq!(catalog.resolve("smollm2"), Ok(defaults.join("smollm2")));
        assert_eq!(catalog.resolve("qwen"), Ok(imported.join("qwen")));
        assert_eq!(catalog.resolve(&imported.join("qwen").to_string_lossy()), Ok(imported.join("qwen")));
        let missing = catalog.resolve("llama").expect_err("not there");
        assert!(missing.starts_with("model 'llama' not found (looked in "), "{missing}");
        assert!(missing.contains(&imported.display().to_string()), "{missing}");
        assert!(catalog.contains("qwen") && !catalog.contains("llama"));
        assert_eq!(catalog.imported_dir(), imported);
        let as_json = serde_json::to_value(&catalog.list()[0]).expect("serializes");
        assert_eq!(as_json["kind"], "embedding");
        assert_eq!(as_json["origin"], "default");
        assert_eq!(as_json["variants"], serde_json::json!(["cpu"]));
    }

    #[test]
    fn the_same_folder_twice_is_one_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).expect("create");
        let catalog = Catalog::new([models.clone(), models.join(".")], dir.path().join("imports"));
        assert_eq!(catalog.roots.len(), 2);
    }

    #[test]
    fn plain_names_cannot_escape_the_folder() {
        for ok in ["qwen2.5-0.5b", "my_model", "A1"] {
            assert!(is_plain_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a\\b", "naïve", "x y", "m.partial-42", &"x".repeat(101)] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
