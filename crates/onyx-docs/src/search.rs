//! Hybrid search: the exact vector top-k and the FTS5 BM25 top-k, fused by reciprocal rank.
//!
//! What flows in: a query, the [`Store`], the [`Embedder`] and [`SearchOptions`]. What flows out:
//! ranked [`SearchResult`]s with file, location, the chunk text and a highlighted snippet.
//!
//! Why hybrid: embeddings find passages that say the same thing in other words; BM25 finds the
//! exact identifiers and rare words (`RefCell`, an error code) that small embedding models blur.
//! Reciprocal-rank fusion needs no score calibration between the two.
//!
//! "Nothing relevant" must be an honest answer, so every fused candidate is also scored by
//! cosine similarity to the query, and candidates under [`SearchOptions::min_similarity`] are
//! dropped whichever list they came from.
//!
//! The vectors of the whole index are kept in one int8 matrix ([`VectorMatrix`]) owned by the
//! [`Searcher`], reloaded only when the index's generation changes.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use ts_rs::TS;

use rusqlite::{OptionalExtension, params_from_iter};

use crate::store::{Store, StoreError};
use crate::vectors::{VectorError, VectorMatrix};
use crate::{EmbedPurpose, Embedder};

/// The constant of reciprocal-rank fusion (Cormack et al.): 60 damps the head of each list so
/// that agreement between the lists outweighs a single first place.
const RRF_K: f64 = 60.0;
/// Candidates taken from each list before fusion, at least.
const MIN_CANDIDATES: usize = 50;
/// Keyword terms used from a query; a pasted page of text would otherwise make a huge OR query.
const MAX_QUERY_TERMS: usize = 32;
/// Longest query text embedded, in characters; the model truncates to its window anyway.
const MAX_QUERY_CHARS: usize = 2000;
/// Keyword terms found in more chunks than this are left out of the BM25 query (see
/// `keyword_search`): the cost of BM25 grows with the chunks a term appears in.
const MAX_TERM_CHUNKS: i64 = 5_000;
/// Length of a snippet in characters, about two lines of a results list.
const SNIPPET_CHARS: usize = 240;
/// Default relevance floor for all-MiniLM-L6-v2-like models: unrelated passages score about
/// 0.0-0.2 with them, on-topic ones 0.35 and up.
pub const DEFAULT_MIN_SIMILARITY: f32 = 0.3;

/// Words too common to be keywords.
const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does", "for", "from",
    "get", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "should",
    "so", "that", "the", "their", "them", "then", "there", "these", "this", "to", "use", "using", "was", "we", "what",
    "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Search failures.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// An empty or whitespace-only query.
    #[error("the search query is empty")]
    EmptyQuery,
    /// The index database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The embedding model failed on the query.
    #[error("embedding the query failed: {0}")]
    Embed(String),
    /// The vector scan's thread panicked (a bug; the index is untouched).
    #[error("the vector scan failed unexpectedly; the index is unchanged, try the search again")]
    ScanFailed,
    /// The vectors in the index do not match the model.
    #[error(transparent)]
    Vectors(#[from] VectorError),
}

impl From<rusqlite::Error> for SearchError {
    fn from(error: rusqlite::Error) -> Self {
        SearchError::Store(StoreError::Sql(error))
    }
}

/// What to search for.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    /// Results wanted.
    pub k: usize,
    /// Only these sources (by path); all when empty.
    pub sources: Vec<PathBuf>,
    /// Results less similar to the query than this are dropped.
    pub min_similarity: f32,
    /// Which lists to use (vector, keyword or both), for evaluation.
    pub mode: SearchMode,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { k: 5, sources: Vec::new(), min_similarity: DEFAULT_MIN_SIMILARITY, mode: SearchMode::Hybrid }
    }
}

/// The ranking used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SearchMode {
    /// Vector and keyword lists fused.
    Hybrid,
    /// Embeddings only.
    Vector,
    /// BM25 only.
    Keyword,
}

