//! The default models on Qualcomm's QNN EP, through the engine's public API, in strict mode:
//! every node on QNN or the load fails. On Linux x86-64 the `onnxruntime-qnn` 2.7.0 wheel that
//! `scripts/setup.sh` installs compiles each npu graph for the Snapdragon X Elite (SoC 60,
//! HTP v73) exactly as the laptop would, and runs the context binary in Qualcomm's HTP emulator,
//! so these are the numbers the NPU computes, only far slower (the emulator runs the HTP's
//! arithmetic on the host: about 200× the CPU EP's time), which is why the chat check is short.
//!
//! The reference is `shared/reference/golden.json` (sentence-transformers and transformers,
//! fp32). Missing setup is a failure, never a skip.

use std::path::PathBuf;

use onyx_engine::chat::ChatRequest;
use onyx_engine::embed::{EmbeddingModel, TextKind, Variant, cosine};
use onyx_engine::reply::FinishReason;
use onyx_engine::sampling::SamplingParams;
use onyx_engine::{CancelToken, Engine};
use onyx_runtime::{ProviderChoice, QNN_EP, QnnOptions, RuntimeConfig, SessionDefaults};

mod common;
use common::{golden_cases, only_npu, repo_root, with_manifest};

/// One engine per test process, with the QNN wheel as its plugin folder, the X Elite as the
/// compile target, and `cache` (if any) as the compiled-context cache.
fn engine(cache: Option<&std::path::Path>) -> Engine {
    let plugin_dir = repo_root().join("runtime/test-plugins/qnn/onnxruntime_qnn");
    assert!(
        plugin_dir.join("libonnxruntime_providers_qnn.so").is_file(),
        "{} has no QNN plugin: run scripts/setup.sh",
        plugin_dir.display()
    );
    let engine = Engine::new(&RuntimeConfig { library_path: None, plugin_dir: Some(plugin_dir), npu_stand_in: None })
        .unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"));
    let x_elite = QnnOptions { soc_model: Some("60".into()), htp_arch: Some("73".into()), ..QnnOptions::default() };
    let compile_cache = cache.map(std::path::Path::to_path_buf);
    engine.runtime().set_session_defaults(SessionDefaults { qnn: x_elite, compile_cache });
    engine
}

fn qnn() -> ProviderChoice {
    ProviderChoice::Ep(QNN_EP.into())
}

fn package(name: &str) -> PathBuf {
    let dir = repo_root().join("models").join(name);
    assert!(dir.join("onyx-model.json").is_file(), "{} is missing: run scripts/setup.sh", dir.display());
    dir
}

/// The embedding package's npu graph (w8a16) on the HTP emulator: every golden text within
/// cosine 0.99 of sentence-transformers, the floor the project holds int8 builds to. Measured on
/// the CPU EP with the same graph's arithmetic: 0.9950 for the empty text, 0.9992 and up for the
/// rest; the HTP adds fp16 rounding between the products.
#[test]
fn the_default_embedding_model_matches_the_reference_on_the_htp_emulator() {
    let engine = engine(None);
    let path = repo_root().join("../shared/reference/golden.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .expect("golden.json");
    let cases = golden["embeddings"].as_array().expect("embeddings[]");
    let mut model =
        EmbeddingModel::load_variant(engine.runtime(), &package("all-minilm-l6-v2"), &qnn(), true, Variant::Npu)
            .unwrap_or_else(|e| panic!("the npu graph in strict mode on QNN: {e}"));
    let provider = model.provider().clone();
    assert_eq!(provider.ep, QNN_EP);
    assert_eq!(provider.nodes_on_ep, provider.nodes_total, "{provider:?}");
    assert!(provider.macs_total > 0 && provider.macs_on_ep == provider.macs_total, "{provider:?}");
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().expect("text")).collect();
    let started = std::time::Instant::now();
    let vectors = model.embed(&texts, TextKind::Document, 1, &CancelToken::new().expect("token")).expect("embed");
    println!("{} texts on {} in {:.1} s", texts.len(), provider.device_name, started.elapsed().as_secs_f64());
    let mut worst = f32::INFINITY;
    for ((case, text), vector) in cases.iter().zip(&texts).zip(&vectors) {
        let reference: Vec<f32> = case["embedding"]
            .as_array()
            .expect("embedding")
            .iter()
            .map(|v| v.as_f64().expect("number") as f32)
            .collect();
        let c = cosine(vector, &reference);
        println!("QNN HTP (X Elite emulator): cosine {c:.5} for {text:?}");
        worst = worst.min(c);
    }
    println!("QNN HTP (X Elite emulator): minimum cosine {worst:.5} over {} texts", texts.len());
    assert!(worst >= 0.99, "minimum cosine {worst}");
}

