//! What a path holds, worked out in one place: [`ModelFolder`] for the model folders Onyx runs
//! (the engine, the app's catalog and `onyx` all open folders through it), and [`SourceKind`]
//! for what `onyx convert` and the app's import take in.
//!
//! Layouts Onyx runs:
//! - an Onyx package (`onyx-model.json`, migrated to the current format as it is read);
//! - an onnxruntime-genai folder (`genai_config.json` naming one decoder graph): chat;
//! - an Optimum / transformers.js export (`model.onnx` or `decoder_model_merged.onnx`, at the top
//!   or under `onnx/`): chat, unless it is an encoder;
//! - a sentence-transformers ONNX export (`modules.json` or `sentence_bert_config.json`, or a
//!   `config.json` of an encoder architecture, beside such a graph): embedding.
//!
//! Every layout but a package needs a `tokenizer.json`, at the top of the folder or beside the
//! graph (Optimum writes it beside the graph; sentence-transformers at the top).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::ConvertError;
use crate::manifest::{MANIFEST_FILE, Manifest, ModelKind, Target};

/// The tokenizer file every layout carries.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// onnxruntime-genai's config file.
const GENAI_CONFIG: &str = "genai_config.json";
/// Graph files of ONNX exports, in the order they are preferred.
const ONNX_GRAPHS: &[&str] =
    &["model.onnx", "decoder_model_merged.onnx", "onnx/model.onnx", "onnx/decoder_model_merged.onnx"];
/// `config.json` model types of encoders: an export of one of those is an embedding model.
const ENCODER_TYPES: &[&str] = &["bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "nomic_bert", "modernbert"];
/// `config.json` model types `onyx convert` builds chat packages from.
pub const CHAT_MODEL_TYPES: &[&str] = &["llama", "qwen2", "mistral"];
/// `config.json` model types `onyx convert` builds embedding packages from.
pub const EMBEDDING_MODEL_TYPES: &[&str] = &["bert"];

/// How a model folder is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// An Onyx package, with its manifest in the current format.
    Onyx(Box<Manifest>),
    /// An onnxruntime-genai folder.
    Genai {
        /// The decoder graph `genai_config.json` names.
        model: PathBuf,
    },
    /// An Optimum, transformers.js or sentence-transformers ONNX export.
    OnnxExport {
        /// Its graph.
        model: PathBuf,
    },
}

impl Layout {
    /// A name for messages and `onyx inspect`.
    pub fn describe(&self) -> &'static str {
        match self {
            Layout::Onyx(_) => "Onyx package",
            Layout::Genai { .. } => "onnxruntime-genai folder",
            Layout::OnnxExport { .. } => "ONNX export",
        }
    }
}

/// A model folder Onyx can run, read once: its layout, kind, tokenizer and variants. Opening one
/// checks that every file it names is there, so loading it later fails only on the files' contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFolder {
    /// The folder.
    pub dir: PathBuf,
    /// What the model is for.
    pub kind: ModelKind,
    /// How it is laid out.
    pub layout: Layout,
    /// Its `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// For packages, the manifest's format version as found on disk (older ones are migrated).
    pub format_version: Option<u32>,
}

impl ModelFolder {
    /// Reads what `dir` holds. The error names the folder or file and says what is wrong.
    pub fn open(dir: &Path) -> Result<Self, ConvertError> {
        let metadata = std::fs::metadata(dir).map_err(|source| ConvertError::Io { path: dir.to_path_buf(), source })?;
        if !metadata.is_dir() {
            return Err(ConvertError::malformed(dir, "is not a folder"));
        }
        let manifest_path = dir.join(MANIFEST_FILE);
        if manifest_path.is_file() {
            return Self::open_package(dir, &manifest_path);
        }
        let genai = dir.join(GENAI_CONFIG);
        if genai.is_file() {
            let config: serde_json::Value = crate::hf::read_json(&genai)?;
            let file = config["model"]["decoder"]["filename"]
                .as_str()
                .ok_or_else(|| ConvertError::malformed(&genai, "model.decoder.filename is missing"))?;
            let model = dir.join(file);
            require(&model, "is missing (genai_config.json names it)")?;
            let tokenizer = find_tokenizer(dir, &model)?;
            return Ok(Self::foreign(dir, ModelKind::Chat, Layout::Genai { model }, tokenizer));
        }
        let Some(model) = ONNX_GRAPHS.iter().map(|graph| dir.join(graph)).find(|path| path.is_file()) else {
            return Err(ConvertError::malformed(
                dir,
                format!(
                    "not a model folder: it holds no {MANIFEST_FILE} (an Onyx package), {GENAI_CONFIG} \
                     (onnxruntime-genai), model.onnx or decoder_model_merged.onnx (an ONNX export)"
                ),
            ));
        };
        let tokenizer = find_tokenizer(dir, &model)?;
        let kind = if is_encoder_export(dir, &model) { ModelKind::Embedding } else { ModelKind::Chat };
        Ok(Self::foreign(dir, kind, Layout::OnnxExport { model }, tokenizer))
    }

