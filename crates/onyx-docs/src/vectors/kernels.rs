//! The int8 dot kernels and their run-time selection.
//!
//! Measured on a 2-core EPYC (Zen 4) over 1M × 384 on one thread, where a plain sum over the bytes
//! (the memory-bandwidth floor) takes 14.2 ms:
//! - [`dots_generic`] compiled for AVX2 takes 19.7 ms: LLVM vectorizes it with 128-bit `vpmaddwd`
//!   feeding 256-bit adds, half the width available. The hand-written [`dots_avx2`] takes 15.0.
//! - AVX-512BW (auto-vectorized or by hand, 14.8) and AVX-512 VNNI `vpdpbusd` (14.6) are no
//!   faster: the scan is at the floor already, and VNNI only wins on matrices that fit in cache,
//!   whose scans take well under a millisecond anyway. So there are no AVX-512 variants.
//! - On aarch64, [`dots_generic`] becomes NEON `smull`/`saddw` (the baseline) or, with the
//!   `dotprod` feature, `sdot`: checked in the generated assembly, not timed (no Arm machine).

use std::sync::OnceLock;

/// Dots of `query` with each `query.len()`-long row of `rows`, into `dots` (one per row).
///
/// `unsafe` because a variant may use instructions the CPU lacks: only call one listed by
/// [`available`].
type DotsFn = unsafe fn(query: &[i8], rows: &[i8], dots: &mut [i32]);

/// A kernel variant the running CPU supports.
#[derive(Clone, Copy)]
pub(super) struct Kernel {
    /// Which instruction set it was compiled for, for benchmarks and tests.
    pub(super) name: &'static str,
    dots: DotsFn,
}

impl Kernel {
    /// Dots of `query` with each row of `rows`; `rows.len()` must be `dots.len() × query.len()`.
    pub(super) fn run(&self, query: &[i8], rows: &[i8], dots: &mut [i32]) {
        debug_assert_eq!(rows.len(), dots.len() * query.len());
        // SAFETY: a `Kernel` is only built by `available()`, which lists a variant only after
        // detecting at run time that this CPU has every feature it was compiled with.
        unsafe { (self.dots)(query, rows, dots) }
    }
}

/// The portable kernel, written so LLVM vectorizes it (i8 widened and multiplied into i32
/// lanes), and inlined into each variant so it is compiled with that variant's features.
/// No overflow: |dot| ≤ dim × 128² ≤ 2^30 for the dimensions the matrix accepts.
#[inline(always)]
fn dots_generic(query: &[i8], rows: &[i8], dots: &mut [i32]) {
    if query.is_empty() {
        dots.fill(0);
        return;
    }
    for (dot, row) in dots.iter_mut().zip(rows.chunks_exact(query.len())) {
        *dot = dot_generic(query, row);
    }
}

#[inline(always)]
fn dot_generic(query: &[i8], row: &[i8]) -> i32 {
    query.iter().zip(row).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum()
}

/// Whatever the target guarantees: SSE2 on x86_64, NEON on aarch64, scalar elsewhere.
fn dots_baseline(query: &[i8], rows: &[i8], dots: &mut [i32]) {
    dots_generic(query, rows, dots);
}

