//! Tokenizer export: from a GGUF file's `tokenizer.*` metadata to the `tokenizer.json` and
//! `tokenizer_config.json` that Hugging Face's `tokenizers` crate and `transformers` load.
//!
//! GGUF stores a vocabulary, not a tokenizer: token strings, types and scores, BPE merges, and a
//! *label* (`tokenizer.ggml.pre`) naming the pre-tokenizer that llama.cpp re-implements for that
//! model family. This module turns the label back into the pipeline the model's own
//! `tokenizer.json` declared, so that encoding matches the reference implementation exactly:
//!
//! - `tokenizer.ggml.model == "gpt2"`: byte-level BPE with the stored merges, and the
//!   pre-tokenizer regex chosen by `tokenizer.ggml.pre`.
//! - `tokenizer.ggml.model == "llama"`: a SentencePiece BPE vocabulary (scores, `▁` for spaces,
//!   `<0xNN>` byte-fallback tokens). It becomes a `tokenizers` BPE model whose merges are derived
//!   from the scores the way `transformers`' `SentencePieceExtractor` does it.
//!
//! Control and user-defined tokens become added tokens, so they are matched before the model
//! ever sees the text (that is how `<|im_start|>` in a chat template stays one token).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::ConvertError;
use crate::gguf::{GgufFile, MetaValue};

/// ggml's token types (`llama_token_type` / `gguf.TokenType`).
const TOKEN_TYPE_NORMAL: i32 = 1;
const TOKEN_TYPE_UNKNOWN: i32 = 2;
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// SentencePiece's stand-in for a space.
const METASPACE: &str = "\u{2581}";

/// The pre-tokenizer regexes exactly as the models' own `tokenizer.json` files declare them
/// (llama.cpp keeps these as comments above its hand-rewritten versions).
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_REGEX: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// What the engine needs to know about the exported tokenizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenizerInfo {
    /// Beginning-of-sequence token, if the vocabulary has one.
    pub bos_token_id: Option<u32>,
    /// Tokens that end generation: `eos`, then `eot` and `eom` where the file names them.
    pub eos_token_ids: Vec<u32>,
    /// Padding token, if any.
    pub pad_token_id: Option<u32>,
    /// The Jinja chat template (`tokenizer.chat_template`).
    pub chat_template: Option<String>,
    /// Number of tokens in the vocabulary.
    pub vocab_size: usize,
}

/// The two exported files as JSON text, plus the summary.
#[derive(Clone, Debug)]
pub struct TokenizerFiles {
    /// Contents of `tokenizer.json`.
    pub tokenizer_json: String,
    /// Contents of `tokenizer_config.json`.
    pub tokenizer_config_json: String,
    /// What the engine needs to know.
    pub info: TokenizerInfo,
}

/// Writes `tokenizer.json` and `tokenizer_config.json` for `gguf`'s vocabulary into `out_dir`
/// (created if missing).
pub fn export_tokenizer(gguf: &GgufFile, out_dir: &Path) -> Result<TokenizerInfo, ConvertError> {
    let files = build_tokenizer(gguf)?;
    std::fs::create_dir_all(out_dir).map_err(|source| ConvertError::Write { path: out_dir.to_owned(), source })?;
    for (name, text) in
        [("tokenizer.json", &files.tokenizer_json), ("tokenizer_config.json", &files.tokenizer_config_json)]
    {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|source| ConvertError::Write { path, source })?;
    }
    Ok(files.info)
}

