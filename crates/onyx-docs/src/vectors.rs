//! The exact vector search: every chunk's embedding held in one contiguous int8 matrix and
//! scanned in full for each query.
//!
//! What flows in: unit-length f32 embeddings, turned by [`quantize`] into int8 values with one
//! scale each (that is also the form the store keeps as SQLite blobs), pushed into a
//! [`VectorMatrix`] under their chunk row id. What flows out: the `k` ids whose vectors have the
//! highest cosine with a query, best first, optionally restricted by a [`RowFilter`].
//!
//! Why int8: a desktop index of a million chunks of 384-d vectors is 1.5 GB as f32 but 384 MB as
//! int8, and a scan is bound by memory bandwidth, so a quarter of the bytes is nearly a quarter
//! of the time. The cosine error this adds for random 384-d unit vectors is 0.0005 rms and under
//! 0.003 at worst, and the top 10 of 20k stay at least 9 of the exact f32 top 10: far below the
//! differences retrieval cares about.
//!
//! Why an exact scan rather than an approximate index (HNSW, IVF): a full scan of 1M vectors
//! takes about 14 ms on two cores, within 10% of the time merely reading 384 MB takes; it needs
//! no build step, no tuning and no extra memory, is deleted from and appended to in place, and
//! never misses a result, which matters more to "search my documents" than the sublinear time an
//! ANN index would buy.
//!
//! The inner loop is `i8 × i8 → i32`: the query is quantized too, and a score is
//! `dot × query_scale × row_scale`. The kernel is picked once at run time from what the CPU
//! supports (AVX2 on x86_64, the dot product extension on aarch64, else the target's baseline);
//! all variants give identical integer dots.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};

/// The largest dimension supported: `65536 × 128 × 128 = 2^30`, so no i32 dot can overflow even
/// with the extreme value -128 on both sides.
pub const MAX_DIM: usize = 1 << 16;

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

/// Why a vector could not be stored or a query not answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    /// A vector or query has a different length from the matrix's dimension.
    #[error("vector has {actual} values, but the matrix holds {expected}-dimensional vectors")]
    DimensionMismatch {
        /// The matrix's dimension.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The matrix was created with a dimension the kernels cannot handle.
    #[error("dimension {dim} is unsupported: it must be between 1 and {MAX_DIM}")]
    UnsupportedDimension {
        /// The matrix's dimension.
        dim: usize,
    },
    /// A stored vector's scale is negative, infinite or NaN (a broken embedding).
    #[error("vector {id} has scale {scale}, but a scale must be a finite number ≥ 0")]
    BadScale {
        /// The chunk id being pushed.
        id: i64,
        /// The offending scale.
        scale: f32,
    },
    /// The id is already in the matrix: each chunk has exactly one vector.
    #[error("vector {id} is already in the matrix")]
    DuplicateId {
        /// The chunk id being pushed.
        id: i64,
    },
    /// The query contains NaN or an infinity.
    #[error("query value {value} at position {index} is not finite")]
    NonFiniteQuery {
        /// Position in the query.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// The filter was built before rows were removed (or for another matrix), so its bits no
    /// longer point at the rows they were meant for.
    #[error("the row filter was built for another layout of the matrix; build it again")]
    StaleFilter,
}

/// An int8 vector with its scale: `value ≈ q × scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedVector {
    /// One value per dimension, in `-127..=127`.
    pub values: Vec<i8>,
    /// `max |x| / 127`; 0 for a zero vector, NaN if the input had a NaN or infinite value.
    pub scale: f32,
}

