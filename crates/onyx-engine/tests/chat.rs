//! The engine's chat API end to end: golden replies from the default model, streaming,
//! cancellation, fallback mid-reply, and bad input. Runs on real ONNX Runtime; tests that need
//! the default model fail (never skip) without `scripts/setup.sh`.

use std::path::{Path, PathBuf};

use onyx_convert::chat::{ChatOptions, convert_gguf_chat};
use onyx_convert::llama::{CpuOptions, NpuOptions};
use onyx_convert::manifest::QuantScheme;
use onyx_convert::tiny;
use onyx_engine::chat::ChatRequest;
use onyx_engine::reply::{ChatEvent, FinishReason};
use onyx_engine::sampling::SamplingParams;
use onyx_engine::template::Message;
use onyx_engine::{CancelToken, Engine, EngineError};
use onyx_runtime::{ProviderChoice, RuntimeConfig};

mod common;
use common::{golden_cases, only_npu, repo_root, with_manifest};

/// One engine per test process, with the test-only ggml plugin available as a non-CPU EP.
fn engine() -> Engine {
    let plugin_dir = repo_root().join("runtime/test-plugins/ggml/onnxruntime_ggml/lib");
    Engine::new(&RuntimeConfig { library_path: None, plugin_dir: Some(plugin_dir), npu_stand_in: None })
        .unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"))
}

