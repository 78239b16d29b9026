//! The matrix: every vector in one contiguous row-major int8 block with its id and scale,
//! removal that compacts in place, and the row filters that restrict a search.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::{MAX_DIM, VectorError};

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
    pub(super) dim: usize,
    /// Chunk id of each row.
    pub(super) ids: Vec<i64>,
    /// `rows × dim` values, row-major.
    pub(super) values: Vec<i8>,
    /// Scale of each row.
    pub(super) scales: Vec<f32>,
    /// Row of each id: [`score`](Self::score) looks up keyword hits one by one, and removal needs
    /// the rows of the ids it is given. About 36 bytes a row with the map's spare room, under 10%
    /// of what a 384-d row costs.
    pub(super) rows_by_id: HashMap<i64, usize>,
    /// Whether ids increase with the row, as when vectors are pushed in id order and none removed:
    /// then [`filter_sorted_ids`](Self::filter_sorted_ids) merges instead of looking ids up.
    ascending: bool,
    /// Changes whenever rows move, invalidating [`RowFilter`]s built before.
    pub(super) layout: u64,
    /// 0 picks the thread count automatically.
    pub(super) max_threads: usize,
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
    pub(super) layout: u64,
    allowed: usize,
}

impl RowFilter {
    /// How many rows the filter lets through.
    pub fn allowed(&self) -> usize {
        self.allowed
    }

    /// The bits of rows `64 × index ..`; rows beyond the filter are excluded.
    pub(super) fn word(&self, index: usize) -> u64 {
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

    /// Appends the vector of chunk `id`: int8 `values` (as from [`quantize`](super::quantize)) and their `scale`.
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

    pub(super) fn row(&self, row: usize) -> &[i8] {
        &self.values[row * self.dim..(row + 1) * self.dim]
    }

    pub(super) fn check_dim(&self, len: usize) -> Result<(), VectorError> {
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(VectorError::UnsupportedDimension { dim: self.dim });
        }
        if len != self.dim {
            return Err(VectorError::DimensionMismatch { expected: self.dim, actual: len });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::Rng;
    use crate::vectors::tests::{cosine, ids_of, random_matrix};
    use crate::vectors::{dequantize, quantize};

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
}
