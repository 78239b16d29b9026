//! The conversations domain: the SQLite store (onyx_engine::conversations) in the app data
//! folder, behind one mutex, and the commands' calls into it.
//!
//! A damaged database does not stop the app: it is moved aside (with its WAL files) and a fresh
//! one is started, with a notice naming both. Any other failure to open (permissions, a file from
//! a newer Onyx) leaves the file alone; the conversation commands then answer `storage` with
//! the reason, and chat still works without history.

use std::path::Path;
use std::sync::{Arc, Mutex};

use onyx_engine::conversations::{
    ConversationError, ConversationStore, ConversationSummary, NewMessage, StoredMessage, quarantine_database,
};
use onyx_engine::template::Message;

use crate::error::Error;
use crate::notices::Notices;

/// Longest conversation title kept.
const MAX_TITLE_CHARS: usize = 200;

/// The conversations state. Cheap to clone.
#[derive(Clone)]
pub struct ConversationsState {
    store: Arc<Mutex<Result<ConversationStore, String>>>,
}

/// How commands receive the conversations state.
pub type ConversationsHandle<'a> = tauri::State<'a, ConversationsState>;

/// Opens the database at `path`; a damaged one is moved aside and replaced, with a notice.
pub fn open_store(path: &Path) -> (Result<ConversationStore, String>, Option<String>) {
    match ConversationStore::open(path) {
        Ok(store) => (Ok(store), None),
        Err(error) if error.is_corrupt() => match quarantine_database(path) {
            Ok(moved) => {
                let notice = format!(
                    "The conversations database {} was damaged; it was moved to {} and a new one was started.",
                    path.display(),
                    moved.display()
                );
                (ConversationStore::open(path).map_err(|e| e.to_string()), Some(notice))
            }
            Err(move_error) => {
                let message = format!("{error}; moving it aside failed too: {move_error}");
                (Err(message.clone()), Some(message))
            }
        },
        Err(error) => (Err(error.to_string()), Some(format!("Conversations are unavailable: {error}"))),
    }
}

impl ConversationsState {
    /// Opens the database at `path` (see the module docs).
    pub fn open(path: &Path, notices: &Notices) -> Self {
        let (store, notice) = open_store(path);
        if let Some(notice) = notice {
            notices.push(notice);
        }
        ConversationsState { store: Arc::new(Mutex::new(store)) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut ConversationStore) -> Result<R, ConversationError>) -> Result<R, Error> {
        // SQLite rolls back an unfinished transaction, so a panic mid-call leaves the store usable.
        let mut guard = self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.as_mut() {
            Ok(store) => f(store).map_err(Error::from),
            Err(reason) => Err(Error::Storage(reason.clone())),
        }
    }

    /// All conversations, most recently changed first.
    pub fn list(&self) -> Result<Vec<ConversationSummary>, Error> {
        self.with(|store| store.list())
    }

    /// The list entry of one conversation.
    fn summary(&self, id: i64) -> Result<ConversationSummary, Error> {
        self.list()?
            .into_iter()
            .find(|summary| summary.id == id)
            .ok_or_else(|| Error::NotFound(ConversationError::NotFound { id }.to_string()))
    }

    /// A new, empty conversation; its first message will give it a title.
    pub fn create(&self) -> Result<ConversationSummary, Error> {
        let conversation = self.with(|store| store.create(""))?;
        Ok(ConversationSummary {
            id: conversation.id,
            title: conversation.title,
            updated_at: conversation.updated_at,
            message_count: 0,
        })
    }

    /// Renames a conversation.
    pub fn rename(&self, id: i64, title: &str) -> Result<ConversationSummary, Error> {
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(Error::InvalidRequest(format!("a title can have at most {MAX_TITLE_CHARS} characters")));
        }
        self.with(|store| store.rename(id, title))?;
        self.summary(id)
    }

    /// Deletes a conversation and its messages.
    pub fn delete(&self, id: i64) -> Result<(), Error> {
        self.with(|store| store.delete(id))
    }

    /// A conversation's messages, oldest first.
    pub fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, Error> {
        self.with(|store| store.messages(id))
    }

    /// Appends a message.
    pub fn append(&self, id: i64, message: NewMessage) -> Result<StoredMessage, Error> {
        self.with(|store| store.append(id, message))
    }

    /// Deletes a message and every later one.
    pub fn delete_from(&self, id: i64, message_id: i64) -> Result<usize, Error> {
        self.with(|store| store.delete_from(id, message_id))
    }

    /// The conversation as the engine's messages.
    pub fn chat_messages(&self, id: i64) -> Result<Vec<Message>, Error> {
        self.with(|store| store.to_chat_messages(id))
    }

    /// A state over an open store (tests).
    #[cfg(test)]
    pub fn with_store(store: ConversationStore) -> Self {
        ConversationsState { store: Arc::new(Mutex::new(Ok(store))) }
    }
}

#[cfg(test)]
mod tests {
    use onyx_engine::conversations::Role;

    use super::*;

    #[test]
    fn a_damaged_database_is_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("conversations.sqlite");
        std::fs::write(&path, vec![b'x'; 8192]).expect("write garbage");
        let notices = Notices::default();
        let state = ConversationsState::open(&path, &notices);
        assert_eq!(state.list().ok(), Some(Vec::new()), "a fresh database");
        let all = notices.all();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(all[0].starts_with(&format!("The conversations database {} was damaged", path.display())), "{all:?}");
        let kept: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("conversations.sqlite.corrupt-"))
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(std::fs::read(kept[0].path()).ok(), Some(vec![b'x'; 8192]), "the damaged file is kept as it was");
    }

    #[test]
    fn an_unopenable_database_makes_the_commands_answer_storage() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder where the file should be: not damage, so nothing is moved.
        let path = dir.path().join("conversations.sqlite");
        std::fs::create_dir_all(&path).expect("create");
        let notices = Notices::default();
        let state = ConversationsState::open(&path, &notices);
        let error = state.list().expect_err("no database");
        assert_eq!(error.code(), "storage");
        assert!(path.is_dir(), "left alone");
        assert_eq!(notices.all().len(), 1);
    }

    #[test]
    fn summaries_follow_create_rename_and_messages() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConversationStore::open(&dir.path().join("c.sqlite")).expect("open");
        let state = ConversationsState::with_store(store);
        let created = state.create().expect("create");
        assert_eq!((created.title.as_str(), created.message_count), ("", 0));
        state.append(created.id, NewMessage::new(Role::User, "What is Rust?")).expect("append");
        let renamed = state.rename(created.id, "  Rust  ").expect("rename");
        assert_eq!((renamed.title.as_str(), renamed.message_count), ("Rust", 1));
        assert_eq!(state.rename(created.id, "  ").expect_err("empty").code(), "invalid_request");
        assert_eq!(state.rename(created.id, &"x".repeat(201)).expect_err("long").code(), "invalid_request");
        assert_eq!(state.rename(999, "x").expect_err("missing").code(), "not_found");
        assert_eq!(state.messages(999).expect_err("missing").code(), "not_found");
        state.delete(created.id).expect("delete");
        assert_eq!(state.list().ok(), Some(Vec::new()));
    }
}
