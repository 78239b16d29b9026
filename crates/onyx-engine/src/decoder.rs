//! Decoders: one ORT session (or two, for static graphs) plus the KV cache, fed tokens and
//! returning next-token logits. Two cache layouts:
//!
//! - **growing** ([`DynamicDecoder`]): dynamic graphs (Onyx cpu packages, onnxruntime-genai
//!   folders, Optimum exports). Each step's `present.*` outputs become the next step's
//!   `past_key_values.*` inputs by moving the ORT values, never by copying them in Rust.
//! - **fixed** ([`StaticDecoder`]): Onyx npu packages. The cache is a set of fixed-size tensors
//!   (fp16 in packages built since 2026-12-04, fp32 before) owned here and bound once to both
//!   graphs' inputs (ORT IoBinding); only each step's new K/V rows are written into it, in place.
//!   Prefill runs in chunks of the graph's sequence length.

use std::borrow::Cow;
use std::path::Path;

use half::f16;
use onyx_convert::llama::{MASKED, names, npu_names};
use onyx_convert::manifest::Target;
use onyx_runtime::ort::memory::Allocator;
use onyx_runtime::ort::session::{IoBinding, Session, SessionInputValue, SessionOutputs};
use onyx_runtime::ort::value::{DynValue, PrimitiveTensorElementType, Tensor, TensorElementType, ValueType};
use onyx_runtime::{ActiveProvider, ModelSource, ProviderChoice, Runtime, SessionRequest};

use crate::{CancelToken, EngineError};

/// What every decoder offers the generation loop.
pub(crate) trait Decoder: Send {
    /// Feeds `tokens` after everything fed since the last reset; returns the last position's logits.
    fn feed(&mut self, tokens: &[u32], cancel: &CancelToken) -> Result<Vec<f32>, EngineError>;
    /// Forgets the conversation (the cache), keeping the sessions.
    fn reset(&mut self);
    /// Tokens fed since the last reset.
    fn len(&self) -> usize;
    /// Most tokens the cache can hold.
    fn capacity(&self) -> usize;
    /// Where it runs.
    fn provider(&self) -> &ActiveProvider;
    /// Where it runs, for adding the attempts made before it (a refused npu variant).
    fn provider_mut(&mut self) -> &mut ActiveProvider;
    /// The package variant it runs: `Npu` for the static prefill/decode graphs.
    fn target(&self) -> Target;
    /// What a decode step moves, for decoders over a fixed-size cache.
    fn cache_traffic(&self) -> Option<CacheTraffic> {
        None
    }
}

fn inference_error(provider: &ActiveProvider, error: impl std::fmt::Display) -> EngineError {
    EngineError::Inference { provider: provider.summary(), message: error.to_string() }
}

/// Runs a session with the cancel token's run options; a terminated run becomes `Cancelled`.
fn run<'s>(
    session: &'s mut Session,
    inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)>,
    cancel: &'s CancelToken,
    provider: &ActiveProvider,
) -> Result<onyx_runtime::ort::session::SessionOutputs<'s>, EngineError> {
    if cancel.is_cancelled() {
        return Err(EngineError::Cancelled);
    }
    session
        .run_with_options(inputs, cancel.run_options())
        .map_err(|e| if cancel.is_cancelled() { EngineError::Cancelled } else { inference_error(provider, e) })
}

fn logits_of(
    outputs: &onyx_runtime::ort::session::SessionOutputs<'_>,
    provider: &ActiveProvider,
) -> Result<Vec<f32>, EngineError> {
    let logits =
        outputs.get(names::LOGITS).ok_or_else(|| inference_error(provider, "the model produced no 'logits' output"))?;
    let (shape, values) = logits.try_extract_tensor::<f32>().map_err(|e| inference_error(provider, e))?;
    let vocab = shape.last().copied().unwrap_or(0).max(0) as usize;
    if vocab == 0 || values.len() < vocab {
        return Err(inference_error(provider, format!("logits have shape {shape:?}")));
    }
    // Graphs that return every position's logits (Optimum, genai) are cut to the last one.
    Ok(values[values.len() - vocab..].to_vec())
}

