//! Reader for GGUF, the single-file model format of llama.cpp and ggml (versions 2 and 3).
//!
//! A GGUF file is a header, typed metadata key/values, a table of tensor descriptions, and then
//! the tensor data, each tensor aligned to `general.alignment` bytes. The file is memory-mapped
//! and tensors are handed out as borrowed slices, so opening a multi-gigabyte model costs only
//! the metadata parse; [`GgufFile::dequantize`] turns one tensor into f32 values via [`crate::quant`].
//!
//! Model files come from anywhere, and every count, length and offset in a GGUF file is
//! untrusted. So each length is checked against the bytes actually left *before* anything is
//! allocated, every size computation is checked arithmetic, and every tensor's byte range is
//! checked to lie inside the file once, when the file is opened. Everything later only reads
//! ranges that were validated then.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::ConvertError;
pub use crate::ggml_type::GgmlType;
use crate::quant;

/// "GGUF" read as a little-endian u32.
const MAGIC: u32 = 0x4655_4747;
/// Alignment of tensor data when `general.alignment` is absent (the GGUF spec's default).
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;
/// Arrays of arrays are legal, but real files nest at most once or twice; a cap keeps a hostile
/// file from exhausting the stack with millions of nested 12-byte array headers.
const MAX_ARRAY_NESTING: usize = 8;
/// The smallest possible encodings, used to bound counts by the bytes left in the file before
/// reserving memory for them: a key/value is a key length (8), a type (4) and at least one
/// value byte; a tensor info is a name length (8), a dims count (4), a type (4) and an offset (8).
const MIN_KV_BYTES: u64 = 13;
const MIN_TENSOR_INFO_BYTES: u64 = 24;

/// One metadata value. GGUF arrays may hold any type, including further arrays.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // one variant per GGUF value type, named after it
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<MetaValue>),
}

impl MetaValue {
    /// The value as a non-negative integer, whatever its integer width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v.into()),
            MetaValue::U16(v) => Some(v.into()),
            MetaValue::U32(v) => Some(v.into()),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, whatever its integer width.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetaValue::I8(v) => Some(v.into()),
            MetaValue::I16(v) => Some(v.into()),
            MetaValue::I32(v) => Some(v.into()),
            MetaValue::I64(v) => Some(v),
            MetaValue::U8(v) => Some(v.into()),
            MetaValue::U16(v) => Some(v.into()),
            MetaValue::U32(v) => Some(v.into()),
            MetaValue::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float; integers convert (large 64-bit ones lose precision, as in ggml).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            MetaValue::U64(v) => Some(v as f64),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value if it is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if the value is an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(v) => Some(v),
            _ => None,
        }
    }

    /// The GGUF spec's name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            MetaValue::U8(_) => "uint8",
            MetaValue::I8(_) => "int8",
            MetaValue::U16(_) => "uint16",
            MetaValue::I16(_) => "int16",
            MetaValue::U32(_) => "uint32",
            MetaValue::I32(_) => "int32",
            MetaValue::U64(_) => "uint64",
            MetaValue::I64(_) => "int64",
            MetaValue::F32(_) => "float32",
            MetaValue::F64(_) => "float64",
            MetaValue::Bool(_) => "bool",
            MetaValue::String(_) => "string",
            MetaValue::Array(_) => "array",
        }
    }
}

/// Where one tensor is and what it holds. Produced only by the reader, already validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Element (or block) type of the stored data.
    pub ggml_type: GgmlType,
    /// Dimensions in PyTorch order, outermost first: the reverse of ggml's `ne[]`, so that
    /// `attn_q.weight` is `[out, in]` and `token_embd.weight` is `[vocab, hidden]`.
    pub shape: Vec<usize>,
    /// Absolute byte offset of the data in the file.
    pub offset: u64,
    /// Length of the data in bytes.
    pub byte_len: usize,
}

impl TensorInfo {
    /// Number of elements (1 for a scalar).
    pub fn element_count(&self) -> usize {
        // Checked at open time not to overflow, so the saturating product is exact.
        self.shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d))
    }
}

/// The bytes of the file: memory-mapped when read from disk, owned when parsed from memory.
enum Storage {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(map) => map,
            Storage::Owned(bytes) => bytes,
        }
    }
}

/// An open, validated GGUF file.
pub struct GgufFile {
    path: PathBuf,
    storage: Storage,
    version: u32,
    alignment: u64,
    data_offset: u64,
    metadata: BTreeMap<String, MetaValue>,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, usize>,
}

