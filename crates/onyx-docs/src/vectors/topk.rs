//! Exact top-k search: the query quantized once, the matrix scanned block by block on a few
//! threads, and the best `k` kept in a bounded heap per thread, merged at the end.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::kernels;
use super::matrix::{RowFilter, VectorMatrix};
use super::{VectorError, quantize};

/// Most threads one scan uses. Beyond a handful of cores the scan is bound by memory bandwidth,
/// and more threads only take cores from whatever else the app is doing (generating a reply).
const MAX_THREADS: usize = 8;

/// Least matrix bytes a thread must scan to be worth spawning: 4 MiB takes ~150 µs on one core,
/// against ~30 µs to start a thread. Smaller matrices are scanned on the caller's thread.
const MIN_BYTES_PER_THREAD: usize = 4 << 20;

/// Rows scored per kernel call; also the bits of one [`RowFilter`] word, so a block is skipped
/// when its filter word is zero.
const BLOCK_ROWS: usize = 64;

/// Work chunks per thread. Threads take chunks from a shared counter instead of a fixed share
/// each, so when the machine is busy (a reply being generated, a build) a descheduled thread
/// delays the query by at most one chunk: the others take over the rest.
const CHUNKS_PER_THREAD: usize = 16;

/// Least bytes in a work chunk, so taking one (an atomic add) stays negligible next to its scan.
const MIN_CHUNK_BYTES: usize = 256 << 10;

impl VectorMatrix {
    /// Exact top-`k` by cosine with `query`, best first, ties broken by the smaller id.
    ///
    /// The query need not be unit length (it is normalized; a zero query scores 0 everywhere).
    /// With a `filter`, only its rows are scored, so excluded rows never take a place in the `k`.
    /// Fewer than `k` results come back when fewer rows are allowed.
    pub fn top_k(&self, query: &[f32], k: usize, filter: Option<&RowFilter>) -> Result<Vec<(i64, f32)>, VectorError> {
        self.top_k_with_threads(query, k, filter, self.scan_threads())
    }

    /// The cosine of `query` with the vector of `id`, exactly as [`top_k`](Self::top_k) would
    /// score it; `None` if `id` has no vector. One hash lookup and one 384-byte dot: cheap enough
    /// to call for every keyword hit.
    pub fn score(&self, query: &[f32], id: i64) -> Result<Option<f32>, VectorError> {
        let query = self.prepare(query)?;
        let Some(&row) = self.rows_by_id.get(&id) else { return Ok(None) };
        let mut dot = [0];
        kernels::best().run(&query.values, self.row(row), &mut dot);
        Ok(Some(combine(dot[0], self.scales[row], query.scale)))
    }

    fn top_k_with_threads(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&RowFilter>,
        threads: usize,
    ) -> Result<Vec<(i64, f32)>, VectorError> {
        let chunk_rows = chunk_rows(self.len(), self.dim, threads);
        self.top_k_in_chunks(query, k, filter, threads, chunk_rows)
    }

