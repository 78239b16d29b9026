//! Hugging Face model folders: `config.json` and the sentence-transformers files beside it.
//!
//! `config.json` is parsed into [`RawConfig`], which accepts every architecture's keys and
//! ignores unknown ones (configs grow new keys with every `transformers` release). It is then
//! validated once into the form a builder needs: [`BertConfig`] for encoders, [`DecoderConfig`]
//! for Llama-family decoders (Llama, Qwen2, Mistral). Validation errors name `config.json` and
//! the key at fault.
//!
//! A sentence-transformers folder adds `modules.json` (the pipeline: transformer, pooling,
//! normalize), `1_Pooling/config.json` (how token vectors become one vector),
//! `sentence_bert_config.json` (the sequence length it was trained with) and, optionally,
//! `config_sentence_transformers.json` with the prompts to put before queries and documents.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ConvertError;

/// The model config's file name.
pub const CONFIG_FILE: &str = "config.json";

/// `config.json` as written, with every key Onyx may use. Each field is optional here; the
/// validated configs below decide which are required.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawConfig {
    /// `bert`, `llama`, `qwen2`, `mistral`, ...
    pub model_type: Option<String>,
    /// Class names such as `BertModel`.
    pub architectures: Vec<String>,
    /// Width of the residual stream.
    pub hidden_size: Option<usize>,
    /// Width of the feed-forward layer.
    pub intermediate_size: Option<usize>,
    /// Number of transformer blocks.
    pub num_hidden_layers: Option<usize>,
    /// Number of query heads.
    pub num_attention_heads: Option<usize>,
    /// Number of key/value heads (grouped-query attention); absent means one per query head.
    pub num_key_value_heads: Option<usize>,
    /// Per-head width when it is not `hidden_size / num_attention_heads`.
    pub head_dim: Option<usize>,
    /// Vocabulary size.
    pub vocab_size: Option<usize>,
    /// Longest sequence the position embeddings or RoPE were trained for.
    pub max_position_embeddings: Option<usize>,
    /// BERT: number of token types (segments).
    pub type_vocab_size: Option<usize>,
    /// BERT: LayerNorm epsilon.
    pub layer_norm_eps: Option<f64>,
    /// Decoders: RMSNorm epsilon.
    pub rms_norm_eps: Option<f64>,
    /// Decoders: RoPE base frequency.
    pub rope_theta: Option<f64>,
    /// Decoders: RoPE scaling settings, kept unparsed until a builder supports them.
    pub rope_scaling: Option<serde_json::Value>,
    /// Activation name, e.g. `gelu` (BERT) or `silu` (Llama).
    pub hidden_act: Option<String>,
    /// BERT: `absolute` is the only kind Onyx builds.
    pub position_embedding_type: Option<String>,
    /// Whether the output projection reuses the token embedding matrix.
    pub tie_word_embeddings: Option<bool>,
    /// Beginning-of-sequence token id.
    pub bos_token_id: Option<TokenIds>,
    /// End-of-sequence token id(s).
    pub eos_token_id: Option<TokenIds>,
    /// Padding token id.
    pub pad_token_id: Option<TokenIds>,
    /// Decoders: sliding-window attention size (Mistral, some Qwen2).
    pub sliding_window: Option<usize>,
    /// Weight dtype the checkpoint was saved in (`float32`, `bfloat16`, ...).
    pub torch_dtype: Option<String>,
}

/// A token id field, which some configs write as a list (several end-of-sequence tokens).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// One id.
    One(i64),
    /// Several ids.
    Many(Vec<i64>),
}

