//! A minimal ONNX protobuf writer.
//!
//! ONNX files are protobuf `ModelProto` messages. Onyx only ever *writes* a known subset of the
//! schema, so instead of pulling in a protobuf code generator (and `protoc`) this module encodes
//! the handful of messages directly. Field numbers follow `onnx/onnx.proto3`; each one is named
//! next to its use so the mapping can be checked against the schema.

/// Element types of ONNX tensors (`TensorProto.DataType`), limited to the ones Onyx emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum DataType {
    /// 32-bit IEEE float.
    Float = 1,
    /// Unsigned 8-bit integer (quantized weights, zero points).
    Uint8 = 2,
    /// Signed 8-bit integer.
    Int8 = 3,
    /// Unsigned 16-bit integer (the 16-bit activations of QDQ graphs for NPUs; opset 21).
    Uint16 = 4,
    /// Signed 32-bit integer.
    Int32 = 6,
    /// Signed 64-bit integer (shapes, token ids).
    Int64 = 7,
    /// 16-bit IEEE float.
    Float16 = 10,
}

impl DataType {
    /// Size of one element in bytes, used to check raw tensor payloads.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DataType::Uint8 | DataType::Int8 => 1,
            DataType::Float16 | DataType::Uint16 => 2,
            DataType::Float | DataType::Int32 => 4,
            DataType::Int64 => 8,
        }
    }
}

/// One dimension of a graph input or output: fixed, or named and dynamic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size (what NPUs need).
    Fixed(i64),
    /// A symbolic size such as `batch` or `sequence`.
    Named(String),
}

impl From<i64> for Dim {
    fn from(value: i64) -> Self {
        Dim::Fixed(value)
    }
}

impl From<&str> for Dim {
    fn from(value: &str) -> Self {
        Dim::Named(value.to_owned())
    }
}

/// A typed graph input or output (`ValueInfoProto`).
#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    /// Tensor name, as used by node inputs and outputs.
    pub name: String,
    /// Element type.
    pub data_type: DataType,
    /// Shape; `None` leaves the rank unknown.
    pub shape: Option<Vec<Dim>>,
}

impl ValueInfo {
    /// A tensor value with the given element type and shape.
    pub fn tensor(name: impl Into<String>, data_type: DataType, shape: impl IntoIterator<Item = Dim>) -> Self {
        Self { name: name.into(), data_type, shape: Some(shape.into_iter().collect()) }
    }
}

/// A constant tensor stored in the graph (`TensorProto` with `raw_data`).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Initializer name.
    pub name: String,
    /// Element type.
    pub data_type: DataType,
    /// Dimensions; empty for a scalar.
    pub dims: Vec<i64>,
    /// Little-endian element bytes, as ONNX's `raw_data` requires. Empty when `external` is set.
    pub raw: Vec<u8>,
    /// Where the bytes live when they are stored outside the model file.
    pub external: Option<ExternalData>,
}

/// A tensor's bytes in a separate data file (ONNX "external data"), so that several graphs can
/// share one copy of the weights and a model can pass protobuf's 2 GB limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalData {
    /// Data file name, relative to the model file.
    pub location: String,
    /// Byte offset in the data file.
    pub offset: u64,
    /// Byte length.
    pub length: u64,
}

impl Tensor {
    /// An f32 tensor. The caller guarantees `values.len()` matches `dims`; [`Model::encode`]
    /// does not re-check, so builders check at construction instead.
    pub fn f32(name: impl Into<String>, dims: &[i64], values: &[f32]) -> Self {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self { name: name.into(), data_type: DataType::Float, dims: dims.to_vec(), raw, external: None }
    }

    /// An i64 tensor (shapes, axes, indices).
    pub fn i64(name: impl Into<String>, dims: &[i64], values: &[i64]) -> Self {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self { name: name.into(), data_type: DataType::Int64, dims: dims.to_vec(), raw, external: None }
    }

