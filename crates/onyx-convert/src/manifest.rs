//! `onyx-model.json`: the one manifest of chat and embedding packages, and the migration that
//! reads the packages written before it.
//!
//! Format version 2 (written since 2026-12) has one dialect for both kinds:
//!
//! ```json
//! {
//!   "formatVersion": 2, "kind": "chat", "name": "...",
//!   "architecture": {"name": "llama", "layers": 30, "hidden": 576, ...},
//!   "source": {"file": "x.gguf", "sha256": "..."},
//!   "contextLength": 8192,
//!   "chat": {"specialTokens": {...}, "logits": "last"},
//!   "variants": [
//!     {"target": "cpu", "quant": "int4", "files": ["model.cpu.onnx"], "dataFile": "model.cpu.data",
//!      "shapes": "dynamic", "inputs": [...], "outputs": [...]},
//!     {"target": "npu", "quant": "int8", "files": ["model.npu.prefill.onnx", "model.npu.decode.onnx"],
//!      "shapes": {"static": {"batch": 1, "sequence": 64, "context": 1024}}, ...}
//!   ]
//! }
//! ```
//!
//! An embedding package has `"embedding": {"dim", "pooling", "normalize", "prefixes"}` instead of
//! `"chat"`. Version 1 had two dialects (chat: `files`, `"shapes": "dynamic"`, an architecture
//! object; embedding: `file`, `{"dynamic": true}`, `"architecture": "bert"`); [`Manifest::read`]
//! migrates both, so every package already on a user's disk keeps loading.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ConvertError;
use crate::hf::{Pooling, Prefixes};

/// The `onyx-model.json` format version this crate writes.
pub const FORMAT_VERSION: u32 = 2;
/// The manifest's file name inside a package.
pub const MANIFEST_FILE: &str = "onyx-model.json";

/// What a model is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(rename = "ModelRole")]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A language model that writes replies.
    Chat,
    /// A text-embedding model for document search.
    Embedding,
}

impl ModelKind {
    /// The lowercase name used in manifests and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Chat => "chat",
            ModelKind::Embedding => "embedding",
        }
    }

    /// "a chat", "an embedding": for messages.
    pub fn with_article(self) -> &'static str {
        match self {
            ModelKind::Chat => "a chat",
            ModelKind::Embedding => "an embedding",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The device class a graph is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// ORT's CPU EP (and GPUs): dynamic shapes.
    Cpu,
    /// NPUs: static shapes and standard operators only.
    Npu,
}

impl Target {
    /// The lowercase name used in manifests and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Cpu => "cpu",
            Target::Npu => "npu",
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Target::Cpu),
            "npu" => Ok(Target::Npu),
            other => Err(format!("unknown target '{other}': expected cpu or npu")),
        }
    }
}

/// How a graph stores its weights (and, for schemes that say so, computes its activations).
/// One enum for the converter, the manifest, `onyx convert --quant` and the app's import: a new
/// scheme is a new variant here plus the graph code that builds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantScheme {
    /// The checkpoint's weights as f32, exactly.
    Fp32,
    /// Half-precision weights.
    Fp16,
    /// int8 weights, per output channel (cpu chat graphs: `MatMulNBits` blocks of 32).
    Int8,
    /// int4 weights in blocks of 32 (`MatMulNBits`).
    Int4,
}

impl QuantScheme {
    /// Every scheme, for help texts and pickers.
    pub const ALL: [QuantScheme; 4] = [QuantScheme::Int4, QuantScheme::Int8, QuantScheme::Fp16, QuantScheme::Fp32];

    /// The lowercase name used in manifests and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            QuantScheme::Fp32 => "fp32",
            QuantScheme::Fp16 => "fp16",
            QuantScheme::Int8 => "int8",
            QuantScheme::Int4 => "int4",
        }
    }
}

impl std::fmt::Display for QuantScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for QuantScheme {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "fp32" | "exact" => Ok(QuantScheme::Fp32),
            "fp16" => Ok(QuantScheme::Fp16),
            "int8" => Ok(QuantScheme::Int8),
            "int4" => Ok(QuantScheme::Int4),
            other => Err(format!("unknown quantization '{other}': expected int4, int8, fp16 or fp32")),
        }
    }
}

/// The architecture's name and, where the converter knew them, its sizes (decoders need them to
/// size their caches).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Architecture {
    /// `llama`, `qwen2`, `bert`, ...
    pub name: String,
    /// Layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
    /// Model width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// Query heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<usize>,
    /// Key/value heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_heads: Option<usize>,
    /// Head size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    /// Vocabulary size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab: Option<usize>,
}