/// The layout of a dynamic decoder's interface, read from the session's own inputs.
struct DynamicLayout {
    layers: usize,
    kv_heads: usize,
    head_dim: usize,
    position_ids: bool,
}

impl DynamicLayout {
    fn detect(session: &Session, model: &Path) -> Result<Self, EngineError> {
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        let layers = inputs.iter().filter(|n| n.starts_with("past_key_values.") && n.ends_with(".key")).count();
        let complete = inputs.contains(&names::INPUT_IDS)
            && inputs.contains(&names::ATTENTION_MASK)
            && outputs.contains(&names::LOGITS)
            && layers > 0
            && (0..layers).all(|l| {
                inputs.contains(&names::past(l, "key").as_str())
                    && inputs.contains(&names::past(l, "value").as_str())
                    && outputs.contains(&names::present(l, "key").as_str())
                    && outputs.contains(&names::present(l, "value").as_str())
            });
        if !complete {
            return Err(EngineError::package(
                model,
                format!(
                    "inputs {inputs:?} / outputs {outputs:?} match no known layout (expected input_ids, attention_mask, \
                     past_key_values.N.key/value -> logits, present.N.key/value)"
                ),
            ));
        }
        let past = session.inputs().iter().find(|i| i.name() == names::past(0, "key"));
        let dims: Vec<i64> = match past.map(|p| p.dtype()) {
            Some(ValueType::Tensor { shape, .. }) => shape.to_vec(),
            _ => Vec::new(),
        };
        let (kv_heads, head_dim) = match dims.as_slice() {
            [_, kv, _, hd] if *kv > 0 && *hd > 0 => (*kv as usize, *hd as usize),
            _ => {
                return Err(EngineError::package(
                    model,
                    format!("past_key_values.0.key has shape {dims:?}; its heads and head size must be fixed"),
                ));
            }
        };
        Ok(Self { layers, kv_heads, head_dim, position_ids: inputs.contains(&"position_ids") })
    }
}

/// A dynamic-shape decoder with a growing cache.
pub(crate) struct DynamicDecoder {
    session: Session,
    provider: ActiveProvider,
    layout: DynamicLayout,
    /// `past_key_values` for the next step: [k0, v0, k1, v1, ...]; empty before the first step.
    cache: Vec<DynValue>,
    /// For graphs built on GroupQueryAttention: one buffer per cache tensor, bound as both
    /// `past` input and `present` output, which GQA then updates in place. No cache copy and no
    /// allocation per step; the buffers grow (see [`SharedCache::reserve`]) as the conversation
    /// does.
    shared: Option<SharedCache>,
    len: usize,
    capacity: usize,
}

/// Cache positions the in-place buffers grow by at least (and are rounded up to).
const CACHE_STEP: usize = 256;

/// The in-place cache of a GroupQueryAttention graph: `[k0, v0, k1, v1, ...]`, each
/// `[1, kv_heads, slots, head_dim]`, bound to the session as `past_key_values.*` and `present.*`.
struct SharedCache {
    binding: IoBinding,
    buffers: Vec<Tensor<f32>>,
    /// Positions each buffer holds. GQA reads it from the buffer's shape as the longest sequence
    /// it may write, so a buffer can be smaller than the context as long as it is regrown first.
    slots: usize,
}

impl SharedCache {
    fn new(session: &Session) -> Result<Self, onyx_runtime::ort::Error> {
        Ok(Self { binding: session.create_binding()?, buffers: Vec::new(), slots: 0 })
    }

