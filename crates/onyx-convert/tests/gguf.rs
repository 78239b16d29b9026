//! The GGUF reader and the dequantizers: exactness against independent references, and clear
//! errors (never panics) on damaged or hostile files.

use std::path::{Path, PathBuf};

use onyx_convert::ConvertError;
use onyx_convert::gguf::{GgmlType, GgufFile, MetaValue};
use onyx_convert::quant;

// ---------------------------------------------------------------------------------------------
// A tiny test-side GGUF writer.

/// GGUF value type ids.
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;

fn enc_string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u64).to_le_bytes().to_vec();
    out.extend(s.as_bytes());
    out
}

fn enc_array(element_type: u32, items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = element_type.to_le_bytes().to_vec();
    out.extend((items.len() as u64).to_le_bytes());
    items.iter().for_each(|item| out.extend(item));
    out
}

#[derive(Clone)]
struct TestTensor {
    name: String,
    ne: Vec<u64>,
    type_id: u32,
    data: Vec<u8>,
    /// Overrides the offset the writer would compute (relative to the data section).
    offset: Option<u64>,
}

/// Builds GGUF images: metadata entries are pre-encoded (key, type, value bytes) so tests can
/// write anything, including invalid values.
#[derive(Clone)]
struct TestGguf {
    version: u32,
    alignment: u64,
    kvs: Vec<(String, u32, Vec<u8>)>,
    tensors: Vec<TestTensor>,
}

/// A built image and where its sections start, for cutting and patching.
struct Built {
    bytes: Vec<u8>,
    kv_start: usize,
    tensor_info_start: usize,
    data_start: usize,
}

impl TestGguf {
    fn new() -> Self {
        TestGguf { version: 3, alignment: 32, kvs: Vec::new(), tensors: Vec::new() }
    }

    fn kv(mut self, key: &str, type_id: u32, value: Vec<u8>) -> Self {
        self.kvs.push((key.to_owned(), type_id, value));
        self
    }

    fn kv_str(self, key: &str, value: &str) -> Self {
        self.kv(key, T_STRING, enc_string(value))
    }

    fn tensor(mut self, name: &str, ne: &[u64], ty: GgmlType, data: Vec<u8>) -> Self {
        self.tensors.push(TestTensor { name: name.into(), ne: ne.to_vec(), type_id: ty.id(), data, offset: None });
        self
    }

    fn build(&self) -> Built {
        let align = |n: usize| n.div_ceil(self.alignment as usize) * self.alignment as usize;
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.kvs.len() as u64).to_le_bytes());
        let kv_start = out.len();
        for (key, type_id, value) in &self.kvs {
            out.extend(enc_string(key));
            out.extend(type_id.to_le_bytes());
            out.extend(value);
        }
        let tensor_info_start = out.len();
        let mut offsets = Vec::new();
        let mut next = 0usize;
        for t in &self.tensors {
            out.extend(enc_string(&t.name));
            out.extend((t.ne.len() as u32).to_le_bytes());
            t.ne.iter().for_each(|d| out.extend(d.to_le_bytes()));
            out.extend(t.type_id.to_le_bytes());
            out.extend(t.offset.unwrap_or(next as u64).to_le_bytes());
            offsets.push(next);
            next = align(next + t.data.len());
        }
        let data_start = align(out.len());
        out.resize(data_start, 0);
        for (t, offset) in self.tensors.iter().zip(offsets) {
            out.resize(data_start + offset, 0);
            out.extend(&t.data);
        }
        Built { bytes: out, kv_start, tensor_info_start, data_start }
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A deterministic byte pattern for quantized payloads.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed)).collect()
}

