//! The conversations database as a front end shares it: one [`ConversationStore`] behind a
//! mutex, opened with the damaged-database policy. The desktop app keeps one; so would an API
//! server beside it.
//!
//! A damaged database does not stop the app: it is moved aside (with its WAL files) and a fresh
//! one is started, with a notice naming both. Any other failure to open (permissions, a file from
//! a newer Onyx) leaves the file alone; every call then fails with
//! [`ConversationError::Unavailable`] and the reason, and chat still works without history.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::conversations::{ConversationError, ConversationStore, ConversationSummary, NewMessage, StoredMessage};
use crate::damaged::{StoreNames, open_or_replace};
use crate::template::Message;

/// Longest conversation title kept.
pub const MAX_TITLE_CHARS: usize = 200;

/// The shared conversations database. Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct History {
    store: Arc<Mutex<Result<ConversationStore, String>>>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").finish_non_exhaustive()
    }
}

impl History {
    /// Opens the database at `path` (see the module docs). The notice, when there is one, is for
    /// the user: what was moved where, or why conversations are unavailable.
    pub fn open(path: &Path) -> (Self, Option<String>) {
        let names = StoreNames {
            store: "The conversations database",
            fresh: "a new one",
            advice: "",
            unavailable: "Conversations are unavailable",
        };
        let (store, notice) = open_or_replace(path, &names, ConversationStore::open, ConversationError::is_corrupt);
        (History { store: Arc::new(Mutex::new(store)) }, notice)
    }

    /// A history over a store already open.
    pub fn from_store(store: ConversationStore) -> Self {
        History { store: Arc::new(Mutex::new(Ok(store))) }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut ConversationStore) -> Result<R, ConversationError>,
    ) -> Result<R, ConversationError> {
        // SQLite rolls back an unfinished transaction, so a panic mid-call leaves the store usable.
        let mut guard = self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.as_mut() {
            Ok(store) => f(store),
            Err(reason) => Err(ConversationError::Unavailable(reason.clone())),
        }
    }

    /// All conversations, most recently changed first.
    pub fn list(&self) -> Result<Vec<ConversationSummary>, ConversationError> {
        self.with(|store| store.list())
    }

    /// The list entry of one conversation.
    pub fn summary(&self, id: i64) -> Result<ConversationSummary, ConversationError> {
        self.list()?.into_iter().find(|summary| summary.id == id).ok_or(ConversationError::NotFound { id })
    }

    /// A new, empty conversation; its first message will give it a title.
    pub fn create(&self) -> Result<ConversationSummary, ConversationError> {
        let conversation = self.with(|store| store.create(""))?;
        Ok(ConversationSummary {
            id: conversation.id,
            title: conversation.title,
            updated_at: conversation.updated_at,
            message_count: 0,
        })
    }

    /// Renames a conversation.
    pub fn rename(&self, id: i64, title: &str) -> Result<ConversationSummary, ConversationError> {
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(ConversationError::TitleTooLong { max: MAX_TITLE_CHARS });
        }
        self.with(|store| store.rename(id, title))?;
        self.summary(id)
    }

    /// Deletes a conversation and its messages.
    pub fn delete(&self, id: i64) -> Result<(), ConversationError> {
        self.with(|store| store.delete(id))
    }

    /// A conversation's messages, oldest first.
    pub fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, ConversationError> {
        self.with(|store| store.messages(id))
    }

    /// Appends a message.
    pub fn append(&self, id: i64, message: NewMessage) -> Result<StoredMessage, ConversationError> {
        self.with(|store| store.append(id, message))
    }

    /// Deletes a message and every later one.
    pub fn delete_from(&self, id: i64, message_id: i64) -> Result<usize, ConversationError> {
        self.with(|store| store.delete_from(id, message_id))
    }

    /// The conversation as the engine's messages.
    pub fn chat_messages(&self, id: i64) -> Result<Vec<Message>, ConversationError> {
        self.with(|store| store.to_chat_messages(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversations::Role;

    #[test]
    fn a_damaged_database_is_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("conversations.sqlite");
        std::fs::write(&path, vec![b'x'; 8192]).expect("write garbage");
        let (history, notice) = History::open(&path);
        assert_eq!(history.list().ok(), Some(Vec::new()), "a fresh database");
        let notice = notice.expect("a notice");
        assert!(notice.starts_with(&format!("The conversations database {} was damaged", path.display())), "{notice}");
        let kept: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("conversations.sqlite.corrupt-"))
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(std::fs::read(kept[0].path()).ok(), Some(vec![b'x'; 8192]), "the damaged file is kept as it was");
    }

    #[test]
    fn an_unopenable_database_makes_every_call_unavailable() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder where the file should be: not damage, so nothing is moved.
        let path = dir.path().join("conversations.sqlite");
        std::fs::create_dir_all(&path).expect("create");
        let (history, notice) = History::open(&path);
        assert!(matches!(history.list(), Err(ConversationError::Unavailable(_))));
        assert!(path.is_dir(), "left alone");
        assert!(notice.is_some_and(|n| n.starts_with("Conversations are unavailable")));
    }

    #[test]
    fn summaries_follow_create_rename_and_messages() {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = History::from_store(ConversationStore::open(&dir.path().join("c.sqlite")).expect("open"));
        let created = history.create().expect("create");
        assert_eq!((created.title.as_str(), created.message_count), ("", 0));
        history.append(created.id, NewMessage::new(Role::User, "What is Rust?")).expect("append");
        let renamed = history.rename(created.id, "  Rust  ").expect("rename");
        assert_eq!((renamed.title.as_str(), renamed.message_count), ("Rust", 1));
        assert!(matches!(history.rename(created.id, "  "), Err(ConversationError::EmptyTitle)));
        assert!(matches!(history.rename(created.id, &"x".repeat(201)), Err(ConversationError::TitleTooLong { .. })));
        assert!(matches!(history.rename(999, "x"), Err(ConversationError::NotFound { id: 999 })));
        assert!(matches!(history.messages(999), Err(ConversationError::NotFound { id: 999 })));
        history.delete(created.id).expect("delete");
        assert_eq!(history.list().ok(), Some(Vec::new()));
    }
}