    /// Makes every buffer hold at least `needed` positions (at most `capacity`), keeping the
    /// first `len`. A full-context cache is 94 MB for the default model while most conversations
    /// use a fraction of it, so buffers start at the first prompt's size and at least double
    /// when they grow: one copy of the cache per growth, never one per step.
    fn reserve(
        &mut self,
        allocator: &Allocator,
        layout: &DynamicLayout,
        needed: usize,
        len: usize,
        capacity: usize,
    ) -> Result<(), onyx_runtime::ort::Error> {
        if needed <= self.slots {
            return Ok(());
        }
        let slots = needed.next_multiple_of(CACHE_STEP).max(self.slots * 2).min(capacity).max(needed);
        let (heads, head_dim) = (layout.kv_heads, layout.head_dim);
        for index in 0..layout.layers * 2 {
            // ORT's default CPU allocator, not the session arena: a buffer given up when the cache
            // grows goes back to the system. Rows past `len` are never read, so need no clearing.
            let mut buffer = Tensor::<f32>::new(allocator, [1, heads, slots, head_dim])?;
            if let Some(old) = self.buffers.get(index) {
                let (_, from) = old.extract_tensor();
                let (_, to) = buffer.extract_tensor_mut();
                // Each head's rows are contiguous: copy the first `len` of them per head.
                for head in 0..heads {
                    let kept = len * head_dim;
                    let (src, dst) = (head * self.slots * head_dim, head * slots * head_dim);
                    if let (Some(from), Some(to)) = (from.get(src..src + kept), to.get_mut(dst..dst + kept)) {
                        to.copy_from_slice(from);
                    }
                }
            }
            let (layer, kind) = (index / 2, if index % 2 == 0 { "key" } else { "value" });
            // Rebinding a name replaces (and releases) the buffer bound before.
            self.binding.bind_input(names::past(layer, kind), &buffer)?;
            self.binding.bind_output(names::present(layer, kind), &mut buffer)?;
            match self.buffers.get_mut(index) {
                Some(slot) => *slot = buffer,
                None => self.buffers.push(buffer),
            }
        }
        self.slots = slots;
        Ok(())
    }
}

impl DynamicDecoder {
    /// Loads `model`. `share_buffer` asks for the in-place cache, which only graphs whose
    /// attention is GroupQueryAttention support (Onyx cpu packages; genai folders that say so).
    pub(crate) fn load(
        runtime: &Runtime,
        model: &Path,
        choice: &ProviderChoice,
        strict: bool,
        capacity: usize,
        share_buffer: bool,
    ) -> Result<Self, EngineError> {
        let mut request = SessionRequest::new(ModelSource::File(model), choice.clone());
        request.strict = strict;
        let built = runtime.build_session(&request)?;
        let layout = DynamicLayout::detect(&built.session, model)?;
        let mut decoder = Self {
            session: built.session,
            provider: built.provider,
            layout,
            cache: Vec::new(),
            shared: None,
            len: 0,
            capacity,
        };
        if share_buffer {
            decoder.shared =
                Some(SharedCache::new(&decoder.session).map_err(|e| inference_error(&decoder.provider, e))?);
        }
        Ok(decoder)
    }

    fn feed_shared(&mut self, tokens: &[u32], cancel: &CancelToken) -> Result<Vec<f32>, EngineError> {
        let total = self.len + tokens.len();
        if total > self.capacity {
            return Err(EngineError::PromptTooLong { needed: total, available: self.capacity });
        }
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let provider = self.provider.clone();
        let err = |e: onyx_runtime::ort::Error| inference_error(&provider, e);
        let Some(shared) = self.shared.as_mut() else { return Err(inference_error(&provider, "no shared cache")) };
        shared.reserve(self.session.allocator(), &self.layout, total, self.len, self.capacity).map_err(err)?;
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        shared
            .binding
            .bind_input(names::INPUT_IDS, &Tensor::from_array(([1, tokens.len()], ids)).map_err(err)?)
            .map_err(err)?;
        let mask = Tensor::from_array(([1, total], vec![1i64; total])).map_err(err)?;
        shared.binding.bind_input(names::ATTENTION_MASK, &mask).map_err(err)?;
        // Logits are small and change shape between Optimum-style graphs; let ORT allocate them.
        shared.binding.bind_output_to_device(names::LOGITS, self.session.allocator().memory_info()).map_err(err)?;
        let outputs = self
            .session
            .run_binding_with_options(&shared.binding, cancel.run_options())
            .map_err(|e| if cancel.is_cancelled() { EngineError::Cancelled } else { inference_error(&provider, e) })?;
        let logits = logits_of(&outputs, &provider)?;
        drop(outputs);
        self.len = total;
        Ok(logits)
    }
}

