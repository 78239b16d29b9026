//! `onyx chat`, `onyx embed` and `onyx bench`: the engine from a terminal.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onyx_engine::documents::{DocumentIndex, DocumentOptions};
use onyx_engine::embed::TextKind;
use onyx_engine::reply::{ChatEvent, Reply};
use onyx_engine::sampling::SamplingParams;
use onyx_engine::settings::Settings;
use onyx_engine::template::Message;
use onyx_engine::{CancelToken, Engine};
use onyx_runtime::{ProviderChoice, RuntimeConfig};

use crate::locate::Defaults;

/// What `onyx chat` runs: a model, and the app's settings with the flags applied.
pub struct ChatOptions {
    /// The chat model's folder.
    pub dir: PathBuf,
    /// Provider, strictness, system prompt and generation parameters.
    pub settings: Settings,
    /// `--docs`: the index to answer from.
    pub documents: Option<PathBuf>,
    /// The embedding model that index was built with (with `--docs`).
    pub embedding: Option<PathBuf>,
}

/// The document index opened for `chat --docs`, with the embedding model loaded in the engine.
struct OpenDocuments {
    store: onyx_docs::store::Store,
    searcher: onyx_docs::search::Searcher,
}

/// `onyx chat`.
pub fn run_chat(
    config: &RuntimeConfig,
    defaults: &Defaults,
    options: &ChatOptions,
    prompt: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let engine = defaults.engine(config, &options.settings)?;
    let dir = &options.dir;
    let settings = &options.settings;
    let choice = ProviderChoice::parse(&settings.provider);
    let provider = engine.load_chat(dir, &choice, settings.strict_npu)?;
    let mut documents = match (&options.documents, &options.embedding) {
        (Some(db), Some(embedding)) => {
            let store = onyx_docs::store::Store::open(db)?;
            if store.counts()?.chunks == 0 {
                bail!(
                    "the document index {} is empty: add a folder with `onyx index add PATH`",
                    store.path().display()
                );
            }
            engine.load_embedding(embedding, &choice, false)?;
            Some(OpenDocuments { store, searcher: onyx_docs::search::Searcher::new() })
        }
        _ => None,
    };
    // The system prompt goes first, as the app puts it (an empty one means none).
    let mut messages: Vec<Message> = Vec::new();
    if !settings.system_prompt.trim().is_empty() {
        messages.push(Message { role: "system".into(), content: settings.system_prompt.clone() });
    }
    if let Some(prompt) = prompt {
        messages.push(Message { role: "user".into(), content: prompt.to_owned() });
        let reply = send(&engine, options, &messages, documents.as_mut(), !json)?;
        if json {
            let out = serde_json::json!({
                "text": reply.text,
                "token_ids": reply.token_ids,
                "prompt_tokens": reply.stats.prompt_tokens,
                "finish_reason": reply.finish_reason,
                "stats": reply.stats,
                "provider": reply.provider,
                "sources": reply.sources,
            });
            crate::output::print_json(&serde_json::to_string_pretty(&out)?)?;
        } else {
            println!();
            print_sources(&reply);
            print_stats(&reply);
        }
        return Ok(());
    }

    eprintln!("{} on {}. Commands: /reset, /system TEXT, /stats, /quit", dir.display(), provider.summary());
    let mut last: Option<Reply> = None;
    let stdin = std::io::stdin();
    loop {
        eprint!("> ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin.lock().read_line(&mut line).context("reading stdin")? == 0 {
            break;
        }
        let line = line.trim();
        match line {
            "" => continue,
            "/quit" | "/exit" => break,
            "/reset" => {
                messages.retain(|m| m.role == "system");
                eprintln!("(conversation cleared)");
            }
            "/stats" => match &last {
                Some(reply) => print_stats(reply),
                None => eprintln!("(no reply yet)"),
            },
            _ if line.starts_with("/system") => {
                let text = line.trim_start_matches("/system").trim();
                messages.retain(|m| m.role != "system");
                if !text.is_empty() {
                    messages.insert(0, Message { role: "system".into(), content: text.to_owned() });
                }
                eprintln!("(system prompt {})", if text.is_empty() { "cleared" } else { "set" });
            }
            _ => {
                messages.push(Message { role: "user".into(), content: line.to_owned() });
                match send(&engine, options, &messages, documents.as_mut(), true) {
                    Ok(reply) => {
                        println!();
                        print_sources(&reply);
                        messages.push(Message { role: "assistant".into(), content: reply.text.clone() });
                        last = Some(reply);
                    }
                    Err(e) => {
                        // The engine stays usable: report, drop the failed turn, go on.
                        eprintln!("error: {e:#}");
                        messages.pop();
                    }
                }
            }
        }
    }
    Ok(())
}