/// One result.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    /// The file (the first one, if several files hold the same bytes).
    pub path: PathBuf,
    /// Other files with identical content.
    pub same_content: Vec<PathBuf>,
    /// The fused score (higher is better; comparable only within one search).
    pub score: f64,
    /// Cosine similarity of the chunk to the query.
    pub similarity: f32,
    /// 1-based rank in the vector list, if it was there.
    pub vector_rank: Option<usize>,
    /// 1-based rank in the keyword list, if it was there.
    pub keyword_rank: Option<usize>,
    /// Headings above the chunk.
    pub heading: String,
    /// Byte range in the document's text.
    pub byte_range: Range<usize>,
    /// First and last line.
    pub lines: (usize, usize),
    /// A short passage around the best keyword matches.
    pub snippet: String,
    /// Byte ranges in `snippet` to highlight.
    pub highlights: Vec<Range<usize>>,
    /// The whole chunk, for answers that cite it.
    pub text: String,
    /// The chunk's row id.
    pub chunk_id: i64,
}

/// A search's results and what was done to the query.
#[derive(Clone, Debug, PartialEq, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse {
    /// Best first; empty means nothing relevant was found.
    pub results: Vec<SearchResult>,
    /// The query was longer than what is searched, and was cut.
    pub query_truncated: bool,
}

/// Keeps the index's vectors in memory between searches.
#[derive(Default)]
pub struct Searcher {
    matrix: Option<VectorMatrix>,
    /// The chunks of each content in the matrix, for searches restricted to some sources.
    content_chunks: ContentChunks,
    generation: Option<i64>,
}

/// The chunk ids of every content whose vectors are loaded, grouped by content.
///
/// A search restricted to some sources needs the chunks of those sources' contents. Collecting
/// them here costs time in proportion to those chunks; testing every row's content instead (a
/// hash lookup per row) costs as much as the vector scan itself at a million chunks, and asking
/// SQLite for the chunk ids walks an index entry per chunk, several times slower again when a
/// large source is chosen.
#[derive(Default)]
struct ContentChunks {
    /// Chunk ids, grouped by content in content id order, ascending within a content.
    ids: Vec<i64>,
    /// Where each content's chunk ids are in `ids`.
    ranges: HashMap<i64, Range<usize>>,
}

impl ContentChunks {
    /// Groups `(content id, chunk id)` pairs; each chunk id appears once.
    fn new(mut pairs: Vec<(i64, i64)>) -> Self {
        // A content and its chunks are written together, so the pairs mostly come sorted already,
        // which the sort notices in one pass.
        pairs.sort_unstable();
        let mut ranges = HashMap::new();
        let mut start = 0;
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            ranges.insert(group[0].0, start..start + group.len());
            start += group.len();
        }
        ContentChunks { ids: pairs.into_iter().map(|(_, chunk)| chunk).collect(), ranges }
    }

    /// The chunk ids of `contents` (which may repeat or be unknown), ascending.
    fn chunks_of(&self, contents: &[i64]) -> Vec<i64> {
        let mut groups: Vec<Range<usize>> = contents.iter().filter_map(|c| self.ranges.get(c).cloned()).collect();
        // In content order, which is storage order here.
        groups.sort_unstable_by_key(|g| g.start);
        groups.dedup();
        let mut ids = Vec::with_capacity(groups.iter().map(ExactSizeIterator::len).sum());
        for group in groups {
            ids.extend_from_slice(&self.ids[group]);
        }
        // Chunk ids grow with content ids (both are assigned as files are indexed), so the groups
        // usually join into one ascending list; rowids reused after a deletion can break that.
        if !ids.is_sorted() {
            ids.sort_unstable();
        }
        ids
    }
}

impl Searcher {
    /// A searcher with nothing loaded yet.
    pub fn new() -> Self {
        Searcher::default()
    }