/// A small but varied valid file: several value types (including nested arrays) and tensors of
/// plain, block and K-quant types.
fn sample() -> TestGguf {
    let mut q8 = pattern(68, 1);
    q8[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
    q8[34..36].copy_from_slice(&half::f16::from_f32(-0.25).to_le_bytes());
    let mut q4k = pattern(144, 9);
    q4k[..4].copy_from_slice(&[0x00, 0x3C, 0x00, 0x38]); // d = 1.0, dmin = 0.5
    TestGguf::new()
        .kv_str("general.architecture", "llama")
        .kv("llama.block_count", T_U32, 2u32.to_le_bytes().to_vec())
        .kv("llama.rope.freq_base", T_F32, 10000f32.to_le_bytes().to_vec())
        .kv("test.negative", T_I32, (-3i32).to_le_bytes().to_vec())
        .kv("test.flag", T_BOOL, vec![1])
        .kv("test.words", T_ARRAY, enc_array(T_STRING, &[enc_string("one"), enc_string("two")]))
        .kv(
            "test.nested",
            T_ARRAY,
            enc_array(T_ARRAY, &[enc_array(T_U32, &[7u32.to_le_bytes().to_vec()]), enc_array(T_U32, &[])]),
        )
        .tensor("a", &[4, 2], GgmlType::F32, f32_bytes(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]))
        .tensor("b", &[32, 2], GgmlType::Q8_0, q8)
        .tensor("c", &[256], GgmlType::Q4K, q4k)
        .tensor("d", &[3], GgmlType::F16, vec![0x00, 0x3C, 0x00, 0xC0, 0x00, 0x00])
}

fn parse(bytes: Vec<u8>) -> Result<GgufFile, ConvertError> {
    GgufFile::from_bytes("test.gguf", bytes)
}

/// Parses `bytes`, expects an error, and checks it names the file and contains `needle`.
#[track_caller]
fn expect_error(bytes: Vec<u8>, needle: &str) -> ConvertError {
    let err = parse(bytes).expect_err("the damaged file must be rejected");
    let message = err.to_string();
    assert!(message.contains("test.gguf"), "error does not name the file: {message}");
    assert!(message.contains(needle), "expected {needle:?} in: {message}");
    err
}

fn patch_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

// ---------------------------------------------------------------------------------------------
// Valid files.

#[test]
fn sample_file_parses_with_metadata_shapes_and_values() {
    let built = sample().build();
    let gguf = parse(built.bytes.clone()).expect("the sample parses");
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.alignment(), 32);
    assert_eq!(gguf.data_offset(), built.data_start as u64);
    assert_eq!(gguf.get_str("general.architecture"), Some("llama"));
    assert_eq!(gguf.get_u64("llama.block_count"), Some(2));
    assert_eq!(gguf.get_u64("test.negative"), None);
    assert_eq!(gguf.get_f64("llama.rope.freq_base"), Some(10000.0));
    assert_eq!(gguf.get_f64("llama.block_count"), Some(2.0));
    assert_eq!(gguf.get_bool("test.flag"), Some(true));
    assert_eq!(gguf.get_str_array("test.words"), Some(vec!["one", "two"]));
    assert_eq!(gguf.get_str_array("test.nested"), None);
    assert_eq!(
        gguf.get("test.nested"),
        Some(&MetaValue::Array(vec![MetaValue::Array(vec![MetaValue::U32(7)]), MetaValue::Array(vec![])]))
    );

    let names: Vec<&str> = gguf.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    let a = gguf.tensor("a").expect("a");
    assert_eq!((a.ggml_type, a.shape.as_slice(), a.byte_len), (GgmlType::F32, &[2, 4][..], 32));
    assert_eq!(a.offset, built.data_start as u64);
    let b = gguf.tensor("b").expect("b");
    assert_eq!((b.shape.as_slice(), b.byte_len, b.offset), (&[2, 32][..], 68, built.data_start as u64 + 32));
    assert_eq!(gguf.tensor_bytes(b).len(), 68);

    let (shape, values) = gguf.dequantize("a").expect("f32");
    assert_eq!((shape, values), (vec![2, 4], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]));
    let (_, values) = gguf.dequantize("d").expect("f16");
    assert_eq!(values, [1.0, -2.0, 0.0]);
    let (_, values) = gguf.dequantize("b").expect("q8_0");
    assert_eq!(values.len(), 64);
    assert_eq!(values[0], f32::from(pattern(68, 1)[2] as i8) * 0.5);
    assert_eq!(values[32], f32::from(pattern(68, 1)[36] as i8) * -0.25);
    let (shape, values) = gguf.dequantize("c").expect("q4_K");
    assert_eq!((shape.len(), values.len()), (1, 256));
}

