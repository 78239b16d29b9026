//! The conversations domain: the engine's [`History`] (the SQLite store in the app data folder,
//! behind one mutex, with its damaged-database policy), managed as app state for the commands.

use std::path::Path;

use onyx_engine::history::History;

use crate::notices::Notices;

/// How commands receive the conversations.
pub type ConversationsHandle<'a> = tauri::State<'a, History>;

/// Opens the database at `path`; what the user must know about it (a damaged file moved aside,
/// or why conversations are unavailable) becomes a notice.
pub fn open(path: &Path, notices: &Notices) -> History {
    let (history, notice) = History::open(path);
    if let Some(notice) = notice {
        notices.push(notice);
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unopenable_database_gives_a_notice_and_the_commands_answer_storage() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder where the file should be: not damage, so nothing is moved.
        let path = dir.path().join("conversations.sqlite");
        std::fs::create_dir_all(&path).expect("create");
        let notices = Notices::default();
        let history = open(&path, &notices);
        let error = crate::error::Error::from(history.list().expect_err("no database"));
        assert_eq!(error.code(), "storage");
        assert_eq!(notices.all().len(), 1);
    }
}
