//! BERT sentence-embedding models (all-MiniLM-L6-v2 and its relatives) as Onyx model packages.
//!
//! What flows in: a Hugging Face folder (`config.json`, safetensors weights, `tokenizer.json`,
//! optionally the sentence-transformers files). What flows out: a package folder with one ONNX
//! graph per [`Target`], the tokenizer files and `onyx-model.json`.
//!
//! The graph does the whole sentence-transformers pipeline, so the engine only tokenizes and
//! reads one vector back: embeddings, the encoder layers, mean pooling under the attention mask
//! and L2 normalisation. It uses standard opset-21 operators only, with tensors of rank four at
//! most, because NPU compilers (QNN, OpenVINO) take nothing else. The `npu` graph is fully
//! static (batch 1, [`NPU_SEQUENCE`] tokens, padded); the `cpu` graph has dynamic batch and
//! sequence dimensions.
//!
//! Int8 builds quantize the six matrices of each layer, symmetric, one scale per output channel.
//! Embedding tables and LayerNorms stay fp32: they are a small share of the compute and
//! quantizing them costs accuracy. The two targets differ in how:
//!
//! - `npu`: w8a16 ([`crate::qdq`]): int8 weights with one scale per output channel, multiplied
//!   with 16-bit activations on static grids from the same calibration pass, so Qualcomm's HTP
//!   compiler takes every product whole with the int8 weights inside its context binary. NPUs
//!   need static grids: `DynamicQuantizeLinear` is a dynamic-range op most of them lack.
//! - `cpu`: int8 × int8 products. Activations are quantized at run time (`DynamicQuantizeLinear`,
//!   one uint8 scale per tensor) and multiplied with `MatMulInteger`, which ORT's CPU EP fuses into
//!   MLAS's u8×s8 GEMM: about twice the f32 GEMM's speed where the CPU has VNNI. One scale per
//!   tensor only works if no channel dwarfs the rest, and BERT has such channels, so the fp32
//!   model is first run on a few sentences ([`calibration`]) to find them: outlier channels of
//!   the attention and FFN inputs are divided down (the weights absorb the factors, exactly), and
//!   the few widest FFN channels are computed in fp32 beside the int8 products. Weights use 7 bits
//!   (±63): u8×s8 pairs then cannot overflow the 16-bit sums of x86 CPUs without VNNI.
//!
//! All initializers of 1 KiB or more go to a data file next to the graph (`model.<target>.data`),
//! which ONNX Runtime memory-maps: loading then copies no weights, and embedding rows that no
//! text uses are never read into memory.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

mod calibration;
mod encoder;
mod source;

use encoder::BertGraph;
pub use source::BertSource;

use crate::ConvertError;
use crate::graph;
use crate::hf::{self, BertConfig, Pooling, RawConfig, SentenceTransformers};
use crate::onnx::{self, AttributeValue, DataType, Dim, Model, Tensor};
use crate::package::{PartialPackage, sha256_file_reporting};
use crate::progress::{Progress, Tracker};
use crate::safetensors::{Dtype, SafeTensors};

/// Token ids, int64 `[batch, sequence]`.
pub const INPUT_IDS: &str = "input_ids";
/// 1 for real tokens, 0 for padding, int64 `[batch, sequence]`.
pub const ATTENTION_MASK: &str = "attention_mask";
/// Segment ids (all 0 for single texts), int64 `[batch, sequence]`.
pub const TOKEN_TYPE_IDS: &str = "token_type_ids";
/// The pooled, unit-length embedding, float `[batch, hidden]`.
pub const SENTENCE_EMBEDDING: &str = "sentence_embedding";
/// The last layer's token vectors, float `[batch, sequence, hidden]`; free, since pooling needs
/// them anyway, and useful for late-interaction search.
pub const TOKEN_EMBEDDINGS: &str = "token_embeddings";

/// Sequence length of the static `npu` graph (shorter texts are padded, longer ones truncated):
/// all-MiniLM-L6-v2's trained `max_seq_length`, and long enough for typical search chunks.
pub const NPU_SEQUENCE: usize = 256;
/// Batch size of the static `npu` graph.
pub const NPU_BATCH: usize = 1;

