//! How much of a model's arithmetic each EP runs: the weight multiply-accumulates (MACs) of every
//! matrix product, read from the ONNX file itself and matched to ORT's placement by node name.
//!
//! A node share alone can lie by omission: a graph can have 89 % of its nodes on an NPU while
//! every weight is dequantized and multiplied on the CPU. What costs time in a language or
//! embedding model is its weight products, so the report counts, per EP, the multiply-accumulates
//! those products do for one token (one row of activations): `K × N` for a `[K, N]` weight.
//! Products of two activations (attention scores) have no weight and are not counted; they grow
//! with the context, not with the model, and sit beside the weight products they follow.
//!
//! The ONNX file is read with a minimal protobuf walker: only node names, op types, inputs,
//! attributes that give a product's size, and initializer shapes. Tensor bytes are skipped, never
//! copied, and external data files are not opened.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::placement::Placement;

/// Ops whose weight input is a matrix product's right-hand side.
const PRODUCT_OPS: &[&str] =
    &["MatMul", "Gemm", "MatMulNBits", "MatMulInteger", "QLinearMatMul", "FusedMatMul", "Conv", "ConvInteger"];

/// Ops a weight passes through on its way from an initializer to a product without changing how
/// many values it holds (dequantization, layout, casts).
const PASS_THROUGH_OPS: &[&str] =
    &["DequantizeLinear", "Transpose", "Reshape", "Cast", "Identity", "Unsqueeze", "Squeeze", "Flatten"];

/// One matrix product with a weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Product {
    /// Node name, as ORT's placement reports it.
    pub name: String,
    /// Operator type.
    pub op_type: String,
    /// Multiply-accumulates per token: the weight's element count.
    pub macs: u64,
}

/// The weight products of one graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GraphWork {
    pub products: Vec<Product>,
}

/// Weight multiply-accumulates per token on one EP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EpWork {
    /// EP name.
    pub ep: String,
    /// Multiply-accumulates per token of the weight products placed on it.
    #[ts(type = "number")]
    pub macs: u64,
    /// How many weight products that is.
    pub products: usize,
}

/// Nodes of one op type that did not go to the chosen EP, with the EP's reason where it gave one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehind {
    /// Operator type (with its domain when not `ai.onnx`).
    pub op_type: String,
    /// The EP that runs them instead.
    pub ep: String,
    /// How many nodes.
    pub nodes: usize,
    /// The chosen EP's reason, from its own report (QNN's op trace); `None` when it gave none.
    pub reason: Option<String>,
}

impl GraphWork {
    /// Reads the weight products of an ONNX model.
    pub(crate) fn read(model: &[u8]) -> Result<Self, String> {
        let graph = field_bytes(model, 7)?.ok_or("the model has no graph")?;
        let mut shapes: HashMap<String, u64> = HashMap::new();
        let mut nodes = Vec::new();
        for (number, value) in fields(graph) {
            match (number?, value) {
                (5, Value::Bytes(tensor)) => {
                    let (name, elements) = tensor_size(tensor)?;
                    shapes.insert(name, elements);
                }
                (1, Value::Bytes(node)) => nodes.push(Node::read(node)?),
                _ => {}
            }
        }
        // Weights held in `Constant` nodes (some exporters write them so) count like initializers.
        for node in nodes.iter().filter(|n| n.op_type == "Constant") {
            if let (Some(output), Some(elements)) = (node.outputs.first(), node.constant_elements) {
                shapes.insert(output.clone(), elements);
            }
        }
        let producers: HashMap<&str, &Node> =
            nodes.iter().flat_map(|n| n.outputs.iter().map(move |o| (o.as_str(), n))).collect();
        let weight_elements = |input: &str| -> Option<u64> {
            let mut name = input;
            // Bounded: a weight path is a few ops long, and a cycle would be a broken graph.
            for _ in 0..8 {
                if let Some(&elements) = shapes.get(name) {
                    return Some(elements);
                }
                let producer = producers.get(name)?;
                if !PASS_THROUGH_OPS.contains(&producer.op_type.as_str()) {
                    return None;
                }
                name = producer.inputs.first()?;
            }
            None
        };
        let mut products = Vec::new();
        for node in nodes.iter().filter(|n| n.domain_is_standard_or_ms() && PRODUCT_OPS.contains(&n.op_type.as_str())) {
            let macs = match (node.op_type.as_str(), node.int_attribute("K"), node.int_attribute("N")) {
                // Its weight is packed 4-bit blocks: the attributes give the real size.
                ("MatMulNBits", Some(k), Some(n)) => u64::try_from(k.saturating_mul(n)).ok(),
                // QLinearMatMul's inputs are (a, a_scale, a_zp, b, ...): the weight is input 3.
                ("QLinearMatMul", ..) => node.inputs.get(3).and_then(|b| weight_elements(b)),
                _ => node.inputs.iter().filter_map(|i| weight_elements(i)).max(),
            };
            if let Some(macs) = macs.filter(|&m| m > 0) {
                products.push(Product { name: node.name.clone(), op_type: node.op_type.clone(), macs });
            }
        }
        Ok(Self { products })
    }