/// 32 values a step: both sides sign-extended to 16 × i16 (`vpmovsxbw`), multiplied and
/// added in pairs into 8 × i32 (`vpmaddwd`; a pair is at most 2 × 128² so it cannot
/// overflow), two accumulators to hide the add latency. The last `dim % 32` values go through
/// the portable loop.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2(query: &[i8], rows: &[i8], dots: &mut [i32]) {
    use std::arch::x86_64::{
        __m256i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_shuffle_epi32, _mm256_add_epi32,
        _mm256_castsi256_si128, _mm256_cvtepi8_epi16, _mm256_extracti128_si256, _mm256_madd_epi16,
        _mm256_setzero_si256,
    };

    /// 16 values from `values[start..start + 16]`, widened to i16.
    #[inline(always)]
    fn widen(values: &[i8], start: usize) -> __m256i {
        let sixteen = &values[start..start + 16];
        // SAFETY: `sixteen` is 16 readable bytes (bounds-checked above; LLVM drops the check
        // for the 32-byte chunks below), and `loadu` needs no alignment. The AVX2 intrinsics
        // are sound because `widen` is only called, and inlined, in `dots_avx2`, whose
        // callers have checked that the CPU has AVX2.
        unsafe { _mm256_cvtepi8_epi16(_mm_loadu_si128(sixteen.as_ptr().cast())) }
    }

    let dim = query.len();
    if dim == 0 {
        dots.fill(0);
        return;
    }
    let body = dim - dim % 32;
    for (dot, row) in dots.iter_mut().zip(rows.chunks_exact(dim)) {
        let mut even = _mm256_setzero_si256();
        let mut odd = _mm256_setzero_si256();
        for (q, r) in query[..body].chunks_exact(32).zip(row[..body].chunks_exact(32)) {
            even = _mm256_add_epi32(even, _mm256_madd_epi16(widen(q, 0), widen(r, 0)));
            odd = _mm256_add_epi32(odd, _mm256_madd_epi16(widen(q, 16), widen(r, 16)));
        }
        // Horizontal sum of the 8 lanes: halves, then pairs within 128 bits.
        let sum = _mm256_add_epi32(even, odd);
        let four = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256::<1>(sum));
        let two = _mm_add_epi32(four, _mm_shuffle_epi32::<0b01_00_11_10>(four));
        let one = _mm_add_epi32(two, _mm_shuffle_epi32::<0b10_11_00_01>(two));
        *dot = _mm_cvtsi128_si32(one) + dot_generic(&query[body..], &row[body..]);
    }
}

/// The Armv8.2 dot product (`sdot`, 16 products an instruction), which every Windows on Arm
/// laptop of recent years has; LLVM emits it for [`dots_generic`] when the feature is on.
///
/// # Safety
/// The CPU must support the `dotprod` extension.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "dotprod")]
unsafe fn dots_dotprod(query: &[i8], rows: &[i8], dots: &mut [i32]) {
    dots_generic(query, rows, dots);
}

/// Every variant this CPU can run, fastest first; the baseline is always last.
pub(super) fn available() -> Vec<Kernel> {
    let mut kernels = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        kernels.push(Kernel { name: "avx2", dots: dots_avx2 });
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("dotprod") {
        kernels.push(Kernel { name: "dotprod", dots: dots_dotprod });
    }
    kernels.push(Kernel { name: "baseline", dots: dots_baseline });
    kernels
}

/// The fastest available variant, chosen on first use.
pub(super) fn best() -> Kernel {
    static BEST: OnceLock<Kernel> = OnceLock::new();
    *BEST.get_or_init(|| available()[0])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::testing::Rng;
    use crate::vectors::{MAX_DIM, kernels};

    #[test]
    fn every_kernel_computes_identical_dots() {
        let mut rng = Rng::new(4);
        let kernels = kernels::available();
        assert_eq!(kernels.last().map(|k| k.name), Some("baseline"));
        for dim in [1, 3, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 384, 1000, 4099] {
            let rows = 37;
            let mut query: Vec<i8> = (0..dim).map(|_| rng.next_u64() as i8).collect();
            let mut values: Vec<i8> = (0..rows * dim).map(|_| rng.next_u64() as i8).collect();
            // The extremes, where a widening or saturating mistake would show.
            query[0] = -128;
            values[0] = -128;
            values[dim * 2..dim * 3].fill(-128);
            query[dim - 1] = 127;
            let expected: Vec<i32> = values
                .chunks_exact(dim)
                .map(|row| query.iter().zip(row).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum())
                .collect();
            for kernel in &kernels {
                let mut dots = vec![0; rows];
                kernel.run(&query, &values, &mut dots);
                assert_eq!(dots, expected, "kernel {} dim {dim}", kernel.name);
            }
        }
        // The largest dimension accepted, all -128: the dot is exactly 2^30 and must not overflow.
        let query = vec![-128i8; MAX_DIM];
        for kernel in &kernels {
            let mut dot = [0];
            kernel.run(&query, &query, &mut dot);
            assert_eq!(dot[0], 1 << 30, "kernel {}", kernel.name);
        }
    }
}