/// Builds the two files in memory without writing them.
pub fn build_tokenizer(gguf: &GgufFile) -> Result<TokenizerFiles, ConvertError> {
    let vocab = Vocab::read(gguf)?;
    let model =
        gguf.get_str("tokenizer.ggml.model").ok_or_else(|| malformed(gguf, "tokenizer.ggml.model is missing"))?;
    let pipeline = match model {
        "gpt2" => byte_level_pipeline(gguf, &vocab)?,
        "llama" => sentencepiece_pipeline(gguf, &vocab)?,
        other => {
            return Err(ConvertError::unsupported(
                gguf.path(),
                format!("tokenizer model '{other}' (Onyx exports 'gpt2' byte-level BPE and 'llama' SentencePiece)"),
            ));
        }
    };

    let added_tokens = vocab.added_tokens();
    let post_processor = match template_processor(&vocab, pipeline.add_bos, pipeline.add_eos) {
        Some(template) if pipeline.byte_level => {
            json!({"type": "Sequence", "processors": [byte_level_post_processor(), template]})
        }
        Some(template) => template,
        None if pipeline.byte_level => byte_level_post_processor(),
        None => Value::Null,
    };
    let chat_template = gguf.get_str("tokenizer.chat_template").map(str::to_owned);
    let mut eos_token_ids = Vec::new();
    for id in [vocab.specials.eos, vocab.specials.eot, vocab.specials.eom].into_iter().flatten() {
        if !eos_token_ids.contains(&id) {
            eos_token_ids.push(id);
        }
    }
    let info = TokenizerInfo {
        bos_token_id: vocab.specials.bos,
        eos_token_ids,
        pad_token_id: vocab.specials.pad,
        chat_template,
        vocab_size: vocab.tokens.len(),
    };
    let tokenizer_config_json = tokenizer_config(gguf, &vocab, &added_tokens, &pipeline, &info)?;
    let tokenizer = TokenizerJson {
        version: "1.0",
        truncation: None,
        padding: None,
        added_tokens: &added_tokens,
        normalizer: pipeline.normalizer,
        pre_tokenizer: pipeline.pre_tokenizer,
        post_processor,
        decoder: pipeline.decoder,
        model: BpeModel {
            kind: "BPE",
            dropout: None,
            unk_token: vocab.specials.unk.and_then(|id| vocab.token(id)),
            continuing_subword_prefix: None,
            end_of_word_suffix: None,
            fuse_unk: pipeline.fuse_unk,
            byte_fallback: pipeline.byte_fallback,
            ignore_merges: pipeline.ignore_merges,
            vocab: OrderedVocab(&vocab),
            merges: pipeline.merges,
        },
    };
    let tokenizer_json = serde_json::to_string_pretty(&tokenizer)
        .map_err(|err| malformed(gguf, format!("cannot serialize tokenizer.json: {err}")))?;

    Ok(TokenizerFiles { tokenizer_json, tokenizer_config_json, info })
}

fn malformed(gguf: &GgufFile, problem: impl Into<String>) -> ConvertError {
    ConvertError::malformed(gguf.path(), problem)
}

/// Ids of the tokens with a role, from `tokenizer.ggml.*_token_id`.
#[derive(Clone, Copy, Debug, Default)]
struct SpecialIds {
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    eom: Option<u32>,
    unk: Option<u32>,
    pad: Option<u32>,
}

/// The vocabulary as stored in the GGUF file.
struct Vocab<'a> {
    tokens: Vec<&'a str>,
    types: Vec<i32>,
    /// Empty when the file has no scores.
    scores: Vec<f32>,
    /// The first id of each token string (a few vocabularies repeat a string; later copies are
    /// unreachable by encoding either way).
    ids: HashMap<&'a str, u32>,
    specials: SpecialIds,
}

impl<'a> Vocab<'a> {
    fn read(gguf: &'a GgufFile) -> Result<Self, ConvertError> {
        let tokens = string_array(gguf, "tokenizer.ggml.tokens")?
            .ok_or_else(|| malformed(gguf, "tokenizer.ggml.tokens is missing"))?;
        if u32::try_from(tokens.len()).is_err() {
            return Err(malformed(
                gguf,
                format!("tokenizer.ggml.tokens has {} entries, more than u32 ids allow", tokens.len()),
            ));
        }
        let types = match typed_array(gguf, "tokenizer.ggml.token_type", "an integer", |v| {
            v.as_i64().and_then(|v| i32::try_from(v).ok())
        })? {
            Some(types) => types,
            None => vec![TOKEN_TYPE_NORMAL; tokens.len()],
        };
        let scores = typed_array(gguf, "tokenizer.ggml.scores", "a number", |v| match *v {
            MetaValue::F32(x) => Some(x),
            #[allow(clippy::cast_possible_truncation)] // f64 scores are narrowed like ggml does
            MetaValue::F64(x) => Some(x as f32),
            _ => None,
        })?
        .unwrap_or_default();
        // Scores are optional (absent means "rank by id"); types default to all-normal above.
        let lengths = [("tokenizer.ggml.token_type", types.len()), ("tokenizer.ggml.scores", scores.len())];
        for (key, len) in lengths {
            if len != tokens.len() && !(key == "tokenizer.ggml.scores" && len == 0) {
                return Err(malformed(
                    gguf,
                    format!("{key} has {len} entries but tokenizer.ggml.tokens has {}", tokens.len()),
                ));
            }
        }

        let mut ids = HashMap::with_capacity(tokens.len());
        for (id, &token) in (0u32..).zip(&tokens) {
            ids.entry(token).or_insert(id);
        }
        let special = |name: &str| special_id(gguf, name, tokens.len());
        let specials = SpecialIds {
            bos: special("bos")?,
            eos: special("eos")?,
            eot: special("eot")?,
            eom: special("eom")?,
            unk: special("unknown")?,
            pad: special("padding")?,
        };
        Ok(Vocab { tokens, types, scores, ids, specials })
    }