    fn open_package(dir: &Path, manifest_path: &Path) -> Result<Self, ConvertError> {
        let bytes = std::fs::read(manifest_path)
            .map_err(|source| ConvertError::Io { path: manifest_path.to_path_buf(), source })?;
        let manifest = Manifest::parse(manifest_path, &bytes)?;
        let format_version = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|json| json["formatVersion"].as_u64())
            .and_then(|v| u32::try_from(v).ok());
        for variant in &manifest.variants {
            for file in variant.files.iter().chain(&variant.data_file) {
                require(&dir.join(file), &format!("is missing (the package's {} variant needs it)", variant.target))?;
            }
        }
        let tokenizer = dir.join(TOKENIZER_FILE);
        require(&tokenizer, "is missing (the package's tokenizer)")?;
        Ok(Self {
            dir: dir.to_path_buf(),
            kind: manifest.kind,
            layout: Layout::Onyx(Box::new(manifest)),
            tokenizer,
            format_version,
        })
    }

    fn foreign(dir: &Path, kind: ModelKind, layout: Layout, tokenizer: PathBuf) -> Self {
        Self { dir: dir.to_path_buf(), kind, layout, tokenizer, format_version: None }
    }

    /// The package manifest, for Onyx packages.
    pub fn manifest(&self) -> Option<&Manifest> {
        match &self.layout {
            Layout::Onyx(manifest) => Some(manifest),
            _ => None,
        }
    }

    /// The targets a package was built for; empty for other layouts.
    pub fn targets(&self) -> Vec<Target> {
        self.manifest().map(Manifest::targets).unwrap_or_default()
    }

    /// An error unless the folder holds a model of `kind`, naming what it holds instead.
    pub fn expect_kind(&self, kind: ModelKind) -> Result<(), ConvertError> {
        if self.kind == kind {
            return Ok(());
        }
        Err(ConvertError::malformed(
            &self.dir,
            format!(
                "is {} model ({}), not {} model",
                self.kind.with_article(),
                self.layout.describe(),
                kind.with_article()
            ),
        ))
    }
}

fn require(path: &Path, problem: &str) -> Result<(), ConvertError> {
    if path.is_file() { Ok(()) } else { Err(ConvertError::malformed(path, problem)) }
}

fn find_tokenizer(dir: &Path, model: &Path) -> Result<PathBuf, ConvertError> {
    [Some(dir), model.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join(TOKENIZER_FILE))
        .find(|p| p.is_file())
        .ok_or_else(|| ConvertError::malformed(dir.join(TOKENIZER_FILE), "is missing (every model folder needs one)"))
}

/// Whether an ONNX export is an encoder: a merged decoder never is; otherwise the
/// sentence-transformers files or an encoder `config.json` say so.
fn is_encoder_export(dir: &Path, model: &Path) -> bool {
    if model.file_name().is_some_and(|name| name.to_string_lossy().contains("decoder")) {
        return false;
    }
    if dir.join("modules.json").is_file() || dir.join("sentence_bert_config.json").is_file() {
        return true;
    }
    model_type(dir).is_some_and(|t| ENCODER_TYPES.contains(&t.as_str()))
}

/// `config.json`'s `model_type`, when there is a readable one.
fn model_type(dir: &Path) -> Option<String> {
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    config["model_type"].as_str().map(str::to_owned)
}

/// What `onyx convert` and the app's import were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A GGUF chat model file.
    Gguf(PathBuf),
    /// A Hugging Face decoder checkpoint (`config.json` and safetensors) of a supported type.
    HfChat(PathBuf),
    /// A Hugging Face BERT checkpoint.
    HfEmbedding(PathBuf),
    /// A folder Onyx already runs as it is (see [`ModelFolder`]): imports copy it.
    Model(Box<ModelFolder>),
}