    /// [`top_k`](Self::top_k) on `threads` threads taking chunks of `chunk_rows` rows (a multiple
    /// of [`BLOCK_ROWS`]) in turn.
    fn top_k_in_chunks(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&RowFilter>,
        threads: usize,
        chunk_rows: usize,
    ) -> Result<Vec<(i64, f32)>, VectorError> {
        debug_assert!(chunk_rows > 0 && chunk_rows.is_multiple_of(BLOCK_ROWS));
        let query = self.prepare(query)?;
        if let Some(filter) = filter
            && filter.layout != self.layout
        {
            return Err(VectorError::StaleFilter);
        }
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let kernel = kernels::best();
        let rows = self.len();
        let chunks = rows.div_ceil(chunk_rows);
        let next_chunk = AtomicUsize::new(0);
        let work = || {
            let mut best = TopK::new(k, rows);
            loop {
                let chunk = next_chunk.fetch_add(1, AtomicOrdering::Relaxed);
                if chunk >= chunks {
                    return best;
                }
                let start = chunk * chunk_rows;
                self.scan(&query, filter, start..(start + chunk_rows).min(rows), kernel, &mut best);
            }
        };
        let threads = threads.clamp(1, chunks);
        let best = if threads == 1 {
            work()
        } else {
            std::thread::scope(|scope| {
                let workers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
                // The caller's thread works too rather than waiting idle.
                let mut best = work();
                for worker in workers {
                    match worker.join() {
                        Ok(other) => best.merge(other),
                        // The scan has no panicking paths; should one appear, surface it as is.
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                best
            })
        };
        Ok(best.into_sorted())
    }

    /// Threads for a scan of this matrix: bounded by the cores, the setting, and the work.
    fn scan_threads(&self) -> usize {
        let wanted = if self.max_threads == 0 { available_cores().min(MAX_THREADS) } else { self.max_threads };
        wanted.min(self.values.len() / MIN_BYTES_PER_THREAD).max(1)
    }

    /// Scores `rows` (a range starting at a multiple of [`BLOCK_ROWS`]) into `best`.
    fn scan(
        &self,
        query: &PreparedQuery,
        filter: Option<&RowFilter>,
        rows: Range<usize>,
        kernel: kernels::Kernel,
        best: &mut TopK,
    ) {
        let dim = self.dim;
        let mut dots = [0i32; BLOCK_ROWS];
        for block_start in rows.clone().step_by(BLOCK_ROWS) {
            let count = (rows.end - block_start).min(BLOCK_ROWS);
            let all = if count == BLOCK_ROWS { u64::MAX } else { (1 << count) - 1 };
            let mask = filter.map_or(all, |filter| filter.word(block_start / BLOCK_ROWS) & all);
            if mask == all {
                let block = &self.values[block_start * dim..(block_start + count) * dim];
                kernel.run(&query.values, block, &mut dots[..count]);
            } else {
                // Partly filtered: score only the allowed rows, so excluded rows cost nothing.
                let mut bits = mask;
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    kernel.run(&query.values, self.row(block_start + i), &mut dots[i..=i]);
                }
            }
            // Scoring row by row is cheap next to the dots: top_k over 1M rows takes ~5% longer
            // than the kernel alone (and the same as scoring whole blocks vectorized, measured).
            let mut bits = mask;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let row = block_start + i;
                best.offer(Hit { score: combine(dots[i], self.scales[row], query.scale), id: self.ids[row] });
            }
        }
    }

    /// Validates, normalizes and quantizes a query.
    fn prepare(&self, query: &[f32]) -> Result<PreparedQuery, VectorError> {
        self.check_dim(query.len())?;
        if let Some((index, &value)) = query.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(VectorError::NonFiniteQuery { index, value });
        }
        // In f64 so that no finite f32 query overflows or underflows; a zero query stays zero.
        let norm = query.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        let unit: Vec<f32> =
            query.iter().map(|&x| if norm > 0.0 { (f64::from(x) / norm) as f32 } else { 0.0 }).collect();
        let quantized = quantize(&unit);
        Ok(PreparedQuery { values: quantized.values, scale: quantized.scale })
    }
}

/// A query ready for the int8 kernels.
struct PreparedQuery {
    values: Vec<i8>,
    scale: f32,
}

/// A cosine from an integer dot and both scales. Shared by [`VectorMatrix::top_k`] and
/// [`VectorMatrix::score`] so both report bit-identical scores; `+ 0.0` turns -0.0 into 0.0 so
/// equal scores compare equal and fall through to the id tie-break.
fn combine(dot: i32, row_scale: f32, query_scale: f32) -> f32 {
    dot as f32 * row_scale * query_scale + 0.0
}

/// The cores this process may use, asked once: `available_parallelism` reads cgroup files on
/// Linux, too slow to repeat for every query.
fn available_cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Rows per work chunk for a scan of `rows` rows of `dim` values on `threads` threads: one chunk
/// for one thread, else about [`CHUNKS_PER_THREAD`] each but none under [`MIN_CHUNK_BYTES`].
/// Always a multiple of [`BLOCK_ROWS`], so filter words line up with blocks.
fn chunk_rows(rows: usize, dim: usize, threads: usize) -> usize {
    let wanted =
        if threads <= 1 { rows } else { rows.div_ceil(threads * CHUNKS_PER_THREAD).max(MIN_CHUNK_BYTES / dim.max(1)) };
    wanted.max(1).next_multiple_of(BLOCK_ROWS)
}

