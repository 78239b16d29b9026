//! Exact dequantization of ggml tensor data to f32.
//!
//! Each kernel mirrors ggml's reference `dequantize_row_*` in `ggml-quants.c`, including the
//! order of the float operations (`d * q - m`, `d * sc * q`), so the results are bit-identical
//! to ggml's and to the `gguf` Python package's numpy dequantizers. That exactness is what lets
//! an fp32 build of a GGUF model reproduce the reference logits. Rust never fuses a multiply and
//! an add into an FMA on its own, so writing the operations in ggml's order is enough.
//!
//! Blocks are walked as fixed-size arrays (`as_chunks`), so no index in a kernel depends on the
//! data and nothing allocates per element.

use half::{bf16, f16};

use crate::ggml_type::GgmlType;

/// Elements per K-quant super-block (`QK_K`).
const QK_K: usize = 256;

/// Why some bytes could not be dequantized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DequantError {
    /// This module has no kernel for the type.
    #[error("dequantizing {0} is not supported")]
    Unsupported(GgmlType),
    /// The data is not a whole number of blocks.
    #[error("{bytes} bytes of {ty} data are not a whole number of {}-byte blocks", .ty.block_bytes())]
    PartialBlock {
        /// The type.
        ty: GgmlType,
        /// The length of the data.
        bytes: usize,
    },
    /// The output buffer does not have one slot per encoded value.
    #[error("{bytes} bytes of {ty} data hold {expected} values, but the output has room for {actual}")]
    OutputLength {
        /// The type.
        ty: GgmlType,
        /// The length of the data.
        bytes: usize,
        /// Values the data encodes.
        expected: usize,
        /// Length of the output.
        actual: usize,
    },
}

/// Whether [`dequantize`] has a kernel for `ty`.
pub fn can_dequantize(ty: GgmlType) -> bool {
    matches!(
        ty,
        GgmlType::F32
            | GgmlType::F16
            | GgmlType::BF16
            | GgmlType::Q8_0
            | GgmlType::Q4_0
            | GgmlType::Q4_1
            | GgmlType::Q5_0
            | GgmlType::Q5_1
            | GgmlType::Q4K
            | GgmlType::Q5K
            | GgmlType::Q6K
    )
}

/// Number of values encoded by `bytes` bytes of `ty` data.
pub fn value_count(ty: GgmlType, bytes: usize) -> Result<usize, DequantError> {
    if !bytes.is_multiple_of(ty.block_bytes()) {
        return Err(DequantError::PartialBlock { ty, bytes });
    }
    // Blocks are never smaller in bytes than a quarter of their element count, so this cannot overflow
    // for any slice that fits in memory; checked anyway because it is cheap.
    (bytes / ty.block_bytes()).checked_mul(ty.block_size()).ok_or(DequantError::PartialBlock { ty, bytes })
}

/// Dequantizes `data`, a whole number of `ty` blocks, into a new vector.
pub fn dequantize(ty: GgmlType, data: &[u8]) -> Result<Vec<f32>, DequantError> {
    if !can_dequantize(ty) {
        return Err(DequantError::Unsupported(ty));
    }
    let mut out = vec![0.0; value_count(ty, data.len())?];
    dequantize_into(ty, data, &mut out)?;
    Ok(out)
}