fn default_gguf() -> PathBuf {
    let path = repo_root().join("models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

fn default_package() -> PathBuf {
    let path = repo_root().join("models/smollm2-135m-instruct");
    assert!(path.join("onyx-model.json").is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

fn user(text: &str) -> Message {
    Message { role: "user".into(), content: text.into() }
}

fn request(messages: Vec<Message>, max_tokens: usize) -> ChatRequest {
    ChatRequest {
        messages,
        sampling: SamplingParams::greedy(),
        max_tokens,
        stop: Vec::new(),
        ignore_eos: false,
        context_limit: None,
    }
}

fn convert_default(dir: &Path, options: ChatOptions) -> PathBuf {
    let out = dir.join("smollm2");
    convert_gguf_chat(&default_gguf(), &out, &options, &mut onyx_convert::progress::no_progress)
        .expect("convert the default model");
    out
}

/// Greedy replies through the engine must reproduce the reference exactly with exact weights.
fn check_golden(engine: &Engine) {
    for case in golden_cases() {
        let reply = engine
            .chat(&request(case.messages.clone(), 32), &CancelToken::new().expect("token"), &mut |_| {})
            .expect("reply");
        assert_eq!(reply.prompt_ids, case.prompt_ids, "prompt ids for {:?}", case.messages);
        let mut ids = reply.token_ids.clone();
        if reply.finish_reason == FinishReason::Eos {
            ids.push(2); // the reference lists the <|im_end|> that ended the reply
        }
        assert_eq!(ids, case.greedy_ids, "greedy ids for {:?}", case.messages);
        assert!(case.greedy_text.starts_with(reply.text.as_str()), "{:?} vs {:?}", reply.text, case.greedy_text);
    }
}

#[test]
fn golden_greedy_replies_through_the_engine_cpu_variant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let package = convert_default(dir.path(), ChatOptions { cpu: Some(CpuOptions::exact()), npu: None });
    let engine = engine();
    let provider = engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load");
    assert_eq!(provider.ep, "CPUExecutionProvider");
    check_golden(&engine);
}

#[test]
fn golden_greedy_replies_through_the_engine_npu_variant() {
    // An exact npu-only package: the engine must run its static graphs (chunked prefill, fixed
    // cache) and still match the reference token for token.
    let dir = tempfile::tempdir().expect("tempdir");
    let npu = NpuOptions { quant: QuantScheme::Fp32, ..NpuOptions::default() };
    let package = convert_default(dir.path(), ChatOptions { cpu: None, npu: Some(npu) });
    let engine = engine();
    engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load");
    check_golden(&engine);
}

#[test]
fn streamed_pieces_concatenate_to_the_reply_even_for_multilingual_and_emoji_text() {
    let engine = engine();
    engine.load_chat(&default_package(), &ProviderChoice::Cpu, false).expect("load");
    let mut saw_non_ascii = false;
    let prompts = [
        ("Write 'thank you' in Japanese, Chinese, Russian and Greek, then add three emoji.", SamplingParams::greedy()),
        // High-temperature sampling over the whole vocabulary emits byte-level pieces that split
        // UTF-8 characters across tokens: the stream must hold them back until complete.
        (
            "Say anything.",
            SamplingParams {
                temperature: 1.6,
                top_k: 0,
                top_p: 1.0,
                min_p: 0.0,
                repetition_penalty: 1.0,
                seed: Some(7),
            },
        ),
    ];
    for (prompt, sampling) in prompts {
        let mut streamed = String::new();
        let mut request = request(vec![user(prompt)], 160);
        request.sampling = sampling;
        let reply = engine
            .chat(&request, &CancelToken::new().expect("token"), &mut |event| {
                if let ChatEvent::Token { text } = event {
                    streamed.push_str(&text);
                }
            })
            .expect("reply");
        assert_eq!(streamed, reply.text);
        let decoded =
            engine.with_chat_model(|m| m.tokenizer().decode(&reply.token_ids, true)).expect("model").expect("decode");
        assert_eq!(reply.text, decoded);
        // A replacement character may only appear where the tokens themselves are not valid
        // UTF-8 (random sampling can produce that), never because a piece split a character.
        assert_eq!(streamed.matches('\u{FFFD}').count(), decoded.matches('\u{FFFD}').count());
        saw_non_ascii |= !reply.text.is_ascii();
        println!("{prompt:?}: {} tokens streamed, non-ASCII: {}", reply.token_ids.len(), !reply.text.is_ascii());
    }
    assert!(saw_non_ascii, "the replies should include non-ASCII text to exercise the stream");
}

#[test]
fn cancellation_stops_generation_within_one_step() {
    let engine = engine();
    engine.load_chat(&default_package(), &ProviderChoice::Cpu, false).expect("load");
    let cancel = CancelToken::new().expect("token");
    let mut tokens_seen = 0;
    let mut long = request(vec![user("Tell me a very long story about the sea.")], 10_000);
    long.ignore_eos = true;
    let reply = engine
        .chat(&long, &cancel, &mut |event| {
            if let ChatEvent::Token { .. } = event {
                tokens_seen += 1;
                if tokens_seen == 5 {
                    cancel.cancel();
                }
            }
        })
        .expect("a cancelled reply still returns what was generated");
    assert_eq!(reply.finish_reason, FinishReason::Cancelled);
    // The token that tripped the switch may be followed by at most the step already decided.
    assert!(reply.token_ids.len() <= 6, "{} tokens after cancelling at 5", reply.token_ids.len());
    // And the engine is immediately usable again.
    let next =
        engine.chat(&request(vec![user("Hi")], 4), &CancelToken::new().expect("token"), &mut |_| {}).expect("next");
    assert!(!next.token_ids.is_empty());
}

#[test]
fn a_provider_failure_mid_reply_falls_back_to_the_cpu_and_finishes() {
    let engine = engine();
    let dir = tempfile::tempdir().expect("tempdir");
    // The fp32 npu graphs run entirely on the ggml plugin EP: a non-CPU provider to fail on.
    let npu = NpuOptions { quant: QuantScheme::Fp32, ..NpuOptions::default() };
    let package = convert_default(dir.path(), ChatOptions { cpu: None, npu: Some(npu) });
    let plugin = ProviderChoice::parse("ggml");
    let on_plugin = engine.load_chat(&package, &plugin, false).expect("load on the plugin");
    assert_eq!(on_plugin.ep, "ggml", "{on_plugin:?}");
    // The npu cache is fp16 and bound once: a decode step takes in the whole cache (SmolLM2:
    // 30 layers, K and V, 3 heads of 64) and Onyx writes only that step's rows.
    let traffic = engine.with_chat_model(|m| m.cache_traffic()).expect("model").expect("a fixed cache");
    let context = NpuOptions::default().context as u64;
    let per_position = 30 * 2 * 3 * 64 * 2;
    println!(
        "kv cache per decode step: {} B into the graph ({:.1} MB; {:.1} MB with the fp32 cache before), {} B written",
        traffic.graph_input_bytes,
        traffic.graph_input_bytes as f64 / 1e6,
        2.0 * traffic.graph_input_bytes as f64 / 1e6,
        traffic.host_written_bytes
    );
    assert_eq!(traffic.element, "fp16");
    assert_eq!((traffic.graph_input_bytes, traffic.host_written_bytes), (per_position * context, per_position));

    let question = vec![user("What is the capital of France?")];
    engine.with_chat_model(|m| m.inject_failure_after(Some(3))).expect("model");
    let mut changes = Vec::new();
    let reply = engine
        .chat(&request(question.clone(), 16), &CancelToken::new().expect("token"), &mut |event| {
            if let ChatEvent::ProviderChanged { from, to, reason } = event {
                changes.push((from, to, reason));
            }
        })
        .expect("the reply completes");
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (from, to, reason) = &changes[0];
    assert!(from.starts_with("ggml"), "{from}");
    assert!(to.starts_with("CPUExecutionProvider"), "{to}");
    assert!(reason.contains("injected failure"), "{reason}");
    assert_eq!(reply.provider.ep, "CPUExecutionProvider");

    // The replayed cache gives the same reply as running on the CPU from the start.
    engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load on cpu");
    let reference =
        engine.chat(&request(question, 16), &CancelToken::new().expect("token"), &mut |_| {}).expect("cpu reply");
    assert_eq!(reply.token_ids, reference.token_ids);
    assert_eq!(reply.text, "The capital of France is Paris.");
}

/// A tiny package (random weights, byte-level vocabulary, ChatML) for fast error-path tests.
fn tiny_package(dir: &Path) -> PathBuf {
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 5);
    let gguf = dir.join("tiny.gguf");
    tiny::write_gguf(&config, &weights, &gguf, "llama").expect("gguf");
    let out = dir.join("tiny");
    convert_gguf_chat(
        &gguf,
        &out,
        &ChatOptions { cpu: Some(CpuOptions::exact()), npu: None },
        &mut onyx_convert::progress::no_progress,
    )
    .expect("convert");
    out
}

#[test]
fn bad_requests_fail_clearly_and_the_engine_stays_usable() {
    let engine = engine();
    let dir = tempfile::tempdir().expect("tempdir");
    let package = tiny_package(dir.path());
    engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load tiny");
    let cancel = CancelToken::new().expect("token");

    // Longer than the tiny model's 128-token context.
    let long = "a b ".repeat(400);
    let err = engine.chat(&request(vec![user(&long)], 8), &cancel, &mut |_| {}).expect_err("too long");
    assert!(matches!(err, EngineError::PromptTooLong { available: 128, .. }), "{err}");

    let err = engine.chat(&request(Vec::new(), 8), &cancel, &mut |_| {}).expect_err("no messages");
    assert!(err.to_string().contains("no messages"), "{err}");
    let err = engine.chat(&request(vec![user("   ")], 8), &cancel, &mut |_| {}).expect_err("empty");
    assert!(err.to_string().contains("empty"), "{err}");
    let mut bad_sampling = request(vec![user("ab")], 8);
    bad_sampling.sampling.temperature = -1.0;
    let err = engine.chat(&bad_sampling, &cancel, &mut |_| {}).expect_err("bad temperature");
    assert!(err.to_string().contains("temperature"), "{err}");

    // Old turns are dropped to fit, and the reply says how many.
    let mut turns = Vec::new();
    for i in 0..12 {
        turns.push(user(&format!("ab ab ab ab ab {i}")));
        turns.push(Message { role: "assistant".into(), content: "ab ab ab ab ab ab".into() });
    }
    turns.push(user("ab"));
    let reply = engine.chat(&request(turns.clone(), 4), &cancel, &mut |_| {}).expect("trimmed");
    assert!(reply.dropped_messages > 0);
    assert!(reply.stats.prompt_tokens < 128);

    // A context length below the model's (the app's setting) drops more, and stops the reply
    // when prompt and reply fill it.
    let mut limited = request(turns.clone(), 4);
    limited.context_limit = Some(80);
    let short = engine.chat(&limited, &cancel, &mut |_| {}).expect("trimmed to the limit");
    assert!(
        short.dropped_messages > reply.dropped_messages,
        "{} vs {}",
        short.dropped_messages,
        reply.dropped_messages
    );
    assert!(short.stats.prompt_tokens < 80, "prompt of {} tokens", short.stats.prompt_tokens);
    let mut filling = request(vec![user("ab")], 100);
    (filling.context_limit, filling.ignore_eos) = (Some(64), true);
    let full = engine.chat(&filling, &cancel, &mut |_| {}).expect("reply up to the limit");
    assert_eq!(full.finish_reason, FinishReason::ContextFull);
    // The cache holds 64 tokens; the last one generated is shown but never fed back.
    assert_eq!(full.stats.prompt_tokens + full.stats.generated_tokens, 64 + 1);
    let mut too_small = request(vec![user(&"ab ".repeat(30))], 4);
    too_small.context_limit = Some(16);
    let err = engine.chat(&too_small, &cancel, &mut |_| {}).expect_err("prompt over the limit");
    assert!(matches!(err, EngineError::PromptTooLong { available: 16, .. }), "{err}");

    // Still usable.
    engine.chat(&request(vec![user("ab")], 4), &cancel, &mut |_| {}).expect("usable after errors");
}

#[test]
fn broken_packages_fail_to_load_with_the_file_named_and_keep_the_old_model() {
    let engine = engine();
    let dir = tempfile::tempdir().expect("tempdir");
    let package = tiny_package(dir.path());
    engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load tiny");

    // A package with a missing file.
    let missing = dir.path().join("missing");
    std::fs::create_dir(&missing).expect("mkdir");
    for entry in std::fs::read_dir(&package).expect("list") {
        let entry = entry.expect("entry");
        if entry.file_name() != "model.cpu.onnx" {
            std::fs::copy(entry.path(), missing.join(entry.file_name())).expect("copy");
        }
    }
    let err = engine.load_chat(&missing, &ProviderChoice::Cpu, false).expect_err("missing file");
    assert!(err.to_string().contains("model.cpu.onnx") && err.to_string().contains("missing"), "{err}");

    // An invalid chat template.
    let bad_template = dir.path().join("bad-template");
    std::fs::create_dir(&bad_template).expect("mkdir");
    for entry in std::fs::read_dir(&package).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), bad_template.join(entry.file_name())).expect("copy");
    }
    std::fs::write(
        bad_template.join("tokenizer_config.json"),
        r#"{"chat_template": "{% for m in messages %}{{ m.content"}"#,
    )
    .expect("write");
    let err = engine.load_chat(&bad_template, &ProviderChoice::Cpu, false).expect_err("bad template");
    assert!(err.to_string().starts_with("chat template"), "{err}");

    // A model whose inputs match no known layout (the probe model is not a decoder).
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("model.onnx"), onyx_convert::probe::probe_model()).expect("write");
    std::fs::copy(package.join("tokenizer.json"), foreign.join("tokenizer.json")).expect("copy");
    std::fs::write(foreign.join("tokenizer_config.json"), r##"{"eos_token": "#"}"##).expect("write");
    let err = engine.load_chat(&foreign, &ProviderChoice::Cpu, false).expect_err("foreign");
    assert!(err.to_string().contains("match no known layout"), "{err}");

    // The tiny model is still loaded and works.
    engine.chat(&request(vec![user("ab")], 4), &CancelToken::new().expect("token"), &mut |_| {}).expect("still works");
}

