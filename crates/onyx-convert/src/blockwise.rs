//! Re-quantization of f32 weights for ONNX Runtime: 4-bit blocks for `MatMulNBits` (cpu
//! variant) and per-row int8 (the embedding rows of the cpu and npu variants; the npu variant's
//! products use [`crate::qdq`]).
//!
//! GGUF's own blocks (Q4_1's float minimum, K-quants' super-blocks) do not map onto ORT's fast
//! kernels, which want uint8 zero points; so weights are dequantized exactly first and then
//! quantized again here, with the same rounding rules ORT's own quantizer uses.

/// A weight matrix `W[n][k]` (n output channels, k inputs) in `MatMulNBits` layout.
pub struct NBitsWeight {
    /// Bits per value: 4 or 8.
    pub bits: usize,
    /// Output channels (`N`).
    pub n: usize,
    /// Inputs (`K`).
    pub k: usize,
    /// Values per block along `K`.
    pub block_size: usize,
    /// Packed values, `[N, blocks, block_size * bits / 8]`; 4-bit values low nibble first.
    pub packed: Vec<u8>,
    /// One scale per block, `[N, blocks]`.
    pub scales: Vec<f32>,
    /// Zero points: 4-bit packed `[N, ceil(blocks / 2)]` low nibble first, or one byte each.
    pub zero_points: Vec<u8>,
}

impl NBitsWeight {
    /// Number of blocks per output channel.
    pub fn blocks(&self) -> usize {
        self.k.div_ceil(self.block_size)
    }
}

/// Quantizes `weight` (row-major `[n, k]`) to asymmetric 4-bit blocks of `block_size` along `k`.
///
/// The range of each block always includes 0, so an all-positive block still maps 0 exactly;
/// a `k` that is not a multiple of `block_size` is padded with zeros.
pub fn quantize_4bit(weight: &[f32], n: usize, k: usize, block_size: usize) -> NBitsWeight {
    debug_assert_eq!(weight.len(), n * k);
    debug_assert!(block_size >= 16 && block_size.is_power_of_two());
    let blocks = k.div_ceil(block_size);
    let zp_bytes = blocks.div_ceil(2);
    let mut packed = vec![0u8; n * blocks * block_size / 2];
    let mut scales = vec![0f32; n * blocks];
    let mut zero_points = vec![0u8; n * zp_bytes];
    let mut quantized = vec![0u8; block_size];
    for row in 0..n {
        let row_values = &weight[row * k..(row + 1) * k];
        for block in 0..blocks {
            let start = block * block_size;
            let end = (start + block_size).min(k);
            let values = &row_values[start..end];
            let (min, max) = values.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let scale = (max - min) / 15.0;
            let zero_point = if scale == 0.0 { 8 } else { (-min / scale).round().clamp(0.0, 15.0) as u8 };
            let inverse = if scale == 0.0 { 0.0 } else { 1.0 / scale };
            quantized.fill(zero_point);
            for (q, &v) in quantized.iter_mut().zip(values) {
                *q = (v * inverse + f32::from(zero_point)).round().clamp(0.0, 15.0) as u8;
            }
            let out = &mut packed[(row * blocks + block) * block_size / 2..][..block_size / 2];
            for (byte, pair) in out.iter_mut().zip(quantized.chunks_exact(2)) {
                *byte = pair[0] | (pair[1] << 4);
            }
            scales[row * blocks + block] = scale;
            let zp = &mut zero_points[row * zp_bytes + block / 2];
            *zp |= if block % 2 == 0 { zero_point } else { zero_point << 4 };
        }
    }
    NBitsWeight { bits: 4, n, k, block_size, packed, scales, zero_points }
}

/// Quantizes `weight` (row-major `[n, k]`) to asymmetric 8-bit blocks (`MatMulNBits` with
/// `bits = 8`): 17 times finer steps than 4-bit, for models too small to take int4 well.
pub fn quantize_8bit(weight: &[f32], n: usize, k: usize, block_size: usize) -> NBitsWeight {
    debug_assert_eq!(weight.len(), n * k);
    let blocks = k.div_ceil(block_size);
    let mut packed = vec![0u8; n * blocks * block_size];
    let mut scales = vec![0f32; n * blocks];
    let mut zero_points = vec![0u8; n * blocks];
    for row in 0..n {
        for block in 0..blocks {
            let start = block * block_size;
            let values = &weight[row * k + start..row * k + (start + block_size).min(k)];
            let (min, max) = values.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let scale = (max - min) / 255.0;
            let zero_point = if scale == 0.0 { 128 } else { (-min / scale).round().clamp(0.0, 255.0) as u8 };
            let inverse = if scale == 0.0 { 0.0 } else { 1.0 / scale };
            let out = &mut packed[(row * blocks + block) * block_size..][..block_size];
            out.fill(zero_point);
            for (q, &v) in out.iter_mut().zip(values) {
                *q = (v * inverse + f32::from(zero_point)).round().clamp(0.0, 255.0) as u8;
            }
            scales[row * blocks + block] = scale;
            zero_points[row * blocks + block] = zero_point;
        }
    }
    NBitsWeight { bits: 8, n, k, block_size, packed, scales, zero_points }
}

