//! Llama-family decoders (Llama 2/3, SmolLM2, Mistral, Qwen2) as ONNX graphs.
//!
//! Weights come from a [`Weights`] source under GGUF's tensor names (`token_embd.weight`,
//! `blk.N.attn_q.weight`, ...), already dequantized to f32, row-major, with PyTorch's `[out, in]`
//! layout and Hugging Face's (rotate-half) Q/K row order. Sources undo their own file format's
//! quirks (GGUF's permuted Q/K rows) before handing weights over, so the builders here see one
//! canonical model.
//!
//! The **cpu** variant is the fast path for ONNX Runtime's CPU EP: dynamic shapes,
//! `GroupQueryAttention` with rotary embedding and a KV cache, fused RMS norms, and 4-bit
//! `MatMulNBits` weights (or exact f32). Its inputs and outputs are named as onnxruntime-genai
//! names them.

pub mod calibration;

use crate::ConvertError;
use crate::blockwise;
use crate::graph::GraphBuilder;
use crate::manifest::QuantScheme;
use crate::onnx::{AttributeValue, DataType, Dim, Model, Tensor};
use crate::qdq::{self, Range};
pub use calibration::Calibration;

/// The hyper-parameters a Llama-family graph needs.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Architecture name as the source spells it (`llama`, `qwen2`, ...).
    pub architecture: String,
    /// Model width.
    pub hidden: usize,
    /// MLP width.
    pub intermediate: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (fewer than `heads` with grouped-query attention).
    pub kv_heads: usize,
    /// Size of one head.
    pub head_dim: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// RMS norm epsilon.
    pub rms_eps: f32,
    /// Longest sequence the model was trained for.
    pub context_length: usize,
    /// Whether q/k/v projections have biases (Qwen2).
    pub qkv_bias: bool,
}

impl LlamaConfig {
    /// Checks that the numbers fit together, naming the first that does not.
    pub fn validate(&self, source: &std::path::Path) -> Result<(), ConvertError> {
        let problem = if self.hidden == 0 || self.layers == 0 || self.heads == 0 || self.kv_heads == 0 {
            Some(format!(
                "hidden {}, layers {}, heads {}, kv heads {} must all be positive",
                self.hidden, self.layers, self.heads, self.kv_heads
            ))
        } else if !self.heads.is_multiple_of(self.kv_heads) {
            Some(format!("{} attention heads are not a multiple of {} key/value heads", self.heads, self.kv_heads))
        } else if !self.head_dim.is_multiple_of(2) || self.head_dim == 0 {
            Some(format!("head size {} must be even for rotary embeddings", self.head_dim))
        } else if self.vocab == 0 || self.intermediate == 0 {
            Some(format!("vocabulary {} and MLP width {} must be positive", self.vocab, self.intermediate))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(ConvertError::malformed(source, problem)),
            None => Ok(()),
        }
    }

    fn q_dim(&self) -> usize {
        self.heads * self.head_dim
    }

    fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }
}

/// A source of f32 weights under GGUF tensor names.
pub trait Weights {
    /// The tensor's shape (PyTorch order) and values; an error names the source file and tensor.
    fn get(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError>;
    /// Whether the tensor exists (for optional tensors: biases, an untied output matrix).
    fn contains(&self, name: &str) -> bool;
    /// The file the weights come from, for error messages.
    fn source(&self) -> &std::path::Path;
}

/// Options of the cpu variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuOptions {
    /// Weight storage: fp32 (the source's dequantized values bit for bit, what tests pin
    /// exactness with), fp16 (widened to f32 when the session loads: half the file, the same
    /// compute), int4 (blocks of 32 with uint8 zero points, `MatMulNBits`: ORT's fast CPU path)
    /// or int8 (`MatMulNBits` with `bits = 8`: twice int4's size, far closer to the source on
    /// small models).
    pub quant: QuantScheme,
    /// `MatMulNBits` accuracy level for int4/int8 weights: 4 quantizes activations to int8 on
    /// the fly (ORT's fastest CPU kernels), 0 computes in f32 (slower; tests use it to pin the
    /// packing).
    pub int4_accuracy_level: i64,
}

impl CpuOptions {
    /// Exact f32 weights.
    pub fn exact() -> Self {
        Self { quant: QuantScheme::Fp32, int4_accuracy_level: 0 }
    }

    /// Int4 weights on ORT's fast path.
    pub fn int4() -> Self {
        Self { quant: QuantScheme::Int4, int4_accuracy_level: 4 }
    }

    /// Int8 weights on ORT's fast path.
    pub fn int8() -> Self {
        Self { quant: QuantScheme::Int8, int4_accuracy_level: 4 }
    }

    /// f16 weights.
    pub fn fp16() -> Self {
        Self { quant: QuantScheme::Fp16, int4_accuracy_level: 0 }
    }

    /// The options above for `quant`.
    pub fn with_quant(quant: QuantScheme) -> Self {
        match quant {
            QuantScheme::Fp32 => Self::exact(),
            QuantScheme::Fp16 => Self::fp16(),
            QuantScheme::Int8 => Self::int8(),
            QuantScheme::Int4 => Self::int4(),
        }
    }
}

/// Names shared by the graphs and the runtime that feeds them.
pub mod names {
    /// Token ids, int64 `[batch, sequence]`.
    pub const INPUT_IDS: &str = "input_ids";
    /// 1 for real tokens over past and current positions, int64 `[batch, total_sequence]`.
    pub const ATTENTION_MASK: &str = "attention_mask";
    /// Next-token logits, f32 `[batch, 1, vocab]` (last position only).
    pub const LOGITS: &str = "logits";

