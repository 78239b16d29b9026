//! Conversations and their messages, kept in SQLite.
//!
//! What flows in: a database path, new conversations and messages (with the reply's statistics,
//! provider report, cited sources and finish reason as JSON). What flows out: conversation lists
//! newest first, a conversation's messages in order, and the same messages as the engine's
//! [`Message`]s for the next prompt. Returned types serialize in camelCase for the UI.
//!
//! Why it looks like this:
//! - **Its own file, WAL mode.** Each Onyx store versions its schema with `PRAGMA user_version`,
//!   and a file has one, so conversations do not share the documents index's file. Separate files
//!   also mean a damaged one can be moved aside ([`quarantine_database`]) without losing the other.
//!   WAL lets the UI read while a reply is being saved.
//! - **Versioned schema.** A list of migrations upgrades an older file in place; a file from a newer
//!   Onyx is refused rather than damaged. Opening (pragmas, parent folder) and migrating are shared
//!   with the documents index, in [`onyx_docs::sqlite`].
//! - **Ids are never reused** (`AUTOINCREMENT`): the UI holds them, and "regenerate" deletes the
//!   tail of a conversation and appends again, so a reused id could name the wrong message.
//! - **Metadata stays JSON.** Statistics, provider reports and sources belong to the engine and
//!   change with it; the store keeps them as given and hands them back unchanged.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use onyx_docs::sqlite::{self, MigrateError};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::template::Message;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Each entry upgrades the schema from version `index` to `index + 1`. Append; never edit a
/// shipped entry.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema. Times are milliseconds since the Unix epoch, what JavaScript's
    // `Date` takes.
    "
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX conversations_updated ON conversations(updated_at);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        stats TEXT,
        provider TEXT,
        sources TEXT,
        finish_reason TEXT
    );
    CREATE INDEX messages_conversation ON messages(conversation_id, id);
    ",
];

// `sqlite::migrate` takes the newest version to be the number of migrations, and errors report
// that number as supported: keep the constant in step with the list.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// Titles taken from the first user message keep about this many characters.
const TITLE_CHARS: usize = 48;

/// Errors of the conversation store. Each names the file, conversation or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// The database file could not be opened, or is not a database.
    #[error("cannot open the conversation database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file was written by a newer Onyx.
    #[error(
        "the conversation database {path} has schema version {found}, newer than this Onyx understands ({supported})"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// No conversation has this id.
    #[error("conversation {id} does not exist")]
    NotFound {
        /// The id asked for.
        id: i64,
    },
    /// The conversation has no message with this id.
    #[error("message {message_id} does not exist in conversation {conversation_id}")]
    MessageNotFound {
        /// The conversation.
        conversation_id: i64,
        /// The message id asked for.
        message_id: i64,
    },
    /// A title that is empty or only whitespace.
    #[error("a conversation title cannot be empty")]
    EmptyTitle,
    /// A title longer than [`crate::history::MAX_TITLE_CHARS`].
    #[error("a title can have at most {max} characters")]
    TitleTooLong {
        /// The limit.
        max: usize,
    },
    /// The database could not be opened when the app started; the reason says why.
    #[error("conversations are unavailable: {0}")]
    Unavailable(String),
    /// A role other than `system`, `user` or `assistant`.
    #[error("invalid role '{role}': expected system, user or assistant")]
    InvalidRole {
        /// The role given.
        role: String,
    },
    /// A stored JSON column could not be read back.
    #[error("the conversation database {path}: message {message_id} has unreadable {column} JSON: {reason}")]
    BadJson {
        /// The database file.
        path: PathBuf,
        /// The message.
        message_id: i64,
        /// The column.
        column: &'static str,
        /// The parser's reason.
        reason: String,
    },
    /// Any other SQLite failure.
    #[error("the conversation database {path}: {source}")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
}

