//! The Llama cpu graph, built from tiny random weights, run through real ONNX Runtime and
//! checked against the plain-Rust reference forward pass: prefill, then decode steps that feed
//! the KV cache back in.

use std::borrow::Cow;

use onyx_convert::llama::{self, CpuOptions, LlamaConfig, WeightFormat, names};
use onyx_convert::tiny;
use onyx_runtime::ort::session::builder::GraphOptimizationLevel;
use onyx_runtime::ort::session::{Session, SessionInputValue};
use onyx_runtime::ort::value::Tensor;
use onyx_runtime::{ModelSource, ProviderChoice, Runtime, RuntimeConfig, SessionRequest};

fn session(model: &[u8]) -> Session {
    session_at(model, None)
}

fn session_at(model: &[u8], level: Option<GraphOptimizationLevel>) -> Session {
    let runtime = Runtime::init(&RuntimeConfig::default()).unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"));
    let mut request = SessionRequest::new(ModelSource::Bytes(model), ProviderChoice::Cpu);
    request.optimization_level = level;
    runtime.build_session(&request).expect("cpu session").session
}

/// Runs one step: `tokens` after `past` cached positions. Returns the last logits and the new
/// cache (one (key, value) pair of flat buffers per layer).
fn step(
    session: &mut Session,
    config: &LlamaConfig,
    tokens: &[u32],
    past: &[(Vec<f32>, Vec<f32>)],
    past_len: usize,
) -> (Vec<f32>, Vec<(Vec<f32>, Vec<f32>)>) {
    let total = past_len + tokens.len();
    let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::new();
    let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
    inputs.push((names::INPUT_IDS.into(), Tensor::from_array(([1, tokens.len()], ids)).expect("ids").into()));
    inputs.push((
        names::ATTENTION_MASK.into(),
        Tensor::from_array(([1, total], vec![1i64; total])).expect("mask").into(),
    ));
    for (layer, (k, v)) in past.iter().enumerate() {
        let shape = [1, config.kv_heads, past_len, config.head_dim];
        inputs.push((names::past(layer, "key").into(), Tensor::from_array((shape, k.clone())).expect("k").into()));
        inputs.push((names::past(layer, "value").into(), Tensor::from_array((shape, v.clone())).expect("v").into()));
    }
    let outputs = session.run(inputs).expect("run");
    let logits: Vec<f32> = outputs[names::LOGITS].try_extract_array::<f32>().expect("logits").iter().copied().collect();
    let presents = (0..config.layers)
        .map(|layer| {
            let get = |kind: &str| -> Vec<f32> {
                let array = outputs[names::present(layer, kind).as_str()].try_extract_array::<f32>().expect("present");
                assert_eq!(array.shape(), [1, config.kv_heads, total, config.head_dim]);
                array.iter().copied().collect()
            };
            (get("key"), get("value"))
        })
        .collect();
    (logits, presents)
}

fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Prefills `prompt`, then decodes `steps` greedy tokens; at every step compares ORT's logits
/// with the reference for the whole sequence so far. Returns the largest difference seen.
fn generate_and_compare(options: CpuOptions, qkv_bias: bool, steps: usize, tolerance: f32) -> f32 {
    let format = options.format;
    let config = tiny::tiny_config(qkv_bias);
    let weights = tiny::tiny_weights(&config, 42);
    let model = llama::build_cpu(&config, &weights, options).expect("build").encode();
    // For a quantized graph the reference runs on the values the graph really holds, so the
    // comparison checks the packing and the kernels, not the (expected) quantization error.
    let weights = match format {
        WeightFormat::Exact => weights,
        WeightFormat::Int4 => as_stored_in_int4(&config, weights),
    };
    let mut session = session(&model);

    let mut tokens: Vec<u32> = vec![5, 17, 42, 3, 88, 1];
    let empty = vec![(Vec::new(), Vec::new()); config.layers];
    let (mut logits, mut cache) = step(&mut session, &config, &tokens, &empty, 0);
    let mut worst = 0f32;
    for _ in 0..=steps {
        let reference = tiny::reference_logits(&config, &weights, &tokens).expect("reference");
        let expected = reference.last().expect("logits");
        let diff = max_abs_diff(&logits, expected);
        worst = worst.max(diff);
        assert!(diff <= tolerance, "{format:?}: logits differ by {diff} after {} tokens", tokens.len());
        if format == WeightFormat::Exact {
            assert_eq!(argmax(&logits), argmax(expected));
        }
        let next = argmax(&logits);
        let past_len = tokens.len();
        tokens.push(next);
        (logits, cache) = step(&mut session, &config, &[next], &cache, past_len);
    }
    worst
}

