//! Hugging Face safetensors checkpoints, single-file or sharded, read with the `safetensors`
//! crate (Hugging Face's own reader).
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header mapping tensor
//! names to `{dtype, shape, data_offsets}`, then the raw little-endian tensor bytes. Files are
//! memory-mapped, so opening a multi-gigabyte checkpoint costs nothing until a tensor is read,
//! and only that tensor is ever copied (into an `f32` vector).
//!
//! Checkpoints come from anywhere, so nothing in a header is trusted. The crate checks, once, in
//! [`SafeTensors::open`], that the header length fits the file, that the tensors' offsets tile
//! the data region exactly, and that each tensor's byte length is its element count times its
//! element size; so later reads cannot go out of bounds. Its errors are reported with the file.
//!
//! Sharded checkpoints (`model.safetensors.index.json` with a `weight_map` from tensor name to
//! shard file) open as one [`SafeTensors`] whose tensors span all shards.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::SafeTensorError;
use serde::Deserialize;

use crate::ConvertError;

/// File name of a single-file checkpoint inside a model folder.
pub const SINGLE_FILE: &str = "model.safetensors";
/// File name of a sharded checkpoint's index inside a model folder.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// The safetensors crate refuses headers above 100 MB: a larger one is damage or an attack, not
/// a checkpoint.
const MAX_HEADER_BYTES: u64 = 100 * 1024 * 1024;

/// Element types a safetensors header can declare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit IEEE float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// bfloat16: the top half of an f32.
    Bf16,
    /// Any other dtype (`I64`, `U8`, `F8_E4M3`, ...): its bytes are checked when its size is
    /// known, but it cannot be read as floats.
    Other(String),
}

impl Dtype {
    fn from_header(dtype: safetensors::Dtype) -> Self {
        match dtype {
            safetensors::Dtype::F32 => Dtype::F32,
            safetensors::Dtype::F16 => Dtype::F16,
            safetensors::Dtype::BF16 => Dtype::Bf16,
            other => Dtype::Other(other.to_string()),
        }
    }

    /// Bytes per element, or `None` for dtypes this reader does not know the size of (newer
    /// sub-byte formats), whose byte lengths are then not checked.
    pub fn size_in_bytes(&self) -> Option<usize> {
        match self {
            Dtype::F32 => Some(4),
            Dtype::F16 | Dtype::Bf16 => Some(2),
            Dtype::Other(name) => match name.as_str() {
                "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => Some(1),
                "I16" | "U16" => Some(2),
                "I32" | "U32" => Some(4),
                "I64" | "U64" | "F64" => Some(8),
                _ => None,
            },
        }
    }

    /// The name used in safetensors headers.
    pub fn name(&self) -> &str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::Bf16 => "BF16",
            Dtype::Other(name) => name,
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where one tensor lives. Offsets are absolute positions in its shard's mapping, already
/// checked against the file, so slicing with them cannot fail.
#[derive(Clone, Debug)]
struct TensorEntry {
    shard: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

struct Shard {
    path: PathBuf,
    map: Mmap,
}

/// An opened checkpoint: one file or several shards, with every header checked.
pub struct SafeTensors {
    /// The file the user pointed at: the single file or the index.
    source: PathBuf,
    shards: Vec<Shard>,
    tensors: BTreeMap<String, TensorEntry>,
}

impl std::fmt::Debug for SafeTensors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeTensors")
            .field("source", &self.source)
            .field("shards", &self.shards.iter().map(|s| &s.path).collect::<Vec<_>>())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

impl SafeTensors {
    /// Opens a checkpoint. `path` may be a `.safetensors` file, a `.safetensors.index.json`
    /// index, or a folder holding `model.safetensors` or `model.safetensors.index.json`.
    pub fn open(path: &Path) -> Result<Self, ConvertError> {
        let file = if path.is_dir() {
            let single = path.join(SINGLE_FILE);
            let index = path.join(INDEX_FILE);
            if single.is_file() {
                single
            } else if index.is_file() {
                index
            } else {
                let source = std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("the folder holds neither {SINGLE_FILE} nor {INDEX_FILE}"),
                );
                return Err(ConvertError::Io { path: path.to_path_buf(), source });
            }
        } else {
            path.to_path_buf()
        };
        if file.to_string_lossy().ends_with(".json") { Self::open_index(&file) } else { Self::open_single(&file) }
    }

