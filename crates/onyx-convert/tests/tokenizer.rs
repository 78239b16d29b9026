//! Tokenizer export: the default chat model's vocabulary must tokenize exactly like the
//! reference (`golden.json`), and a hand-made SentencePiece vocabulary must tokenize the way
//! SentencePiece's BPE rules say it should.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use onyx_convert::ConvertError;
use onyx_convert::gguf::GgufFile;
use onyx_convert::tokenizer::{build_tokenizer, export_tokenizer};
use tokenizers::Tokenizer;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The default chat model. Missing means the machine was not set up, which must fail loudly:
/// a skipped test would hide that tokenization was never checked.
fn default_chat_gguf() -> PathBuf {
    let path = repo_root().join("models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

fn golden() -> serde_json::Value {
    let path = repo_root().join("../shared/reference/golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!("cannot read {} ({err}); the shared reference outputs are missing", path.display())
    });
    serde_json::from_str(&text).expect("golden.json is JSON")
}

fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .expect("an id array")
        .iter()
        .map(|v| u32::try_from(v.as_u64().expect("an id")).expect("a u32 id"))
        .collect()
}

#[test]
fn smollm2_export_reproduces_the_reference_token_ids() {
    let gguf = GgufFile::open(&default_chat_gguf()).expect("the default GGUF opens");
    let dir = tempfile::tempdir().expect("temp dir");
    let info = export_tokenizer(&gguf, dir.path()).expect("export");
    assert_eq!(info.vocab_size, 49152);
    assert_eq!(info.bos_token_id, Some(1));
    assert_eq!(info.eos_token_ids, vec![2]);
    assert_eq!(info.pad_token_id, Some(2));
    assert!(info.chat_template.as_deref().is_some_and(|t| t.contains("<|im_start|>")));

    let tokenizer = Tokenizer::from_file(dir.path().join("tokenizer.json")).expect("tokenizers loads the export");
    let golden = golden();
    let cases = golden["chat"].as_array().expect("chat cases");
    assert!(!cases.is_empty());
    for case in cases {
        let prompt = case["prompt_text"].as_str().expect("prompt_text");
        let encoding = tokenizer.encode(prompt, false).expect("encode");
        assert_eq!(encoding.get_ids(), ids(&case["prompt_ids"]).as_slice(), "prompt {prompt:?}");

        let decoded = tokenizer.decode(&ids(&case["greedy_ids"]), false).expect("decode");
        assert_eq!(decoded, case["greedy_text"].as_str().expect("greedy_text"));
    }
}

#[test]
fn smollm2_export_splits_digits_and_keeps_chat_markers_whole() {
    let gguf = GgufFile::open(&default_chat_gguf()).expect("the default GGUF opens");
    let files = build_tokenizer(&gguf).expect("build");
    let tokenizer = Tokenizer::from_str(&files.tokenizer_json).expect("tokenizers loads the export");
    // SmolLM2's pre-tokenizer puts every digit in its own token ("0".."9" are ids 32..41).
    let encoding = tokenizer.encode("2024", false).expect("encode");
    assert_eq!(encoding.get_ids(), &[34, 32, 34, 36]);
    let encoding = tokenizer.encode("<|im_start|>user<|im_end|>", false).expect("encode");
    assert_eq!(encoding.get_ids().first(), Some(&1));
    assert_eq!(encoding.get_ids().last(), Some(&2));
    // Control tokens are special, so a caller can hide them.
    assert_eq!(tokenizer.decode(&[1, 4093, 2], true).expect("decode"), "user");

    let config: serde_json::Value = serde_json::from_str(&files.tokenizer_config_json).expect("config is JSON");
    assert_eq!(config["bos_token"], "<|im_start|>");
    assert_eq!(config["eos_token"], "<|im_end|>");
    assert_eq!(config["pad_token"], "<|im_end|>");
    assert_eq!(config["unk_token"], "<|endoftext|>");
    assert_eq!(config["add_bos_token"], false);
    assert_eq!(config["model_max_length"], 8192);
    assert_eq!(config["added_tokens_decoder"]["2"]["content"], "<|im_end|>");
    assert_eq!(config["added_tokens_decoder"]["2"]["special"], true);
    assert_eq!(config["added_tokens_decoder"].as_object().map(|o| o.len()), Some(17));
    assert_eq!(config["chat_template"].as_str(), gguf.get_str("tokenizer.chat_template"));
}