    /// A tensor from already-encoded little-endian bytes.
    pub fn raw(name: impl Into<String>, data_type: DataType, dims: &[i64], raw: Vec<u8>) -> Self {
        Self { name: name.into(), data_type, dims: dims.to_vec(), raw, external: None }
    }

    /// A uint8 tensor (packed 4-bit weights, zero points).
    pub fn u8(name: impl Into<String>, dims: &[i64], values: Vec<u8>) -> Self {
        Self::raw(name, DataType::Uint8, dims, values)
    }

    /// A uint16 tensor (zero points of 16-bit activations).
    pub fn u16(name: impl Into<String>, dims: &[i64], values: &[u16]) -> Self {
        Self::raw(name, DataType::Uint16, dims, values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// An int8 tensor.
    pub fn i8(name: impl Into<String>, dims: &[i64], values: &[i8]) -> Self {
        Self::raw(name, DataType::Int8, dims, values.iter().map(|&v| v as u8).collect())
    }

    /// Number of elements implied by `dims`.
    pub fn element_count(&self) -> usize {
        self.dims.iter().map(|&d| usize::try_from(d).unwrap_or(0)).product()
    }
}

/// A node attribute value (`AttributeProto`).
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// `FLOAT`
    Float(f32),
    /// `INT`
    Int(i64),
    /// `STRING`
    String(String),
    /// `FLOATS`
    Floats(Vec<f32>),
    /// `INTS`
    Ints(Vec<i64>),
    /// `TENSOR`
    Tensor(Tensor),
}

/// One operator application (`NodeProto`).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique node name; placement reports refer to nodes by it.
    pub name: String,
    /// Operator type, e.g. `MatMul`.
    pub op_type: String,
    /// Operator domain; empty for the standard `ai.onnx` domain.
    pub domain: String,
    /// Input tensor names (an empty string marks an omitted optional input).
    pub inputs: Vec<String>,
    /// Output tensor names.
    pub outputs: Vec<String>,
    /// Attributes in a stable order, so the same graph always encodes to the same bytes.
    pub attributes: Vec<(String, AttributeValue)>,
}

impl Node {
    /// A standard-domain node.
    pub fn new(op_type: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            op_type: op_type.to_owned(),
            domain: String::new(),
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
            outputs: outputs.iter().map(|s| (*s).to_owned()).collect(),
            attributes: Vec::new(),
        }
    }

    /// Sets the operator domain (e.g. `com.microsoft`, `ai.onnx.ml`).
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = domain.to_owned();
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &str, value: AttributeValue) -> Self {
        self.attributes.push((name.to_owned(), value));
        self
    }
}

/// A computation graph (`GraphProto`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// Graph name.
    pub name: String,
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// Graph inputs.
    pub inputs: Vec<ValueInfo>,
    /// Graph outputs.
    pub outputs: Vec<ValueInfo>,
    /// Constant tensors.
    pub initializers: Vec<Tensor>,
}

/// A complete model (`ModelProto`).
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The graph.
    pub graph: Graph,
    /// Operator set imports as (domain, version); `""` is the standard domain.
    pub opsets: Vec<(String, i64)>,
    /// Free-form key/value metadata (`metadata_props`).
    pub metadata: Vec<(String, String)>,
}

/// The ONNX IR version a model of standard-domain `opset` declares: 8 up to opset 18, which
/// every ONNX Runtime Onyx supports reads; 10 for opsets 21 and 22 (16-bit `QuantizeLinear`)
/// and 11 from opset 23 (`RMSNormalization`), as ONNX pairs them: its checker and ORT refuse a
/// model whose IR version is older than its opset.
fn ir_version(opset: i64) -> i64 {
    match opset {
        23.. => 11,
        21.. => 10,
        _ => 8,
    }
}

impl Model {
    /// A model importing the standard domain at `opset`.
    pub fn new(graph: Graph, opset: i64) -> Self {
        Self { graph, opsets: vec![(String::new(), opset)], metadata: Vec::new() }
    }

