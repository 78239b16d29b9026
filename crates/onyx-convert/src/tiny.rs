//! Tiny random-weight Llama models and a plain-Rust reference forward pass.
//!
//! Tests build these in process to exercise the graph builders, the runtime and the engine
//! without downloading anything, and check every graph against [`reference_logits`], which
//! spells the architecture out in ordinary loops, independent of ONNX.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ConvertError;
use crate::llama::{LlamaConfig, Weights};

/// An in-memory weight set.
pub struct TinyWeights {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    path: PathBuf,
}

impl Weights for TinyWeights {
    fn get(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        self.tensors
            .get(name)
            .cloned()
            .ok_or_else(|| ConvertError::malformed(&self.path, format!("tensor '{name}' is missing")))
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn source(&self) -> &Path {
        &self.path
    }
}

impl TinyWeights {
    /// Removes a tensor (to test error paths).
    pub fn remove(&mut self, name: &str) {
        self.tensors.remove(name);
    }

    /// Replaces a tensor (to test error paths).
    pub fn insert(&mut self, name: &str, shape: Vec<usize>, values: Vec<f32>) {
        self.tensors.insert(name.to_owned(), (shape, values));
    }
}

/// A small config: 2 layers, grouped-query attention (4 heads over 2 KV heads), 16-wide heads.
pub fn tiny_config(qkv_bias: bool) -> LlamaConfig {
    LlamaConfig {
        architecture: if qkv_bias { "qwen2".into() } else { "llama".into() },
        hidden: 64,
        intermediate: 96,
        layers: 2,
        heads: 4,
        kv_heads: 2,
        head_dim: 16,
        vocab: 97,
        rope_theta: 10000.0,
        rms_eps: 1e-5,
        context_length: 128,
        qkv_bias,
    }
}

/// Deterministic xorshift values in `[-scale, scale]`.
fn random(count: usize, seed: &mut u64, scale: f32) -> Vec<f32> {
    (0..count)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Random weights for `config`, reproducible from `seed`.
pub fn tiny_weights(config: &LlamaConfig, seed: u64) -> TinyWeights {
    let mut state = seed.max(1);
    let mut tensors = HashMap::new();
    let (h, q, kv, i) =
        (config.hidden, config.heads * config.head_dim, config.kv_heads * config.head_dim, config.intermediate);
    let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        let count = shape.iter().product();
        let values = random(count, &mut state, scale).into_iter().map(|v| v + offset).collect();
        tensors.insert(name, (shape, values));
    };
    add("token_embd.weight".into(), vec![config.vocab, h], 1.0, 0.0);
    for l in 0..config.layers {
        add(format!("blk.{l}.attn_norm.weight"), vec![h], 0.2, 1.0);
        add(format!("blk.{l}.attn_q.weight"), vec![q, h], 0.25, 0.0);
        add(format!("blk.{l}.attn_k.weight"), vec![kv, h], 0.25, 0.0);
        add(format!("blk.{l}.attn_v.weight"), vec![kv, h], 0.25, 0.0);
        if config.qkv_bias {
            add(format!("blk.{l}.attn_q.bias"), vec![q], 0.1, 0.0);
            add(format!("blk.{l}.attn_k.bias"), vec![kv], 0.1, 0.0);
            add(format!("blk.{l}.attn_v.bias"), vec![kv], 0.1, 0.0);
        }
        add(format!("blk.{l}.attn_output.weight"), vec![h, q], 0.25, 0.0);
        add(format!("blk.{l}.ffn_norm.weight"), vec![h], 0.2, 1.0);
        add(format!("blk.{l}.ffn_gate.weight"), vec![i, h], 0.25, 0.0);
        add(format!("blk.{l}.ffn_up.weight"), vec![i, h], 0.25, 0.0);
        add(format!("blk.{l}.ffn_down.weight"), vec![h, i], 0.25, 0.0);
    }
    add("output_norm.weight".into(), vec![h], 0.2, 1.0);
    TinyWeights { tensors, path: PathBuf::from("<tiny model>") }
}

fn rms_norm(x: &[f32], gamma: &[f32], eps: f32) -> Vec<f32> {
    let mean_square = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (mean_square + eps).sqrt();
    x.iter().zip(gamma).map(|(v, g)| v * inv * g).collect()
}

/// `x · Wᵀ` for `W` row-major `[n, k]`.
fn matvec(w: &[f32], x: &[f32], n: usize) -> Vec<f32> {
    let k = x.len();
    (0..n).map(|r| w[r * k..(r + 1) * k].iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}

fn rope(x: &mut [f32], position: usize, config: &LlamaConfig) {
    let half = config.head_dim / 2;
    for head in x.chunks_exact_mut(config.head_dim) {
        for j in 0..half {
            let inv_freq = f64::from(config.rope_theta).powf(-(2.0 * j as f64) / config.head_dim as f64);
            let angle = position as f64 * inv_freq;
            let (cos, sin) = (angle.cos() as f32, angle.sin() as f32);
            let (a, b) = (head[j], head[j + half]);
            head[j] = a * cos - b * sin;
            head[j + half] = b * cos + a * sin;
        }
    }
}

/// The logits after every position of `tokens`, computed with plain loops.
pub fn reference_logits(
    config: &LlamaConfig,
    weights: &dyn Weights,
    tokens: &[u32],
) -> Result<Vec<Vec<f32>>, ConvertError> {
    let get = |name: &str| weights.get(name).map(|(_, v)| v);
    let embed = get("token_embd.weight")?;
    let head = if weights.contains("output.weight") { get("output.weight")? } else { embed.clone() };
    let (h, hd) = (config.hidden, config.head_dim);
    let group = config.heads / config.kv_heads;
    let mut keys: Vec<Vec<Vec<f32>>> = vec![Vec::new(); config.layers];
    let mut values: Vec<Vec<Vec<f32>>> = vec![Vec::new(); config.layers];
    let mut all_logits = Vec::new();
    for (pos, &token) in tokens.iter().enumerate() {
        let row = token as usize;
        let mut x: Vec<f32> = embed[row * h..(row + 1) * h].to_vec();
        for l in 0..config.layers {
            let p = |s: &str| format!("blk.{l}.{s}");
            let normed = rms_norm(&x, &get(&p("attn_norm.weight"))?, config.rms_eps);
            let mut q = matvec(&get(&p("attn_q.weight"))?, &normed, config.heads * hd);
            let mut k = matvec(&get(&p("attn_k.weight"))?, &normed, config.kv_heads * hd);
            let mut v = matvec(&get(&p("attn_v.weight"))?, &normed, config.kv_heads * hd);
            if config.qkv_bias {
                for (t, b) in [(&mut q, "attn_q.bias"), (&mut k, "attn_k.bias"), (&mut v, "attn_v.bias")] {
                    t.iter_mut().zip(get(&p(b))?).for_each(|(a, b)| *a += b);
                }
            }
            rope(&mut q, pos, config);
            rope(&mut k, pos, config);
            keys[l].push(k);
            values[l].push(v);
            let mut attn = vec![0f32; config.heads * hd];
            for head_index in 0..config.heads {
                let kv_head = head_index / group;
                let qh = &q[head_index * hd..(head_index + 1) * hd];
                let scores: Vec<f32> = keys[l]
                    .iter()
                    .map(|k| {
                        k[kv_head * hd..(kv_head + 1) * hd].iter().zip(qh).map(|(a, b)| a * b).sum::<f32>()
                            / (hd as f32).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f32 = exp.iter().sum();
                for (weight, v) in exp.iter().zip(&values[l]) {
                    for d in 0..hd {
                        attn[head_index * hd + d] += weight / total * v[kv_head * hd + d];
                    }
                }
            }
            let o = matvec(&get(&p("attn_output.weight"))?, &attn, h);
            x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            let normed = rms_norm(&x, &get(&p("ffn_norm.weight"))?, config.rms_eps);
            let gate = matvec(&get(&p("ffn_gate.weight"))?, &normed, config.intermediate);
            let up = matvec(&get(&p("ffn_up.weight"))?, &normed, config.intermediate);
            let act: Vec<f32> = gate.iter().zip(&up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
            let down = matvec(&get(&p("ffn_down.weight"))?, &act, h);
            x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        }
        let out = rms_norm(&x, &get("output_norm.weight")?, config.rms_eps);
        all_logits.push(matvec(&head, &out, config.vocab));
    }
    Ok(all_logits)
}

/// Activation ranges of a tiny model for its w8a16 npu graphs, measured on three fixed
/// pseudo-random token sequences (24, 16 and 8 tokens) that tests do not otherwise use.
pub fn calibration(config: &LlamaConfig, weights: &dyn Weights) -> Result<crate::llama::Calibration, ConvertError> {
    let vocab = config.vocab as u32;
    let sequences: Vec<Vec<u32>> = [(24u32, 7u32), (16, 31), (8, 53)]
        .iter()
        .map(|&(length, step)| (0..length).map(|i| (i * step + 11) % vocab).collect())
        .collect();
    crate::llama::calibration::calibrate(config, weights, &sequences)
}

/// Writes `weights` as a Hugging Face folder (config.json, model.safetensors and minimal
/// tokenizer files), the layout users bring from the Hub.
pub fn write_hf_folder(config: &LlamaConfig, weights: &TinyWeights, dir: &Path) -> Result<(), ConvertError> {
    use crate::hf_llama::SafetensorsWeights;
    use crate::safetensors::{F32Tensor, write_f32};
    std::fs::create_dir_all(dir).map_err(|source| ConvertError::Write { path: dir.to_path_buf(), source })?;
    let mut names: Vec<&String> = weights.tensors.keys().collect();
    names.sort();
    let mut tensors = Vec::new();
    let mut hf_names = Vec::new();
    for name in &names {
        let hf = SafetensorsWeights::hf_name(name)
            .ok_or_else(|| ConvertError::malformed(&weights.path, format!("no Hugging Face name for '{name}'")))?;
        hf_names.push(hf);
    }
    for (name, hf) in names.iter().zip(&hf_names) {
        let (shape, values) = &weights.tensors[name.as_str()];
        tensors.push(F32Tensor { name: hf, shape, values });
    }
    write_f32(&dir.join("model.safetensors"), &tensors)?;
    let config_json = serde_json::json!({
        "model_type": config.architecture,
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": config.hidden,
        "intermediate_size": config.intermediate,
        "num_hidden_layers": config.layers,
        "num_attention_heads": config.heads,
        "num_key_value_heads": config.kv_heads,
        "vocab_size": config.vocab,
        "rms_norm_eps": config.rms_eps,
        "rope_theta": config.rope_theta,
        "max_position_embeddings": config.context_length,
        "tie_word_embeddings": true,
        "bos_token_id": 1,
        "eos_token_id": 2
    });
    // A word-level vocabulary "t0".."tN": enough for the tokenizers crate to load the file.
    let vocab: serde_json::Map<String, serde_json::Value> =
        (0..config.vocab).map(|i| (format!("t{i}"), serde_json::json!(i))).collect();
    let tokenizer_json = serde_json::json!({
        "version": "1.0",
        "added_tokens": [],
        "pre_tokenizer": { "type": "Whitespace" },
        "model": { "type": "WordLevel", "vocab": vocab, "unk_token": "t0" }
    });
    let tokenizer_config =
        serde_json::json!({ "chat_template": "{% for m in messages %}{{ m['content'] }} {% endfor %}" });
    for (name, value) in
        [("config.json", config_json), ("tokenizer.json", tokenizer_json), ("tokenizer_config.json", tokenizer_config)]
    {
        let path = dir.join(name);
        std::fs::write(&path, value.to_string()).map_err(|source| ConvertError::Write { path, source })?;
    }
    Ok(())
}

/// Writes `weights` as a GGUF v3 file the way llama.cpp's converter does: f32 tensors, Q/K rows
/// permuted for `llama` (not `qwen2`), and a tiny byte-level BPE vocabulary of `config.vocab`
/// tokens (printable ASCII, `Ġ`, and two merges: `Ġa` and `ab`). `architecture` overrides the
/// metadata's architecture, to test unsupported ones.
pub fn write_gguf(
    config: &LlamaConfig,
    weights: &TinyWeights,
    path: &Path,
    architecture: &str,
) -> Result<(), ConvertError> {
    const ALIGN: usize = 32;
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn kv_u32(out: &mut Vec<u8>, key: &str, value: u32) {
        string(out, key);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    fn kv_f32(out: &mut Vec<u8>, key: &str, value: f32) {
        string(out, key);
        out.extend_from_slice(&6u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    fn kv_str(out: &mut Vec<u8>, key: &str, value: &str) {
        string(out, key);
        out.extend_from_slice(&8u32.to_le_bytes());
        string(out, value);
    }
    fn kv_strings(out: &mut Vec<u8>, key: &str, values: &[String]) {
        string(out, key);
        out.extend_from_slice(&9u32.to_le_bytes());
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for v in values {
            string(out, v);
        }
    }

    let mut tokens: Vec<String> = (33u8..=126).map(|b| (b as char).to_string()).collect();
    tokens.extend(["Ġ".to_owned(), "Ġa".to_owned(), "ab".to_owned()]);
    tokens.truncate(config.vocab);
    while tokens.len() < config.vocab {
        tokens.push(format!("<extra_{}>", tokens.len()));
    }
    let merges = vec!["Ġ a".to_owned(), "a b".to_owned()];

    let arch = architecture;
    let mut kv = Vec::new();
    let mut count = 0u64;
    let mut add = |f: &dyn Fn(&mut Vec<u8>)| {
        f(&mut kv);
        count += 1;
    };
    add(&|o| kv_str(o, "general.architecture", arch));
    add(&|o| kv_str(o, "general.name", "tiny"));
    add(&|o| kv_u32(o, &format!("{arch}.block_count"), config.layers as u32));
    add(&|o| kv_u32(o, &format!("{arch}.context_length"), config.context_length as u32));
    add(&|o| kv_u32(o, &format!("{arch}.embedding_length"), config.hidden as u32));
    add(&|o| kv_u32(o, &format!("{arch}.feed_forward_length"), config.intermediate as u32));
    add(&|o| kv_u32(o, &format!("{arch}.attention.head_count"), config.heads as u32));
    add(&|o| kv_u32(o, &format!("{arch}.attention.head_count_kv"), config.kv_heads as u32));
    add(&|o| kv_f32(o, &format!("{arch}.rope.freq_base"), config.rope_theta));
    add(&|o| kv_f32(o, &format!("{arch}.attention.layer_norm_rms_epsilon"), config.rms_eps));
    add(&|o| kv_str(o, "tokenizer.ggml.model", "gpt2"));
    add(&|o| kv_str(o, "tokenizer.ggml.pre", "default"));
    add(&|o| kv_strings(o, "tokenizer.ggml.tokens", &tokens));
    add(&|o| kv_strings(o, "tokenizer.ggml.merges", &merges));
    add(&|o| kv_u32(o, "tokenizer.ggml.bos_token_id", 1));
    add(&|o| kv_u32(o, "tokenizer.ggml.eos_token_id", 2));

    let permute = arch != "qwen2";
    let mut names: Vec<&String> = weights.tensors.keys().collect();
    names.sort();
    let mut infos = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for name in &names {
        let (shape, values) = &weights.tensors[name.as_str()];
        let heads = if name.ends_with("attn_q.weight") {
            Some(config.heads)
        } else if name.ends_with("attn_k.weight") {
            Some(config.kv_heads)
        } else {
            None
        };
        let values = match heads {
            Some(heads) if permute => crate::gguf_llama::permute_rows(values, heads, config.head_dim, shape[1]),
            _ => values.clone(),
        };
        data.resize(data.len().next_multiple_of(ALIGN), 0);
        string(&mut infos, name);
        infos.extend_from_slice(&(shape.len() as u32).to_le_bytes());
        for dim in shape.iter().rev() {
            infos.extend_from_slice(&(*dim as u64).to_le_bytes());
        }
        infos.extend_from_slice(&0u32.to_le_bytes()); // F32
        infos.extend_from_slice(&(data.len() as u64).to_le_bytes());
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }

    let mut file = Vec::new();
    file.extend_from_slice(b"GGUF");
    file.extend_from_slice(&3u32.to_le_bytes());
    file.extend_from_slice(&(names.len() as u64).to_le_bytes());
    file.extend_from_slice(&count.to_le_bytes());
    file.extend_from_slice(&kv);
    file.extend_from_slice(&infos);
    file.resize(file.len().next_multiple_of(ALIGN), 0);
    file.extend_from_slice(&data);
    std::fs::write(path, file).map_err(|source| ConvertError::Write { path: path.to_path_buf(), source })
}