    /// Memory held by the vectors, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.matrix.as_ref().map_or(0, VectorMatrix::memory_bytes)
    }

    /// Loads the vectors if the index changed since the last load.
    pub fn refresh(&mut self, store: &Store, dim: usize) -> Result<(), SearchError> {
        let generation = store.generation()?;
        if self.generation == Some(generation) && self.matrix.as_ref().is_some_and(|m| m.dim() == dim) {
            return Ok(());
        }
        let conn = store.connection();
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM embeddings", [], |r| r.get(0))?;
        let mut matrix = VectorMatrix::with_capacity(dim, count as usize);
        let mut content_chunks = Vec::with_capacity(count as usize);
        // In chunk id order (the embeddings table's own order, so SQLite does not sort): rows in
        // id order let a source filter be merged into the matrix rather than looked up id by id.
        let mut stmt = conn.prepare(
            "SELECT e.chunk_id, c.content_id, e.scale, e.vector FROM embeddings e JOIN chunks c ON c.id = e.chunk_id
             ORDER BY e.chunk_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let bytes = row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
            let values: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
            matrix.push(id, &values, row.get::<_, f64>(2)? as f32)?;
            content_chunks.push((row.get(1)?, id));
        }
        self.matrix = Some(matrix);
        self.content_chunks = ContentChunks::new(content_chunks);
        self.generation = Some(generation);
        Ok(())
    }

    /// Searches the index.
    pub fn search(
        &mut self,
        store: &Store,
        embedder: &mut dyn Embedder,
        query: &str,
        options: &SearchOptions,
    ) -> Result<SearchResponse, SearchError> {
        let query = query.trim();
        if query.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        let (query, query_truncated) = match query.char_indices().nth(MAX_QUERY_CHARS) {
            Some((cut, _)) => (&query[..cut], true),
            None => (query, false),
        };
        self.refresh(store, embedder.dim())?;
        let k = options.k.max(1);
        let candidates = MIN_CANDIDATES.max(4 * k);
        // The allowed chunks (ascending), or None for all.
        let allowed =
            allowed_contents(store, &options.sources)?.map(|contents| self.content_chunks.chunks_of(&contents));
        let keep = |chunk: i64| allowed.as_deref().is_none_or(|a| a.binary_search(&chunk).is_ok());

        let vector = embedder
            .embed(&[query], EmbedPurpose::Query)
            .map_err(SearchError::Embed)?
            .into_iter()
            .next()
            .ok_or_else(|| SearchError::Embed("the model returned no vector".into()))?;
        let matrix = self.matrix.as_ref().ok_or_else(|| SearchError::Embed("no vectors loaded".into()))?;

        let (terms, truncated_terms) = keyword_terms(query);
        // The two lists are found at once: the vector scan is bound by memory bandwidth, the
        // keyword query by SQLite's page lookups, so they overlap well (and the database
        // connection stays on this thread).
        let (vector_hits, keyword_hits) = std::thread::scope(|scope| {
            let vector_list = (options.mode != SearchMode::Keyword).then(|| {
                scope.spawn(|| {
                    // Without sources chosen there is nothing to skip.
                    let filter = allowed.as_deref().map(|ids| matrix.filter_sorted_ids(ids));
                    matrix.top_k(&vector, candidates, filter.as_ref())
                })
            });
            let keyword_hits: Result<Vec<i64>, SearchError> = if options.mode == SearchMode::Vector || terms.is_empty()
            {
                Ok(Vec::new())
            } else {
                keyword_search(store, &terms, candidates * 2)
                    .map(|ids| ids.into_iter().filter(|&id| keep(id)).take(candidates).collect())
            };
            let vector_hits: Result<Vec<i64>, SearchError> = match vector_list {
                Some(handle) => match handle.join() {
                    Ok(result) => result.map(|hits| hits.into_iter().map(|(id, _)| id).collect()).map_err(Into::into),
                    Err(_) => Err(SearchError::ScanFailed),
                },
                None => Ok(Vec::new()),
            };
            (vector_hits, keyword_hits)
        });
        let (vector_hits, keyword_hits) = (vector_hits?, keyword_hits?);

        let mut fused: HashMap<i64, (f64, Option<usize>, Option<usize>)> = HashMap::new();
        for (rank, &id) in vector_hits.iter().enumerate() {
            let entry = fused.entry(id).or_default();
            entry.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            entry.1 = Some(rank + 1);
        }
        for (rank, &id) in keyword_hits.iter().enumerate() {
            let entry = fused.entry(id).or_default();
            entry.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            entry.2 = Some(rank + 1);
        }
        let mut ranked: Vec<Candidate> = fused
            .into_iter()
            .filter_map(|(id, (score, vector_rank, keyword_rank))| {
                let similarity = matrix.score(&vector, id).ok().flatten()?;
                (similarity >= options.min_similarity).then_some(Candidate {
                    chunk_id: id,
                    score,
                    vector_rank,
                    keyword_rank,
                    similarity,
                })
            })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id)));
        ranked.truncate(k);

        let mut results = Vec::with_capacity(ranked.len());
        for Candidate { chunk_id, score, vector_rank, keyword_rank, similarity } in ranked {
            let Some(mut result) = load_result(store, chunk_id)? else { continue };
            result.score = score;
            result.similarity = similarity;
            result.vector_rank = vector_rank;
            result.keyword_rank = keyword_rank;
            let (snippet, highlights) = snippet(&result.text, &terms);
            result.snippet = snippet;
            result.highlights = highlights;
            results.push(result);
        }
        Ok(SearchResponse { results, query_truncated: query_truncated || truncated_terms })
    }
}

