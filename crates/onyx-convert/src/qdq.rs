//! Quantize–dequantize (QDQ) pieces of the npu graphs: int8 weights with one scale per output
//! channel, multiplied with 16-bit activations whose scales were calibrated at conversion time
//! ("w8a16", the form Qualcomm's own LLM exports use).
//!
//! Why this form: Qualcomm's HTP compiler (QNN 2.51, X Elite) accepts a per-channel int8
//! `DequantizeLinear` only as part of a quantized node unit, `DQ(x) · DQ(W) → Q`. Alone, in front
//! of a float product, it is rejected ("QNN EP does not support a standalone DQ op with
//! per-channel quantization"): the weights are then widened on the CPU and copied into the NPU
//! on every step. With the product's input and output quantized too, the compiler makes one HTP
//! `FullyConnected` in w8a16 and keeps the int8 weights inside the context binary (measured: a
//! 2.10 MB int8 MLP compiled to a 2.21 MB binary). Everything between the products (norms,
//! softmax, rotary embedding, residual adds, attention scores) stays float, which the HTP runs in
//! fp16, so one activation grid never has to cover a residual stream's outliers.
//!
//! 16-bit activations need opset 21 (`QuantizeLinear` with uint16); graphs that use this module
//! import it.

use crate::graph::GraphBuilder;
use crate::onnx::{AttributeValue, Tensor};

/// The standard-domain opset of graphs with 16-bit QDQ.
pub const OPSET: i64 = 21;

/// How far beyond the calibrated range an activation grid reaches. Calibration text cannot show
/// every value a user's text produces, and a value past the grid is clipped; with 65,536 steps,
/// doubling the range costs one bit of 16 and leaves the step far below fp16's own rounding.
pub const MARGIN: f32 = 2.0;

/// The smallest and largest value an activation took on calibration text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Smallest value seen.
    pub min: f32,
    /// Largest value seen.
    pub max: f32,
}

impl Default for Range {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Range {
    /// Nothing seen yet.
    pub const EMPTY: Range = Range { min: f32::INFINITY, max: f32::NEG_INFINITY };

