//! The SQLite index: schema, migrations, and the few writes the indexer makes.
//!
//! What flows in: a database path, and per-file results from the indexer (a document row, its
//! chunks and their int8 vectors). What flows out: the rows search needs and counts for status.
//!
//! Why it looks like this:
//! - **WAL mode, one transaction per file.** A crash or SIGKILL at any point rolls back at most
//!   the file being written; readers (search in the app) never block the indexer.
//! - **Content is stored once per hash.** `documents` point at `contents`; two files with the same
//!   bytes share one content row, so their chunks are embedded and stored once. A content row is
//!   dropped when no document points at it any more.
//! - **FTS5 over the chunks table** (external content, kept in sync by triggers) gives BM25
//!   without storing the text twice.
//! - **Versioned schema.** `PRAGMA user_version` holds the version; [`MIGRATIONS`] upgrades an
//!   older file in place, and a file from a newer Onyx is refused rather than damaged. Opening and
//!   migrating are shared with the conversation store, in [`crate::sqlite`].

use std::path::{Path, PathBuf};
use ts_rs::TS;

use rusqlite::{Connection, OptionalExtension, params};

use crate::sqlite::{self, MigrateError};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Each entry upgrades the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE contents (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        format TEXT NOT NULL,
        chunk_count INTEGER NOT NULL
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_id INTEGER REFERENCES contents(id),
        status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped')),
        reason TEXT,
        indexed_at INTEGER NOT NULL
    );
    CREATE INDEX documents_source ON documents(source_id);
    CREATE INDEX documents_content ON documents(content_id);
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        byte_start INTEGER NOT NULL,
        byte_end INTEGER NOT NULL,
        line_start INTEGER NOT NULL,
        line_end INTEGER NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX chunks_content ON chunks(content_id);
    CREATE TABLE embeddings (
        chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
        scale REAL NOT NULL,
        vector BLOB NOT NULL
    );
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        heading, text, content='chunks', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END;
    CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text);
    END;
    ",
    // 1 -> 2: per-term document counts of the full-text index, so search can leave out words
    // that occur in a large share of the chunks (see `search::keyword_search`).
    "CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, 'row');",
];

// `sqlite::migrate` takes the newest version to be the number of migrations, and errors report
// that number as supported: keep the constant in step with the list.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// Errors of the index database. Each names the file or the value at fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the index database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file was written by a newer Onyx.
    #[error("the index database {path} has schema version {found}, newer than this Onyx understands ({supported})")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The index holds vectors of another embedding model, which cannot be compared with this one's.
    #[error(
        "the index was built with the embedding model {indexed} ({indexed_dim} dimensions), not {current} \
         ({current_dim}); remove its sources and add them again to rebuild it with the current model"
    )]
    ModelMismatch {
        /// The model recorded in the index.
        indexed: String,
        /// Its vector length.
        indexed_dim: usize,
        /// The model in use now.
        current: String,
        /// Its vector length.
        current_dim: usize,
    },
    /// Any other SQLite failure.
    #[error("index database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A source the user added: a folder or a single file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, TS)]
#[ts(rename = "DocumentSource")]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// Row id.
    pub id: i64,
    /// Absolute path.
    pub path: PathBuf,
}

/// What the index knows about one file from its last visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDocument {
    /// Row id.
    pub id: i64,
    /// Size in bytes when last indexed.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch when last indexed.
    pub mtime_ns: i64,
    /// The content it points at, if it was indexed.
    pub content_id: Option<i64>,
}

/// A chunk ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChunk {
    /// Byte range in the extracted text.
    pub byte_range: std::ops::Range<usize>,
    /// 1-based first and last line.
    pub lines: (usize, usize),
    /// Heading path, " > "-joined.
    pub heading: String,
    /// The chunk's text.
    pub text: String,
    /// The int8 vector and its scale.
    pub vector: (Vec<i8>, f32),
}

/// Counts for `onyx index status` and the app's documents panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IndexCounts {
    /// Sources added.
    pub sources: u64,
    /// Files indexed.
    pub documents: u64,
    /// Files skipped, each with a reason.
    pub skipped: u64,
    /// Distinct contents (files with equal bytes count once).
    pub contents: u64,
    /// Chunks (and vectors).
    pub chunks: u64,
}

