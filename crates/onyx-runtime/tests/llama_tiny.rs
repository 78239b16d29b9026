//! The Llama cpu graph, built from tiny random weights, run through real ONNX Runtime and
//! checked against the plain-Rust reference forward pass: prefill, then decode steps that feed
//! the KV cache back in.

mod common;

use common::{CacheShape, CpuDecoder, NpuDecoder, argmax, cpu_session, max_abs_diff};
use onyx_convert::llama::{self, CpuOptions, LlamaConfig};
use onyx_convert::manifest::QuantScheme;
use onyx_convert::tiny;
use onyx_runtime::ModelSource;
use onyx_runtime::ort::session::Session;
use onyx_runtime::ort::session::builder::GraphOptimizationLevel;

fn session(model: &[u8]) -> Session {
    cpu_session(ModelSource::Bytes(model), None)
}

fn session_at(model: &[u8], level: Option<GraphOptimizationLevel>) -> Session {
    cpu_session(ModelSource::Bytes(model), level)
}

fn shape(config: &LlamaConfig) -> CacheShape {
    CacheShape { layers: config.layers, kv_heads: config.kv_heads, head_dim: config.head_dim }
}

/// Prefills `prompt`, then decodes `steps` greedy tokens; at every step compares ORT's logits
/// with the reference for the whole sequence so far. Returns the largest difference seen.
fn generate_and_compare(options: CpuOptions, qkv_bias: bool, steps: usize, tolerance: f32) -> f32 {
    let format = options.quant;
    let config = tiny::tiny_config(qkv_bias);
    let weights = tiny::tiny_weights(&config, 42);
    let model = llama::build_cpu(&config, &weights, options).expect("build").encode();
    // For a quantized graph the reference runs on the values the graph really holds, so the
    // comparison checks the packing and the kernels, not the (expected) quantization error.
    let weights = match format {
        QuantScheme::Fp32 => weights,
        stored => as_stored(&config, weights, stored),
    };
    let mut decoder = CpuDecoder::new(session(&model), shape(&config));

    let mut tokens: Vec<u32> = vec![5, 17, 42, 3, 88, 1];
    let mut logits = decoder.feed(&tokens);
    let mut worst = 0f32;
    for _ in 0..=steps {
        let reference = tiny::reference_logits(&config, &weights, &tokens).expect("reference");
        let expected = reference.last().expect("logits");
        let diff = max_abs_diff(&logits, expected);
        worst = worst.max(diff);
        assert!(diff <= tolerance, "{format:?}: logits differ by {diff} after {} tokens", tokens.len());
        if format == QuantScheme::Fp32 {
            assert_eq!(argmax(&logits), argmax(expected));
        }
        let next = argmax(&logits);
        tokens.push(next);
        logits = decoder.feed(&[next]);
    }
    worst
}

/// `values` (`[n, k]`) quantized to per-row int8 and back.
fn int8_rows(values: &[f32], n: usize, k: usize) -> Vec<f32> {
    let q = onyx_convert::blockwise::quantize_int8_per_row(values, n, k);
    q.values.iter().enumerate().map(|(i, &v)| f32::from(v) * q.scales[i / k]).collect()
}

/// The weights as a graph stores them: every projection through `matrix`, the tied output matrix
/// through `matrix` too, and the embedding lookup's table through `table`.
fn stored_weights(
    config: &LlamaConfig,
    mut weights: tiny::TinyWeights,
    matrix: impl Fn(&[f32], usize, usize) -> Vec<f32>,
    table: impl Fn(&[f32], usize, usize) -> Vec<f32>,
) -> tiny::TinyWeights {
    use onyx_convert::llama::Weights;
    let (shape, embed) = weights.get("token_embd.weight").expect("embed");
    weights.insert("output.weight", shape.clone(), matrix(&embed, shape[0], shape[1]));
    weights.insert("token_embd.weight", shape.clone(), table(&embed, shape[0], shape[1]));
    for layer in 0..config.layers {
        for name in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] {
            let name = format!("blk.{layer}.{name}.weight");
            let (shape, values) = weights.get(&name).expect("tensor");
            weights.insert(&name, shape.clone(), matrix(&values, shape[0], shape[1]));
        }
    }
    weights
}