#[test]
fn open_reads_from_disk_and_names_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, sample().build().bytes).expect("write");
    let gguf = GgufFile::open(&path).expect("opens");
    assert_eq!(gguf.path(), path);
    assert_eq!(gguf.tensors().len(), 4);

    let missing = dir.path().join("missing.gguf");
    let err = GgufFile::open(&missing).expect_err("missing file");
    assert!(matches!(err, ConvertError::Io { .. }) && err.to_string().contains("missing.gguf"), "{err}");

    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").expect("write");
    let err = GgufFile::open(&empty).expect_err("empty file");
    assert!(err.to_string().contains("empty.gguf") && err.to_string().contains("truncated"), "{err}");

    let cut = dir.path().join("cut.gguf");
    let bytes = sample().build().bytes;
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).expect("write");
    let err = GgufFile::open(&cut).expect_err("cut file");
    assert!(err.to_string().contains("cut.gguf") && err.to_string().contains("tensor 'd' data ends at byte"), "{err}");
}

#[test]
fn custom_alignment_and_version_2_are_honoured() {
    let mut file = sample().kv("general.alignment", T_U32, 64u32.to_le_bytes().to_vec());
    file.alignment = 64;
    file.version = 2;
    let built = file.build();
    let gguf = parse(built.bytes).expect("parses");
    assert_eq!((gguf.version(), gguf.alignment()), (2, 64));
    assert_eq!(gguf.data_offset() % 64, 0);
    assert_eq!(gguf.tensor("b").expect("b").offset, gguf.data_offset() + 64);
    assert_eq!(gguf.dequantize("a").expect("a").1[7], 7.0);
}

// ---------------------------------------------------------------------------------------------
// Damaged and hostile files.

#[test]
fn every_truncation_is_a_clear_error() {
    let built = sample().build();
    let len = built.bytes.len();
    for cut in 0..len {
        let err = parse(built.bytes[..cut].to_vec()).expect_err("a truncated file must be rejected");
        let message = err.to_string();
        assert!(message.contains("test.gguf"), "cut {cut}: {message}");
        assert!(message.contains("truncated"), "cut {cut}: {message}");
    }
    // Representative cut points, each naming what it was reading.
    let words = built.bytes.windows(10).position(|w| w == b"test.words").expect("key present") - 8;
    let cases = [
        (2, "truncated: the GGUF magic needs 4 bytes at byte 0 but the file has 2"),
        (6, "truncated: the GGUF version"),
        (20, "truncated: the metadata key/value count"),
        (built.kv_start + 5, "truncated or corrupt: 7 metadata key/values (at least 13 bytes each)"),
        (words + 3, "truncated: the length of the key of metadata entry 5"),
        (words + 8 + 10 + 4 + 4 + 8 + (8 + 3) + 8 + 2, "truncated: the value of key 'test.words' needs 3 bytes"),
        (built.tensor_info_start + 5, "truncated: the length of the name of tensor 0"),
        (built.tensor_info_start + 8 + 1 + 4 + 3, "truncated: dimension 0 of tensor 'a'"),
        (built.data_start + 4, "truncated: tensor 'a' data ends at byte"),
        (len - 1, &format!("truncated: tensor 'd' data ends at byte {len} but the file has {}", len - 1)),
    ];
    for (cut, needle) in cases {
        expect_error(built.bytes[..cut].to_vec(), needle);
    }
}

#[test]
fn wrong_magic_and_versions_are_rejected() {
    let mut bytes = sample().build().bytes;
    bytes[..4].copy_from_slice(b"GGML");
    expect_error(bytes, "bad magic 0x4c4d4747");

    for (version, needle) in [(1, "GGUF version 1"), (4, "GGUF version 4"), (0x0300_0000, "big-endian GGUF")] {
        let mut file = sample();
        file.version = version;
        let err = expect_error(file.build().bytes, needle);
        assert!(matches!(err, ConvertError::Unsupported { .. }), "{err}");
    }
}

