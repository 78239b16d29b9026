//! Activation ranges of a BERT checkpoint, measured by running it in fp32 on a few sentences.
//!
//! The int8 cpu graph quantizes activations per tensor at run time, so one channel whose values
//! reach 20× the others' costs every other channel most of its 8 bits. BERT models have such
//! channels, in the same places whatever the text (all-MiniLM-L6-v2: residual channels 62 and 99,
//! a few FFN channels per layer), so a handful of sentences is enough to find them. The graph
//! builder then scales them down or keeps them out of the int8 products.
//!
//! The same pass also records, for each product, the smallest and largest value of its input
//! and output: the static 16-bit grids of the w8a16 npu graph ([`crate::qdq`]) are made from
//! them.
//!
//! The forward pass here is plain loops, kept independent of ONNX on purpose: it runs at
//! conversion time, in pure Rust, and only its per-channel maxima are used.

use std::collections::HashMap;

use super::BertSource;
use crate::ConvertError;
use crate::hf;
use crate::qdq::Range;

/// Sentences of the kind the model embeds: prose, a question, instructions, a title-like line,
/// numbers and technical words. Their content matters little; the outlier channels are a
/// property of the weights.
const TEXTS: &[&str] = &[
    "Onyx runs language models and sentence embeddings on laptops, using the CPU, a GPU or a neural \
     processing unit when one is present.",
    "The committee approved the budget after a long debate about schools, roads and the new hospital in \
     the northern district.",
    "She opened the window, listened to the rain on the roof and decided to finish the letter to her \
     brother before dinner.",
    "To install the package, download the archive, verify its checksum and run the setup script from a \
     terminal.",
    "Why does my computer get so slow when many programs are open at the same time?",
    "Quarterly report: revenue grew 12% to 4.3 million euros in 2023.",
    "the quick brown fox jumps over the lazy dog",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The river rises in the hills north of the town, where spring snow melts \
     into a dozen small streams. It runs south through farmland and forest, past the old mill and the \
     stone bridge built in the eighteenth century, before it widens into the harbour. Fishing boats, \
     ferries and a few cargo ships share the water there, and in summer the quays fill with visitors \
     who come for the markets, the museums and the evening concerts by the lighthouse.",
];

/// Longest calibration input, in tokens (the longest text above has about 100).
const MAX_TOKENS: usize = 128;

/// The largest |value| each channel reached, at the four inputs of a layer's matrix products.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LayerRanges {
    /// The layer input (what Q, K and V read), `[hidden]`.
    pub attention_input: Vec<f32>,
    /// The attention context (what the output projection reads), `[hidden]`.
    pub context: Vec<f32>,
    /// The feed-forward input (what the up projection reads), `[hidden]`.
    pub ffn_input: Vec<f32>,
    /// The GELU output (what the down projection reads), `[intermediate]`.
    pub ffn_hidden: Vec<f32>,
    /// Value ranges at the layer's products, for the npu graph's activation grids.
    pub grids: Grids,
}

/// The smallest and largest values at each product of a layer: its input and its output
/// (before the bias, which the npu graph adds in float).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Grids {
    pub attention_input: Range,
    pub q: Range,
    pub k: Range,
    pub v: Range,
    pub context: Range,
    pub attention_output: Range,
    pub ffn_input: Range,
    pub up: Range,
    pub ffn_hidden: Range,
    pub down: Range,
}

impl LayerRanges {
    fn new(hidden: usize, intermediate: usize) -> Self {
        Self {
            attention_input: vec![0.0; hidden],
            context: vec![0.0; hidden],
            ffn_input: vec![0.0; hidden],
            ffn_hidden: vec![0.0; intermediate],
            grids: Grids::default(),
        }
    }
}

/// Runs the checkpoint on the calibration sentences; returns one [`LayerRanges`] per layer.
///
/// The sentences run as one batch padded to the longest, padding masked out of attention as in
/// the graph. Padding rows still flow through every product, so at run time their activations
/// share the int8 range with the real tokens': calibration must see them too (without them, the
/// shortest golden text lost 0.003 of cosine).
pub(super) fn measure(source: &BertSource) -> Result<Vec<LayerRanges>, ConvertError> {
    let model = Model::load(source)?;
    let vocabulary = Vocabulary::read(&source.dir.join("tokenizer.json"))?;
    let limit = MAX_TOKENS.min(source.context_length());
    let texts: Vec<Vec<u32>> = TEXTS
        .iter()
        .map(|text| {
            let mut ids = vocabulary.encode(text);
            ids.truncate(limit);
            ids
        })
        .collect();
    let length = texts.iter().map(Vec::len).max().unwrap_or(0);
    let c = &source.config;
    let mut ranges = vec![LayerRanges::new(c.hidden_size, c.intermediate_size); c.num_hidden_layers];
    for ids in &texts {
        let mut padded = ids.clone();
        padded.resize(length, vocabulary.padding);
        model.run(&padded, ids.len(), &mut ranges);
    }
    Ok(ranges)
}