impl ConversationError {
    /// Whether the file itself is damaged or not a database at all: the case where the app
    /// should [`quarantine_database`] it and start a fresh one. Other errors (permissions, a newer
    /// schema) are not fixed by moving the file, and a newer Onyx may still want it.
    pub fn is_corrupt(&self) -> bool {
        match self {
            ConversationError::Open { source, .. } | ConversationError::Sql { source, .. } => {
                matches!(source.sqlite_error_code(), Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
            }
            _ => false,
        }
    }
}

/// Attaches the database path to SQLite errors.
trait AtPath<T> {
    fn at(self, path: &Path) -> Result<T, ConversationError>;
}

impl<T> AtPath<T> for rusqlite::Result<T> {
    fn at(self, path: &Path) -> Result<T, ConversationError> {
        self.map_err(|source| ConversationError::Sql { path: path.to_path_buf(), source })
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role as stored and as chat templates expect it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ConversationError;

    /// Exact, lower-case names only: these come from code and the database, not from typing.
    fn from_str(role: &str) -> Result<Self, Self::Err> {
        match role {
            "system" => Ok(Role::System),
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            other => Err(ConversationError::InvalidRole { role: other.into() }),
        }
    }
}

/// A conversation's own row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Row id.
    pub id: i64,
    /// Title; empty until the user names it or the first user message does.
    pub title: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_at: i64,
}

/// One line of the conversation list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    /// Row id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_at: i64,
    /// Messages in it.
    pub message_count: u64,
}

/// A message as stored.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoredMessage {
    /// Row id; later messages of a conversation have larger ids.
    pub id: i64,
    /// The conversation it belongs to.
    pub conversation_id: i64,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The reply's statistics, as the engine reported them.
    #[ts(type = "unknown")]
    pub stats: Option<Value>,
    /// The provider that produced the reply.
    #[ts(type = "unknown")]
    pub provider: Option<Value>,
    /// Document passages the reply cited.
    #[ts(type = "unknown")]
    pub sources: Option<Value>,
    /// Why the reply ended.
    pub finish_reason: Option<String>,
}

/// A message to append.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// The reply's statistics.
    #[serde(default)]
    pub stats: Option<Value>,
    /// The provider that produced the reply.
    #[serde(default)]
    pub provider: Option<Value>,
    /// Document passages the reply cited.
    #[serde(default)]
    pub sources: Option<Value>,
    /// Why the reply ended.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

impl NewMessage {
    /// A message with no metadata.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), stats: None, provider: None, sources: None, finish_reason: None }
    }
}

