//! A BERT checkpoint opened and checked before anything is built: its config, its
//! sentence-transformers pipeline, and every tensor's presence, dtype and shape.

use std::path::{Path, PathBuf};

use super::*;

/// A BERT checkpoint folder, opened and fully checked: config values, every tensor's presence,
/// dtype and shape. Building from it can then only fail on I/O.
#[derive(Debug)]
pub struct BertSource {
    pub(super) dir: PathBuf,
    pub(super) config_path: PathBuf,
    pub(super) config: BertConfig,
    pub(super) sentence_transformers: Option<SentenceTransformers>,
    pub(super) weights: SafeTensors,
    /// `""` for `BertModel` checkpoints, `"bert."` for ones saved from a task head.
    pub(super) prefix: &'static str,
}

impl BertSource {
    /// Opens and checks the checkpoint in `dir`.
    pub fn open(dir: &Path) -> Result<Self, ConvertError> {
        let config_path = dir.join(hf::CONFIG_FILE);
        let config = RawConfig::read(&config_path)?.bert(&config_path)?;
        if config.hidden_act != "gelu" {
            // BERT's "gelu" is the exact, erf-based one; tanh approximations are other models.
            return Err(ConvertError::unsupported(&config_path, format!("hidden_act '{}'", config.hidden_act)));
        }
        let sentence_transformers = SentenceTransformers::detect(dir)?;
        if let Some(st) = &sentence_transformers
            && st.pooling != Pooling::Mean
        {
            return Err(ConvertError::unsupported(
                dir.join("modules.json"),
                format!("pooling {:?}; only mean pooling is built", st.pooling),
            ));
        }
        let weights = SafeTensors::open(dir)?;
        let prefix = ["", "bert."]
            .into_iter()
            .find(|p| weights.contains(&format!("{p}embeddings.word_embeddings.weight")))
            .ok_or_else(|| {
                ConvertError::malformed(
                    weights.source(),
                    "tensor 'embeddings.word_embeddings.weight' is missing (also looked for \
                     'bert.embeddings.word_embeddings.weight')",
                )
            })?;
        let source = Self { dir: dir.to_path_buf(), config_path, config, sentence_transformers, weights, prefix };
        for (name, shape) in source.expected_tensors() {
            source.check_tensor(&name, &shape)?;
        }
        Ok(source)
    }

    /// The validated config.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The sentence-transformers settings, if the folder has them.
    pub fn sentence_transformers(&self) -> Option<&SentenceTransformers> {
        self.sentence_transformers.as_ref()
    }

    /// The longest input, in tokens: the sentence-transformers `max_seq_length` when given
    /// (models are trained and evaluated at it), never more than the position table.
    pub fn context_length(&self) -> usize {
        let trained = self.sentence_transformers.as_ref().and_then(|st| st.max_seq_length);
        trained.unwrap_or(self.config.max_position_embeddings).min(self.config.max_position_embeddings)
    }

    /// Sequence length of the static `npu` graph.
    pub fn npu_sequence(&self) -> usize {
        NPU_SEQUENCE.min(self.context_length())
    }

    /// Builds the ONNX model for `target` at `precision`, before encoding, so callers (and tests)
    /// can inspect its nodes and value infos.
    pub fn build(&self, target: Target, precision: QuantScheme) -> Result<Model, ConvertError> {
        check_precision(&self.dir, precision)?;
        BertGraph::new(self, target, precision).build()
    }

    /// Every tensor the graph reads, with the shape the config implies.
    pub(super) fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let c = &self.config;
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let mut out = vec![
            ("embeddings.word_embeddings.weight".to_owned(), vec![c.vocab_size, h]),
            ("embeddings.position_embeddings.weight".to_owned(), vec![c.max_position_embeddings, h]),
            ("embeddings.token_type_embeddings.weight".to_owned(), vec![c.type_vocab_size, h]),
            ("embeddings.LayerNorm.weight".to_owned(), vec![h]),
            ("embeddings.LayerNorm.bias".to_owned(), vec![h]),
        ];
        for layer in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{layer}.");
            for (name, shape) in [
                ("attention.self.query.weight", vec![h, h]),
                ("attention.self.query.bias", vec![h]),
                ("attention.self.key.weight", vec![h, h]),
                ("attention.self.key.bias", vec![h]),
                ("attention.self.value.weight", vec![h, h]),
                ("attention.self.value.bias", vec![h]),
                ("attention.output.dense.weight", vec![h, h]),
                ("attention.output.dense.bias", vec![h]),
                ("attention.output.LayerNorm.weight", vec![h]),
                ("attention.output.LayerNorm.bias", vec![h]),
                ("intermediate.dense.weight", vec![i, h]),
                ("intermediate.dense.bias", vec![i]),
                ("output.dense.weight", vec![h, i]),
                ("output.dense.bias", vec![h]),
                ("output.LayerNorm.weight", vec![h]),
                ("output.LayerNorm.bias", vec![h]),
            ] {
                out.push((format!("{p}{name}"), shape));
            }
        }
        out
    }

    /// The checkpoint's name for `name`: with the model prefix, and with the TF-era
    /// `gamma`/`beta` LayerNorm names that older checkpoints still carry.
    pub(super) fn resolve(&self, name: &str) -> String {
        let full = format!("{}{name}", self.prefix);
        if self.weights.contains(&full) {
            return full;
        }
        let legacy = full
            .strip_suffix("LayerNorm.weight")
            .map(|s| format!("{s}LayerNorm.gamma"))
            .or_else(|| full.strip_suffix("LayerNorm.bias").map(|s| format!("{s}LayerNorm.beta")));
        legacy.filter(|l| self.weights.contains(l)).unwrap_or(full)
    }

    pub(super) fn check_tensor(&self, name: &str, expected: &[usize]) -> Result<(), ConvertError> {
        let full = self.resolve(name);
        let (Some(shape), Some(dtype), Some(file)) =
            (self.weights.shape(&full), self.weights.dtype(&full), self.weights.file_of(&full))
        else {
            return Err(ConvertError::malformed(self.weights.source(), format!("tensor '{full}' is missing")));
        };
        if matches!(dtype, Dtype::Other(_)) {
            return Err(ConvertError::unsupported(
                file,
                format!("tensor '{full}' has dtype {dtype}; only F32, F16 and BF16 weights are converted"),
            ));
        }
        if shape != expected {
            return Err(ConvertError::malformed(
                file,
                format!("tensor '{full}' has shape {shape:?}, but {} implies {expected:?}", self.config_path.display()),
            ));
        }
        Ok(())
    }

    /// Reads a checked tensor as f32.
    pub(super) fn weight(&self, name: &str) -> Result<Vec<f32>, ConvertError> {
        Ok(self.weights.to_f32(&self.resolve(name))?.1)
    }
}