    /// Widens the range to cover `values`. Non-finite values are ignored: they would make the
    /// grid useless, and the float model itself has none on calibration text.
    pub fn observe(&mut self, values: &[f32]) {
        for &v in values.iter().filter(|v| v.is_finite()) {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    /// The uint16 grid for this range: `(scale, zero_point)`, with [`MARGIN`] added and 0 on the
    /// grid exactly (zero padding and masked values must stay exactly 0).
    pub fn uint16_grid(self) -> (f32, u16) {
        let (min, max) = if self.min <= self.max { (self.min, self.max) } else { (0.0, 0.0) };
        let (min, max) = ((min * MARGIN).min(0.0), (max * MARGIN).max(0.0));
        let span = max - min;
        // A range that never left 0 still needs a valid (positive) scale.
        let scale = if span > 0.0 { span / f32::from(u16::MAX) } else { 1.0 / f32::from(u16::MAX) };
        let zero = (-min / scale).round().clamp(0.0, f32::from(u16::MAX)) as u16;
        (scale, zero)
    }
}

/// `QuantizeLinear → DequantizeLinear` on uint16 with the grid of `range`: the float value as
/// the NPU will see it, and the marker that tells QNN to run the neighbouring product quantized.
pub fn fake_quantize(g: &mut GraphBuilder, scope: &str, x: &str, range: Range) -> String {
    let (scale, zero) = range.uint16_grid();
    let scale = g.const_f32(&format!("{scope}.act_scale"), &[], &[scale]);
    let zero = g.initializer(Tensor::u16(format!("{scope}.act_zero_point"), &[], &[zero]));
    let quantized = g.op1(&format!("{scope}/quantize"), "QuantizeLinear", &[x, &scale, &zero]);
    g.op1(&format!("{scope}/dequantize"), "DequantizeLinear", &[&quantized, &scale, &zero])
}

/// `x · W` for a weight stored `[inputs, outputs]` (ONNX's MatMul order), in w8a16: the input
/// on the grid of `input`, the weight int8 per output column, the product on the grid of
/// `output`. Returns the dequantized (float) product.
#[allow(clippy::too_many_arguments)]
pub fn w8a16_matmul(
    g: &mut GraphBuilder,
    scope: &str,
    weight_name: &str,
    x: &str,
    input: Range,
    weight: &[f32],
    outputs: usize,
    output: Range,
) -> String {
    let inputs = weight.len().checked_div(outputs).unwrap_or(0);
    let (values, scales) = quantize_per_column(weight, outputs, 127);
    let dims = [inputs as i64, outputs as i64];
    let values = g.initializer(Tensor::i8(format!("{weight_name}.int8"), &dims, &values));
    let scales = g.const_f32(&format!("{weight_name}.scale"), &[outputs as i64], &scales);
    // An explicit zero point: some NPU compilers reject DequantizeLinear without one.
    let zeros = g.initializer(Tensor::i8(format!("{weight_name}.zero_point"), &[outputs as i64], &vec![0; outputs]));
    let weight = g.op1_with(
        &format!("{scope}/weight"),
        "DequantizeLinear",
        "",
        &[&values, &scales, &zeros],
        vec![("axis", AttributeValue::Int(1))],
    );
    let x = fake_quantize(g, &format!("{scope}.input"), x, input);
    let product = g.op1(scope, "MatMul", &[&x, &weight]);
    fake_quantize(g, &format!("{scope}.output"), &product, output)
}

/// A `Gather` of rows from an int8 table with one scale per row, in a form the HTP takes
/// whole: the integer rows are gathered quantized (`DQ → Gather → Q` on one int8 grid of step
/// 1, so the table stays int8 inside the compiled context) and then multiplied by their rows'
/// scales, gathered from a small float table. A per-row `DequantizeLinear` in front of the
/// `Gather` would be a standalone per-channel DQ, which the HTP rejects.
pub fn int8_row_gather(
    g: &mut GraphBuilder,
    scope: &str,
    table_name: &str,
    table: &[f32],
    columns: usize,
    ids: &str,
) -> String {
    let rows = table.len().checked_div(columns).unwrap_or(0);
    let q = crate::blockwise::quantize_int8_per_row(table, rows, columns);
    let values = g.initializer(Tensor::i8(format!("{table_name}.int8"), &[rows as i64, columns as i64], &q.values));
    let unit = g.const_f32(&format!("{table_name}.unit_scale"), &[], &[1.0]);
    let zero = g.initializer(Tensor::i8(format!("{table_name}.zero_point"), &[], &[0]));
    let row_scales = g.const_f32(&format!("{table_name}.row_scale"), &[rows as i64, 1], &q.scales);
    let integers = g.op1(&format!("{scope}/dequantize_table"), "DequantizeLinear", &[&values, &unit, &zero]);
    let gathered =
        g.op1_with(&format!("{scope}/gather"), "Gather", "", &[&integers, ids], vec![("axis", AttributeValue::Int(0))]);
    let gathered = g.op1(&format!("{scope}/quantize_rows"), "QuantizeLinear", &[&gathered, &unit, &zero]);
    let gathered = g.op1(&format!("{scope}/dequantize_rows"), "DequantizeLinear", &[&gathered, &unit, &zero]);
    let scales = g.op1_with(
        &format!("{scope}/gather_scales"),
        "Gather",
        "",
        &[&row_scales, ids],
        vec![("axis", AttributeValue::Int(0))],
    );
    g.op1(&format!("{scope}/scale_rows"), "Mul", &[&gathered, &scales])
}

/// Symmetric int8 quantization of a row-major `[rows, columns]` matrix with one scale per column
/// (output channel), onto `-limit..=limit`. Never -128, so the grid is symmetric and negation
/// is exact.
pub fn quantize_per_column(values: &[f32], columns: usize, limit: i8) -> (Vec<i8>, Vec<f32>) {
    let limit = f32::from(limit);
    let columns = columns.max(1);
    let mut max_abs = vec![0.0f32; columns];
    for row in values.chunks_exact(columns) {
        for (m, v) in max_abs.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    // An all-zero column quantizes to zeros with any scale; 1 keeps the scale valid.
    let scales: Vec<f32> = max_abs.iter().map(|&m| if m > 0.0 { m / limit } else { 1.0 }).collect();
    let mut quantized = Vec::with_capacity(values.len());
    for row in values.chunks_exact(columns) {
        for (v, s) in row.iter().zip(&scales) {
            quantized.push((v / s).round().clamp(-limit, limit) as i8);
        }
    }
    (quantized, scales)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_column_quantization_is_symmetric_and_bounded() {
        // Two rows, three columns: column 1 is all zero, column 2 has its maximum negative.
        let values = [0.5, 0.0, -2.0, -0.25, 0.0, 1.0];
        let (q, scales) = quantize_per_column(&values, 3, 127);
        assert_eq!(scales, [0.5 / 127.0, 1.0, 2.0 / 127.0]);
        assert_eq!(q, [127, 0, -127, -64, 0, 64]);
        for (i, (&v, &qv)) in values.iter().zip(&q).enumerate() {
            let scale = scales[i % 3];
            assert!((f32::from(qv) * scale - v).abs() <= scale / 2.0 + 1e-7, "element {i}");
        }
    }

    #[test]
    fn the_uint16_grid_covers_the_range_with_margin_and_holds_zero_exactly() {
        let mut range = Range::EMPTY;
        range.observe(&[-1.0, 3.0, f32::NAN, 0.5]);
        assert_eq!(range, Range { min: -1.0, max: 3.0 });
        let (scale, zero) = range.uint16_grid();
        let dequantize = |q: u16| (f32::from(q) - f32::from(zero)) * scale;
        assert_eq!(dequantize(zero), 0.0);
        assert!((dequantize(0) + MARGIN).abs() <= scale, "{}", dequantize(0));
        assert!((dequantize(u16::MAX) - 3.0 * MARGIN).abs() <= scale, "{}", dequantize(u16::MAX));
        // A positive-only range still reaches down to 0; an empty one still has a valid scale.
        assert_eq!(Range { min: 2.0, max: 5.0 }.uint16_grid().1, 0);
        let (scale, zero) = Range::EMPTY.uint16_grid();
        assert!(scale > 0.0 && zero == 0);
    }
}
