//! A small helper for building ONNX graphs by hand: unique node names, initializers, and typed
//! constants, so the architecture builders read like the model they describe.

use crate::onnx::{AttributeValue, DataType, Dim, Graph, Node, Tensor, ValueInfo};

/// Accumulates nodes, initializers, inputs and outputs of one graph.
#[derive(Default)]
pub struct GraphBuilder {
    graph: Graph,
    counter: usize,
}

impl GraphBuilder {
    /// An empty graph called `name`.
    pub fn new(name: &str) -> Self {
        Self { graph: Graph { name: name.to_owned(), ..Graph::default() }, counter: 0 }
    }

    /// Declares a graph input.
    pub fn input(&mut self, name: &str, data_type: DataType, shape: Vec<Dim>) -> String {
        self.graph.inputs.push(ValueInfo::tensor(name, data_type, shape));
        name.to_owned()
    }

    /// Declares a graph output.
    pub fn output(&mut self, name: &str, data_type: DataType, shape: Vec<Dim>) {
        self.graph.outputs.push(ValueInfo::tensor(name, data_type, shape));
    }

    /// Adds an initializer and returns its name.
    pub fn initializer(&mut self, tensor: Tensor) -> String {
        let name = tensor.name.clone();
        self.graph.initializers.push(tensor);
        name
    }

    /// An i64 constant (shapes, axes, indices).
    pub fn const_i64(&mut self, name: &str, dims: &[i64], values: &[i64]) -> String {
        self.initializer(Tensor::i64(name, dims, values))
    }

    /// An f32 constant.
    pub fn const_f32(&mut self, name: &str, dims: &[i64], values: &[f32]) -> String {
        self.initializer(Tensor::f32(name, dims, values))
    }

    /// Adds a standard-domain node named `{scope}/{op}` with `outputs` fresh output names and
    /// returns those names. Empty strings in `inputs` mark omitted optional inputs.
    pub fn op(&mut self, scope: &str, op: &str, inputs: &[&str], outputs: usize) -> Vec<String> {
        self.op_with(scope, op, "", inputs, outputs, Vec::new())
    }

    /// Like [`GraphBuilder::op`] with a domain and attributes. An output count above the number
    /// of names wanted can be expressed by passing names through [`GraphBuilder::op_named`].
    pub fn op_with(
        &mut self,
        scope: &str,
        op: &str,
        domain: &str,
        inputs: &[&str],
        outputs: usize,
        attributes: Vec<(&str, AttributeValue)>,
    ) -> Vec<String> {
        self.counter += 1;
        let base = format!("{scope}/{op}_{}", self.counter);
        let output_names: Vec<String> = (0..outputs).map(|i| format!("{base}/out{i}")).collect();
        let refs: Vec<&str> = output_names.iter().map(String::as_str).collect();
        self.op_named(&base, op, domain, inputs, &refs, attributes);
        output_names
    }

    /// Adds a node with explicit output names (graph outputs, or optional outputs left empty).
    pub fn op_named(
        &mut self,
        name: &str,
        op: &str,
        domain: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<(&str, AttributeValue)>,
    ) {
        let mut node = Node::new(op, name, inputs, outputs).domain(domain);
        for (key, value) in attributes {
            node = node.attr(key, value);
        }
        self.graph.nodes.push(node);
    }

    /// Single-output convenience over [`GraphBuilder::op`].
    pub fn op1(&mut self, scope: &str, op: &str, inputs: &[&str]) -> String {
        self.op(scope, op, inputs, 1).swap_remove(0)
    }

    /// Single-output convenience over [`GraphBuilder::op_with`].
    pub fn op1_with(
        &mut self,
        scope: &str,
        op: &str,
        domain: &str,
        inputs: &[&str],
        attributes: Vec<(&str, AttributeValue)>,
    ) -> String {
        self.op_with(scope, op, domain, inputs, 1, attributes).swap_remove(0)
    }

    /// The finished graph.
    pub fn finish(self) -> Graph {
        self.graph
    }
}
