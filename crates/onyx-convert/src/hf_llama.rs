//! Llama-family models from Hugging Face folders (config.json + safetensors): hyper-parameters
//! and weights under the names [`crate::llama`] builds from. Hugging Face already stores Q/K in
//! rotate-half order, so no permutation is undone here.

use std::path::{Path, PathBuf};

use crate::ConvertError;
use crate::hf::RawConfig;
use crate::llama::{LlamaConfig, Weights};
use crate::safetensors::SafeTensors;

/// Reads `config.json` in `dir` into a [`LlamaConfig`].
pub fn config_from_hf(dir: &Path) -> Result<LlamaConfig, ConvertError> {
    let path = dir.join("config.json");
    let decoder = RawConfig::read(&path)?.decoder(&path)?;
    if let Some(scaling) = decoder.rope_scaling.as_ref().filter(|v| !v.is_null()) {
        // Llama 3.1's "llama3" scaling and YaRN change the rotary tables; building plain RoPE
        // for them would quietly produce a worse model.
        return Err(ConvertError::unsupported(&path, format!("rope_scaling {scaling}")));
    }
    let config = LlamaConfig {
        architecture: decoder.model_type.clone(),
        hidden: decoder.hidden_size,
        intermediate: decoder.intermediate_size,
        layers: decoder.num_hidden_layers,
        heads: decoder.num_attention_heads,
        kv_heads: decoder.num_key_value_heads,
        head_dim: decoder.head_dim,
        vocab: decoder.vocab_size,
        rope_theta: decoder.rope_theta as f32,
        rms_eps: decoder.rms_norm_eps as f32,
        context_length: decoder.max_position_embeddings,
        qkv_bias: decoder.model_type == "qwen2",
    };
    config.validate(&path)?;
    Ok(config)
}

/// Safetensors weights of a Hugging Face Llama-family checkpoint (single file or sharded).
pub struct SafetensorsWeights {
    tensors: SafeTensors,
    source: PathBuf,
}

impl SafetensorsWeights {
    /// Opens the checkpoint in `dir` (`model.safetensors`, or the shards of
    /// `model.safetensors.index.json`).
    pub fn open(dir: &Path) -> Result<Self, ConvertError> {
        let tensors = SafeTensors::open(dir)?;
        Ok(Self { source: tensors.source().to_path_buf(), tensors })
    }

    /// The Hugging Face name of a tensor Onyx knows under its GGUF name.
    pub fn hf_name(name: &str) -> Option<String> {
        let direct = match name {
            "token_embd.weight" => Some("model.embed_tokens.weight"),
            "output_norm.weight" => Some("model.norm.weight"),
            "output.weight" => Some("lm_head.weight"),
            _ => None,
        };
        if let Some(direct) = direct {
            return Some(direct.to_owned());
        }
        let rest = name.strip_prefix("blk.")?;
        let (layer, tensor) = rest.split_once('.')?;
        let (module, kind) = tensor.rsplit_once('.')?;
        let hf_module = match module {
            "attn_norm" => "input_layernorm",
            "attn_q" => "self_attn.q_proj",
            "attn_k" => "self_attn.k_proj",
            "attn_v" => "self_attn.v_proj",
            "attn_output" => "self_attn.o_proj",
            "ffn_norm" => "post_attention_layernorm",
            "ffn_gate" => "mlp.gate_proj",
            "ffn_up" => "mlp.up_proj",
            "ffn_down" => "mlp.down_proj",
            _ => return None,
        };
        Some(format!("model.layers.{layer}.{hf_module}.{kind}"))
    }
}

impl Weights for SafetensorsWeights {
    fn get(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        let hf = Self::hf_name(name)
            .filter(|hf| self.tensors.contains(hf))
            .ok_or_else(|| ConvertError::malformed(&self.source, format!("tensor '{name}' is missing")))?;
        self.tensors.to_f32(&hf)
    }

    fn contains(&self, name: &str) -> bool {
        Self::hf_name(name).is_some_and(|hf| self.tensors.contains(&hf))
    }

    fn source(&self) -> &Path {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_names_map_to_hugging_face_names() {
        assert_eq!(SafetensorsWeights::hf_name("token_embd.weight").as_deref(), Some("model.embed_tokens.weight"));
        assert_eq!(
            SafetensorsWeights::hf_name("blk.12.attn_q.bias").as_deref(),
            Some("model.layers.12.self_attn.q_proj.bias")
        );
        assert_eq!(
            SafetensorsWeights::hf_name("blk.0.ffn_down.weight").as_deref(),
            Some("model.layers.0.mlp.down_proj.weight")
        );
        assert_eq!(SafetensorsWeights::hf_name("blk.0.unknown.weight"), None);
    }
}
