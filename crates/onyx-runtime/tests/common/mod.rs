//! Test drivers for Onyx's chat graphs: they feed tokens and carry the KV cache the way the
//! engine does, in the simplest form, so the graphs can be checked end to end before (and
//! independently of) the engine.

#![allow(dead_code)] // each test binary uses a different part

use std::borrow::Cow;
use std::path::Path;

use half::f16;
use onyx_convert::llama::{MASKED, names, npu_names};
use onyx_runtime::ort::session::builder::GraphOptimizationLevel;
use onyx_runtime::ort::session::{Session, SessionInputValue};
use onyx_runtime::ort::value::Tensor;
use onyx_runtime::{ModelSource, ProviderChoice, Runtime, RuntimeConfig, SessionRequest};

/// The shared runtime, loaded from the repository's runtime/ folder.
pub fn runtime() -> &'static Runtime {
    Runtime::init(&RuntimeConfig::default()).unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"))
}

/// A CPU-EP session on model bytes or a file.
pub fn cpu_session(model: ModelSource<'_>, level: Option<GraphOptimizationLevel>) -> Session {
    let mut request = SessionRequest::new(model, ProviderChoice::Cpu);
    request.optimization_level = level;
    runtime().build_session(&request).expect("cpu session").session
}

/// Cache geometry.
#[derive(Clone, Copy, Debug)]
pub struct CacheShape {
    /// Decoder layers.
    pub layers: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Head size.
    pub head_dim: usize,
}

/// Drives the cpu graph: a growing cache fed back as `past_key_values`.
pub struct CpuDecoder {
    session: Session,
    shape: CacheShape,
    cache: Vec<(Vec<f32>, Vec<f32>)>,
    len: usize,
}

impl CpuDecoder {
    /// A decoder with an empty cache.
    pub fn new(session: Session, shape: CacheShape) -> Self {
        Self { session, shape, cache: vec![(Vec::new(), Vec::new()); shape.layers], len: 0 }
    }

    /// Feeds `tokens` after what was fed before; returns the last position's logits.
    pub fn feed(&mut self, tokens: &[u32]) -> Vec<f32> {
        let CacheShape { kv_heads, head_dim, .. } = self.shape;
        let (past_len, total) = (self.len, self.len + tokens.len());
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::new();
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        inputs.push((names::INPUT_IDS.into(), Tensor::from_array(([1, tokens.len()], ids)).expect("ids").into()));
        inputs.push((
            names::ATTENTION_MASK.into(),
            Tensor::from_array(([1, total], vec![1i64; total])).expect("mask").into(),
        ));
        for (layer, (k, v)) in self.cache.iter().enumerate() {
            let shape = [1, kv_heads, past_len, head_dim];
            inputs.push((names::past(layer, "key").into(), Tensor::from_array((shape, k.clone())).expect("k").into()));
            inputs
                .push((names::past(layer, "value").into(), Tensor::from_array((shape, v.clone())).expect("v").into()));
        }
        let outputs = self.session.run(inputs).expect("run");
        let logits = outputs[names::LOGITS].try_extract_array::<f32>().expect("logits").iter().copied().collect();
        for (layer, (k, v)) in self.cache.iter_mut().enumerate() {
            for (kind, cache) in [("key", k), ("value", v)] {
                let array = outputs[names::present(layer, kind).as_str()].try_extract_array::<f32>().expect("present");
                assert_eq!(array.shape(), [1, kv_heads, total, head_dim]);
                *cache = array.iter().copied().collect();
            }
        }
        self.len = total;
        logits
    }
}

/// Drives the npu graphs: a fixed-size cache the caller owns, prefill in padded chunks, then
/// single-token steps, with the additive bias built from the cache fill.
pub struct NpuDecoder {
    prefill: Session,
    decode: Session,
    shape: CacheShape,
    context: usize,
    chunk: usize,
    /// fp16, as the graphs take and return it (`llama::KV_TYPE`).
    cache: Vec<(Vec<f16>, Vec<f16>)>,
    filled: usize,
}