impl Decoder for DynamicDecoder {
    fn feed(&mut self, tokens: &[u32], cancel: &CancelToken) -> Result<Vec<f32>, EngineError> {
        if tokens.is_empty() {
            return Err(EngineError::InvalidRequest("no tokens to feed".into()));
        }
        if self.shared.is_some() {
            return self.feed_shared(tokens, cancel);
        }
        let total = self.len + tokens.len();
        let err = |e| inference_error(&self.provider, e);
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (names::INPUT_IDS.into(), Tensor::from_array(([1, tokens.len()], ids)).map_err(err)?.into()),
            (names::ATTENTION_MASK.into(), Tensor::from_array(([1, total], vec![1i64; total])).map_err(err)?.into()),
        ];
        if self.layout.position_ids {
            let positions: Vec<i64> = (self.len..total).map(|p| p as i64).collect();
            inputs
                .push(("position_ids".into(), Tensor::from_array(([1, tokens.len()], positions)).map_err(err)?.into()));
        }
        let cache = std::mem::take(&mut self.cache);
        if cache.is_empty() {
            let shape = [1, self.layout.kv_heads, 0, self.layout.head_dim];
            for layer in 0..self.layout.layers {
                for kind in ["key", "value"] {
                    let empty = Tensor::from_array((shape, Vec::<f32>::new())).map_err(err)?;
                    inputs.push((names::past(layer, kind).into(), empty.into()));
                }
            }
        } else {
            for (i, value) in cache.into_iter().enumerate() {
                inputs.push((names::past(i / 2, kv_kind(i)).into(), value.into()));
            }
        }
        let provider = self.provider.clone();
        let mut outputs = match run(&mut self.session, inputs, cancel, &provider) {
            Ok(outputs) => outputs,
            Err(e) => {
                // The cache was handed to ORT; without it the conversation must start over.
                self.len = 0;
                return Err(e);
            }
        };
        let logits = logits_of(&outputs, &provider)?;
        let mut next = Vec::with_capacity(self.layout.layers * 2);
        for layer in 0..self.layout.layers {
            for kind in ["key", "value"] {
                let name = names::present(layer, kind);
                next.push(
                    outputs.remove(&name).ok_or_else(|| inference_error(&provider, format!("no '{name}' output")))?,
                );
            }
        }
        drop(outputs);
        self.cache = next;
        self.len = total;
        Ok(logits)
    }

    fn reset(&mut self) {
        self.cache.clear();
        self.len = 0;
    }

    fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn provider(&self) -> &ActiveProvider {
        &self.provider
    }

    fn provider_mut(&mut self) -> &mut ActiveProvider {
        &mut self.provider
    }

    fn target(&self) -> Target {
        Target::Cpu
    }
}

/// Geometry of a static decoder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StaticShape {
    pub layers: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub context: usize,
    pub chunk: usize,
}

/// What one decode step of a static decoder moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheTraffic {
    /// The cache's element type: `fp16` for packages built since the cache became fp16, `fp32`
    /// before.
    pub element: &'static str,
    /// Bytes of past keys and values the decode graph takes as input on every step: the whole
    /// fixed-size cache, which an NPU without memory shared with the host copies in each time.
    pub graph_input_bytes: u64,
    /// Bytes Onyx writes into its cache per step: the step's new key and value rows.
    pub host_written_bytes: u64,
}

/// `key` or `value`: the cache's tensors alternate `[k0, v0, k1, v1, ...]`.
fn kv_kind(index: usize) -> &'static str {
    if index.is_multiple_of(2) { "key" } else { "value" }
}

/// The static cache, in the element type its graphs take (read from the decode graph).
enum KvCache {
    F16(Vec<Tensor<f16>>),
    F32(Vec<Tensor<f32>>),
}

impl KvCache {
    fn new(session: &Session, shape: StaticShape) -> Result<Self, String> {
        let dims = [1, shape.kv_heads, shape.context, shape.head_dim];
        let len = shape.kv_heads * shape.context * shape.head_dim;
        let past = session.inputs().iter().find(|i| i.name() == names::past(0, "key"));
        let element = match past.map(|p| p.dtype()) {
            Some(ValueType::Tensor { ty, .. }) => *ty,
            other => return Err(format!("the decode graph's past_key_values.0.key is {other:?}, not a tensor")),
        };
        let count = shape.layers * 2;
        match element {
            TensorElementType::Float16 => (0..count)
                .map(|_| Tensor::from_array((dims, vec![f16::ZERO; len])))
                .collect::<Result<_, _>>()
                .map(KvCache::F16),
            TensorElementType::Float32 => (0..count)
                .map(|_| Tensor::from_array((dims, vec![0f32; len])))
                .collect::<Result<_, _>>()
                .map(KvCache::F32),
            other => return Err(format!("the decode graph's KV cache is {other:?}; Onyx reads fp16 or fp32 caches")),
        }
        .map_err(|e| e.to_string())
    }