/// The weights as the int4 graph stores them: every projection quantized and dequantized again;
/// the tied output matrix too, while the embedding lookup stays exact.
fn as_stored_in_int4(config: &LlamaConfig, mut weights: tiny::TinyWeights) -> tiny::TinyWeights {
    use onyx_convert::blockwise::{dequantize_4bit, quantize_4bit};
    use onyx_convert::llama::Weights;
    let round_trip = |weights: &tiny::TinyWeights, name: &str| {
        let (shape, values) = weights.get(name).expect("tensor");
        let q = quantize_4bit(&values, shape[0], shape[1], 32);
        (shape, dequantize_4bit(&q))
    };
    let (shape, head) = round_trip(&weights, "token_embd.weight");
    weights.insert("output.weight", shape, head);
    for layer in 0..config.layers {
        for name in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] {
            let name = format!("blk.{layer}.{name}.weight");
            let (shape, values) = round_trip(&weights, &name);
            weights.insert(&name, shape, values);
        }
    }
    weights
}

#[test]
fn exact_cpu_graph_matches_the_reference_through_prefill_and_decode() {
    let worst = generate_and_compare(CpuOptions::exact(), false, 6, 1e-3);
    println!("exact llama: max |Δlogit| = {worst:e}");
}

#[test]
fn qkv_biases_are_applied_like_qwen2() {
    let worst = generate_and_compare(CpuOptions::exact(), true, 3, 1e-3);
    println!("exact qwen2-style: max |Δlogit| = {worst:e}");
}

#[test]
fn int4_packing_is_exact_when_computed_in_f32() {
    let options = CpuOptions { format: WeightFormat::Int4, int4_accuracy_level: 0 };
    let worst = generate_and_compare(options, false, 3, 1e-3);
    println!("int4 (f32 compute) llama: max |Δlogit| = {worst:e}");
}

#[test]
fn int4_fast_path_stays_close_to_the_reference() {
    // What remains against the int4 values themselves is accuracy level 4's on-the-fly int8
    // quantization of activations. These random weights give activations a wide range, the
    // worst case for it; logits of order 1-5 move by up to about 0.2 (measured 0.17).
    let worst = generate_and_compare(CpuOptions::int4(), false, 3, 0.3);
    println!("int4 (int8 compute) llama: max |Δlogit| = {worst:e}");
}

/// Drives the npu graphs the way the engine will: a fixed-size cache the caller owns, prefill in
/// padded chunks, then single-token steps, with the additive bias built from the cache fill.
struct NpuDriver {
    prefill: Session,
    decode: Session,
    config: LlamaConfig,
    context: usize,
    chunk: usize,
    cache: Vec<(Vec<f32>, Vec<f32>)>,
    filled: usize,
}