/// Where a package's weights came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The source file's name: the GGUF or safetensors file, or a sharded checkpoint's index.
    pub file: String,
    /// Its lowercase hex SHA-256.
    pub sha256: String,
    /// For sharded checkpoints, every shard and its hash (the index alone does not pin weights).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<SourceFile>,
}

/// One source file and its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceFile {
    /// File name.
    pub file: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// The special tokens a runtime needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecialTokens {
    /// Beginning of sequence.
    pub bos: Option<u32>,
    /// Tokens that end a reply.
    pub eos: Vec<u32>,
    /// Padding.
    pub pad: Option<u32>,
}

/// What only chat packages have.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatInfo {
    /// Special tokens.
    pub special_tokens: SpecialTokens,
    /// What the cpu graph's logits cover: `last` (only the last position).
    pub logits: String,
}

/// What only embedding packages have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingInfo {
    /// Embedding width.
    pub dim: usize,
    /// How token vectors are pooled (inside the graph).
    pub pooling: Pooling,
    /// Whether the graph's output is unit-length.
    pub normalize: bool,
    /// Prompts to put before queries and documents, when the model was trained with them.
    #[serde(default, skip_serializing_if = "Prefixes::is_empty")]
    pub prefixes: Prefixes,
}

/// A graph's input shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Shapes {
    /// Any batch size and sequence length.
    Dynamic,
    /// Fixed sizes; inputs are padded to them.
    Static {
        /// Batch size.
        batch: usize,
        /// Tokens per run: an encoder's sequence, a decoder's prefill chunk.
        sequence: usize,
        /// A decoder's KV cache slots: the longest conversation its graphs hold. The npu chat
        /// variant ships two graphs (`sequence` tokens and 1) sharing one weight file, rather
        /// than one graph with free-dimension overrides, so each graph is fully static as written.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<usize>,
    },
}

/// One built variant: its graphs and their interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    /// The device class it was built for.
    pub target: Target,
    /// How its weights are stored.
    pub quant: QuantScheme,
    /// Graph files, relative to the package: one, or an npu decoder's `prefill` then `decode`.
    pub files: Vec<String>,
    /// The weight file its graphs share, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_file: Option<String>,
    /// Dynamic or static input shapes.
    pub shapes: Shapes,
    /// Graph input names, in order (per-layer inputs written with `{layer}`).
    pub inputs: Vec<String>,
    /// Graph output names, in order.
    pub outputs: Vec<String>,
}

/// A package's `onyx-model.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`FORMAT_VERSION`] once read: older manifests are migrated as they load.
    pub format_version: u32,
    /// Chat or embedding.
    pub kind: ModelKind,
    /// The model's name, from the source's metadata or folder name.
    pub name: String,
    /// Architecture name and sizes.
    pub architecture: Architecture,
    /// Where the weights came from.
    pub source: Source,
    /// The longest input the model was trained for, in tokens.
    pub context_length: usize,
    /// Chat packages: special tokens and logits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatInfo>,
    /// Embedding packages: width, pooling and prefixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingInfo>,
    /// Built variants.
    pub variants: Vec<Variant>,
}

impl Manifest {
    /// Reads and checks the manifest at `path`, migrating older format versions. Errors name the
    /// file and the value at fault.
    pub fn read(path: &Path) -> Result<Self, ConvertError> {
        let bytes = std::fs::read(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
        Self::parse(path, &bytes)
    }

    /// [`Manifest::read`] on bytes already read; `path` names them in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, ConvertError> {
        let bad = |problem: String| ConvertError::malformed(path, problem);
        let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        // Kind and version first: a newer format or an unknown kind would otherwise fail with a
        // confusing "missing field".
        let kind = match json.get("kind").and_then(serde_json::Value::as_str) {
            Some("chat") => ModelKind::Chat,
            Some("embedding") => ModelKind::Embedding,
            Some(other) => return Err(bad(format!("unknown kind '{other}' (expected chat or embedding)"))),
            None => return Err(bad("has no \"kind\"".to_owned())),
        };
        let version = json.get("formatVersion").and_then(serde_json::Value::as_u64);
        let manifest = match version {
            Some(1) => v1::migrate(kind, json).map_err(|e| bad(format!("invalid format version 1 manifest: {e}")))?,
            Some(2) => serde_json::from_value(json).map_err(|e| bad(format!("invalid manifest: {e}")))?,
            Some(newer) if newer > u64::from(FORMAT_VERSION) => {
                return Err(bad(format!(
                    "format version {newer} is newer than this Onyx reads ({FORMAT_VERSION}); update Onyx"
                )));
            }
            Some(other) => return Err(bad(format!("unknown format version {other}"))),
            None => return Err(bad("has no \"formatVersion\"".to_owned())),
        };
        manifest.check().map_err(bad)?;
        Ok(manifest)
    }

