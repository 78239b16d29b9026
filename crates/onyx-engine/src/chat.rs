//! Chat models: loading any supported layout, and generating streamed replies.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use onyx_convert::folder::{Layout, ModelFolder};
use onyx_convert::manifest::{ModelKind, Shapes, Target};
use onyx_runtime::{ActiveProvider, Attempt, DeviceInfo, DeviceKind, ProviderChoice, ProviderError, Runtime};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::decoder::{Decoder, DynamicDecoder, StaticDecoder, StaticShape};
use crate::reply::{ChatEvent, FinishReason, Reply, Stats};
use crate::sampling::{Sampler, SamplingParams};
use crate::template::{ChatTemplate, Message};
use crate::{CancelToken, EngineError};

/// One request for a reply.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRequest {
    /// The conversation, oldest first, ending with the user's message.
    pub messages: Vec<Message>,
    /// How to pick tokens.
    pub sampling: SamplingParams,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Strings that end the reply (not included in it).
    pub stop: Vec<String>,
    /// Keep going past end-of-sequence tokens (benchmarks, which need a fixed token count).
    #[serde(default)]
    pub ignore_eos: bool,
    /// Most tokens the conversation may hold, prompt and reply together (the app's "context
    /// length" setting): older turns are dropped to stay under it. `None`, or a limit above the
    /// model's own context, means the model's context.
    #[serde(default)]
    pub context_limit: Option<usize>,
}

impl ChatRequest {
    /// The tokens this request may use, out of a model context of `capacity`.
    pub fn context(&self, capacity: usize) -> usize {
        self.context_limit.map_or(capacity, |limit| limit.clamp(1, capacity))
    }
}

/// A loaded chat model: tokenizer, template and a decoder on its provider.
pub struct ChatModel {
    folder: ModelFolder,
    tokenizer: Arc<Tokenizer>,
    template: ChatTemplate,
    eos: Vec<u32>,
    decoder: Box<dyn Decoder>,
    /// Tokens in the decoder's cache, so a follow-up turn only runs its new tokens.
    fed: Vec<u32>,
    /// Fault injection for tests: fail the decoder after this many more steps.
    fail_after: Option<usize>,
}

impl std::fmt::Debug for ChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModel")
            .field("dir", &self.folder.dir)
            .field("provider", &self.decoder.provider().summary())
            .finish()
    }
}

/// Longest conversation a dynamic decoder is allowed, whatever the model was trained for: the
/// in-place cache is allocated at this size up front (94 MB for the default model), so it bounds
/// memory on laptops.
const MAX_DYNAMIC_CONTEXT: usize = 2048;