    fn token(&self, id: u32) -> Option<&'a str> {
        self.tokens.get(usize::try_from(id).ok()?).copied()
    }

    /// Control, unknown and user-defined tokens, plus any token a special id points at. Control
    /// and unknown tokens are `special` (skipped by `decode(skip_special_tokens)`); user-defined
    /// ones are not, because llama.cpp's converter gives that type exactly to the added tokens
    /// that `transformers` did not mark special.
    fn added_tokens(&self) -> Vec<AddedToken<'a>> {
        let s = self.specials;
        let role_ids = [s.bos, s.eos, s.eot, s.eom, s.unk, s.pad];
        (0u32..)
            .zip(self.tokens.iter().zip(&self.types))
            .filter_map(|(id, (&content, &kind))| {
                let has_role = role_ids.contains(&Some(id));
                let special = match kind {
                    TOKEN_TYPE_CONTROL | TOKEN_TYPE_UNKNOWN => true,
                    TOKEN_TYPE_USER_DEFINED => has_role,
                    _ if has_role => true,
                    _ => return None,
                };
                Some(AddedToken {
                    id,
                    content,
                    single_word: false,
                    lstrip: false,
                    rstrip: false,
                    normalized: false,
                    special,
                })
            })
            .collect()
    }
}

/// The `tokenizer.ggml.<name>_token_id` entry, checked to be a valid id. Negative values mean
/// "none" in some converters.
fn special_id(gguf: &GgufFile, name: &str, vocab_size: usize) -> Result<Option<u32>, ConvertError> {
    let key = format!("tokenizer.ggml.{name}_token_id");
    let Some(value) = gguf.get(&key) else { return Ok(None) };
    if value.as_i64().is_some_and(|v| v < 0) {
        return Ok(None);
    }
    match value.as_u64().and_then(|v| u32::try_from(v).ok()) {
        Some(id) if usize::try_from(id).is_ok_and(|i| i < vocab_size) => Ok(Some(id)),
        Some(id) => Err(malformed(gguf, format!("{key} is {id} but the vocabulary has {vocab_size} tokens"))),
        None => Err(malformed(gguf, format!("{key} is {value:?}, not a token id"))),
    }
}

fn string_array<'a>(gguf: &'a GgufFile, key: &str) -> Result<Option<Vec<&'a str>>, ConvertError> {
    typed_array(gguf, key, "a string", MetaValue::as_str)
}

/// The elements of array `key`, each converted by `convert`; `None` if the key is absent.
fn typed_array<'a, T>(
    gguf: &'a GgufFile,
    key: &str,
    expected: &str,
    convert: impl Fn(&'a MetaValue) -> Option<T>,
) -> Result<Option<Vec<T>>, ConvertError> {
    let Some(value) = gguf.get(key) else { return Ok(None) };
    let items =
        value.as_array().ok_or_else(|| malformed(gguf, format!("{key} is a {}, not an array", value.type_name())))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            convert(item)
                .ok_or_else(|| malformed(gguf, format!("{key}[{i}] is {} {item:?}, not {expected}", item.type_name())))
        })
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
}

/// The model-specific parts of the pipeline.
struct Pipeline<'a> {
    normalizer: Value,
    pre_tokenizer: Value,
    decoder: Value,
    merges: Vec<(&'a str, &'a str)>,
    byte_level: bool,
    byte_fallback: bool,
    fuse_unk: bool,
    ignore_merges: bool,
    add_bos: bool,
    add_eos: bool,
}

/// Pre-tokenizer families of byte-level BPE vocabularies, keyed by `tokenizer.ggml.pre`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteLevelStyle {
    /// GPT-2's own regex inside `ByteLevel(use_regex)`.
    Gpt2,
    /// GPT-2's regex after splitting every digit off (StarCoder, SmolLM).
    IndividualDigits,
    /// Llama 3's regex (numbers in groups of up to three), merges skipped for whole-word tokens.
    Llama3,
    /// Qwen2's regex (single digits), with NFC normalization.
    Qwen2,
}

