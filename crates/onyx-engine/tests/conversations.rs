//! The conversation store through its public API: CRUD, ordering, titles, cascades, "regenerate",
//! schema versions and damaged files. Each test has its own temp dir; no model or runtime needed.

use std::path::PathBuf;

use onyx_engine::conversations::{
    ConversationError, ConversationStore, NewMessage, Role, SCHEMA_VERSION, quarantine_database,
};
use onyx_engine::template::Message;
use serde_json::json;

fn open() -> (tempfile::TempDir, PathBuf, ConversationStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data/conversations.sqlite");
    let store = ConversationStore::open(&path).expect("open a new database");
    (dir, path, store)
}

fn reply(content: &str) -> NewMessage {
    NewMessage {
        stats: Some(json!({"tokens": 12, "tokensPerSecond": 31.5})),
        provider: Some(json!({"ep": "CPUExecutionProvider", "nodesOnEp": 3, "nodesTotal": 3})),
        sources: Some(json!([{"path": "/docs/a.md", "lines": [1, 4]}])),
        finish_reason: Some("eos".into()),
        ..NewMessage::new(Role::Assistant, content)
    }
}

#[test]
fn create_list_rename_delete() {
    let (_dir, path, mut store) = open();
    assert_eq!(store.path(), path);
    assert!(store.list().expect("list").is_empty());

    let first = store.create("  Trip to Lisbon ").expect("create");
    assert_eq!(first.title, "Trip to Lisbon");
    assert_eq!(first.created_at, first.updated_at);
    let second = store.create("Rust questions").expect("create");
    assert!(second.id > first.id);
    assert!(second.updated_at > first.updated_at, "later changes stamp later times");

    let titles: Vec<(String, u64)> =
        store.list().expect("list").into_iter().map(|c| (c.title, c.message_count)).collect();
    assert_eq!(titles, [("Rust questions".to_string(), 0), ("Trip to Lisbon".to_string(), 0)]);

    let renamed = store.rename(first.id, "Lisbon, May").expect("rename");
    assert_eq!(renamed.title, "Lisbon, May");
    assert!(renamed.updated_at > second.updated_at);
    assert_eq!(store.list().expect("list")[0].id, first.id, "renaming counts as a change");
    assert_eq!(store.get(first.id).expect("get"), renamed);

    assert_eq!(store.rename(first.id, "   ").expect_err("blank").to_string(), "a conversation title cannot be empty");
    store.delete(second.id).expect("delete");
    let ids: Vec<i64> = store.list().expect("list").into_iter().map(|c| c.id).collect();
    assert_eq!(ids, [first.id]);
}

#[test]
fn a_conversation_that_does_not_exist_is_named() {
    let (_dir, _path, mut store) = open();
    let expected = "conversation 42 does not exist";
    assert_eq!(store.get(42).expect_err("get").to_string(), expected);
    assert_eq!(store.rename(42, "x").expect_err("rename").to_string(), expected);
    assert_eq!(store.delete(42).expect_err("delete").to_string(), expected);
    assert_eq!(store.messages(42).expect_err("messages").to_string(), expected);
    assert_eq!(store.to_chat_messages(42).expect_err("chat").to_string(), expected);
    assert_eq!(store.append(42, NewMessage::new(Role::User, "hi")).expect_err("append").to_string(), expected);
    assert_eq!(store.delete_from(42, 1).expect_err("delete_from").to_string(), expected);
    assert!(matches!(store.get(42), Err(ConversationError::NotFound { id: 42 })));
}