/// Greedy tokens the chat check generates per golden case on the emulator.
const CHAT_TOKENS: usize = 8;

/// The chat package's npu graphs (w8a16) on the HTP emulator, through the engine: the prompt
/// ids exactly the reference's, then the first greedy tokens. Measured: every case's first 8
/// tokens are the reference's (32 of 32). Floors: the first token right in 3 of 4 cases (one
/// case's top-1 margin is 0.08 logits, which int8 weights alone can flip; the weight-only int8
/// build of 2026-12-02 did) and 24 of the 32 tokens agreeing as prefixes.
///
/// The compiled-context cache is measured on the way: the first load compiles both graphs, the
/// second reads their context binaries.
#[test]
fn the_default_chat_model_follows_the_reference_on_the_htp_emulator() {
    let cache = tempfile::tempdir().expect("tempdir");
    let engine = engine(Some(cache.path()));
    let source = package("smollm2-135m-instruct");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("onyx-model.json")).expect("manifest"))
            .expect("manifest JSON");
    let npu_only = with_manifest(&source, &only_npu(manifest));
    let started = std::time::Instant::now();
    let provider = engine
        .load_chat(npu_only.path(), &qnn(), true)
        .unwrap_or_else(|e| panic!("the npu graphs in strict mode on QNN: {e}"));
    let compiling = started.elapsed().as_secs_f64();
    println!("loaded on {} in {compiling:.1} s: {provider:?}", provider.device_name);
    assert_eq!(provider.ep, QNN_EP);
    assert_eq!(provider.nodes_on_ep, provider.nodes_total);
    assert!(provider.macs_total > 0 && provider.macs_on_ep == provider.macs_total, "{provider:?}");
    assert!(!provider.from_compiled_cache);
    let started = std::time::Instant::now();
    let cached = engine.load_chat(npu_only.path(), &qnn(), true).expect("the cached load");
    let reading = started.elapsed().as_secs_f64();
    assert!(cached.from_compiled_cache, "{cached:?}");
    assert_eq!(cached.nodes_on_ep, cached.nodes_total);
    // The cached context reports what was measured when it was compiled, weight work included.
    assert_eq!((cached.macs_on_ep, cached.macs_total), (provider.macs_on_ep, provider.macs_total));
    let binaries: u64 = std::fs::read_dir(cache.path())
        .expect("cache")
        .flatten()
        .filter_map(|entry| entry.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()))
        .sum();
    println!(
        "first load (compiles) {compiling:.1} s, second load (cached) {reading:.1} s: {:.0}x; {binaries} bytes in the cache",
        compiling / reading.max(1e-3)
    );

    let (mut first_right, mut agreeing) = (0, 0);
    for case in golden_cases() {
        let request = ChatRequest {
            messages: case.messages.clone(),
            sampling: SamplingParams::greedy(),
            max_tokens: CHAT_TOKENS,
            stop: Vec::new(),
            ignore_eos: false,
            context_limit: None,
        };
        let started = std::time::Instant::now();
        let reply = engine.chat(&request, &CancelToken::new().expect("token"), &mut |_| {}).expect("reply");
        assert_eq!(reply.prompt_ids, case.prompt_ids, "prompt ids for {:?}", case.messages);
        let mut ids = reply.token_ids.clone();
        if reply.finish_reason == FinishReason::Eos {
            ids.push(2); // the reference lists the <|im_end|> that ended its reply
        }
        let prefix = ids.iter().zip(&case.greedy_ids).take_while(|(a, b)| a == b).count();
        first_right += usize::from(prefix > 0);
        agreeing += prefix;
        println!(
            "{:?}: {:?} ({} tokens in {:.1} s), agreeing prefix {prefix} of {}",
            case.messages.last().map(|m| m.content.as_str()).unwrap_or_default(),
            reply.text,
            reply.token_ids.len(),
            started.elapsed().as_secs_f64(),
            ids.len().min(case.greedy_ids.len())
        );
    }
    println!("QNN HTP (X Elite emulator): first token right in {first_right} of 4, {agreeing} agreeing tokens");
    assert!(first_right >= 3, "first token right in {first_right} of 4 cases");
    assert!(agreeing >= 24, "{agreeing} agreeing greedy tokens < 24");
}