#[test]
fn the_engine_is_shared_across_threads_and_reloads_while_in_use() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
    let engine = std::sync::Arc::new(engine());
    let dir = tempfile::tempdir().expect("tempdir");
    let package = tiny_package(dir.path());
    engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load");
    // Replies on two threads, and a reload (a provider switch) in between: each call sees a
    // whole model, never a half-replaced one.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let engine = std::sync::Arc::clone(&engine);
            std::thread::spawn(move || {
                engine
                    .chat(&request(vec![user("ab ab")], 6), &CancelToken::new().expect("token"), &mut |_| {})
                    .map(|r| r.token_ids.len())
            })
        })
        .collect();
    engine.load_chat(&package, &ProviderChoice::parse("cpu"), false).expect("reload");
    for worker in workers {
        let generated = worker.join().expect("thread").expect("reply");
        assert!(generated > 0);
    }
}

/// A copy of `package` (its files linked) with `manifest` as its `onyx-model.json`.
/// A package written before the one-dialect manifest (format version 1) still loads through the
/// migration and answers exactly as today's manifest does: its cpu variant, and its npu variant
/// (whose `{"static": {"context", "chunk"}}` became `{"static": {"batch", "sequence", "context"}}`)
/// when it is the only one. The manifest is the default package's, as the converter of 2026-11
/// wrote it.
#[test]
fn a_version_1_package_still_loads() {
    let package = default_package();
    let read = |path: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).expect("manifest")).expect("manifest JSON")
    };
    let v1 = read(&repo_root().join("crates/onyx-convert/tests/data/v1/smollm2-135m-instruct.onyx-model.json"));
    assert_eq!(v1["formatVersion"], 1);
    assert_eq!(v1["variants"][1]["shapes"], serde_json::json!({"static": {"context": 1024, "chunk": 64}}));
    let current = read(&package.join("onyx-model.json"));
    assert_eq!(current["formatVersion"], 2);

    let engine = engine();
    let ask = request(vec![user("What is an NPU?")], 12);
    let reply = |dir: &Path| {
        engine.load_chat(dir, &ProviderChoice::Cpu, false).unwrap_or_else(|e| panic!("load {}: {e}", dir.display()));
        engine.chat(&ask, &CancelToken::new().expect("token"), &mut |_| {}).expect("reply")
    };
    let cases = [("cpu variant", v1.clone(), current.clone(), 1), ("npu variant", only_npu(v1), only_npu(current), 2)];
    for (what, old_manifest, new_manifest, graphs) in cases {
        let (old_dir, new_dir) = (with_manifest(&package, &old_manifest), with_manifest(&package, &new_manifest));
        let (old, new) = (reply(old_dir.path()), reply(new_dir.path()));
        // The npu variant runs two graphs (prefill and decode), the cpu variant one.
        assert_eq!(old.provider.graphs.len(), graphs, "{what}: {:?}", old.provider.graphs);
        assert!(!old.token_ids.is_empty(), "{what}: no reply");
        assert_eq!(old.token_ids, new.token_ids, "{what}: the v1 manifest must run the same graphs");
    }
}