    fn element(&self) -> (&'static str, u64) {
        match self {
            KvCache::F16(_) => ("fp16", 2),
            KvCache::F32(_) => ("fp32", 4),
        }
    }

    /// Binds every cache tensor as its `past_key_values.*` input, once: each step then binds
    /// only its small inputs, and the new rows are written into these same tensors in place.
    fn bind(&self, binding: &mut IoBinding) -> Result<(), onyx_runtime::ort::Error> {
        let name = |i: usize| names::past(i / 2, kv_kind(i));
        match self {
            KvCache::F16(tensors) => tensors.iter().enumerate().try_for_each(|(i, t)| binding.bind_input(name(i), t)),
            KvCache::F32(tensors) => tensors.iter().enumerate().try_for_each(|(i, t)| binding.bind_input(name(i), t)),
        }
    }

    /// Copies each layer's `present.*` rows (`[1, kv_heads, seq, head_dim]`, the first `new` of
    /// them real) into the cache at `at`.
    fn write(
        &mut self,
        outputs: &SessionOutputs<'_>,
        shape: StaticShape,
        seq: usize,
        new: usize,
        at: usize,
    ) -> Result<(), String> {
        fn copy<T: PrimitiveTensorElementType + Copy + std::fmt::Debug>(
            tensors: &mut [Tensor<T>],
            outputs: &SessionOutputs<'_>,
            shape: StaticShape,
            seq: usize,
            new: usize,
            at: usize,
        ) -> Result<(), String> {
            let StaticShape { kv_heads, head_dim, context, .. } = shape;
            for (i, tensor) in tensors.iter_mut().enumerate() {
                let name = names::present(i / 2, kv_kind(i));
                let value = outputs.get(&name).ok_or_else(|| format!("no '{name}' output"))?;
                let (_, rows) = value.try_extract_tensor::<T>().map_err(|e| format!("{name}: {e}"))?;
                if rows.len() < kv_heads * seq * head_dim {
                    return Err(format!("{name} holds {} values, not [1, {kv_heads}, {seq}, {head_dim}]", rows.len()));
                }
                let (_, cache) = tensor.extract_tensor_mut();
                for head in 0..kv_heads {
                    for t in 0..new {
                        let src = &rows[(head * seq + t) * head_dim..][..head_dim];
                        cache[(head * context + at + t) * head_dim..][..head_dim].copy_from_slice(src);
                    }
                }
            }
            Ok(())
        }
        match self {
            KvCache::F16(tensors) => copy(tensors, outputs, shape, seq, new, at),
            KvCache::F32(tensors) => copy(tensors, outputs, shape, seq, new, at),
        }
    }
}

/// The npu variant: a prefill graph and a decode graph over a fixed-size cache.
pub(crate) struct StaticDecoder {
    prefill: Session,
    decode: Session,
    /// Each graph's binding, with the cache bound as its `past_key_values.*` inputs.
    prefill_binding: IoBinding,
    decode_binding: IoBinding,
    provider: ActiveProvider,
    shape: StaticShape,
    /// One key and one value tensor per layer, `[1, kv_heads, context, head_dim]`, reused forever.
    cache: KvCache,
    len: usize,
}