/// A skipped file and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Skip {
    /// The file.
    pub path: PathBuf,
    /// Why it was not indexed.
    pub reason: String,
}

/// A chunk as stored, for showing it in its place (see [`Store::document_chunks`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChunk {
    /// Byte range in the file's extracted text.
    pub byte_range: std::ops::Range<usize>,
    /// First and last line (1-based).
    pub lines: (usize, usize),
    /// Exactly the extracted text in `byte_range`.
    pub text: String,
}

/// An open index database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = sqlite::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        let mut store = Store { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        sqlite::migrate(&mut self.conn, MIGRATIONS).map_err(|error| match error {
            MigrateError::TooNew { found, supported } => {
                StoreError::TooNew { path: self.path.clone(), found, supported }
            }
            MigrateError::Sql(source) => StoreError::Sql(source),
        })
    }

    /// Records the embedding model on first use, and refuses a different one later.
    pub fn check_model(&self, model_id: &str, dim: usize) -> Result<(), StoreError> {
        let get = |key: &str| -> Result<Option<String>, rusqlite::Error> {
            self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
        };
        if let (Some(model), Some(stored_dim)) = (get("embedding_model")?, get("embedding_dim")?) {
            let stored_dim = stored_dim.parse().unwrap_or(0);
            if model == model_id && stored_dim == dim {
                return Ok(());
            }
            // An empty index can switch models freely: nothing would be lost.
            if self.counts()?.chunks > 0 {
                return Err(StoreError::ModelMismatch {
                    indexed: model,
                    indexed_dim: stored_dim,
                    current: model_id.to_owned(),
                    current_dim: dim,
                });
            }
        }
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES ('embedding_model', ?1), ('embedding_dim', ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![model_id, dim.to_string()],
        )?;
        Ok(())
    }

    /// A number that changes whenever chunks are added or removed, so a cached vector matrix
    /// knows when to reload. SQLite's `data_version` only sees other connections' writes, so
    /// the indexer bumps this itself.
    pub fn generation(&self) -> Result<i64, StoreError> {
        let value: Option<String> =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| r.get(0)).optional()?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn bump_generation(tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('generation', '1')
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [],
        )?;
        Ok(())
    }

    /// Adds a source, or returns the existing one with that path.
    pub fn add_source(&self, path: &Path) -> Result<Source, StoreError> {
        let text = path_text(path);
        self.conn.execute(
            "INSERT INTO sources(path, added_at) VALUES (?1, ?2) ON CONFLICT(path) DO NOTHING",
            params![text, now_seconds()],
        )?;
        let id = self.conn.query_row("SELECT id FROM sources WHERE path = ?1", [&text], |r| r.get(0))?;
        Ok(Source { id, path: path.to_path_buf() })
    }

    /// All sources, in the order they were added.
    pub fn sources(&self) -> Result<Vec<Source>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id, path FROM sources ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok(Source { id: r.get(0)?, path: PathBuf::from(r.get::<_, String>(1)?) }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes a source with its documents, and the contents and chunks nobody else uses.
    /// Returns false when no source has that path.
    pub fn remove_source(&mut self, path: &Path) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let id: Option<i64> =
            tx.query_row("SELECT id FROM sources WHERE path = ?1", [path_text(path)], |r| r.get(0)).optional()?;
        let Some(id) = id else { return Ok(false) };
        tx.execute("DELETE FROM documents WHERE source_id = ?1", [id])?;
        tx.execute("DELETE FROM sources WHERE id = ?1", [id])?;
        Self::drop_orphan_contents(&tx)?;
        Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(true)
    }

    /// Moves the documents of `from` under `to` and deletes `from`: used when a folder is added
    /// that contains an existing source, so the files are not indexed twice.
    pub fn merge_source(&mut self, from: i64, to: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE documents SET source_id = ?2 WHERE source_id = ?1", params![from, to])?;
        tx.execute("DELETE FROM sources WHERE id = ?1", [from])?;
        tx.commit()?;
        Ok(())
    }

    /// Every document of a source as it was last seen, by path.
    pub fn known_documents(
        &self,
        source_id: i64,
    ) -> Result<std::collections::HashMap<PathBuf, KnownDocument>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT id, path, size, mtime_ns, content_id FROM documents WHERE source_id = ?1")?;
        let rows = stmt.query_map([source_id], |r| {
            Ok((
                PathBuf::from(r.get::<_, String>(1)?),
                KnownDocument {
                    id: r.get(0)?,
                    size: r.get::<_, i64>(2)? as u64,
                    mtime_ns: r.get(3)?,
                    content_id: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The content row with this hash, if some file already has these bytes.
    pub fn content_by_hash(&self, hash: &[u8]) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row("SELECT id FROM contents WHERE hash = ?1", [hash], |r| r.get(0)).optional()?)
    }

    /// The hash of a content row.
    pub fn content_hash(&self, content_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.conn.query_row("SELECT hash FROM contents WHERE id = ?1", [content_id], |r| r.get(0)).optional()?)
    }

    /// Writes one file in one transaction: its content (unless `content` names an existing one),
    /// its chunks with vectors, and its document row. This is the unit a crash can lose.
    pub fn write_document(&mut self, doc: &DocumentWrite<'_>) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let content_id = match &doc.content {
            DocumentContent::Existing(id) => Some(*id),
            DocumentContent::New { hash, format, chunks } => {
                tx.execute(
                    "INSERT INTO contents(hash, format, chunk_count) VALUES (?1, ?2, ?3)",
                    params![hash, format, chunks.len() as i64],
                )?;
                let content_id = tx.last_insert_rowid();
                let mut insert_chunk = tx.prepare_cached(
                    "INSERT INTO chunks(content_id, ord, byte_start, byte_end, line_start, line_end, heading, text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                let mut insert_vector =
                    tx.prepare_cached("INSERT INTO embeddings(chunk_id, scale, vector) VALUES (?1, ?2, ?3)")?;
                for (ord, chunk) in chunks.iter().enumerate() {
                    insert_chunk.execute(params![
                        content_id,
                        ord as i64,
                        chunk.byte_range.start as i64,
                        chunk.byte_range.end as i64,
                        chunk.lines.0 as i64,
                        chunk.lines.1 as i64,
                        chunk.heading,
                        chunk.text,
                    ])?;
                    let chunk_id = tx.last_insert_rowid();
                    let bytes: Vec<u8> = chunk.vector.0.iter().map(|&v| v as u8).collect();
                    insert_vector.execute(params![chunk_id, chunk.vector.1 as f64, bytes])?;
                }
                Some(content_id)
            }
            DocumentContent::Skipped(_) => None,
        };
        let (status, reason) = match &doc.content {
            DocumentContent::Skipped(reason) => ("skipped", Some(reason.as_str())),
            _ => ("indexed", doc.note),
        };
        tx.execute(
            "INSERT INTO documents(source_id, path, size, mtime_ns, content_id, status, reason, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(path) DO UPDATE SET source_id = excluded.source_id, size = excluded.size,
                 mtime_ns = excluded.mtime_ns, content_id = excluded.content_id, status = excluded.status,
                 reason = excluded.reason, indexed_at = excluded.indexed_at",
            params![
                doc.source_id,
                path_text(doc.path),
                doc.size as i64,
                doc.mtime_ns,
                content_id,
                status,
                reason,
                now_seconds()
            ],
        )?;
        // The file's previous content may now be unused.
        Self::drop_orphan_contents(&tx)?;
        if matches!(doc.content, DocumentContent::New { .. }) || doc.replaced_content {
            Self::bump_generation(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes documents (deleted files) and whatever content only they used.
    pub fn remove_documents(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM documents WHERE id = ?1")?;
            for id in ids {
                delete.execute([id])?;
            }
        }
        Self::drop_orphan_contents(&tx)?;
        Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes the document with this path, if indexed. Returns whether one was.
    pub fn remove_document_path(&mut self, path: &Path) -> Result<bool, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT id FROM documents WHERE path = ?1", [path_text(path)], |r| r.get(0))
            .optional()?;
        if let Some(id) = id {
            self.remove_documents(&[id])?;
        }
        Ok(id.is_some())
    }

    fn drop_orphan_contents(tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
        // Chunks and vectors follow through ON DELETE CASCADE, and FTS through its trigger.
        tx.execute(
            "DELETE FROM contents WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.content_id = contents.id)",
            [],
        )?;
        Ok(())
    }

    /// Counts of what is indexed.
    pub fn counts(&self) -> Result<IndexCounts, StoreError> {
        let count = |sql: &str| -> Result<u64, rusqlite::Error> {
            self.conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
        };
        Ok(IndexCounts {
            sources: count("SELECT COUNT(*) FROM sources")?,
            documents: count("SELECT COUNT(*) FROM documents WHERE status = 'indexed'")?,
            skipped: count("SELECT COUNT(*) FROM documents WHERE status = 'skipped'")?,
            contents: count("SELECT COUNT(*) FROM contents")?,
            chunks: count("SELECT COUNT(*) FROM chunks")?,
        })
    }

    /// Skipped files with their reasons, at most `limit`, optionally of one source.
    pub fn skips(&self, source_id: Option<i64>, limit: usize) -> Result<Vec<Skip>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT path, COALESCE(reason, '') FROM documents
             WHERE status = 'skipped' AND (?1 IS NULL OR source_id = ?1) ORDER BY path LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![source_id, limit as i64], |r| {
            Ok(Skip { path: PathBuf::from(r.get::<_, String>(0)?), reason: r.get(1)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the index holds text for the file at `path` (added, and not skipped or removed).
    pub fn is_indexed(&self, path: &Path) -> Result<bool, StoreError> {
        Ok(self.indexed_content(path)?.is_some())
    }

    /// The content of the indexed file at `path`.
    fn indexed_content(&self, path: &Path) -> Result<Option<i64>, StoreError> {
        let content: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT content_id FROM documents WHERE path = ?1 AND status = 'indexed'",
                [path_text(path)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(content.flatten())
    }

    /// The chunks of the indexed file at `path` that overlap `lines` (1-based, inclusive), in
    /// text order: what the app shows around a search result. `None` when the index holds no text
    /// for that path (never added, skipped, or removed).
    pub fn document_chunks(&self, path: &Path, lines: (usize, usize)) -> Result<Option<Vec<StoredChunk>>, StoreError> {
        let Some(content_id) = self.indexed_content(path)? else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT byte_start, byte_end, line_start, line_end, text FROM chunks
             WHERE content_id = ?1 AND line_end >= ?2 AND line_start <= ?3 ORDER BY byte_start",
        )?;
        let to_usize = |value: i64| usize::try_from(value).unwrap_or(0);
        let rows = stmt.query_map(params![content_id, lines.0 as i64, lines.1 as i64], |r| {
            Ok(StoredChunk {
                byte_range: to_usize(r.get(0)?)..to_usize(r.get(1)?),
                lines: (to_usize(r.get(2)?), to_usize(r.get(3)?)),
                text: r.get(4)?,
            })
        })?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }

    /// `PRAGMA integrity_check` plus FTS5's own check; Ok(()) when both pass.
    pub fn integrity_check(&self) -> Result<(), String> {
        let result: String =
            self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| e.to_string())?;
        if result != "ok" {
            return Err(format!("{}: {result}", self.path.display()));
        }
        self.conn
            .execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)", [])
            .map_err(|e| format!("{}: full-text index: {e}", self.path.display()))?;
        Ok(())
    }

    /// The underlying connection, for the search module's queries.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// One file's outcome, written by [`Store::write_document`].
pub struct DocumentWrite<'a> {
    /// The source it was found under.
    pub source_id: i64,
    /// The file.
    pub path: &'a Path,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// What it holds.
    pub content: DocumentContent<'a>,
    /// A non-fatal fact worth showing, e.g. the encoding it was decoded with.
    pub note: Option<&'a str>,
    /// The file pointed at other content before (so cached vectors must reload).
    pub replaced_content: bool,
}

/// What a written document holds.
pub enum DocumentContent<'a> {
    /// Bytes already indexed for another file (or an earlier version of this one).
    Existing(i64),
    /// New content with its chunks.
    New {
        /// SHA-256 of the file's bytes.
        hash: &'a [u8],
        /// The format it was read as.
        format: &'a str,
        /// Its chunks, in order.
        chunks: &'a [NewChunk],
    },
    /// Not indexed, with the reason shown to the user.
    Skipped(String),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chunk(text: &str) -> NewChunk {
        NewChunk {
            byte_range: 0..text.len(),
            lines: (1, 1),
            heading: "Intro".into(),
            text: text.into(),
            vector: (vec![1, -2, 3], 0.01),
        }
    }

    #[test]
    fn a_document_s_chunks_are_found_by_line_range() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("index.sqlite")).unwrap();
        let source = store.add_source(dir.path()).unwrap();
        let at = |text: &str, start: usize, lines: (usize, usize)| NewChunk {
            byte_range: start..start + text.len(),
            lines,
            ..chunk(text)
        };
        let chunks = [at("one\ntwo", 0, (1, 2)), at("four", 9, (4, 4)), at("six", 15, (6, 6))];
        let path = dir.path().join("notes.txt");
        store
            .write_document(&DocumentWrite {
                source_id: source.id,
                path: &path,
                size: 18,
                mtime_ns: 1,
                content: DocumentContent::New { hash: b"n", format: "text", chunks: &chunks },
                note: None,
                replaced_content: false,
            })
            .unwrap();
        let found = store.document_chunks(&path, (2, 4)).unwrap().unwrap();
        assert_eq!(found.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["one\ntwo", "four"]);
        assert_eq!((found[1].byte_range.clone(), found[1].lines), (9..13, (4, 4)));
        assert_eq!(store.document_chunks(&path, (7, 9)).unwrap(), Some(Vec::new()));
        assert_eq!(store.document_chunks(&dir.path().join("other.txt"), (1, 1)).unwrap(), None);
        assert!(store.is_indexed(&path).unwrap());
        assert!(!store.is_indexed(&dir.path().join("other.txt")).unwrap());
    }

    #[test]
    fn shared_content_lives_until_its_last_document_goes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sub/index.sqlite")).unwrap();
        let source = store.add_source(dir.path()).unwrap();
        let chunks = [chunk("alpha beta"), chunk("gamma")];
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let new = DocumentContent::New { hash: b"h1", format: "text", chunks: &chunks };
        let write = |path, content| DocumentWrite {
            source_id: source.id,
            path,
            size: 10,
            mtime_ns: 5,
            content,
            note: None,
            replaced_content: false,
        };
        store.write_document(&write(&a, new)).unwrap();
        let content = store.content_by_hash(b"h1").unwrap().unwrap();
        store.write_document(&write(&b, DocumentContent::Existing(content))).unwrap();
        assert_eq!(
            store.counts().unwrap(),
            IndexCounts { sources: 1, documents: 2, skipped: 0, contents: 1, chunks: 2 }
        );
        let fts: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'gamma'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fts, 1);

        assert!(store.remove_document_path(&a).unwrap());
        assert_eq!(store.counts().unwrap().chunks, 2, "b still uses the content");
        assert!(store.remove_document_path(&b).unwrap());
        assert_eq!(store.counts().unwrap().chunks, 0);
        let fts: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'gamma'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fts, 0, "the FTS trigger removed the text");
        store.integrity_check().unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused_and_a_model_switch_is_refused_once_vectors_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let mut store = Store::open(&path).unwrap();
        store.check_model("minilm", 384).unwrap();
        store.check_model("other", 768).unwrap(); // empty index: switching is free
        let source = store.add_source(dir.path()).unwrap();
        let chunks = [chunk("x")];
        store
            .write_document(&DocumentWrite {
                source_id: source.id,
                path: &dir.path().join("x.txt"),
                size: 1,
                mtime_ns: 1,
                content: DocumentContent::New { hash: b"x", format: "text", chunks: &chunks },
                note: None,
                replaced_content: false,
            })
            .unwrap();
        let error = store.check_model("minilm", 384).unwrap_err().to_string();
        assert!(error.contains("other") && error.contains("minilm"), "{error}");
        store.connection().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(store);
        let error = Store::open(&path).err().unwrap().to_string();
        assert!(error.contains(&format!("schema version {}", SCHEMA_VERSION + 1)), "{error}");
    }

    #[test]
    fn a_garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        std::fs::write(&path, b"this is not a database, just some text that is long enough to matter....").unwrap();
        let error = Store::open(&path).err().unwrap().to_string();
        assert!(error.contains("index.sqlite"), "{error}");
    }
}