/// An open conversation database. Writes take `&mut self`: one owner (behind a mutex in the
/// app) keeps the "last change" order and the title rule free of races.
pub struct ConversationStore {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for ConversationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const MESSAGE_COLUMNS: &str = "id, conversation_id, role, content, created_at, stats, provider, sources, finish_reason";

impl ConversationStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date. A file
    /// that is not a database is an [`ConversationError::Open`] naming it (see
    /// [`ConversationError::is_corrupt`]).
    pub fn open(path: &Path) -> Result<Self, ConversationError> {
        let conn = sqlite::open(path).map_err(|source| ConversationError::Open { path: path.to_path_buf(), source })?;
        let mut store = ConversationStore { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), ConversationError> {
        sqlite::migrate(&mut self.conn, MIGRATIONS).map_err(|error| match error {
            MigrateError::TooNew { found, supported } => {
                ConversationError::TooNew { path: self.path.clone(), found, supported }
            }
            MigrateError::Sql(source) => ConversationError::Sql { path: self.path.clone(), source },
        })
    }

    /// Starts a conversation. An empty title is allowed here: the first user message will supply
    /// one (see [`ConversationStore::append`]).
    pub fn create(&mut self, title: &str) -> Result<Conversation, ConversationError> {
        let title = title.trim();
        let tx = self.conn.transaction().at(&self.path)?;
        let now = next_update_time(&tx).at(&self.path)?;
        tx.execute(
            "INSERT INTO conversations (title, created_at, updated_at) VALUES (?1, ?2, ?2)",
            params![title, now],
        )
        .at(&self.path)?;
        let id = tx.last_insert_rowid();
        tx.commit().at(&self.path)?;
        Ok(Conversation { id, title: title.into(), created_at: now, updated_at: now })
    }

    /// One conversation's row.
    pub fn get(&self, id: i64) -> Result<Conversation, ConversationError> {
        self.conn
            .query_row("SELECT id, title, created_at, updated_at FROM conversations WHERE id = ?1", [id], |row| {
                Ok(Conversation {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    created_at: row.get(2)?,
                    updated_at: row.get(3)?,
                })
            })
            .optional()
            .at(&self.path)?
            .ok_or(ConversationError::NotFound { id })
    }

    /// All conversations, most recently changed first.
    pub fn list(&self) -> Result<Vec<ConversationSummary>, ConversationError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT c.id, c.title, c.updated_at, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
                 FROM conversations c ORDER BY c.updated_at DESC, c.id DESC",
            )
            .at(&self.path)?;
        let rows = statement
            .query_map([], |row| {
                Ok(ConversationSummary {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    updated_at: row.get(2)?,
                    // COUNT(*) is never negative.
                    message_count: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                })
            })
            .at(&self.path)?;
        rows.collect::<Result<_, _>>().at(&self.path)
    }

    /// Renames a conversation. The title is trimmed and must not be empty.
    pub fn rename(&mut self, id: i64, title: &str) -> Result<Conversation, ConversationError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(ConversationError::EmptyTitle);
        }
        let tx = self.conn.transaction().at(&self.path)?;
        let now = next_update_time(&tx).at(&self.path)?;
        let changed = tx
            .execute("UPDATE conversations SET title = ?1, updated_at = ?2 WHERE id = ?3", params![title, now, id])
            .at(&self.path)?;
        if changed == 0 {
            return Err(ConversationError::NotFound { id });
        }
        tx.commit().at(&self.path)?;
        self.get(id)
    }

    /// Deletes a conversation and (by cascade) its messages.
    pub fn delete(&mut self, id: i64) -> Result<(), ConversationError> {
        let changed = self.conn.execute("DELETE FROM conversations WHERE id = ?1", [id]).at(&self.path)?;
        if changed == 0 {
            return Err(ConversationError::NotFound { id });
        }
        Ok(())
    }

    /// A conversation's messages, oldest first.
    pub fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, ConversationError> {
        self.get(id)?;
        let mut statement = self
            .conn
            .prepare(&format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 ORDER BY id"))
            .at(&self.path)?;
        let rows = statement.query_map([id], RawMessage::from_row).at(&self.path)?;
        let raw: Vec<RawMessage> = rows.collect::<Result<_, _>>().at(&self.path)?;
        raw.into_iter().map(|raw| raw.decode(&self.path)).collect()
    }

    /// Appends a message and marks the conversation changed. The first user message of a
    /// conversation without a title gives it one: its first ~48 characters, cut at a word.
    pub fn append(&mut self, id: i64, message: NewMessage) -> Result<StoredMessage, ConversationError> {
        let path = self.path.clone();
        let json = |value: &Option<Value>| value.as_ref().map(Value::to_string);
        let tx = self.conn.transaction().at(&path)?;
        let title: String = tx
            .query_row("SELECT title FROM conversations WHERE id = ?1", [id], |row| row.get(0))
            .optional()
            .at(&path)?
            .ok_or(ConversationError::NotFound { id })?;
        let now = next_update_time(&tx).at(&path)?;
        tx.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at, stats, provider, sources, finish_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                message.role.as_str(),
                message.content,
                now,
                json(&message.stats),
                json(&message.provider),
                json(&message.sources),
                message.finish_reason,
            ],
        )
        .at(&path)?;
        let message_id = tx.last_insert_rowid();
        let new_title = match (title.is_empty(), message.role) {
            (true, Role::User) => title_from(&message.content),
            _ => title,
        };
        tx.execute("UPDATE conversations SET title = ?1, updated_at = ?2 WHERE id = ?3", params![new_title, now, id])
            .at(&path)?;
        tx.commit().at(&path)?;
        Ok(StoredMessage {
            id: message_id,
            conversation_id: id,
            role: message.role,
            content: message.content,
            created_at: now,
            stats: message.stats,
            provider: message.provider,
            sources: message.sources,
            finish_reason: message.finish_reason,
        })
    }

    /// Deletes `message_id` and every later message of the conversation ("regenerate" and "edit
    /// and resend"), returning how many went.
    pub fn delete_from(&mut self, conversation_id: i64, message_id: i64) -> Result<usize, ConversationError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().at(&path)?;
        let exists: Option<i64> = tx
            .query_row("SELECT id FROM conversations WHERE id = ?1", [conversation_id], |row| row.get(0))
            .optional()
            .at(&path)?;
        if exists.is_none() {
            return Err(ConversationError::NotFound { id: conversation_id });
        }
        let belongs: Option<i64> = tx
            .query_row(
                "SELECT id FROM messages WHERE id = ?1 AND conversation_id = ?2",
                [message_id, conversation_id],
                |row| row.get(0),
            )
            .optional()
            .at(&path)?;
        if belongs.is_none() {
            return Err(ConversationError::MessageNotFound { conversation_id, message_id });
        }
        // Ids grow with insertion order (AUTOINCREMENT never reuses one), so "after" is "larger id".
        let removed = tx
            .execute("DELETE FROM messages WHERE conversation_id = ?1 AND id >= ?2", [conversation_id, message_id])
            .at(&path)?;
        let now = next_update_time(&tx).at(&path)?;
        tx.execute("UPDATE conversations SET updated_at = ?1 WHERE id = ?2", params![now, conversation_id])
            .at(&path)?;
        tx.commit().at(&path)?;
        Ok(removed)
    }

    /// The conversation as the engine's chat messages, oldest first, without metadata. The caller
    /// adds the settings' system prompt when the conversation has none of its own.
    pub fn to_chat_messages(&self, id: i64) -> Result<Vec<Message>, ConversationError> {
        Ok(self.messages(id)?.into_iter().map(|m| Message::new(m.role.as_str(), m.content)).collect())
    }
}