/// A scored row. Ordered worst first ("greater" = lower score, or equal score and larger id), so
/// a [`BinaryHeap`] keeps the worst kept hit on top and an ascending sort puts the best first.
#[derive(Debug, Clone, Copy)]
struct Hit {
    score: f32,
    id: i64,
}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Hit {}

/// The best `k` hits seen so far: a bounded heap with the worst on top.
struct TopK {
    k: usize,
    heap: BinaryHeap<Hit>,
    /// The worst kept score once the heap is full, else -∞: almost every row of a large scan
    /// scores below it and is rejected by this one comparison.
    floor: f32,
}

impl TopK {
    fn new(k: usize, rows: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k.min(rows)), floor: f32::NEG_INFINITY }
    }

    #[inline]
    fn offer(&mut self, hit: Hit) {
        if hit.score < self.floor {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(hit);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && hit < *worst
        {
            *worst = hit;
        }
        if self.heap.len() == self.k
            && let Some(worst) = self.heap.peek()
        {
            self.floor = worst.score;
        }
    }

    fn merge(&mut self, other: TopK) {
        for hit in other.heap {
            self.offer(hit);
        }
    }

    fn into_sorted(self) -> Vec<(i64, f32)> {
        self.heap.into_sorted_vec().into_iter().map(|hit| (hit.id, hit.score)).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use super::*;
    use crate::testing::Rng;
    use crate::vectors::tests::{cosine, ids_of, random_matrix};
    use crate::vectors::{MAX_DIM, dequantize};

    #[test]
    fn int8_scores_are_within_a_hundredth_of_f32_cosine() {
        let mut rng = Rng::new(2);
        let (matrix, vectors) = random_matrix(&mut rng, 500, 384);
        let mut worst = 0f32;
        for _ in 0..20 {
            let query = rng.unit_vector(384);
            for (id, v) in vectors.iter().enumerate() {
                let score = matrix.score(&query, id as i64).unwrap().unwrap();
                worst = worst.max((score - cosine(&query, v)).abs());
            }
            // Also for vectors close to the query, where scores are high.
            let near = quantize(&query);
            let mut matrix = VectorMatrix::new(384);
            matrix.push(7, &near.values, near.scale).unwrap();
            worst = worst.max((matrix.score(&query, 7).unwrap().unwrap() - 1.0).abs());
        }
        assert!(worst < 0.01, "worst error {worst}");
    }

    #[test]
    fn query_length_does_not_change_scores() {
        let mut rng = Rng::new(9);
        let (matrix, _) = random_matrix(&mut rng, 200, 64);
        let query = rng.unit_vector(64);
        let expected = matrix.top_k(&query, 10, None).unwrap();
        for factor in [1e-30f32, 0.5, 1e3, 1e30] {
            let scaled: Vec<f32> = query.iter().map(|x| x * factor).collect();
            let found = matrix.top_k(&scaled, 10, None).unwrap();
            // Scaling the query in f32 rounds it, so scores may differ in the last bit.
            assert_eq!(ids_of(&found), ids_of(&expected), "query × {factor}");
            assert!(found.iter().zip(&expected).all(|(a, b)| (a.1 - b.1).abs() < 1e-6), "query × {factor}");
        }
    }

    #[test]
    fn top_10_matches_exact_f32_search() {
        let mut rng = Rng::new(3);
        let (matrix, vectors) = random_matrix(&mut rng, 20_000, 384);
        for _ in 0..5 {
            let query = rng.unit_vector(384);
            let mut exact: Vec<(i64, f32)> =
                vectors.iter().enumerate().map(|(id, v)| (id as i64, cosine(&query, v))).collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1));
            let expected: HashSet<i64> = exact[..10].iter().map(|&(id, _)| id).collect();
            let found = matrix.top_k(&query, 10, None).unwrap();
            let overlap = found.iter().filter(|(id, _)| expected.contains(id)).count();
            assert!(overlap >= 9, "overlap {overlap}/10: {found:?} vs {:?}", &exact[..10]);
            assert!(found.windows(2).all(|w| w[0].1 >= w[1].1), "not best first: {found:?}");
        }
    }

    #[test]
    fn threads_give_the_same_results_as_one() {
        let mut rng = Rng::new(5);
        let (mut matrix, _) = random_matrix(&mut rng, 3000, 48);
        // Equal vectors under different ids: ties must break the same way across threads.
        let twin = quantize(&rng.unit_vector(48));
        for id in [5000, 4000, 4500] {
            matrix.push(id, &twin.values, twin.scale).unwrap();
        }
        let filter = matrix.filter_by(|id| id % 3 != 0);
        for _ in 0..5 {
            let query = rng.unit_vector(48);
            for (k, filter) in [(1, None), (25, None), (25, Some(&filter)), (5000, None)] {
                let single = matrix.top_k_with_threads(&query, k, filter, 1).unwrap();
                // Small chunks, so that every thread gets some even on a tiny matrix.
                for (threads, chunk_rows) in [(2, 64), (3, 192), (7, 128), (2, 4096)] {
                    let many = matrix.top_k_in_chunks(&query, k, filter, threads, chunk_rows).unwrap();
                    assert_eq!(many, single, "{threads} threads, chunks of {chunk_rows}");
                }
            }
        }
        let query = dequantize(&twin.values, twin.scale);
        let top = matrix.top_k_in_chunks(&query, 3, None, 4, 64).unwrap();
        assert_eq!(ids_of(&top), [4000, 4500, 5000]);
    }

    #[test]
    fn filtered_rows_do_not_count_toward_k() {
        let mut rng = Rng::new(6);
        let (matrix, vectors) = random_matrix(&mut rng, 1000, 32);
        let query = rng.unit_vector(32);
        let allowed: HashSet<i64> = (0..1000).filter(|id| id % 7 == 0).collect();
        let filter = matrix.filter_ids(allowed.iter().copied().chain([-1, 99_999]));
        assert_eq!(filter.allowed(), allowed.len());
        let hits = matrix.top_k(&query, 10, Some(&filter)).unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|(id, _)| allowed.contains(id)));
        // The same as the best 10 of the allowed rows searched alone.
        let mut alone = VectorMatrix::new(32);
        for &id in &allowed {
            let q = quantize(&vectors[id as usize]);
            alone.push(id, &q.values, q.scale).unwrap();
        }
        assert_eq!(alone.top_k(&query, 10, None).unwrap(), hits);
        // Filters by predicate and by ids agree; k beyond the allowed rows returns them all.
        let by = matrix.filter_by(|id| allowed.contains(&id));
        assert_eq!(matrix.top_k(&query, 10, Some(&by)).unwrap(), hits);
        assert_eq!(matrix.top_k(&query, 1000, Some(&filter)).unwrap().len(), allowed.len());
        let none = matrix.filter_ids([]);
        assert_eq!(matrix.top_k(&query, 10, Some(&none)).unwrap(), vec![]);
    }

    #[test]
    fn k_larger_than_n_and_empty_matrix() {
        let mut rng = Rng::new(7);
        let (matrix, _) = random_matrix(&mut rng, 5, 8);
        let query = rng.unit_vector(8);
        let all = matrix.top_k(&query, usize::MAX, None).unwrap();
        assert_eq!(all.len(), 5);
        assert!(all.windows(2).all(|w| w[0].1 >= w[1].1));
        assert_eq!(matrix.top_k(&query, 0, None).unwrap(), vec![]);

        let empty = VectorMatrix::new(8);
        assert!(empty.is_empty());
        assert_eq!(empty.top_k(&query, 10, None).unwrap(), vec![]);
        assert_eq!(empty.score(&query, 1).unwrap(), None);
    }

    #[test]
    fn chunks_are_whole_blocks_and_not_too_small() {
        assert_eq!(chunk_rows(0, 384, 1), BLOCK_ROWS);
        assert_eq!(chunk_rows(1_000_000, 384, 1), 1_000_000_usize.next_multiple_of(BLOCK_ROWS));
        // 1M × 384 on 2 threads: 32 chunks of 12 MB.
        assert_eq!(chunk_rows(1_000_000, 384, 2), 31_296);
        // A small matrix is not cut below 256 KiB a chunk.
        assert_eq!(chunk_rows(5_000, 384, 8), 704);
        for (rows, dim, threads) in [(1, 1, 4), (65, 3, 2), (100_000, 768, 8), (10, MAX_DIM, 2)] {
            let chunk = chunk_rows(rows, dim, threads);
            assert!(chunk > 0 && chunk.is_multiple_of(BLOCK_ROWS), "{rows} × {dim} on {threads}: {chunk}");
        }
    }
}