impl TokenIds {
    /// The ids as a list.
    pub fn to_vec(&self) -> Vec<i64> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// A validated BERT encoder config.
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads; divides `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Number of learned positions.
    pub max_position_embeddings: usize,
    /// Number of token types.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Activation name, e.g. `gelu`.
    pub hidden_act: String,
}

impl BertConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// A validated Llama-family decoder config (Llama, Qwen2, Mistral).
#[derive(Clone, Debug, PartialEq)]
pub struct DecoderConfig {
    /// `llama`, `qwen2` or `mistral`.
    pub model_type: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads; divides `num_attention_heads`.
    pub num_key_value_heads: usize,
    /// Per-head width.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// RoPE scaling settings, if any (builders must refuse kinds they do not implement).
    pub rope_scaling: Option<serde_json::Value>,
    /// Longest trained context.
    pub max_position_embeddings: usize,
    /// Whether the output projection reuses the token embeddings.
    pub tie_word_embeddings: bool,
    /// Beginning-of-sequence token id, if the config names one.
    pub bos_token_id: Option<i64>,
    /// End-of-sequence token ids (possibly several).
    pub eos_token_ids: Vec<i64>,
    /// Sliding-window size, if the model uses one.
    pub sliding_window: Option<usize>,
}

impl RawConfig {
    /// Reads and parses `path` (a `config.json`).
    pub fn read(path: &Path) -> Result<Self, ConvertError> {
        read_json(path)
    }

    /// Validates the config as a BERT encoder. `path` is the file, for error messages.
    pub fn bert(&self, path: &Path) -> Result<BertConfig, ConvertError> {
        match self.model_type.as_deref() {
            Some("bert") => {}
            Some(other) => {
                return Err(ConvertError::unsupported(path, format!("model_type '{other}' is not a BERT model")));
            }
            None => return Err(ConvertError::malformed(path, "model_type is missing")),
        }
        if let Some(kind) = self.position_embedding_type.as_deref().filter(|k| *k != "absolute") {
            return Err(ConvertError::unsupported(path, format!("position_embedding_type '{kind}'")));
        }
        let required = |value: Option<usize>, key: &str| positive(path, value, key);
        let config = BertConfig {
            vocab_size: required(self.vocab_size, "vocab_size")?,
            hidden_size: required(self.hidden_size, "hidden_size")?,
            num_hidden_layers: required(self.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads: required(self.num_attention_heads, "num_attention_heads")?,
            intermediate_size: required(self.intermediate_size, "intermediate_size")?,
            max_position_embeddings: required(self.max_position_embeddings, "max_position_embeddings")?,
            // transformers' BertConfig defaults, used when a config leaves them out.
            type_vocab_size: positive(path, Some(self.type_vocab_size.unwrap_or(2)), "type_vocab_size")?,
            layer_norm_eps: self.layer_norm_eps.unwrap_or(1e-12),
            hidden_act: self.hidden_act.clone().unwrap_or_else(|| "gelu".to_owned()),
        };
        if !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            return Err(ConvertError::malformed(
                path,
                format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    config.hidden_size, config.num_attention_heads
                ),
            ));
        }
        if !(config.layer_norm_eps.is_finite() && config.layer_norm_eps >= 0.0) {
            return Err(ConvertError::malformed(path, format!("layer_norm_eps {}", config.layer_norm_eps)));
        }
        Ok(config)
    }

    /// Validates the config as a Llama-family decoder. `path` is the file, for error messages.
    pub fn decoder(&self, path: &Path) -> Result<DecoderConfig, ConvertError> {
        let model_type = match self.model_type.as_deref() {
            Some(kind @ ("llama" | "qwen2" | "mistral")) => kind.to_owned(),
            Some(other) => {
                return Err(ConvertError::unsupported(
                    path,
                    format!("model_type '{other}' is not a Llama-family decoder"),
                ));
            }
            None => return Err(ConvertError::malformed(path, "model_type is missing")),
        };
        let required = |value: Option<usize>, key: &str| positive(path, value, key);
        let hidden_size = required(self.hidden_size, "hidden_size")?;
        let num_attention_heads = required(self.num_attention_heads, "num_attention_heads")?;
        let num_key_value_heads =
            positive(path, Some(self.num_key_value_heads.unwrap_or(num_attention_heads)), "num_key_value_heads")?;
        if !num_attention_heads.is_multiple_of(num_key_value_heads) {
            return Err(ConvertError::malformed(
                path,
                format!(
                    "num_attention_heads {num_attention_heads} is not a multiple of num_key_value_heads \
                     {num_key_value_heads}"
                ),
            ));
        }
        let head_dim = match self.head_dim {
            Some(dim) => positive(path, Some(dim), "head_dim")?,
            None if hidden_size.is_multiple_of(num_attention_heads) => hidden_size / num_attention_heads,
            None => {
                return Err(ConvertError::malformed(
                    path,
                    format!("hidden_size {hidden_size} is not a multiple of num_attention_heads {num_attention_heads}"),
                ));
            }
        };
        let rms_norm_eps = self.rms_norm_eps.unwrap_or(1e-6);
        let rope_theta = self.rope_theta.unwrap_or(10_000.0);
        if !(rms_norm_eps.is_finite() && rms_norm_eps >= 0.0) {
            return Err(ConvertError::malformed(path, format!("rms_norm_eps {rms_norm_eps}")));
        }
        if !(rope_theta.is_finite() && rope_theta > 0.0) {
            return Err(ConvertError::malformed(path, format!("rope_theta {rope_theta}")));
        }
        let single_id = |ids: &Option<TokenIds>| ids.as_ref().and_then(|ids| ids.to_vec().first().copied());
        Ok(DecoderConfig {
            model_type,
            vocab_size: required(self.vocab_size, "vocab_size")?,
            hidden_size,
            intermediate_size: required(self.intermediate_size, "intermediate_size")?,
            num_hidden_layers: required(self.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps,
            rope_theta,
            rope_scaling: self.rope_scaling.clone().filter(|v| !v.is_null()),
            max_position_embeddings: required(self.max_position_embeddings, "max_position_embeddings")?,
            tie_word_embeddings: self.tie_word_embeddings.unwrap_or(false),
            bos_token_id: single_id(&self.bos_token_id),
            eos_token_ids: self.eos_token_id.as_ref().map(TokenIds::to_vec).unwrap_or_default(),
            sliding_window: self.sliding_window,
        })
    }
}

fn positive(path: &Path, value: Option<usize>, key: &str) -> Result<usize, ConvertError> {
    match value {
        Some(0) => Err(ConvertError::malformed(path, format!("{key} is 0"))),
        Some(v) => Ok(v),
        None => Err(ConvertError::malformed(path, format!("{key} is missing"))),
    }
}

/// How a sentence-transformers model turns token vectors into one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Average of the token vectors under the attention mask.
    Mean,
    /// The first (`[CLS]`) token's vector.
    Cls,
    /// Element-wise maximum over the tokens.
    Max,
    /// Sum divided by the square root of the token count.
    MeanSqrtLen,
    /// Position-weighted mean.
    WeightedMean,
    /// The last token's vector.
    LastToken,
}

/// Text put before inputs, when the model was trained with prompts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prefixes {
    /// Prefix for search queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Prefix for documents being indexed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

impl Prefixes {
    /// Whether neither prefix is set.
    pub fn is_empty(&self) -> bool {
        self.query.is_none() && self.document.is_none()
    }
}

/// What a sentence-transformers folder says about its pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceTransformers {
    /// The pooling mode from the pooling module's config.
    pub pooling: Pooling,
    /// Whether the pipeline ends with a `Normalize` module.
    pub normalize: bool,
    /// The sequence length the model was used with (`sentence_bert_config.json`).
    pub max_seq_length: Option<usize>,
    /// Query/document prompts from `config_sentence_transformers.json`.
    pub prefixes: Prefixes,
}

#[derive(Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PoolingConfig {
    pooling_mode_cls_token: bool,
    pooling_mode_mean_tokens: bool,
    pooling_mode_max_tokens: bool,
    pooling_mode_mean_sqrt_len_tokens: bool,
    pooling_mode_weightedmean_tokens: bool,
    pooling_mode_lasttoken: bool,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SentenceTransformersConfig {
    prompts: std::collections::BTreeMap<String, String>,
}

impl SentenceTransformers {
    /// Reads the sentence-transformers files in `dir`, or returns `None` when there is no
    /// `modules.json` (a plain transformers folder).
    pub fn detect(dir: &Path) -> Result<Option<Self>, ConvertError> {
        let modules_path = dir.join("modules.json");
        if !modules_path.is_file() {
            return Ok(None);
        }
        let modules: Vec<Module> = read_json(&modules_path)?;
        let is = |module: &Module, kind: &str| module.kind.rsplit('.').next() == Some(kind);

        let pooling = match modules.iter().find(|m| is(m, "Pooling")) {
            Some(module) => {
                let path = dir.join(&module.path).join("config.json");
                pooling_mode(&path, &read_json(&path)?)?
            }
            // Without a pooling module the pipeline ends at token vectors; mean is what
            // sentence-transformers itself adds when it wraps such a model.
            None => Pooling::Mean,
        };
        let normalize = modules.iter().any(|m| is(m, "Normalize"));

        let bert_config_path = dir.join("sentence_bert_config.json");
        let max_seq_length = if bert_config_path.is_file() {
            read_json::<SentenceBertConfig>(&bert_config_path)?.max_seq_length.filter(|&n| n > 0)
        } else {
            None
        };

        let st_config_path = dir.join("config_sentence_transformers.json");
        let prefixes = if st_config_path.is_file() {
            let prompts = read_json::<SentenceTransformersConfig>(&st_config_path)?.prompts;
            // Models name their prompts differently (E5 "query"/"passage", Nomic
            // "search_query"/"search_document"); an empty prompt means none.
            let pick = |names: &[&str]| names.iter().find_map(|n| prompts.get(*n)).filter(|p| !p.is_empty()).cloned();
            Prefixes {
                query: pick(&["query", "search_query"]),
                document: pick(&["document", "passage", "search_document"]),
            }
        } else {
            Prefixes::default()
        };
        Ok(Some(Self { pooling, normalize, max_seq_length, prefixes }))
    }
}

fn pooling_mode(path: &Path, config: &PoolingConfig) -> Result<Pooling, ConvertError> {
    let modes = [
        (config.pooling_mode_mean_tokens, Pooling::Mean),
        (config.pooling_mode_cls_token, Pooling::Cls),
        (config.pooling_mode_max_tokens, Pooling::Max),
        (config.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
        (config.pooling_mode_weightedmean_tokens, Pooling::WeightedMean),
        (config.pooling_mode_lasttoken, Pooling::LastToken),
    ];
    let chosen: Vec<Pooling> = modes.iter().filter(|(on, _)| *on).map(|(_, mode)| *mode).collect();
    match chosen.as_slice() {
        [one] => Ok(*one),
        [] => Err(ConvertError::malformed(path, "no pooling_mode_* is true")),
        // sentence-transformers concatenates several poolings into one longer vector.
        many => Err(ConvertError::unsupported(path, format!("several pooling modes at once: {many:?}"))),
    }
}

/// Reads and parses a JSON file, naming it in every error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ConvertError> {
    let bytes = std::fs::read(path).map_err(|source| ConvertError::Io { path: PathBuf::from(path), source })?;
    serde_json::from_slice(&bytes).map_err(|e| ConvertError::malformed(path, format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn bert_config_parses_ignoring_unknown_keys_and_checks_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = r#"{"model_type":"bert","hidden_size":384,"num_hidden_layers":6,"num_attention_heads":12,
            "intermediate_size":1536,"max_position_embeddings":512,"vocab_size":30522,"type_vocab_size":2,
            "layer_norm_eps":1e-12,"hidden_act":"gelu","gradient_checkpointing":false,"something_new":[1,2]}"#;
        let path = write(dir.path(), CONFIG_FILE, text);
        let bert = RawConfig::read(&path).expect("read").bert(&path).expect("bert");
        assert_eq!(bert.head_dim(), 32);
        assert_eq!(bert.layer_norm_eps, 1e-12);

        let path =
            write(dir.path(), "odd.json", &text.replace("\"num_attention_heads\":12", "\"num_attention_heads\":7"));
        let err = RawConfig::read(&path).expect("read").bert(&path).expect_err("7 heads").to_string();
        assert!(err.contains("odd.json") && err.contains("num_attention_heads 7"), "{err}");

        let path = write(dir.path(), "nolayers.json", &text.replace("\"num_hidden_layers\":6,", ""));
        let err = RawConfig::read(&path).expect("read").bert(&path).expect_err("no layers").to_string();
        assert!(err.contains("num_hidden_layers is missing"), "{err}");

        let path = write(dir.path(), "llama.json", r#"{"model_type":"llama"}"#);
        let err = RawConfig::read(&path).expect("read").bert(&path).expect_err("llama").to_string();
        assert!(err.contains("unsupported") && err.contains("'llama'"), "{err}");

        let path = write(dir.path(), "broken.json", "{\"model_type\": ");
        let err = RawConfig::read(&path).expect_err("broken").to_string();
        assert!(err.contains("broken.json") && err.contains("invalid JSON"), "{err}");
    }

    #[test]
    fn decoder_configs_fill_defaults_and_accept_eos_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let qwen = r#"{"model_type":"qwen2","hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,
            "num_attention_heads":14,"num_key_value_heads":2,"rms_norm_eps":1e-6,"rope_theta":1000000.0,
            "vocab_size":151936,"max_position_embeddings":32768,"tie_word_embeddings":true,
            "bos_token_id":151643,"eos_token_id":[151645,151643],"rope_scaling":null}"#;
        let path = write(dir.path(), "qwen.json", qwen);
        let config = RawConfig::read(&path).expect("read").decoder(&path).expect("qwen2");
        assert_eq!(config.head_dim, 64);
        assert_eq!(config.num_key_value_heads, 2);
        assert_eq!(config.eos_token_ids, [151645, 151643]);
        assert_eq!(config.bos_token_id, Some(151643));
        assert!(config.tie_word_embeddings && config.rope_scaling.is_none());

        let llama = r#"{"model_type":"llama","hidden_size":576,"intermediate_size":1536,"num_hidden_layers":30,
            "num_attention_heads":9,"vocab_size":49152,"max_position_embeddings":8192,"eos_token_id":2}"#;
        let path = write(dir.path(), "llama.json", llama);
        let config = RawConfig::read(&path).expect("read").decoder(&path).expect("llama");
        assert_eq!((config.num_key_value_heads, config.head_dim), (9, 64));
        assert_eq!(config.rope_theta, 10_000.0);
        assert_eq!(config.eos_token_ids, [2]);

        let gqa = llama.replace("\"eos_token_id\":2", "\"num_key_value_heads\":4");
        let path = write(dir.path(), "gqa.json", &gqa);
        let err = RawConfig::read(&path).expect("read").decoder(&path).expect_err("9 % 4").to_string();
        assert!(err.contains("gqa.json") && err.contains("num_key_value_heads 4"), "{err}");
    }

    #[test]
    fn sentence_transformers_folders_give_pooling_length_and_prompts() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(SentenceTransformers::detect(dir.path()).expect("plain folder"), None);

        write(
            dir.path(),
            "modules.json",
            r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
        );
        write(
            dir.path(),
            "1_Pooling/config.json",
            r#"{"word_embedding_dimension":384,"pooling_mode_mean_tokens":true}"#,
        );
        write(dir.path(), "sentence_bert_config.json", r#"{"max_seq_length":256,"do_lower_case":false}"#);
        let st = SentenceTransformers::detect(dir.path()).expect("detect").expect("is sentence-transformers");
        assert_eq!(st.pooling, Pooling::Mean);
        assert!(st.normalize);
        assert_eq!(st.max_seq_length, Some(256));
        assert!(st.prefixes.is_empty());

        write(
            dir.path(),
            "config_sentence_transformers.json",
            r#"{"prompts":{"query":"query: ","passage":"passage: "},"default_prompt_name":null}"#,
        );
        let st = SentenceTransformers::detect(dir.path()).expect("detect").expect("st");
        assert_eq!(st.prefixes.query.as_deref(), Some("query: "));
        assert_eq!(st.prefixes.document.as_deref(), Some("passage: "));

        let pooling = write(dir.path(), "1_Pooling/config.json", r#"{"pooling_mode_cls_token":true}"#);
        assert_eq!(SentenceTransformers::detect(dir.path()).expect("detect").expect("st").pooling, Pooling::Cls);
        write(dir.path(), "1_Pooling/config.json", r#"{"pooling_mode_cls_token":false}"#);
        let err = SentenceTransformers::detect(dir.path()).expect_err("no mode").to_string();
        assert!(err.contains(&pooling.display().to_string()) && err.contains("no pooling_mode_"), "{err}");
    }
}