/// A fused candidate before its row is loaded.
struct Candidate {
    chunk_id: i64,
    score: f64,
    vector_rank: Option<usize>,
    keyword_rank: Option<usize>,
    similarity: f32,
}

/// Content ids of the given sources, or None for "everything".
fn allowed_contents(store: &Store, sources: &[PathBuf]) -> Result<Option<Vec<i64>>, SearchError> {
    if sources.is_empty() {
        return Ok(None);
    }
    let marks = vec!["?"; sources.len()].join(",");
    let sql = format!(
        "SELECT DISTINCT d.content_id FROM documents d JOIN sources s ON s.id = d.source_id
         WHERE d.content_id IS NOT NULL AND s.path IN ({marks})"
    );
    let paths: Vec<String> = sources
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).to_string_lossy().into_owned())
        .collect();
    let mut stmt = store.connection().prepare(&sql)?;
    let ids = stmt.query_map(params_from_iter(paths.iter()), |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(Some(ids))
}

/// Lower-cased keywords of a query, stop words dropped, first occurrence order. The flag says
/// whether terms were dropped for being too many.
pub fn keyword_terms(query: &str) -> (Vec<String>, bool) {
    let mut terms: Vec<String> = Vec::new();
    let mut truncated = false;
    for word in query.split(|c: char| !c.is_alphanumeric() && c != '_') {
        let word = word.to_lowercase();
        if word.is_empty() || STOPWORDS.contains(&word.as_str()) || terms.contains(&word) {
            continue;
        }
        if terms.len() == MAX_QUERY_TERMS {
            truncated = true;
            break;
        }
        terms.push(word);
    }
    (terms, truncated)
}