    /// Imports another operator domain (e.g. `("ai.onnx.ml", 3)`).
    pub fn with_opset(mut self, domain: &str, version: i64) -> Self {
        self.opsets.push((domain.to_owned(), version));
        self
    }

    /// Serializes the model to ONNX protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::default();
        let opset = self.opsets.iter().find(|(domain, _)| domain.is_empty()).map_or(0, |(_, v)| *v);
        out.int(1, ir_version(opset)); // ir_version
        for (domain, version) in &self.opsets {
            out.message(8, |m| {
                // opset_import
                m.string(1, domain);
                m.int(2, *version);
            });
        }
        out.string(2, "onyx"); // producer_name
        out.string(3, env!("CARGO_PKG_VERSION")); // producer_version
        out.message(7, |m| encode_graph(m, &self.graph)); // graph
        for (key, value) in &self.metadata {
            out.message(14, |m| {
                // metadata_props: StringStringEntryProto
                m.string(1, key);
                m.string(2, value);
            });
        }
        out.bytes
    }
}

fn encode_graph(out: &mut Writer, graph: &Graph) {
    for node in &graph.nodes {
        out.message(1, |m| encode_node(m, node));
    }
    out.string(2, &graph.name);
    for tensor in &graph.initializers {
        out.message(5, |m| encode_tensor(m, tensor));
    }
    for input in &graph.inputs {
        out.message(11, |m| encode_value_info(m, input));
    }
    for output in &graph.outputs {
        out.message(12, |m| encode_value_info(m, output));
    }
}

fn encode_node(out: &mut Writer, node: &Node) {
    for input in &node.inputs {
        out.string(1, input);
    }
    for output in &node.outputs {
        out.string(2, output);
    }
    out.string(3, &node.name);
    out.string(4, &node.op_type);
    for (name, value) in &node.attributes {
        out.message(5, |m| encode_attribute(m, name, value));
    }
    if !node.domain.is_empty() {
        out.string(7, &node.domain);
    }
}

fn encode_attribute(out: &mut Writer, name: &str, value: &AttributeValue) {
    out.string(1, name);
    // AttributeProto.type (field 20) tells readers which value field to look at.
    match value {
        AttributeValue::Float(f) => {
            out.float(2, *f);
            out.int(20, 1);
        }
        AttributeValue::Int(i) => {
            out.int(3, *i);
            out.int(20, 2);
        }
        AttributeValue::String(s) => {
            out.string(4, s);
            out.int(20, 3);
        }
        AttributeValue::Tensor(t) => {
            out.message(5, |m| encode_tensor(m, t));
            out.int(20, 4);
        }
        AttributeValue::Floats(values) => {
            out.packed_floats(7, values);
            out.int(20, 6);
        }
        AttributeValue::Ints(values) => {
            out.packed_ints(8, values);
            out.int(20, 7);
        }
    }
}

fn encode_tensor(out: &mut Writer, tensor: &Tensor) {
    out.packed_ints(1, &tensor.dims); // dims
    out.int(2, tensor.data_type as i64); // data_type
    out.string(8, &tensor.name); // name
    match &tensor.external {
        None => out.len_delimited(9, &tensor.raw), // raw_data
        Some(external) => {
            for (key, value) in [
                ("location", external.location.clone()),
                ("offset", external.offset.to_string()),
                ("length", external.length.to_string()),
            ] {
                out.message(13, |entry| {
                    // external_data: StringStringEntryProto
                    entry.string(1, key);
                    entry.string(2, &value);
                });
            }
            out.int(14, 1); // data_location: EXTERNAL
        }
    }
}

