//! The probe model: a tiny graph every execution provider should run in full.
//!
//! `onyx doctor` and the runtime tests build a session on it to prove that a device really
//! executes a graph, and to read back how its nodes were placed. It uses only standard ops that
//! every EP supports (MatMul, Add, Relu) and fixed shapes, so an NPU compiler can take it too.

use crate::onnx::{DataType, Graph, Model, Node, Tensor, ValueInfo};

/// Input name of the probe model.
pub const INPUT: &str = "x";
/// Output name of the probe model.
pub const OUTPUT: &str = "y";
/// Input shape `[1, 4]`.
pub const INPUT_SHAPE: [usize; 2] = [1, 4];
/// Output shape `[1, 3]`.
pub const OUTPUT_SHAPE: [usize; 2] = [1, 3];
/// Number of nodes in the probe graph, for checking placement reports.
pub const NODE_COUNT: usize = 3;

/// Weights `[4, 3]`, row-major. Chosen so that every output exercises several products and the
/// Relu clamps exactly one of them for the reference input.
const WEIGHTS: [f32; 12] = [0.5, -1.0, 2.0, 1.5, 0.25, -0.5, -2.0, 1.0, 0.75, 1.0, -0.5, 0.125];
const BIAS: [f32; 3] = [0.1, -0.2, 0.3];

/// The probe model's ONNX bytes.
pub fn probe_model() -> Vec<u8> {
    let graph = Graph {
        name: "onyx_probe".into(),
        nodes: vec![
            Node::new("MatMul", "probe_matmul", &[INPUT, "w"], &["xw"]),
            Node::new("Add", "probe_add", &["xw", "b"], &["xw_b"]),
            Node::new("Relu", "probe_relu", &["xw_b"], &[OUTPUT]),
        ],
        inputs: vec![ValueInfo::tensor(INPUT, DataType::Float, [1.into(), 4.into()])],
        outputs: vec![ValueInfo::tensor(OUTPUT, DataType::Float, [1.into(), 3.into()])],
        initializers: vec![Tensor::f32("w", &[4, 3], &WEIGHTS), Tensor::f32("b", &[3], &BIAS)],
    };
    Model::new(graph, 17).encode()
}

/// What the probe model computes, in plain Rust: `relu(x · W + b)`. Tests compare a provider's
/// output against this.
pub fn reference_output(x: &[f32; 4]) -> [f32; 3] {
    let mut y = BIAS;
    for (col, out) in y.iter_mut().enumerate() {
        for (row, xi) in x.iter().enumerate() {
            *out += xi * WEIGHTS[row * 3 + col];
        }
        *out = out.max(0.0);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_output_clamps_negative_values() {
        let y = reference_output(&[1.0, 2.0, 3.0, 4.0]);
        // Column 0: 0.5 + 3.0 - 6.0 + 4.0 + 0.1 = 1.6
        assert!((y[0] - 1.6).abs() < 1e-6);
        // Column 1: -1.0 + 0.5 + 3.0 - 2.0 - 0.2 = 0.3
        assert!((y[1] - 0.3).abs() < 1e-6);
        // Column 2: 2.0 - 1.0 + 2.25 + 0.5 + 0.3 = 4.05
        assert!((y[2] - 4.05).abs() < 1e-6);
        assert_eq!(reference_output(&[-1.0, -1.0, -1.0, -1.0])[2], 0.0);
    }
}