impl ByteLevelStyle {
    /// The family for a `tokenizer.ggml.pre` label. The groups follow llama.cpp's
    /// `llama_vocab::impl::load`, which assigns one regex set per group.
    fn from_label(label: &str) -> Option<Self> {
        Some(match label {
            "default" | "gpt2" | "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "jina-v1-en" | "jina-v2-es"
            | "jina-v2-de" | "jina-v2-code" | "roberta-bpe" | "mpt" | "olmo" => ByteLevelStyle::Gpt2,
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
                ByteLevelStyle::IndividualDigits
            }
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" => ByteLevelStyle::Llama3,
            "qwen2" | "deepseek-r1-qwen" | "megrez" => ByteLevelStyle::Qwen2,
            _ => return None,
        })
    }
}

fn byte_level(add_prefix_space: bool, trim_offsets: bool, use_regex: bool) -> Value {
    json!({
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": trim_offsets,
        "use_regex": use_regex,
    })
}

fn byte_level_post_processor() -> Value {
    byte_level(true, false, true)
}

fn regex_split(pattern: &str) -> Value {
    json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false})
}

fn byte_level_pipeline<'a>(gguf: &'a GgufFile, vocab: &Vocab<'a>) -> Result<Pipeline<'a>, ConvertError> {
    let label = gguf.get_str("tokenizer.ggml.pre").unwrap_or("default");
    let style = ByteLevelStyle::from_label(label).ok_or_else(|| {
        ConvertError::unsupported(gguf.path(), format!("byte-level BPE pre-tokenizer tokenizer.ggml.pre = '{label}'"))
    })?;
    let (normalizer, pre_tokenizer) = match style {
        ByteLevelStyle::Gpt2 => (Value::Null, byte_level(false, true, true)),
        ByteLevelStyle::IndividualDigits => (
            Value::Null,
            json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true},
                byte_level(false, true, true),
            ]}),
        ),
        ByteLevelStyle::Llama3 => (
            Value::Null,
            json!({"type": "Sequence", "pretokenizers": [regex_split(LLAMA3_REGEX), byte_level(false, true, false)]}),
        ),
        ByteLevelStyle::Qwen2 => (
            json!({"type": "NFC"}),
            json!({"type": "Sequence", "pretokenizers": [regex_split(QWEN2_REGEX), byte_level(false, false, false)]}),
        ),
    };

    let stored = string_array(gguf, "tokenizer.ggml.merges")?
        .ok_or_else(|| malformed(gguf, "tokenizer.ggml.merges is missing (a 'gpt2' vocabulary needs its merges)"))?;
    let mut merges = Vec::with_capacity(stored.len());
    for (index, &merge) in stored.iter().enumerate() {
        // Like llama.cpp, split at the first space after the first character: byte-level
        // tokens never contain a space (it is mapped to 'Ġ'), but a token may *be* one.
        let first_len = merge.chars().next().map_or(0, char::len_utf8);
        let split = merge.get(first_len..).and_then(|rest| rest.find(' ')).map(|at| at + first_len);
        let pair = split.and_then(|at| Some((merge.get(..at)?, merge.get(at + 1..)?)));
        let Some((left, right)) = pair else {
            return Err(malformed(
                gguf,
                format!("tokenizer.ggml.merges[{index}] '{merge}' is not two tokens separated by a space"),
            ));
        };
        // The `tokenizers` crate refuses a merge whose parts or result are not tokens; saying
        // which merge is wrong here beats its error at load time.
        for part in [left, right, &format!("{left}{right}")] {
            if !vocab.ids.contains_key(part) {
                return Err(malformed(
                    gguf,
                    format!("tokenizer.ggml.merges[{index}] '{merge}': '{part}' is not in the vocabulary"),
                ));
            }
        }
        merges.push((left, right));
    }

    Ok(Pipeline {
        normalizer,
        pre_tokenizer,
        decoder: byte_level(true, true, true),
        merges,
        byte_level: true,
        byte_fallback: false,
        fuse_unk: false,
        ignore_merges: style == ByteLevelStyle::Llama3,
        // llama.cpp's defaults when the file does not say: Llama 3 vocabularies add BOS.
        add_bos: gguf.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(style == ByteLevelStyle::Llama3),
        add_eos: gguf.get_bool("tokenizer.ggml.add_eos_token").unwrap_or(false),
    })
}

