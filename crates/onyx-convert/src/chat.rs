//! Converting a chat model (a Llama-family GGUF) into an Onyx model package.
//!
//! ```text
//! <out>/onyx-model.json         manifest (see [`ChatManifest`])
//! <out>/tokenizer.json          for the `tokenizers` crate
//! <out>/tokenizer_config.json   chat template, bos/eos, special tokens
//! <out>/genai_config.json       so onnxruntime-genai can also run the cpu variant
//! <out>/model.cpu.onnx          dynamic shapes, GroupQueryAttention, MatMulNBits int4 (or exact f32)
//! <out>/model.cpu.data          the cpu graph's weights (memory-mapped when loaded)
//! <out>/model.npu.prefill.onnx  static: a prefill chunk over the fixed KV cache
//! <out>/model.npu.decode.onnx   static: one token over the fixed KV cache
//! <out>/model.npu.data          the npu graphs' weights, stored once and shared by both
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ConvertError;
use crate::gguf::GgufFile;
use crate::gguf_llama::{GgufWeights, config_from_gguf};
use crate::hf::RawConfig;
use crate::hf_llama::{SafetensorsWeights, config_from_hf};
use crate::llama::{self, CpuOptions, LlamaConfig, NpuOptions, WeightFormat, Weights, names, npu_names};
use crate::onnx;
use crate::package::{FORMAT_VERSION, MANIFEST_FILE, PartialPackage, Source, sha256_file_reporting};
pub use crate::progress::Progress;
use crate::progress::{ReportingWeights, Tracker, llama_weight_values};
use crate::tokenizer::TokenizerInfo;

/// The cpu graph's weight file, beside `model.cpu.onnx`.
const CPU_DATA_FILE: &str = "model.cpu.data";

/// What to build.
#[derive(Clone, Debug)]
pub struct ChatOptions {
    /// Build the cpu variant, and how.
    pub cpu: Option<CpuOptions>,
    /// Build the npu variant, and how.
    pub npu: Option<NpuOptions>,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self { cpu: Some(CpuOptions::int4()), npu: Some(NpuOptions::default()) }
    }
}

/// The share of the `cpu graph` step spent building the graph (reading and quantizing weights);
/// the rest is writing its files. From timing SmolLM2-135M, as are the shares below.
const CPU_BUILD: f32 = 0.85;
/// The share of the `npu graphs` step done once the prefill graph is built.
const NPU_PREFILL_BUILT: f32 = 0.42;
/// The share done once the decode graph is built too; the rest is writing their files.
const NPU_DECODE_BUILT: f32 = 0.84;

/// The steps a chat conversion with `options` runs, with their shares of the time. Measured on
/// SmolLM2-135M (int4 cpu, int8 npu, dev and release profiles alike): reading (hashing the
/// source) and the tokenizer are quick, and the npu variant, two graphs, takes a little over
/// twice as long as the cpu one. Larger models scale every step but the tokenizer alike.
fn chat_plan(options: &ChatOptions) -> Vec<(&'static str, f32)> {
    let mut plan = vec![("reading", 2.0), ("tokenizer", 1.0)];
    if options.cpu.is_some() {
        plan.push(("cpu graph", 30.0));
    }
    if options.npu.is_some() {
        plan.push(("npu graphs", 67.0));
    }
    plan
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

/// One variant's files and interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatVariant {
    /// `cpu` or `npu`.
    pub target: String,
    /// `fp32`, `int4` or `int8`.
    pub precision: String,
    /// Graph files: one for cpu; `prefill` then `decode` for npu.
    pub files: Vec<String>,
    /// External weight file shared by the graphs, if any.
    pub data_file: Option<String>,
    /// `dynamic`, or the static sizes.
    pub shapes: Shapes,
    /// Graph input names (layer inputs written with `{layer}`).
    pub inputs: Vec<String>,
    /// Graph output names.
    pub outputs: Vec<String>,
}