#[test]
fn absurd_counts_and_lengths_fail_before_allocating() {
    let built = sample().build();

    let mut bytes = built.bytes.clone();
    patch_u64(&mut bytes, 8, 1 << 60);
    expect_error(bytes, "truncated or corrupt: 1152921504606846976 tensors (at least 24 bytes each)");

    let mut bytes = built.bytes.clone();
    patch_u64(&mut bytes, 16, u64::MAX);
    expect_error(bytes, "18446744073709551615 metadata key/values");

    let mut bytes = built.bytes.clone();
    patch_u64(&mut bytes, built.kv_start, u64::MAX);
    expect_error(bytes, "the key of metadata entry 0 needs 18446744073709551615 bytes");

    let mut bytes = built.bytes.clone();
    patch_u64(&mut bytes, built.tensor_info_start, 1 << 40);
    expect_error(bytes, "the name of tensor 0 needs 1099511627776 bytes");

    let huge_array = TestGguf::new().kv("big", T_ARRAY, {
        let mut v = T_U32.to_le_bytes().to_vec();
        v.extend((1u64 << 62).to_le_bytes());
        v
    });
    expect_error(huge_array.build().bytes, "4611686018427387904 elements in array 'big' (at least 4 bytes each)");

    // 100 levels of arrays of one array each.
    let mut nested = Vec::new();
    for _ in 0..100 {
        nested.extend(T_ARRAY.to_le_bytes());
        nested.extend(1u64.to_le_bytes());
    }
    nested.extend(T_U32.to_le_bytes());
    nested.extend(0u64.to_le_bytes());
    let deep = TestGguf::new().kv("deep", T_ARRAY, nested);
    expect_error(deep.build().bytes, "key 'deep' nests arrays deeper than");
}

#[test]
fn bad_metadata_values_are_named() {
    expect_error(TestGguf::new().kv("k", 13, vec![0; 8]).build().bytes, "unknown value type 13 for key 'k'");
    expect_error(TestGguf::new().kv("k", T_ARRAY, enc_array(77, &[])).build().bytes, "unknown element type 77");
    expect_error(TestGguf::new().kv("flag", T_BOOL, vec![2]).build().bytes, "key 'flag' holds bool byte 2");
    let mut bad_key = TestGguf::new().kv("ab", T_U32, vec![0; 4]).build().bytes;
    bad_key[24 + 8] = 0xFF;
    expect_error(bad_key, "the key of metadata entry 0 is not valid UTF-8");
    let twice = TestGguf::new().kv("k", T_U32, vec![0; 4]).kv("k", T_U32, vec![1; 4]);
    expect_error(twice.build().bytes, "metadata key 'k' appears twice");
    let bad_alignment = TestGguf::new().kv("general.alignment", T_U32, 3u32.to_le_bytes().to_vec());
    expect_error(bad_alignment.build().bytes, "general.alignment is U32(3); it must be a power of two");
    let zero_alignment = TestGguf::new().kv("general.alignment", T_U32, 0u32.to_le_bytes().to_vec());
    expect_error(zero_alignment.build().bytes, "must be a power of two");
}

