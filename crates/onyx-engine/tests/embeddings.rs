//! The embedding engine on the real default model, all-MiniLM-L6-v2 as packaged by
//! `scripts/setup.sh`, through the public API only.
//!
//! The reference is `shared/reference/golden.json`, computed by sentence-transformers. Every text
//! must embed to within the documented cosine of its reference ([`Accuracy`], by the package's
//! weight precision: 0.9999 for fp32, 0.99 for int8): in one padded batch and one by one on the
//! dynamic cpu graph, and on the static npu graph (run on the CPU EP here). The pairwise cosine
//! matrix must match the reference's within the documented tolerance too. Run with `--nocapture`
//! to see the measured values.
//!
//! Missing setup is a failure, never a skip: a green run must mean the model really ran.

use std::path::{Path, PathBuf};

use onyx_convert::manifest::{Manifest, QuantScheme, Target};
use onyx_engine::embed::{EmbeddingModel, TextKind, Variant, cosine};
use onyx_engine::{CancelToken, EngineError};
use onyx_runtime::{ProviderChoice, Runtime, RuntimeConfig};

const CPU_EP: &str = "CPUExecutionProvider";
const DIM: usize = 384;

/// What a graph is documented to achieve against sentence-transformers.
#[derive(Clone, Copy, Debug)]
struct Accuracy {
    /// Smallest cosine of any text to its reference.
    min_cosine: f32,
    /// Largest difference between the pairwise cosine matrix and golden.json's.
    matrix: f32,
    /// Smallest cosine between two vectors of the same text embedded in different batches.
    rebatched: f32,
}

/// fp32 graphs. golden.json rounds its cosine matrix to 5 decimals; 1e-4 leaves room for that.
const FP32: Accuracy = Accuracy { min_cosine: 0.9999, matrix: 1e-4, rebatched: 0.99999 };
/// int8 graphs, held to the 0.99 cosine the embedding issue allows (0.9940 measured for the cpu
/// graph on all-MiniLM-L6-v2). The cpu graph quantizes activations with one scale per run, so a
/// vector also depends on the texts batched with it: two batchings of the same text must agree as
/// closely as each must agree with its reference (0.9962 measured). Pairwise cosines moved by up
/// to 0.019; 0.03 catches a regression without failing on the noise of a rebuilt package.
const INT8: Accuracy = Accuracy { min_cosine: 0.99, matrix: 0.03, rebatched: 0.99 };

/// The documented accuracy of `variant` in the package at `dir`, by its weight precision.
fn accuracy(dir: &Path, variant: Variant) -> Accuracy {
    let manifest = Manifest::read(&dir.join("onyx-model.json")).expect("embedding manifest");
    let target = match variant {
        Variant::Cpu => Target::Cpu,
        Variant::Npu => Target::Npu,
    };
    let entry = manifest.variant(target).expect("variant in the manifest");
    let accuracy = if entry.quant == QuantScheme::Fp32 { FP32 } else { INT8 };
    println!("{} variant, {}: {accuracy:?}", target.as_str(), entry.quant);
    accuracy
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runtime() -> &'static Runtime {
    Runtime::init(&RuntimeConfig::default())
        .unwrap_or_else(|e| panic!("ONNX Runtime must be installed by scripts/setup.sh: {e}"))
}

/// The default embedding package.
fn package() -> PathBuf {
    let dir = repo_root().join("models/all-minilm-l6-v2");
    for file in ["onyx-model.json", "tokenizer.json", "model.cpu.onnx", "model.npu.onnx"] {
        assert!(dir.join(file).is_file(), "{} is missing: run scripts/setup.sh", dir.join(file).display());
    }
    dir
}

/// The checkpoint the package was built from; its sentence-transformers files describe pooling.
fn source() -> PathBuf {
    let dir = repo_root().join("models/.sources/all-minilm-l6-v2");
    for file in ["modules.json", "1_Pooling/config.json", "sentence_bert_config.json"] {
        assert!(dir.join(file).is_file(), "{} is missing: run scripts/setup.sh", dir.join(file).display());
    }
    dir
}