impl StaticDecoder {
    pub(crate) fn load(
        runtime: &Runtime,
        prefill: &Path,
        decode: &Path,
        choice: &ProviderChoice,
        strict: bool,
        shape: StaticShape,
    ) -> Result<Self, EngineError> {
        let mut request = SessionRequest::new(ModelSource::File(prefill), choice.clone());
        request.strict = strict;
        let built = runtime.build_session(&request)?;
        // The decode graph goes on the device the prefill graph landed on, not through the
        // choice again: both must share one device.
        let device = runtime
            .devices()
            .get(built.provider.device_index)
            .map(ProviderChoice::for_device)
            .unwrap_or_else(|| choice.clone());
        let mut decode_request = SessionRequest::new(ModelSource::File(decode), device);
        decode_request.strict = strict;
        let decode_built = runtime.build_session(&decode_request)?;
        let decode_session = decode_built.session;
        // The badge and the doctor report both graphs: the decode graph runs every token, so
        // its placement matters more than the prefill graph's.
        let mut built = built;
        built.provider.add_graph(&decode_built.provider);
        let provider = built.provider;
        let cache = KvCache::new(&decode_session, shape).map_err(|e| inference_error(&provider, e))?;
        let bind = |session: &Session| -> Result<IoBinding, EngineError> {
            let mut binding = session.create_binding().map_err(|e| inference_error(&provider, e))?;
            cache.bind(&mut binding).map_err(|e| inference_error(&provider, e))?;
            Ok(binding)
        };
        let (prefill_binding, decode_binding) = (bind(&built.session)?, bind(&decode_session)?);
        Ok(Self {
            prefill: built.session,
            decode: decode_session,
            prefill_binding,
            decode_binding,
            provider,
            shape,
            cache,
            len: 0,
        })
    }

    /// What a decode step moves, from the cache's own geometry and element type.
    pub(crate) fn traffic(&self) -> CacheTraffic {
        let StaticShape { layers, kv_heads, head_dim, context, .. } = self.shape;
        let (element, width) = self.cache.element();
        let per_position = (layers * 2 * kv_heads * head_dim) as u64 * width;
        CacheTraffic { element, graph_input_bytes: per_position * context as u64, host_written_bytes: per_position }
    }

    fn run_chunk(&mut self, tokens: &[u32], cancel: &CancelToken) -> Result<Vec<f32>, EngineError> {
        let StaticShape { context, chunk, .. } = self.shape;
        let seq = if tokens.len() == 1 { 1 } else { chunk };
        let provider = self.provider.clone();
        let err = |e: onyx_runtime::ort::Error| inference_error(&provider, e);
        let mut ids = vec![0i64; seq];
        let mut positions = vec![0i64; seq];
        let mut bias = vec![MASKED; seq * (context + seq)];
        for i in 0..seq {
            ids[i] = tokens.get(i).map_or(0, |&t| i64::from(t));
            positions[i] = (self.len + i).min(context - 1) as i64;
            let row = &mut bias[i * (context + seq)..(i + 1) * (context + seq)];
            row[..self.len].fill(0.0);
            // Causal within the chunk; padding positions see only the real tokens.
            for j in 0..=i.min(tokens.len() - 1) {
                row[context + j] = 0.0;
            }
        }
        let (session, binding) = if seq == 1 {
            (&mut self.decode, &mut self.decode_binding)
        } else {
            (&mut self.prefill, &mut self.prefill_binding)
        };
        binding.bind_input(names::INPUT_IDS, &Tensor::from_array(([1, seq], ids)).map_err(err)?).map_err(err)?;
        binding
            .bind_input(npu_names::POSITION_IDS, &Tensor::from_array(([1, seq], positions)).map_err(err)?)
            .map_err(err)?;
        binding
            .bind_input(
                npu_names::ATTENTION_BIAS,
                &Tensor::from_array(([1, 1, seq, context + seq], bias)).map_err(err)?,
            )
            .map_err(err)?;
        binding
            .bind_input(npu_names::LAST_INDEX, &Tensor::from_array(([1], vec![tokens.len() as i64 - 1])).map_err(err)?)
            .map_err(err)?;
        // The outputs are small (the logits, and this step's rows): ORT allocates them.
        let memory = session.allocator().memory_info();
        binding.bind_output_to_device(names::LOGITS, memory).map_err(err)?;
        for layer in 0..self.shape.layers {
            for kind in ["key", "value"] {
                binding.bind_output_to_device(names::present(layer, kind), memory).map_err(err)?;
            }
        }
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let outputs = session
            .run_binding_with_options(binding, cancel.run_options())
            .map_err(|e| if cancel.is_cancelled() { EngineError::Cancelled } else { inference_error(&provider, e) })?;
        let logits = logits_of(&outputs, &provider)?;
        // Only the new rows go into the cache, in place: the bound inputs see them next step.
        self.cache
            .write(&outputs, self.shape, seq, tokens.len(), self.len)
            .map_err(|e| inference_error(&provider, e))?;
        drop(outputs);
        self.len += tokens.len();
        Ok(logits)
    }
}