/// Quantizes a (unit-length) f32 vector to int8 with one scale: `q = round(x / scale)`,
/// `scale = max|x| / 127` (a zero vector gets scale 0).
///
/// The range is symmetric (-127..=127, never -128) so that negating a vector is exact. A vector
/// with a NaN or infinite value gets a NaN scale, which [`VectorMatrix::push`] rejects: a broken
/// embedding is refused instead of silently becoming zeros.
pub fn quantize(v: &[f32]) -> QuantizedVector {
    if v.iter().any(|x| !x.is_finite()) {
        return QuantizedVector { values: vec![0; v.len()], scale: f32::NAN };
    }
    let max = v.iter().fold(0f32, |max, x| max.max(x.abs()));
    if max == 0.0 {
        return QuantizedVector { values: vec![0; v.len()], scale: 0.0 };
    }
    let scale = max / 127.0;
    // The clamp only catches rounding at the extremes (x = max may give 127.00001).
    let values = v.iter().map(|&x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect();
    QuantizedVector { values, scale }
}

/// The f32 vector an int8 vector stands for.
pub fn dequantize(values: &[i8], scale: f32) -> Vec<f32> {
    values.iter().map(|&q| f32::from(q) * scale).collect()
}

/// Every layout of every matrix gets a fresh number, so a [`RowFilter`] can tell whether the rows
/// it was built for are still where they were.
fn next_layout() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, AtomicOrdering::Relaxed)
}

/// All vectors of the index in one contiguous row-major int8 matrix, with each row's chunk id
/// and scale.
///
/// Rows have no meaningful order: [`remove_ids`](Self::remove_ids) fills holes with the last rows.
/// Results never depend on row order (ties are broken by id).
#[derive(Debug, Clone)]
pub struct VectorMatrix {
    dim: usize,
    /// Chunk id of each row.
    ids: Vec<i64>,
    /// `rows × dim` values, row-major.
    values: Vec<i8>,
    /// Scale of each row.
    scales: Vec<f32>,
    /// Row of each id: [`score`](Self::score) looks up keyword hits one by one, and removal needs
    /// the rows of the ids it is given. About 36 bytes a row with the map's spare room, under 10%
    /// of what a 384-d row costs.
    rows_by_id: HashMap<i64, usize>,
    /// Whether ids increase with the row, as when vectors are pushed in id order and none removed:
    /// then [`filter_sorted_ids`](Self::filter_sorted_ids) merges instead of looking ids up.
    ascending: bool,
    /// Changes whenever rows move, invalidating [`RowFilter`]s built before.
    layout: u64,
    /// 0 picks the thread count automatically.
    max_threads: usize,
}

/// A set of allowed rows, one bit each, built by [`VectorMatrix::filter_ids`],
/// [`VectorMatrix::filter_sorted_ids`] or [`VectorMatrix::filter_by`] for a search restricted to
/// some documents.
///
/// A bitmap rather than a set of ids: testing a row is one bit instead of a hash lookup (a million
/// of those would cost more than the scan), and a block of 64 excluded rows is skipped without
/// reading its vectors. It belongs to the matrix's current layout: rows pushed after it was built
/// are excluded, and after a removal it must be built again ([`VectorError::StaleFilter`]).
#[derive(Debug, Clone)]
pub struct RowFilter {
    words: Vec<u64>,
    layout: u64,
    allowed: usize,
}

impl RowFilter {
    /// How many rows the filter lets through.
    pub fn allowed(&self) -> usize {
        self.allowed
    }

    /// The bits of rows `64 × index ..`; rows beyond the filter are excluded.
    fn word(&self, index: usize) -> u64 {
        self.words.get(index).copied().unwrap_or(0)
    }
}