#[test]
fn bad_tensor_infos_are_named() {
    let with = |edit: &dyn Fn(&mut TestTensor)| {
        let mut file = sample();
        edit(&mut file.tensors[1]);
        file.build().bytes
    };

    let err = expect_error(with(&|t| t.type_id = 99), "unknown tensor type 99 for 'b'");
    assert!(matches!(err, ConvertError::Unsupported { .. }), "{err}");
    expect_error(with(&|t| t.ne = vec![32, 1, 1, 1, 2]), "tensor 'b' has 5 dimensions; ggml allows at most 4");
    expect_error(
        with(&|t| t.ne = vec![33, 2]),
        "tensor 'b' has rows of 33 elements (dims [33, 2]), not a multiple of the q8_0 block size 32",
    );
    expect_error(with(&|t| t.ne = vec![1 << 32, 1 << 32, 1 << 32]), "whose product overflows");
    expect_error(with(&|t| t.ne = vec![32, 1 << 40]), "truncated: tensor 'b' data ends at byte");
    expect_error(with(&|t| t.ne = vec![32, 1 << 20]), "truncated: tensor 'b' data ends at byte");
    expect_error(with(&|t| t.offset = Some(1 << 20)), "truncated: tensor 'b' data ends at byte");
    expect_error(with(&|t| t.offset = Some(8)), "tensor 'b' has offset 8 that is not a multiple of the alignment 32");
    expect_error(
        with(&|t| t.offset = Some(u64::MAX - 31)),
        "tensor 'b' has offset 18446744073709551584 that overflows",
    );
    expect_error(with(&|t| t.name = "a".into()), "tensor 'a' appears twice");
}

#[test]
fn unsupported_dequantization_names_tensor_and_type() {
    let file = TestGguf::new().tensor("blk.0.ffn_up.weight", &[256], GgmlType::Q2K, vec![0; 84]);
    let gguf = parse(file.build().bytes).expect("a q2_K tensor is readable, just not dequantizable");
    assert_eq!(gguf.tensor_bytes(&gguf.tensors()[0]).len(), 84);
    let err = gguf.dequantize("blk.0.ffn_up.weight").expect_err("q2_K is not supported");
    assert!(matches!(err, ConvertError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("tensor 'blk.0.ffn_up.weight' has type q2_K"), "{err}");
    let err = gguf.dequantize("nope").expect_err("no such tensor");
    assert!(err.to_string().contains("no tensor named 'nope'"), "{err}");
}

#[test]
fn files_written_by_gguf_py_parse_dequantize_and_export() {
    // The fuzz seeds come from the `gguf` Python package's own writer (fuzz/make_seeds.py), so
    // they check this reader against an independent idea of the format.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/gguf_open");
    let open = |name: &str| GgufFile::open(&dir.join(name)).expect("a gguf-py file opens");

    let gguf = open("plain_and_block.gguf");
    assert_eq!(gguf.get_u64("llama.context_length"), Some(64));
    let names: Vec<&str> = gguf.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]);
    for info in gguf.tensors() {
        let values = gguf.dequantize_tensor(info).expect("dequantize");
        assert_eq!(values.len(), info.element_count(), "{}", info.name);
    }
    assert_eq!(gguf.tensor("q4_1").expect("q4_1").shape, [2, 32]);

    let gguf = open("k_quants.gguf");
    for info in gguf.tensors() {
        assert_eq!(gguf.dequantize_tensor(info).expect("dequantize").len(), 256, "{}", info.name);
    }

    for name in ["sentencepiece.gguf", "byte_level.gguf"] {
        let gguf = open(name);
        onyx_convert::tokenizer::build_tokenizer(&gguf).unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    let gguf = open("byte_level.gguf");
    assert_eq!(gguf.get("test.nested").and_then(MetaValue::as_array).map(<[MetaValue]>::len), Some(2));
}