/// Dequantizes `data`, a whole number of `ty` blocks, into `out`, which must have exactly one
/// slot per encoded value.
pub fn dequantize_into(ty: GgmlType, data: &[u8], out: &mut [f32]) -> Result<(), DequantError> {
    if !can_dequantize(ty) {
        return Err(DequantError::Unsupported(ty));
    }
    let expected = value_count(ty, data.len())?;
    if expected != out.len() {
        return Err(DequantError::OutputLength { ty, bytes: data.len(), expected, actual: out.len() });
    }
    match ty {
        GgmlType::F32 => each_block(data, out, |b: &[u8; 4], y: &mut [f32; 1]| y[0] = f32::from_le_bytes(*b)),
        GgmlType::F16 => each_block(data, out, |b: &[u8; 2], y: &mut [f32; 1]| y[0] = half_at(b[0], b[1])),
        GgmlType::BF16 => each_block(data, out, |b: &[u8; 2], y: &mut [f32; 1]| {
            y[0] = bf16::from_le_bytes(*b).to_f32();
        }),
        GgmlType::Q8_0 => each_block(data, out, q8_0),
        GgmlType::Q4_0 => each_block(data, out, q4_0),
        GgmlType::Q4_1 => each_block(data, out, q4_1),
        GgmlType::Q5_0 => each_block(data, out, q5_0),
        GgmlType::Q5_1 => each_block(data, out, q5_1),
        GgmlType::Q4K => each_block(data, out, q4_k),
        GgmlType::Q5K => each_block(data, out, q5_k),
        GgmlType::Q6K => each_block(data, out, q6_k),
        other => return Err(DequantError::Unsupported(other)),
    }
    Ok(())
}

/// Runs `kernel` over matching input blocks of `B` bytes and output blocks of `N` values.
/// The caller has checked that both slices hold the same whole number of blocks.
fn each_block<const B: usize, const N: usize>(data: &[u8], out: &mut [f32], kernel: impl Fn(&[u8; B], &mut [f32; N])) {
    let (blocks, _) = data.as_chunks::<B>();
    let (values, _) = out.as_chunks_mut::<N>();
    for (block, y) in blocks.iter().zip(values) {
        kernel(block, y);
    }
}

/// An IEEE half stored little-endian, as ggml's `ggml_half` scales are.
fn half_at(lo: u8, hi: u8) -> f32 {
    f16::from_le_bytes([lo, hi]).to_f32()
}

/// `block_q8_0`: `d: f16, qs: [i8; 32]`; `y = q * d`.
fn q8_0(b: &[u8; 34], y: &mut [f32; 32]) {
    let d = half_at(b[0], b[1]);
    for (y, &q) in y.iter_mut().zip(&b[2..]) {
        *y = f32::from(i8::from_le_bytes([q])) * d;
    }
}

/// `block_q4_0`: `d: f16, qs: [u8; 16]`; low nibbles are values 0..16, high nibbles 16..32;
/// `y = (q - 8) * d`.
fn q4_0(b: &[u8; 18], y: &mut [f32; 32]) {
    let d = half_at(b[0], b[1]);
    let (low, high) = y.split_at_mut(16);
    for ((&q, y0), y1) in b[2..].iter().zip(low).zip(high) {
        *y0 = f32::from(i16::from(q & 0x0F) - 8) * d;
        *y1 = f32::from(i16::from(q >> 4) - 8) * d;
    }
}

/// `block_q4_1`: `d: f16, m: f16, qs: [u8; 16]`; `y = q * d + m`.
fn q4_1(b: &[u8; 20], y: &mut [f32; 32]) {
    let d = half_at(b[0], b[1]);
    let m = half_at(b[2], b[3]);
    let (low, high) = y.split_at_mut(16);
    for ((&q, y0), y1) in b[4..].iter().zip(low).zip(high) {
        *y0 = f32::from(q & 0x0F) * d + m;
        *y1 = f32::from(q >> 4) * d + m;
    }
}

/// `block_q5_0`: `d: f16, qh: u32, qs: [u8; 16]`; bit j of `qh` is the fifth bit of value j;
/// `y = (q - 16) * d`.
fn q5_0(b: &[u8; 22], y: &mut [f32; 32]) {
    let d = half_at(b[0], b[1]);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let (low, high) = y.split_at_mut(16);
    for (j, ((&q, y0), y1)) in b[6..].iter().zip(low).zip(high).enumerate() {
        let (x0, x1) = five_bit_pair(q, qh, j);
        *y0 = f32::from(i16::from(x0) - 16) * d;
        *y1 = f32::from(i16::from(x1) - 16) * d;
    }
}