/// The weights as a quantized cpu graph of `format` stores them.
fn as_stored(config: &LlamaConfig, weights: tiny::TinyWeights, format: QuantScheme) -> tiny::TinyWeights {
    use onyx_convert::blockwise::{dequantize_4bit, quantize_4bit, quantize_8bit};
    let f16 = |v: &[f32], _: usize, _: usize| v.iter().map(|x| half::f16::from_f32(*x).to_f32()).collect();
    match format {
        QuantScheme::Int4 => {
            stored_weights(config, weights, |v, n, k| dequantize_4bit(&quantize_4bit(v, n, k, 32)), int8_rows)
        }
        QuantScheme::Int8 => {
            stored_weights(config, weights, |v, n, k| dequantize_4bit(&quantize_8bit(v, n, k, 32)), int8_rows)
        }
        QuantScheme::Fp16 => stored_weights(config, weights, f16, f16),
        QuantScheme::Fp32 => weights,
    }
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
    let options = CpuOptions { quant: QuantScheme::Int4, int4_accuracy_level: 0 };
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

fn npu_generate_and_compare(int8: bool, level: Option<GraphOptimizationLevel>, tolerance: f32) -> f32 {
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 42);
    let quant = if int8 { QuantScheme::Int8 } else { QuantScheme::Fp32 };
    let options = llama::NpuOptions { context: 32, chunk: 4, quant };
    let calibration = int8.then(|| tiny::calibration(&config, &weights).expect("calibration"));
    let prefill = llama::build_npu(&config, &weights, options, options.chunk, calibration.as_ref())
        .expect("prefill graph")
        .encode();
    let decode = llama::build_npu(&config, &weights, options, 1, calibration.as_ref()).expect("decode graph").encode();
    // As for int4: compare with the values the graph holds, to pin the graph, not the rounding.
    let weights = if int8 { stored_weights(&config, weights, int8_rows, int8_rows) } else { weights };
    let mut driver = NpuDecoder::new(
        session_at(&prefill, level),
        session_at(&decode, level),
        shape(&config),
        options.context,
        options.chunk,
    );
    // Six prompt tokens: one full chunk of four, then a padded chunk of two.
    let mut tokens: Vec<u32> = vec![5, 17, 42, 3, 88, 1];
    let mut logits = driver.feed(&tokens);
    let mut worst = 0f32;
    for _ in 0..4 {
        let reference = tiny::reference_logits(&config, &weights, &tokens).expect("reference");
        let diff = max_abs_diff(&logits, reference.last().expect("logits"));
        worst = worst.max(diff);
        assert!(diff <= tolerance, "npu (int8 {int8}): logits differ by {diff} after {} tokens", tokens.len());
        let next = argmax(&logits);
        tokens.push(next);
        logits = driver.feed(&[next]);
    }
    worst
}

#[test]
fn exact_npu_graphs_match_the_reference_with_chunked_prefill_and_a_fixed_cache() {
    // The weights are exact; the cache is fp16 (`llama::KV_TYPE`), which rounds every cached key
    // and value to 11 significant bits (relative 4.9e-4). Measured 3.8e-3 on logits up to about
    // 20 (it was 1e-5 with the fp32 cache); a wrong mask, position or cache row is off by 0.1 or
    // more, so 5e-3 still pins the graph.
    let worst = npu_generate_and_compare(false, None, 5e-3);
    println!("npu exact: max |Δlogit| = {worst:e}");
}