/// Seeded xorshift64*, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A stable-Rust stand-in for the cargo-fuzz target (`fuzz/fuzz_targets/gguf_open.rs`): mutate
/// a valid file many times and require that parsing, dequantizing and tokenizer export never
/// panic. `ONYX_GGUF_MUTATIONS` raises the count for longer runs.
#[test]
fn random_mutations_never_panic() {
    let base = sample()
        .kv_str("tokenizer.ggml.model", "llama")
        .kv(
            "tokenizer.ggml.tokens",
            T_ARRAY,
            enc_array(T_STRING, &[enc_string("<unk>"), enc_string("a"), enc_string("ab")]),
        )
        .kv("tokenizer.ggml.scores", T_ARRAY, enc_array(T_F32, &[vec![0; 4], vec![0; 4], vec![0; 4]]))
        .build()
        .bytes;
    assert!(parse(base.clone()).is_ok());
    let iterations: usize = std::env::var("ONYX_GGUF_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let interesting =
        [0, 1, 2, 3, 4, 31, 32, 255, 256, 1 << 31, u32::MAX as u64, 1 << 32, 1 << 60, u64::MAX - 1, u64::MAX];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0usize;
    for _ in 0..iterations {
        let mut bytes = base.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(bytes.len());
            match rng.below(5) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes[at] ^= 1 << rng.below(8),
                2 if at + 8 <= bytes.len() => {
                    let value = interesting[rng.below(interesting.len())];
                    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
                }
                3 => bytes.truncate(at),
                _ => {
                    let extra = rng.below(64);
                    bytes.splice(at..at, (0..extra).map(|_| rng.next() as u8));
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        if let Ok(gguf) = parse(bytes) {
            parsed += 1;
            for info in gguf.tensors() {
                let _ = gguf.dequantize_tensor(info);
            }
            let _ = onyx_convert::tokenizer::build_tokenizer(&gguf);
        }
    }
    eprintln!("{iterations} mutations, {parsed} still parsed");
}

// ---------------------------------------------------------------------------------------------
// Exactness of the dequantizers against the `gguf` Python package (tests/data/make_quant_fixtures.py).

#[test]
fn dequantization_matches_the_python_reference_bit_for_bit() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quant");
    let types = [
        ("f32", GgmlType::F32),
        ("f16", GgmlType::F16),
        ("bf16", GgmlType::BF16),
        ("q8_0", GgmlType::Q8_0),
        ("q4_0", GgmlType::Q4_0),
        ("q4_1", GgmlType::Q4_1),
        ("q5_0", GgmlType::Q5_0),
        ("q5_1", GgmlType::Q5_1),
        ("q4_k", GgmlType::Q4K),
        ("q5_k", GgmlType::Q5K),
        ("q6_k", GgmlType::Q6K),
    ];
    for (name, ty) in types {
        let raw = std::fs::read(dir.join(format!("{name}.raw"))).expect("fixture");
        let expected: Vec<u32> = std::fs::read(dir.join(format!("{name}.f32")))
            .expect("fixture")
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let actual: Vec<u32> = quant::dequantize(ty, &raw).expect("dequantize").iter().map(|v| v.to_bits()).collect();
        assert_eq!(actual.len(), expected.len(), "{name}");
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            assert_eq!(a, e, "{name} value {i}: {} != {}", f32::from_bits(*a), f32::from_bits(*e));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The default chat model.

/// The default chat model. Missing means the machine was not set up, which must fail loudly.
fn default_chat_gguf() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

/// Sum over i of (bits of value i) * (i + 1), wrapping: an order-sensitive fingerprint that
/// numpy computes identically with uint64 arithmetic.
fn fingerprint(values: &[f32]) -> u64 {
    values.iter().zip(1u64..).fold(0u64, |acc, (v, i)| acc.wrapping_add(u64::from(v.to_bits()).wrapping_mul(i)))
}

#[test]
fn smollm2_header_metadata_and_layout() {
    let gguf = GgufFile::open(&default_chat_gguf()).expect("the default GGUF opens");
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.alignment(), 32);
    assert_eq!(gguf.tensors().len(), 272);
    assert_eq!(gguf.metadata().len(), 33, "the header's kv_count");
    assert_eq!(gguf.get_str("general.architecture"), Some("llama"));
    assert_eq!(gguf.get_u64("llama.block_count"), Some(30));
    assert_eq!(gguf.get_u64("llama.embedding_length"), Some(576));
    assert_eq!(gguf.get_f64("llama.rope.freq_base"), Some(100_000.0));
    assert_eq!(gguf.get_str_array("tokenizer.ggml.tokens").map(|t| t.len()), Some(49152));
    assert_eq!(gguf.get_str("tokenizer.ggml.pre"), Some("smollm"));

    let embed = gguf.tensor("token_embd.weight").expect("token_embd");
    assert_eq!((embed.ggml_type, embed.shape.as_slice()), (GgmlType::Q8_0, &[49152, 576][..]));
    // Offsets as gguf-py's GGUFReader reports them (`ReaderTensor.data_offset`, absolute).
    assert_eq!((embed.offset, embed.byte_len), (1_785_664, 30_081_024));
    let q = gguf.tensor("blk.0.attn_q.weight").expect("attn_q");
    assert_eq!((q.ggml_type, q.shape.as_slice(), q.offset), (GgmlType::Q4_1, &[576, 576][..], 33_806_656));
    assert_eq!(gguf.tensor("blk.0.attn_k.weight").expect("attn_k").shape, [192, 576]);
    assert_eq!(gguf.tensor("blk.0.ffn_down.weight").expect("ffn_down").shape, [576, 1536]);
    assert_eq!(gguf.tensor("output_norm.weight").expect("norm").shape, [576]);
    assert!(gguf.tensor("output.weight").is_none(), "SmolLM2 ties the output projection to the embedding");
    for t in gguf.tensors() {
        assert!(matches!(t.ggml_type, GgmlType::F32 | GgmlType::Q4_1 | GgmlType::Q8_0), "{}: {}", t.name, t.ggml_type);
    }
}

#[test]
fn smollm2_dequantization_matches_the_python_reference() {
    let gguf = GgufFile::open(&default_chat_gguf()).expect("the default GGUF opens");
    // Expected values from the `gguf` Python package 0.19.0:
    //   r = gguf.GGUFReader(path); t = <tensor>; v = gguf.quants.dequantize(t.data, t.tensor_type)
    //   values: v[row, :4]; fingerprint: np.sum(v.reshape(-1).view(np.uint32).astype(np.uint64)
    //           * np.arange(1, v.size + 1, dtype=np.uint64), dtype=np.uint64)
    let cases: [(&str, &[f32], &[f32], u64); 3] = [
        (
            "token_embd.weight",
            &[-0.106_544_495, 0.032_978_058, 0.048_198_7, -0.022_830_963],
            &[-0.023_803_711, -0.015_869_14, -0.039_672_85, 0.015_869_14],
            0x779f_e7cb_39c5_bf80,
        ),
        (
            "blk.0.attn_q.weight",
            &[-0.096_313_48, 0.157_348_63, -0.096_313_48, -0.730_468_75],
            &[-0.117_309_57, -0.117_309_57, -0.192_810_06, 0.260_192_87],
            0x4985_974a_fd7c_1a00,
        ),
        (
            "blk.29.ffn_down.weight",
            &[-0.273_315_43, 0.186_279_3, 0.186_279_3, 0.048_400_88],
            &[-0.332_824_7, -0.094_299_32, 0.144_226_07, 0.144_226_07],
            0xbbdb_33a3_63dc_2000,
        ),
    ];
    for (name, row0, row1, expected_fingerprint) in cases {
        let (shape, values) = gguf.dequantize(name).expect("dequantize");
        let cols = shape[1];
        assert_eq!(&values[..4], row0, "{name} row 0");
        assert_eq!(&values[cols..cols + 4], row1, "{name} row 1");
        assert_eq!(fingerprint(&values), expected_fingerprint, "{name} differs from gguf-py somewhere");
    }
    let (_, norm) = gguf.dequantize("output_norm.weight").expect("norm");
    assert_eq!(norm[0], 1.757_812_5);
    assert_eq!(fingerprint(&norm), 0xa28b_a9da_0000);
}

#[test]
fn smollm2_every_tensor_dequantizes() {
    let gguf = GgufFile::open(&default_chat_gguf()).expect("the default GGUF opens");
    let mut total = 0usize;
    let started = std::time::Instant::now();
    for info in gguf.tensors() {
        let values = gguf.dequantize_tensor(info).expect("dequantize");
        assert_eq!(values.len(), info.element_count(), "{}", info.name);
        assert!(values.iter().all(|v| v.is_finite()), "{} has non-finite values", info.name);
        total += values.len();
    }
    assert_eq!(total, 134_515_008);
    eprintln!("dequantized {total} values in {:?}", started.elapsed());
}
