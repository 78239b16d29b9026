//! Helpers for tests and benches (this crate's and its users'): a small seeded random source,
//! a word-level tokenizer, and embedders that need no model. Not part of the API.

use tokenizers::Tokenizer;

use crate::{EmbedPurpose, Embedder};

/// SplitMix64: fast, and its whole state is the seed, so a test or bench given the same seed
/// builds the same data on every run and platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), on a grid of 2^-24 so every value is exact in an `f32`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [0, 1), on a grid of 2^-53 so every value is exact in an `f64`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A vector of length `dim` uniform on the unit sphere: normal samples (Box-Muller, two per
    /// draw), normalized. Uniform on the sphere, unlike a normalized cube sample, so scores
    /// between such vectors spread as between unrelated real embeddings.
    pub fn unit_vector(&mut self, dim: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(dim + 1);
        while v.len() < dim {
            let radius = (-2.0 * self.next_f32_nonzero().ln()).sqrt();
            let (sin, cos) = (std::f32::consts::TAU * self.next_f32_nonzero()).sin_cos();
            v.extend([radius * cos, radius * sin]);
        }
        v.truncate(dim);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }

    /// Uniform in (0, 1]: Box-Muller takes the logarithm, which must not see 0.
    fn next_f32_nonzero(&mut self) -> f32 {
        ((self.next_u64() >> 40) + 1) as f32 / (1u64 << 24) as f32
    }
}

/// A word-level tokenizer with BERT-like special tokens, built in memory: every whitespace- or
/// punctuation-separated word is one token (all `[UNK]`), and `[CLS]` and `[SEP]` wrap a single
/// text, so token counts are easy to predict by hand.
///
/// # Panics
///
/// Never in practice: the JSON is a constant that `tokenizers` accepts, which this crate's tests
/// check on every run.
pub fn word_tokenizer() -> Tokenizer {
    const JSON: &str = r#"{
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}
            }
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}, "unk_token": "[UNK]"}
    }"#;
    Tokenizer::from_bytes(JSON.as_bytes()).expect("the constant word tokenizer JSON parses")
}

/// An [`Embedder`] without a model: `embed` maps each text through a closure, over
/// [`word_tokenizer`] with a limit of 256 tokens. Tests give it one fixed vector, so what they
/// check is which chunks a search may return; benches give it random vectors, so the model's
/// time is not what they measure.
pub struct FnEmbedder<F> {
    model_id: String,
    dim: usize,
    tokenizer: Tokenizer,
    embed: F,
}

impl<F: FnMut(&str) -> Vec<f32>> FnEmbedder<F> {
    /// An embedder the index knows as `model_id`, whose `embed` returns vectors of length `dim`
    /// (the closure must keep to it, and to unit length, as a model would).
    pub fn new(model_id: impl Into<String>, dim: usize, embed: F) -> Self {
        Self { model_id: model_id.into(), dim, tokenizer: word_tokenizer(), embed }
    }
}

impl<F: FnMut(&str) -> Vec<f32>> Embedder for FnEmbedder<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    fn max_tokens(&self) -> usize {
        256
    }
    fn model_id(&self) -> String {
        self.model_id.clone()
    }
    fn embed(&mut self, texts: &[&str], _: EmbedPurpose) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts.iter().map(|text| (self.embed)(text)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_tokenizer_counts_one_token_a_word_plus_two_specials() {
        let encoding = word_tokenizer().encode("one two, three", true).expect("encodes");
        assert_eq!(encoding.get_ids(), [1, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn unit_vectors_have_unit_length_and_repeat_by_seed() {
        let mut rng = Rng::new(3);
        for dim in [1, 7, 384] {
            let v = rng.unit_vector(dim);
            assert_eq!(v.len(), dim);
            assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert_eq!(Rng::new(5).unit_vector(16), Rng::new(5).unit_vector(16));
    }
}
