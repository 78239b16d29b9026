//! The indexer: keeps the index of one source in step with the files on disk.
//!
//! What flows in: a source path, the open [`Store`], an [`Embedder`], a cancel check and a
//! progress callback. What flows out: the index updated, [`Progress`] events while it works, and
//! an [`IndexReport`] of what changed.
//!
//! How it stays fast, safe and honest:
//! - **Incremental.** A file whose size and modification time match the index is not opened. A
//!   changed file whose bytes hash to content already indexed (a touched file, or a copy) is
//!   pointed at that content without being read again by the model. Only new content is
//!   extracted, chunked and embedded; files gone from disk are removed.
//! - **Resumable.** Each file is embedded and then written in its own transaction, so a kill at any
//!   point loses at most the file in progress; the next run skips everything already written.
//!   (Embedding files one by one costs nothing on a CPU, where a batch of 32 passages measured no
//!   faster per passage than one.)
//! - **A bad file never stops the run.** It becomes a skipped document with its reason. Only a
//!   failure of the index itself (disk, database) or of the embedding model ends the run.
//! - **Bounded memory.** The walk keeps only paths and sizes; one file's chunks are in memory at
//!   a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ts_rs::TS;

use sha2::{Digest, Sha256};

use crate::chunk::{ChunkError, Chunker};
use crate::extract::{ExtractError, Format, extract};
use crate::store::{DocumentContent, DocumentWrite, KnownDocument, NewChunk, Source, Store, StoreError};
use crate::vectors::quantize;
use crate::walk::{FoundFile, WalkItem, WalkOptions, walk};
use crate::{EmbedPurpose, Embedder};

/// Chunks embedded per call: enough to keep the model busy, small enough to cancel quickly.
const EMBED_BATCH: usize = 32;
/// Progress is reported at most this often (and always at the end).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Errors that end an indexing run. Per-file problems are not errors: they are recorded skips.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The path the user asked for does not exist.
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    /// The path exists but cannot be read at all.
    #[error("{path}: cannot be read: {reason}")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// The index database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The embedding model failed; every other file would fail the same way.
    #[error("embedding {path} failed: {reason}")]
    Embed {
        /// The file being embedded.
        path: PathBuf,
        /// The model's error.
        reason: String,
    },
    /// The embedding model's tokenizer cannot chunk.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
    /// The model returned vectors of the wrong shape.
    #[error("the embedding model returned {got} vectors of length {dim}, expected {expected} of length {expected_dim}")]
    BadVectors {
        /// Vectors returned.
        got: usize,
        /// Their length.
        dim: usize,
        /// Vectors asked for.
        expected: usize,
        /// The model's stated dimension.
        expected_dim: usize,
    },
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, TS)]
#[ts(rename = "IndexPhase")]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Listing files.
    Scanning,
    /// Reading and embedding files.
    Indexing,
    /// Finished.
    Done,
    /// Stopped by the user; what was written stays.
    Cancelled,
}

/// A progress report, sent as the run goes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The source being indexed.
    pub source: PathBuf,
    /// Where the run is.
    pub phase: Phase,
    /// Files found so far (final once scanning ends).
    pub files_total: u64,
    /// Files settled: unchanged, indexed or skipped.
    pub files_done: u64,
    /// Files skipped so far, in this run.
    pub files_skipped: u64,
    /// Chunks embedded in this run.
    pub chunks_done: u64,
    /// Files per second over the files that needed work.
    pub files_per_second: f64,
    /// Chunks embedded per second.
    pub chunks_per_second: f64,
    /// Estimated seconds left, from the bytes still to read at the rate so far.
    pub eta_seconds: Option<f64>,
    /// The file being worked on.
    pub current: Option<PathBuf>,
}