/// Chunk ids by BM25, best first. Terms are quoted, so no user text is read as FTS5 syntax.
///
/// BM25 scores every chunk that holds any query term, so one very common word makes a query over
/// a million chunks take hundreds of milliseconds. Words in more than [`MAX_TERM_CHUNKS`] chunks
/// are therefore left out (at that scale their weight is small anyway); when every word is that
/// common, the vector list alone ranks. Indexes of up to that many chunks are unaffected.
fn keyword_search(store: &Store, terms: &[String], limit: usize) -> Result<Vec<i64>, SearchError> {
    let mut counted = Vec::with_capacity(terms.len());
    for term in terms {
        counted.push((term_chunks(store, term)?, term));
    }
    let kept: Vec<&String> = counted.iter().filter(|(n, _)| *n <= MAX_TERM_CHUNKS).map(|(_, t)| *t).collect();
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let expression = kept.iter().map(|t| format!("\"{}\"", t.replace('"', ""))).collect::<Vec<_>>().join(" OR ");
    // Headings weigh double: a section titled with the query's words is usually the answer.
    let mut stmt = store.connection().prepare_cached(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?2",
    )?;
    let ids = stmt.query_map(rusqlite::params![expression, limit as i64], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// Chunks holding `term`, from the full-text index's vocabulary. The index stores Porter stems,
/// so common English endings are tried too; the largest count found is used.
fn term_chunks(store: &Store, term: &str) -> Result<i64, SearchError> {
    let mut stmt = store.connection().prepare_cached("SELECT doc FROM chunks_vocab WHERE term = ?1")?;
    let mut most = 0;
    let stems = ["", "s", "es", "ing", "ed", "ly", "e"]
        .iter()
        .filter_map(|suffix| term.strip_suffix(suffix).filter(|s| suffix.is_empty() || s.chars().count() >= 3));
    for stem in stems {
        let count: Option<i64> = stmt.query_row([stem], |r| r.get(0)).optional()?;
        most = most.max(count.unwrap_or(0));
    }
    Ok(most)
}

/// The stored chunk with its files; `None` when it is gone or no indexed file holds it any more.
/// The candidates are already restricted to the chosen sources.
fn load_result(store: &Store, chunk_id: i64) -> Result<Option<SearchResult>, SearchError> {
    let conn = store.connection();
    let row = conn.query_row(
        "SELECT content_id, heading, byte_start, byte_end, line_start, line_end, text FROM chunks WHERE id = ?1",
        [chunk_id],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as usize..r.get::<_, i64>(3)? as usize,
                (r.get::<_, i64>(4)? as usize, r.get::<_, i64>(5)? as usize),
                r.get::<_, String>(6)?,
            ))
        },
    );
    let (content_id, heading, byte_range, lines, text) = match row {
        Ok(row) => row,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut stmt =
        conn.prepare_cached("SELECT path FROM documents WHERE content_id = ?1 AND status = 'indexed' ORDER BY path")?;
    let mut paths = stmt
        .query_map([content_id], |r| r.get::<_, String>(0))?
        .map(|p| p.map(PathBuf::from))
        .collect::<Result<Vec<_>, _>>()?;
    if paths.is_empty() {
        return Ok(None);
    }
    let path = paths.remove(0);
    Ok(Some(SearchResult {
        path,
        same_content: paths,
        score: 0.0,
        similarity: 0.0,
        vector_rank: None,
        keyword_rank: None,
        heading,
        byte_range,
        lines,
        snippet: String::new(),
        highlights: Vec::new(),
        text,
        chunk_id,
    }))
}

/// Does this word of the text match a query term? Prefix matching stands in for the stemming
/// FTS5 does ("panics" for "panic", "borrowing" for "borrow").
fn matches_term(word: &str, terms: &[String]) -> bool {
    let word = word.to_lowercase();
    terms.iter().any(|t| word == *t || (t.chars().count() >= 4 && word.starts_with(t.as_str())))
}