    /// The checks every reader needs, so none of them repeats them.
    fn check(&self) -> Result<(), String> {
        if self.context_length == 0 {
            return Err("contextLength must be positive".into());
        }
        match (self.kind, &self.chat, &self.embedding) {
            (ModelKind::Chat, Some(_), None) => {}
            (ModelKind::Embedding, None, Some(info)) if info.dim > 0 => {}
            (ModelKind::Embedding, None, Some(_)) => return Err("embedding.dim must be positive".into()),
            (kind, _, _) => return Err(format!("a {kind} package must have exactly its own \"{kind}\" section")),
        }
        if self.variants.is_empty() {
            return Err("lists no variants".into());
        }
        for variant in &self.variants {
            let target = variant.target;
            if variant.files.is_empty() {
                return Err(format!("the {target} variant lists no graph file"));
            }
            for file in variant.files.iter().chain(&variant.data_file) {
                let path = Path::new(file);
                if file.is_empty()
                    || path.is_absolute()
                    || path.components().any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    return Err(format!("the {target} variant's file '{file}' is not a path inside the package"));
                }
            }
            if let Shapes::Static { batch, sequence, context } = variant.shapes
                && (batch == 0 || sequence == 0 || context == Some(0))
            {
                return Err(format!("the {target} variant has an empty static shape"));
            }
        }
        Ok(())
    }

    /// The variant built for `target`, if any.
    pub fn variant(&self, target: Target) -> Option<&Variant> {
        self.variants.iter().find(|v| v.target == target)
    }

    /// The targets built, in the manifest's order.
    pub fn targets(&self) -> Vec<Target> {
        self.variants.iter().map(|v| v.target).collect()
    }
}

