//! Activation ranges of a Llama-family decoder, measured by running it in f32 on calibration
//! text: what the static 16-bit grids of the npu graphs ([`crate::qdq`]) are built from.
//!
//! The forward pass is plain Rust, kept independent of ONNX on purpose: it runs at conversion
//! time, where Onyx has no ONNX Runtime, and it computes what the npu graph computes (RMS norm,
//! rotate-half RoPE, grouped-query causal attention, SwiGLU, the output head) so the ranges are
//! those the graph will meet. It goes layer by layer over every calibration token at once, so
//! only one layer's weights are in memory, and each product is split across the CPU's cores.

use super::{LlamaConfig, Weights, fetch, rope_tables};
use crate::ConvertError;
use crate::qdq::Range;

/// The ranges at one layer's weight products: each product's input and its output (before any
/// bias).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerRanges {
    /// The attention norm's output: what Q, K and V read.
    pub attention_input: Range,
    /// The Q projection.
    pub q: Range,
    /// The K projection.
    pub k: Range,
    /// The V projection.
    pub v: Range,
    /// The merged attention context: what the output projection reads.
    pub context: Range,
    /// The attention output projection.
    pub attention_output: Range,
    /// The FFN norm's output: what the gate and up projections read.
    pub ffn_input: Range,
    /// The gate projection.
    pub gate: Range,
    /// The up projection.
    pub up: Range,
    /// `silu(gate) · up`, over the channels the down projection reads in w8a16 (all but
    /// [`LayerRanges::ffn_outliers`]).
    pub ffn_hidden: Range,
    /// The largest |value| of each `silu(gate) · up` channel.
    pub ffn_hidden_channels: Vec<f32>,
    /// The `silu(gate) · up` channels far wider than the rest, ascending; the npu graph
    /// multiplies them in float beside the w8a16 down projection (see [`outlier_channels`]).
    pub ffn_outliers: Vec<usize>,
    /// The down projection over the other channels.
    pub down: Range,
}

/// Every range an npu graph needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// One per decoder layer.
    pub layers: Vec<LayerRanges>,
    /// The final norm's output: what the output head reads.
    pub head_input: Range,
    /// The logits.
    pub logits: Range,
    /// How many tokens were measured.
    pub tokens: usize,
}

impl Calibration {
    fn new(layers: usize) -> Self {
        Self { layers: vec![LayerRanges::default(); layers], head_input: Range::EMPTY, logits: Range::EMPTY, tokens: 0 }
    }
}

/// Runs the model on `sequences` (token ids, each sequence attending only to itself) and returns
/// the ranges its products reached.
pub fn calibrate(
    config: &LlamaConfig,
    weights: &dyn Weights,
    sequences: &[Vec<u32>],
) -> Result<Calibration, ConvertError> {
    Ok(forward(config, weights, sequences, false)?.0)
}

/// Logits after every position of every sequence, `[sequence][position][vocab]`.
pub type SequenceLogits = Vec<Vec<Vec<f32>>>;