impl fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The metadata holds whole vocabularies; a summary is what a debug print needs.
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata_keys", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish_non_exhaustive()
    }
}

impl GgufFile {
    /// Memory-maps and parses the GGUF file at `path`, validating every tensor's location.
    pub fn open(path: &Path) -> Result<GgufFile, ConvertError> {
        let file = File::open(path).map_err(|source| ConvertError::Io { path: path.to_owned(), source })?;
        // SAFETY: the mapping is read-only and Onyx never writes model files while reading them.
        // Another process truncating or rewriting the file underneath would break the `&[u8]`
        // invariant; that is the trade-off every memory-mapping model loader (llama.cpp,
        // safetensors) makes in exchange for not copying gigabytes into memory.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| ConvertError::Io { path: path.to_owned(), source })?;
        Self::parse(path.to_owned(), Storage::Mapped(map))
    }

    /// Parses a GGUF image already in memory. `path` is only used to name the data in errors.
    /// Meant for tests and fuzzing; real files should use [`GgufFile::open`], which avoids the copy.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<GgufFile, ConvertError> {
        Self::parse(path.into(), Storage::Owned(bytes))
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Alignment of tensor data in bytes.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute offset of the tensor data section.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// All metadata key/values.
    pub fn metadata(&self) -> &BTreeMap<String, MetaValue> {
        &self.metadata
    }

    /// The value of metadata `key`, if present.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// The string value of `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetaValue::as_str)
    }

    /// The value of `key` as a non-negative integer of any width.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(MetaValue::as_u64)
    }

    /// The value of `key` as a float; integer values convert.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(MetaValue::as_f64)
    }

    /// The value of `key`, if present and a bool.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(MetaValue::as_bool)
    }

    /// The elements of array `key`, if present and an array.
    pub fn get_array(&self, key: &str) -> Option<&[MetaValue]> {
        self.get(key).and_then(MetaValue::as_array)
    }

    /// The elements of `key` if it is an array of strings (`None` if any element is not).
    pub fn get_str_array(&self, key: &str) -> Option<Vec<&str>> {
        self.get_array(key)?.iter().map(MetaValue::as_str).collect()
    }

    /// Tensor descriptions in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name.get(name).and_then(|&i| self.tensors.get(i))
    }

    /// The raw (possibly quantized) bytes of a tensor. Empty if `info` does not describe a range
    /// of this file, which can only happen for a `TensorInfo` made by hand or taken from another file.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> &[u8] {
        let Ok(start) = usize::try_from(info.offset) else { return &[] };
        start.checked_add(info.byte_len).and_then(|end| self.storage.bytes().get(start..end)).unwrap_or(&[])
    }

    /// Dequantized values of tensor `name`, row-major, with its shape in PyTorch order.
    pub fn dequantize(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        let info = self
            .tensor(name)
            .ok_or_else(|| ConvertError::malformed(&self.path, format!("no tensor named '{name}'")))?;
        Ok((info.shape.clone(), self.dequantize_tensor(info)?))
    }

    /// Dequantized values of one tensor described by [`GgufFile::tensors`], row-major.
    pub fn dequantize_tensor(&self, info: &TensorInfo) -> Result<Vec<f32>, ConvertError> {
        let bytes = self.tensor_bytes(info);
        quant::dequantize(info.ggml_type, bytes).map_err(|err| match err {
            quant::DequantError::Unsupported(ty) => ConvertError::unsupported(
                &self.path,
                format!("tensor '{}' has type {ty}, which Onyx cannot dequantize yet", info.name),
            ),
            other => ConvertError::malformed(&self.path, format!("tensor '{}': {other}", info.name)),
        })
    }

    fn parse(path: PathBuf, storage: Storage) -> Result<GgufFile, ConvertError> {
        let bytes = storage.bytes();
        let mut reader = Reader { path: &path, bytes, pos: 0 };

        let magic = u32::from_le_bytes(reader.array(&|| "the GGUF magic".into())?);
        if magic != MAGIC {
            return Err(ConvertError::malformed(
                &path,
                format!("bad magic 0x{magic:08x}: a GGUF file starts with \"GGUF\" (0x{MAGIC:08x})"),
            ));
        }
        let version = reader.u32(&|| "the GGUF version".into())?;
        match version {
            2 | 3 => {}
            1 => {
                return Err(ConvertError::unsupported(
                    &path,
                    "GGUF version 1 (re-convert the model with a newer llama.cpp)",
                ));
            }
            v if matches!(v.swap_bytes(), 2 | 3) => {
                return Err(ConvertError::unsupported(&path, format!("big-endian GGUF (version field 0x{v:08x})")));
            }
            v => {
                return Err(ConvertError::unsupported(
                    &path,
                    format!("GGUF version {v} (Onyx reads versions 2 and 3)"),
                ));
            }
        }

        let tensor_count = reader.u64(&|| "the tensor count".into())?;
        let kv_count = reader.u64(&|| "the metadata key/value count".into())?;
        reader.check_count(kv_count, MIN_KV_BYTES, "metadata key/values")?;
        reader.check_count(tensor_count, MIN_TENSOR_INFO_BYTES, "tensors")?;

        let mut metadata = BTreeMap::new();
        for index in 0..kv_count {
            let key = reader.string(&|| format!("the key of metadata entry {index}"))?;
            let type_id = reader.u32(&|| format!("the type of metadata key '{key}'"))?;
            let value = reader.value(type_id, &key, 0)?;
            if metadata.contains_key(&key) {
                return Err(ConvertError::malformed(&path, format!("metadata key '{key}' appears twice")));
            }
            metadata.insert(key, value);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(value) => match value.as_u64() {
                Some(a) if a.is_power_of_two() => a,
                _ => {
                    return Err(ConvertError::malformed(
                        &path,
                        format!("general.alignment is {value:?}; it must be a power of two"),
                    ));
                }
            },
        };

        // Tensor infos are read first and placed afterwards, because their offsets are relative
        // to the data section, which starts after the last info.
        let mut raw_infos = Vec::with_capacity(usize::try_from(tensor_count).unwrap_or(0));
        for index in 0..tensor_count {
            raw_infos.push(reader.tensor_info(index)?);
        }

        let file_len = bytes.len() as u64;
        let data_offset = align_up(reader.pos as u64, alignment).ok_or_else(|| {
            ConvertError::malformed(&path, format!("data section offset overflows with alignment {alignment}"))
        })?;

        let mut tensors = Vec::with_capacity(raw_infos.len());
        let mut by_name = HashMap::with_capacity(raw_infos.len());
        for raw in raw_infos {
            let info = place_tensor(&path, raw, data_offset, alignment, file_len)?;
            if by_name.insert(info.name.clone(), tensors.len()).is_some() {
                return Err(ConvertError::malformed(&path, format!("tensor '{}' appears twice", info.name)));
            }
            tensors.push(info);
        }

        Ok(GgufFile { path, storage, version, alignment, data_offset, metadata, tensors, by_name })
    }
}