/// A GGUF metadata value for the tiny writer below.
enum Meta {
    Str(&'static str),
    U32(u32),
    Bool(bool),
    Strs(Vec<&'static str>),
    I32s(Vec<i32>),
    F32s(Vec<f32>),
}

/// A metadata-only GGUF v3 file (no tensors): enough for the tokenizer exporter.
fn gguf_with_metadata(entries: &[(&str, Meta)]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out.extend((entries.len() as u64).to_le_bytes());
    for (key, value) in entries {
        string(&mut out, key);
        match value {
            Meta::Str(s) => {
                out.extend(8u32.to_le_bytes());
                string(&mut out, s);
            }
            Meta::U32(v) => {
                out.extend(4u32.to_le_bytes());
                out.extend(v.to_le_bytes());
            }
            Meta::Bool(v) => {
                out.extend(7u32.to_le_bytes());
                out.push(u8::from(*v));
            }
            Meta::Strs(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(8u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for s in items {
                    string(&mut out, s);
                }
            }
            Meta::I32s(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(5u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                items.iter().for_each(|v| out.extend(v.to_le_bytes()));
            }
            Meta::F32s(items) => {
                out.extend(9u32.to_le_bytes());
                out.extend(6u32.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                items.iter().for_each(|v| out.extend(v.to_le_bytes()));
            }
        }
    }
    out
}

/// A tiny SentencePiece BPE vocabulary. Higher scores merge first, so the merges it implies are,
/// in order: l+l, ▁+h, ▁+w, o+r, ▁h+e, ll+o, ▁he+llo, ▁w+or.
fn tiny_sentencepiece(add_space_prefix: bool) -> Tokenizer {
    let tokens = vec![
        "<unk>",
        "<s>",
        "</s>",
        "<0x0A>",
        "\u{2581}",
        "h",
        "e",
        "l",
        "o",
        "w",
        "r",
        "d",
        "i",
        "ll",
        "\u{2581}h",
        "\u{2581}w",
        "or",
        "\u{2581}he",
        "llo",
        "\u{2581}hello",
        "\u{2581}wor",
    ];
    //            <unk> <s> </s> <0x0A> ▁ h e l o w r d i
    let mut scores = vec![0.0, 0.0, 0.0, 0.0, -100.0, -100.0, -100.0, -100.0, -100.0, -100.0, -100.0, -100.0, -100.0];
    //                ll    ▁h    ▁w    or    ▁he   llo   ▁hello ▁wor
    scores.extend([-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0]);
    let mut types = vec![2, 3, 3, 6];
    types.resize(tokens.len(), 1);
    let bytes = gguf_with_metadata(&[
        ("general.architecture", Meta::Str("llama")),
        ("tokenizer.ggml.model", Meta::Str("llama")),
        ("tokenizer.ggml.tokens", Meta::Strs(tokens)),
        ("tokenizer.ggml.scores", Meta::F32s(scores)),
        ("tokenizer.ggml.token_type", Meta::I32s(types)),
        ("tokenizer.ggml.bos_token_id", Meta::U32(1)),
        ("tokenizer.ggml.eos_token_id", Meta::U32(2)),
        ("tokenizer.ggml.unknown_token_id", Meta::U32(0)),
        ("tokenizer.ggml.add_space_prefix", Meta::Bool(add_space_prefix)),
    ]);
    let gguf = GgufFile::from_bytes("tiny-spm.gguf", bytes).expect("the tiny GGUF parses");
    let files = build_tokenizer(&gguf).expect("export");
    assert_eq!(files.info.vocab_size, 21);
    Tokenizer::from_str(&files.tokenizer_json).expect("tokenizers loads the export")
}

#[test]
fn sentencepiece_vocabulary_merges_by_score() {
    let tokenizer = tiny_sentencepiece(true);
    let encode = |text: &str, special: bool| tokenizer.encode(text, special).expect("encode").get_ids().to_vec();
    // "▁hello▁world": l+l, ▁+h, ▁+w, o+r, ▁h+e, ll+o, ▁he+llo, ▁w+or leave ▁hello ▁wor l d.
    assert_eq!(encode("hello world", false), [19, 20, 7, 11]);
    // "\n" is not a piece, so it falls back to its byte token; "!" has no byte token, so <unk>.
    assert_eq!(encode("hi\n", false), [14, 12, 3]);
    assert_eq!(encode("hi!", false), [14, 12, 0]);
    // Added tokens are matched before the space prefix is applied to the text after them.
    assert_eq!(encode("<s>hi", false), [1, 14, 12]);
    // add_bos defaults to true for SentencePiece vocabularies.
    assert_eq!(encode("hello", true), [1, 19]);

    let decode = |ids: &[u32]| tokenizer.decode(ids, false).expect("decode");
    assert_eq!(decode(&[19, 20, 7, 11]), "hello world");
    assert_eq!(decode(&[14, 12, 3]), "hi\n");
}

#[test]
fn sentencepiece_without_space_prefix_starts_mid_word() {
    let tokenizer = tiny_sentencepiece(false);
    // No leading ▁: "hello" is h e llo (▁he and ▁hello need the prefix).
    assert_eq!(tokenizer.encode("hello", false).expect("encode").get_ids(), &[5, 6, 18]);
    assert_eq!(tokenizer.encode(" hello", false).expect("encode").get_ids(), &[19]);
}

#[test]
fn unknown_tokenizer_families_are_named_in_the_error() {
    let bytes = gguf_with_metadata(&[
        ("tokenizer.ggml.model", Meta::Str("gpt2")),
        ("tokenizer.ggml.pre", Meta::Str("no-such-family")),
        ("tokenizer.ggml.tokens", Meta::Strs(vec!["a", "b", "ab"])),
        ("tokenizer.ggml.merges", Meta::Strs(vec!["a b"])),
    ]);
    let gguf = GgufFile::from_bytes("odd.gguf", bytes).expect("parses");
    let err = build_tokenizer(&gguf).expect_err("unknown pre-tokenizer");
    assert!(matches!(err, ConvertError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("odd.gguf") && err.to_string().contains("'no-such-family'"), "{err}");

    let bytes = gguf_with_metadata(&[
        ("tokenizer.ggml.model", Meta::Str("gpt2")),
        ("tokenizer.ggml.tokens", Meta::Strs(vec!["a", "b"])),
        ("tokenizer.ggml.merges", Meta::Strs(vec!["a b"])),
    ]);
    let gguf = GgufFile::from_bytes("odd.gguf", bytes).expect("parses");
    let err = build_tokenizer(&gguf).expect_err("merge result missing from the vocabulary");
    assert!(err.to_string().contains("'ab' is not in the vocabulary"), "{err}");

    let bytes = gguf_with_metadata(&[
        ("tokenizer.ggml.model", Meta::Str("gpt2")),
        ("tokenizer.ggml.tokens", Meta::Strs(vec!["a", "b"])),
        ("tokenizer.ggml.merges", Meta::Strs(vec![])),
        ("tokenizer.ggml.eos_token_id", Meta::U32(7)),
    ]);
    let gguf = GgufFile::from_bytes("odd.gguf", bytes).expect("parses");
    let err = build_tokenizer(&gguf).expect_err("eos out of range");
    assert!(err.to_string().contains("tokenizer.ggml.eos_token_id is 7 but the vocabulary has 2 tokens"), "{err}");
}