struct Golden {
    texts: Vec<String>,
    embeddings: Vec<Vec<f32>>,
    /// Pairwise cosines of the reference embeddings.
    cosine: Vec<Vec<f32>>,
}

impl Golden {
    fn texts(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}

fn floats(value: &serde_json::Value) -> Vec<f32> {
    value.as_array().expect("array of numbers").iter().map(|v| v.as_f64().expect("number") as f32).collect()
}

fn golden() -> Golden {
    // shared/ sits beside the repository checkout.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("golden.json is JSON");
    let cases = json["embeddings"].as_array().expect("embeddings[]");
    let golden = Golden {
        texts: cases.iter().map(|c| c["text"].as_str().expect("text").to_owned()).collect(),
        embeddings: cases.iter().map(|c| floats(&c["embedding"])).collect(),
        cosine: json["cosine"].as_array().expect("cosine[]").iter().map(floats).collect(),
    };
    assert_eq!(golden.texts.len(), 12, "golden.json should hold 12 embedding texts");
    assert_eq!(golden.cosine.len(), golden.texts.len());
    golden
}

fn token() -> CancelToken {
    runtime();
    CancelToken::new().expect("cancel token")
}

fn load(dir: &Path, variant: Option<Variant>) -> EmbeddingModel {
    let result = match variant {
        None => EmbeddingModel::load(runtime(), dir, &ProviderChoice::Cpu, false),
        Some(variant) => EmbeddingModel::load_variant(runtime(), dir, &ProviderChoice::Cpu, false, variant),
    };
    let model = result.unwrap_or_else(|e| panic!("load {}: {e}", dir.display()));
    assert_eq!(model.provider().ep, CPU_EP);
    assert_eq!(model.dim(), DIM);
    println!("loaded {model:?}");
    model
}

/// `1 - cosine`, in f64.
fn gap(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    1.0 - dot / (norm(a) * norm(b))
}

/// Checks each vector's length and norm, prints its cosine to the reference, returns the smallest.
fn worst_cosine(label: &str, golden: &Golden, order: &[usize], vectors: &[Vec<f32>]) -> f32 {
    assert_eq!(vectors.len(), order.len(), "{label}: one vector per text");
    let mut worst = f32::INFINITY;
    for (&case, vector) in order.iter().zip(vectors) {
        assert_eq!(vector.len(), DIM, "{label}: width");
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{label}: {:?} has norm {norm}", golden.texts[case]);
        let c = cosine(vector, &golden.embeddings[case]);
        // The f32 result rounds to 1.0 this close; the f64 gap shows how close it really is.
        println!(
            "{label}: cosine {c:.7} (1 - cos = {:.1e}) for {:?}",
            gap(vector, &golden.embeddings[case]),
            golden.texts[case]
        );
        worst = worst.min(c);
    }
    println!("{label}: minimum cosine {worst:.7} over {} texts", vectors.len());
    worst
}

/// The pairwise cosine matrix of `vectors` against golden.json's; returns the largest difference.
fn matrix_error(label: &str, golden: &Golden, vectors: &[Vec<f32>]) -> f32 {
    let mut worst = 0.0f32;
    for (i, a) in vectors.iter().enumerate() {
        for (j, b) in vectors.iter().enumerate() {
            worst = worst.max((cosine(a, b) - golden.cosine[i][j]).abs());
        }
    }
    println!("{label}: pairwise cosine matrix within {worst:.1e} of the reference");
    worst
}

fn identity(n: usize) -> Vec<usize> {
    (0..n).collect()
}

#[test]
fn cpu_graph_matches_sentence_transformers_batched_and_one_by_one() {
    let golden = golden();
    let mut model = load(&package(), None);
    assert_eq!(model.variant(), Variant::Cpu, "the cpu EP must get the dynamic graph");
    assert_eq!(model.max_tokens(), 256);
    let accuracy = accuracy(&package(), Variant::Cpu);
    let texts = golden.texts();
    let all = identity(texts.len());

    // One batch of 12: texts of different lengths padded together, so padding must be masked out.
    let batched = model.embed(&texts, TextKind::Document, texts.len(), &token()).expect("embed batch");
    let worst_batched = worst_cosine("cpu, one batch of 12", &golden, &all, &batched);
    let singles: Vec<Vec<f32>> = texts
        .iter()
        .map(|text| model.embed(&[text], TextKind::Document, 1, &token()).expect("embed one").remove(0))
        .collect();
    let worst_single = worst_cosine("cpu, one by one", &golden, &all, &singles);
    let matrix = matrix_error("cpu, one batch of 12", &golden, &batched);

    assert!(worst_batched >= accuracy.min_cosine, "batched minimum cosine {worst_batched}");
    assert!(worst_single >= accuracy.min_cosine, "one-by-one minimum cosine {worst_single}");
    assert!(matrix <= accuracy.matrix, "cosine matrix off by {matrix}");
}

#[test]
fn static_npu_graph_matches_sentence_transformers() {
    let golden = golden();
    let mut model = load(&package(), Some(Variant::Npu));
    assert_eq!(model.variant(), Variant::Npu);
    let accuracy = accuracy(&package(), Variant::Npu);
    assert_eq!(model.max_tokens(), 256, "the static sequence length bounds the input");
    let texts = golden.texts();
    // The batch size is ignored: the graph takes one text padded to 256 tokens.
    let vectors = model.embed(&texts, TextKind::Document, 32, &token()).expect("embed on the npu graph");
    let worst = worst_cosine("npu graph (static 1x256) on the CPU EP", &golden, &identity(texts.len()), &vectors);
    let matrix = matrix_error("npu graph", &golden, &vectors);
    assert!(worst >= accuracy.min_cosine, "npu graph minimum cosine {worst}");
    assert!(matrix <= accuracy.matrix, "cosine matrix off by {matrix}");
}

#[test]
fn batching_sorts_by_length_but_returns_input_order() {
    let golden = golden();
    let mut model = load(&package(), None);
    let accuracy = accuracy(&package(), Variant::Cpu);
    // An order that is sorted neither way by length, with a duplicate, in batches of 5 so the
    // sorted batches cut across the input.
    let order = vec![9, 0, 11, 10, 6, 3, 8, 1, 5, 2, 7, 4, 6];
    let texts: Vec<&str> = order.iter().map(|&i| golden.texts[i].as_str()).collect();
    let vectors = model.embed(&texts, TextKind::Document, 5, &token()).expect("embed");
    let worst = worst_cosine("cpu, shuffled in batches of 5", &golden, &order, &vectors);
    assert!(worst >= accuracy.min_cosine, "a vector came back at the wrong position (minimum cosine {worst})");
    // 0 asks for the default batch size and must give the same vectors (up to int8's
    // dependence on batch mates).
    let default_batch = model.embed(&texts, TextKind::Document, 0, &token()).expect("embed");
    let closest = vectors.iter().zip(&default_batch).map(|(a, b)| cosine(a, b)).fold(f32::INFINITY, f32::min);
    println!("the same texts in batches of 5 and of the default size: minimum cosine {closest:.7}");
    assert!(closest >= accuracy.rebatched, "batch size changed a vector: {closest}");
}

#[test]
fn cancelling_stops_embedding_and_leaves_the_model_usable() {
    let golden = golden();
    let mut model = load(&package(), None);
    let accuracy = accuracy(&package(), Variant::Cpu);
    let texts = golden.texts();

    let cancelled = token();
    cancelled.cancel();
    let err = model.embed(&texts, TextKind::Document, 4, &cancelled).expect_err("a cancelled token must stop it");
    assert!(matches!(err, EngineError::Cancelled), "{err}");

    // Cancelled from another thread once ORT has started the one batch of 64 full-length texts
    // (seconds of work): the token was not tripped when the engine last checked it, right before
    // the run, so `Cancelled` can only come from the run itself being terminated. Had the run been
    // waited for instead, this one-batch call would return vectors and the test would fail.
    let long = "Neural processing units accelerate matrix multiplication on laptops. ".repeat(40);
    let many = vec![long.as_str(); 64];
    let in_flight = token();
    let returned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let canceller = {
        let (in_flight, returned) = (in_flight.clone(), std::sync::Arc::clone(&returned));
        std::thread::spawn(move || {
            // Also stops waiting if `embed` returned without starting a run, so a failure there
            // fails the test instead of hanging it.
            while in_flight.runs_started() == 0 && !returned.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::yield_now();
            }
            in_flight.cancel();
        })
    };
    let result = model.embed(&many, TextKind::Document, many.len(), &in_flight);
    returned.store(true, std::sync::atomic::Ordering::SeqCst);
    canceller.join().expect("canceller thread");
    let err = result.expect_err("cancelled mid-way");
    assert!(matches!(err, EngineError::Cancelled), "{err}");
    assert_eq!(in_flight.runs_started(), 1, "one batch, and it was the run that stopped");