    fn open_single(path: &Path) -> Result<Self, ConvertError> {
        let mut tensors = BTreeMap::new();
        let shard = read_shard(path, 0, &mut tensors)?;
        Ok(Self { source: path.to_path_buf(), shards: vec![shard], tensors })
    }

    fn open_index(path: &Path) -> Result<Self, ConvertError> {
        let bytes = std::fs::read(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| ConvertError::malformed(path, format!("not a safetensors index: {e}")))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let shard_names: BTreeSet<&String> = index.weight_map.values().collect();
        let mut shards = Vec::new();
        let mut tensors = BTreeMap::new();
        for name in shard_names {
            // Shard names are joined onto the index's folder; one that climbs out of it is not
            // part of this checkpoint.
            let relative = Path::new(name);
            if relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                return Err(ConvertError::malformed(path, format!("shard name '{name}' is not a plain file name")));
            }
            let shard = read_shard(&folder.join(relative), shards.len(), &mut tensors)?;
            shards.push(shard);
        }
        for (tensor, shard_name) in &index.weight_map {
            let Some(entry) = tensors.get(tensor) else {
                return Err(ConvertError::malformed(
                    path,
                    format!("weight_map puts tensor '{tensor}' in {shard_name}, but that shard does not hold it"),
                ));
            };
            let actual = shards.get(entry.shard).map(|s| s.path.as_path()).unwrap_or(Path::new("?"));
            if actual.file_name() != Some(std::ffi::OsStr::new(shard_name)) {
                return Err(ConvertError::malformed(
                    path,
                    format!("weight_map puts tensor '{tensor}' in {shard_name}, but it is in {}", actual.display()),
                ));
            }
        }
        Ok(Self { source: path.to_path_buf(), shards, tensors })
    }

    /// The file this checkpoint was opened from (the single file, or the index).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Every shard file, in the order they were opened (one entry for a single-file checkpoint).
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.shards.iter().map(|s| s.path.as_path())
    }

    /// Tensor names, sorted.
    pub fn tensor_names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Whether the checkpoint holds `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape of `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// The dtype of `name`, if present.
    pub fn dtype(&self, name: &str) -> Option<&Dtype> {
        self.tensors.get(name).map(|t| &t.dtype)
    }

    /// The shard file holding `name`, for error messages about that tensor.
    pub fn file_of(&self, name: &str) -> Option<&Path> {
        self.tensors.get(name).and_then(|t| self.shards.get(t.shard)).map(|s| s.path.as_path())
    }

    /// The raw little-endian bytes of `name`, borrowed from the mapping.
    pub fn bytes(&self, name: &str) -> Result<&[u8], ConvertError> {
        let entry = self.entry(name)?;
        let shard = self.shard(entry)?;
        // Offsets were checked against the mapping's length when the header was read.
        shard
            .map
            .get(entry.start..entry.end)
            .ok_or_else(|| ConvertError::malformed(&shard.path, format!("tensor '{name}' lies outside the file")))
    }

    /// Reads `name` as `f32` values (converting F16 and BF16 exactly), with its shape.
    pub fn to_f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        let entry = self.entry(name)?;
        let shard = self.shard(entry)?;
        let bytes = self.bytes(name)?;
        let values = match &entry.dtype {
            Dtype::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::Bf16 => bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::Other(dtype) => {
                return Err(ConvertError::unsupported(
                    &shard.path,
                    format!("tensor '{name}' has dtype {dtype}; only F32, F16 and BF16 can be read as floats"),
                ));
            }
        };
        Ok((entry.shape.clone(), values))
    }

    fn entry(&self, name: &str) -> Result<&TensorEntry, ConvertError> {
        self.tensors
            .get(name)
            .ok_or_else(|| ConvertError::malformed(&self.source, format!("tensor '{name}' is missing")))
    }

    fn shard(&self, entry: &TensorEntry) -> Result<&Shard, ConvertError> {
        self.shards
            .get(entry.shard)
            .ok_or_else(|| ConvertError::malformed(&self.source, format!("shard #{} is missing", entry.shard)))
    }
}

