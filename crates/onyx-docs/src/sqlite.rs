//! How Onyx opens its SQLite databases (the document index here, the conversations in
//! onyx-engine): one place for the pragmas, the parent folder, and versioned migrations.
//!
//! What flows in: a database path, and a store's list of migrations. What flows out: an open
//! [`Connection`] with the pragmas every Onyx database relies on, brought up to the newest schema.
//!
//! Why it looks like this:
//! - **Bare errors.** Neither function knows which store it serves, so each store wraps these
//!   errors in its own, which name the file and keep that store's wording.
//! - **Versioned schema.** `PRAGMA user_version` holds the version: the number of migrations
//!   applied. Each migration runs in its own transaction together with the version bump, and a file
//!   from a newer Onyx is refused rather than damaged.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why [`migrate`] failed. It does not name the file: callers wrap it in an error that does.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The file was written by a newer Onyx: it has more migrations applied than this build knows.
    #[error("schema version {found} is newer than this Onyx understands ({supported})")]
    TooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows: the number of migrations it was given.
        supported: i64,
    },
    /// Reading the version or applying a migration failed.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// Opens (creating if needed, along with its parent folder) the database at `path`, in WAL mode
/// with foreign keys on and a 10-second busy timeout. A file that is not a database fails here,
/// with [`rusqlite::ErrorCode::NotADatabase`].
pub fn open(path: &Path) -> Result<Connection, rusqlite::Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // A missing parent would otherwise surface as SQLite's bare "unable to open database file".
        std::fs::create_dir_all(parent).map_err(|e| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("cannot create {}: {e}", parent.display())),
            )
        })?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The app searches while the indexer writes, and the CLI and the app may both have a file
    // open: wait for the other writer instead of failing.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // This is the first statement that reads the file, so a garbage file fails here, which callers
    // report as failing to open it.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // WAL + NORMAL: a commit survives a process kill; only an OS crash may lose the last few
    // commits (files the next index run simply redoes, or the last message of a conversation).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Off by default in SQLite, and the schemas' ON DELETE CASCADE clauses depend on it.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Brings the schema up to date: `migrations[i]` upgrades version `i` to `i + 1`, so the newest
/// version is `migrations.len()`. Each step runs in one transaction with its version bump, so a
/// crash leaves the file at the last completed step, and the next call continues from there.
/// Refuses ([`MigrateError::TooNew`]) a file whose version is beyond the last migration.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), MigrateError> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > supported {
        return Err(MigrateError::TooNew { found, supported });
    }
    // Onyx never writes a negative version; a foreign file with one gets the whole schema, whose
    // first CREATE TABLE fails inside its transaction if the file already has those tables.
    let done = usize::try_from(found).unwrap_or(0);
    for (version, sql) in (1_i64..).zip(migrations).skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MIGRATIONS: &[&str] = &[
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);",
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents(id) ON DELETE CASCADE);",
        "INSERT INTO parents(id) VALUES (1); INSERT INTO children(id, parent) VALUES (10, 1);",
    ];

    fn user_version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap()
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn migrations_apply_in_order_and_set_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("db.sqlite")).unwrap();
        migrate(&mut conn, &MIGRATIONS[..1]).unwrap();
        assert_eq!(user_version(&conn), 1);
        // The later steps need the earlier tables, so this only succeeds in order.
        migrate(&mut conn, MIGRATIONS).unwrap();
        assert_eq!(user_version(&conn), 3);
        assert_eq!(count(&conn, "children"), 1);
        // The pragmas took: WAL, and foreign keys on (the cascade removes the child).
        let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0)).unwrap();
        assert_eq!(mode, "wal");
        conn.execute("DELETE FROM parents", []).unwrap();
        assert_eq!(count(&conn, "children"), 0);
    }

    #[test]
    fn migrating_again_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let mut conn = open(&path).unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        drop(conn);
        // Re-running the inserts of the last step would fail on the primary keys.
        let mut conn = open(&path).unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        assert_eq!(user_version(&conn), 3);
        assert_eq!(count(&conn, "parents"), 1);
    }

    #[test]
    fn a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("db.sqlite")).unwrap();
        conn.pragma_update(None, "user_version", 5).unwrap();
        let error = migrate(&mut conn, MIGRATIONS).unwrap_err();
        assert!(matches!(error, MigrateError::TooNew { found: 5, supported: 3 }), "{error:?}");
        assert_eq!(error.to_string(), "schema version 5 is newer than this Onyx understands (3)");
        assert_eq!(user_version(&conn), 5);
    }

    #[test]
    fn a_garbage_file_fails_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        std::fs::write(&path, b"this is not a database, just some text that is long enough to matter....").unwrap();
        let error = open(&path).err().unwrap();
        assert_eq!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase), "{error}");
    }

    #[test]
    fn a_missing_parent_folder_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("db.sqlite");
        let mut conn = open(&path).unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        assert!(path.is_file());
    }

    #[test]
    fn a_parent_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let error = open(&file.join("db.sqlite")).err().unwrap().to_string();
        assert!(error.contains(&format!("cannot create {}", file.display())), "{error}");
    }
}