fn sentencepiece_pipeline<'a>(gguf: &'a GgufFile, vocab: &Vocab<'a>) -> Result<Pipeline<'a>, ConvertError> {
    let add_space_prefix = gguf.get_bool("tokenizer.ggml.add_space_prefix").unwrap_or(true);
    // The "legacy" Llama pipeline of `transformers`' LlamaConverter: spaces become '▁' and
    // one '▁' is prepended to each piece of text between added tokens, as SentencePiece does
    // (and llama.cpp, which prefixes a space after every special token).
    let mut normalizers = Vec::new();
    if add_space_prefix {
        normalizers.push(json!({"type": "Prepend", "prepend": METASPACE}));
    }
    normalizers.push(json!({"type": "Replace", "pattern": {"String": " "}, "content": METASPACE}));
    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": METASPACE}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    if add_space_prefix {
        decoders.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
    }
    Ok(Pipeline {
        normalizer: json!({"type": "Sequence", "normalizers": normalizers}),
        pre_tokenizer: Value::Null,
        decoder: json!({"type": "Sequence", "decoders": decoders}),
        merges: sentencepiece_merges(vocab),
        byte_level: false,
        byte_fallback: true,
        fuse_unk: true,
        ignore_merges: false,
        add_bos: gguf.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(true),
        add_eos: gguf.get_bool("tokenizer.ggml.add_eos_token").unwrap_or(false),
    })
}

/// BPE merges equivalent to a SentencePiece BPE vocabulary, derived like `transformers`'
/// `generate_merges`: every way of splitting a token into two tokens is a merge, and merges are
/// ranked by the score of the token they produce (highest first; without scores, lowest id
/// first), then by longer left and right parts, then by vocabulary order.
fn sentencepiece_merges<'a>(vocab: &Vocab<'a>) -> Vec<(&'a str, &'a str)> {
    struct Candidate<'a> {
        score: f32,
        left: &'a str,
        right: &'a str,
        left_chars: usize,
        right_chars: usize,
        order: (u32, u32, u32),
    }
    let mut candidates = Vec::new();
    for (merged_id, &piece) in (0u32..).zip(&vocab.tokens) {
        if vocab.ids.get(piece) != Some(&merged_id) {
            continue; // a repeated string: its first copy already contributed
        }
        let score = match vocab.scores.get(merged_id as usize) {
            Some(&score) => score,
            // Without scores, lower ids merge first: rank by the negated id.
            None => -(merged_id as f32),
        };
        let total_chars = piece.chars().count();
        for (left_chars, (at, _)) in piece.char_indices().enumerate().skip(1) {
            let (left, right) = piece.split_at(at);
            if let (Some(&left_id), Some(&right_id)) = (vocab.ids.get(left), vocab.ids.get(right)) {
                candidates.push(Candidate {
                    score,
                    left,
                    right,
                    left_chars,
                    right_chars: total_chars - left_chars,
                    order: (merged_id, left_id, right_id),
                });
            }
        }
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.left_chars.cmp(&a.left_chars))
            .then(b.right_chars.cmp(&a.right_chars))
            .then(a.order.cmp(&b.order))
    });
    candidates.into_iter().map(|c| (c.left, c.right)).collect()
}

/// A `TemplateProcessing` post-processor adding BOS/EOS, or `None` if neither is added.
fn template_processor(vocab: &Vocab<'_>, add_bos: bool, add_eos: bool) -> Option<Value> {
    let bos = vocab.specials.bos.filter(|_| add_bos).and_then(|id| Some((id, vocab.token(id)?)));
    let eos = vocab.specials.eos.filter(|_| add_eos).and_then(|id| Some((id, vocab.token(id)?)));
    if bos.is_none() && eos.is_none() {
        return None;
    }
    let special = |token: &str, type_id: u32| json!({"SpecialToken": {"id": token, "type_id": type_id}});
    let part = |name: &str, type_id: u32| {
        let mut items = Vec::new();
        if let Some((_, token)) = bos {
            items.push(special(token, type_id));
        }
        items.push(json!({"Sequence": {"id": name, "type_id": type_id}}));
        if let Some((_, token)) = eos {
            items.push(special(token, type_id));
        }
        items
    };
    let single = part("A", 0);
    let pair = [part("A", 0), part("B", 1)].concat();
    let mut special_tokens = serde_json::Map::new();
    for (id, token) in [bos, eos].into_iter().flatten() {
        special_tokens.insert(token.to_owned(), json!({"id": token, "ids": [id], "tokens": [token]}));
    }
    Some(json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special_tokens}))
}