#[test]
fn messages_keep_their_order_and_metadata_and_move_the_conversation_up() {
    let (_dir, _path, mut store) = open();
    let chat = store.create("Chat").expect("create");
    let other = store.create("Other").expect("create");
    assert_eq!(store.list().expect("list")[0].id, other.id);

    let system = store.append(chat.id, NewMessage::new(Role::System, "Be brief.")).expect("system");
    let question = store.append(chat.id, NewMessage::new(Role::User, "What is WAL?")).expect("user");
    let answer = store.append(chat.id, reply("Write-ahead logging.")).expect("assistant");
    assert!(system.id < question.id && question.id < answer.id);

    let listed = store.list().expect("list");
    assert_eq!(listed[0].id, chat.id, "appending counts as a change");
    assert_eq!(listed[0].message_count, 3);
    assert_eq!(listed[0].updated_at, answer.created_at);
    assert_eq!(listed[1].message_count, 0);

    let messages = store.messages(chat.id).expect("messages");
    assert_eq!(messages, [system.clone(), question.clone(), answer.clone()]);
    assert_eq!(messages[2].stats, Some(json!({"tokens": 12, "tokensPerSecond": 31.5})));
    assert_eq!(messages[2].sources, Some(json!([{"path": "/docs/a.md", "lines": [1, 4]}])));
    assert_eq!(messages[2].finish_reason.as_deref(), Some("eos"));
    assert_eq!(messages[1].stats, None);
    assert_eq!(messages[1].provider, None);

    assert_eq!(
        store.to_chat_messages(chat.id).expect("chat messages"),
        [
            Message::new("system", "Be brief."),
            Message::new("user", "What is WAL?"),
            Message::new("assistant", "Write-ahead logging."),
        ]
    );
    // The UI receives these as camelCase JSON.
    let json = serde_json::to_value(&messages[2]).expect("json");
    assert_eq!(json["conversationId"], json!(chat.id));
    assert_eq!(json["role"], json!("assistant"));
    assert_eq!(json["finishReason"], json!("eos"));
    let summary = serde_json::to_value(&store.list().expect("list")[0]).expect("json");
    assert_eq!(summary["messageCount"], json!(3));
    assert_eq!(summary["updatedAt"], json!(answer.created_at));
    let new: NewMessage =
        serde_json::from_value(json!({"role": "user", "content": "hi", "finishReason": null})).expect("new message");
    assert_eq!(new, NewMessage::new(Role::User, "hi"));
}

#[test]
fn the_first_user_message_titles_an_untitled_conversation() {
    let (_dir, _path, mut store) = open();
    let untitled = store.create("").expect("create");
    assert_eq!(untitled.title, "");
    // A system message does not title it; the first user message does; later ones do not.
    store.append(untitled.id, NewMessage::new(Role::System, "You are terse.")).expect("system");
    assert_eq!(store.get(untitled.id).expect("get").title, "");
    let long = "How do I share a SQLite database between the desktop app and the command line tool safely?";
    store.append(untitled.id, NewMessage::new(Role::User, long)).expect("user");
    assert_eq!(store.get(untitled.id).expect("get").title, "How do I share a SQLite database between the…");
    store.append(untitled.id, NewMessage::new(Role::User, "And on Windows?")).expect("user");
    assert_eq!(store.get(untitled.id).expect("get").title, "How do I share a SQLite database between the…");

    let short = store.create("").expect("create");
    store.append(short.id, NewMessage::new(Role::User, "Hello\n\nthere")).expect("user");
    assert_eq!(store.get(short.id).expect("get").title, "Hello there");

    let named = store.create("My title").expect("create");
    store.append(named.id, NewMessage::new(Role::User, "Something else")).expect("user");
    assert_eq!(store.get(named.id).expect("get").title, "My title");
}

#[test]
fn deleting_a_conversation_deletes_its_messages() {
    let (_dir, path, mut store) = open();
    let doomed = store.create("doomed").expect("create");
    let kept = store.create("kept").expect("create");
    for text in ["a", "b", "c"] {
        store.append(doomed.id, NewMessage::new(Role::User, text)).expect("append");
    }
    store.append(kept.id, NewMessage::new(Role::User, "stays")).expect("append");
    store.delete(doomed.id).expect("delete");
    drop(store);

    // Count the rows directly: the cascade must really have removed them, not just hidden them.
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0)).expect("count");
    assert_eq!(rows, 1);
    let orphans: i64 = conn
        .query_row("SELECT COUNT(*) FROM messages WHERE conversation_id = ?1", [doomed.id], |r| r.get(0))
        .expect("count");
    assert_eq!(orphans, 0);
    drop(conn);
    let store = ConversationStore::open(&path).expect("reopen");
    assert_eq!(store.messages(kept.id).expect("messages")[0].content, "stays");
}