/// Enough of a `tokenizer.json` to turn the calibration sentences into ids: the vocabulary and
/// WordPiece's greedy longest match. Exact agreement with the real tokenizer is not needed.
struct Vocabulary {
    ids: HashMap<String, u32>,
    unknown: u32,
    padding: u32,
    lowercase: bool,
    first: Option<u32>,
    last: Option<u32>,
}

impl Vocabulary {
    fn read(path: &std::path::Path) -> Result<Self, ConvertError> {
        let json: serde_json::Value = hf::read_json(path)?;
        let Some(vocab) = json["model"]["vocab"].as_object() else {
            return Err(ConvertError::malformed(path, "model.vocab is not a token → id map"));
        };
        let ids: HashMap<String, u32> =
            vocab.iter().filter_map(|(token, id)| Some((token.clone(), u32::try_from(id.as_u64()?).ok()?))).collect();
        let unk_name = json["model"]["unk_token"].as_str().unwrap_or("[UNK]");
        let unknown = ids.get(unk_name).copied().unwrap_or(0);
        let padding = ids.get("[PAD]").copied().unwrap_or(0);
        let lowercase = json["normalizer"]["lowercase"].as_bool().unwrap_or(false);
        let first = ids.get("[CLS]").copied();
        let last = ids.get("[SEP]").copied();
        Ok(Self { ids, unknown, padding, lowercase, first, last })
    }

    fn encode(&self, text: &str) -> Vec<u32> {
        let text = if self.lowercase { text.to_lowercase() } else { text.to_owned() };
        let mut out: Vec<u32> = self.first.into_iter().collect();
        for word in words(&text) {
            out.extend(self.word_pieces(word));
        }
        out.extend(self.last);
        out
    }

    /// Greedy longest-match-first, continuation pieces prefixed `##`, as WordPiece does.
    fn word_pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<char> = word.chars().collect();
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let found = (start + 1..=chars.len()).rev().find_map(|end| {
                let piece: String = chars[start..end].iter().collect();
                let key = if start == 0 { piece } else { format!("##{piece}") };
                self.ids.get(&key).map(|&id| (id, end))
            });
            match found {
                Some((id, end)) => {
                    pieces.push(id);
                    start = end;
                }
                None => return vec![self.unknown],
            }
        }
        pieces
    }
}

/// Splits on whitespace and makes every punctuation mark its own word, as BERT's pre-tokenizer does.
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        let mut start = 0;
        for (i, ch) in chunk.char_indices() {
            if ch.is_ascii_punctuation() {
                if start < i {
                    out.push(&chunk[start..i]);
                }
                out.push(&chunk[i..i + ch.len_utf8()]);
                start = i + ch.len_utf8();
            }
        }
        if start < chunk.len() {
            out.push(&chunk[start..]);
        }
    }
    out
}

/// One linear layer, weight `[in, out]` row-major.
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Linear {
    fn load(source: &BertSource, prefix: &str) -> Result<Self, ConvertError> {
        let weight = source.weight(&format!("{prefix}.weight"))?;
        let bias = source.weight(&format!("{prefix}.bias"))?;
        let (outputs, inputs) = (bias.len(), weight.len() / bias.len().max(1));
        let mut transposed = vec![0.0; weight.len()];
        for (o, row) in weight.chunks_exact(inputs.max(1)).enumerate() {
            for (i, &w) in row.iter().enumerate() {
                if let Some(slot) = transposed.get_mut(i * outputs + o) {
                    *slot = w;
                }
            }
        }
        Ok(Self { weight: transposed, bias })
    }

    /// `rows · W + b`, and the range of `rows · W` observed into `range`.
    fn apply_observed(&self, rows: &[f32], range: &mut Range) -> Vec<f32> {
        let out = self.apply(rows);
        let width = self.bias.len().max(1);
        for row in out.chunks_exact(width) {
            let product: Vec<f32> = row.iter().zip(&self.bias).map(|(v, b)| v - b).collect();
            range.observe(&product);
        }
        out
    }

    /// `rows · W + b` for `rows` of width `in`. Rows go in blocks that share each weight row
    /// while it is in cache: row by row, the matrix would stream from memory once per token.
    fn apply(&self, rows: &[f32]) -> Vec<f32> {
        const BLOCK: usize = 8;
        let outputs = self.bias.len().max(1);
        let inputs = (self.weight.len() / outputs).max(1);
        let count = rows.len() / inputs;
        let mut out: Vec<f32> = self.bias.iter().copied().cycle().take(count * outputs).collect();
        for (block, acc) in rows.chunks(BLOCK * inputs).zip(out.chunks_mut(BLOCK * outputs)) {
            for (i, w) in self.weight.chunks_exact(outputs).enumerate() {
                for (row, acc) in block.chunks_exact(inputs).zip(acc.chunks_exact_mut(outputs)) {
                    let x = row[i];
                    acc.iter_mut().zip(w).for_each(|(a, &w)| *a += x * w);
                }
            }
        }
        out
    }
}