    let vectors = model.embed(&texts, TextKind::Document, 12, &token()).expect("embed after cancelling");
    let worst = worst_cosine("cpu, after two cancellations", &golden, &identity(texts.len()), &vectors);
    assert!(worst >= accuracy.min_cosine, "minimum cosine after cancelling {worst}");
}

#[test]
fn no_texts_give_no_vectors() {
    let mut model = load(&package(), None);
    assert!(model.embed(&[], TextKind::Query, 32, &token()).expect("embed nothing").is_empty());
}

fn assert_send<T: Send>() {}

#[test]
fn a_model_can_move_to_a_worker_thread() {
    assert_send::<EmbeddingModel>();
}

/// A scratch folder on the same file system as the build, so model files can be hard-linked.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("embeddings-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir")
}

fn link_or_copy(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    }
}

#[test]
fn a_package_without_its_cpu_graph_names_the_missing_file() {
    let package = package();
    let dir = scratch();
    for file in ["onyx-model.json", "tokenizer.json", "model.npu.onnx"] {
        link_or_copy(&package.join(file), &dir.path().join(file));
    }
    let err = EmbeddingModel::load(runtime(), dir.path(), &ProviderChoice::Cpu, false).expect_err("no cpu graph");
    println!("{err}");
    assert!(matches!(err, EngineError::Package { .. }), "{err:?}");
    assert!(err.to_string().contains("model.cpu.onnx"), "the error must name the file: {err}");
}