    /// `past_key_values.{layer}.key` / `.value` inputs.
    pub fn past(layer: usize, kind: &str) -> String {
        format!("past_key_values.{layer}.{kind}")
    }

    /// `present.{layer}.key` / `.value` outputs.
    pub fn present(layer: usize, kind: &str) -> String {
        format!("present.{layer}.{kind}")
    }
}

fn int(v: usize) -> AttributeValue {
    AttributeValue::Int(v as i64)
}

fn check_shape(weights: &dyn Weights, name: &str, shape: &[usize], expected: &[usize]) -> Result<(), ConvertError> {
    if shape != expected {
        return Err(ConvertError::malformed(
            weights.source(),
            format!("tensor '{name}' has shape {shape:?}, expected {expected:?} from the model's hyper-parameters"),
        ));
    }
    Ok(())
}

/// Fetches a tensor and checks its shape.
fn fetch(weights: &dyn Weights, name: &str, expected: &[usize]) -> Result<Vec<f32>, ConvertError> {
    let (shape, values) = weights.get(name)?;
    check_shape(weights, name, &shape, expected)?;
    Ok(values)
}

/// Row-major `[rows, cols]` → `[cols, rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Adds `x · Wᵀ` for a `[n, k]` weight in the chosen format and returns the output name.
fn linear(
    g: &mut GraphBuilder,
    scope: &str,
    x: &str,
    weight: &[f32],
    n: usize,
    k: usize,
    options: CpuOptions,
) -> String {
    match options.quant {
        QuantScheme::Fp32 => {
            let w = g.const_f32(&format!("{scope}.weight_t"), &[k as i64, n as i64], &transpose(weight, n, k));
            g.op1(scope, "MatMul", &[x, &w])
        }
        QuantScheme::Fp16 => {
            let halves: Vec<u8> =
                transpose(weight, n, k).iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
            let w = g.initializer(Tensor::raw(
                format!("{scope}.weight_t.f16"),
                DataType::Float16,
                &[k as i64, n as i64],
                halves,
            ));
            // A Cast of a constant is folded by ORT at load time: f16 on disk, f32 kernels.
            let w = g.op1_with(scope, "Cast", "", &[&w], vec![("to", int(DataType::Float as usize))]);
            g.op1(scope, "MatMul", &[x, &w])
        }
        QuantScheme::Int4 | QuantScheme::Int8 => {
            let bits = if options.quant == QuantScheme::Int4 { 4 } else { 8 };
            let q = if bits == 4 {
                blockwise::quantize_4bit(weight, n, k, 32)
            } else {
                blockwise::quantize_8bit(weight, n, k, 32)
            };
            let blocks = q.blocks() as i64;
            let blob = (32 * bits / 8) as i64;
            let b = g.initializer(Tensor::u8(format!("{scope}.qweight"), &[n as i64, blocks, blob], q.packed));
            let scales = g.const_f32(&format!("{scope}.scales"), &[n as i64 * blocks], &q.scales);
            let zp_len = q.zero_points.len() as i64;
            let zp = g.initializer(Tensor::u8(format!("{scope}.zero_points"), &[zp_len], q.zero_points));
            g.op1_with(
                scope,
                "MatMulNBits",
                "com.microsoft",
                &[x, &b, &scales, &zp],
                vec![
                    ("K", int(k)),
                    ("N", int(n)),
                    ("bits", int(bits)),
                    ("block_size", int(32)),
                    ("accuracy_level", AttributeValue::Int(options.int4_accuracy_level)),
                ],
            )
        }
    }
}

/// The token-embedding lookup. Quantized variants keep the table in int8 (one scale per row) and
/// dequantize only the gathered rows: the table is the largest single tensor of a small model, and
/// a plain f32 table would also be what ORT keeps resident.
fn embedding_lookup(
    g: &mut GraphBuilder,
    embed: &[f32],
    vocab: usize,
    hidden: usize,
    ids: &str,
    format: QuantScheme,
) -> String {
    let dims = [vocab as i64, hidden as i64];
    match format {
        QuantScheme::Fp32 => {
            let table = g.const_f32("token_embd.weight", &dims, embed);
            g.op1("/embed", "Gather", &[&table, ids])
        }
        QuantScheme::Fp16 => {
            let halves: Vec<u8> = embed.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
            let table = g.initializer(Tensor::raw("token_embd.weight.f16", DataType::Float16, &dims, halves));
            let rows = g.op1("/embed", "Gather", &[&table, ids]);
            g.op1_with("/embed", "Cast", "", &[&rows], vec![("to", int(DataType::Float as usize))])
        }
        QuantScheme::Int4 | QuantScheme::Int8 => {
            let q = blockwise::quantize_int8_per_row(embed, vocab, hidden);
            let table = g.initializer(Tensor::i8("token_embd.int8", &dims, &q.values));
            let scales = g.const_f32("token_embd.row_scale", &[vocab as i64], &q.scales);
            let rows = g.op1("/embed", "Gather", &[&table, ids]);
            let rows = g.op1_with("/embed", "Cast", "", &[&rows], vec![("to", int(DataType::Float as usize))]);
            let row_scales = g.op1("/embed", "Gather", &[&scales, ids]);
            let last_axis = g.const_i64("embed_unsqueeze_axis", &[1], &[-1]);
            let row_scales = g.op1("/embed", "Unsqueeze", &[&row_scales, &last_axis]);
            g.op1("/embed", "Mul", &[&rows, &row_scales])
        }
    }
}