/// What [`quantize_4bit`] or [`quantize_8bit`] stored, back as f32 (for tests and error
/// measurement).
pub fn dequantize_4bit(weight: &NBitsWeight) -> Vec<f32> {
    let blocks = weight.blocks();
    let zp_bytes = blocks.div_ceil(2);
    let mut out = vec![0f32; weight.n * weight.k];
    for row in 0..weight.n {
        for col in 0..weight.k {
            let block = col / weight.block_size;
            let within = col % weight.block_size;
            if weight.bits == 8 {
                let q = weight.packed[(row * blocks + block) * weight.block_size + within];
                let zp = weight.zero_points[row * blocks + block];
                out[row * weight.k + col] = (f32::from(q) - f32::from(zp)) * weight.scales[row * blocks + block];
                continue;
            }
            let byte = weight.packed[(row * blocks + block) * weight.block_size / 2 + within / 2];
            let q = if within.is_multiple_of(2) { byte & 0x0F } else { byte >> 4 };
            let zp_byte = weight.zero_points[row * zp_bytes + block / 2];
            let zp = if block.is_multiple_of(2) { zp_byte & 0x0F } else { zp_byte >> 4 };
            out[row * weight.k + col] = (f32::from(q) - f32::from(zp)) * weight.scales[row * blocks + block];
        }
    }
    out
}

/// Symmetric per-output-channel int8: `W[n][k] ≈ q[n][k] * scale[n]`.
pub struct Int8Weight {
    /// Quantized values, row-major `[n, k]`.
    pub values: Vec<i8>,
    /// One scale per output channel.
    pub scales: Vec<f32>,
}

/// Quantizes `weight` (row-major `[n, k]`) to symmetric int8, one scale per row.
pub fn quantize_int8_per_row(weight: &[f32], n: usize, k: usize) -> Int8Weight {
    debug_assert_eq!(weight.len(), n * k);
    let mut values = vec![0i8; n * k];
    let mut scales = vec![0f32; n];
    for row in 0..n {
        let src = &weight[row * k..(row + 1) * k];
        let max_abs = src.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max_abs == 0.0 { 1.0 } else { max_abs / 127.0 };
        scales[row] = scale;
        for (q, &v) in values[row * k..(row + 1) * k].iter_mut().zip(src) {
            *q = (v / scale).round().clamp(-127.0, 127.0) as i8;
        }
    }
    Int8Weight { values, scales }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(count: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn four_bit_round_trip_error_is_within_half_a_step() {
        let (n, k) = (5, 80); // 80 is not a multiple of 32: the last block is padded
        let weight = pseudo_random(n * k, 7);
        let q = quantize_4bit(&weight, n, k, 32);
        assert_eq!(q.packed.len(), n * 3 * 16);
        assert_eq!(q.zero_points.len(), n * 2);
        let back = dequantize_4bit(&q);
        for row in 0..n {
            for col in 0..k {
                let scale = q.scales[row * 3 + col / 32];
                let err = (back[row * k + col] - weight[row * k + col]).abs();
                assert!(err <= scale / 2.0 + 1e-6, "row {row} col {col}: error {err} vs step {scale}");
            }
        }
    }

    #[test]
    fn eight_bit_round_trip_error_is_within_half_a_step() {
        let (n, k) = (3, 70);
        let weight = pseudo_random(n * k, 11);
        let q = quantize_8bit(&weight, n, k, 32);
        let back = dequantize_4bit(&q);
        for (i, (a, b)) in back.iter().zip(&weight).enumerate() {
            let scale = q.scales[(i / k) * 3 + (i % k) / 32];
            assert!((a - b).abs() <= scale / 2.0 + 1e-6, "element {i}: {a} vs {b}");
        }
    }

    #[test]
    fn zero_is_exact_and_packing_is_low_nibble_first() {
        let mut weight = vec![0f32; 32];
        // Range [-3, 1.5]: scale 0.3, zero point 10, so both ends and 0 are on the grid.
        weight[0] = 1.5;
        weight[1] = -3.0;
        let q = quantize_4bit(&weight, 1, 32, 32);
        let back = dequantize_4bit(&q);
        assert_eq!(back[2], 0.0);
        assert!((back[0] - 1.5).abs() < 1e-6 && (back[1] + 3.0).abs() < 1e-6, "{:?}", &back[..2]);
        // Element 0 is the low nibble of byte 0: the maximum (15), element 1 the minimum (0).
        assert_eq!(q.packed[0], 0x0F);
    }

    #[test]
    fn int8_rows_scale_independently() {
        let weight = [0.5, -1.0, 0.25, 2.0, 0.0, -2.0];
        let q = quantize_int8_per_row(&weight, 2, 3);
        assert_eq!(q.values[..3], [64, -127, 32]);
        assert_eq!(q.values[3..], [127, 0, -127]);
        assert!((q.scales[1] - 2.0 / 127.0).abs() < 1e-9);
    }
}