/// The time to stamp a change with: now, but always after every earlier change. The list is
/// ordered by `updated_at`, and two changes within one millisecond (or a clock stepped back) must
/// still list the later one first; the drift this allows is a millisecond per change.
fn next_update_time(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    let latest: Option<i64> = tx.query_row("SELECT MAX(updated_at) FROM conversations", [], |row| row.get(0))?;
    Ok(latest.map_or(now_millis(), |latest| now_millis().max(latest + 1)))
}

/// A row before its role and JSON columns are checked, so that those errors can name the file
/// and the message (rusqlite's row closure cannot return our error type).
struct RawMessage {
    id: i64,
    conversation_id: i64,
    role: String,
    content: String,
    created_at: i64,
    stats: Option<String>,
    provider: Option<String>,
    sources: Option<String>,
    finish_reason: Option<String>,
}

impl RawMessage {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            conversation_id: row.get(1)?,
            role: row.get(2)?,
            content: row.get(3)?,
            created_at: row.get(4)?,
            stats: row.get(5)?,
            provider: row.get(6)?,
            sources: row.get(7)?,
            finish_reason: row.get(8)?,
        })
    }

    fn decode(self, path: &Path) -> Result<StoredMessage, ConversationError> {
        let id = self.id;
        let json = |column: &'static str, text: Option<String>| -> Result<Option<Value>, ConversationError> {
            text.map(|text| serde_json::from_str(&text)).transpose().map_err(|e| ConversationError::BadJson {
                path: path.into(),
                message_id: id,
                column,
                reason: e.to_string(),
            })
        };
        Ok(StoredMessage {
            id,
            conversation_id: self.conversation_id,
            role: self.role.parse()?,
            content: self.content,
            created_at: self.created_at,
            stats: json("stats", self.stats)?,
            provider: json("provider", self.provider)?,
            sources: json("sources", self.sources)?,
            finish_reason: self.finish_reason,
        })
    }
}