impl Progress {
    /// The progress of a run that has not reported yet: scanning, nothing counted.
    pub fn starting(source: &Path) -> Self {
        Progress {
            source: source.to_path_buf(),
            phase: Phase::Scanning,
            files_total: 0,
            files_done: 0,
            files_skipped: 0,
            chunks_done: 0,
            files_per_second: 0.0,
            chunks_per_second: 0.0,
            eta_seconds: None,
            current: None,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexReport {
    /// The source.
    pub source: PathBuf,
    /// Files the walk found (including skipped ones).
    pub files_seen: u64,
    /// Files read and embedded in this run.
    pub indexed: u64,
    /// Files whose bytes were already indexed (copies, touched files).
    pub deduplicated: u64,
    /// Files left alone because they had not changed.
    pub unchanged: u64,
    /// Files skipped in this run, with reasons in the index.
    pub skipped: u64,
    /// Files removed from the index because they are gone.
    pub removed: u64,
    /// Files that disappeared while the run was reading them.
    pub vanished: u64,
    /// Chunks embedded.
    pub chunks: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The run was cancelled before the end.
    pub cancelled: bool,
}

/// Settings of a run.
#[derive(Clone, Debug, Default)]
pub struct IndexOptions {
    /// Walk settings (size limit).
    pub walk: WalkOptions,
}

/// Adds `path` as a source (if new) and brings its index up to date.
///
/// A folder that contains existing sources absorbs them; a path inside an existing source
/// refreshes that part of it.
pub fn index_path(
    store: &mut Store,
    embedder: &mut dyn Embedder,
    path: &Path,
    options: &IndexOptions,
    cancel: &dyn Fn() -> bool,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<IndexReport, IndexError> {
    let root = canonical(path)?;
    store.check_model(&embedder.model_id(), embedder.dim())?;
    let source = owning_source(store, &root)?;
    let mut run = Run::new(store, embedder, &source, &root, cancel, on_progress)?;
    run.execute(options)
}

/// Re-indexes every source (the "refresh all" of the app and the watcher's fallback).
pub fn refresh_all(
    store: &mut Store,
    embedder: &mut dyn Embedder,
    options: &IndexOptions,
    cancel: &dyn Fn() -> bool,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<IndexReport>, IndexError> {
    let mut reports = Vec::new();
    for source in store.sources()? {
        if cancel() {
            break;
        }
        reports.push(index_path(store, embedder, &source.path, options, cancel, on_progress)?);
    }
    Ok(reports)
}

/// Removes a source and everything indexed from it. Returns whether it existed.
pub fn remove_source(store: &mut Store, path: &Path) -> Result<bool, IndexError> {
    // The source may have been added under its canonical path; the folder may be gone already.
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(store.remove_source(&canonical)? || store.remove_source(path)?)
}

fn canonical(path: &Path) -> Result<PathBuf, IndexError> {
    std::fs::canonicalize(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => IndexError::NotFound(path.to_path_buf()),
        _ => IndexError::Unreadable { path: path.to_path_buf(), reason: error.to_string() },
    })
}

/// The source `root` belongs to: an existing one that contains it, or a new one that absorbs
/// the sources inside it.
fn owning_source(store: &mut Store, root: &Path) -> Result<Source, StoreError> {
    let sources = store.sources()?;
    if let Some(outer) = sources.iter().filter(|s| root.starts_with(&s.path)).min_by_key(|s| s.path.as_os_str().len()) {
        return Ok(outer.clone());
    }
    let source = store.add_source(root)?;
    for inner in sources.iter().filter(|s| s.path.starts_with(root) && s.id != source.id) {
        store.merge_source(inner.id, source.id)?;
    }
    Ok(source)
}

/// One indexing run over a walk root.
struct Run<'a> {
    store: &'a mut Store,
    embedder: &'a mut dyn Embedder,
    chunker: Chunker,
    source: Source,
    root: PathBuf,
    cancel: &'a dyn Fn() -> bool,
    on_progress: &'a mut dyn FnMut(&Progress),
    report: IndexReport,
    progress: Progress,
    started: Instant,
    last_progress: Option<Instant>,
}

impl<'a> Run<'a> {
    fn new(
        store: &'a mut Store,
        embedder: &'a mut dyn Embedder,
        source: &Source,
        root: &Path,
        cancel: &'a dyn Fn() -> bool,
        on_progress: &'a mut dyn FnMut(&Progress),
    ) -> Result<Self, IndexError> {
        let chunker = Chunker::new(embedder.tokenizer(), embedder.max_tokens())?;
        Ok(Run {
            store,
            embedder,
            chunker,
            source: source.clone(),
            root: root.to_path_buf(),
            cancel,
            on_progress,
            report: IndexReport { source: root.to_path_buf(), ..IndexReport::default() },
            progress: Progress::starting(root),
            started: Instant::now(),
            last_progress: None,
        })
    }

    fn execute(&mut self, options: &IndexOptions) -> Result<IndexReport, IndexError> {
        // 1. Walk, and sort what was found against what the index knows.
        let mut known: HashMap<PathBuf, KnownDocument> = self.store.known_documents(self.source.id)?;
        known.retain(|path, _| path.starts_with(&self.root));
        let mut work = Vec::new();
        let mut cancelled = false;
        // The index's own files (database, -wal, -shm) may sit inside a source; indexing them
        // would change them, and a watcher would then index again without end.
        let own_files = std::fs::canonicalize(self.store.path()).unwrap_or_else(|_| self.store.path().to_path_buf());
        let own_files = own_files.to_string_lossy().into_owned();
        let root = self.root.clone();
        walk(&root, &options.walk, |item| {
            if (self.cancel)() {
                cancelled = true;
                return false;
            }
            if item_path(&item).to_string_lossy().starts_with(&own_files) {
                return true;
            }
            self.report.files_seen += 1;
            self.progress.files_total += 1;
            let (path, size, mtime_ns) = match &item {
                WalkItem::File(f) => (&f.path, f.size, f.mtime_ns),
                WalkItem::Skipped { path, size, mtime_ns, .. } => (path, *size, *mtime_ns),
            };
            match known.remove(path) {
                Some(doc) if doc.size == size && doc.mtime_ns == mtime_ns => {
                    self.report.unchanged += 1;
                    self.progress.files_done += 1;
                }
                doc => work.push((item, doc)),
            }
            self.maybe_report(false);
            true
        });
        if cancelled {
            return Ok(self.finish(true));
        }

        // 2. Files the walk no longer finds are gone from disk (or now ignored).
        let gone: Vec<i64> = known.values().map(|d| d.id).collect();
        self.report.removed = gone.len() as u64;
        self.store.remove_documents(&gone)?;

        // 3. Read, embed and write what changed, one file per transaction.
        self.progress.phase = Phase::Indexing;
        let bytes_total: u64 = work.iter().map(|(item, _)| item_size(item)).sum();
        let mut bytes_done = 0u64;
        let work_started = Instant::now();
        for (item, previous) in work {
            if (self.cancel)() {
                return Ok(self.finish(true));
            }
            let size = item_size(&item);
            self.progress.current = Some(item_path(&item).to_path_buf());
            let skipped_before = self.report.skipped;
            let completed = process_item(
                self.store,
                self.embedder,
                &self.chunker,
                self.source.id,
                item,
                previous.as_ref(),
                &mut self.report,
                self.cancel,
            )?;
            if !completed {
                return Ok(self.finish(true));
            }
            bytes_done += size;
            self.progress.files_done += 1;
            self.progress.files_skipped += self.report.skipped - skipped_before;
            self.progress.chunks_done = self.report.chunks;
            let seconds = work_started.elapsed().as_secs_f64().max(1e-3);
            let worked = self.report.indexed + self.report.deduplicated + self.report.skipped + self.report.vanished;
            self.progress.files_per_second = worked as f64 / seconds;
            self.progress.chunks_per_second = self.report.chunks as f64 / seconds;
            self.progress.eta_seconds =
                (bytes_done > 0).then(|| (bytes_total - bytes_done) as f64 * seconds / bytes_done as f64);
            self.maybe_report(false);
        }
        Ok(self.finish(false))
    }

    fn finish(&mut self, cancelled: bool) -> IndexReport {
        self.report.cancelled = cancelled;
        self.report.seconds = self.started.elapsed().as_secs_f64();
        self.progress.phase = if cancelled { Phase::Cancelled } else { Phase::Done };
        self.progress.current = None;
        self.progress.eta_seconds = (!cancelled).then_some(0.0);
        self.maybe_report(true);
        self.report.clone()
    }

    fn maybe_report(&mut self, always: bool) {
        let now = Instant::now();
        if always || self.last_progress.is_none_or(|t| now - t >= PROGRESS_INTERVAL) {
            self.last_progress = Some(now);
            (self.on_progress)(&self.progress);
        }
    }
}

fn item_size(item: &WalkItem) -> u64 {
    match item {
        WalkItem::File(f) => f.size,
        WalkItem::Skipped { .. } => 0,
    }
}

fn item_path(item: &WalkItem) -> &Path {
    match item {
        WalkItem::File(f) => &f.path,
        WalkItem::Skipped { path, .. } => path,
    }
}

/// Indexes one walked item and writes the outcome. Returns false if cancelled midway (nothing
/// of that file is written then).
#[allow(clippy::too_many_arguments)]
fn process_item(
    store: &mut Store,
    embedder: &mut dyn Embedder,
    chunker: &Chunker,
    source_id: i64,
    item: WalkItem,
    previous: Option<&KnownDocument>,
    report: &mut IndexReport,
    cancel: &dyn Fn() -> bool,
) -> Result<bool, IndexError> {
    let file = match item {
        WalkItem::Skipped { path, reason, size, mtime_ns } => {
            write_skip(store, source_id, &path, size, mtime_ns, reason)?;
            report.skipped += 1;
            return Ok(true);
        }
        WalkItem::File(file) => file,
    };
    let FoundFile { path, size, mtime_ns, format } = file;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            // Deleted between the walk and now: it simply is not there any more.
            store.remove_document_path(&path)?;
            report.vanished += 1;
            return Ok(true);
        }
        Err(error) => {
            write_skip(store, source_id, &path, size, mtime_ns, crate::walk::unreadable(&error))?;
            report.skipped += 1;
            return Ok(true);
        }
    };
    // The file may have changed since the walk; record what was actually read.
    let size = bytes.len() as u64;
    if bytes.is_empty() {
        write_skip(store, source_id, &path, size, mtime_ns, "empty file".into())?;
        report.skipped += 1;
        return Ok(true);
    }
    let hash = Sha256::digest(&bytes);
    let replaced_content = previous.is_some_and(|p| p.content_id.is_some());
    if let Some(content_id) = store.content_by_hash(&hash)? {
        let write = DocumentWrite {
            source_id,
            path: &path,
            size,
            mtime_ns,
            content: DocumentContent::Existing(content_id),
            note: None,
            replaced_content: previous.is_some_and(|p| p.content_id != Some(content_id)),
        };
        store.write_document(&write)?;
        report.deduplicated += 1;
        return Ok(true);
    }
    let extracted = match extract(&path, &bytes, format) {
        Ok(extracted) => extracted,
        Err(error) => {
            write_skip(store, source_id, &path, size, mtime_ns, skip_reason(&error))?;
            report.skipped += 1;
            return Ok(true);
        }
    };
    drop(bytes);
    let chunks = chunker.chunk(&extracted)?;
    if chunks.is_empty() {
        write_skip(store, source_id, &path, size, mtime_ns, "no text found".into())?;
        report.skipped += 1;
        return Ok(true);
    }
    let mut stored = Vec::with_capacity(chunks.len());
    for batch in chunks.chunks(EMBED_BATCH) {
        if cancel() {
            return Ok(false);
        }
        let texts: Vec<String> = batch.iter().map(|c| c.embedding_text()).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embedder
            .embed(&refs, EmbedPurpose::Document)
            .map_err(|reason| IndexError::Embed { path: path.clone(), reason })?;
        let dim = embedder.dim();
        if vectors.len() != batch.len() || vectors.iter().any(|v| v.len() != dim) {
            return Err(IndexError::BadVectors {
                got: vectors.len(),
                dim: vectors.first().map_or(0, Vec::len),
                expected: batch.len(),
                expected_dim: dim,
            });
        }
        for (chunk, vector) in batch.iter().zip(vectors) {
            let quantized = quantize(&vector);
            stored.push(NewChunk {
                byte_range: chunk.byte_range.clone(),
                lines: chunk.lines,
                heading: chunk.heading.clone(),
                text: chunk.text.clone(),
                vector: (quantized.values, quantized.scale),
            });
        }
    }
    let note = extracted.notes.join("; ");
    store.write_document(&DocumentWrite {
        source_id,
        path: &path,
        size,
        mtime_ns,
        content: DocumentContent::New { hash: &hash, format: format_name(format), chunks: &stored },
        note: (!note.is_empty()).then_some(note.as_str()),
        replaced_content,
    })?;
    report.indexed += 1;
    report.chunks += stored.len() as u64;
    Ok(true)
}

fn write_skip(
    store: &mut Store,
    source_id: i64,
    path: &Path,
    size: u64,
    mtime_ns: i64,
    reason: String,
) -> Result<(), StoreError> {
    store.write_document(&DocumentWrite {
        source_id,
        path,
        size,
        mtime_ns,
        content: DocumentContent::Skipped(reason),
        note: None,
        replaced_content: true,
    })
}

fn skip_reason(error: &ExtractError) -> String {
    error.to_string()
}

/// The format as stored in the index (and shown by status).
fn format_name(format: Format) -> &'static str {
    match format {
        Format::Text => "text",
        Format::Markdown => "markdown",
        Format::Rst => "rst",
        Format::Html => "html",
        Format::Pdf => "pdf",
        Format::Docx => "docx",
        Format::Code { language } => language,
    }
}