    /// All weight multiply-accumulates per token.
    pub(crate) fn total_macs(&self) -> u64 {
        self.products.iter().map(|p| p.macs).sum()
    }

    /// Per-EP work under `placement`. Products whose node ORT does not list (renamed by a fusion
    /// it made before partitioning) are put on `unlisted_ep`: the EP that took every node when
    /// the placement has one EP only, the CPU EP otherwise (nothing else runs ORT's fused nodes).
    pub(crate) fn per_ep(&self, placement: &Placement, unlisted_ep: &str) -> Vec<EpWork> {
        let ep_of: HashMap<&str, &str> = placement
            .subgraphs
            .iter()
            .flat_map(|s| s.nodes.iter().map(move |n| (n.name.as_str(), s.ep.as_str())))
            .collect();
        let mut work: Vec<EpWork> = Vec::new();
        for product in &self.products {
            let ep = ep_of.get(product.name.as_str()).copied().unwrap_or(unlisted_ep);
            match work.iter_mut().find(|w| w.ep == ep) {
                Some(entry) => {
                    entry.macs += product.macs;
                    entry.products += 1;
                }
                None => work.push(EpWork { ep: ep.to_owned(), macs: product.macs, products: 1 }),
            }
        }
        work.sort_by(|a, b| a.ep.cmp(&b.ep));
        work
    }
}

/// The op types `placement` put anywhere but `ep`, grouped, with `reasons` (node name → reason).
pub(crate) fn left_behind(placement: &Placement, ep: &str, reasons: &HashMap<String, String>) -> Vec<LeftBehind> {
    let mut left: Vec<LeftBehind> = Vec::new();
    for subgraph in placement.subgraphs.iter().filter(|s| s.ep != ep) {
        for node in &subgraph.nodes {
            let op_type =
                if node.domain.is_empty() { node.op_type.clone() } else { format!("{}.{}", node.domain, node.op_type) };
            let reason = reasons.get(&node.name).cloned();
            match left.iter_mut().find(|l| l.op_type == op_type && l.ep == subgraph.ep) {
                Some(entry) => {
                    entry.nodes += 1;
                    if entry.reason.is_none() {
                        entry.reason = reason;
                    }
                }
                None => left.push(LeftBehind { op_type, ep: subgraph.ep.clone(), nodes: 1, reason }),
            }
        }
    }
    left.sort_by(|a, b| b.nodes.cmp(&a.nodes).then_with(|| a.op_type.cmp(&b.op_type)));
    left
}

/// The parts of a `NodeProto` the report needs.
struct Node {
    name: String,
    op_type: String,
    domain: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    int_attributes: Vec<(String, i64)>,
    /// For a `Constant` node: the element count of its tensor.
    constant_elements: Option<u64>,
}