/// Maps one file, checks its header, and adds its tensors to `tensors` under shard number `shard`.
fn read_shard(path: &Path, shard: usize, tensors: &mut BTreeMap<String, TensorEntry>) -> Result<Shard, ConvertError> {
    let file = File::open(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
    // SAFETY: the mapping is read-only and lives as long as this `Shard`. Another process
    // truncating or rewriting the checkpoint while it is converted could change the bytes under
    // us; that is the accepted caveat of every mmap-based reader (safetensors' own included), and
    // all offsets were checked against the length seen here, so reads stay inside the mapping.
    let map = unsafe { Mmap::map(&file) }.map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
    let (header_len, metadata) =
        safetensors::SafeTensors::read_metadata(&map).map_err(|error| header_error(path, &map, error))?;
    let data_start = 8 + header_len;
    for (name, info) in metadata.tensors() {
        let (begin, end) = info.data_offsets;
        let entry = TensorEntry {
            shard,
            dtype: Dtype::from_header(info.dtype),
            shape: info.shape.clone(),
            start: data_start + begin,
            end: data_start + end,
        };
        if tensors.insert(name.clone(), entry).is_some() {
            return Err(ConvertError::malformed(path, format!("tensor '{name}' appears in more than one shard")));
        }
    }
    Ok(Shard { path: path.to_path_buf(), map })
}

/// The crate's verdict on a header, with what the file itself says where that helps.
fn header_error(path: &Path, map: &[u8], error: SafeTensorError) -> ConvertError {
    let file_len = map.len();
    let header_len = map.get(..8).and_then(|bytes| bytes.try_into().ok()).map(u64::from_le_bytes);
    let problem = match (&error, header_len) {
        (SafeTensorError::HeaderTooSmall, _) => {
            format!("file is {file_len} bytes, too short for the 8-byte header length")
        }
        (SafeTensorError::HeaderTooLarge, Some(n)) => {
            format!("header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
        }
        (SafeTensorError::InvalidHeaderLength, Some(n)) => {
            format!("header length {n} runs past the end of the {file_len}-byte file")
        }
        (SafeTensorError::InvalidHeader(_) | SafeTensorError::InvalidHeaderDeserialization(_), _) => {
            format!("header is not a JSON object of tensors: {error}")
        }
        _ => format!("invalid header: {error}"),
    };
    ConvertError::malformed(path, problem)
}

/// One tensor to write with [`write_f32`].
#[derive(Clone, Copy, Debug)]
pub struct F32Tensor<'a> {
    /// Tensor name.
    pub name: &'a str,
    /// Shape.
    pub shape: &'a [usize],
    /// Row-major values; their count must match `shape`.
    pub values: &'a [f32],
}

/// Writes F32 tensors as a safetensors file. Onyx never writes checkpoints for users; this exists
/// so tests and fixture scripts can make small checkpoints without Python.
pub fn write_f32(path: &Path, tensors: &[F32Tensor<'_>]) -> Result<(), ConvertError> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for tensor in tensors {
        let elements: usize = tensor.shape.iter().product();
        if elements != tensor.values.len() {
            return Err(ConvertError::malformed(
                path,
                format!("tensor '{}' has {} values for shape {:?}", tensor.name, tensor.values.len(), tensor.shape),
            ));
        }
        let end = offset + 4 * elements;
        header.insert(
            tensor.name.to_owned(),
            serde_json::json!({ "dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut header_bytes = serde_json::Value::Object(header).to_string().into_bytes();
    // The format asks for the data region to start 8-byte aligned; spaces are valid JSON padding.
    while !header_bytes.len().is_multiple_of(8) {
        header_bytes.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + header_bytes.len() + offset);
    bytes.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header_bytes);
    for tensor in tensors {
        bytes.extend(tensor.values.iter().flat_map(|v| v.to_le_bytes()));
    }
    std::fs::write(path, bytes).map_err(|source| ConvertError::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with the given header text and data bytes.
    fn raw_file(dir: &Path, name: &str, header: &str, data: &[u8]) -> PathBuf {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    fn error_of(path: &Path) -> String {
        SafeTensors::open(path).expect_err("must fail").to_string()
    }

    #[test]
    fn reads_f32_f16_and_bf16_and_keeps_other_dtypes_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut data = Vec::new();
        data.extend([1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()));
        data.extend(half::f16::from_f32(0.25).to_le_bytes());
        data.extend(half::bf16::from_f32(-3.0).to_le_bytes());
        data.extend(7i64.to_le_bytes());
        let header = r#"{"__metadata__":{"format":"pt"},
            "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
            "h":{"dtype":"F16","shape":[1,1],"data_offsets":[8,10]},
            "b":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},
            "ids":{"dtype":"I64","shape":[1],"data_offsets":[12,20]}}"#;
        let path = raw_file(dir.path(), "m.safetensors", header, &data);
        let st = SafeTensors::open(&path).expect("open");
        assert_eq!(st.tensor_names().collect::<Vec<_>>(), ["a", "b", "h", "ids"]);
        assert_eq!(st.to_f32("a").expect("a"), (vec![2], vec![1.5, -2.0]));
        assert_eq!(st.to_f32("h").expect("h"), (vec![1, 1], vec![0.25]));
        assert_eq!(st.to_f32("b").expect("b"), (vec![1], vec![-3.0]));
        assert_eq!(st.shape("ids"), Some(&[1usize][..]));
        let err = st.to_f32("ids").expect_err("I64 is not float").to_string();
        assert!(err.contains("m.safetensors") && err.contains("'ids'") && err.contains("I64"), "{err}");
        let err = st.to_f32("nope").expect_err("missing").to_string();
        assert!(err.contains("'nope' is missing"), "{err}");
    }

    #[test]
    fn the_writer_round_trips_and_a_folder_opens_its_model_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SINGLE_FILE);
        let tensors = [
            F32Tensor { name: "w", shape: &[2, 3], values: &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0] },
            F32Tensor { name: "b", shape: &[1], values: &[0.5] },
        ];
        write_f32(&path, &tensors).expect("write");
        let st = SafeTensors::open(dir.path()).expect("open folder");
        assert_eq!(st.source(), path);
        assert_eq!(st.to_f32("w").expect("w"), (vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        assert_eq!(st.to_f32("b").expect("b"), (vec![1], vec![0.5]));
        let bad = [F32Tensor { name: "x", shape: &[2], values: &[1.0] }];
        assert!(write_f32(&dir.path().join("bad.safetensors"), &bad).is_err());
    }

    #[test]
    fn damaged_headers_are_rejected_naming_the_file_and_the_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let short = dir.path().join("short.safetensors");
        std::fs::write(&short, [1, 2, 3]).expect("write");
        let err = error_of(&short);
        assert!(err.contains("short.safetensors") && err.contains("3 bytes"), "{err}");

        let beyond = dir.path().join("beyond.safetensors");
        let mut bytes = 1000u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        std::fs::write(&beyond, bytes).expect("write");
        let err = error_of(&beyond);
        assert!(err.contains("beyond.safetensors") && err.contains("header length 1000"), "{err}");

        let huge = dir.path().join("huge.safetensors");
        std::fs::write(&huge, u64::MAX.to_le_bytes()).expect("write");
        assert!(error_of(&huge).contains("exceeds"));

        let truncated = raw_file(dir.path(), "truncated.safetensors", r#"{"a":{"dtype":"F32","#, &[]);
        let err = error_of(&truncated);
        assert!(err.contains("truncated.safetensors") && err.contains("not a JSON object"), "{err}");

        let not_json = raw_file(dir.path(), "bad.safetensors", "hello world", &[]);
        assert!(error_of(&not_json).contains("not a JSON object"));

        let missing_field = raw_file(dir.path(), "field.safetensors", r#"{"a":{"dtype":"F32","shape":[1]}}"#, &[0; 4]);
        let err = error_of(&missing_field);
        assert!(err.contains("field.safetensors") && err.contains("missing field `data_offsets`"), "{err}");

        let header = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let out_of_range = raw_file(dir.path(), "range.safetensors", header, &[0; 8]);
        let err = error_of(&out_of_range);
        assert!(err.contains("range.safetensors") && err.contains("not fully covered"), "{err}");

        let header = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[12,4]}}"#;
        let reversed = raw_file(dir.path(), "reversed.safetensors", header, &[0; 16]);
        let err = error_of(&reversed);
        assert!(err.contains("reversed.safetensors") && err.contains("invalid offset for tensor `a`"), "{err}");

        let header = r#"{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,16]}}"#;
        let mismatch = raw_file(dir.path(), "mismatch.safetensors", header, &[0; 16]);
        let err = error_of(&mismatch);
        assert!(err.contains("mismatch.safetensors") && err.contains("invalid shape, data type, or offset"), "{err}");

        let header = r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#;
        let negative = raw_file(dir.path(), "negative.safetensors", header, &[0; 4]);
        assert!(error_of(&negative).contains("negative.safetensors"));

        let header = format!(r#"{{"a":{{"dtype":"F32","shape":[{},{}],"data_offsets":[0,4]}}}}"#, u64::MAX, 2);
        let overflow = raw_file(dir.path(), "overflow.safetensors", &header, &[0; 4]);
        let err = error_of(&overflow);
        assert!(err.contains("overflow.safetensors") && err.contains("overflow computing buffer size"), "{err}");

        let empty_dir = tempfile::tempdir().expect("tempdir");
        let err = error_of(empty_dir.path());
        assert!(err.contains(INDEX_FILE), "{err}");
    }

    #[test]
    fn sharded_checkpoints_span_their_shards_and_missing_shards_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let part = |name: &str, tensor: &str, value: f32| {
            let t = [F32Tensor { name: tensor, shape: &[1], values: &[value] }];
            write_f32(&dir.path().join(name), &t).expect("shard");
        };
        part("model-00001-of-00002.safetensors", "x", 1.0);
        part("model-00002-of-00002.safetensors", "y", 2.0);
        let index = r#"{"metadata":{"total_size":8},"weight_map":{
            "x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#;
        std::fs::write(dir.path().join(INDEX_FILE), index).expect("index");
        let st = SafeTensors::open(dir.path()).expect("open sharded");
        assert_eq!(st.to_f32("y").expect("y").1, [2.0]);
        assert!(st.file_of("x").expect("x").ends_with("model-00001-of-00002.safetensors"));
        assert_eq!(st.files().count(), 2);

        let wrong = r#"{"weight_map":{"x":"model-00002-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#;
        let wrong_path = dir.path().join("wrong.safetensors.index.json");
        std::fs::write(&wrong_path, wrong).expect("index");
        let err = error_of(&wrong_path);
        assert!(err.contains("'x'") && err.contains("does not hold it"), "{err}");

        let missing = r#"{"weight_map":{"x":"model-00003-of-00003.safetensors"}}"#;
        let missing_path = dir.path().join("missing.safetensors.index.json");
        std::fs::write(&missing_path, missing).expect("index");
        let err = error_of(&missing_path);
        assert!(err.contains("model-00003-of-00003.safetensors"), "{err}");

        let escape = r#"{"weight_map":{"x":"../x.safetensors"}}"#;
        let escape_path = dir.path().join("escape.safetensors.index.json");
        std::fs::write(&escape_path, escape).expect("index");
        assert!(error_of(&escape_path).contains("not a plain file name"));

        let not_index = dir.path().join("junk.safetensors.index.json");
        std::fs::write(&not_index, "{\"weight_map\": 3}").expect("index");
        assert!(error_of(&not_index).contains("not a safetensors index"));
    }
}