#[test]
fn delete_from_removes_a_message_and_everything_after_it() {
    let (_dir, _path, mut store) = open();
    let chat = store.create("regenerate").expect("create");
    let other = store.create("other").expect("create");
    let q1 = store.append(chat.id, NewMessage::new(Role::User, "q1")).expect("q1");
    let a1 = store.append(chat.id, reply("a1")).expect("a1");
    let foreign = store.append(other.id, NewMessage::new(Role::User, "elsewhere")).expect("other");
    let q2 = store.append(chat.id, NewMessage::new(Role::User, "q2")).expect("q2");
    let a2 = store.append(chat.id, reply("a2")).expect("a2");
    assert!(foreign.id < q2.id, "the other conversation's message sits between, by id");

    // Regenerate the last answer.
    assert_eq!(store.delete_from(chat.id, a2.id).expect("delete a2"), 1);
    let a2b = store.append(chat.id, reply("a2, again")).expect("a2 again");
    assert!(a2b.id > a2.id, "ids are never reused");
    let contents: Vec<String> = store.messages(chat.id).expect("messages").into_iter().map(|m| m.content).collect();
    assert_eq!(contents, ["q1", "a1", "q2", "a2, again"]);

    // Edit an earlier question: it and all that follows go; the other conversation is untouched.
    assert_eq!(store.delete_from(chat.id, q2.id).expect("delete from q2"), 2);
    let ids: Vec<i64> = store.messages(chat.id).expect("messages").into_iter().map(|m| m.id).collect();
    assert_eq!(ids, [q1.id, a1.id]);
    assert_eq!(store.messages(other.id).expect("other").len(), 1);
    assert_eq!(store.list().expect("list")[0].id, chat.id, "deleting counts as a change");

    // A message of another conversation, or one already gone, is refused and named.
    let error = store.delete_from(chat.id, foreign.id).expect_err("foreign message");
    assert_eq!(error.to_string(), format!("message {} does not exist in conversation {}", foreign.id, chat.id));
    assert!(store.delete_from(chat.id, a2.id).is_err());
    assert_eq!(store.messages(other.id).expect("other").len(), 1);
}

#[test]
fn invalid_roles_are_named() {
    let error = "tool".parse::<Role>().expect_err("tool");
    assert_eq!(error.to_string(), "invalid role 'tool': expected system, user or assistant");
    assert!(matches!(error, ConversationError::InvalidRole { role } if role == "tool"));
    let error = serde_json::from_value::<NewMessage>(json!({"role": "tool", "content": "x"})).expect_err("json");
    assert!(error.to_string().contains("unknown variant `tool`"), "{error}");
    assert_eq!(Role::User.to_string(), "user");
}

#[test]
fn data_survives_reopening() {
    let (_dir, path, mut store) = open();
    let chat = store.create("persisted").expect("create");
    let answer = store.append(chat.id, reply("kept")).expect("append");
    drop(store);
    let store = ConversationStore::open(&path).expect("reopen");
    assert_eq!(store.messages(chat.id).expect("messages"), [answer]);
    assert_eq!(store.list().expect("list")[0].title, "persisted");
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let (_dir, path, store) = open();
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("bump");
    drop(conn);

    let error = ConversationStore::open(&path).expect_err("newer schema");
    assert!(!error.is_corrupt(), "a newer file is not damaged and must not be moved aside");
    assert_eq!(
        error.to_string(),
        format!(
            "the conversation database {} has schema version 2, newer than this Onyx understands (1)",
            path.display()
        )
    );
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(version, SCHEMA_VERSION + 1, "the file was not touched");
}

#[test]
fn a_garbage_file_is_a_clear_error_and_can_be_moved_aside() {
    let dir = tempfile::tempdir().expect("temp dir");
    let random: Vec<u8> = (0u32..8192).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let text = b"this is not a database, just some text that is long enough to matter....".to_vec();
    for (name, bytes) in [("random.sqlite", random), ("text.sqlite", text)] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write garbage");
        let error = ConversationStore::open(&path).expect_err("garbage");
        assert!(error.is_corrupt(), "{name}: {error}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("cannot open the conversation database {}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("not a database"), "{message}");

        let moved = quarantine_database(&path).expect("quarantine");
        assert_eq!(std::fs::read(&moved).expect("read moved"), bytes, "{name}: bytes kept");
        let fresh = ConversationStore::open(&path).expect("a fresh database in its place");
        assert!(fresh.list().expect("list").is_empty());
    }
}

#[test]
fn quarantine_moves_the_wal_with_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("conversations.sqlite");
    std::fs::write(&path, b"main").expect("main");
    std::fs::write(dir.path().join("conversations.sqlite-wal"), b"wal").expect("wal");
    let moved = quarantine_database(&path).expect("quarantine");
    let mut wal = moved.clone().into_os_string();
    wal.push("-wal");
    assert_eq!(std::fs::read(&wal).expect("moved wal"), b"wal");
    assert!(!dir.path().join("conversations.sqlite-wal").exists());
    assert!(!path.exists());
}
