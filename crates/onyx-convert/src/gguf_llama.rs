//! Llama-family models read from GGUF: hyper-parameters from the metadata, and weights in the
//! canonical form [`crate::llama`] builds from.
//!
//! llama.cpp's converter stores the Q and K projection rows of `llama` models permuted for its
//! adjacent-pair RoPE. Onyx's graphs use rotate-half RoPE everywhere (as Hugging Face does), so
//! the permutation is undone here, once, as the weights are read. Qwen2 GGUFs are not permuted.

use std::path::Path;

use crate::ConvertError;
use crate::gguf::GgufFile;
use crate::llama::{LlamaConfig, Weights};

/// GGUF architectures this reader understands, and whether their Q/K rows are permuted.
const ARCHITECTURES: &[(&str, bool)] = &[("llama", true), ("mistral", true), ("qwen2", false)];

/// Reads the hyper-parameters of a Llama-family GGUF.
pub fn config_from_gguf(gguf: &GgufFile) -> Result<LlamaConfig, ConvertError> {
    let path = gguf.path();
    let arch = gguf
        .get_str("general.architecture")
        .ok_or_else(|| ConvertError::malformed(path, "metadata has no 'general.architecture'"))?;
    if !ARCHITECTURES.iter().any(|(name, _)| *name == arch) {
        let known: Vec<&str> = ARCHITECTURES.iter().map(|(name, _)| *name).collect();
        return Err(ConvertError::unsupported(
            path,
            format!("architecture '{arch}' (supported: {})", known.join(", ")),
        ));
    }
    let key = |suffix: &str| format!("{arch}.{suffix}");
    let required = |suffix: &str| -> Result<usize, ConvertError> {
        let name = key(suffix);
        gguf.get_u64(&name)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| ConvertError::malformed(path, format!("metadata key '{name}' is missing or not an integer")))
    };
    let hidden = required("embedding_length")?;
    let heads = required("attention.head_count")?;
    let kv_heads = gguf.get_u64(&key("attention.head_count_kv")).map_or(Ok(heads), |v| {
        usize::try_from(v).map_err(|_| ConvertError::malformed(path, format!("head_count_kv {v} is out of range")))
    })?;
    let head_dim =
        match gguf.get_u64(&key("attention.key_length")).or_else(|| gguf.get_u64(&key("rope.dimension_count"))) {
            Some(v) => usize::try_from(v)
                .map_err(|_| ConvertError::malformed(path, format!("head size {v} is out of range")))?,
            None if heads > 0 => hidden / heads,
            None => 0,
        };
    let embed = gguf
        .tensor("token_embd.weight")
        .ok_or_else(|| ConvertError::malformed(path, "tensor 'token_embd.weight' is missing"))?;
    let vocab = embed.shape.first().copied().unwrap_or(0);
    let config = LlamaConfig {
        architecture: arch.to_owned(),
        hidden,
        intermediate: required("feed_forward_length")?,
        layers: required("block_count")?,
        heads,
        kv_heads,
        head_dim,
        vocab,
        rope_theta: gguf.get_f64(&key("rope.freq_base")).unwrap_or(10_000.0) as f32,
        rms_eps: gguf.get_f64(&key("attention.layer_norm_rms_epsilon")).unwrap_or(1e-5) as f32,
        context_length: required("context_length")?,
        qkv_bias: gguf.tensor("blk.0.attn_q.bias").is_some(),
    };
    config.validate(path)?;
    Ok(config)
}

/// Weights of a Llama-family GGUF, dequantized exactly, with the Q/K permutation undone.
pub struct GgufWeights<'a> {
    gguf: &'a GgufFile,
    config: LlamaConfig,
    permuted: bool,
}

impl<'a> GgufWeights<'a> {
    /// Wraps `gguf`, whose config was read by [`config_from_gguf`].
    pub fn new(gguf: &'a GgufFile, config: &LlamaConfig) -> Self {
        let permuted = ARCHITECTURES.iter().any(|(name, permuted)| *name == config.architecture && *permuted);
        Self { gguf, config: config.clone(), permuted }
    }
}