struct LayerNorm {
    scale: Vec<f32>,
    bias: Vec<f32>,
    epsilon: f32,
}

impl LayerNorm {
    fn load(source: &BertSource, prefix: &str) -> Result<Self, ConvertError> {
        Ok(Self {
            scale: source.weight(&format!("{prefix}.weight"))?,
            bias: source.weight(&format!("{prefix}.bias"))?,
            epsilon: source.config.layer_norm_eps as f32,
        })
    }

    fn apply(&self, rows: &mut [f32]) {
        let width = self.scale.len().max(1);
        for row in rows.chunks_exact_mut(width) {
            let mean = row.iter().sum::<f32>() / width as f32;
            let variance = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / width as f32;
            let inverse = 1.0 / (variance + self.epsilon).sqrt();
            for ((x, s), b) in row.iter_mut().zip(&self.scale).zip(&self.bias) {
                *x = (*x - mean) * inverse * s + b;
            }
        }
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    attention_norm: LayerNorm,
    up: Linear,
    down: Linear,
    output_norm: LayerNorm,
}

struct Model {
    words: Vec<f32>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
}

impl Model {
    fn load(source: &BertSource) -> Result<Self, ConvertError> {
        let c = &source.config;
        let layers = (0..c.num_hidden_layers)
            .map(|layer| {
                let p = format!("encoder.layer.{layer}.");
                Ok(Layer {
                    query: Linear::load(source, &format!("{p}attention.self.query"))?,
                    key: Linear::load(source, &format!("{p}attention.self.key"))?,
                    value: Linear::load(source, &format!("{p}attention.self.value"))?,
                    output: Linear::load(source, &format!("{p}attention.output.dense"))?,
                    attention_norm: LayerNorm::load(source, &format!("{p}attention.output.LayerNorm"))?,
                    up: Linear::load(source, &format!("{p}intermediate.dense"))?,
                    down: Linear::load(source, &format!("{p}output.dense"))?,
                    output_norm: LayerNorm::load(source, &format!("{p}output.LayerNorm"))?,
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(Self {
            words: source.weight("embeddings.word_embeddings.weight")?,
            positions: source.weight("embeddings.position_embeddings.weight")?,
            // Single texts have token type 0 everywhere.
            token_type: source
                .weight("embeddings.token_type_embeddings.weight")?
                .into_iter()
                .take(c.hidden_size)
                .collect(),
            embedding_norm: LayerNorm::load(source, "embeddings.LayerNorm")?,
            layers,
            hidden: c.hidden_size,
            heads: c.num_attention_heads,
        })
    }

    /// One text through the encoder, raising `ranges` to what its activations reach. Tokens from
    /// `real` on are padding: no token attends to them, but they are computed (and measured).
    fn run(&self, ids: &[u32], real: usize, ranges: &mut [LayerRanges]) {
        let (hidden, tokens) = (self.hidden, ids.len());
        let mut x = Vec::with_capacity(tokens * hidden);
        for (position, &id) in ids.iter().enumerate() {
            let word = self.words.get(id as usize * hidden..(id as usize + 1) * hidden).unwrap_or_default();
            let place = self.positions.get(position * hidden..(position + 1) * hidden).unwrap_or_default();
            x.extend((0..hidden).map(|i| {
                let part = |table: &[f32]| table.get(i).copied().unwrap_or(0.0);
                part(word) + part(place) + part(&self.token_type)
            }));
        }
        self.embedding_norm.apply(&mut x);
        for (layer, range) in self.layers.iter().zip(ranges) {
            let grids = &mut range.grids;
            raise(&mut range.attention_input, &x);
            grids.attention_input.observe(&x);
            let context = self.attention(layer, &x, tokens, real, grids);
            raise(&mut range.context, &context);
            grids.context.observe(&context);
            let attended = layer.output.apply_observed(&context, &mut grids.attention_output);
            let mut x1: Vec<f32> = attended.iter().zip(&x).map(|(a, b)| a + b).collect();
            layer.attention_norm.apply(&mut x1);
            raise(&mut range.ffn_input, &x1);
            grids.ffn_input.observe(&x1);
            let activated: Vec<f32> = layer.up.apply_observed(&x1, &mut grids.up).into_iter().map(gelu).collect();
            raise(&mut range.ffn_hidden, &activated);
            grids.ffn_hidden.observe(&activated);
            let lowered = layer.down.apply_observed(&activated, &mut grids.down);
            x = lowered.iter().zip(&x1).map(|(a, b)| a + b).collect();
            layer.output_norm.apply(&mut x);
        }
    }

    /// Multi-head self-attention over the first `real` tokens' keys; returns the merged context
    /// `[tokens, hidden]`.
    fn attention(&self, layer: &Layer, x: &[f32], tokens: usize, real: usize, grids: &mut Grids) -> Vec<f32> {
        let hidden = self.hidden;
        let head_dim = hidden / self.heads.max(1);
        let q = layer.query.apply_observed(x, &mut grids.q);
        let k = layer.key.apply_observed(x, &mut grids.k);
        let v = layer.value.apply_observed(x, &mut grids.v);
        let scale = 1.0 / (head_dim as f32).sqrt();
        let mut context = vec![0.0; tokens * hidden];
        let mut weights = vec![0.0; real.min(tokens)];
        for head in 0..self.heads {
            let span = head * head_dim..(head + 1) * head_dim;
            for i in 0..tokens {
                let qi = &q[i * hidden..][span.clone()];
                for (j, w) in weights.iter_mut().enumerate() {
                    let kj = &k[j * hidden..][span.clone()];
                    *w = qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
                }
                let max = weights.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                weights.iter_mut().for_each(|w| *w = (*w - max).exp());
                let total: f32 = weights.iter().sum();
                let out = &mut context[i * hidden..][span.clone()];
                for (j, &w) in weights.iter().enumerate() {
                    let vj = &v[j * hidden..][span.clone()];
                    out.iter_mut().zip(vj).for_each(|(o, &v)| *o += w / total * v);
                }
            }
        }
        context
    }
}

/// Exact GELU, with erf from Abramowitz–Stegun 7.1.26 (error below 1.5e-7, far below what
/// channel maxima need).
fn gelu(x: f32) -> f32 {
    let z = f64::from(x) / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = (1.0 - poly * (-z * z).exp()).copysign(z);
    (0.5 * f64::from(x) * (1.0 + erf)) as f32
}

/// `range[c] = max(range[c], |row[c]|)` over every row of `values`.
fn raise(range: &mut [f32], values: &[f32]) {
    for row in values.chunks_exact(range.len().max(1)) {
        range.iter_mut().zip(row).for_each(|(m, &v)| *m = m.max(v.abs()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_punctuation_off() {
        assert_eq!(words("Hello, world: 4.3 (ok)"), ["Hello", ",", "world", ":", "4", ".", "3", "(", "ok", ")"]);
    }

    #[test]
    fn gelu_matches_known_values() {
        for (x, expected) in [(0.0, 0.0), (1.0, 0.841_344_7), (-1.0, -0.158_655_3), (3.0, 2.995_950_2)] {
            assert!((gelu(x) - expected).abs() < 1e-6, "gelu({x}) = {} not {expected}", gelu(x));
        }
    }

    #[test]
    fn word_pieces_take_the_longest_match_first() {
        let ids: HashMap<String, u32> =
            [("[UNK]", 0), ("play", 1), ("##ing", 2), ("##in", 3), ("p", 4)].map(|(t, i)| (t.to_owned(), i)).into();
        let vocabulary = Vocabulary { ids, unknown: 0, padding: 0, lowercase: true, first: None, last: None };
        assert_eq!(vocabulary.word_pieces("playing"), [1, 2]);
        assert_eq!(vocabulary.word_pieces("pxyz"), [0], "a word with no split is unknown as a whole");
        assert_eq!(vocabulary.encode("Playing play"), [1, 2, 1]);
    }
}
