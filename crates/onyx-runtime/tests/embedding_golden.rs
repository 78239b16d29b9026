//! The BERT embedding converter checked through the real ONNX Runtime.
//!
//! - all-MiniLM-L6-v2 (the default embedding model, fetched by `scripts/setup.sh`) is converted
//!   and run on the CPU EP, and every text in `shared/reference/golden.json` must tokenize to the
//!   reference ids and embed to within the documented cosine of what sentence-transformers
//!   computed: ≥ 0.9999 for fp32 (cpu and the static npu graph), ≥ 0.99 for int8.
//! - A tiny random-weight BERT checks that the dynamic cpu graph and the padded static npu graph
//!   compute the same thing, batched or not.
//!
//! Missing setup is a failure, never a skip: a green run must mean the model really ran.

use std::path::{Path, PathBuf};

use onyx_convert::bert;
use onyx_convert::manifest::{QuantScheme, Target};
use onyx_convert::onnx::Dim;
use onyx_convert::safetensors::{F32Tensor, write_f32};
use onyx_runtime::ort::session::Session;
use onyx_runtime::ort::value::TensorRef;
use onyx_runtime::{ModelSource, ProviderChoice, Runtime, RuntimeConfig, SessionRequest};

const CPU_EP: &str = "CPUExecutionProvider";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runtime() -> &'static Runtime {
    Runtime::init(&RuntimeConfig::default())
        .unwrap_or_else(|e| panic!("ONNX Runtime must be installed by scripts/setup.sh: {e}"))
}

fn minilm_source() -> PathBuf {
    let dir = repo_root().join("models/.sources/all-minilm-l6-v2");
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(dir.join(file).is_file(), "{} is missing: run scripts/setup.sh", dir.join(file).display());
    }
    dir
}