/// The additive attention bias for padding. Finite on purpose: a row whose keys are all padding
/// (the padded query rows of the static graph) must give a harmless softmax, not NaN, and fp16
/// NPUs cannot hold -inf arithmetic safely. `exp(-10000)` is exactly 0 in f32 either way.
const MASK_BIAS: f32 = -10_000.0;
/// sentence-transformers clamps the token count and the norm with these to avoid dividing by 0.
const MIN_TOKEN_COUNT: f32 = 1e-9;
const MIN_NORM: f32 = 1e-12;
/// Opset 21 for both targets: the npu graph needs its 16-bit `QuantizeLinear`.
const OPSET: i64 = crate::qdq::OPSET;
/// How far int8 cpu builds shrink outlier activation channels: 0 leaves them, 1 brings them to
/// the median. 0.75 measured best on all-MiniLM-L6-v2 (minimum cosine to fp32 over golden.json).
const SMOOTHING_STRENGTH: f32 = 0.75;
/// Weight range of the int8 cpu products: 7 bits, so a u8 activation times an s8 weight, summed
/// in pairs, stays within i16 (255·63·2 < 32767) on x86 CPUs without VNNI, whose u8×s8
/// instruction saturates there. Cost on all-MiniLM-L6-v2: 0.002 of the minimum golden cosine.
const DYNAMIC_WEIGHT_LIMIT: i8 = 63;
/// Initializers at least this large go to the data file.
const EXTERNAL_THRESHOLD: usize = 1024;
/// Feed-forward channels int8 cpu builds keep in fp32, per layer (at most 1/16 of them). 16 of
/// all-MiniLM-L6-v2's 1536 hold the activations up to 30× the median channel's.
const FFN_OUTLIERS: usize = 16;

use crate::manifest::{
    Architecture, EmbeddingInfo, FORMAT_VERSION, MANIFEST_FILE, Manifest, ModelKind, QuantScheme, Shapes, Source,
    SourceFile, Target, Variant,
};

/// What [`convert_embedding`] wrote.
#[derive(Clone, Debug)]
pub struct PackageSummary {
    /// The package folder.
    pub dir: PathBuf,
    /// Its manifest, as written.
    pub manifest: Manifest,
}

/// Builds the ONNX model for one target; see [`BertSource::build`].
pub fn build_model(src_dir: &Path, target: Target, precision: QuantScheme) -> Result<Model, ConvertError> {
    BertSource::open(src_dir)?.build(target, precision)
}

fn check_precision(src_dir: &Path, precision: QuantScheme) -> Result<(), ConvertError> {
    match precision {
        QuantScheme::Fp32 | QuantScheme::Int8 => Ok(()),
        QuantScheme::Fp16 | QuantScheme::Int4 => Err(ConvertError::unsupported(
            src_dir,
            format!("precision {precision} for BERT embedding models (fp32 and int8 are built)"),
        )),
    }
}

/// Where hashing the source starts within the `embedding graphs` step, after every graph.
const HASHING_STARTS: f32 = 0.93;

/// Converts the BERT checkpoint in `src_dir` into an Onyx embedding package at `out_dir`, with
/// one graph per target.
///
/// Everything is checked before anything is written, and the package is assembled in a sibling
/// folder (`<out_dir>.partial-<pid>`) that is renamed into place at the end, so a failure never
/// leaves a half-written package. An existing package at `out_dir` is replaced; any other
/// existing, non-empty folder is left alone and reported.
pub fn convert_embedding(
    src_dir: &Path,
    out_dir: &Path,
    targets: &[Target],
    precision: QuantScheme,
) -> Result<PackageSummary, ConvertError> {
    convert_embedding_with_progress(src_dir, out_dir, targets, precision, &mut crate::progress::no_progress)
}