fn send(
    engine: &Engine,
    options: &ChatOptions,
    messages: &[Message],
    documents: Option<&mut OpenDocuments>,
    stream: bool,
) -> anyhow::Result<Reply> {
    // The request the app's chat window sends for these settings.
    let request = onyx_engine::turn::chat_request(messages.to_vec(), &options.settings);
    let cancel = CancelToken::new()?;
    let mut out = std::io::stdout();
    let mut on_event = |event| match event {
        ChatEvent::Token { text } if stream => {
            let _ = write!(out, "{text}");
            let _ = out.flush();
        }
        ChatEvent::ProviderChanged { from, to, reason } => eprintln!("\n(provider changed: {from} -> {to}: {reason})"),
        _ => {}
    };
    let reply = match documents {
        Some(docs) => {
            let index = DocumentIndex { store: &docs.store, searcher: &mut docs.searcher };
            let options = DocumentOptions { search: options.settings.documents.search_options() };
            engine.chat_with_documents(&request, index, &options, &cancel, &mut on_event)?
        }
        None => engine.chat(&request, &cancel, &mut on_event)?,
    };
    Ok(reply)
}

fn print_sources(reply: &Reply) {
    for source in &reply.sources {
        let result = &source.result;
        let heading = if result.heading.is_empty() { String::new() } else { format!(" — {}", result.heading) };
        eprintln!("[{}] {}:{}{heading}", source.number, result.path.display(), result.lines.0);
    }
}

fn print_stats(reply: &Reply) {
    let s = &reply.stats;
    eprintln!(
        "[{} prompt + {} generated tokens; first token {:.0} ms; prefill {:.0} tok/s; decode {:.1} tok/s; {}]",
        s.prompt_tokens,
        s.generated_tokens,
        s.time_to_first_token_ms,
        s.prefill_tokens_per_second,
        s.decode_tokens_per_second,
        reply.provider.summary()
    );
}