impl Decoder for StaticDecoder {
    fn feed(&mut self, tokens: &[u32], cancel: &CancelToken) -> Result<Vec<f32>, EngineError> {
        if tokens.is_empty() {
            return Err(EngineError::InvalidRequest("no tokens to feed".into()));
        }
        if self.len + tokens.len() > self.shape.context {
            return Err(EngineError::PromptTooLong { needed: self.len + tokens.len(), available: self.shape.context });
        }
        if tokens.len() == 1 {
            return self.run_chunk(tokens, cancel);
        }
        let mut logits = Vec::new();
        for chunk in tokens.chunks(self.shape.chunk) {
            logits = self.run_chunk(chunk, cancel)?;
        }
        Ok(logits)
    }

    fn reset(&mut self) {
        // Stale rows past `len` are masked out, so the cache need not be cleared.
        self.len = 0;
    }

    fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.shape.context
    }

    fn provider(&self) -> &ActiveProvider {
        &self.provider
    }

    fn provider_mut(&mut self) -> &mut ActiveProvider {
        &mut self.provider
    }

    fn target(&self) -> Target {
        Target::Npu
    }

    fn cache_traffic(&self) -> Option<CacheTraffic> {
        Some(self.traffic())
    }
}

#[cfg(test)]
mod tests {
    use onyx_convert::chat::{ChatOptions, convert_gguf_chat};
    use onyx_convert::llama::CpuOptions;
    use onyx_convert::tiny;
    use onyx_runtime::RuntimeConfig;

    use super::*;

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    /// A conversation that outgrows the in-place cache twice (256 → 512 → 1024 positions) must
    /// carry on exactly as one fed in a single step: growth keeps every cached row in place.
    #[test]
    fn the_in_place_cache_grows_without_changing_the_logits() {
        let runtime = Runtime::init(&RuntimeConfig::default())
            .unwrap_or_else(|e| panic!("ONNX Runtime must be installed by scripts/setup.sh: {e}"));
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = tiny::tiny_config(false);
        config.context_length = 1024;
        let weights = tiny::tiny_weights(&config, 7);
        let gguf = dir.path().join("tiny.gguf");
        tiny::write_gguf(&config, &weights, &gguf, "llama").expect("write gguf");
        let package = dir.path().join("tiny");
        let options = ChatOptions { cpu: Some(CpuOptions::exact()), npu: None };
        convert_gguf_chat(&gguf, &package, &options, &mut onyx_convert::progress::no_progress).expect("convert");
        let model = package.join("model.cpu.onnx");
        let load = || DynamicDecoder::load(runtime, &model, &ProviderChoice::Cpu, false, 1024, true).expect("load");
        let slots = |decoder: &DynamicDecoder| decoder.shared.as_ref().map(|s| s.slots);
        let tokens: Vec<u32> = (0..600).map(|i| (i * 7 % 90 + 3) as u32).collect();
        let cancel = CancelToken::new().expect("cancel token");

        let mut grown = load();
        grown.feed(&tokens[..200], &cancel).expect("prompt");
        assert_eq!(slots(&grown), Some(256), "the first prompt, rounded up");
        for t in 200..300 {
            grown.feed(&tokens[t..t + 1], &cancel).expect("step");
        }
        assert_eq!(slots(&grown), Some(512), "doubled once past 256");
        let stepped = grown.feed(&tokens[300..], &cancel).expect("second prompt");
        assert_eq!(slots(&grown), Some(1024), "doubled again, to the capacity");

        let mut whole = load();
        let at_once = whole.feed(&tokens, &cancel).expect("all at once");
        assert_eq!(slots(&whole), Some(768));
        let diff = max_abs_diff(&stepped, &at_once);
        println!("logits after growing twice vs fed at once: max |diff| {diff:.2e}");
        assert!(diff < 1e-4, "growing the cache changed the logits by {diff}");
    }
}
