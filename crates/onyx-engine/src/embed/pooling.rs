//! The arithmetic on vectors: padding token rows, pooling token vectors the way
//! sentence-transformers does, L2 normalisation and cosine similarity.

use onyx_convert::hf::Pooling;

use super::MIN_NORM;

/// Cosine similarity of two vectors, in `-1.0..=1.0`. Vectors of different lengths come from
/// different models and are not comparable, so they score 0, as does a zero vector.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    // f64 sums: this is for reports and tests, where the last digits matter more than speed.
    let (mut dot, mut norm_a, mut norm_b) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    let norms = (norm_a * norm_b).sqrt();
    if norms == 0.0 { 0.0 } else { (dot / norms) as f32 }
}

/// Appends `row` as int64, right-padded with zeros to `length`. Padding ids are masked out, so 0
/// (a valid id in any vocabulary) is as good as the tokenizer's pad token.
pub(super) fn pad_into(out: &mut Vec<i64>, row: &[u32], length: usize) {
    out.extend(row.iter().map(|&v| i64::from(v)));
    out.extend(std::iter::repeat_n(0, length.saturating_sub(row.len())));
}

/// Pools one text's token vectors (`tokens` is `[sequence, dim]`, row-major) under its attention
/// mask, as sentence-transformers' `Pooling` module does. Scale does not matter: the result is
/// normalised afterwards, which is also why mean and mean-sqrt-len pooling coincide here.
pub(super) fn pool(tokens: &[f32], mask: &[u32], dim: usize, pooling: Pooling) -> Vec<f32> {
    let valid: Vec<(usize, &[f32])> =
        tokens.chunks_exact(dim).enumerate().filter(|(i, _)| mask.get(*i).is_some_and(|&m| m != 0)).collect();
    let Some(&(_, last)) = valid.last() else {
        return vec![0.0; dim];
    };
    match pooling {
        Pooling::Cls => tokens[..dim].to_vec(),
        Pooling::LastToken => last.to_vec(),
        Pooling::Max => valid.iter().fold(vec![f32::NEG_INFINITY; dim], |mut acc, (_, row)| {
            acc.iter_mut().zip(*row).for_each(|(a, &x)| *a = a.max(x));
            acc
        }),
        Pooling::Mean | Pooling::MeanSqrtLen | Pooling::WeightedMean => {
            let mut sum = vec![0.0f32; dim];
            for &(position, row) in &valid {
                // Weighted mean weighs position i (from 0) by i + 1.
                let weight = if pooling == Pooling::WeightedMean { (position + 1) as f32 } else { 1.0 };
                sum.iter_mut().zip(row).for_each(|(s, &x)| *s += weight * x);
            }
            sum
        }
    }
}

pub(super) fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(MIN_NORM);
    vector.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_ignores_padding() {
        // Three positions of width 2; the last is padding and must not count.
        let tokens = [1.0, 0.0, 3.0, 2.0, 100.0, 100.0];
        let mask = [1, 1, 0];
        assert_eq!(pool(&tokens, &mask, 2, Pooling::Mean), vec![4.0, 2.0]);
        assert_eq!(pool(&tokens, &mask, 2, Pooling::Max), vec![3.0, 2.0]);
        assert_eq!(pool(&tokens, &mask, 2, Pooling::Cls), vec![1.0, 0.0]);
        assert_eq!(pool(&tokens, &mask, 2, Pooling::LastToken), vec![3.0, 2.0]);
        assert_eq!(pool(&tokens, &mask, 2, Pooling::WeightedMean), vec![7.0, 4.0]);
        assert_eq!(pool(&tokens, &[0, 0, 0], 2, Pooling::Mean), vec![0.0, 0.0]);
    }

    #[test]
    fn normalize_gives_unit_length_and_keeps_zero_vectors_finite() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0, 0.0];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0, 0.0]);
    }

    #[test]
    fn cosine_handles_scale_zero_and_mismatched_lengths() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-7);
        assert!((cosine(&[1.0, 0.0], &[0.0, 1.0])).abs() < 1e-7);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-7);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn padding_fills_with_zeros() {
        let mut out = vec![9];
        pad_into(&mut out, &[1, 2], 4);
        assert_eq!(out, vec![9, 1, 2, 0, 0]);
    }
}