/// Moves every initializer of at least `threshold` bytes out of `models` into one data blob,
/// each tensor stored once even when several graphs hold it under the same name (the npu
/// variant's prefill and decode graphs share their weights this way). Offsets are aligned to
/// 4 KiB so ONNX Runtime can memory-map the file. Returns the blob to write as `location`.
pub fn externalize(models: &mut [&mut Model], location: &str, threshold: usize) -> Vec<u8> {
    const ALIGN: usize = 4096;
    let mut blob: Vec<u8> = Vec::new();
    let mut placed: std::collections::HashMap<String, ExternalData> = std::collections::HashMap::new();
    for model in models.iter_mut() {
        for tensor in &mut model.graph.initializers {
            if tensor.external.is_some() || tensor.raw.len() < threshold {
                continue;
            }
            let external = match placed.get(&tensor.name) {
                Some(existing) if existing.length == tensor.raw.len() as u64 => existing.clone(),
                _ => {
                    blob.resize(blob.len().next_multiple_of(ALIGN), 0);
                    let external = ExternalData {
                        location: location.to_owned(),
                        offset: blob.len() as u64,
                        length: tensor.raw.len() as u64,
                    };
                    blob.extend_from_slice(&tensor.raw);
                    placed.insert(tensor.name.clone(), external.clone());
                    external
                }
            };
            tensor.raw = Vec::new();
            tensor.external = Some(external);
        }
    }
    blob
}

fn encode_value_info(out: &mut Writer, info: &ValueInfo) {
    out.string(1, &info.name);
    out.message(2, |type_proto| {
        type_proto.message(1, |tensor_type| {
            tensor_type.int(1, info.data_type as i64); // elem_type
            if let Some(shape) = &info.shape {
                tensor_type.message(2, |shape_proto| {
                    for dim in shape {
                        shape_proto.message(1, |d| match dim {
                            Dim::Fixed(size) => d.int(1, *size),
                            Dim::Named(name) => d.string(2, name),
                        });
                    }
                });
            }
        });
    });
}

/// Protobuf wire-format encoder for the three wire types ONNX needs.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    /// int32/int64/enum fields: negative values are sign-extended to 64 bits, as protobuf requires.
    fn int(&mut self, field: u32, value: i64) {
        self.key(field, 0);
        self.varint(value as u64);
    }

    fn float(&mut self, field: u32, value: f32) {
        self.key(field, 5);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn len_delimited(&mut self, field: u32, payload: &[u8]) {
        self.key(field, 2);
        self.varint(payload.len() as u64);
        self.bytes.extend_from_slice(payload);
    }

    fn string(&mut self, field: u32, value: &str) {
        self.len_delimited(field, value.as_bytes());
    }

    fn packed_ints(&mut self, field: u32, values: &[i64]) {
        if values.is_empty() {
            return;
        }
        let mut inner = Writer::default();
        for &v in values {
            inner.varint(v as u64);
        }
        self.len_delimited(field, &inner.bytes);
    }

    fn packed_floats(&mut self, field: u32, values: &[f32]) {
        let payload: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.len_delimited(field, &payload);
    }

    fn message(&mut self, field: u32, build: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        build(&mut inner);
        self.len_delimited(field, &inner.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_spec() {
        let mut w = Writer::default();
        w.varint(300);
        assert_eq!(w.bytes, [0xAC, 0x02]);
        let mut w = Writer::default();
        w.int(1, -1);
        // Negative int64 values take ten bytes on the wire.
        assert_eq!(w.bytes.len(), 1 + 10);
    }

    #[test]
    fn tensor_encodes_dims_type_name_and_raw_data() {
        let mut w = Writer::default();
        encode_tensor(&mut w, &Tensor::f32("w", &[2], &[1.0, 2.0]));
        let expected: Vec<u8> = [
            vec![0x0A, 0x01, 0x02], // dims: packed [2]
            vec![0x10, 0x01],       // data_type: FLOAT
            vec![0x42, 0x01, b'w'], // name
            vec![0x4A, 0x08],       // raw_data, 8 bytes
            1.0f32.to_le_bytes().to_vec(),
            2.0f32.to_le_bytes().to_vec(),
        ]
        .concat();
        assert_eq!(w.bytes, expected);
    }
}