/// A tensor info as stored, before its offset and size are checked against the file.
struct RawTensorInfo {
    name: String,
    ne: Vec<u64>,
    type_id: u32,
    relative_offset: u64,
}

/// Checks a tensor's type, dims, size and location, and turns it into a [`TensorInfo`].
fn place_tensor(
    path: &Path,
    raw: RawTensorInfo,
    data_offset: u64,
    alignment: u64,
    file_len: u64,
) -> Result<TensorInfo, ConvertError> {
    let name = raw.name;
    let ggml_type = GgmlType::from_id(raw.type_id)
        .ok_or_else(|| ConvertError::unsupported(path, format!("unknown tensor type {} for '{name}'", raw.type_id)))?;

    let mut elements: u64 = 1;
    for &dim in &raw.ne {
        elements = elements.checked_mul(dim).ok_or_else(|| {
            ConvertError::malformed(path, format!("tensor '{name}' has dims {:?}, whose product overflows", raw.ne))
        })?;
    }
    let block_size = ggml_type.block_size() as u64;
    // Blocks run along ne[0] (the innermost, contiguous dimension), so every row must hold whole blocks.
    let row = raw.ne.first().copied().unwrap_or(1);
    if !row.is_multiple_of(block_size) {
        return Err(ConvertError::malformed(
            path,
            format!(
                "tensor '{name}' has rows of {row} elements (dims {:?}), \
                 not a multiple of the {ggml_type} block size {block_size}",
                raw.ne
            ),
        ));
    }
    let byte_len = (elements / block_size).checked_mul(ggml_type.block_bytes() as u64).ok_or_else(|| {
        ConvertError::malformed(path, format!("tensor '{name}' with dims {:?} is too large to address", raw.ne))
    })?;

    if !raw.relative_offset.is_multiple_of(alignment) {
        return Err(ConvertError::malformed(
            path,
            format!(
                "tensor '{name}' has offset {} that is not a multiple of the alignment {alignment}",
                raw.relative_offset
            ),
        ));
    }
    let offset = data_offset.checked_add(raw.relative_offset);
    let end = offset.and_then(|o| o.checked_add(byte_len));
    let (Some(offset), Some(end)) = (offset, end) else {
        return Err(ConvertError::malformed(
            path,
            format!("tensor '{name}' has offset {} that overflows", raw.relative_offset),
        ));
    };
    if end > file_len {
        return Err(ConvertError::malformed(
            path,
            format!("truncated: tensor '{name}' data ends at byte {end} but the file has {file_len}"),
        ));
    }

    let too_large = || ConvertError::malformed(path, format!("tensor '{name}' with dims {:?} is too large", raw.ne));
    let byte_len = usize::try_from(byte_len).map_err(|_| too_large())?;
    let shape =
        raw.ne.iter().rev().map(|&d| usize::try_from(d)).collect::<Result<Vec<_>, _>>().map_err(|_| too_large())?;
    Ok(TensorInfo { name, ggml_type, shape, offset, byte_len })
}