impl NpuDriver {
    fn run(&mut self, tokens: &[u32]) -> Vec<f32> {
        let seq = if tokens.len() == 1 { 1 } else { self.chunk };
        assert!(tokens.len() <= seq && self.filled + tokens.len() <= self.context);
        let (c, kv, hd) = (self.context, self.config.kv_heads, self.config.head_dim);
        let mut ids = vec![0i64; seq];
        let mut positions = vec![0i64; seq];
        let mut bias = vec![llama::MASKED; seq * (c + seq)];
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
            (llama::npu_names::POSITION_IDS.into(), Tensor::from_array(([1, seq], positions)).expect("pos").into()),
            (
                llama::npu_names::ATTENTION_BIAS.into(),
                Tensor::from_array(([1, 1, seq, c + seq], bias)).expect("bias").into(),
            ),
            (
                llama::npu_names::LAST_INDEX.into(),
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
                let new = outputs[names::present(layer, kind).as_str()].try_extract_array::<f32>().expect("present");
                assert_eq!(new.shape(), [1, kv, seq, hd]);
                let new: Vec<f32> = new.iter().copied().collect();
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

/// The weights as the int8 npu graph stores them (per-output-channel int8, embedding per row).
fn as_stored_in_int8(config: &LlamaConfig, mut weights: tiny::TinyWeights) -> tiny::TinyWeights {
    use onyx_convert::blockwise::quantize_int8_per_row;
    use onyx_convert::llama::Weights;
    let round_trip = |weights: &tiny::TinyWeights, name: &str| {
        let (shape, values) = weights.get(name).expect("tensor");
        let q = quantize_int8_per_row(&values, shape[0], shape[1]);
        let k = shape[1];
        let back: Vec<f32> = q.values.iter().enumerate().map(|(i, &v)| f32::from(v) * q.scales[i / k]).collect();
        (shape, back)
    };
    let (shape, embed) = round_trip(&weights, "token_embd.weight");
    weights.insert("token_embd.weight", shape.clone(), embed.clone());
    weights.insert("output.weight", shape, embed);
    for layer in 0..config.layers {
        for name in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] {
            let name = format!("blk.{layer}.{name}.weight");
            let (shape, values) = round_trip(&weights, &name);
            weights.insert(&name, shape, values);
        }
    }
    weights
}

fn npu_generate_and_compare(int8: bool, level: Option<GraphOptimizationLevel>, tolerance: f32) -> f32 {
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 42);
    let options = llama::NpuOptions { context: 32, chunk: 4, int8 };
    let prefill = llama::build_npu(&config, &weights, options, options.chunk).expect("prefill graph").encode();
    let decode = llama::build_npu(&config, &weights, options, 1).expect("decode graph").encode();
    // As for int4: compare with the values the graph holds, to pin the graph, not the rounding.
    let weights = if int8 { as_stored_in_int8(&config, weights) } else { weights };
    let layers = config.layers;
    let cache_len = config.kv_heads * options.context * config.head_dim;
    let mut driver = NpuDriver {
        prefill: session_at(&prefill, level),
        decode: session_at(&decode, level),
        config: config.clone(),
        context: options.context,
        chunk: options.chunk,
        cache: vec![(vec![0.0; cache_len], vec![0.0; cache_len]); layers],
        filled: 0,
    };
    // Six prompt tokens: one full chunk of four, then a padded chunk of two.
    let mut tokens: Vec<u32> = vec![5, 17, 42, 3, 88, 1];
    driver.run(&tokens[..4]);
    let mut logits = driver.run(&tokens[4..]);
    let mut worst = 0f32;
    for _ in 0..4 {
        let reference = tiny::reference_logits(&config, &weights, &tokens).expect("reference");
        let diff = max_abs_diff(&logits, reference.last().expect("logits"));
        worst = worst.max(diff);
        assert!(diff <= tolerance, "npu (int8 {int8}): logits differ by {diff} after {} tokens", tokens.len());
        let next = argmax(&logits);
        tokens.push(next);
        logits = driver.run(&[next]);
    }
    worst
}

#[test]
fn exact_npu_graphs_match_the_reference_with_chunked_prefill_and_a_fixed_cache() {
    let worst = npu_generate_and_compare(false, None, 1e-3);
    println!("npu exact: max |Δlogit| = {worst:e}");
}

#[test]
fn int8_npu_graphs_dequantize_exactly() {
    // Without graph rewrites the graph computes exactly with its int8 weights...
    let worst = npu_generate_and_compare(true, Some(GraphOptimizationLevel::Disable), 1e-3);
    println!("npu int8, unoptimized: max |Δlogit| = {worst:e}");
    // ...and with ORT's CPU rewrites (which quantize activations too) it stays close.
    let worst = npu_generate_and_compare(true, None, 0.3);
    println!("npu int8: max |Δlogit| = {worst:e}");
}

#[test]
fn npu_graphs_use_only_standard_ops_and_static_shapes() {
    use onyx_convert::onnx::Dim;
    let config = tiny::tiny_config(true);
    let weights = tiny::tiny_weights(&config, 7);
    for seq in [4, 1] {
        let model = llama::build_npu(&config, &weights, llama::NpuOptions { context: 32, chunk: 4, int8: true }, seq)
            .expect("npu graph");
        assert_eq!(model.opsets, vec![(String::new(), 17)], "only the standard domain is imported");
        for node in &model.graph.nodes {
            assert_eq!(node.domain, "", "{} is in domain {}", node.name, node.domain);
            assert!(
                ![
                    "GroupQueryAttention",
                    "MatMulNBits",
                    "RotaryEmbedding",
                    "SkipSimplifiedLayerNormalization",
                    "SimplifiedLayerNormalization"
                ]
                .contains(&node.op_type.as_str()),
                "{} uses {}",
                node.name,
                node.op_type
            );
        }
        for value in model.graph.inputs.iter().chain(&model.graph.outputs) {
            let shape = value.shape.as_ref().expect("shape");
            assert!(shape.len() <= 4, "{} has rank {}", value.name, shape.len());
            assert!(
                shape.iter().all(|d| matches!(d, Dim::Fixed(n) if *n > 0)),
                "{} is not static: {shape:?}",
                value.name
            );
        }
    }
}
