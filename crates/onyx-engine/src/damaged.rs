//! The damaged-database policy both of the app's SQLite stores follow: a damaged file is moved
//! aside (with its WAL files, by [`quarantine_database`]) and a fresh one started, with a notice
//! naming both; any other failure to open (permissions, a file from a newer Onyx) leaves the file
//! alone and says why.

use std::fmt::Display;
use std::path::Path;

use crate::conversations::quarantine_database;

/// How the notices name a store.
pub(crate) struct StoreNames<'a> {
    /// "The conversations database".
    pub(crate) store: &'a str,
    /// What replaces a damaged one: "a new one".
    pub(crate) fresh: &'a str,
    /// What the user can do afterwards, if anything (" Add your folders again to rebuild it.").
    pub(crate) advice: &'a str,
    /// Said when it cannot be opened at all: "Conversations are unavailable".
    pub(crate) unavailable: &'a str,
}

/// Opens the store at `path` with `open`, replacing it when `is_corrupt` says the error is damage.
/// Returns the store (or why there is none) and the notice for the user, if any.
pub(crate) fn open_or_replace<T, E: Display>(
    path: &Path,
    names: &StoreNames<'_>,
    open: impl Fn(&Path) -> Result<T, E>,
    is_corrupt: impl Fn(&E) -> bool,
) -> (Result<T, String>, Option<String>) {
    match open(path) {
        Ok(store) => (Ok(store), None),
        Err(error) if is_corrupt(&error) => match quarantine_database(path) {
            Ok(moved) => {
                let notice = format!(
                    "{} {} was damaged; it was moved to {} and {} was started.{}",
                    names.store,
                    path.display(),
                    moved.display(),
                    names.fresh,
                    names.advice
                );
                (open(path).map_err(|e| e.to_string()), Some(notice))
            }
            Err(move_error) => {
                let message = format!("{error}; moving it aside failed too: {move_error}");
                (Err(message.clone()), Some(message))
            }
        },
        Err(error) => (Err(error.to_string()), Some(format!("{}: {error}", names.unavailable))),
    }
}