fn align_up(pos: u64, alignment: u64) -> Option<u64> {
    // `alignment` is a non-zero power of two, checked when it was read.
    Some(pos.checked_add(alignment - 1)? & !(alignment - 1))
}

/// A bounds-checked cursor over the file. Every read names what it was reading, so a
/// truncated file says where it broke off ("the value of key 'general.name'").
struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
}

/// Describes the item being read, built only when an error needs it.
type What<'w> = &'w dyn Fn() -> String;

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn truncated(&self, needed: u64, what: What<'_>) -> ConvertError {
        ConvertError::malformed(
            self.path,
            format!(
                "truncated: {} needs {needed} bytes at byte {} but the file has {}",
                what(),
                self.pos,
                self.bytes.len()
            ),
        )
    }

    fn take(&mut self, len: u64, what: What<'_>) -> Result<&'a [u8], ConvertError> {
        let slice = usize::try_from(len)
            .ok()
            .and_then(|len| self.pos.checked_add(len))
            .and_then(|end| self.bytes.get(self.pos..end).map(|s| (s, end)));
        match slice {
            Some((slice, end)) => {
                self.pos = end;
                Ok(slice)
            }
            None => Err(self.truncated(len, what)),
        }
    }

    fn array<const N: usize>(&mut self, what: What<'_>) -> Result<[u8; N], ConvertError> {
        let slice = self.take(N as u64, what)?;
        <[u8; N]>::try_from(slice).map_err(|_| self.truncated(N as u64, what))
    }

    fn u32(&mut self, what: What<'_>) -> Result<u32, ConvertError> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: What<'_>) -> Result<u64, ConvertError> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: What<'_>) -> Result<String, ConvertError> {
        let len = self.u64(&|| format!("the length of {}", what()))?;
        let bytes = self.take(len, what)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|err| ConvertError::malformed(self.path, format!("{} is not valid UTF-8 ({err})", what())))?;
        Ok(text.to_owned())
    }

    /// Rejects a count that could not possibly fit in the rest of the file, before any memory
    /// is reserved for it (a header claiming 2^60 tensors must fail here, not in the allocator).
    fn check_count(&self, count: u64, min_bytes_each: u64, what: &str) -> Result<(), ConvertError> {
        let fits = count.checked_mul(min_bytes_each).is_some_and(|needed| needed <= self.remaining() as u64);
        if fits {
            Ok(())
        } else {
            Err(ConvertError::malformed(
                self.path,
                format!(
                    "truncated or corrupt: {count} {what} (at least {min_bytes_each} bytes each) \
                     need more than the {} bytes left after byte {}",
                    self.remaining(),
                    self.pos
                ),
            ))
        }
    }

    /// Reads one value of GGUF type `type_id` for metadata `key`.
    fn value(&mut self, type_id: u32, key: &str, depth: usize) -> Result<MetaValue, ConvertError> {
        let what = || format!("the value of key '{key}'");
        Ok(match type_id {
            0 => MetaValue::U8(u8::from_le_bytes(self.array(&what)?)),
            1 => MetaValue::I8(i8::from_le_bytes(self.array(&what)?)),
            2 => MetaValue::U16(u16::from_le_bytes(self.array(&what)?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.array(&what)?)),
            4 => MetaValue::U32(u32::from_le_bytes(self.array(&what)?)),
            5 => MetaValue::I32(i32::from_le_bytes(self.array(&what)?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.array(&what)?)),
            7 => match u8::from_le_bytes(self.array(&what)?) {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                other => {
                    return Err(ConvertError::malformed(
                        self.path,
                        format!("key '{key}' holds bool byte {other}; only 0 and 1 are valid"),
                    ));
                }
            },
            8 => MetaValue::String(self.string(&what)?),
            9 => self.meta_array(key, depth)?,
            10 => MetaValue::U64(u64::from_le_bytes(self.array(&what)?)),
            11 => MetaValue::I64(i64::from_le_bytes(self.array(&what)?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.array(&what)?)),
            other => {
                return Err(ConvertError::malformed(self.path, format!("unknown value type {other} for key '{key}'")));
            }
        })
    }

    fn meta_array(&mut self, key: &str, depth: usize) -> Result<MetaValue, ConvertError> {
        if depth >= MAX_ARRAY_NESTING {
            return Err(ConvertError::malformed(
                self.path,
                format!("key '{key}' nests arrays deeper than {MAX_ARRAY_NESTING} levels"),
            ));
        }
        let element_type = self.u32(&|| format!("the element type of array '{key}'"))?;
        let count = self.u64(&|| format!("the length of array '{key}'"))?;
        let min_bytes = match element_type {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            8 | 10..=12 => 8,
            9 => 12,
            other => {
                return Err(ConvertError::malformed(
                    self.path,
                    format!("unknown element type {other} for array '{key}'"),
                ));
            }
        };
        self.check_count(count, min_bytes, &format!("elements in array '{key}'"))?;
        // The check above bounds `count` by the file size, so this reservation is bounded too.
        let mut items = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for _ in 0..count {
            items.push(self.value(element_type, key, depth + 1)?);
        }
        Ok(MetaValue::Array(items))
    }

    fn tensor_info(&mut self, index: u64) -> Result<RawTensorInfo, ConvertError> {
        let name = self.string(&|| format!("the name of tensor {index}"))?;
        let n_dims = self.u32(&|| format!("the dims count of tensor '{name}'"))?;
        if n_dims > MAX_DIMS {
            return Err(ConvertError::malformed(
                self.path,
                format!("tensor '{name}' has {n_dims} dimensions; ggml allows at most {MAX_DIMS}"),
            ));
        }
        let mut ne = Vec::with_capacity(MAX_DIMS as usize);
        for axis in 0..n_dims {
            ne.push(self.u64(&|| format!("dimension {axis} of tensor '{name}'"))?);
        }
        let type_id = self.u32(&|| format!("the type of tensor '{name}'"))?;
        let relative_offset = self.u64(&|| format!("the offset of tensor '{name}'"))?;
        Ok(RawTensorInfo { name, ne, type_id, relative_offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ids_round_trip_and_sizes_match_ggml() {
        for ty in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(ty.id()), Some(ty));
        }
        assert_eq!(GgmlType::from_id(4), None, "ids 4 and 5 (q4_2, q4_3) were removed from ggml");
        assert_eq!((GgmlType::Q4_1.block_size(), GgmlType::Q4_1.block_bytes()), (32, 20));
        assert_eq!((GgmlType::Q6K.block_size(), GgmlType::Q6K.block_bytes()), (256, 210));
    }

    #[test]
    fn integer_metadata_reads_as_unsigned_and_float() {
        assert_eq!(MetaValue::I32(7).as_u64(), Some(7));
        assert_eq!(MetaValue::I32(-7).as_u64(), None);
        assert_eq!(MetaValue::U8(3).as_f64(), Some(3.0));
        assert_eq!(MetaValue::String("3".into()).as_u64(), None);
    }

    #[test]
    fn gguf_file_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<GgufFile>();
    }

    #[test]
    fn align_up_rounds_to_the_next_multiple() {
        assert_eq!(align_up(0, 32), Some(0));
        assert_eq!(align_up(33, 32), Some(64));
        assert_eq!(align_up(u64::MAX - 3, 32), None);
    }
}