fn read_tokenizer_config(dir: &Path) -> serde_json::Value {
    std::fs::read(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// A special token in tokenizer_config.json is a string or `{"content": ...}`.
fn token_text(value: &serde_json::Value) -> Option<String> {
    value.as_str().map(str::to_owned).or_else(|| value["content"].as_str().map(str::to_owned))
}

impl ChatModel {
    /// Loads the model in `dir` on the provider `choice` picks.
    pub fn load(runtime: &Runtime, dir: &Path, choice: &ProviderChoice, strict: bool) -> Result<Self, EngineError> {
        let folder = ModelFolder::open(dir)?;
        folder.expect_kind(ModelKind::Chat)?;
        let tokenizer_path = &folder.tokenizer;
        let tokenizer = Tokenizer::from_file(tokenizer_path)
            .map_err(|e| EngineError::package(tokenizer_path, format!("cannot load: {e}")))?;
        // Beside the tokenizer: at the top of the folder, or beside an export's graph.
        let config = read_tokenizer_config(tokenizer_path.parent().unwrap_or(dir));
        let bos = token_text(&config["bos_token"]);
        let eos_text = token_text(&config["eos_token"]);
        let template = match &config["chat_template"] {
            serde_json::Value::String(source) => ChatTemplate::new(source, bos, eos_text.clone())?,
            // Some tokenizers list named templates; the unnamed/default one is for chat.
            serde_json::Value::Array(list) => {
                match list.iter().find(|t| t["name"] == "default").and_then(|t| t["template"].as_str()) {
                    Some(source) => ChatTemplate::new(source, bos, eos_text.clone())?,
                    None => ChatTemplate::chatml(),
                }
            }
            _ => ChatTemplate::chatml(),
        };
        let mut eos: Vec<u32> =
            folder.manifest().and_then(|m| m.chat.as_ref()).map(|c| c.special_tokens.eos.clone()).unwrap_or_default();
        if let Some(id) = eos_text.as_deref().and_then(|t| tokenizer.token_to_id(t))
            && !eos.contains(&id)
        {
            eos.push(id);
        }
        if eos.is_empty() {
            return Err(EngineError::package(
                dir,
                "declares no end-of-sequence token (tokenizer_config.json eos_token)",
            ));
        }
        let decoder = build_decoder(runtime, &folder, choice, strict)?;
        Ok(Self { folder, tokenizer: Arc::new(tokenizer), template, eos, decoder, fed: Vec::new(), fail_after: None })
    }

    /// Where the model runs.
    pub fn provider(&self) -> &ActiveProvider {
        self.decoder.provider()
    }

    /// The package variant running: [`Target::Npu`] for the static prefill/decode graphs,
    /// [`Target::Cpu`] for a dynamic graph (any layout other than an Onyx npu variant).
    pub fn variant(&self) -> Target {
        self.decoder.target()
    }

    /// What one decode step moves through the KV cache, for the npu variant's fixed-size cache;
    /// `None` for a growing cache, whose traffic follows the conversation's length.
    pub fn cache_traffic(&self) -> Option<crate::CacheTraffic> {
        self.decoder.cache_traffic()
    }

    /// The model folder, as it was read.
    pub fn folder(&self) -> &ModelFolder {
        &self.folder
    }

    /// The tokenizer (for token counts and the CLI's `--json`).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Most tokens a conversation can hold.
    pub fn context(&self) -> usize {
        self.decoder.capacity()
    }

    /// Forgets the cached conversation: the next reply prefills its whole prompt.
    pub fn reset(&mut self) {
        self.decoder.reset();
        self.fed.clear();
    }

    /// Test hook: make the decoder fail after `steps` more steps, as a crashing NPU driver would.
    #[doc(hidden)]
    pub fn inject_failure_after(&mut self, steps: Option<usize>) {
        self.fail_after = steps;
    }

    /// Renders and tokenizes `messages`, dropping the oldest turns (never the system prompt or
    /// the last message) until the prompt plus `reserve` reply tokens fit in `capacity`.
    fn prompt(&self, messages: &[Message], reserve: usize, capacity: usize) -> Result<(Vec<u32>, usize), EngineError> {
        if messages.is_empty() {
            return Err(EngineError::InvalidRequest("the conversation has no messages".into()));
        }
        if messages.last().is_some_and(|m| m.content.trim().is_empty()) {
            return Err(EngineError::InvalidRequest("the last message is empty".into()));
        }
        let mut kept: Vec<Message> = messages.to_vec();
        let mut dropped = 0;
        loop {
            let text = self.template.render(&kept, true)?;
            let encoding =
                self.tokenizer.encode(text.as_str(), false).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
            let ids = encoding.get_ids().to_vec();
            if ids.len() + reserve.min(capacity / 4).max(1) <= capacity {
                return Ok((ids, dropped));
            }
            // Drop the oldest non-system message, if one can go.
            let first_droppable = kept.iter().position(|m| m.role != "system");
            match first_droppable {
                Some(index) if index + 1 < kept.len() => {
                    kept.remove(index);
                    dropped += 1;
                }
                _ => return Err(EngineError::PromptTooLong { needed: ids.len() + 1, available: capacity }),
            }
        }
    }

    /// Generates a reply, streaming events to `on_event`.
    pub fn generate(
        &mut self,
        runtime: &Runtime,
        request: &ChatRequest,
        cancel: &CancelToken,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<Reply, EngineError> {
        request.sampling.validate()?;
        if request.max_tokens == 0 {
            return Err(EngineError::InvalidRequest("max_tokens must be at least 1".into()));
        }
        let started = Instant::now();
        let capacity = request.context(self.decoder.capacity());
        let (prompt_ids, dropped_messages) = self.prompt(&request.messages, request.max_tokens, capacity)?;

        // Reuse the cache when this prompt extends what it already holds (the usual next turn).
        let reuse = self.fed.len() <= prompt_ids.len()
            && prompt_ids[..self.fed.len()] == self.fed[..]
            && self.fed.len() < prompt_ids.len()
            && self.decoder.len() == self.fed.len();
        if !reuse {
            self.decoder.reset();
            self.fed.clear();
        }
        let to_run = prompt_ids[self.fed.len()..].to_vec();
        let mut logits = self.step(runtime, &to_run, cancel, on_event)?;
        self.fed.extend_from_slice(&to_run);
        let prefill_done = Instant::now();
        let prefill_seconds = prefill_done.duration_since(started).as_secs_f64();

        let mut sampler = Sampler::new(request.sampling.clone());
        let mut history = prompt_ids.clone();
        let mut generated: Vec<u32> = Vec::new();
        let mut text = String::new();
        // The stream borrows the tokenizer for the whole reply; an `Arc` keeps that borrow off
        // `self`, which each step needs mutably.
        let tokenizer = Arc::clone(&self.tokenizer);
        let mut stream = tokenizer.decode_stream(true);
        let mut first_token_at = None;
        let finish = loop {
            if cancel.is_cancelled() {
                break FinishReason::Cancelled;
            }
            let token = sampler.sample(&logits, &history);
            first_token_at.get_or_insert_with(Instant::now);
            if self.eos.contains(&token) && !request.ignore_eos {
                break FinishReason::Eos;
            }
            generated.push(token);
            history.push(token);
            if let Some(piece) = stream.step(token).map_err(|e| EngineError::Tokenizer(e.to_string()))? {
                text.push_str(&piece);
                if let Some(cut) =
                    request.stop.iter().filter(|s| !s.is_empty()).filter_map(|s| text.find(s.as_str())).min()
                {
                    text.truncate(cut);
                    break FinishReason::Stop;
                }
                on_event(ChatEvent::Token { text: piece });
            }
            if generated.len() >= request.max_tokens {
                break FinishReason::MaxTokens;
            }
            if self.decoder.len() + 1 > capacity {
                break FinishReason::ContextFull;
            }
            logits = match self.step(runtime, &[token], cancel, on_event) {
                Ok(logits) => logits,
                Err(EngineError::Cancelled) => break FinishReason::Cancelled,
                Err(e) => return Err(e),
            };
            self.fed.push(token);
        };
        let ended = Instant::now();
        let decode_seconds = first_token_at.map(|t| ended.duration_since(t).as_secs_f64()).unwrap_or(0.0);
        let stats = Stats {
            prompt_tokens: prompt_ids.len(),
            generated_tokens: generated.len(),
            time_to_first_token_ms: first_token_at
                .map(|t| t.duration_since(started).as_secs_f64() * 1e3)
                .unwrap_or(0.0),
            prefill_tokens_per_second: if prefill_seconds > 0.0 { to_run.len() as f64 / prefill_seconds } else { 0.0 },
            decode_tokens_per_second: if decode_seconds > 0.0 && generated.len() > 1 {
                (generated.len() - 1) as f64 / decode_seconds
            } else {
                0.0
            },
            total_ms: ended.duration_since(started).as_secs_f64() * 1e3,
        };
        on_event(ChatEvent::Done { stats: stats.clone() });
        Ok(Reply {
            text,
            token_ids: generated,
            prompt_ids,
            finish_reason: finish,
            stats,
            provider: self.decoder.provider().clone(),
            dropped_messages,
            sources: Vec::new(),
        })
    }

    /// One decoder step, falling back to the CPU when an NPU or GPU fails mid-reply: the cache is
    /// rebuilt there from the tokens fed so far, and the reply carries on.
    fn step(
        &mut self,
        runtime: &Runtime,
        tokens: &[u32],
        cancel: &CancelToken,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<Vec<f32>, EngineError> {
        let injected = match self.fail_after.as_mut() {
            Some(0) => Some(EngineError::Inference {
                provider: self.decoder.provider().summary(),
                message: "injected failure".into(),
            }),
            Some(n) => {
                *n -= 1;
                None
            }
            None => None,
        };
        let result = match injected {
            Some(error) => Err(error),
            None => self.decoder.feed(tokens, cancel),
        };
        match result {
            // ORT's own CPU EP is the last resort; anything else (NPU, GPU, a plugin on the CPU)
            // falls back to it.
            Err(EngineError::Inference { message, .. }) if self.decoder.provider().ep != onyx_runtime::CPU_EP => {
                self.fail_after = None;
                let from = self.decoder.provider().summary();
                let mut cpu = build_decoder(runtime, &self.folder, &ProviderChoice::Cpu, false)?;
                let mut replay = self.fed.clone();
                replay.extend_from_slice(tokens);
                let logits = cpu.feed(&replay, cancel)?;
                on_event(ChatEvent::ProviderChanged { from, to: cpu.provider().summary(), reason: message });
                self.decoder = cpu;
                // `fed` already holds what preceded `tokens`; the caller appends `tokens`.
                Ok(logits)
            }
            other => other,
        }
    }
}

/// Whether `choice` asks for an NPU that this machine has: `auto` and `npu` do when an NPU is
/// present, an EP name or a device index when what it names is an NPU. `cpu` and `gpu` never do,
/// so they never run a package's npu variant while it has a cpu one.
fn reaches_npu(choice: &ProviderChoice, devices: &[DeviceInfo]) -> bool {
    let npus = || devices.iter().filter(|d| d.kind == DeviceKind::Npu && d.ep_name != onyx_runtime::CPU_EP);
    match choice {
        ProviderChoice::Auto | ProviderChoice::Npu => npus().next().is_some(),
        ProviderChoice::Cpu | ProviderChoice::Gpu => false,
        ProviderChoice::Ep(name) => {
            let name = name.to_ascii_lowercase();
            npus().any(|d| {
                let ep = d.ep_name.to_ascii_lowercase();
                ep == name || ep.strip_suffix("executionprovider") == Some(name.as_str())
            })
        }
        ProviderChoice::Device { index, .. } => npus().any(|d| d.index == *index),
    }
}

/// Why the npu variant is not the one running, as attempts for the provider report: every
/// device its graphs were tried on, with the reason, or the one error that stopped it.
fn npu_variant_refusals(error: &EngineError, files: &[String]) -> Vec<Attempt> {
    let graphs = files.join(" + ");
    match error {
        EngineError::Provider(ProviderError::AllFailed { tried, .. }) => tried
            .iter()
            .map(|attempt| Attempt {
                reason: format!("the npu variant ({graphs}) was refused: {}", attempt.reason),
                ..attempt.clone()
            })
            .collect(),
        other => vec![Attempt::without_device(
            "npu variant",
            format!("the npu variant ({graphs}) could not be used: {other}"),
        )],
    }
}

/// Builds the decoder for `layout` on `choice`. A package's npu variant is tried first when the
/// choice reaches an NPU ([`reaches_npu`]), or when it is the only variant; while a cpu variant
/// exists, the npu variant must run whole on the NPU, and when it is refused the cpu variant is
/// built on `choice` with the refusal kept in its provider's `tried` list.
fn build_decoder(
    runtime: &Runtime,
    folder: &ModelFolder,
    choice: &ProviderChoice,
    strict: bool,
) -> Result<Box<dyn Decoder>, EngineError> {
    let dir = folder.dir.as_path();
    match &folder.layout {
        Layout::Onyx(manifest) => {
            let npu = manifest.variant(Target::Npu);
            let cpu = manifest.variant(Target::Cpu);
            let mut refusals = Vec::new();
            if let Some(npu) = npu
                && (cpu.is_none() || reaches_npu(choice, runtime.devices()))
                && let (Shapes::Static { sequence: chunk, context: Some(context), .. }, [prefill, decode, ..]) =
                    (npu.shapes, npu.files.as_slice())
            {
                let a = &manifest.architecture;
                let (Some(layers), Some(kv_heads), Some(head_dim)) = (a.layers, a.kv_heads, a.head_dim) else {
                    return Err(EngineError::package(
                        dir.join(onyx_convert::manifest::MANIFEST_FILE),
                        "the npu variant needs the architecture's layers, kvHeads and headDim",
                    ));
                };
                let shape = StaticShape { layers, kv_heads, head_dim, context, chunk };
                // With a cpu variant to fall back to, `auto` means "the NPU" for this graph: the
                // GPU and the CPU run the dynamic graph better.
                let npu_choice = match choice {
                    ProviderChoice::Auto if cpu.is_some() => ProviderChoice::Npu,
                    other => other.clone(),
                };
                match StaticDecoder::load(
                    runtime,
                    &dir.join(prefill),
                    &dir.join(decode),
                    &npu_choice,
                    strict || cpu.is_some(),
                    shape,
                ) {
                    Ok(decoder) => return Ok(Box::new(decoder)),
                    Err(error) if cpu.is_some() && !strict => refusals = npu_variant_refusals(&error, &npu.files),
                    Err(e) => return Err(e),
                }
            }
            let cpu = cpu
                .ok_or_else(|| EngineError::package(dir, "has no cpu variant and no NPU could run its npu variant"))?;
            let file = cpu.files.first().ok_or_else(|| EngineError::package(dir, "the cpu variant lists no file"))?;
            let capacity = manifest.context_length.min(MAX_DYNAMIC_CONTEXT);
            // Onyx cpu graphs use GroupQueryAttention, so the cache can live in place.
            match DynamicDecoder::load(runtime, &dir.join(file), choice, strict, capacity, true) {
                Ok(mut decoder) => {
                    let tried = &mut decoder.provider_mut().tried;
                    tried.splice(0..0, refusals);
                    Ok(Box::new(decoder))
                }
                Err(EngineError::Provider(ProviderError::AllFailed { requested, model, mut tried })) => {
                    tried.splice(0..0, refusals);
                    Err(EngineError::Provider(ProviderError::AllFailed { requested, model, tried }))
                }
                Err(other) => Err(other),
            }
        }
        Layout::Genai { model } | Layout::OnnxExport { model } => {
            Ok(Box::new(DynamicDecoder::load(runtime, model, choice, strict, MAX_DYNAMIC_CONTEXT, false)?))
        }
    }
}