/// The forward pass: the ranges, and (when `keep_logits`) the logits.
pub fn forward(
    config: &LlamaConfig,
    weights: &dyn Weights,
    sequences: &[Vec<u32>],
    keep_logits: bool,
) -> Result<(Calibration, SequenceLogits), ConvertError> {
    config.validate(weights.source())?;
    let (hidden, hd) = (config.hidden, config.head_dim);
    let longest = sequences.iter().map(Vec::len).max().unwrap_or(0);
    if longest > config.context_length {
        return Err(ConvertError::malformed(
            weights.source(),
            format!(
                "a calibration text of {longest} tokens is longer than the model's context {}",
                config.context_length
            ),
        ));
    }
    if let Some(&id) = sequences.iter().flatten().find(|&&id| id as usize >= config.vocab) {
        return Err(ConvertError::malformed(
            weights.source(),
            format!("calibration token id {id} is outside the vocabulary of {}", config.vocab),
        ));
    }
    let positions: Vec<usize> = sequences.iter().flat_map(|s| 0..s.len()).collect();
    let tokens = positions.len();
    let mut ranges = Calibration::new(config.layers);
    ranges.tokens = tokens;

    let embed = fetch(weights, "token_embd.weight", &[config.vocab, hidden])?;
    let mut x: Vec<f32> = Vec::with_capacity(tokens * hidden);
    for &id in sequences.iter().flatten() {
        x.extend_from_slice(&embed[id as usize * hidden..(id as usize + 1) * hidden]);
    }
    let (cos, sin) = rope_tables(config, longest.max(1));
    let (q_dim, kv_dim) = (config.heads * hd, config.kv_heads * hd);

    for (layer, r) in ranges.layers.iter_mut().enumerate() {
        let name = |suffix: &str| format!("blk.{layer}.{suffix}");
        let normed = rms_norm(&x, &fetch(weights, &name("attn_norm.weight"), &[hidden])?, config.rms_eps);
        r.attention_input.observe(&normed);
        let project = |range: &mut Range, which: &str, n: usize| -> Result<Vec<f32>, ConvertError> {
            let mut out = matmul(&normed, &fetch(weights, &name(&format!("{which}.weight")), &[n, hidden])?, n);
            range.observe(&out);
            if config.qkv_bias {
                let bias = fetch(weights, &name(&format!("{which}.bias")), &[n])?;
                out.chunks_exact_mut(n).for_each(|row| row.iter_mut().zip(&bias).for_each(|(v, b)| *v += b));
            }
            Ok(out)
        };
        let mut q = project(&mut r.q, "attn_q", q_dim)?;
        let mut k = project(&mut r.k, "attn_k", kv_dim)?;
        let v = project(&mut r.v, "attn_v", kv_dim)?;
        for (row, &position) in positions.iter().enumerate() {
            rotate(&mut q[row * q_dim..(row + 1) * q_dim], &cos, &sin, position, hd);
            rotate(&mut k[row * kv_dim..(row + 1) * kv_dim], &cos, &sin, position, hd);
        }
        let context = attention(config, sequences, &q, &k, &v);
        r.context.observe(&context);
        let attended = matmul(&context, &fetch(weights, &name("attn_output.weight"), &[hidden, q_dim])?, hidden);
        r.attention_output.observe(&attended);
        x.iter_mut().zip(&attended).for_each(|(x, a)| *x += a);

        let normed = rms_norm(&x, &fetch(weights, &name("ffn_norm.weight"), &[hidden])?, config.rms_eps);
        r.ffn_input.observe(&normed);
        let n = config.intermediate;
        let gate = matmul(&normed, &fetch(weights, &name("ffn_gate.weight"), &[n, hidden])?, n);
        r.gate.observe(&gate);
        let up = matmul(&normed, &fetch(weights, &name("ffn_up.weight"), &[n, hidden])?, n);
        r.up.observe(&up);
        let activated: Vec<f32> = gate.iter().zip(&up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
        r.ffn_hidden_channels = vec![0.0; n];
        for row in activated.chunks_exact(n) {
            r.ffn_hidden_channels.iter_mut().zip(row).for_each(|(m, v)| *m = m.max(v.abs()));
        }
        r.ffn_outliers = outlier_channels(&r.ffn_hidden_channels);
        let down_weight = fetch(weights, &name("ffn_down.weight"), &[hidden, n])?;
        // The down projection in the graph's two parts: the ordinary channels (measured, for
        // their grid) plus the outliers.
        let mut regular = activated.clone();
        let mut outliers = vec![0f32; activated.len()];
        for (row, outlier_row) in regular.chunks_exact_mut(n).zip(outliers.chunks_exact_mut(n)) {
            for &c in &r.ffn_outliers {
                outlier_row[c] = std::mem::take(&mut row[c]);
            }
        }
        r.ffn_hidden.observe(&regular);
        let mut down = matmul(&regular, &down_weight, hidden);
        r.down.observe(&down);
        if !r.ffn_outliers.is_empty() {
            down.iter_mut().zip(matmul(&outliers, &down_weight, hidden)).for_each(|(d, o)| *d += o);
        }
        x.iter_mut().zip(&down).for_each(|(x, d)| *x += d);
    }

    let normed = rms_norm(&x, &fetch(weights, "output_norm.weight", &[hidden])?, config.rms_eps);
    ranges.head_input.observe(&normed);
    let head = if weights.contains("output.weight") {
        fetch(weights, "output.weight", &[config.vocab, hidden])?
    } else {
        embed
    };
    let logits = matmul(&normed, &head, config.vocab);
    ranges.logits.observe(&logits);
    let mut kept = Vec::new();
    if keep_logits {
        let mut rows = logits.chunks_exact(config.vocab).map(<[f32]>::to_vec);
        for sequence in sequences {
            kept.push(rows.by_ref().take(sequence.len()).collect());
        }
    }
    Ok((ranges, kept))
}

/// How many times the median channel's range makes a `silu(gate) · up` channel an outlier.
/// Decoders concentrate their "massive activations" in a handful of these channels (SmolLM2-135M:
/// up to 3,065 where the median channel stays near 2, in layers 11 and 28): on one shared 16-bit
/// grid they would leave ordinary values a step of 0.1, and the down projection's output a step
/// near 1.
const OUTLIER_FACTOR: f32 = 8.0;
/// At most this share (1/`OUTLIER_SHARE`) of a layer's channels run in float.
const OUTLIER_SHARE: usize = 64;

/// The channels whose range exceeds [`OUTLIER_FACTOR`] × the median channel's, widest first up
/// to the cap, returned ascending.
pub fn outlier_channels(ranges: &[f32]) -> Vec<usize> {
    let mut sorted = ranges.to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let mut wide: Vec<usize> = (0..ranges.len()).filter(|&c| ranges[c] > OUTLIER_FACTOR * median).collect();
    wide.sort_by(|&a, &b| ranges[b].total_cmp(&ranges[a]));
    wide.truncate(ranges.len() / OUTLIER_SHARE);
    wide.sort_unstable();
    wide
}

/// RMS norm of every `gamma.len()`-wide row.
fn rms_norm(x: &[f32], gamma: &[f32], eps: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(gamma.len().max(1)) {
        let mean_square = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
        let inverse = 1.0 / (mean_square + eps).sqrt();
        out.extend(row.iter().zip(gamma).map(|(v, g)| v * inverse * g));
    }
    out
}

/// Rotate-half RoPE of every head in `row` at `position`, from half-width tables.
fn rotate(row: &mut [f32], cos: &[f32], sin: &[f32], position: usize, head_dim: usize) {
    let half = head_dim / 2;
    let (cos, sin) = (&cos[position * half..(position + 1) * half], &sin[position * half..(position + 1) * half]);
    for head in row.chunks_exact_mut(head_dim) {
        let (low, high) = head.split_at_mut(half);
        for (((a, b), &c), &s) in low.iter_mut().zip(high.iter_mut()).zip(cos).zip(sin) {
            let (x, y) = (*a, *b);
            *a = x * c - y * s;
            *b = y * c + x * s;
        }
    }
}

/// Causal grouped-query attention within each sequence; returns the merged context `[tokens,
/// heads · head_dim]`.
fn attention(config: &LlamaConfig, sequences: &[Vec<u32>], q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let hd = config.head_dim;
    let (q_dim, kv_dim) = (config.heads * hd, config.kv_heads * hd);
    let group = config.heads / config.kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut context = vec![0f32; q.len()];
    let mut start = 0;
    let mut scores = Vec::new();
    for sequence in sequences {
        for i in 0..sequence.len() {
            let row = start + i;
            for head in 0..config.heads {
                let kv_head = head / group;
                let qh = &q[row * q_dim + head * hd..][..hd];
                scores.clear();
                scores.extend((start..=row).map(|j| {
                    let kj = &k[j * kv_dim + kv_head * hd..][..hd];
                    qh.iter().zip(kj).map(|(a, b)| a * scale * b).sum::<f32>()
                }));
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                scores.iter_mut().for_each(|s| *s = (*s - max).exp());
                let total: f32 = scores.iter().sum();
                let out = &mut context[row * q_dim + head * hd..][..hd];
                for (j, &w) in (start..=row).zip(&scores) {
                    let vj = &v[j * kv_dim + kv_head * hd..][..hd];
                    out.iter_mut().zip(vj).for_each(|(o, &v)| *o += w / total * v);
                }
            }
        }
        start += sequence.len();
    }
    context
}

/// `rows · Wᵀ` for `rows` `[tokens, k]` and `weight` `[n, k]` (PyTorch's layout), split by rows
/// across the CPU's cores. The weight is transposed once so the inner loop is a contiguous
/// multiply-add over outputs, which the compiler vectorizes; rows go in blocks of 8 that share
/// each weight row while it is in cache.
fn matmul(rows: &[f32], weight: &[f32], n: usize) -> Vec<f32> {
    const BLOCK: usize = 8;
    let k = weight.len().checked_div(n).unwrap_or(0).max(1);
    let tokens = rows.len() / k;
    let mut transposed = vec![0f32; weight.len()];
    for (o, row) in weight.chunks_exact(k).enumerate() {
        for (i, &w) in row.iter().enumerate() {
            transposed[i * n + o] = w;
        }
    }
    let mut out = vec![0f32; tokens * n];
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(tokens.div_ceil(BLOCK)).max(1);
    let per_thread = tokens.div_ceil(threads).div_ceil(BLOCK) * BLOCK;
    std::thread::scope(|scope| {
        for (input, output) in rows.chunks(per_thread.max(1) * k).zip(out.chunks_mut(per_thread.max(1) * n)) {
            let transposed = &transposed;
            scope.spawn(move || {
                for (block, acc) in input.chunks(BLOCK * k).zip(output.chunks_mut(BLOCK * n)) {
                    for (i, w) in transposed.chunks_exact(n).enumerate() {
                        for (row, acc) in block.chunks_exact(k).zip(acc.chunks_exact_mut(n)) {
                            let x = row[i];
                            acc.iter_mut().zip(w).for_each(|(a, &w)| *a += x * w);
                        }
                    }
                }
            });
        }
    });
    out
}

/// Conversations of the kind a chat model sees: a question, an explanation, code, numbers, a
/// list, another language. Their content matters little; the ranges are mostly a property of
/// the weights, but the first tokens of a prompt (where decoders park their largest
/// activations) and the chat template's control tokens must be among them.
const CONVERSATIONS: &[(&str, &str)] = &[
    (
        "What is the capital of France, and what is it known for?",
        "The capital of France is Paris. It is known for the Eiffel Tower, the Louvre museum, its cafés and \
         its long history as a centre of art, fashion and science.",
    ),
    (
        "Write a short Python function that returns the sum of the squares of a list of numbers.",
        "Here is one way:\n\n```python\ndef sum_of_squares(numbers):\n    return sum(n * n for n in numbers)\n```\n\n\
         For [1, 2, 3] it returns 14.",
    ),
    (
        "Summarize this: The committee approved the budget after a long debate about schools, roads and the \
         new hospital in the northern district. Spending rises 4.5% to 12.3 million euros in 2025.",
        "The committee approved a budget that raises spending by 4.5% to 12.3 million euros, after debating \
         schools, roads and a new hospital.",
    ),
    (
        "Give me three tips for sleeping better.",
        "1. Go to bed and get up at the same time every day.\n2. Keep the bedroom dark, quiet and cool.\n\
         3. Avoid caffeine and screens in the hour before sleep.",
    ),
    (
        "Wie spät ist es in Tokio, wenn es in Berlin 9 Uhr morgens ist?",
        "Tokio ist Berlin im Winter acht Stunden voraus, also ist es dort 17 Uhr.",
    ),
];

/// The system prompt of the calibration conversations.
const SYSTEM: &str = "You are a helpful assistant.";

/// Token ids of the calibration conversations, from the package's `tokenizer.json`: in the
/// ChatML template when the vocabulary has its control tokens, otherwise as plain text after
/// `bos`.
///
/// The ids come from a greedy longest match against the vocabulary (byte-level or
/// SentencePiece spelling), not from the real BPE merges: calibration needs realistic tokens,
/// not the exact split, and a converter that measures ranges should not need a tokenizer
/// library.
pub fn conversation_tokens(tokenizer_json: &std::path::Path, bos: Option<u32>) -> Result<Vec<Vec<u32>>, ConvertError> {
    let json: serde_json::Value = crate::hf::read_json(tokenizer_json)?;
    let Some(vocab) = json["model"]["vocab"].as_object() else {
        return Err(ConvertError::malformed(tokenizer_json, "model.vocab is not a token → id map"));
    };
    let mut ids: std::collections::HashMap<String, u32> =
        vocab.iter().filter_map(|(token, id)| Some((token.clone(), u32::try_from(id.as_u64()?).ok()?))).collect();
    let mut specials: Vec<(String, u32)> = json["added_tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["content"].as_str()?.to_owned(), u32::try_from(t["id"].as_u64()?).ok()?)))
        .collect();
    for (content, id) in &specials {
        ids.insert(content.clone(), *id);
    }
    // Longest first, so a control token is never split by a shorter one inside it.
    specials.sort_by_key(|(content, _)| std::cmp::Reverse(content.len()));
    let spelling =
        if ids.keys().any(|t| t.starts_with('\u{0120}')) { Spelling::ByteLevel } else { Spelling::Metaspace };
    let chatml = ids.contains_key("<|im_start|>") && ids.contains_key("<|im_end|>");
    let encoder = Encoder { ids, specials, spelling };
    Ok(CONVERSATIONS
        .iter()
        .map(|(question, answer)| {
            let text = if chatml {
                format!(
                    "<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n\
                     <|im_start|>assistant\n{answer}<|im_end|>\n"
                )
            } else {
                format!("{SYSTEM}\n\n{question}\n\n{answer}")
            };
            let mut tokens: Vec<u32> = if chatml { Vec::new() } else { bos.into_iter().collect() };
            tokens.extend(encoder.encode(&text));
            tokens
        })
        .collect())
}

/// How a vocabulary spells text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spelling {
    /// GPT-2's byte-to-character map (`Ġ` for a space).
    ByteLevel,
    /// SentencePiece's `▁` for a space, with one in front.
    Metaspace,
}

struct Encoder {
    ids: std::collections::HashMap<String, u32>,
    specials: Vec<(String, u32)>,
    spelling: Spelling,
}

impl Encoder {
    fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|at| (at, s, *id)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, special, id)) => {
                    out.extend(self.greedy(&rest[..at]));
                    out.push(id);
                    rest = &rest[at + special.len()..];
                }
                None => {
                    out.extend(self.greedy(rest));
                    rest = "";
                }
            }
        }
        out
    }

    /// Longest vocabulary entry first, at most 24 characters; a character the vocabulary lacks is
    /// skipped.
    fn greedy(&self, text: &str) -> Vec<u32> {
        let spelled: Vec<char> = match self.spelling {
            Spelling::ByteLevel => text.bytes().map(byte_char).collect(),
            Spelling::Metaspace if text.is_empty() => Vec::new(),
            Spelling::Metaspace => {
                std::iter::once('\u{2581}').chain(text.chars().map(|c| if c == ' ' { '\u{2581}' } else { c })).collect()
            }
        };
        let mut out = Vec::new();
        let mut start = 0;
        while start < spelled.len() {
            let found = (start + 1..=spelled.len().min(start + 24)).rev().find_map(|end| {
                let piece: String = spelled[start..end].iter().collect();
                self.ids.get(&piece).map(|&id| (id, end))
            });
            match found {
                Some((id, end)) => {
                    out.push(id);
                    start = end;
                }
                None => start += 1,
            }
        }
        out
    }
}

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 bytes
/// for the characters from U+0100 on, in byte order.
fn byte_char(byte: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(byte) {
        return char::from(byte);
    }
    let index = (0..byte).filter(|&b| !printable(b)).count() as u32;
    char::from_u32(0x100 + index).unwrap_or('?')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiny;

    /// The forward pass agrees with the token-by-token reference in `tiny`, an independent
    /// implementation, on two sequences run together (each must attend only to itself).
    #[test]
    fn the_forward_pass_matches_the_reference_decoder() {
        let config = tiny::tiny_config(true);
        let weights = tiny::tiny_weights(&config, 3);
        let sequences = vec![vec![1, 5, 9, 2, 7], vec![3, 3, 8]];
        let (ranges, logits) = forward(&config, &weights, &sequences, true).expect("forward");
        assert_eq!(ranges.tokens, 8);
        for (sequence, got) in sequences.iter().zip(&logits) {
            let want = tiny::reference_logits(&config, &weights, sequence).expect("reference");
            assert_eq!(got.len(), want.len());
            for (position, (g, w)) in got.iter().zip(&want).enumerate() {
                let worst = g.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(worst < 1e-4, "sequence {sequence:?} position {position}: |Δ| {worst}");
            }
        }
        let all: Vec<f32> = logits.iter().flatten().flatten().copied().collect();
        let mut expected = Range::EMPTY;
        expected.observe(&all);
        assert_eq!(ranges.logits, expected);
        assert!(ranges.layers.iter().all(|l| l.down.min < l.down.max && l.q.min < l.q.max), "{ranges:?}");
    }

    #[test]
    fn byte_level_spelling_follows_gpt2() {
        assert_eq!(byte_char(b'a'), 'a');
        assert_eq!(byte_char(b' '), '\u{0120}');
        assert_eq!(byte_char(b'\n'), '\u{010A}');
        assert_eq!(byte_char(0), '\u{0100}');
    }

    #[test]
    fn conversations_are_encoded_with_the_template_and_the_longest_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokenizer.json");
        let vocab =
            serde_json::json!({"Hi": 0, "\u{0120}there": 1, "H": 2, "i": 3, "\u{0120}": 4, "t": 5, "\u{010A}": 6});
        let json = serde_json::json!({
            "model": {"vocab": vocab},
            "added_tokens": [{"id": 7, "content": "<|im_start|>"}, {"id": 8, "content": "<|im_end|>"}],
        });
        std::fs::write(&path, json.to_string()).expect("write");
        let tokens = conversation_tokens(&path, None).expect("tokens");
        assert_eq!(tokens.len(), CONVERSATIONS.len());
        assert!(tokens.iter().all(|t| t.first() == Some(&7) && t.contains(&8) && t.contains(&6)), "{tokens:?}");
        let encoder = Encoder {
            ids: vocab
                .as_object()
                .expect("map")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("id") as u32))
                .collect(),
            specials: vec![("<|im_end|>".into(), 8)],
            spelling: Spelling::ByteLevel,
        };
        assert_eq!(encoder.encode("Hi there<|im_end|>Hi"), [0, 1, 8, 0]);
    }

    #[test]
    fn an_id_outside_the_vocabulary_is_refused_naming_it() {
        let config = tiny::tiny_config(false);
        let weights = tiny::tiny_weights(&config, 3);
        let err = calibrate(&config, &weights, &[vec![1, config.vocab as u32]]).expect_err("out of range");
        assert!(err.to_string().contains(&format!("token id {}", config.vocab)), "{err}");
    }
}