/// Format version 1, as the converters of 2026-11 wrote it, and its migration.
mod v1 {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Chat {
        name: String,
        architecture: ChatArchitecture,
        source: Source,
        context_length: usize,
        special_tokens: SpecialTokens,
        logits: String,
        variants: Vec<ChatVariant>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ChatArchitecture {
        name: String,
        layers: usize,
        hidden: usize,
        heads: usize,
        kv_heads: usize,
        head_dim: usize,
        vocab: usize,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ChatVariant {
        target: Target,
        precision: QuantScheme,
        files: Vec<String>,
        data_file: Option<String>,
        shapes: ChatShapes,
        inputs: Vec<String>,
        outputs: Vec<String>,
    }

    /// `"dynamic"` or `{"static": {"context", "chunk"}}`.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum ChatShapes {
        Dynamic,
        Static { context: usize, chunk: usize },
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Embedding {
        architecture: String,
        source: Source,
        context_length: usize,
        dim: usize,
        pooling: Pooling,
        normalize: bool,
        #[serde(default)]
        prefixes: Prefixes,
        variants: Vec<EmbeddingVariant>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct EmbeddingVariant {
        target: Target,
        file: String,
        precision: QuantScheme,
        shapes: EmbeddingShapes,
        inputs: Vec<String>,
        outputs: Vec<String>,
        #[serde(default)]
        data_file: Option<String>,
    }

    /// `{"dynamic": true}` or `{"static": {"batch", "sequence"}}`.
    #[derive(Deserialize)]
    struct EmbeddingShapes {
        #[serde(default)]
        dynamic: Option<bool>,
        #[serde(default, rename = "static")]
        fixed: Option<EmbeddingStatic>,
    }

    #[derive(Deserialize)]
    struct EmbeddingStatic {
        batch: usize,
        sequence: usize,
    }

    pub(super) fn migrate(kind: ModelKind, json: serde_json::Value) -> Result<Manifest, String> {
        match kind {
            ModelKind::Chat => serde_json::from_value::<Chat>(json).map_err(|e| e.to_string()).map(chat),
            ModelKind::Embedding => {
                serde_json::from_value::<Embedding>(json).map_err(|e| e.to_string()).and_then(embedding)
            }
        }
    }

    fn chat(old: Chat) -> Manifest {
        let a = old.architecture;
        let variants = old
            .variants
            .into_iter()
            .map(|v| Variant {
                target: v.target,
                quant: v.precision,
                files: v.files,
                data_file: v.data_file,
                shapes: match v.shapes {
                    ChatShapes::Dynamic => Shapes::Dynamic,
                    ChatShapes::Static { context, chunk } => {
                        Shapes::Static { batch: 1, sequence: chunk, context: Some(context) }
                    }
                },
                inputs: v.inputs,
                outputs: v.outputs,
            })
            .collect();
        Manifest {
            format_version: FORMAT_VERSION,
            kind: ModelKind::Chat,
            name: old.name,
            architecture: Architecture {
                name: a.name,
                layers: Some(a.layers),
                hidden: Some(a.hidden),
                heads: Some(a.heads),
                kv_heads: Some(a.kv_heads),
                head_dim: Some(a.head_dim),
                vocab: Some(a.vocab),
            },
            source: old.source,
            context_length: old.context_length,
            chat: Some(ChatInfo { special_tokens: old.special_tokens, logits: old.logits }),
            embedding: None,
            variants,
        }
    }

    fn embedding(old: Embedding) -> Result<Manifest, String> {
        let mut variants = Vec::new();
        for v in old.variants {
            let shapes = match (v.shapes.dynamic, v.shapes.fixed) {
                (Some(true), None) => Shapes::Dynamic,
                (None | Some(false), Some(EmbeddingStatic { batch, sequence })) => {
                    Shapes::Static { batch, sequence, context: None }
                }
                _ => {
                    return Err(format!(
                        "variant {}: shapes must be {{\"dynamic\": true}} or {{\"static\": {{...}}}}",
                        v.file
                    ));
                }
            };
            variants.push(Variant {
                target: v.target,
                quant: v.precision,
                files: vec![v.file],
                data_file: v.data_file,
                shapes,
                inputs: v.inputs,
                outputs: v.outputs,
            });
        }
        Ok(Manifest {
            format_version: FORMAT_VERSION,
            kind: ModelKind::Embedding,
            // Version 1 embedding manifests had no name; the architecture is the best there is.
            name: old.architecture.clone(),
            architecture: Architecture { name: old.architecture, ..Architecture::default() },
            source: old.source,
            context_length: old.context_length,
            chat: None,
            embedding: Some(EmbeddingInfo {
                dim: old.dim,
                pooling: old.pooling,
                normalize: old.normalize,
                prefixes: old.prefixes,
            }),
            variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<Manifest, ConvertError> {
        Manifest::parse(Path::new("m/onyx-model.json"), json.to_string().as_bytes())
    }

    #[test]
    fn shapes_serialize_in_one_dialect() {
        assert_eq!(serde_json::to_string(&Shapes::Dynamic).expect("json"), r#""dynamic""#);
        let fixed = Shapes::Static { batch: 1, sequence: 64, context: Some(1024) };
        let text = serde_json::to_string(&fixed).expect("json");
        assert_eq!(text, r#"{"static":{"batch":1,"sequence":64,"context":1024}}"#);
        assert_eq!(serde_json::from_str::<Shapes>(&text).expect("parse"), fixed);
        let encoder = Shapes::Static { batch: 1, sequence: 256, context: None };
        assert_eq!(serde_json::to_string(&encoder).expect("json"), r#"{"static":{"batch":1,"sequence":256}}"#);
        assert_eq!(serde_json::to_string(&QuantScheme::Int8).expect("json"), "\"int8\"");
        assert_eq!(serde_json::to_string(&Target::Npu).expect("json"), "\"npu\"");
    }

    #[test]
    fn bad_manifests_are_refused_with_the_value_at_fault() {
        let cases = [
            (serde_json::json!({"formatVersion": 2}), "has no \"kind\""),
            (serde_json::json!({"kind": "vision", "formatVersion": 2}), "unknown kind 'vision'"),
            (serde_json::json!({"kind": "chat"}), "has no \"formatVersion\""),
            (serde_json::json!({"kind": "chat", "formatVersion": 9}), "format version 9 is newer"),
            (serde_json::json!({"kind": "chat", "formatVersion": 2, "name": "x"}), "invalid manifest: missing field"),
            (serde_json::json!({"kind": "embedding", "formatVersion": 1}), "invalid format version 1 manifest"),
        ];
        for (json, expected) in cases {
            let err = parse(json.clone()).expect_err("must refuse").to_string();
            assert!(err.starts_with("m/onyx-model.json: ") && err.contains(expected), "{json}: {err}");
        }
        let mut escaping = serde_json::json!({
            "formatVersion": 2, "kind": "embedding", "name": "e", "architecture": {"name": "bert"},
            "source": {"file": "w", "sha256": "0"}, "contextLength": 8,
            "embedding": {"dim": 4, "pooling": "mean", "normalize": true},
            "variants": [{"target": "cpu", "quant": "fp32", "files": ["../elsewhere.onnx"], "shapes": "dynamic",
                          "inputs": [], "outputs": []}]
        });
        let err = parse(escaping.clone()).expect_err("a path out of the package").to_string();
        assert!(err.contains("'../elsewhere.onnx' is not a path inside the package"), "{err}");
        escaping["variants"][0]["files"] = serde_json::json!(["model.onnx"]);
        escaping["chat"] = serde_json::json!({"specialTokens": {"eos": [2]}, "logits": "last"});
        let err = parse(escaping).expect_err("two sections").to_string();
        assert!(err.contains("exactly its own \"embedding\" section"), "{err}");
    }
}
