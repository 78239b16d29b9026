//! The document index database as a front end opens it, with the damaged-database policy: a
//! damaged file is moved aside (with its WAL files) and a fresh, empty index started, with a
//! notice naming both; any other failure leaves the file alone and says why.

use std::path::Path;

use onyx_docs::store::{Store, StoreError};

use crate::damaged::{StoreNames, open_or_replace};

/// Whether SQLite said the file is damaged or not a database at all.
fn is_corrupt(error: &StoreError) -> bool {
    match error {
        StoreError::Open { source, .. } | StoreError::Sql(source) => matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
        ),
        _ => false,
    }
}

/// Opens the index at `path`; a damaged one is moved aside and replaced, with a notice.
pub fn open_index(path: &Path) -> (Result<Store, String>, Option<String>) {
    let names = StoreNames {
        store: "The document index",
        fresh: "a new, empty one",
        advice: " Add your folders again to rebuild it.",
        unavailable: "The document index is unavailable",
    };
    open_or_replace(path, &names, Store::open, is_corrupt)
}

#[cfg(test)]
mod tests {
    use onyx_docs::store::IndexCounts;

    use super::*;

    #[test]
    fn a_damaged_index_is_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(onyx_docs::DATABASE_FILE);
        std::fs::write(&path, vec![b'?'; 4096]).expect("write garbage");
        let (store, notice) = open_index(&path);
        let store = store.expect("a fresh index");
        assert_eq!(store.counts().ok(), Some(IndexCounts::default()));
        assert!(notice.is_some_and(|n| n.contains("was damaged")));
        let kept = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("documents.sqlite.corrupt-"))
            .count();
        assert_eq!(kept, 1);
    }
}