impl NpuDecoder {
    /// A decoder over the two npu graphs.
    pub fn new(prefill: Session, decode: Session, shape: CacheShape, context: usize, chunk: usize) -> Self {
        let len = shape.kv_heads * context * shape.head_dim;
        Self {
            prefill,
            decode,
            shape,
            context,
            chunk,
            cache: vec![(vec![f16::ZERO; len], vec![f16::ZERO; len]); shape.layers],
            filled: 0,
        }
    }

    /// Loads `prefill` and `decode` graph files on the CPU EP.
    pub fn from_files(
        dir: &Path,
        shape: CacheShape,
        context: usize,
        chunk: usize,
        level: Option<GraphOptimizationLevel>,
    ) -> Self {
        let prefill = cpu_session(ModelSource::File(&dir.join("model.npu.prefill.onnx")), level);
        let decode = cpu_session(ModelSource::File(&dir.join("model.npu.decode.onnx")), level);
        Self::new(prefill, decode, shape, context, chunk)
    }

    /// Feeds any number of tokens (chunked as needed); returns the last position's logits.
    pub fn feed(&mut self, tokens: &[u32]) -> Vec<f32> {
        if tokens.len() == 1 {
            return self.run(tokens, 1);
        }
        let mut logits = Vec::new();
        for chunk in tokens.chunks(self.chunk) {
            logits = self.run(chunk, self.chunk);
        }
        logits
    }

    fn run(&mut self, tokens: &[u32], seq: usize) -> Vec<f32> {
        assert!(tokens.len() <= seq && self.filled + tokens.len() <= self.context, "cache full");
        let (c, CacheShape { kv_heads: kv, head_dim: hd, .. }) = (self.context, self.shape);
        let mut ids = vec![0i64; seq];
        let mut positions = vec![0i64; seq];
        let mut bias = vec![MASKED; seq * (c + seq)];
        for i in 0..seq {
            ids[i] = tokens.get(i).map_or(0, |&t| i64::from(t));
            positions[i] = (self.filled + i).min(c - 1) as i64;
            let row = &mut bias[i * (c + seq)..(i + 1) * (c + seq)];
            row[..self.filled].fill(0.0);
            for j in 0..=i.min(tokens.len().saturating_sub(1)) {
                row[c + j] = 0.0;
            }
        }
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (names::INPUT_IDS.into(), Tensor::from_array(([1, seq], ids)).expect("ids").into()),
            (npu_names::POSITION_IDS.into(), Tensor::from_array(([1, seq], positions)).expect("pos").into()),
            (npu_names::ATTENTION_BIAS.into(), Tensor::from_array(([1, 1, seq, c + seq], bias)).expect("bias").into()),
            (
                npu_names::LAST_INDEX.into(),
                Tensor::from_array(([1], vec![tokens.len() as i64 - 1])).expect("last").into(),
            ),
        ];
        for (layer, (k, v)) in self.cache.iter().enumerate() {
            inputs.push((
                names::past(layer, "key").into(),
                Tensor::from_array(([1, kv, c, hd], k.clone())).expect("k").into(),
            ));
            inputs.push((
                names::past(layer, "value").into(),
                Tensor::from_array(([1, kv, c, hd], v.clone())).expect("v").into(),
            ));
        }
        let session = if seq == 1 { &mut self.decode } else { &mut self.prefill };
        let outputs = session.run(inputs).expect("npu run");
        let logits = outputs[names::LOGITS].try_extract_array::<f32>().expect("logits").iter().copied().collect();
        for (layer, (k_cache, v_cache)) in self.cache.iter_mut().enumerate() {
            for (kind, cache) in [("key", k_cache), ("value", v_cache)] {
                let new = outputs[names::present(layer, kind).as_str()].try_extract_array::<f16>().expect("present");
                assert_eq!(new.shape(), [1, kv, seq, hd]);
                let new: Vec<f16> = new.iter().copied().collect();
                for head in 0..kv {
                    for t in 0..tokens.len() {
                        let src = &new[(head * seq + t) * hd..][..hd];
                        cache[(head * c + self.filled + t) * hd..][..hd].copy_from_slice(src);
                    }
                }
            }
        }
        self.filled += tokens.len();
        logits
    }
}

/// Index of the largest value (the first on ties, as `torch.argmax` does).
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