/// One golden case: text, reference token ids, reference embedding.
struct Golden {
    text: String,
    token_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn golden() -> Vec<Golden> {
    // shared/ sits beside the repository checkout.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("golden.json is JSON");
    let cases = json["embeddings"].as_array().expect("embeddings[]");
    assert!(!cases.is_empty());
    cases
        .iter()
        .map(|case| Golden {
            text: case["text"].as_str().expect("text").to_owned(),
            token_ids: case["token_ids"]
                .as_array()
                .expect("token_ids")
                .iter()
                .map(|v| u32::try_from(v.as_u64().expect("id")).expect("u32 id"))
                .collect(),
            embedding: case["embedding"]
                .as_array()
                .expect("embedding")
                .iter()
                .map(|v| v.as_f64().expect("f") as f32)
                .collect(),
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn cpu_session(model: &Path) -> Session {
    let built = runtime()
        .build_session(&SessionRequest::new(ModelSource::File(model), ProviderChoice::Cpu))
        .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    assert_eq!(built.provider.ep, CPU_EP);
    assert_eq!(built.provider.nodes_on_ep, built.provider.nodes_total, "{:?}", built.placement);
    built.session
}

/// One tokenized input: ids, attention mask, token types.
#[derive(Clone)]
struct Tokens {
    ids: Vec<i64>,
    mask: Vec<i64>,
    types: Vec<i64>,
}

impl Tokens {
    fn plain(ids: &[i64]) -> Self {
        Tokens { ids: ids.to_vec(), mask: vec![1; ids.len()], types: vec![0; ids.len()] }
    }
}

/// Runs a batch, right-padded with zeros (mask 0) to `length` or the longest input. Returns the
/// sentence embeddings and the token embeddings, one per input.
fn run(session: &mut Session, batch: &[Tokens], length: Option<usize>) -> (Vec<Vec<f32>>, Vec<Vec<Vec<f32>>>) {
    let longest = batch.iter().map(|t| t.ids.len()).max().unwrap_or(0);
    let length = length.unwrap_or(longest);
    assert!(longest <= length);
    let padded = |pick: fn(&Tokens) -> &Vec<i64>| {
        let mut flat = Vec::with_capacity(batch.len() * length);
        for tokens in batch {
            let row = pick(tokens);
            flat.extend_from_slice(row);
            flat.extend(std::iter::repeat_n(0, length - row.len()));
        }
        ndarray::Array2::from_shape_vec([batch.len(), length], flat).expect("shape")
    };
    let (ids, mask, types) = (padded(|t| &t.ids), padded(|t| &t.mask), padded(|t| &t.types));
    let outputs = session
        .run(onyx_runtime::ort::inputs![
            bert::INPUT_IDS => TensorRef::from_array_view(&ids).expect("ids"),
            bert::ATTENTION_MASK => TensorRef::from_array_view(&mask).expect("mask"),
            bert::TOKEN_TYPE_IDS => TensorRef::from_array_view(&types).expect("types"),
        ])
        .expect("run");
    let sentence = outputs[bert::SENTENCE_EMBEDDING].try_extract_array::<f32>().expect("sentence_embedding");
    let tokens = outputs[bert::TOKEN_EMBEDDINGS].try_extract_array::<f32>().expect("token_embeddings");
    assert_eq!(sentence.ndim(), 2);
    assert_eq!(tokens.shape()[..2], [batch.len(), length]);
    let sentences = sentence.outer_iter().map(|row| row.iter().copied().collect()).collect();
    let per_token = tokens
        .outer_iter()
        .zip(batch)
        .map(|(item, t)| item.outer_iter().take(t.ids.len()).map(|v| v.iter().copied().collect()).collect())
        .collect();
    (sentences, per_token)
}

/// Converts all-MiniLM-L6-v2 into `out` and checks tokenization; returns the package's
/// tokenized golden cases.
fn convert_minilm(out: &Path, targets: &[Target], precision: QuantScheme) -> (Vec<Golden>, Vec<Tokens>) {
    let summary = bert::convert_embedding(&minilm_source(), out, targets, precision).expect("convert all-MiniLM-L6-v2");
    assert_eq!(summary.manifest.embedding.as_ref().map(|e| e.dim), Some(384));
    assert_eq!(summary.manifest.context_length, 256);
    let tokenizer = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).expect("package tokenizer");
    let cases = golden();
    let tokens = cases
        .iter()
        .map(|case| {
            let encoding = tokenizer.encode(case.text.as_str(), true).expect("encode");
            assert_eq!(encoding.get_ids(), case.token_ids, "token ids of {:?}", case.text);
            Tokens {
                ids: encoding.get_ids().iter().map(|&i| i64::from(i)).collect(),
                mask: encoding.get_attention_mask().iter().map(|&m| i64::from(m)).collect(),
                types: encoding.get_type_ids().iter().map(|&t| i64::from(t)).collect(),
            }
        })
        .collect();
    (cases, tokens)
}

/// Cosine of each embedding to its reference; prints them and returns the smallest.
fn report(label: &str, cases: &[Golden], embeddings: &[Vec<f32>]) -> f64 {
    let mut worst = f64::INFINITY;
    for (case, embedding) in cases.iter().zip(embeddings) {
        let norm = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{label}: {:?} has norm {norm}", case.text);
        let c = cosine(embedding, &case.embedding);
        println!("{label}: cosine {c:.7} (1 - cos = {:.1e}) for {:?}", 1.0 - c, case.text);
        worst = worst.min(c);
    }
    println!("{label}: minimum cosine {worst:.7} (1 - cos = {:.1e}) over {} texts", 1.0 - worst, cases.len());
    worst
}

#[test]
fn minilm_fp32_matches_sentence_transformers_on_cpu_and_static_npu_graphs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("all-minilm-l6-v2");
    let (cases, tokens) = convert_minilm(&out, &[Target::Cpu, Target::Npu], QuantScheme::Fp32);

    // The cpu graph takes the whole set as one padded batch, which also checks that padding is
    // masked out of attention and pooling.
    let mut cpu = cpu_session(&out.join("model.cpu.onnx"));
    let (batched, _) = run(&mut cpu, &tokens, None);
    let worst_cpu = report("fp32 cpu (one padded batch)", &cases, &batched);

    // The npu graph is static: one text at a time, padded to 256 tokens, here on the CPU EP.
    let mut npu = cpu_session(&out.join("model.npu.onnx"));
    let single: Vec<Vec<f32>> =
        tokens.iter().map(|t| run(&mut npu, std::slice::from_ref(t), Some(bert::NPU_SEQUENCE)).0.remove(0)).collect();
    let worst_npu = report("fp32 npu (static 1x256)", &cases, &single);

    assert!(worst_cpu >= 0.9999, "fp32 cpu minimum cosine {worst_cpu}");
    assert!(worst_npu >= 0.9999, "fp32 npu minimum cosine {worst_npu}");
}

#[test]
fn minilm_int8_stays_close_to_sentence_transformers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("all-minilm-l6-v2-int8");
    let (cases, tokens) = convert_minilm(&out, &[Target::Cpu, Target::Npu], QuantScheme::Int8);
    let mut cpu = cpu_session(&out.join("model.cpu.onnx"));
    let (batched, _) = run(&mut cpu, &tokens, None);
    let worst_cpu = report("int8 cpu", &cases, &batched);
    let mut npu = cpu_session(&out.join("model.npu.onnx"));
    let single: Vec<Vec<f32>> =
        tokens.iter().map(|t| run(&mut npu, std::slice::from_ref(t), Some(bert::NPU_SEQUENCE)).0.remove(0)).collect();
    let worst_npu = report("int8 npu (static 1x256)", &cases, &single);
    let sizes: Vec<String> = ["model.cpu.onnx", "model.npu.onnx"]
        .iter()
        .map(|f| format!("{f} {} bytes", std::fs::metadata(out.join(f)).expect("size").len()))
        .collect();
    println!("int8 package: {}", sizes.join(", "));
    assert!(worst_cpu >= 0.99, "int8 cpu minimum cosine {worst_cpu}");
    assert!(worst_npu >= 0.99, "int8 npu minimum cosine {worst_npu}");
}

// ---- the tiny model ----

const HIDDEN: usize = 32;
const LAYERS: usize = 2;
const INTERMEDIATE: usize = 64;
const VOCAB: usize = 100;
const POSITIONS: usize = 512;

/// Deterministic pseudo-random values in `[-scale, scale]` (xorshift).
fn values(seed: u64, count: usize, scale: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// A 2-layer, 32-wide, 4-head BERT with random weights and a minimal tokenizer.
fn tiny_bert(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let config = serde_json::json!({
        "model_type": "bert", "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": 4,
        "intermediate_size": INTERMEDIATE, "max_position_embeddings": POSITIONS, "type_vocab_size": 2,
        "vocab_size": VOCAB, "layer_norm_eps": 1e-12, "hidden_act": "gelu"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("config");
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[PAD]": 0, "[UNK]": 1}, "unk_token": "[UNK]"}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).expect("tokenizer");

    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        let seed = tensors.len() as u64 + 7;
        let v = values(seed, shape.iter().product(), scale).into_iter().map(|x| x + offset).collect();
        tensors.push((name, shape, v));
    };
    add("embeddings.word_embeddings.weight".into(), vec![VOCAB, HIDDEN], 0.5, 0.0);
    add("embeddings.position_embeddings.weight".into(), vec![POSITIONS, HIDDEN], 0.5, 0.0);
    add("embeddings.token_type_embeddings.weight".into(), vec![2, HIDDEN], 0.5, 0.0);
    add("embeddings.LayerNorm.weight".into(), vec![HIDDEN], 0.1, 1.0);
    add("embeddings.LayerNorm.bias".into(), vec![HIDDEN], 0.1, 0.0);
    for layer in 0..LAYERS {
        for (name, shape, scale, offset) in [
            ("attention.self.query", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.self.key", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.self.value", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.output.dense", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("intermediate.dense", vec![INTERMEDIATE, HIDDEN], 0.3, 0.0),
            ("output.dense", vec![HIDDEN, INTERMEDIATE], 0.3, 0.0),
            ("attention.output.LayerNorm", vec![HIDDEN], 0.1, 1.0),
            ("output.LayerNorm", vec![HIDDEN], 0.1, 1.0),
        ] {
            let out_features = shape[0];
            add(format!("encoder.layer.{layer}.{name}.weight"), shape, scale, offset);
            add(format!("encoder.layer.{layer}.{name}.bias"), vec![out_features], 0.1, 0.0);
        }
    }
    let views: Vec<F32Tensor<'_>> =
        tensors.iter().map(|(name, shape, v)| F32Tensor { name, shape, values: v }).collect();
    write_f32(&dir.join("model.safetensors"), &views).expect("safetensors");
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn tiny_bert_cpu_and_static_npu_graphs_agree_batched_or_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    tiny_bert(&src);

    // The npu graph as built: fixed dims everywhere, standard-domain ops only.
    let npu_model = bert::build_model(&src, Target::Npu, QuantScheme::Fp32).expect("npu model");
    for value in npu_model.graph.inputs.iter().chain(&npu_model.graph.outputs) {
        let shape = value.shape.as_ref().expect("shape");
        assert!(shape.len() <= 4 && shape.iter().all(|d| matches!(d, Dim::Fixed(_))), "{value:?}");
    }
    assert!(npu_model.graph.nodes.iter().all(|n| n.domain.is_empty()), "non-standard op in the npu graph");

    let out = dir.path().join("tiny");
    bert::convert_embedding(&src, &out, &[Target::Cpu, Target::Npu], QuantScheme::Fp32).expect("convert");
    let mut cpu = cpu_session(&out.join("model.cpu.onnx"));
    let mut npu = cpu_session(&out.join("model.npu.onnx"));

    let mut typed = Tokens::plain(&[2, 50, 51, 52, 3]);
    typed.types = vec![0, 0, 1, 1, 1];
    let inputs = vec![
        Tokens::plain(&[2, 17, 42, 3]),
        Tokens::plain(&[2, 5, 6, 7, 8, 9, 10, 11, 12, 99, 3]),
        Tokens::plain(&[2, 3]),
        typed,
        Tokens::plain(&(0..bert::NPU_SEQUENCE as i64).map(|i| i % VOCAB as i64).collect::<Vec<_>>()),
    ];
    let (batched, batched_tokens) = run(&mut cpu, &inputs, None);
    let mut worst = 0.0f32;
    for (i, tokens) in inputs.iter().enumerate() {
        let (alone, alone_tokens) = run(&mut cpu, std::slice::from_ref(tokens), None);
        let (static_, static_tokens) = run(&mut npu, std::slice::from_ref(tokens), Some(bert::NPU_SEQUENCE));
        let norm = batched[i].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "input {i}: norm {norm}");
        let diffs = [
            max_abs_diff(&batched[i], &alone[0]),
            max_abs_diff(&alone[0], &static_[0]),
            max_abs_diff(&batched_tokens[i].concat(), &alone_tokens[0].concat()),
            max_abs_diff(&alone_tokens[0].concat(), &static_tokens[0].concat()),
        ];
        println!(
            "tiny input {i} ({} tokens): max |diff| batched/alone {:.2e}, cpu/npu {:.2e}; token vectors {:.2e}, {:.2e}",
            tokens.ids.len(),
            diffs[0],
            diffs[1],
            diffs[2],
            diffs[3]
        );
        worst = diffs.into_iter().fold(worst, f32::max);
    }
    assert!(worst < 1e-4, "cpu and npu graphs disagree by {worst}");

    // Token types matter: the same ids with other segment ids give another embedding.
    let mut retyped = inputs[3].clone();
    retyped.types = vec![0; retyped.ids.len()];
    let (other, _) = run(&mut cpu, &[retyped], None);
    assert!(max_abs_diff(&other[0], &batched[3]) > 1e-3, "token_type_ids had no effect");
}