#[test]
fn int8_npu_graphs_match_their_stored_weights_within_the_activation_grids() {
    // Without graph rewrites the graph computes with its int8 weights exactly, and with every
    // product's input and output rounded to its 16-bit grid (steps of about 1e-4 to 1e-3 on
    // this model, logits up to about 20) and the fp16 cache: measured 5.2e-3 against the stored
    // weights' reference, so 1e-2 leaves room for rounding while a wrong weight or a clipped grid shows...
    let worst = npu_generate_and_compare(true, Some(GraphOptimizationLevel::Disable), 1e-2);
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
    let calibration = tiny::calibration(&config, &weights).expect("calibration");
    for seq in [4, 1] {
        let model = llama::build_npu(
            &config,
            &weights,
            llama::NpuOptions { context: 32, chunk: 4, quant: QuantScheme::Int8 },
            seq,
            Some(&calibration),
        )
        .expect("npu graph");
        // Opset 21: the first with 16-bit QuantizeLinear.
        assert_eq!(model.opsets, vec![(String::new(), 21)], "only the standard domain is imported");
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

#[test]
fn int8_and_fp16_cpu_graphs_match_the_reference() {
    let int8 = CpuOptions { quant: QuantScheme::Int8, int4_accuracy_level: 0 };
    let worst = generate_and_compare(int8, false, 3, 1e-3);
    println!("int8 (f32 compute) llama: max |Δlogit| = {worst:e}");
    let worst = generate_and_compare(CpuOptions::fp16(), false, 3, 1e-3);
    println!("fp16 llama: max |Δlogit| = {worst:e}");
}

#[test]
fn a_hugging_face_folder_converts_into_a_package_whose_variants_match_the_reference() {
    use onyx_convert::chat::{ChatOptions, convert_hf_chat};
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 42);
    let dir = tempfile::tempdir().expect("tempdir");
    let hf = dir.path().join("hf");
    tiny::write_hf_folder(&config, &weights, &hf).expect("write HF folder");
    let out = dir.path().join("package");
    let npu = llama::NpuOptions { context: 32, chunk: 4, quant: QuantScheme::Fp32 };
    let manifest = convert_hf_chat(
        &hf,
        &out,
        &ChatOptions { cpu: Some(CpuOptions::exact()), npu: Some(npu) },
        &mut onyx_convert::progress::no_progress,
    )
    .expect("convert");
    assert_eq!(manifest.variants.len(), 2);
    assert_eq!(manifest.chat.as_ref().map(|c| c.special_tokens.eos.clone()), Some(vec![2]));
    for file in ["tokenizer.json", "tokenizer_config.json", "onyx-model.json", "model.cpu.onnx", "model.npu.data"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }

    let tokens: Vec<u32> = vec![5, 17, 42, 3, 88, 1];
    let reference = tiny::reference_logits(&config, &weights, &tokens).expect("reference");
    let expected = reference.last().expect("logits");
    let mut cpu = CpuDecoder::new(cpu_session(ModelSource::File(&out.join("model.cpu.onnx")), None), shape(&config));
    let diff = max_abs_diff(&cpu.feed(&tokens), expected);
    assert!(diff < 1e-3, "cpu package differs by {diff}");
    let mut npu = NpuDecoder::from_files(&out, shape(&config), npu.context, npu.chunk, None);
    let diff = max_abs_diff(&npu.feed(&tokens), expected);
    // The npu cache is fp16: see exact_npu_graphs_match_the_reference_with_chunked_prefill_and_a_fixed_cache.
    assert!(diff < 5e-3, "npu package differs by {diff}");
}

#[test]
fn a_gguf_with_permuted_qk_rows_converts_back_to_the_reference_model() {
    use onyx_convert::chat::{ChatOptions, convert_gguf_chat};
    for arch in ["llama", "qwen2"] {
        let config = tiny::tiny_config(arch == "qwen2");
        let weights = tiny::tiny_weights(&config, 9);
        let dir = tempfile::tempdir().expect("tempdir");
        let gguf = dir.path().join("tiny.gguf");
        tiny::write_gguf(&config, &weights, &gguf, arch).expect("write gguf");
        let out = dir.path().join("package");
        convert_gguf_chat(
            &gguf,
            &out,
            &ChatOptions { cpu: Some(CpuOptions::exact()), npu: None },
            &mut onyx_convert::progress::no_progress,
        )
        .expect("convert");
        let tokens: Vec<u32> = vec![7, 70, 3, 33];
        let reference = tiny::reference_logits(&config, &weights, &tokens).expect("reference");
        let mut cpu =
            CpuDecoder::new(cpu_session(ModelSource::File(&out.join("model.cpu.onnx")), None), shape(&config));
        let diff = max_abs_diff(&cpu.feed(&tokens), reference.last().expect("logits"));
        assert!(diff < 1e-3, "{arch}: the GGUF package differs from the reference by {diff}");
    }
}