/// A title from a message: whitespace collapsed, then at most 48 characters, cut at
/// the last word boundary that keeps at least half of them, with `…` when something was cut.
pub fn title_from(content: &str) -> String {
    let words: Vec<&str> = content.split_whitespace().collect();
    let flat = words.join(" ");
    if flat.chars().count() <= TITLE_CHARS {
        return flat;
    }
    let head: String = flat.chars().take(TITLE_CHARS).collect();
    // The character after the head decides whether the head ends on a whole word.
    let ends_on_word = flat.chars().nth(TITLE_CHARS) == Some(' ');
    let cut = match head.rfind(' ') {
        _ if ends_on_word => head.as_str(),
        // A single very long word (a URL, a path) is cut mid-word rather than dropped.
        Some(space) if head[..space].chars().count() >= TITLE_CHARS / 2 => &head[..space],
        _ => head.as_str(),
    };
    format!("{}…", cut.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-')))
}

/// Moves a damaged database aside with [`crate::settings::quarantine`], together with its WAL and
/// shared-memory files (renamed to match, so the moved copy still opens with what it last
/// committed), and returns the new path of the database file.
pub fn quarantine_database(path: &Path) -> std::io::Result<PathBuf> {
    let moved = crate::settings::quarantine(path)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_os_string();
        side.push(suffix);
        let side = PathBuf::from(side);
        if std::fs::symlink_metadata(&side).is_ok() {
            let mut target = moved.as_os_str().to_os_string();
            target.push(suffix);
            std::fs::rename(&side, PathBuf::from(target))?;
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ConversationStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConversationStore::open(&dir.path().join("conversations.sqlite")).expect("open");
        (dir, store)
    }

    #[test]
    fn titles_are_cut_at_a_word_with_an_ellipsis() {
        assert_eq!(title_from("  What is\n a  monad? "), "What is a monad?");
        assert_eq!(title_from(""), "");
        let long = "Explain how the borrow checker decides that two mutable references overlap in a loop";
        assert_eq!(title_from(long), "Explain how the borrow checker decides that two…");
        // Exactly 48 characters followed by a space: the head is whole words already.
        let exact = format!("{} tail", "a".repeat(48));
        assert_eq!(title_from(&exact), format!("{}…", "a".repeat(48)));
        // One long word is cut mid-word; characters, not bytes, are counted.
        assert_eq!(title_from(&"é".repeat(60)), format!("{}…", "é".repeat(48)));
    }

    #[test]
    fn roles_parse_exactly() {
        assert_eq!("assistant".parse::<Role>().expect("role"), Role::Assistant);
        let error = "tool".parse::<Role>().expect_err("tool");
        assert_eq!(error.to_string(), "invalid role 'tool': expected system, user or assistant");
    }

    #[test]
    fn a_role_changed_behind_our_back_is_reported_not_trusted() {
        let (_dir, mut store) = store();
        let conversation = store.create("x").expect("create");
        let message = store.append(conversation.id, NewMessage::new(Role::User, "hi")).expect("append");
        // The CHECK constraint stops bad roles; a hand edit that drops it is what this guards.
        store.conn.pragma_update(None, "ignore_check_constraints", "ON").expect("pragma");
        store.conn.execute("UPDATE messages SET role = 'tool', stats = '{' WHERE id = ?1", [message.id]).expect("edit");
        let error = store.messages(conversation.id).expect_err("bad role").to_string();
        assert_eq!(error, "invalid role 'tool': expected system, user or assistant");
        store.conn.execute("UPDATE messages SET role = 'user' WHERE id = ?1", [message.id]).expect("edit");
        let error = store.messages(conversation.id).expect_err("bad json").to_string();
        assert!(
            error.contains("conversations.sqlite") && error.contains("message 1 has unreadable stats JSON"),
            "{error}"
        );
    }

    #[test]
    fn updates_in_the_same_millisecond_still_order_the_list() {
        let (_dir, mut store) = store();
        let ids: Vec<i64> = (0..20).map(|i| store.create(&format!("c{i}")).expect("create").id).collect();
        store.append(ids[3], NewMessage::new(Role::User, "bump")).expect("append");
        let listed: Vec<i64> = store.list().expect("list").iter().map(|c| c.id).collect();
        let mut expected: Vec<i64> = ids.iter().rev().copied().filter(|id| *id != ids[3]).collect();
        expected.insert(0, ids[3]);
        assert_eq!(listed, expected);
    }
}