/// [`convert_embedding`], telling `progress` each step (`reading`, `embedding graphs`) as it
/// starts and the share of the whole conversion done: see [`Progress`].
pub fn convert_embedding_with_progress(
    src_dir: &Path,
    out_dir: &Path,
    targets: &[Target],
    precision: QuantScheme,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<PackageSummary, ConvertError> {
    // Reading checks every tensor's header and prepares the tokenizer, quick next to building,
    // writing and hashing (timed on all-MiniLM-L6-v2).
    let mut tracker = Tracker::new(progress, &[("reading", 5.0), ("embedding graphs", 95.0)]);
    tracker.step("reading")?;
    let mut unique_targets: Vec<Target> = Vec::new();
    for &target in targets {
        if !unique_targets.contains(&target) {
            unique_targets.push(target);
        }
    }
    if unique_targets.is_empty() {
        return Err(ConvertError::unsupported(out_dir, "no target requested (expected cpu and/or npu)"));
    }
    check_precision(src_dir, precision)?;
    let source = BertSource::open(src_dir)?;
    let tokenizer = prepared_tokenizer(src_dir, source.context_length())?;

    let partial = PartialPackage::create(out_dir)?;
    tracker.step("embedding graphs")?;
    // Each target's graph gets an equal slice, 60% building and 40% writing; hashing the source
    // closes the step (timed on all-MiniLM-L6-v2, as the shares above).
    let slice = HASHING_STARTS / unique_targets.len() as f32;
    let mut variants = Vec::new();
    for (index, &target) in unique_targets.iter().enumerate() {
        let start = slice * index as f32;
        tracker.part(start, start + slice * 0.6)?;
        let file = format!("model.{target}.onnx");
        let mut model = source.build(target, precision)?;
        tracker.part(start + slice * 0.6, start + slice)?;
        let data_file = format!("model.{target}.data");
        let data = onnx::externalize(&mut [&mut model], &data_file, EXTERNAL_THRESHOLD);
        partial.write_reporting(&data_file, &data, &mut |done| tracker.advance(done))?;
        let bytes = model.encode();
        partial.write(&file, &bytes)?;
        let shapes = match target {
            Target::Cpu => Shapes::Dynamic,
            Target::Npu => Shapes::Static { batch: NPU_BATCH, sequence: source.npu_sequence(), context: None },
        };
        variants.push(Variant {
            target,
            quant: precision,
            files: vec![file],
            data_file: Some(data_file),
            shapes,
            inputs: [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS].map(str::to_owned).to_vec(),
            outputs: [SENTENCE_EMBEDDING, TOKEN_EMBEDDINGS].map(str::to_owned).to_vec(),
        });
    }

    partial.write("tokenizer.json", &tokenizer)?;
    for optional in ["tokenizer_config.json", "special_tokens_map.json"] {
        let from = src_dir.join(optional);
        if from.is_file() {
            let bytes = std::fs::read(&from).map_err(|e| ConvertError::Io { path: from.clone(), source: e })?;
            partial.write(optional, &bytes)?;
        }
    }

    tracker.part(HASHING_STARTS, 1.0)?;
    let config = &source.config;
    let name = src_dir.file_name().map_or_else(|| "embedding model".to_owned(), |n| n.to_string_lossy().into_owned());
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kind: ModelKind::Embedding,
        name,
        architecture: Architecture {
            name: "bert".to_owned(),
            layers: Some(config.num_hidden_layers),
            hidden: Some(config.hidden_size),
            heads: Some(config.num_attention_heads),
            kv_heads: Some(config.num_attention_heads),
            head_dim: Some(config.head_dim()),
            vocab: Some(config.vocab_size),
        },
        source: source_info(&source.weights, &mut |done| tracker.advance(done))?,
        context_length: source.context_length(),
        chat: None,
        embedding: Some(EmbeddingInfo {
            dim: config.hidden_size,
            pooling: Pooling::Mean,
            normalize: true,
            prefixes: source.sentence_transformers.as_ref().map(|st| st.prefixes.clone()).unwrap_or_default(),
        }),
        variants,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ConvertError::Write { path: partial.dir().join(MANIFEST_FILE), source: e.into() })?;
    partial.write(MANIFEST_FILE, &json)?;
    partial.commit()?;
    tracker.finish();
    Ok(PackageSummary { dir: out_dir.to_path_buf(), manifest })
}

/// `tokenizer.json`, checked and set up the way the package is meant to be used: truncation at
/// the context length and no padding. Exports often carry stale settings (all-MiniLM-L6-v2's
/// pads and truncates to 128 although the model is used at 256), and the engine pads itself.
fn prepared_tokenizer(src_dir: &Path, context_length: usize) -> Result<Vec<u8>, ConvertError> {
    let path = src_dir.join("tokenizer.json");
    let mut tokenizer: serde_json::Value = hf::read_json(&path)?;
    let Some(object) = tokenizer.as_object_mut() else {
        return Err(ConvertError::malformed(&path, "not a JSON object"));
    };
    if !object.contains_key("model") {
        return Err(ConvertError::malformed(&path, "no 'model' key: not a tokenizers file"));
    }
    object.insert("padding".to_owned(), serde_json::Value::Null);
    object.insert(
        "truncation".to_owned(),
        serde_json::json!({
            "direction": "Right", "max_length": context_length, "strategy": "LongestFirst", "stride": 0
        }),
    );
    serde_json::to_vec(&tokenizer).map_err(|e| ConvertError::malformed(&path, e.to_string()))
}

/// The source record, hashing every file; `progress` hears the share of the files hashed.
fn source_info(
    weights: &SafeTensors,
    progress: &mut dyn FnMut(f32) -> Result<(), ConvertError>,
) -> Result<Source, ConvertError> {
    let name = |path: &Path| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let source = weights.source();
    let sharded = !weights.files().any(|f| f == source);
    let files: Vec<&Path> = if sharded { weights.files().chain([source]).collect() } else { vec![source] };
    let count = files.len() as f32;
    let mut hashes = Vec::new();
    for (index, file) in files.iter().enumerate() {
        hashes.push(sha256_file_reporting(file, &mut |done| progress((index as f32 + done) / count))?);
    }
    let sha256 = hashes.pop().unwrap_or_default();
    let shards = if sharded {
        files.iter().zip(hashes).map(|(file, sha256)| SourceFile { file: name(file), sha256 }).collect()
    } else {
        Vec::new()
    };
    Ok(Source { file: name(source), sha256, shards })
}