/// A chat turn over a stored conversation, as the app's `chat_send` runs it: the user's message
/// is stored and announced first, tokens stream, and the reply is stored with its numbers,
/// provider and finish reason; a regenerate replaces the last reply; a turn cancelled before its
/// first token fails and leaves the user's message for a retry.
#[test]
fn a_turn_stores_both_sides_of_the_conversation() {
    use onyx_engine::conversations::{ConversationStore, Role};
    use onyx_engine::history::History;
    use onyx_engine::settings::Settings;
    use onyx_engine::turn::{Turn, TurnError, TurnEvent, run_turn};

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine();
    engine.load_chat(&tiny_package(dir.path()), &ProviderChoice::Cpu, false).expect("load");
    let history = History::from_store(ConversationStore::open(&dir.path().join("c.sqlite")).expect("open store"));
    let id = history.create().expect("create").id;
    // The tiny model holds 128 tokens: no room for the default system prompt.
    let settings = Settings { max_tokens: 6, temperature: 0.0, system_prompt: String::new(), ..Settings::default() };

    let mut events = Vec::new();
    let cancel = CancelToken::new().expect("token");
    let (stored, reply) = run_turn(
        &engine,
        &history,
        id,
        Turn::new(Some("ab ab"), false).expect("turn"),
        &settings,
        None,
        &cancel,
        &mut |e| events.push(e),
    )
    .expect("turn");
    let Some(TurnEvent::Started { user_message: Some(user_message) }) = events.first() else {
        panic!("the turn must start by announcing the stored user message: {events:?}")
    };
    assert_eq!((user_message.role, user_message.content.as_str()), (Role::User, "ab ab"));
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Reply(ChatEvent::Token { text }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, reply.text);
    assert!(!events.iter().any(|e| matches!(e, TurnEvent::Reply(ChatEvent::Done { .. }))));
    assert_eq!((stored.role, stored.content.as_str()), (Role::Assistant, reply.text.as_str()));
    assert_eq!(stored.finish_reason.as_deref(), Some(reply.finish_reason.as_str()));
    assert_eq!(stored.stats.as_ref().map(|s| s["generatedTokens"].clone()), Some(reply.stats.generated_tokens.into()));
    assert_eq!(stored.provider.as_ref().map(|p| p["ep"].clone()), Some("CPUExecutionProvider".into()));
    assert_eq!(history.messages(id).expect("messages").len(), 2);

    // Regenerating replaces the reply, and the conversation keeps two messages.
    let (again, _) =
        run_turn(&engine, &history, id, Turn::Regenerate, &settings, None, &cancel, &mut |_| {}).expect("regenerate");
    let messages = history.messages(id).expect("messages");
    assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [user_message.id, again.id]);

    // Cancelled before its first token: an error, and the new user message stays stored.
    let cancelled = CancelToken::new().expect("token");
    cancelled.cancel();
    let err = run_turn(
        &engine,
        &history,
        id,
        Turn::new(Some("more"), false).expect("turn"),
        &settings,
        None,
        &cancelled,
        &mut |_| {},
    )
    .expect_err("cancelled before the first token");
    assert!(matches!(err, TurnError::Engine(EngineError::Cancelled)), "{err:?}");
    let messages = history.messages(id).expect("messages");
    assert_eq!(messages.last().map(|m| (m.role, m.content.as_str())), Some((Role::User, "more")));

    // A turn on a conversation that does not exist fails before anything is written.
    let err = run_turn(&engine, &history, 999, Turn::Regenerate, &settings, None, &cancel, &mut |_| {})
        .expect_err("no such conversation");
    assert!(matches!(err, TurnError::History(_)), "{err:?}");
}