/// Undoes llama.cpp's Q/K row permutation for `heads` heads of `head_dim` rows each: GGUF row
/// `h·d + 2j + t` holds Hugging Face row `h·d + t·d/2 + j`.
pub fn unpermute_rows(values: &[f32], heads: usize, head_dim: usize, cols: usize) -> Vec<f32> {
    move_rows(values, heads, head_dim, cols, |gguf, hf| (gguf, hf))
}

/// Applies llama.cpp's Q/K row permutation (what its converter writes); the inverse of
/// [`unpermute_rows`].
pub fn permute_rows(values: &[f32], heads: usize, head_dim: usize, cols: usize) -> Vec<f32> {
    move_rows(values, heads, head_dim, cols, |gguf, hf| (hf, gguf))
}

/// Copies every row pair between the two orders; `direction(gguf_row, hf_row)` returns
/// `(source, destination)`.
fn move_rows(
    values: &[f32],
    heads: usize,
    head_dim: usize,
    cols: usize,
    direction: impl Fn(usize, usize) -> (usize, usize),
) -> Vec<f32> {
    let half = head_dim / 2;
    let mut out = vec![0f32; values.len()];
    for h in 0..heads {
        for j in 0..half {
            for t in 0..2 {
                let (src, dst) = direction(h * head_dim + 2 * j + t, h * head_dim + t * half + j);
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

impl Weights for GgufWeights<'_> {
    fn get(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        if self.gguf.tensor(name).is_none() {
            return Err(ConvertError::malformed(self.gguf.path(), format!("tensor '{name}' is missing")));
        }
        let (shape, values) = self.gguf.dequantize(name)?;
        let heads = if name.ends_with(".attn_q.weight") || name.ends_with(".attn_q.bias") {
            Some(self.config.heads)
        } else if name.ends_with(".attn_k.weight") || name.ends_with(".attn_k.bias") {
            Some(self.config.kv_heads)
        } else {
            None
        };
        match heads {
            Some(heads) if self.permuted => {
                let rows = heads * self.config.head_dim;
                let cols = if shape.len() == 2 { shape[1] } else { 1 };
                if shape.first() != Some(&rows) || values.len() != rows * cols {
                    return Err(ConvertError::malformed(
                        self.gguf.path(),
                        format!(
                            "tensor '{name}' has shape {shape:?}, expected {rows} rows ({heads} heads of {})",
                            self.config.head_dim
                        ),
                    ));
                }
                Ok((shape, unpermute_rows(&values, heads, self.config.head_dim, cols)))
            }
            _ => Ok((shape, values)),
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.gguf.tensor(name).is_some()
    }

    fn source(&self) -> &Path {
        self.gguf.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // One head of size 4 over 1 column: HF rows [a, b | c, d] (halves) are stored by
        // llama.cpp as pairs [a, c, b, d].
        let gguf_rows = [1.0, 3.0, 2.0, 4.0];
        assert_eq!(unpermute_rows(&gguf_rows, 1, 4, 1), vec![1.0, 2.0, 3.0, 4.0]);
        // Two heads, two columns: each head is unpermuted on its own.
        let gguf_rows = [10.0, 11.0, 30.0, 31.0, 20.0, 21.0, 40.0, 41.0, 5.0, 6.0, 7.0, 8.0];
        let hf = unpermute_rows(&gguf_rows, 3, 2, 2);
        assert_eq!(hf, gguf_rows.to_vec(), "head size 2 has a single pair: nothing moves");
        let gguf_rows: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert_eq!(unpermute_rows(&gguf_rows, 2, 4, 1), vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
        let rows: Vec<f32> = (0..24).map(|v| v as f32).collect();
        assert_eq!(unpermute_rows(&permute_rows(&rows, 2, 6, 2), 2, 6, 2), rows);
    }
}