#[test]
fn folders_that_are_not_embedding_models_are_refused_clearly() {
    let chat = repo_root().join("models/smollm2-135m-instruct");
    assert!(chat.join("onyx-model.json").is_file(), "{} is missing: run scripts/setup.sh", chat.display());
    let err = EmbeddingModel::load(runtime(), &chat, &ProviderChoice::Cpu, false).expect_err("a chat package");
    assert!(err.to_string().contains("not an embedding model"), "{err}");

    let empty = scratch();
    let err = EmbeddingModel::load(runtime(), empty.path(), &ProviderChoice::Cpu, false).expect_err("empty folder");
    assert!(err.to_string().contains("onyx-model.json"), "{err}");
}

#[test]
fn a_sentence_transformers_onnx_export_is_pooled_in_rust() {
    let golden = golden();
    let (package, source) = (package(), source());
    // The layout sentence-transformers' exporter writes: the graph under onnx/, the pipeline
    // description and tokenizer at the top. The package's cpu graph stands in for the export; it
    // also has token_embeddings, which is what an export's graph ends with.
    let dir = scratch();
    link_or_copy(&package.join("model.cpu.onnx"), &dir.path().join("onnx/model.onnx"));
    // The graph names its weight file; ORT looks for it beside the graph.
    link_or_copy(&package.join("model.cpu.data"), &dir.path().join("onnx/model.cpu.data"));
    link_or_copy(&package.join("tokenizer.json"), &dir.path().join("tokenizer.json"));
    for file in ["modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "config.json"] {
        link_or_copy(&source.join(file), &dir.path().join(file));
    }
    let mut model = load(dir.path(), None);
    assert!(model.manifest().is_none());
    assert_eq!(model.max_tokens(), 256, "from sentence_bert_config.json");
    let texts = golden.texts();
    let vectors = model.embed(&texts, TextKind::Document, 5, &token()).expect("embed");
    let worst = worst_cosine("sentence-transformers export, pooled in Rust", &golden, &identity(texts.len()), &vectors);
    assert!(worst >= accuracy(&package, Variant::Cpu).min_cosine, "minimum cosine {worst}");

    let err = EmbeddingModel::load_variant(runtime(), dir.path(), &ProviderChoice::Cpu, false, Variant::Npu)
        .expect_err("an export has no npu graph");
    assert!(err.to_string().contains("no npu variant"), "{err}");
}