impl VectorMatrix {
    /// An empty matrix of `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        Self::with_capacity(dim, 0)
    }

    /// An empty matrix with room for `n` vectors, so that loading the index does not reallocate
    /// (and briefly double) hundreds of megabytes.
    pub fn with_capacity(dim: usize, n: usize) -> Self {
        VectorMatrix {
            dim,
            ids: Vec::with_capacity(n),
            values: Vec::with_capacity(n.saturating_mul(dim)),
            scales: Vec::with_capacity(n),
            rows_by_id: HashMap::with_capacity(n),
            ascending: true,
            layout: next_layout(),
            max_threads: 0,
        }
    }

    /// Appends the vector of chunk `id`: int8 `values` (as from [`quantize`]) and their `scale`.
    pub fn push(&mut self, id: i64, values: &[i8], scale: f32) -> Result<(), VectorError> {
        self.check_dim(values.len())?;
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(VectorError::BadScale { id, scale });
        }
        if self.rows_by_id.contains_key(&id) {
            return Err(VectorError::DuplicateId { id });
        }
        self.ascending &= self.ids.last().is_none_or(|&last| last < id);
        self.rows_by_id.insert(id, self.ids.len());
        self.ids.push(id);
        self.values.extend_from_slice(values);
        self.scales.push(scale);
        Ok(())
    }

    /// Removes the vectors of `ids` (unknown ids are ignored) and returns how many were removed.
    ///
    /// Each hole is filled with the last row, so the cost is proportional to the rows removed,
    /// not to the matrix: re-indexing one file does not rewrite 384 MB.
    pub fn remove_ids(&mut self, ids: &HashSet<i64>) -> usize {
        let mut rows: Vec<usize> = ids.iter().filter_map(|id| self.rows_by_id.remove(id)).collect();
        if rows.is_empty() {
            return 0;
        }
        // Highest first: then the last row is never one still waiting to be removed.
        rows.sort_unstable_by(|a, b| b.cmp(a));
        let dim = self.dim;
        for &row in &rows {
            let last = self.ids.len() - 1;
            if row != last {
                // The last row fills the hole: rows are no longer in id order.
                self.ascending = false;
                self.values.copy_within(last * dim..(last + 1) * dim, row * dim);
                self.ids[row] = self.ids[last];
                self.scales[row] = self.scales[last];
                self.rows_by_id.insert(self.ids[row], row);
            }
            self.ids.truncate(last);
            self.scales.truncate(last);
            self.values.truncate(last * dim);
        }
        self.ascending |= self.ids.is_empty();
        self.layout = next_layout();
        rows.len()
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the matrix holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Dimension of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether chunk `id` has a vector here.
    pub fn contains(&self, id: i64) -> bool {
        self.rows_by_id.contains_key(&id)
    }

    /// The chunk id of every row, in row order.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// Heap memory held, allocated capacity included. The id map's share is an estimate: it keeps
    /// 8 slots for every 7 entries it has room for, each an entry plus a control byte.
    pub fn memory_bytes(&self) -> usize {
        let map_slot = size_of::<(i64, usize)>() + 1;
        self.values.capacity()
            + self.ids.capacity() * size_of::<i64>()
            + self.scales.capacity() * size_of::<f32>()
            + self.rows_by_id.capacity() * 8 / 7 * map_slot
    }

    /// Caps the threads one scan uses; 0 (the default) uses the available cores, at most 8.
    pub fn set_max_threads(&mut self, threads: usize) {
        self.max_threads = threads;
    }

    /// A filter letting through the rows of `ids`; unknown ids are ignored. Costs one hash lookup
    /// per id given, independent of the matrix size.
    pub fn filter_ids(&self, ids: impl IntoIterator<Item = i64>) -> RowFilter {
        let mut filter = self.empty_filter();
        for id in ids {
            if let Some(&row) = self.rows_by_id.get(&id) {
                let bit = 1u64 << (row % 64);
                let word = &mut filter.words[row / 64];
                filter.allowed += usize::from(*word & bit == 0);
                *word |= bit;
            }
        }
        filter
    }

    /// A filter letting through the rows of `ids`, which must be in ascending order; unknown ids
    /// are ignored. The same filter as [`filter_ids`](Self::filter_ids), faster for many ids.
    ///
    /// When the rows are in id order (vectors pushed in id order, none removed since), the ids are
    /// merged with the rows: a galloping search from the last match, so the cost is proportional
    /// to the ids given (times the log of the gap between neighbours), reading the row ids in
    /// order rather than probing the hash map at random. Ids out of order, or rows out of order,
    /// fall back to one hash lookup per id.
    pub fn filter_sorted_ids(&self, ids: &[i64]) -> RowFilter {
        if !self.ascending || !ids.is_sorted() {
            return self.filter_ids(ids.iter().copied());
        }
        let mut filter = self.empty_filter();
        // Every row before `start` holds an id smaller than the next one wanted.
        let mut start = 0;
        for &id in ids {
            let rest = &self.ids[start..];
            // Double the stride until it passes `id`; then the first row ≥ `id` lies in the last
            // stride, found by binary search. Neighbouring ids are usually in neighbouring rows,
            // so this mostly stops at the first step.
            let mut end = 1;
            while end <= rest.len() && rest[end - 1] < id {
                end *= 2;
            }
            let low = end / 2;
            let row = start + low + rest[low..end.min(rest.len())].partition_point(|&x| x < id);
            if self.ids.get(row) == Some(&id) {
                let bit = 1u64 << (row % 64);
                let word = &mut filter.words[row / 64];
                filter.allowed += usize::from(*word & bit == 0);
                *word |= bit;
                start = row + 1;
            } else {
                start = row;
            }
        }
        filter
    }

    /// A filter letting through the rows whose id satisfies `keep`, called once per row.
    pub fn filter_by(&self, mut keep: impl FnMut(i64) -> bool) -> RowFilter {
        let mut filter = self.empty_filter();
        for (row, &id) in self.ids.iter().enumerate() {
            if keep(id) {
                filter.words[row / 64] |= 1 << (row % 64);
                filter.allowed += 1;
            }
        }
        filter
    }

    fn empty_filter(&self) -> RowFilter {
        RowFilter { words: vec![0; self.len().div_ceil(64)], layout: self.layout, allowed: 0 }
    }

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

    fn row(&self, row: usize) -> &[i8] {
        &self.values[row * self.dim..(row + 1) * self.dim]
    }

    fn check_dim(&self, len: usize) -> Result<(), VectorError> {
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(VectorError::UnsupportedDimension { dim: self.dim });
        }
        if len != self.dim {
            return Err(VectorError::DimensionMismatch { expected: self.dim, actual: len });
        }
        Ok(())
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

/// The int8 dot kernels and their run-time selection.
///
/// Measured on a 2-core EPYC (Zen 4) over 1M × 384 on one thread, where a plain sum over the bytes
/// (the memory-bandwidth floor) takes 14.2 ms:
/// - [`dots_generic`] compiled for AVX2 takes 19.7 ms: LLVM vectorizes it with 128-bit `vpmaddwd`
///   feeding 256-bit adds, half the width available. The hand-written [`dots_avx2`] takes 15.0.
/// - AVX-512BW (auto-vectorized or by hand, 14.8) and AVX-512 VNNI `vpdpbusd` (14.6) are no
///   faster: the scan is at the floor already, and VNNI only wins on matrices that fit in cache,
///   whose scans take well under a millisecond anyway. So there are no AVX-512 variants.
/// - On aarch64, [`dots_generic`] becomes NEON `smull`/`saddw` (the baseline) or, with the
///   `dotprod` feature, `sdot`: checked in the generated assembly, not timed (no Arm machine).
mod kernels {
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
}

/// Which kernel variant the scans use on this CPU ("avx2", "dotprod" or "baseline").
pub fn kernel_name() -> &'static str {
    kernels::best().name
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::Rng;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// A matrix of `n` random unit vectors with ids `0..n`, and the f32 originals.
    fn random_matrix(rng: &mut Rng, n: usize, dim: usize) -> (VectorMatrix, Vec<Vec<f32>>) {
        let mut matrix = VectorMatrix::with_capacity(dim, n);
        let vectors: Vec<Vec<f32>> = (0..n).map(|_| rng.unit_vector(dim)).collect();
        for (id, v) in vectors.iter().enumerate() {
            let q = quantize(v);
            matrix.push(id as i64, &q.values, q.scale).unwrap();
        }
        (matrix, vectors)
    }

    fn ids_of(hits: &[(i64, f32)]) -> Vec<i64> {
        hits.iter().map(|&(id, _)| id).collect()
    }

    #[test]
    fn quantize_round_trips_within_half_a_step() {
        let v = Rng::new(1).unit_vector(384);
        let q = quantize(&v);
        assert!(q.values.iter().all(|&x| x != -128));
        assert_eq!(q.values.iter().map(|x| x.unsigned_abs()).max(), Some(127));
        for (x, y) in v.iter().zip(dequantize(&q.values, q.scale)) {
            assert!((x - y).abs() <= q.scale / 2.0 + 1e-7, "{x} vs {y}");
        }
    }

    #[test]
    fn zero_and_broken_vectors_quantize_safely() {
        assert_eq!(quantize(&[0.0; 4]), QuantizedVector { values: vec![0; 4], scale: 0.0 });
        assert!(quantize(&[0.5, f32::NAN]).scale.is_nan());
        assert!(quantize(&[f32::INFINITY, 0.5]).scale.is_nan());
        assert_eq!(quantize(&[]).values.len(), 0);

        // A zero vector can be stored and scores 0; a broken one is refused by name.
        let mut matrix = VectorMatrix::new(2);
        matrix.push(1, &[0, 0], 0.0).unwrap();
        assert_eq!(matrix.score(&[1.0, 0.0], 1).unwrap(), Some(0.0));
        let broken = quantize(&[f32::NAN, 1.0]);
        let err = matrix.push(2, &broken.values, broken.scale).unwrap_err();
        assert!(matches!(err, VectorError::BadScale { id: 2, .. }), "{err}");
        assert!(matrix.push(3, &[1, 1], -1.0).is_err());
        // A zero query scores everything 0; ties go to the smaller id.
        matrix.push(0, &[5, 5], 0.1).unwrap();
        assert_eq!(matrix.top_k(&[0.0, 0.0], 5, None).unwrap(), vec![(0, 0.0), (1, 0.0)]);
    }

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
    fn a_filter_from_sorted_ids_equals_the_filter_from_looked_up_ids() {
        let mut rng = Rng::new(10);
        // Ids with gaps (multiples of 3), so that ids between rows are asked for too.
        let mut matrix = VectorMatrix::new(4);
        for i in 0..1000 {
            matrix.push(i * 3, &[1, 2, 3, 4], 0.01).unwrap();
        }
        let mut random: Vec<i64> = (0..400).map(|_| (rng.next_u64() % 3200) as i64 - 100).collect();
        random.sort_unstable();
        let sets: Vec<Vec<i64>> = vec![
            vec![],
            matrix.ids().to_vec(),
            (0..3000).filter(|id| id % 21 == 0).collect(),
            (600..900).collect(),
            vec![-5, 0, 0, 3, 4, 2997, 2998, 2999, 3000, 1 << 40],
            vec![2997],
            random,
        ];
        let same = |matrix: &VectorMatrix, ids: &[i64]| {
            let merged = matrix.filter_sorted_ids(ids);
            let looked_up = matrix.filter_ids(ids.iter().copied());
            assert_eq!(merged.words, looked_up.words, "ids {ids:?}");
            assert_eq!(merged.allowed, looked_up.allowed, "ids {ids:?}");
            assert_eq!(merged.layout, matrix.layout);
        };
        assert!(matrix.ascending);
        for ids in &sets {
            same(&matrix, ids);
        }
        // Ids out of order fall back to lookups, with the same result.
        let mut shuffled = sets[2].clone();
        shuffled.reverse();
        same(&matrix, &shuffled);
        // After a removal the rows are out of id order: the fallback again.
        matrix.remove_ids(&[0, 1500, 2400].into_iter().collect());
        assert!(!matrix.ascending);
        for ids in &sets {
            same(&matrix, ids);
        }
        // Emptied, the matrix is in order again.
        let everything: HashSet<i64> = matrix.ids().iter().copied().collect();
        matrix.remove_ids(&everything);
        assert!(matrix.ascending);
        matrix.push(5, &[1, 0, 0, 0], 0.01).unwrap();
        matrix.push(9, &[0, 1, 0, 0], 0.01).unwrap();
        assert_eq!(matrix.filter_sorted_ids(&[1, 9]).allowed(), 1);
        assert_eq!(
            ids_of(&matrix.top_k(&[1.0, 0.0, 0.0, 0.0], 5, Some(&matrix.filter_sorted_ids(&[9]))).unwrap()),
            [9]
        );
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
    fn bad_dimensions_are_errors_naming_both_lengths() {
        let mut matrix = VectorMatrix::new(4);
        let err = matrix.push(1, &[1, 2, 3], 0.1).unwrap_err();
        assert_eq!(err, VectorError::DimensionMismatch { expected: 4, actual: 3 });
        assert_eq!(err.to_string(), "vector has 3 values, but the matrix holds 4-dimensional vectors");
        matrix.push(1, &[1, 2, 3, 4], 0.1).unwrap();
        assert_eq!(matrix.push(1, &[1, 2, 3, 4], 0.1), Err(VectorError::DuplicateId { id: 1 }));
        assert_eq!(matrix.top_k(&[1.0; 5], 3, None), Err(VectorError::DimensionMismatch { expected: 4, actual: 5 }));
        assert_eq!(matrix.score(&[1.0; 2], 1), Err(VectorError::DimensionMismatch { expected: 4, actual: 2 }));
        // NaN is not equal to itself, hence `matches!`.
        let err = matrix.top_k(&[0.0, f32::NAN, 0.0, 0.0], 3, None).unwrap_err();
        assert!(matches!(err, VectorError::NonFiniteQuery { index: 1, value } if value.is_nan()), "{err}");
        let err = matrix.score(&[0.0, 0.0, f32::NEG_INFINITY, 0.0], 1).unwrap_err();
        assert_eq!(err.to_string(), "query value -inf at position 2 is not finite");
        for dim in [0, MAX_DIM + 1] {
            let mut matrix = VectorMatrix::new(dim);
            let values = vec![0; dim];
            assert_eq!(matrix.push(1, &values, 0.0), Err(VectorError::UnsupportedDimension { dim }));
            assert_eq!(matrix.top_k(&vec![0.0; dim], 1, None), Err(VectorError::UnsupportedDimension { dim }));
        }
    }

    #[test]
    fn remove_compacts_and_keeps_ids_findable() {
        let mut rng = Rng::new(8);
        let (mut matrix, vectors) = random_matrix(&mut rng, 300, 16);
        let before = matrix.memory_bytes();
        let stale = matrix.filter_by(|_| true);
        let removed: HashSet<i64> = (0..300).filter(|id| id % 4 == 1 || *id > 280).chain([1000]).collect();
        assert_eq!(matrix.remove_ids(&removed), 75 + 19 - 5);
        assert_eq!(matrix.len(), 300 - 89);
        assert_eq!(matrix.remove_ids(&removed), 0);
        assert!(matrix.memory_bytes() <= before);

        let query = rng.unit_vector(16);
        for (id, v) in vectors.iter().enumerate() {
            let id = id as i64;
            let score = matrix.score(&query, id).unwrap();
            assert_eq!(score.is_some(), !removed.contains(&id), "id {id}");
            assert_eq!(matrix.contains(id), !removed.contains(&id));
            if let Some(score) = score {
                assert!((score - cosine(&query, v)).abs() < 0.02, "id {id} moved with the wrong data");
            }
        }
        let all = matrix.top_k(&query, 1000, None).unwrap();
        assert_eq!(all.len(), matrix.len());
        assert!(all.iter().all(|(id, _)| !removed.contains(id)));
        // Rows moved, so the old filter is refused; pushing after removal works.
        assert_eq!(matrix.top_k(&query, 5, Some(&stale)), Err(VectorError::StaleFilter));
        let q = quantize(&vectors[1]);
        matrix.push(1, &q.values, q.scale).unwrap();
        assert_eq!(matrix.top_k(&dequantize(&q.values, q.scale), 1, None).unwrap()[0].0, 1);
        // Removing everything leaves an empty, usable matrix.
        let everything: HashSet<i64> = matrix.ids().iter().copied().collect();
        matrix.remove_ids(&everything);
        assert!(matrix.is_empty());
        assert_eq!(matrix.top_k(&query, 5, None).unwrap(), vec![]);
    }

    #[test]
    fn filter_from_another_matrix_is_stale() {
        let a = VectorMatrix::new(4);
        let b = VectorMatrix::new(4);
        assert_eq!(b.top_k(&[1.0; 4], 1, Some(&a.filter_ids([1]))), Err(VectorError::StaleFilter));
    }

    #[test]
    fn rows_pushed_after_a_filter_are_excluded() {
        let mut matrix = VectorMatrix::new(2);
        matrix.push(1, &[100, 0], 0.01).unwrap();
        let filter = matrix.filter_by(|_| true);
        matrix.push(2, &[127, 0], 0.01).unwrap();
        assert_eq!(ids_of(&matrix.top_k(&[1.0, 0.0], 5, Some(&filter)).unwrap()), [1]);
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