/// `onyx embed`.
pub fn run_embed(
    config: &RuntimeConfig,
    defaults: &Defaults,
    dir: &Path,
    provider: &str,
    json: bool,
    texts: &[String],
) -> anyhow::Result<()> {
    if texts.is_empty() {
        bail!("give at least one TEXT to embed");
    }
    let engine = defaults.engine(config, &defaults.settings)?;
    engine.load_embedding(dir, &ProviderChoice::parse(provider), false)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = engine.embed(&refs, TextKind::Document, &CancelToken::new()?)?;
    let dim = vectors.first().map_or(0, Vec::len);
    if json {
        let out = serde_json::json!({ "model": dir.display().to_string(), "dim": dim, "embeddings": vectors });
        crate::output::print_json(&serde_json::to_string(&out)?)?;
    } else {
        for (text, vector) in texts.iter().zip(&vectors) {
            let head: Vec<String> = vector.iter().take(6).map(|v| format!("{v:+.4}")).collect();
            println!("{dim}-d [{} ...]  {text}", head.join(", "));
        }
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A passage of about `tokens` tokens, for benchmarks.
fn passage(tokenizer: &tokenizers::Tokenizer, tokens: usize) -> String {
    const TEXT: &str = "The quick brown fox jumps over the lazy dog while the river runs past old stone bridges. ";
    let mut text = String::new();
    while tokenizer.encode(text.as_str(), false).map(|e| e.len()).unwrap_or(usize::MAX) < tokens {
        text.push_str(TEXT);
    }
    text
}

/// `onyx bench`.
pub fn run_bench(
    config: &RuntimeConfig,
    defaults: &Defaults,
    provider: &str,
    json: bool,
    runs: usize,
) -> anyhow::Result<()> {
    let engine = defaults.engine(config, &defaults.settings)?;
    let choice = ProviderChoice::parse(provider);
    // The app's models; the measurement itself uses fixed parameters, not the app's sampling.
    let chat_dir = defaults.chat_model(None)?;
    let embed_dir = defaults.embedding_model(None)?;
    let chat_provider = engine.load_chat(&chat_dir, &choice, false)?;
    let cache_traffic = engine.with_chat_model(|m| m.cache_traffic())?;
    let embed_provider = engine.load_embedding(&embed_dir, &choice, false)?;
    let runs = runs.max(1);

    // Chat: a 512-token prompt, then 128 greedy tokens (end-of-sequence ignored so every run
    // decodes the same count).
    let prompt_text = engine.with_chat_model(|m| {
        let tokenizer = m.tokenizer();
        passage(tokenizer, 490)
    })?;
    let request = onyx_engine::chat::ChatRequest {
        messages: vec![Message { role: "user".into(), content: prompt_text }],
        sampling: SamplingParams::greedy(),
        max_tokens: 128,
        stop: Vec::new(),
        ignore_eos: true,
        context_limit: None,
    };
    let (mut ttft, mut prefill, mut decode) = (Vec::new(), Vec::new(), Vec::new());
    let mut prompt_tokens = 0;
    for run in 0..runs + 1 {
        // A new conversation each run, so the prompt is prefilled from scratch.
        engine.with_chat_model(|m| m.reset())?;
        let reply = engine.chat(&request, &CancelToken::new()?, &mut |_| {})?;
        if run == 0 {
            continue; // warm-up: first-run allocations and ORT's lazy initialisation
        }
        prompt_tokens = reply.stats.prompt_tokens;
        ttft.push(reply.stats.time_to_first_token_ms);
        prefill.push(reply.stats.prefill_tokens_per_second);
        decode.push(reply.stats.decode_tokens_per_second);
    }

    // Embeddings: 256-token passages at batch 1 and 32.
    let text = engine.with_embedding_model(|m| passage(m.tokenizer(), 254))?;
    let mut per_batch = Vec::new();
    for batch in [1usize, 32] {
        let texts: Vec<&str> = std::iter::repeat_n(text.as_str(), batch.max(8)).collect();
        let mut rates = Vec::new();
        for _ in 0..runs.max(3) {
            let started = std::time::Instant::now();
            engine.with_embedding_model(|m| m.embed(&texts, TextKind::Document, batch, &CancelToken::new()?))??;
            rates.push(texts.len() as f64 / started.elapsed().as_secs_f64());
        }
        per_batch.push((batch, median(rates)));
    }

    let result = serde_json::json!({
        "chat": {
            "model": chat_dir.display().to_string(),
            "provider": chat_provider.summary(),
            "promptTokens": prompt_tokens,
            "generatedTokens": 128,
            "timeToFirstTokenMs": median(ttft),
            "prefillTokensPerSecond": median(prefill),
            "decodeTokensPerSecond": median(decode),
            // The npu variant's fixed-size cache: bytes the decode graph takes in per step, and
            // bytes Onyx writes into the cache per step. Null for the cpu variant's growing cache.
            "kvCache": cache_traffic,
        },
        "embeddings": {
            "model": embed_dir.display().to_string(),
            "provider": embed_provider.summary(),
            "passageTokens": 256,
            "batch1PassagesPerSecond": per_batch[0].1,
            "batch32PassagesPerSecond": per_batch[1].1,
        },
        "peakRssMb": peak_rss_mb(),
        "runs": runs,
        "statistic": "median",
    });
    if json {
        crate::output::print_json(&serde_json::to_string_pretty(&result)?)?;
    } else {
        let c = &result["chat"];
        let e = &result["embeddings"];
        println!("chat       {} ({})", c["model"].as_str().unwrap_or(""), c["provider"].as_str().unwrap_or(""));
        println!(
            "  prompt {} tokens: first token {:.0} ms, prefill {:.0} tok/s",
            c["promptTokens"],
            c["timeToFirstTokenMs"].as_f64().unwrap_or(0.0),
            c["prefillTokensPerSecond"].as_f64().unwrap_or(0.0)
        );
        println!("  decode 128 tokens: {:.1} tok/s", c["decodeTokensPerSecond"].as_f64().unwrap_or(0.0));
        if let Some(traffic) = cache_traffic {
            println!(
                "  kv cache ({}): {:.1} MB into the decode graph per step, {:.1} kB written by Onyx",
                traffic.element,
                traffic.graph_input_bytes as f64 / 1e6,
                traffic.host_written_bytes as f64 / 1e3
            );
        }
        println!("embeddings {} ({})", e["model"].as_str().unwrap_or(""), e["provider"].as_str().unwrap_or(""));
        println!("  256-token passages: {:.1}/s at batch 1, {:.1}/s at batch 32", per_batch[0].1, per_batch[1].1);
        println!("peak RSS   {:.0} MB   (medians of {runs} runs)", peak_rss_mb().unwrap_or(0.0));
    }
    Ok(())
}