impl SourceKind {
    /// Works out what `path` is. Built models come first (an Onyx package or a genai folder has
    /// nothing to convert); then a checkpoint with weights to convert; then an ONNX export.
    pub fn detect(path: &Path) -> Result<Self, ConvertError> {
        let metadata =
            std::fs::metadata(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
        if metadata.is_file() {
            let mut magic = [0u8; 4];
            std::fs::File::open(path)
                .and_then(|mut file| file.read_exact(&mut magic))
                .map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
            return if &magic == b"GGUF" {
                Ok(SourceKind::Gguf(path.to_path_buf()))
            } else {
                Err(ConvertError::unsupported(path, "not a GGUF file; pass a .gguf file or a model folder"))
            };
        }
        let built = path.join(MANIFEST_FILE).is_file() || path.join(GENAI_CONFIG).is_file();
        if built {
            return ModelFolder::open(path).map(|folder| SourceKind::Model(Box::new(folder)));
        }
        let config = path.join("config.json");
        let model_type = if config.is_file() {
            let raw = crate::hf::RawConfig::read(&config)?;
            Some(raw.model_type.ok_or_else(|| ConvertError::malformed(&config, "no model_type"))?)
        } else {
            None
        };
        if let Some(model_type) = &model_type
            && has_safetensors(path)
        {
            if CHAT_MODEL_TYPES.contains(&model_type.as_str()) {
                return Ok(SourceKind::HfChat(path.to_path_buf()));
            }
            if EMBEDDING_MODEL_TYPES.contains(&model_type.as_str()) {
                return Ok(SourceKind::HfEmbedding(path.to_path_buf()));
            }
        }
        match ModelFolder::open(path) {
            Ok(folder) => Ok(SourceKind::Model(Box::new(folder))),
            Err(error) => match model_type {
                Some(model_type)
                    if !CHAT_MODEL_TYPES.contains(&model_type.as_str())
                        && !EMBEDDING_MODEL_TYPES.contains(&model_type.as_str()) =>
                {
                    let supported = [CHAT_MODEL_TYPES, EMBEDDING_MODEL_TYPES].concat().join(", ");
                    Err(ConvertError::unsupported(
                        &config,
                        format!("model_type '{model_type}' (supported: {supported})"),
                    ))
                }
                Some(_) => {
                    Err(ConvertError::malformed(path, "has a config.json but no .safetensors weights to convert"))
                }
                None if path.join(TOKENIZER_FILE).is_file() || has_onnx(path) => Err(error),
                None => Err(ConvertError::malformed(
                    path,
                    "not a model folder: no config.json with safetensors, onyx-model.json, genai_config.json \
                     or ONNX graph with tokenizer.json",
                )),
            },
        }
    }

    /// The file or folder it came from.
    pub fn path(&self) -> &Path {
        match self {
            SourceKind::Gguf(path) | SourceKind::HfChat(path) | SourceKind::HfEmbedding(path) => path,
            SourceKind::Model(folder) => &folder.dir,
        }
    }

    /// What the model will be for.
    pub fn kind(&self) -> ModelKind {
        match self {
            SourceKind::Gguf(_) | SourceKind::HfChat(_) => ModelKind::Chat,
            SourceKind::HfEmbedding(_) => ModelKind::Embedding,
            SourceKind::Model(folder) => folder.kind,
        }
    }
}

fn has_safetensors(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json")
        })
    })
}