#[test]
fn query_prefixes_from_the_manifest_are_applied() {
    let package = package();
    let dir = scratch();
    for file in ["tokenizer.json", "model.cpu.onnx", "model.cpu.data"] {
        link_or_copy(&package.join(file), &dir.path().join(file));
    }
    let text = std::fs::read_to_string(package.join("onyx-model.json")).expect("manifest");
    let mut manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    manifest["embedding"]["prefixes"] = serde_json::json!({ "query": "search query: " });
    manifest["variants"].as_array_mut().expect("variants").retain(|v| v["target"] == "cpu");
    std::fs::write(dir.path().join("onyx-model.json"), manifest.to_string()).expect("write manifest");

    let mut model = load(dir.path(), None);
    let cancel = token();
    let query = model.embed(&["what is an npu"], TextKind::Query, 8, &cancel).expect("query");
    let spelled_out = model.embed(&["search query: what is an npu"], TextKind::Document, 8, &cancel).expect("doc");
    let plain = model.embed(&["what is an npu"], TextKind::Document, 8, &cancel).expect("doc");
    let (same, different) = (cosine(&query[0], &spelled_out[0]), cosine(&query[0], &plain[0]));
    println!("query vs spelled-out prefix: {same:.7}; query vs document without prefix: {different:.7}");
    assert!(same > 0.99999, "the query prefix was not applied as written: {same}");
    assert!(different < 0.999, "documents must not get the query prefix: {different}");
}

/// A package written before the one-dialect manifest (format version 1: `file`,
/// `{"dynamic": true}`, `"architecture": "bert"`) still loads through the migration and gives the
/// same vectors. The manifest is the default package's, as the converter of 2026-11 wrote it.
#[test]
fn a_version_1_package_still_loads() {
    let package = package();
    let dir = scratch();
    let v1 = repo_root().join("crates/onyx-convert/tests/data/v1/all-minilm-l6-v2.onyx-model.json");
    let text = std::fs::read_to_string(&v1).expect("v1 manifest");
    assert!(text.contains(r#""formatVersion": 1"#) && text.contains(r#""file": "model.cpu.onnx""#), "{text}");
    std::fs::write(dir.path().join("onyx-model.json"), text).expect("write manifest");
    for file in ["tokenizer.json", "model.cpu.onnx", "model.cpu.data", "model.npu.onnx", "model.npu.data"] {
        link_or_copy(&package.join(file), &dir.path().join(file));
    }
    let texts = ["an npu runs static graphs", "a second, somewhat longer passage about laptops"];
    for variant in [Variant::Cpu, Variant::Npu] {
        let mut old = load(dir.path(), Some(variant));
        assert_eq!(old.manifest().map(|m| m.format_version), Some(2), "migrated as it loaded");
        assert_eq!(old.max_tokens(), 256);
        let mut current = load(&package, Some(variant));
        let from_v1 = old.embed(&texts, TextKind::Document, 8, &token()).expect("embed with the v1 manifest");
        let from_v2 = current.embed(&texts, TextKind::Document, 8, &token()).expect("embed with the package");
        assert_eq!(from_v1, from_v2, "{variant:?}: the same graph must give the same vectors");
    }
}
