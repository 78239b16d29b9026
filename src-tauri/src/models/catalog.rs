//! Where models are found: the folders searched, what each model folder holds, and turning a
//! settings name (`smollm2-135m-instruct`) into a folder.
//!
//! Folders, in lookup order (the first holding a name wins):
//! 1. `ONYX_MODELS`, when set (as for the CLI);
//! 2. the repository's `models/` when the app runs from a checkout (dev, CI);
//! 3. the bundle's `models/` resource folder, when the installer ships models;
//! 4. `<app data>/models`, where imports go.
//!
//! The first three hold the "default" models, the last the "imported" ones.

use std::path::{Path, PathBuf};

use onyx_convert::package::MANIFEST_FILE;
use serde::Serialize;

use crate::events::ModelKind;

/// Where a model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// Shipped with the app or made by setup.
    Default,
    /// Imported by the user into the app data folder.
    Imported,
}

/// One model folder, as `models_list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    pub variants: Vec<String>,
}

/// Graph files of the ONNX layouts the engine reads besides Onyx packages.
const ONNX_GRAPHS: &[&str] =
    &["model.onnx", "onnx/model.onnx", "decoder_model_merged.onnx", "onnx/decoder_model_merged.onnx"];
/// `config.json` model types of encoder models: a folder of those is an embedding model.
const ENCODER_TYPES: &[&str] = &["bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "nomic_bert", "modernbert"];

/// What a model folder holds, or `None` when it is not a model the engine can load: an Onyx
/// package (its manifest says the kind), an onnxruntime-genai folder (chat), or an Optimum /
/// sentence-transformers export (embedding when it says so, chat otherwise).
pub fn classify(dir: &Path) -> Option<(ModelKind, Vec<String>)> {
    let manifest = dir.join(MANIFEST_FILE);
    if manifest.is_file() {
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).ok()?).ok()?;
        let kind = match value["kind"].as_str()? {
            "chat" => ModelKind::Chat,
            "embedding" => ModelKind::Embedding,
            _ => return None,
        };
        let variants = value["variants"]
            .as_array()
            .map(|list| list.iter().filter_map(|v| v["target"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        return Some((kind, variants));
    }
    if !dir.join("tokenizer.json").is_file() {
        return None;
    }
    if dir.join("genai_config.json").is_file() {
        return Some((ModelKind::Chat, Vec::new()));
    }
    let graph = ONNX_GRAPHS.iter().find(|graph| dir.join(graph).is_file())?;
    if graph.contains("decoder") {
        return Some((ModelKind::Chat, Vec::new()));
    }
    let sentence_transformers = dir.join("modules.json").is_file() || dir.join("sentence_bert_config.json").is_file();
    let encoder = std::fs::read(dir.join("config.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|config| config["model_type"].as_str().map(|t| ENCODER_TYPES.contains(&t)))
        .unwrap_or(false);
    let kind = if sentence_transformers || encoder { ModelKind::Embedding } else { ModelKind::Chat };
    Some((kind, Vec::new()))
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
                let path = entry.path();
                if let Some((kind, variants)) = path.is_dir().then(|| classify(&path)).flatten() {
                    entries.push(ModelEntry { name, path, kind, origin: *origin, variants });
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

    fn package(dir: &Path, kind: &str, targets: &[&str]) {
        let variants: Vec<_> = targets.iter().map(|t| serde_json::json!({"target": t})).collect();
        file(&dir.join(MANIFEST_FILE), &serde_json::json!({"kind": kind, "variants": variants}).to_string());
    }

    #[test]
    fn folders_are_classified_by_what_they_hold() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        package(&root.join("chat"), "chat", &["cpu", "npu"]);
        package(&root.join("embed"), "embedding", &["cpu"]);
        package(&root.join("odd"), "vision", &[]);
        file(&root.join("genai/genai_config.json"), "{}");
        file(&root.join("genai/tokenizer.json"), "{}");
        file(&root.join("st/onnx/model.onnx"), "");
        file(&root.join("st/tokenizer.json"), "{}");
        file(&root.join("st/config.json"), r#"{"model_type": "bert"}"#);
        file(&root.join("optimum/decoder_model_merged.onnx"), "");
        file(&root.join("optimum/tokenizer.json"), "{}");
        file(&root.join("no-tokenizer/model.onnx"), "");
        file(&root.join("empty/readme.txt"), "");

        assert_eq!(classify(&root.join("chat")), Some((ModelKind::Chat, vec!["cpu".into(), "npu".into()])));
        assert_eq!(classify(&root.join("embed")), Some((ModelKind::Embedding, vec!["cpu".into()])));
        assert_eq!(classify(&root.join("odd")), None);
        assert_eq!(classify(&root.join("genai")), Some((ModelKind::Chat, vec![])));
        assert_eq!(classify(&root.join("st")), Some((ModelKind::Embedding, vec![])));
        assert_eq!(classify(&root.join("optimum")), Some((ModelKind::Chat, vec![])));
        assert_eq!(classify(&root.join("no-tokenizer")), None);
        assert_eq!(classify(&root.join("empty")), None);
    }

    #[test]
    fn listing_merges_the_folders_and_the_first_name_wins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (defaults, imported) = (dir.path().join("repo-models"), dir.path().join("data/models"));
        package(&defaults.join("smollm2"), "chat", &["cpu", "npu"]);
        package(&defaults.join("minilm"), "embedding", &["cpu"]);
        package(&imported.join("smollm2"), "chat", &["cpu"]);
        package(&imported.join("qwen"), "chat", &["cpu"]);
        package(&imported.join("qwen.partial-42"), "chat", &["cpu"]);
        package(&imported.join(".hidden"), "chat", &["cpu"]);
        file(&defaults.join("README.md"), "not a model");
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