/// Shapes of a variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Shapes {
    /// Any batch and sequence length.
    Dynamic,
    /// Fixed: a KV cache of `context` slots, prefill in chunks of `chunk` tokens. The npu variant
    /// ships two graphs (chunk and 1) sharing one weight file, rather than one graph with
    /// free-dimension overrides, so each graph is fully static as written.
    Static {
        /// KV cache slots.
        context: usize,
        /// Prefill chunk.
        chunk: usize,
    },
}

/// The architecture's numbers, for runtimes that size caches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatArchitecture {
    /// `llama`, `qwen2`, ...
    pub name: String,
    /// Decoder layers.
    pub layers: usize,
    /// Model width.
    pub hidden: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Head size.
    pub head_dim: usize,
    /// Vocabulary size.
    pub vocab: usize,
}

/// `onyx-model.json` of a chat package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatManifest {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Always `chat`.
    pub kind: String,
    /// Model name from the source's metadata.
    pub name: String,
    /// Architecture numbers.
    pub architecture: ChatArchitecture,
    /// Where the weights came from.
    pub source: Source,
    /// The model's trained context length.
    pub context_length: usize,
    /// Special tokens.
    pub special_tokens: SpecialTokens,
    /// What the cpu variant's logits cover: `last` (only the last position).
    pub logits: String,
    /// Built variants.
    pub variants: Vec<ChatVariant>,
}

fn precision_name(format: WeightFormat) -> &'static str {
    match format {
        WeightFormat::Exact => "fp32",
        WeightFormat::Int4 => "int4",
        WeightFormat::Int8 => "int8",
        WeightFormat::Fp16 => "fp16",
    }
}

/// Per-layer input and output names, written once with a `{layer}` placeholder.
fn layer_names() -> (Vec<String>, Vec<String>) {
    (
        vec![names::past(0, "key").replace(".0.", ".{layer}."), names::past(0, "value").replace(".0.", ".{layer}.")],
        vec![
            names::present(0, "key").replace(".0.", ".{layer}."),
            names::present(0, "value").replace(".0.", ".{layer}."),
        ],
    )
}

