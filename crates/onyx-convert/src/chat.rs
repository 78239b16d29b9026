//! Converting a chat model (a Llama-family GGUF) into an Onyx model package.
//!
//! ```text
//! <out>/onyx-model.json         manifest (see [`crate::manifest`])
//! <out>/tokenizer.json          for the `tokenizers` crate
//! <out>/tokenizer_config.json   chat template, bos/eos, special tokens
//! <out>/genai_config.json       so onnxruntime-genai can also run the cpu variant
//! <out>/model.cpu.onnx          dynamic shapes, GroupQueryAttention, MatMulNBits int4 (or exact f32)
//! <out>/model.cpu.data          the cpu graph's weights (memory-mapped when loaded)
//! <out>/model.npu.prefill.onnx  static: a prefill chunk over the fixed KV cache
//! <out>/model.npu.decode.onnx   static: one token over the fixed KV cache
//! <out>/model.npu.data          the npu graphs' weights, stored once and shared by both
//! ```

use std::ops::ControlFlow;
use std::path::Path;

use crate::ConvertError;
use crate::gguf::GgufFile;
use crate::gguf_llama::{GgufWeights, config_from_gguf};
use crate::hf::RawConfig;
use crate::hf_llama::{SafetensorsWeights, config_from_hf};
use crate::llama::{self, CpuOptions, LlamaConfig, NpuOptions, Weights, calibration, names, npu_names};
use crate::manifest::{
    Architecture, ChatInfo, FORMAT_VERSION, MANIFEST_FILE, Manifest, ModelKind, QuantScheme, Shapes, Source,
    SpecialTokens, Target, Variant,
};
use crate::onnx;
use crate::package::{PartialPackage, sha256_file_reporting};
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

impl ChatOptions {
    /// The variants `onyx convert --target T --quant Q` and the app's import build: the cpu
    /// variant in `quant` (int4 when none is asked for), the npu variant in int8, what NPUs run
    /// fast, unless fp32 was asked for (it builds nothing else).
    pub fn for_targets(targets: &[Target], quant: Option<QuantScheme>) -> Result<Self, String> {
        if targets.is_empty() {
            return Err("no target requested (expected cpu and/or npu)".into());
        }
        let cpu = CpuOptions::with_quant(quant.unwrap_or(QuantScheme::Int4));
        let npu_quant = if quant == Some(QuantScheme::Fp32) { QuantScheme::Fp32 } else { QuantScheme::Int8 };
        Ok(ChatOptions {
            cpu: targets.contains(&Target::Cpu).then_some(cpu),
            npu: targets.contains(&Target::Npu).then_some(NpuOptions { quant: npu_quant, ..NpuOptions::default() }),
        })
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
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Manifest, ConvertError> {
    let mut tracker = Tracker::new(progress, &chat_plan(options));
    tracker.step("reading")?;
    let gguf = GgufFile::open(gguf_path)?;
    let config = config_from_gguf(&gguf)?;
    let weights = GgufWeights::new(&gguf, &config);
    let name = gguf.get_str("general.name").unwrap_or("chat model").to_owned();
    let sha256 = sha256_file_reporting(gguf_path, &mut |done| tracker.advance(done))?;
    let source = Source { file: file_name(gguf_path), sha256, shards: Vec::new() };
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
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Manifest, ConvertError> {
    let mut tracker = Tracker::new(progress, &chat_plan(options));
    tracker.step("reading")?;
    let config = config_from_hf(dir)?;
    let weights = SafetensorsWeights::open(dir)?;
    let source_file = weights.source().to_path_buf();
    let sha256 = sha256_file_reporting(&source_file, &mut |done| tracker.advance(done))?;
    let source = Source { file: file_name(&source_file), sha256, shards: Vec::new() };
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
) -> Result<Manifest, ConvertError> {
    let package = PartialPackage::create(out_dir)?;

    tracker.step("tokenizer")?;
    let tokenizer = write_tokenizer(package.dir())?;

    let (past, present) = layer_names();
    let values = llama_weight_values(config);
    let mut variants = Vec::new();
    if let Some(cpu) = options.cpu {
        tracker.step("cpu graph")?;
        tracker.part(0.0, CPU_BUILD)?;
        let mut model = llama::build_cpu(config, &ReportingWeights::new(weights, tracker, values), cpu)?;
        tracker.part(CPU_BUILD, 1.0)?;
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
        variants.push(Variant {
            target: Target::Cpu,
            quant: cpu.quant,
            files: vec!["model.cpu.onnx".into()],
            data_file: Some(CPU_DATA_FILE.into()),
            shapes: Shapes::Dynamic,
            inputs,
            outputs,
        });
        package.write_json("genai_config.json", &genai_config(config, &tokenizer))?;
    }
    if let Some(npu) = options.npu {
        tracker.step("npu graphs")?;
        // The w8a16 graphs' activation grids come from running the model on calibration text,
        // once for both graphs.
        let calibration = match npu.quant {
            QuantScheme::Int8 => {
                let mut tokens =
                    calibration::conversation_tokens(&package.dir().join("tokenizer.json"), tokenizer.bos_token_id)?;
                // The graphs never see more than their KV cache holds.
                tokens.iter_mut().for_each(|t| t.truncate(npu.context.min(config.context_length)));
                Some(calibration::calibrate(config, weights, &tokens)?)
            }
            _ => None,
        };
        tracker.part(0.0, NPU_PREFILL_BUILT)?;
        let mut prefill = llama::build_npu(
            config,
            &ReportingWeights::new(weights, tracker, values),
            npu,
            npu.chunk,
            calibration.as_ref(),
        )?;
        tracker.part(NPU_PREFILL_BUILT, NPU_DECODE_BUILT)?;
        let mut decode =
            llama::build_npu(config, &ReportingWeights::new(weights, tracker, values), npu, 1, calibration.as_ref())?;
        tracker.part(NPU_DECODE_BUILT, 1.0)?;
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
        variants.push(Variant {
            target: Target::Npu,
            quant: npu.quant,
            files: vec!["model.npu.prefill.onnx".into(), "model.npu.decode.onnx".into()],
            data_file: Some("model.npu.data".into()),
            shapes: Shapes::Static { batch: 1, sequence: npu.chunk, context: Some(npu.context) },
            inputs,
            outputs,
        });
    }

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kind: ModelKind::Chat,
        name,
        architecture: Architecture {
            name: config.architecture.clone(),
            layers: Some(config.layers),
            hidden: Some(config.hidden),
            heads: Some(config.heads),
            kv_heads: Some(config.kv_heads),
            head_dim: Some(config.head_dim),
            vocab: Some(config.vocab),
        },
        source,
        context_length: config.context_length,
        chat: Some(ChatInfo {
            special_tokens: SpecialTokens {
                bos: tokenizer.bos_token_id,
                eos: tokenizer.eos_token_ids.clone(),
                pad: tokenizer.pad_token_id,
            },
            logits: "last".into(),
        }),
        embedding: None,
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