impl Node {
    fn read(bytes: &[u8]) -> Result<Self, String> {
        let mut node = Node {
            name: String::new(),
            op_type: String::new(),
            domain: String::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            int_attributes: Vec::new(),
            constant_elements: None,
        };
        for (number, value) in fields(bytes) {
            match (number?, value) {
                (1, Value::Bytes(b)) => node.inputs.push(text(b)),
                (2, Value::Bytes(b)) => node.outputs.push(text(b)),
                (3, Value::Bytes(b)) => node.name = text(b),
                (4, Value::Bytes(b)) => node.op_type = text(b),
                (7, Value::Bytes(b)) => node.domain = text(b),
                (5, Value::Bytes(attribute)) => {
                    let mut name = String::new();
                    let (mut int, mut tensor) = (None, None);
                    for (number, value) in fields(attribute) {
                        match (number?, value) {
                            (1, Value::Bytes(b)) => name = text(b),
                            (3, Value::Varint(v)) => int = Some(v as i64),
                            (5, Value::Bytes(t)) => tensor = Some(t),
                            _ => {}
                        }
                    }
                    if let Some(int) = int {
                        node.int_attributes.push((name.clone(), int));
                    }
                    if let (Some(tensor), "value") = (tensor, name.as_str()) {
                        node.constant_elements = Some(tensor_size(tensor)?.1);
                    }
                }
                _ => {}
            }
        }
        Ok(node)
    }