/// Rotary tables `[positions, head_dim / 2]` for rotate-half RoPE.
pub fn rope_tables(config: &LlamaConfig, positions: usize) -> (Vec<f32>, Vec<f32>) {
    let half = config.head_dim / 2;
    let mut cos = Vec::with_capacity(positions * half);
    let mut sin = Vec::with_capacity(positions * half);
    for pos in 0..positions {
        for j in 0..half {
            // Computed in f64 so large positions keep full f32 accuracy, as reference code does.
            let inv_freq = f64::from(config.rope_theta).powf(-(2.0 * j as f64) / config.head_dim as f64);
            let angle = pos as f64 * inv_freq;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

/// Builds the cpu variant.
pub fn build_cpu(config: &LlamaConfig, weights: &dyn Weights, options: CpuOptions) -> Result<Model, ConvertError> {
    config.validate(weights.source())?;
    let (hidden, kv_dim, q_dim) = (config.hidden, config.kv_dim(), config.q_dim());
    let mut g = GraphBuilder::new("onyx_llama_cpu");
    let batch = || Dim::from("batch_size");
    let input_ids = g.input(names::INPUT_IDS, DataType::Int64, vec![batch(), "sequence_length".into()]);
    let mask = g.input(names::ATTENTION_MASK, DataType::Int64, vec![batch(), "total_sequence_length".into()]);

    // GroupQueryAttention wants the true length of each row minus one, and the total length.
    let axes1 = g.const_i64("axes_1", &[1], &[1]);
    let mask_len = g.op1_with("/attn_prep", "ReduceSum", "", &[&mask, &axes1], vec![("keepdims", int(0))]);
    let one = g.const_i64("one_i64", &[], &[1]);
    let lens_minus_one = g.op1("/attn_prep", "Sub", &[&mask_len, &one]);
    let seqlens_k =
        g.op1_with("/attn_prep", "Cast", "", &[&lens_minus_one], vec![("to", int(DataType::Int32 as usize))]);
    let mask_shape = g.op1("/attn_prep", "Shape", &[&mask]);
    let index1 = g.const_i64("index_1", &[], &[1]);
    let total = g.op1_with("/attn_prep", "Gather", "", &[&mask_shape, &index1], vec![("axis", int(0))]);
    let total_len = g.op1_with("/attn_prep", "Cast", "", &[&total], vec![("to", int(DataType::Int32 as usize))]);

    let (cos, sin) = rope_tables(config, config.context_length);
    let half = (config.head_dim / 2) as i64;
    let cos_cache = g.const_f32("cos_cache", &[config.context_length as i64, half], &cos);
    let sin_cache = g.const_f32("sin_cache", &[config.context_length as i64, half], &sin);

    let embed = fetch(weights, "token_embd.weight", &[config.vocab, hidden])?;
    let mut residual = embedding_lookup(&mut g, &embed, config.vocab, hidden, &input_ids, options.quant);

    let eps = AttributeValue::Float(config.rms_eps);
    let first_gamma = fetch(weights, "blk.0.attn_norm.weight", &[hidden])?;
    let first_gamma = g.const_f32("blk.0.attn_norm.weight", &[hidden as i64], &first_gamma);
    let mut normed = g.op1_with(
        "/blk.0/attn_norm",
        "SimplifiedLayerNormalization",
        "",
        &[&residual, &first_gamma],
        vec![("axis", AttributeValue::Int(-1)), ("epsilon", eps.clone())],
    );

    for layer in 0..config.layers {
        let scope = format!("/blk.{layer}");
        let w = |suffix: &str| format!("blk.{layer}.{suffix}");
        let project = |g: &mut GraphBuilder, name: &str, n: usize| -> Result<String, ConvertError> {
            let weight = fetch(weights, &w(&format!("{name}.weight")), &[n, hidden])?;
            let mut out = linear(g, &format!("{scope}/{name}"), &normed, &weight, n, hidden, options);
            if config.qkv_bias {
                let bias = fetch(weights, &w(&format!("{name}.bias")), &[n])?;
                let bias = g.const_f32(&w(&format!("{name}.bias")), &[n as i64], &bias);
                out = g.op1(&format!("{scope}/{name}"), "Add", &[&out, &bias]);
            }
            Ok(out)
        };
        let q = project(&mut g, "attn_q", q_dim)?;
        let k = project(&mut g, "attn_k", kv_dim)?;
        let v = project(&mut g, "attn_v", kv_dim)?;

        let past_shape = || {
            vec![
                batch(),
                Dim::from(config.kv_heads as i64),
                "past_sequence_length".into(),
                Dim::from(config.head_dim as i64),
            ]
        };
        let present_shape = || {
            vec![
                batch(),
                Dim::from(config.kv_heads as i64),
                "total_sequence_length".into(),
                Dim::from(config.head_dim as i64),
            ]
        };
        let past_k = g.input(&names::past(layer, "key"), DataType::Float, past_shape());
        let past_v = g.input(&names::past(layer, "value"), DataType::Float, past_shape());
        let (present_k, present_v) = (names::present(layer, "key"), names::present(layer, "value"));
        let attn = format!("{scope}/attn/out");
        g.op_named(
            &format!("{scope}/attn/GroupQueryAttention"),
            "GroupQueryAttention",
            "com.microsoft",
            &[&q, &k, &v, &past_k, &past_v, &seqlens_k, &total_len, &cos_cache, &sin_cache],
            &[&attn, &present_k, &present_v],
            vec![
                ("num_heads", int(config.heads)),
                ("kv_num_heads", int(config.kv_heads)),
                ("do_rotary", int(1)),
                ("rotary_interleaved", int(0)),
                ("scale", AttributeValue::Float(1.0 / (config.head_dim as f32).sqrt())),
            ],
        );
        g.output(&present_k, DataType::Float, present_shape());
        g.output(&present_v, DataType::Float, present_shape());

        let wo = fetch(weights, &w("attn_output.weight"), &[hidden, q_dim])?;
        let attn_out = linear(&mut g, &format!("{scope}/attn_output"), &attn, &wo, hidden, q_dim, options);

        // SkipSimplifiedLayerNormalization adds the residual and normalizes in one kernel; its
        // fourth output is the new residual stream.
        let ffn_gamma = fetch(weights, &w("ffn_norm.weight"), &[hidden])?;
        let ffn_gamma = g.const_f32(&w("ffn_norm.weight"), &[hidden as i64], &ffn_gamma);
        let outs = g.op_with(
            &format!("{scope}/ffn_norm"),
            "SkipSimplifiedLayerNormalization",
            "com.microsoft",
            &[&attn_out, &residual, &ffn_gamma],
            4,
            vec![("epsilon", eps.clone())],
        );
        let (ffn_in, sum) = (outs[0].clone(), outs[3].clone());
        residual = sum;

        let gate_w = fetch(weights, &w("ffn_gate.weight"), &[config.intermediate, hidden])?;
        let up_w = fetch(weights, &w("ffn_up.weight"), &[config.intermediate, hidden])?;
        let down_w = fetch(weights, &w("ffn_down.weight"), &[hidden, config.intermediate])?;
        let gate = linear(&mut g, &format!("{scope}/ffn_gate"), &ffn_in, &gate_w, config.intermediate, hidden, options);
        let up = linear(&mut g, &format!("{scope}/ffn_up"), &ffn_in, &up_w, config.intermediate, hidden, options);
        let sig = g.op1(&format!("{scope}/mlp"), "Sigmoid", &[&gate]);
        let silu = g.op1(&format!("{scope}/mlp"), "Mul", &[&gate, &sig]);
        let act = g.op1(&format!("{scope}/mlp"), "Mul", &[&silu, &up]);
        let down = linear(&mut g, &format!("{scope}/ffn_down"), &act, &down_w, hidden, config.intermediate, options);

        let (next_gamma_name, next_scope) = if layer + 1 < config.layers {
            (format!("blk.{}.attn_norm.weight", layer + 1), format!("/blk.{}/attn_norm", layer + 1))
        } else {
            ("output_norm.weight".to_owned(), "/output_norm".to_owned())
        };
        let gamma = fetch(weights, &next_gamma_name, &[hidden])?;
        let gamma = g.const_f32(&next_gamma_name, &[hidden as i64], &gamma);
        let outs = g.op_with(
            &next_scope,
            "SkipSimplifiedLayerNormalization",
            "com.microsoft",
            &[&down, &residual, &gamma],
            4,
            vec![("epsilon", eps.clone())],
        );
        normed = outs[0].clone();
        residual = outs[3].clone();
    }

    // Only the last position's logits are ever used; computing all of them during a 512-token
    // prefill would cost more than the rest of the model.
    let starts = g.const_i64("last_start", &[1], &[-1]);
    let ends = g.const_i64("last_end", &[1], &[i64::MAX]);
    let last = g.op1("/lm_head", "Slice", &[&normed, &starts, &ends, &axes1]);
    let (head_name, head) = if weights.contains("output.weight") {
        ("output.weight", fetch(weights, "output.weight", &[config.vocab, hidden])?)
    } else {
        // Tied embeddings: the output projection is the token embedding matrix.
        ("token_embd.weight", embed)
    };
    let head_scope = format!("/lm_head/{}", head_name.trim_end_matches(".weight"));
    let logits = linear(&mut g, &head_scope, &last, &head, config.vocab, hidden, options);
    g.op_named("/lm_head/Identity", "Identity", "", &[&logits], &[names::LOGITS], Vec::new());
    g.output(names::LOGITS, DataType::Float, vec![batch(), Dim::from(1), Dim::from(config.vocab as i64)]);

    Ok(Model::new(g.finish(), 17).with_opset("com.microsoft", 1))
}

/// Options of the npu variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NpuOptions {
    /// KV cache slots: the longest conversation the graph can hold.
    pub context: usize,
    /// Tokens per prefill run.
    pub chunk: usize,
    /// Weight storage: fp32, or int8 (w8a16: int8 weights per output channel, multiplied with
    /// 16-bit activations on calibrated grids; see [`crate::qdq`]).
    pub quant: QuantScheme,
}

impl Default for NpuOptions {
    fn default() -> Self {
        Self { context: 1024, chunk: 64, quant: QuantScheme::Int8 }
    }
}

/// Additional names of the npu variant's interface.
pub mod npu_names {
    /// Position of each input token, int64 `[1, S]`; also indexes the rotary tables.
    pub const POSITION_IDS: &str = "position_ids";
    /// Additive attention bias, f32 `[1, 1, S, context + S]`: 0 where a query may attend, a large
    /// negative (finite) value elsewhere. The runtime builds it from the cache fill and causality.
    pub const ATTENTION_BIAS: &str = "attention_bias";
    /// Which of the S positions to produce logits for, int64 `[1]` (the last real token of a
    /// partly filled prefill chunk).
    pub const LAST_INDEX: &str = "last_index";
}

/// The large negative value masked attention scores get. Finite, because NPUs and fp16 paths
/// turn `-inf` into NaNs; `-1e4` is far below any real score yet exact in fp16.
pub const MASKED: f32 = -1.0e4;

/// The element type of the npu variant's KV cache (`past_key_values.*` in, `present.*` out).
/// Packages converted before it was fp16 have fp32 caches; the engine reads the type from the
/// graph, so both load.
pub const KV_TYPE: DataType = DataType::Float16;

/// `x · Wᵀ` for a `[n, k]` weight in npu form: f32, or w8a16 on the calibrated grids of
/// `ranges` (the product's input and output).
#[allow(clippy::too_many_arguments)]
fn npu_product(
    g: &mut GraphBuilder,
    scope: &str,
    name: &str,
    x: &str,
    weight: &[f32],
    n: usize,
    k: usize,
    ranges: Option<(Range, Range)>,
) -> String {
    let transposed = transpose(weight, n, k);
    match ranges {
        None => {
            let w = g.const_f32(&format!("{name}_t"), &[k as i64, n as i64], &transposed);
            g.op1(scope, "MatMul", &[x, &w])
        }
        Some((input, output)) => qdq::w8a16_matmul(g, scope, &format!("{name}_t"), x, input, &transposed, n, output),
    }
}

/// The rows of a row-major `[_, columns]` matrix in `order`.
fn permute_rows(values: &[f32], columns: usize, order: &[usize]) -> Vec<f32> {
    order.iter().flat_map(|&r| &values[r * columns..(r + 1) * columns]).copied().collect()
}

/// Constants the npu graph's RMS norms share.
struct NormConstants {
    /// `[-1]`: reduce over the hidden axis (opset 18 and later take reduction axes as an input).
    last_axis: String,
    /// The model's epsilon.
    eps: String,
    /// A floor for the divisor: any positive divisor gives the same result (it cancels), and this
    /// one, 1e-4, is a normal fp16 number, so an all-zero row divides by something even there.
    floor: String,
}

/// RMS norm, `x / sqrt(mean(x²) + ε) · γ`, from standard ops in a form that survives fp16,
/// which the HTP computes float ops in. Decoders carry "massive activations" in their residual
/// stream (SmolLM2-135M: above 20,000), whose squares overflow fp16's 65,504: spelled out
/// directly, rows holding 3,000 came out wrong by 175 on the X Elite emulator and the model
/// answered garbage. So each row is first divided by its largest |value| `m` (twice by `√m`:
/// `1/m` itself is below fp16's smallest normal number once `m` passes 16,384, and the HTP
/// flushes such numbers to 0), which puts every square in [0, 1] and the mean at no less than
/// 1/hidden; ε becomes ε/m². Opset 23's `RMSNormalization` would be one node, but not every NPU
/// EP takes it yet (OpenVINO's does not).
fn npu_rms_norm(g: &mut GraphBuilder, scope: &str, x: &str, gamma: &str, c: &NormConstants) -> String {
    let magnitude = g.op1(scope, "Abs", &[x]);
    let largest = g.op1_with(scope, "ReduceMax", "", &[&magnitude, &c.last_axis], vec![("keepdims", int(1))]);
    let largest = g.op1(scope, "Max", &[&largest, &c.floor]);
    let root = g.op1(scope, "Sqrt", &[&largest]);
    let scaled = g.op1(scope, "Div", &[x, &root]);
    let scaled = g.op1(scope, "Div", &[&scaled, &root]);
    let square = g.op1(scope, "Mul", &[&scaled, &scaled]);
    let mean = g.op1_with(scope, "ReduceMean", "", &[&square, &c.last_axis], vec![("keepdims", int(1))]);
    let eps = g.op1(scope, "Div", &[&c.eps, &largest]);
    let eps = g.op1(scope, "Div", &[&eps, &largest]);
    let shifted = g.op1(scope, "Add", &[&mean, &eps]);
    let rms = g.op1(scope, "Sqrt", &[&shifted]);
    let normalized = g.op1(scope, "Div", &[&scaled, &rms]);
    g.op1(scope, "Mul", &[&normalized, gamma])
}

/// Builds the npu variant for a fixed sequence length `seq` (the prefill chunk, or 1 to
/// decode): static shapes, standard ONNX ops only, a fixed-size KV cache in, new K/V out.
/// Int8 builds need `calibration`, the activation ranges of this model
/// ([`calibration::calibrate`]): every weight product runs in w8a16 on grids made from them.
pub fn build_npu(
    config: &LlamaConfig,
    weights: &dyn Weights,
    options: NpuOptions,
    seq: usize,
    calibration: Option<&Calibration>,
) -> Result<Model, ConvertError> {
    config.validate(weights.source())?;
    if options.context == 0 || seq == 0 || options.context > config.context_length {
        return Err(ConvertError::malformed(
            weights.source(),
            format!(
                "npu context {} and sequence {seq} must be positive and the context at most the model's {}",
                options.context, config.context_length
            ),
        ));
    }
    let calibration = match options.quant {
        QuantScheme::Int8 => match calibration {
            Some(c) if c.layers.len() == config.layers => Some(c),
            Some(c) => {
                return Err(ConvertError::malformed(
                    weights.source(),
                    format!("the calibration has {} layers, the model {}", c.layers.len(), config.layers),
                ));
            }
            None => {
                return Err(ConvertError::malformed(
                    weights.source(),
                    "int8 npu graphs need the model's calibrated activation ranges",
                ));
            }
        },
        QuantScheme::Fp32 => None,
        other => {
            return Err(ConvertError::unsupported(
                weights.source(),
                format!("{other} weights for the npu target (it builds int8 or fp32)"),
            ));
        }
    };
    let (hidden, hd, c) = (config.hidden, config.head_dim, options.context);
    let (heads, kv_heads) = (config.heads, config.kv_heads);
    let group = heads / kv_heads;
    let fixed = |dims: &[usize]| dims.iter().map(|&d| Dim::from(d as i64)).collect::<Vec<_>>();
    let mut g = GraphBuilder::new(&format!("onyx_llama_npu_s{seq}"));
    let input_ids = g.input(names::INPUT_IDS, DataType::Int64, fixed(&[1, seq]));
    let position_ids = g.input(npu_names::POSITION_IDS, DataType::Int64, fixed(&[1, seq]));
    let bias = g.input(npu_names::ATTENTION_BIAS, DataType::Float, fixed(&[1, 1, seq, c + seq]));
    let last_index = g.input(npu_names::LAST_INDEX, DataType::Int64, fixed(&[1]));

    // Full-width rotary tables (each half repeated) so rotation is two multiplies and an add.
    let (cos_half, sin_half) = rope_tables(config, c);
    let widen = |half: &[f32]| -> Vec<f32> {
        half.chunks_exact(hd / 2).flat_map(|row| row.iter().chain(row.iter()).copied()).collect()
    };
    let cos_table = g.const_f32("rope_cos", &[c as i64, hd as i64], &widen(&cos_half));
    let sin_table = g.const_f32("rope_sin", &[c as i64, hd as i64], &widen(&sin_half));
    let cos = g.op1_with("/rope", "Gather", "", &[&cos_table, &position_ids], vec![("axis", int(0))]);
    let sin = g.op1_with("/rope", "Gather", "", &[&sin_table, &position_ids], vec![("axis", int(0))]);
    let rope_shape = g.const_i64("rope_shape", &[4], &[1, 1, seq as i64, hd as i64]);
    let cos = g.op1("/rope", "Reshape", &[&cos, &rope_shape]);
    let sin = g.op1("/rope", "Reshape", &[&sin, &rope_shape]);
    let first_half = (g.const_i64("half_start0", &[1], &[0]), g.const_i64("half_end0", &[1], &[(hd / 2) as i64]));
    let second_half =
        (g.const_i64("half_start1", &[1], &[(hd / 2) as i64]), g.const_i64("half_end1", &[1], &[hd as i64]));
    let axis3 = g.const_i64("axis_3", &[1], &[3]);
    let rotate = |g: &mut GraphBuilder, scope: &str, x: &str| -> String {
        let low = g.op1(scope, "Slice", &[x, &first_half.0, &first_half.1, &axis3]);
        let high = g.op1(scope, "Slice", &[x, &second_half.0, &second_half.1, &axis3]);
        let neg_high = g.op1(scope, "Neg", &[&high]);
        let rotated = g.op1_with(scope, "Concat", "", &[&neg_high, &low], vec![("axis", int(3))]);
        let a = g.op1(scope, "Mul", &[x, &cos]);
        let b = g.op1(scope, "Mul", &[&rotated, &sin]);
        g.op1(scope, "Add", &[&a, &b])
    };

    let embed = fetch(weights, "token_embd.weight", &[config.vocab, hidden])?;
    let mut x = if calibration.is_some() {
        // Per-row scales: each token's embedding keeps its own range.
        qdq::int8_row_gather(&mut g, "/embed", "token_embd", &embed, hidden, &input_ids)
    } else {
        let table = g.const_f32("token_embd.weight", &[config.vocab as i64, hidden as i64], &embed);
        g.op1_with("/embed", "Gather", "", &[&table, &input_ids], vec![("axis", int(0))])
    };
    // Outputs that would come straight from a product's DequantizeLinear (V, the logits) leave
    // through a multiply by one instead. ORT's optimizer removes an Identity and moves a
    // DequantizeLinear forward through Reshape and Transpose, and QNN takes no DequantizeLinear
    // whose output leaves the graph unless CPU fallback is off: with the multiply, the graph
    // compiles whole in auto mode too.
    let keep = g.const_f32("keep_one", &[], &[1.0]);

    let norm = NormConstants {
        last_axis: g.const_i64("axes_last", &[1], &[-1]),
        eps: g.const_f32("rms_eps", &[], &[config.rms_eps]),
        floor: g.const_f32("rms_floor", &[], &[1e-4]),
    };
    let scale = g.const_f32("attn_scale", &[], &[1.0 / (hd as f32).sqrt()]);
    let q_shape = g.const_i64("q_shape", &[4], &[1, seq as i64, heads as i64, hd as i64]);
    let kv_shape = g.const_i64("kv_shape", &[4], &[1, seq as i64, kv_heads as i64, hd as i64]);
    let grouped_shape = g.const_i64("grouped_shape", &[4], &[1, kv_heads as i64, (group * seq) as i64, hd as i64]);
    let heads_shape = g.const_i64("heads_shape", &[4], &[1, heads as i64, seq as i64, hd as i64]);
    let merged_shape = g.const_i64("merged_shape", &[3], &[1, seq as i64, (heads * hd) as i64]);
    // Query heads are laid out kv-head-major, so folding each group of query heads into the
    // sequence axis lets one MatMul per KV head serve all of its query heads (no rank-5 tensor).
    // The bias is repeated to match with Concat rather than Tile, which fewer NPU and plugin
    // EPs implement.
    let copies: Vec<&str> = std::iter::repeat_n(bias.as_str(), group).collect();
    let group_bias = g.op1_with("/attn_prep", "Concat", "", &copies, vec![("axis", int(2))]);

    for layer in 0..config.layers {
        let scope = format!("/blk.{layer}");
        let w = |suffix: &str| format!("blk.{layer}.{suffix}");
        let gamma = fetch(weights, &w("attn_norm.weight"), &[hidden])?;
        let gamma = g.const_f32(&w("attn_norm.weight"), &[hidden as i64], &gamma);
        let normed = npu_rms_norm(&mut g, &format!("{scope}/attn_norm"), &x, &gamma, &norm);
        let r = calibration.map(|c| &c.layers[layer]);

        let project =
            |g: &mut GraphBuilder, name: &str, n: usize, output: Option<Range>| -> Result<String, ConvertError> {
                let weight = fetch(weights, &w(&format!("{name}.weight")), &[n, hidden])?;
                let ranges = r.zip(output).map(|(r, output)| (r.attention_input, output));
                let mut out = npu_product(g, &format!("{scope}/{name}"), &w(name), &normed, &weight, n, hidden, ranges);
                if config.qkv_bias {
                    let bias = fetch(weights, &w(&format!("{name}.bias")), &[n])?;
                    let bias = g.const_f32(&w(&format!("{name}.bias")), &[n as i64], &bias);
                    out = g.op1(&format!("{scope}/{name}"), "Add", &[&out, &bias]);
                }
                Ok(out)
            };
        let q = project(&mut g, "attn_q", heads * hd, r.map(|r| r.q))?;
        let k = project(&mut g, "attn_k", kv_heads * hd, r.map(|r| r.k))?;
        let v = project(&mut g, "attn_v", kv_heads * hd, r.map(|r| r.v))?;

        let perm = || vec![("perm", AttributeValue::Ints(vec![0, 2, 1, 3]))];
        let q = g.op1(&scope, "Reshape", &[&q, &q_shape]);
        let q = g.op1_with(&scope, "Transpose", "", &[&q], perm());
        let k = g.op1(&scope, "Reshape", &[&k, &kv_shape]);
        let k = g.op1_with(&scope, "Transpose", "", &[&k], perm());
        let v = g.op1(&scope, "Reshape", &[&v, &kv_shape]);
        let (present_k, present_v) = (names::present(layer, "key"), names::present(layer, "value"));
        let v_t = g.op1_with(&scope, "Transpose", "", &[&v], perm());
        let q = rotate(&mut g, &format!("{scope}/rope_q"), &q);
        let k_rotated = rotate(&mut g, &format!("{scope}/rope_k"), &k);
        // The cache is fp16 in and out (KV_TYPE): half the bytes an fp32 cache moves into the
        // graph on every step, and no precision the HTP would keep, since it computes attention
        // in fp16. The step's own rows are used at full width; the cache keeps their fp16 form.
        let to = |t: DataType| vec![("to", AttributeValue::Int(t as i64))];
        g.op_named(&format!("{scope}/present_k"), "Cast", "", &[&k_rotated], &[&present_k], to(KV_TYPE));
        g.op_named(&format!("{scope}/present_v"), "Cast", "", &[&v_t], &[&present_v], to(KV_TYPE));
        g.output(&present_k, KV_TYPE, fixed(&[1, kv_heads, seq, hd]));
        g.output(&present_v, KV_TYPE, fixed(&[1, kv_heads, seq, hd]));

        let past_k = g.input(&names::past(layer, "key"), KV_TYPE, fixed(&[1, kv_heads, c, hd]));
        let past_v = g.input(&names::past(layer, "value"), KV_TYPE, fixed(&[1, kv_heads, c, hd]));
        let past_k = g.op1_with(&format!("{scope}/past_k"), "Cast", "", &[&past_k], to(DataType::Float));
        let past_v = g.op1_with(&format!("{scope}/past_v"), "Cast", "", &[&past_v], to(DataType::Float));
        let keys = g.op1_with(&scope, "Concat", "", &[&past_k, &k_rotated], vec![("axis", int(2))]);
        let values = g.op1_with(&scope, "Concat", "", &[&past_v, &v_t], vec![("axis", int(2))]);

        let q = g.op1(&scope, "Mul", &[&q, &scale]);
        let q = g.op1(&scope, "Reshape", &[&q, &grouped_shape]);
        let keys_t =
            g.op1_with(&scope, "Transpose", "", &[&keys], vec![("perm", AttributeValue::Ints(vec![0, 1, 3, 2]))]);
        let scores = g.op1(&scope, "MatMul", &[&q, &keys_t]);
        let scores = g.op1(&scope, "Add", &[&scores, &group_bias]);
        let probs = g.op1_with(&scope, "Softmax", "", &[&scores], vec![("axis", AttributeValue::Int(-1))]);
        let context = g.op1(&scope, "MatMul", &[&probs, &values]);
        let context = g.op1(&scope, "Reshape", &[&context, &heads_shape]);
        let context = g.op1_with(&scope, "Transpose", "", &[&context], perm());
        let context = g.op1(&scope, "Reshape", &[&context, &merged_shape]);

        let wo = fetch(weights, &w("attn_output.weight"), &[hidden, heads * hd])?;
        let ranges = r.map(|r| (r.context, r.attention_output));
        let attn_out = npu_product(
            &mut g,
            &format!("{scope}/attn_output"),
            &w("attn_output"),
            &context,
            &wo,
            hidden,
            heads * hd,
            ranges,
        );
        x = g.op1(&scope, "Add", &[&x, &attn_out]);

        let gamma = fetch(weights, &w("ffn_norm.weight"), &[hidden])?;
        let gamma = g.const_f32(&w("ffn_norm.weight"), &[hidden as i64], &gamma);
        let normed = npu_rms_norm(&mut g, &format!("{scope}/ffn_norm"), &x, &gamma, &norm);
        let n = config.intermediate;
        let gate_w = fetch(weights, &w("ffn_gate.weight"), &[n, hidden])?;
        let up_w = fetch(weights, &w("ffn_up.weight"), &[n, hidden])?;
        let down_w = fetch(weights, &w("ffn_down.weight"), &[hidden, n])?;
        // The few MLP channels calibration found far wider than the rest go last (gate and up
        // rows, down columns, permuted alike: the same function), so the graph can slice them
        // off into a small float product and keep them off the down projection's 16-bit grid.
        let outliers: &[usize] = r.map_or(&[], |r| &r.ffn_outliers);
        let order: Vec<usize> = (0..n).filter(|c| !outliers.contains(c)).chain(outliers.iter().copied()).collect();
        let gate_w = permute_rows(&gate_w, hidden, &order);
        let up_w = permute_rows(&up_w, hidden, &order);
        let down_w = permute_rows(&transpose(&down_w, hidden, n), hidden, &order);
        let mlp_scope = |name: &str| format!("{scope}/{name}");
        let ranges = r.map(|r| (r.ffn_input, r.gate));
        let gate = npu_product(&mut g, &mlp_scope("ffn_gate"), &w("ffn_gate"), &normed, &gate_w, n, hidden, ranges);
        let ranges = r.map(|r| (r.ffn_input, r.up));
        let up = npu_product(&mut g, &mlp_scope("ffn_up"), &w("ffn_up"), &normed, &up_w, n, hidden, ranges);
        let sig = g.op1(&format!("{scope}/mlp"), "Sigmoid", &[&gate]);
        let silu = g.op1(&format!("{scope}/mlp"), "Mul", &[&gate, &sig]);
        let act = g.op1(&format!("{scope}/mlp"), "Mul", &[&silu, &up]);
        // `down_w` is now `[n, hidden]` in the permuted order: rows are input channels.
        let regular = n - outliers.len();
        let ranges = r.map(|r| (r.ffn_hidden, r.down));
        let down = if outliers.is_empty() {
            npu_product(
                &mut g,
                &mlp_scope("ffn_down"),
                &w("ffn_down"),
                &act,
                &transpose(&down_w, n, hidden),
                hidden,
                n,
                ranges,
            )
        } else {
            let (head, tail) = down_w.split_at(regular * hidden);
            let axis2 = g.const_i64(&format!("{scope}/mlp.axis2"), &[1], &[2]);
            let cut = g.const_i64(&format!("{scope}/mlp.regular"), &[1], &[regular as i64]);
            let (start, end) = (
                g.const_i64(&format!("{scope}/mlp.start"), &[1], &[0]),
                g.const_i64(&format!("{scope}/mlp.end"), &[1], &[n as i64]),
            );
            let act_regular = g.op1(&format!("{scope}/mlp.regular"), "Slice", &[&act, &start, &cut, &axis2]);
            let act_outliers = g.op1(&format!("{scope}/mlp.outliers"), "Slice", &[&act, &cut, &end, &axis2]);
            let main = npu_product(
                &mut g,
                &mlp_scope("ffn_down"),
                &w("ffn_down"),
                &act_regular,
                &transpose(head, regular, hidden),
                hidden,
                regular,
                ranges,
            );
            let extra = npu_product(
                &mut g,
                &mlp_scope("ffn_down_outliers"),
                &w("ffn_down_outliers"),
                &act_outliers,
                &transpose(tail, outliers.len(), hidden),
                hidden,
                outliers.len(),
                None,
            );
            g.op1(&format!("{scope}/mlp"), "Add", &[&main, &extra])
        };
        x = g.op1(&format!("{scope}/mlp"), "Add", &[&x, &down]);
    }

    let gamma = fetch(weights, "output_norm.weight", &[hidden])?;
    let gamma = g.const_f32("output_norm.weight", &[hidden as i64], &gamma);
    let normed = npu_rms_norm(&mut g, "/output_norm", &x, &gamma, &norm);
    let last = g.op1_with("/lm_head", "Gather", "", &[&normed, &last_index], vec![("axis", int(1))]);
    let head = if weights.contains("output.weight") {
        fetch(weights, "output.weight", &[config.vocab, hidden])?
    } else {
        embed
    };
    let ranges = calibration.map(|c| (c.head_input, c.logits));
    let logits = npu_product(&mut g, "/lm_head", "lm_head", &last, &head, config.vocab, hidden, ranges);
    g.op_named("/lm_head/keep", "Mul", "", &[&logits, &keep], &[names::LOGITS], Vec::new());
    g.output(names::LOGITS, DataType::Float, fixed(&[1, 1, config.vocab]));

    Ok(Model::new(g.finish(), qdq::OPSET))
}