/// Converts the chat GGUF at `gguf_path` into a package at `out_dir`.
///
/// `progress` hears each step (`reading`, `tokenizer`, `cpu graph`, `npu graphs`) as it starts,
/// and the share of the whole conversion done, often: see [`Progress`].
pub fn convert_gguf_chat(
    gguf_path: &Path,
    out_dir: &Path,
    options: &ChatOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ChatManifest, ConvertError> {
    let mut tracker = Tracker::new(progress, &chat_plan(options));
    tracker.step("reading");
    let gguf = GgufFile::open(gguf_path)?;
    let config = config_from_gguf(&gguf)?;
    let weights = GgufWeights::new(&gguf, &config);
    let name = gguf.get_str("general.name").unwrap_or("chat model").to_owned();
    let sha256 = sha256_file_reporting(gguf_path, &mut |done| tracker.advance(done))?;
    let source = Source { file: file_name(gguf_path), sha256 };
    let tokenizer = |dir: &Path| crate::tokenizer::export_tokenizer(&gguf, dir);
    write_chat_package(&config, &weights, name, source, tokenizer, out_dir, options, &mut tracker)
}

/// Converts a Hugging Face Llama-family folder (config.json, safetensors, tokenizer files)
/// into a package at `out_dir`. The tokenizer files are copied, not rebuilt. `progress` hears
/// what [`convert_gguf_chat`]'s does.
pub fn convert_hf_chat(
    dir: &Path,
    out_dir: &Path,
    options: &ChatOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ChatManifest, ConvertError> {
    let mut tracker = Tracker::new(progress, &chat_plan(options));
    tracker.step("reading");
    let config = config_from_hf(dir)?;
    let weights = SafetensorsWeights::open(dir)?;
    let source_file = weights.source().to_path_buf();
    let sha256 = sha256_file_reporting(&source_file, &mut |done| tracker.advance(done))?;
    let source = Source { file: file_name(&source_file), sha256 };
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("chat model").to_owned();
    let tokenizer = |out: &Path| copy_hf_tokenizer(dir, out, &config);
    write_chat_package(&config, &weights, name, source, tokenizer, out_dir, options, &mut tracker)
}

fn file_name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("model").to_owned()
}

/// Copies a Hugging Face folder's tokenizer files and reads the special tokens they declare.
fn copy_hf_tokenizer(dir: &Path, out: &Path, config: &LlamaConfig) -> Result<TokenizerInfo, ConvertError> {
    let tokenizer_json = dir.join("tokenizer.json");
    if !tokenizer_json.is_file() {
        return Err(ConvertError::malformed(dir, "tokenizer.json is missing (Onyx needs the fast tokenizer file)"));
    }
    for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"] {
        let from = dir.join(name);
        if from.is_file() {
            std::fs::copy(&from, out.join(name))
                .map_err(|source| ConvertError::Write { path: out.join(name), source })?;
        }
    }
    let raw = RawConfig::read(&dir.join("config.json"))?.decoder(&dir.join("config.json"))?;
    let to_u32 = |v: i64| u32::try_from(v).ok();
    let tokenizer_config: serde_json::Value = match std::fs::read(dir.join("tokenizer_config.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| ConvertError::malformed(dir.join("tokenizer_config.json"), e.to_string()))?,
        Err(_) => serde_json::Value::Null,
    };
    Ok(TokenizerInfo {
        bos_token_id: raw.bos_token_id.and_then(to_u32),
        eos_token_ids: raw.eos_token_ids.iter().copied().filter_map(to_u32).collect(),
        pad_token_id: None,
        chat_template: tokenizer_config["chat_template"].as_str().map(str::to_owned),
        vocab_size: config.vocab,
    })
}

/// Builds the variants and writes the package: the part every chat source shares.
#[allow(clippy::too_many_arguments)]
fn write_chat_package(
    config: &LlamaConfig,
    weights: &dyn Weights,
    name: String,
    source: Source,
    write_tokenizer: impl FnOnce(&Path) -> Result<TokenizerInfo, ConvertError>,
    out_dir: &Path,
    options: &ChatOptions,
    tracker: &mut Tracker<'_>,
) -> Result<ChatManifest, ConvertError> {
    let package = PartialPackage::create(out_dir)?;

    tracker.step("tokenizer");
    let tokenizer = write_tokenizer(package.dir())?;

    let (past, present) = layer_names();
    let values = llama_weight_values(config);
    let mut variants = Vec::new();
    if let Some(cpu) = options.cpu {
        tracker.step("cpu graph");
        tracker.part(0.0, CPU_BUILD);
        let mut model = llama::build_cpu(config, &ReportingWeights::new(weights, tracker, values), cpu)?;
        tracker.part(CPU_BUILD, 1.0);
        // Weights beside the graph, memory-mapped by ONNX Runtime: a graph holding them would be
        // parsed into a second copy while the session loads (80 MB more peak memory for the
        // default model), and embedding rows no prompt uses would all be read in.
        let data = onnx::externalize(&mut [&mut model], CPU_DATA_FILE, 1024);
        package.write_reporting(CPU_DATA_FILE, &data, &mut |done| tracker.advance(done))?;
        package.write("model.cpu.onnx", &model.encode())?;
        let mut inputs = vec![names::INPUT_IDS.to_owned(), names::ATTENTION_MASK.to_owned()];
        inputs.extend(past.iter().cloned());
        let mut outputs = vec![names::LOGITS.to_owned()];
        outputs.extend(present.iter().cloned());
        variants.push(ChatVariant {
            target: "cpu".into(),
            precision: precision_name(cpu.format).into(),
            files: vec!["model.cpu.onnx".into()],
            data_file: Some(CPU_DATA_FILE.into()),
            shapes: Shapes::Dynamic,
            inputs,
            outputs,
        });
        package.write_json("genai_config.json", &genai_config(config, &tokenizer))?;
    }
    if let Some(npu) = options.npu {
        tracker.step("npu graphs");
        tracker.part(0.0, NPU_PREFILL_BUILT);
        let mut prefill = llama::build_npu(config, &ReportingWeights::new(weights, tracker, values), npu, npu.chunk)?;
        tracker.part(NPU_PREFILL_BUILT, NPU_DECODE_BUILT);
        let mut decode = llama::build_npu(config, &ReportingWeights::new(weights, tracker, values), npu, 1)?;
        tracker.part(NPU_DECODE_BUILT, 1.0);
        let data = onnx::externalize(&mut [&mut prefill, &mut decode], "model.npu.data", 1024);
        package.write_reporting("model.npu.data", &data, &mut |done| tracker.advance(done))?;
        package.write("model.npu.prefill.onnx", &prefill.encode())?;
        package.write("model.npu.decode.onnx", &decode.encode())?;
        let mut inputs = vec![
            names::INPUT_IDS.to_owned(),
            npu_names::POSITION_IDS.to_owned(),
            npu_names::ATTENTION_BIAS.to_owned(),
            npu_names::LAST_INDEX.to_owned(),
        ];
        inputs.extend(past.iter().cloned());
        let mut outputs = vec![names::LOGITS.to_owned()];
        outputs.extend(present.iter().cloned());
        variants.push(ChatVariant {
            target: "npu".into(),
            precision: if npu.int8 { "int8".into() } else { "fp32".into() },
            files: vec!["model.npu.prefill.onnx".into(), "model.npu.decode.onnx".into()],
            data_file: Some("model.npu.data".into()),
            shapes: Shapes::Static { context: npu.context, chunk: npu.chunk },
            inputs,
            outputs,
        });
    }

    let manifest = ChatManifest {
        format_version: FORMAT_VERSION,
        kind: "chat".into(),
        name,
        architecture: ChatArchitecture {
            name: config.architecture.clone(),
            layers: config.layers,
            hidden: config.hidden,
            heads: config.heads,
            kv_heads: config.kv_heads,
            head_dim: config.head_dim,
            vocab: config.vocab,
        },
        source,
        context_length: config.context_length,
        special_tokens: SpecialTokens {
            bos: tokenizer.bos_token_id,
            eos: tokenizer.eos_token_ids.clone(),
            pad: tokenizer.pad_token_id,
        },
        logits: "last".into(),
        variants,
    };
    package.write_json(MANIFEST_FILE, &manifest)?;
    package.commit()?;
    tracker.finish();
    Ok(manifest)
}

/// A `genai_config.json` describing the cpu variant in onnxruntime-genai's terms.
fn genai_config(config: &LlamaConfig, tokenizer: &TokenizerInfo) -> serde_json::Value {
    let eos = match tokenizer.eos_token_ids.as_slice() {
        [single] => serde_json::json!(single),
        many => serde_json::json!(many),
    };
    serde_json::json!({
        "model": {
            "bos_token_id": tokenizer.bos_token_id,
            "context_length": config.context_length,
            "decoder": {
                "session_options": { "log_id": "onnxruntime-genai", "provider_options": [] },
                "filename": "model.cpu.onnx",
                "head_size": config.head_dim,
                "hidden_size": config.hidden,
                "inputs": {
                    "input_ids": names::INPUT_IDS,
                    "attention_mask": names::ATTENTION_MASK,
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value"
                },
                "outputs": {
                    "logits": names::LOGITS,
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value"
                },
                "num_attention_heads": config.heads,
                "num_hidden_layers": config.layers,
                "num_key_value_heads": config.kv_heads
            },
            "eos_token_id": eos,
            "pad_token_id": tokenizer.pad_token_id,
            "type": config.architecture,
            "vocab_size": config.vocab
        },
        "search": {
            "do_sample": false,
            "max_length": config.context_length,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": false,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 1,
            "top_p": 1.0
        }
    })
}