/// `block_q5_1`: `d: f16, m: f16, qh: u32, qs: [u8; 16]`; `y = q * d + m`.
fn q5_1(b: &[u8; 24], y: &mut [f32; 32]) {
    let d = half_at(b[0], b[1]);
    let m = half_at(b[2], b[3]);
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let (low, high) = y.split_at_mut(16);
    for (j, ((&q, y0), y1)) in b[8..].iter().zip(low).zip(high).enumerate() {
        let (x0, x1) = five_bit_pair(q, qh, j);
        *y0 = f32::from(x0) * d + m;
        *y1 = f32::from(x1) * d + m;
    }
}

/// Values j and j + 16 of a Q5 block: the nibbles of `q` plus bits j and j + 16 of `qh`.
fn five_bit_pair(q: u8, qh: u32, j: usize) -> (u8, u8) {
    let bit = |i: usize| u8::from((qh >> i) & 1 == 1) << 4;
    ((q & 0x0F) | bit(j), (q >> 4) | bit(j + 16))
}

/// Unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K block (ggml's `get_scale_min_k4`):
/// bytes 0..4 hold scales 0..4, bytes 4..8 mins 0..4 (low 6 bits each); scales and mins 4..8
/// have their low nibbles in bytes 8..12 and their top two bits in the spare bits of bytes 0..8.
fn scales_and_mins(s: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let mut scales = [0u8; 8];
    let mut mins = [0u8; 8];
    for j in 0..4 {
        scales[j] = s[j] & 63;
        mins[j] = s[j + 4] & 63;
        scales[j + 4] = (s[j + 8] & 0x0F) | ((s[j] >> 6) << 4);
        mins[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    (scales, mins)
}

fn scale_bytes(b: &[u8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    s.copy_from_slice(&b[4..16]);
    s
}

/// `block_q4_K`: `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]`. Eight sub-blocks of 32;
/// each 32 bytes of `qs` hold one sub-block in low nibbles and the next in high nibbles.
/// `y = d * scale * q - dmin * min`.
fn q4_k(b: &[u8; 144], y: &mut [f32; QK_K]) {
    let d = half_at(b[0], b[1]);
    let dmin = half_at(b[2], b[3]);
    let (scales, mins) = scales_and_mins(&scale_bytes(b));
    let (qs, _) = b[16..].as_chunks::<32>();
    let (out, _) = y.as_chunks_mut::<64>();
    for (pair, (q, y)) in qs.iter().zip(out).enumerate() {
        let d1 = d * f32::from(scales[2 * pair]);
        let m1 = dmin * f32::from(mins[2 * pair]);
        let d2 = d * f32::from(scales[2 * pair + 1]);
        let m2 = dmin * f32::from(mins[2 * pair + 1]);
        let (low, high) = y.split_at_mut(32);
        for ((&q, y0), y1) in q.iter().zip(low).zip(high) {
            *y0 = d1 * f32::from(q & 0x0F) - m1;
            *y1 = d2 * f32::from(q >> 4) - m2;
        }
    }
}

/// `block_q5_K`: `d: f16, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]`. Like Q4_K,
/// with the fifth bit of sub-block `k`'s value `l` in bit `k` of `qh[l]`.
fn q5_k(b: &[u8; 176], y: &mut [f32; QK_K]) {
    let d = half_at(b[0], b[1]);
    let dmin = half_at(b[2], b[3]);
    let (scales, mins) = scales_and_mins(&scale_bytes(b));
    let qh = &b[16..48];
    let (qs, _) = b[48..].as_chunks::<32>();
    let (out, _) = y.as_chunks_mut::<64>();
    for (pair, (ql, y)) in qs.iter().zip(out).enumerate() {
        let d1 = d * f32::from(scales[2 * pair]);
        let m1 = dmin * f32::from(mins[2 * pair]);
        let d2 = d * f32::from(scales[2 * pair + 1]);
        let m2 = dmin * f32::from(mins[2 * pair + 1]);
        let (low, high) = y.split_at_mut(32);
        for (((&ql, &qh), y0), y1) in ql.iter().zip(qh).zip(low).zip(high) {
            let h0 = ((qh >> (2 * pair)) & 1) << 4;
            let h1 = ((qh >> (2 * pair + 1)) & 1) << 4;
            *y0 = d1 * f32::from((ql & 0x0F) | h0) - m1;
            *y1 = d2 * f32::from((ql >> 4) | h1) - m2;
        }
    }
}

/// `block_q6_K`: `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`. Two halves of 128
/// values; in each, value `l + 32k` (k = 0..4) takes a nibble of `ql` and two bits of `qh[l]`,
/// and every 16 values share one signed scale. `y = d * scale * (q - 32)`.
fn q6_k(b: &[u8; 210], y: &mut [f32; QK_K]) {
    let d = half_at(b[208], b[209]);
    let (ql_halves, _) = b[..128].as_chunks::<64>();
    let (qh_halves, _) = b[128..192].as_chunks::<32>();
    let (sc_halves, _) = b[192..208].as_chunks::<8>();
    let (out, _) = y.as_chunks_mut::<128>();
    for (((ql, qh), sc), y) in ql_halves.iter().zip(qh_halves).zip(sc_halves).zip(out) {
        let scale = |i: usize| d * f32::from(i8::from_le_bytes([sc[i]]));
        for l in 0..32 {
            let is = l / 16;
            let q1 = (ql[l] & 0x0F) | ((qh[l] & 3) << 4);
            let q2 = (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4);
            let q3 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            let q4 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
            y[l] = scale(is) * f32::from(i16::from(q1) - 32);
            y[l + 32] = scale(is + 2) * f32::from(i16::from(q2) - 32);
            y[l + 64] = scale(is + 4) * f32::from(i16::from(q3) - 32);
            y[l + 96] = scale(is + 6) * f32::from(i16::from(q4) - 32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16_bytes(v: f32) -> [u8; 2] {
        f16::from_f32(v).to_le_bytes()
    }

    #[test]
    fn q8_0_scales_signed_bytes() {
        let mut block = [0u8; 34];
        block[..2].copy_from_slice(&f16_bytes(0.5));
        block[2] = 4;
        block[3] = 0xFF; // -1
        block[33] = 0x80; // -128
        let y = dequantize(GgmlType::Q8_0, &block).expect("one block");
        assert_eq!(y.len(), 32);
        assert_eq!((y[0], y[1], y[2], y[31]), (2.0, -0.5, 0.0, -64.0));
    }

    #[test]
    fn q4_0_puts_low_nibbles_first() {
        let mut block = [0u8; 18];
        block[..2].copy_from_slice(&f16_bytes(2.0));
        block[2] = 0xF0; // value 0 = 0 - 8, value 16 = 15 - 8
        block[17] = 0x98; // value 15 = 8 - 8, value 31 = 9 - 8
        let y = dequantize(GgmlType::Q4_0, &block).expect("one block");
        assert_eq!((y[0], y[16], y[15], y[31]), (-16.0, 14.0, 0.0, 2.0));
    }

    #[test]
    fn q4_1_adds_the_minimum() {
        let mut block = [0u8; 20];
        block[..2].copy_from_slice(&f16_bytes(0.25));
        block[2..4].copy_from_slice(&f16_bytes(-1.0));
        block[4] = 0x4F;
        let y = dequantize(GgmlType::Q4_1, &block).expect("one block");
        assert_eq!((y[0], y[16], y[1]), (15.0 * 0.25 - 1.0, 4.0 * 0.25 - 1.0, -1.0));
    }

    #[test]
    fn q5_0_takes_the_fifth_bit_from_qh() {
        let mut block = [0u8; 22];
        block[..2].copy_from_slice(&f16_bytes(1.0));
        // Bit 0 sets the high bit of value 0; bit 16 that of value 16; bit 31 that of value 31.
        block[2..6].copy_from_slice(&(1u32 | 1 << 16 | 1 << 31).to_le_bytes());
        block[6] = 0x21;
        let y = dequantize(GgmlType::Q5_0, &block).expect("one block");
        assert_eq!((y[0], y[16], y[1], y[31], y[15]), (17.0 - 16.0, 18.0 - 16.0, -16.0, 0.0, -16.0));
    }

    #[test]
    fn k_quant_scales_unpack_like_get_scale_min_k4() {
        // Scale 5 = low nibble of byte 9 (0x3) | top bits of byte 1 (0b10) << 4 = 0x23;
        // min 5 = high nibble of byte 9 (0xA) | top bits of byte 5 (0b01) << 4 = 0x1A.
        let mut s = [0u8; 12];
        s[1] = 0b1000_0111;
        s[5] = 0b0100_1001;
        s[9] = 0xA3;
        let (scales, mins) = scales_and_mins(&s);
        assert_eq!((scales[1], mins[1]), (7, 9));
        assert_eq!((scales[5], mins[5]), (0x23, 0x1A));
    }

    #[test]
    fn q4_k_applies_sub_block_scale_and_min() {
        let mut block = [0u8; 144];
        block[..2].copy_from_slice(&f16_bytes(0.5));
        block[2..4].copy_from_slice(&f16_bytes(0.25));
        block[4] = 2; // scale 0
        block[5] = 3; // scale 1
        block[8] = 4; // min 0
        block[9] = 8; // min 1
        block[16] = 0x7A; // value 0 = 0xA in sub-block 0, value 32 = 7 in sub-block 1
        let y = dequantize(GgmlType::Q4K, &block).expect("one block");
        assert_eq!(y[0], 0.5 * 2.0 * 10.0 - 0.25 * 4.0);
        assert_eq!(y[32], 0.5 * 3.0 * 7.0 - 0.25 * 8.0);
        assert_eq!(y[64], 0.0, "sub-block 2 has scale 0 and min 0");
    }

    #[test]
    fn q6_k_uses_signed_scales_and_offset_32() {
        let mut block = [0u8; 210];
        block[208..].copy_from_slice(&f16_bytes(1.0));
        block[192] = 0xFE; // scale 0 = -2
        block[0] = 0x01; // value 0 low nibble 1 (qh bits 0) -> 1 - 32
        block[128] = 0b0000_0011; // value 0 high bits = 3 -> 0x31 = 49 - 32
        let y = dequantize(GgmlType::Q6K, &block).expect("one block");
        assert_eq!(y[0], -2.0 * 17.0);
        assert_eq!(y[1], -2.0 * -32.0);
        assert_eq!(y[16], 0.0, "value 16 uses scale 1, which is 0");
    }

    #[test]
    fn bad_lengths_and_types_are_errors() {
        assert_eq!(
            dequantize(GgmlType::Q8_0, &[0; 33]),
            Err(DequantError::PartialBlock { ty: GgmlType::Q8_0, bytes: 33 })
        );
        assert_eq!(dequantize(GgmlType::Q2K, &[0; 84]), Err(DequantError::Unsupported(GgmlType::Q2K)));
        let mut out = [0.0; 3];
        assert!(matches!(dequantize_into(GgmlType::F32, &[0; 8], &mut out), Err(DequantError::OutputLength { .. })));
    }

    #[test]
    fn plain_types_convert_exactly() {
        assert_eq!(dequantize(GgmlType::F32, &1.5f32.to_le_bytes()), Ok(vec![1.5]));
        assert_eq!(dequantize(GgmlType::F16, &f16_bytes(-0.125)), Ok(vec![-0.125]));
        // bf16 is the top half of an f32: 0x3FC0 -> 0x3FC00000 = 1.5.
        assert_eq!(dequantize(GgmlType::BF16, &[0xC0, 0x3F]), Ok(vec![1.5]));
    }
}