    fn int_attribute(&self, name: &str) -> Option<i64> {
        self.int_attributes.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    fn domain_is_standard_or_ms(&self) -> bool {
        matches!(self.domain.as_str(), "" | "ai.onnx" | "com.microsoft")
    }
}

/// A `TensorProto`'s name and element count, from its dims.
fn tensor_size(bytes: &[u8]) -> Result<(String, u64), String> {
    let mut name = String::new();
    let mut elements: u64 = 1;
    for (number, value) in fields(bytes) {
        match (number?, value) {
            (1, Value::Varint(d)) => elements = elements.saturating_mul(d),
            // Packed dims.
            (1, Value::Bytes(mut packed)) => {
                while !packed.is_empty() {
                    let (d, used) = varint(packed)?;
                    elements = elements.saturating_mul(d);
                    packed = &packed[used..];
                }
            }
            (8, Value::Bytes(b)) => name = text(b),
            _ => {}
        }
    }
    Ok((name, elements))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One protobuf field value, borrowed from the message.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The first length-delimited field `number` of a message.
fn field_bytes(message: &[u8], number: u64) -> Result<Option<&[u8]>, String> {
    for (n, value) in fields(message) {
        if let (n, Value::Bytes(bytes)) = (n?, value)
            && n == number
        {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// Iterates over a message's fields. A malformed message yields one `Err` and stops.
fn fields(message: &[u8]) -> impl Iterator<Item = (Result<u64, String>, Value<'_>)> {
    let mut rest = message;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match next_field(rest) {
            Ok((number, value, used)) => {
                rest = &rest[used..];
                Some((Ok(number), value))
            }
            Err(e) => {
                rest = &[];
                Some((Err(e), Value::Fixed))
            }
        }
    })
}

fn next_field(bytes: &[u8]) -> Result<(u64, Value<'_>, usize), String> {
    let (key, mut used) = varint(bytes)?;
    let (number, wire) = (key >> 3, key & 7);
    let value = match wire {
        0 => {
            let (v, n) = varint(&bytes[used..])?;
            used += n;
            Value::Varint(v)
        }
        1 | 5 => {
            let width = if wire == 1 { 8 } else { 4 };
            if bytes.len() < used + width {
                return Err("the model file ends inside a field".into());
            }
            used += width;
            Value::Fixed
        }
        2 => {
            let (len, n) = varint(&bytes[used..])?;
            used += n;
            let len = usize::try_from(len).map_err(|_| "a field's length does not fit in memory")?;
            let end =
                used.checked_add(len).filter(|&end| end <= bytes.len()).ok_or("the model file ends inside a field")?;
            let value = Value::Bytes(&bytes[used..end]);
            used = end;
            value
        }
        other => return Err(format!("the model file is not a valid ONNX protobuf (wire type {other})")),
    };
    Ok((number, value, used))
}

fn varint(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("the model file is not a valid ONNX protobuf (bad varint)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::{AssignedNode, AssignedSubgraph};

    /// A hand-encoded protobuf field.
    fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = encode_varint(number << 3 | 2);
        out.extend(encode_varint(bytes.len() as u64));
        out.extend_from_slice(bytes);
        out
    }

    fn varint_field(number: u64, value: u64) -> Vec<u8> {
        let mut out = encode_varint(number << 3);
        out.extend(encode_varint(value));
        out
    }

    fn encode_varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn node(name: &str, op: &str, inputs: &[&str], output: &str) -> Vec<u8> {
        let mut n = Vec::new();
        for i in inputs {
            n.extend(field(1, i.as_bytes()));
        }
        n.extend(field(2, output.as_bytes()));
        n.extend(field(3, name.as_bytes()));
        n.extend(field(4, op.as_bytes()));
        field(1, &n)
    }

    fn initializer(name: &str, dims: &[u64]) -> Vec<u8> {
        let mut t = Vec::new();
        for &d in dims {
            t.extend(varint_field(1, d));
        }
        t.extend(varint_field(2, 3)); // int8
        t.extend(field(8, name.as_bytes()));
        t.extend(field(9, &vec![0u8; dims.iter().product::<u64>() as usize]));
        field(5, &t)
    }

    fn model() -> Vec<u8> {
        let mut graph = Vec::new();
        graph.extend(initializer("w_q", &[64, 32]));
        graph.extend(initializer("scale", &[32]));
        graph.extend(initializer("w_f", &[32, 16]));
        graph.extend(node("dq", "DequantizeLinear", &["w_q", "scale"], "w_dq"));
        graph.extend(node("mm_q", "MatMul", &["x", "w_dq"], "h"));
        graph.extend(node("mm_f", "MatMul", &["h", "w_f"], "y"));
        // Activation × activation: no weight, not counted.
        graph.extend(node("scores", "MatMul", &["y", "y"], "s"));
        let mut model = varint_field(1, 10);
        model.extend(field(7, &graph));
        model
    }

    fn placement(groups: &[(&str, &[&str])]) -> Placement {
        Placement {
            subgraphs: groups
                .iter()
                .map(|(ep, nodes)| AssignedSubgraph {
                    ep: (*ep).into(),
                    nodes: nodes
                        .iter()
                        .map(|n| AssignedNode { name: (*n).into(), domain: String::new(), op_type: "MatMul".into() })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn weight_products_are_traced_through_dequantization_and_activation_products_are_not_counted() {
        let work = GraphWork::read(&model()).expect("read");
        let macs: Vec<(&str, u64)> = work.products.iter().map(|p| (p.name.as_str(), p.macs)).collect();
        assert_eq!(macs, vec![("mm_q", 64 * 32), ("mm_f", 32 * 16)]);
        assert_eq!(work.total_macs(), 64 * 32 + 32 * 16);
    }

    #[test]
    fn work_follows_the_placement_by_node_name() {
        let work = GraphWork::read(&model()).expect("read");
        let split = placement(&[("QNN", &["dq", "mm_f", "scores"]), ("CPU", &["mm_q"])]);
        let per_ep = work.per_ep(&split, "CPU");
        assert_eq!(
            per_ep,
            vec![
                EpWork { ep: "CPU".into(), macs: 64 * 32, products: 1 },
                EpWork { ep: "QNN".into(), macs: 32 * 16, products: 1 },
            ]
        );
        // A product ORT renamed goes to the one EP when there is only one.
        let whole = placement(&[("QNN", &["dq", "renamed", "mm_f", "scores"])]);
        assert_eq!(work.per_ep(&whole, "QNN"), vec![EpWork { ep: "QNN".into(), macs: 64 * 32 + 32 * 16, products: 2 }]);
    }

    #[test]
    fn left_behind_groups_op_types_with_reasons() {
        let split = placement(&[("QNN", &["mm_f"]), ("CPU", &["mm_q"]), ("CPU", &["scores"])]);
        let reasons = HashMap::from([("scores".to_owned(), "too big".to_owned())]);
        let left = left_behind(&split, "QNN", &reasons);
        assert_eq!(
            left,
            vec![LeftBehind { op_type: "MatMul".into(), ep: "CPU".into(), nodes: 2, reason: Some("too big".into()) }]
        );
    }

    #[test]
    fn a_truncated_model_is_an_error_not_a_panic() {
        let model = model();
        for cut in [1, 3, model.len() / 2, model.len() - 1] {
            assert!(GraphWork::read(&model[..cut]).is_err(), "cut at {cut}");
        }
        assert!(GraphWork::read(b"not a protobuf at all \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    }
}