/// A window of the text around the most keyword matches, and the matches' ranges in it.
pub fn snippet(text: &str, terms: &[String]) -> (String, Vec<Range<usize>>) {
    // Word spans of the text, and which of them match.
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let in_word = c.is_alphanumeric() || c == '_';
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s..i, matches_term(&text[s..i], terms)));
                start = None;
            }
            _ => {}
        }
    }
    // The window start with the most matches within SNIPPET_CHARS bytes (ASCII-ish estimate).
    let mut best = (0usize, 0usize);
    let mut right = 0;
    let mut inside = 0;
    for left in 0..words.len() {
        while right < words.len() && words[right].0.end - words[left].0.start <= SNIPPET_CHARS {
            inside += usize::from(words[right].1);
            right += 1;
        }
        if inside > best.1 {
            best = (left, inside);
        }
        if right > left {
            inside -= usize::from(words[left].1);
        } else {
            right = left + 1;
        }
    }
    // The best window's first match, so the matches after it fall inside the snippet.
    let window_start = if best.1 == 0 { 0 } else { words[best.0..].iter().find(|w| w.1).map_or(0, |w| w.0.start) };
    // Open a little before the first match so it reads as a sentence, not a fragment.
    let window_start = if window_start > 0 {
        let back = text[..window_start].char_indices().rev().nth(40).map_or(0, |(i, _)| i);
        text[back..window_start].find(char::is_whitespace).map_or(window_start, |i| back + i + 1)
    } else {
        0
    };
    let mut window_end = text.len();
    if let Some(cut) = text[window_start..].char_indices().nth(SNIPPET_CHARS).map(|(i, _)| window_start + i) {
        window_end = text[window_start..cut].rfind(char::is_whitespace).map_or(cut, |i| window_start + i);
    }
    let body = text[window_start..window_end].trim_end();
    let prefix = if window_start > 0 { "…" } else { "" };
    let suffix = if window_start + body.len() < text.trim_end().len() { "…" } else { "" };
    let mut snippet = String::with_capacity(body.len() + 8);
    snippet.push_str(prefix);
    let offset = snippet.len();
    // Newlines would break a one-line result; tabs and runs of spaces are kept as single spaces.
    snippet.extend(body.chars().map(|c| if c.is_whitespace() { ' ' } else { c }));
    snippet.push_str(suffix);
    let highlights = words
        .iter()
        .filter(|(range, hit)| *hit && range.start >= window_start && range.end <= window_start + body.len())
        .map(|(range, _)| range.start - window_start + offset..range.end - window_start + offset)
        .collect();
    (snippet, highlights)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;
    use std::path::Path;

    use super::*;
    use crate::store::{DocumentContent, DocumentWrite, NewChunk};
    use crate::testing::{FnEmbedder, Rng};
    use crate::vectors::quantize;

    const DIM: usize = 8;

    /// An index of three sources whose files are written in turns, so each source's chunks are
    /// spread over the whole matrix; one file of source 1 holds the same bytes as a file of
    /// source 0 (one content, two documents). Returns the store, the source folders, and for each
    /// chunk text the sources holding it.
    fn three_sources(dir: &Path) -> (Store, Vec<PathBuf>, HashMap<String, HashSet<usize>>) {
        let mut store = Store::open(&dir.join("index.sqlite")).unwrap();
        store.check_model("fixed", DIM).unwrap();
        let mut folders = Vec::new();
        let mut ids = Vec::new();
        for name in ["a", "b", "c"] {
            let folder = dir.join(name);
            std::fs::create_dir(&folder).unwrap();
            // As search finds it: `allowed_contents` canonicalizes the paths it is given.
            let folder = std::fs::canonicalize(folder).unwrap();
            ids.push(store.add_source(&folder).unwrap().id);
            folders.push(folder);
        }
        let words = ["river", "stone", "ember", "cloud", "field"];
        let mut rng = Rng::new(42);
        let mut owners: HashMap<String, HashSet<usize>> = HashMap::new();
        for file in 0..4 {
            for source in 0..3 {
                let chunks: Vec<NewChunk> = (0..5)
                    .map(|i| {
                        let picked: Vec<&str> = (0..6).map(|_| words[(rng.next_f32() * 5.0) as usize % 5]).collect();
                        let text = format!("file{source}x{file} part{i} {}", picked.join(" "));
                        owners.entry(text.clone()).or_default().insert(source);
                        let q = quantize(&rng.unit_vector(DIM));
                        NewChunk {
                            byte_range: i * 100..i * 100 + text.len(),
                            lines: (i + 1, i + 1),
                            heading: String::new(),
                            text,
                            vector: (q.values, q.scale),
                        }
                    })
                    .collect();
                let path = folders[source].join(format!("file{file}.txt"));
                let hash = path.to_string_lossy().into_owned();
                let content = DocumentContent::New { hash: hash.as_bytes(), format: "text", chunks: &chunks };
                store.write_document(&document(ids[source], &path, content)).unwrap();
                if source == 0 && file == 0 {
                    let shared = store.content_by_hash(hash.as_bytes()).unwrap().unwrap();
                    let copy = folders[1].join("copy.txt");
                    store.write_document(&document(ids[1], &copy, DocumentContent::Existing(shared))).unwrap();
                    for chunk in &chunks {
                        owners.entry(chunk.text.clone()).or_default().insert(1);
                    }
                }
            }
        }
        (store, folders, owners)
    }

    fn document<'a>(source_id: i64, path: &'a Path, content: DocumentContent<'a>) -> DocumentWrite<'a> {
        DocumentWrite { source_id, path, size: 500, mtime_ns: 1, content, note: None, replaced_content: false }
    }

    /// Everything of a result but its fused score and ranks, which depend on the other
    /// candidates of its search.
    fn key(r: &SearchResult) -> (i64, &Path, &[PathBuf], f32, &str, &str, (usize, usize)) {
        (r.chunk_id, &r.path, &r.same_content, r.similarity, &r.text, &r.snippet, r.lines)
    }

    #[test]
    fn a_source_filtered_search_equals_the_unfiltered_search_cut_to_those_sources() {
        let dir = tempfile::tempdir().unwrap();
        let (store, folders, owners) = three_sources(dir.path());
        // Every query embeds as the same vector: what is tested is which chunks may come back.
        let query_vector = Rng::new(7).unit_vector(DIM);
        let mut embedder = FnEmbedder::new("fixed", DIM, |_| query_vector.clone());
        let mut searcher = Searcher::new();
        // k beyond the 60 chunks and no relevance floor: every chunk is a candidate of both lists.
        let everything = SearchOptions { k: 1000, sources: Vec::new(), min_similarity: -1.0, mode: SearchMode::Hybrid };
        let query = "river stone";
        for mode in [SearchMode::Vector, SearchMode::Keyword, SearchMode::Hybrid] {
            let all = SearchOptions { mode, ..everything.clone() };
            let unfiltered = searcher.search(&store, &mut embedder, query, &all).unwrap().results;
            assert!(unfiltered.len() > 40, "{mode:?}: only {} results", unfiltered.len());
            for chosen in [vec![0], vec![1], vec![2], vec![0, 2], vec![0, 1, 2]] {
                let sources = chosen.iter().map(|&s| folders[s].clone()).collect();
                let options = SearchOptions { sources, ..all.clone() };
                let filtered = searcher.search(&store, &mut embedder, query, &options).unwrap().results;
                let expected: Vec<&SearchResult> =
                    unfiltered.iter().filter(|r| owners[&r.text].iter().any(|s| chosen.contains(s))).collect();
                assert!(!expected.is_empty(), "{mode:?} {chosen:?}");
                let mut found: Vec<_> = filtered.iter().map(key).collect();
                let mut wanted: Vec<_> = expected.iter().map(|r| key(r)).collect();
                if mode == SearchMode::Hybrid {
                    // Fusion weighs each list's ranks, and a filter renumbers them: the same
                    // results, possibly in another order.
                    found.sort_by_key(|k| k.0);
                    wanted.sort_by_key(|k| k.0);
                }
                assert_eq!(found, wanted, "{mode:?}, sources {chosen:?}");
                if mode == SearchMode::Vector {
                    // A small k takes the best of the allowed chunks, not of all of them.
                    let few = SearchOptions { k: 3, ..options.clone() };
                    let top = searcher.search(&store, &mut embedder, query, &few).unwrap().results;
                    assert_eq!(top.iter().map(key).collect::<Vec<_>>(), wanted[..3], "sources {chosen:?}");
                }
            }
        }
        // The shared file's chunks are found from both of its sources.
        let shared: HashSet<&String> = owners.iter().filter(|(_, s)| s.len() == 2).map(|(t, _)| t).collect();
        assert_eq!(shared.len(), 5);
    }

    #[test]
    fn query_terms_drop_stopwords_and_repeat_words() {
        let (terms, truncated) = keyword_terms("How do I use the RefCell type? refcell!");
        assert_eq!(terms, ["refcell", "type"]);
        assert!(!truncated);
        let long = (0..100).map(|i| format!("word{i}")).collect::<Vec<_>>().join(" ");
        let (terms, truncated) = keyword_terms(&long);
        assert_eq!(terms.len(), MAX_QUERY_TERMS);
        assert!(truncated);
    }

    #[test]
    fn snippets_center_on_matches_and_mark_them() {
        let text = format!(
            "{} The borrow checker rejects this code because of borrowing rules. {}",
            "intro ".repeat(60),
            "outro ".repeat(60)
        );
        let terms = vec!["borrow".to_owned()];
        let (snippet, highlights) = snippet(&text, &terms);
        assert!(snippet.starts_with('…') && snippet.ends_with('…'), "{snippet}");
        let marked: Vec<&str> = highlights.iter().map(|r| &snippet[r.clone()]).collect();
        assert_eq!(marked, ["borrow", "borrowing"]);
        assert!(snippet.chars().count() <= SNIPPET_CHARS + 2);

        let (snippet, highlights) = snippet_of_short();
        assert_eq!(snippet, "short text");
        assert!(highlights.is_empty());
    }

    fn snippet_of_short() -> (String, Vec<Range<usize>>) {
        snippet("short text\n", &["nothing".to_owned()])
    }
}