fn has_onnx(dir: &Path) -> bool {
    ONNX_GRAPHS.iter().any(|graph| dir.join(graph).is_file())
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

    fn package(dir: &Path, kind: ModelKind) {
        let mut json = serde_json::json!({
            "formatVersion": 2, "kind": kind, "name": "m", "architecture": {"name": "x"},
            "source": {"file": "w", "sha256": "0"}, "contextLength": 8,
            "variants": [{"target": "cpu", "quant": "fp32", "files": ["model.cpu.onnx"], "shapes": "dynamic",
                          "inputs": [], "outputs": []}]
        });
        match kind {
            ModelKind::Chat => json["chat"] = serde_json::json!({"specialTokens": {"eos": [2]}, "logits": "last"}),
            ModelKind::Embedding => {
                json["embedding"] = serde_json::json!({"dim": 4, "pooling": "mean", "normalize": true})
            }
        }
        file(&dir.join(MANIFEST_FILE), &json.to_string());
        file(&dir.join("model.cpu.onnx"), "");
        file(&dir.join(TOKENIZER_FILE), "{}");
    }

    fn kind(dir: &Path) -> Result<(ModelKind, &'static str), String> {
        ModelFolder::open(dir).map(|f| (f.kind, f.layout.describe())).map_err(|e| e.to_string())
    }

    #[test]
    fn folders_are_classified_by_what_they_hold() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        package(&root.join("chat"), ModelKind::Chat);
        package(&root.join("embed"), ModelKind::Embedding);
        file(&root.join("genai/genai_config.json"), r#"{"model": {"decoder": {"filename": "model.onnx"}}}"#);
        file(&root.join("genai/model.onnx"), "");
        file(&root.join("genai/tokenizer.json"), "{}");
        file(&root.join("st/onnx/model.onnx"), "");
        file(&root.join("st/tokenizer.json"), "{}");
        file(&root.join("st/config.json"), r#"{"model_type": "bert"}"#);
        file(&root.join("optimum/onnx/decoder_model_merged.onnx"), "");
        file(&root.join("optimum/onnx/tokenizer.json"), "{}");
        file(&root.join("no-tokenizer/model.onnx"), "");
        file(&root.join("empty/readme.txt"), "");

        assert_eq!(kind(&root.join("chat")), Ok((ModelKind::Chat, "Onyx package")));
        assert_eq!(kind(&root.join("embed")), Ok((ModelKind::Embedding, "Onyx package")));
        assert_eq!(kind(&root.join("genai")), Ok((ModelKind::Chat, "onnxruntime-genai folder")));
        assert_eq!(kind(&root.join("st")), Ok((ModelKind::Embedding, "ONNX export")));
        assert_eq!(kind(&root.join("optimum")), Ok((ModelKind::Chat, "ONNX export")));
        let optimum = ModelFolder::open(&root.join("optimum")).expect("optimum");
        assert_eq!(optimum.tokenizer, root.join("optimum/onnx/tokenizer.json"), "the tokenizer beside the graph");
        let missing = kind(&root.join("no-tokenizer")).expect_err("no tokenizer");
        assert!(missing.contains("no-tokenizer/tokenizer.json: is missing"), "{missing}");
        let empty = kind(&root.join("empty")).expect_err("nothing");
        assert!(empty.contains("empty: not a model folder"), "{empty}");
        let absent = kind(&root.join("absent")).expect_err("no folder");
        assert!(absent.contains("absent"), "{absent}");

        let chat = ModelFolder::open(&root.join("chat")).expect("chat");
        assert_eq!(chat.targets(), [Target::Cpu]);
        assert_eq!(chat.format_version, Some(2));
        let wrong = chat.expect_kind(ModelKind::Embedding).expect_err("a chat package").to_string();
        assert!(wrong.ends_with("chat: is a chat model (Onyx package), not an embedding model"), "{wrong}");

        // A package missing a file it lists is refused, naming the file.
        std::fs::remove_file(root.join("chat/model.cpu.onnx")).expect("remove");
        let incomplete = kind(&root.join("chat")).expect_err("incomplete");
        assert!(
            incomplete.contains("chat/model.cpu.onnx: is missing (the package's cpu variant needs it)"),
            "{incomplete}"
        );
    }

    #[test]
    fn sources_are_recognised_or_named_in_the_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let gguf = root.join("m.gguf");
        file(&gguf, "GGUF....");
        assert_eq!(SourceKind::detect(&gguf).expect("gguf"), SourceKind::Gguf(gguf.clone()));
        let text = root.join("notes.txt");
        file(&text, "hello");
        let err = SourceKind::detect(&text).expect_err("text").to_string();
        assert!(err.contains("notes.txt: unsupported: not a GGUF file"), "{err}");
        let err = SourceKind::detect(&root.join("missing")).expect_err("missing").to_string();
        assert!(err.contains("missing") && err.contains("No such file"), "{err}");

        let hf = root.join("hf");
        file(&hf.join("model.safetensors"), "");
        for (model_type, expected) in
            [("qwen2", SourceKind::HfChat(hf.clone())), ("bert", SourceKind::HfEmbedding(hf.clone()))]
        {
            file(&hf.join("config.json"), &format!(r#"{{"model_type": "{model_type}"}}"#));
            assert_eq!(SourceKind::detect(&hf).expect("checkpoint"), expected);
        }
        file(&hf.join("config.json"), r#"{"model_type": "gpt2"}"#);
        let err = SourceKind::detect(&hf).expect_err("gpt2").to_string();
        assert!(err.contains("model_type 'gpt2' (supported: llama, qwen2, mistral, bert)"), "{err}");

        // A sentence-transformers export with weights is converted (that gives it an npu
        // variant); without them it is run as it is.
        let st = root.join("st");
        for name in ["onnx/model.onnx", "tokenizer.json", "modules.json"] {
            file(&st.join(name), "{}");
        }
        file(&st.join("config.json"), r#"{"model_type": "bert"}"#);
        assert!(matches!(SourceKind::detect(&st), Ok(SourceKind::Model(f)) if f.kind == ModelKind::Embedding));
        file(&st.join("model.safetensors"), "");
        assert_eq!(SourceKind::detect(&st).expect("st"), SourceKind::HfEmbedding(st.clone()));

        // A package is never converted again.
        package(&root.join("pkg"), ModelKind::Chat);
        assert!(matches!(SourceKind::detect(&root.join("pkg")), Ok(SourceKind::Model(_))));

        let empty = root.join("empty");
        std::fs::create_dir_all(&empty).expect("create");
        let err = SourceKind::detect(&empty).expect_err("empty").to_string();
        assert!(err.contains("not a model folder"), "{err}");
    }
}