fn tokenizer_config(
    gguf: &GgufFile,
    vocab: &Vocab<'_>,
    added_tokens: &[AddedToken<'_>],
    pipeline: &Pipeline<'_>,
    info: &TokenizerInfo,
) -> Result<String, ConvertError> {
    let decoder: BTreeMap<u32, Value> = added_tokens
        .iter()
        .map(|t| {
            let entry = json!({
                "content": t.content, "lstrip": t.lstrip, "normalized": t.normalized,
                "rstrip": t.rstrip, "single_word": t.single_word, "special": t.special,
            });
            (t.id, entry)
        })
        .collect();
    let token = |id: Option<u32>| id.and_then(|id| vocab.token(id));
    let mut config = serde_json::Map::new();
    config.insert("add_bos_token".into(), pipeline.add_bos.into());
    config.insert("add_eos_token".into(), pipeline.add_eos.into());
    config.insert("added_tokens_decoder".into(), json!(decoder));
    config.insert("bos_token".into(), json!(token(vocab.specials.bos)));
    config.insert("eos_token".into(), json!(token(vocab.specials.eos)));
    config.insert("pad_token".into(), json!(token(vocab.specials.pad)));
    config.insert("unk_token".into(), json!(token(vocab.specials.unk)));
    if let Some(template) = &info.chat_template {
        config.insert("chat_template".into(), json!(template));
    }
    config.insert("clean_up_tokenization_spaces".into(), false.into());
    let context_key = gguf.get_str("general.architecture").map(|arch| format!("{arch}.context_length"));
    if let Some(context) = context_key.and_then(|key| gguf.get_u64(&key)) {
        config.insert("model_max_length".into(), context.into());
    }
    config.insert("tokenizer_class".into(), "PreTrainedTokenizerFast".into());
    serde_json::to_string_pretty(&config)
        .map_err(|err| malformed(gguf, format!("cannot serialize tokenizer_config.json: {err}")))
}

/// `tokenizer.json`, with fields in the order the `tokenizers` crate writes them.
#[derive(Serialize)]
struct TokenizerJson<'a> {
    version: &'static str,
    truncation: Option<()>,
    padding: Option<()>,
    added_tokens: &'a [AddedToken<'a>],
    normalizer: Value,
    pre_tokenizer: Value,
    post_processor: Value,
    decoder: Value,
    model: BpeModel<'a>,
}

#[derive(Clone, Debug, Serialize)]
struct AddedToken<'a> {
    id: u32,
    content: &'a str,
    single_word: bool,
    lstrip: bool,
    rstrip: bool,
    normalized: bool,
    special: bool,
}

#[derive(Serialize)]
struct BpeModel<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    dropout: Option<f32>,
    unk_token: Option<&'a str>,
    continuing_subword_prefix: Option<&'a str>,
    end_of_word_suffix: Option<&'a str>,
    fuse_unk: bool,
    byte_fallback: bool,
    ignore_merges: bool,
    vocab: OrderedVocab<'a, 'a>,
    merges: Vec<(&'a str, &'a str)>,
}

/// The vocabulary as a JSON object in id order (the first id of a repeated string wins).
struct OrderedVocab<'v, 'a>(&'v Vocab<'a>);

impl Serialize for OrderedVocab<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let vocab = self.0;
        serializer.collect_map(
            (0u32..)
                .zip(&vocab.tokens)
                .filter(|&(id, token)| vocab.ids.get(token) == Some(&id))
                .map(|(id, token)| (token, id)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_tokenizer_labels_map_to_families() {
        assert_eq!(ByteLevelStyle::from_label("smollm"), Some(ByteLevelStyle::IndividualDigits));
        assert_eq!(ByteLevelStyle::from_label("llama-bpe"), Some(ByteLevelStyle::Llama3));
        assert_eq!(ByteLevelStyle::from_label("qwen2"), Some(ByteLevelStyle::Qwen2));
        assert_eq!(ByteLevelStyle::from_label("default"), Some(ByteLevelStyle::Gpt2));
        assert_eq!(ByteLevelStyle::from_label("no-such-family"), None);
    }
}
