//! `onyx index` and `onyx search` as a user runs them, including being killed.
//!
//! The crash test SIGKILLs the indexer at several points of a run, restarts it each time, and
//! checks that the final index equals the index of one uninterrupted run and passes SQLite's and
//! FTS5's integrity checks. The corpus is real: chapters of the Rust Book installed with the
//! toolchain. These tests need `scripts/setup.sh` (runtime and default models); they fail, not
//! skip, without it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rusqlite::Connection;
use serde_json::Value;

fn rust_book() -> PathBuf {
    let output = Command::new("rustc").args(["--print", "sysroot"]).output().expect("running rustc");
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let book = PathBuf::from(sysroot).join("share/doc/rust/html/book");
    assert!(
        book.join("ch04-01-what-is-ownership.html").is_file(),
        "the Rust Book is missing at {}: run `rustup component add rust-docs`",
        book.display()
    );
    book
}

fn onyx() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onyx"));
    command.env_remove("ORT_DYLIB_PATH").env_remove("ONYX_RUNTIME").env_remove("ONYX_INDEX");
    command
}

fn run(args: &[&str]) -> Output {
    onyx().args(args).output().expect("run onyx")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A corpus of `n` Rust Book chapters, copied so the test owns the files.
fn corpus(dir: &Path, n: usize) -> PathBuf {
    let book = rust_book();
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).expect("corpus dir");
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&book)
        .expect("reading the book")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ch0")))
        .collect();
    chapters.sort();
    for chapter in chapters.iter().take(n) {
        std::fs::copy(chapter, corpus.join(chapter.file_name().expect("name"))).expect("copy chapter");
    }
    corpus
}

/// Everything the index holds that a user could see, in a stable order: files, their status and
/// reason, chunks with ranges and text, and the int8 vectors.
#[derive(Debug, PartialEq)]
struct Snapshot {
    documents: Vec<DocumentRow>,
    chunks: Vec<ChunkRow>,
    vectors: Vec<(Vec<u8>, i64, Vec<i8>)>,
}

/// Path, size, status, reason, content hash.
type DocumentRow = (String, i64, String, Option<String>, Option<Vec<u8>>);
/// Content hash, order, byte start and end, heading, text.
type ChunkRow = (Vec<u8>, i64, i64, i64, String, String);

fn snapshot(db: &Path) -> Snapshot {
    let conn = Connection::open(db).expect("open index");
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(integrity, "ok", "{}", db.display());
    conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)", [])
        .expect("the full-text index matches the chunks");
    let documents = conn
        .prepare(
            "SELECT d.path, d.size, d.status, d.reason, c.hash FROM documents d LEFT JOIN contents c ON c.id = d.content_id
             ORDER BY d.path",
        )
        .expect("query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .expect("documents")
        .collect::<Result<_, _>>()
        .expect("rows");
    let chunks = conn
        .prepare(
            "SELECT c.hash, k.ord, k.byte_start, k.byte_end, k.heading, k.text FROM chunks k JOIN contents c ON c.id = k.content_id
             ORDER BY c.hash, k.ord",
        )
        .expect("query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .expect("chunks")
        .collect::<Result<_, _>>()
        .expect("rows");
    let vectors = conn
        .prepare(
            "SELECT c.hash, k.ord, e.vector FROM embeddings e JOIN chunks k ON k.id = e.chunk_id
             JOIN contents c ON c.id = k.content_id ORDER BY c.hash, k.ord",
        )
        .expect("query")
        .query_map([], |r| {
            let bytes: Vec<u8> = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, bytes.into_iter().map(|b| b as i8).collect()))
        })
        .expect("vectors")
        .collect::<Result<_, _>>()
        .expect("rows");
    Snapshot { documents, chunks, vectors }
}

/// Runs `onyx index add` and SIGKILLs it once its progress shows `kill_at` files done (0: as soon
/// as it prints anything). Returns whether it was killed before finishing.
fn index_and_kill(corpus: &Path, db: &Path, kill_at: u64) -> bool {
    let mut child = onyx()
        .args(["index", "add"])
        .arg(corpus)
        .arg("--db")
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn onyx index add");
    let reader = BufReader::new(child.stderr.take().expect("stderr"));
    for line in reader.lines() {
        let line = line.expect("progress line");
        // "indexing: 12/30 files, ..." (not a terminal: one line per report).
        let done =
            line.split_once(": ").and_then(|(_, rest)| rest.split_once('/')).and_then(|(n, _)| n.parse::<u64>().ok());
        if line.starts_with("done") {
            break;
        }
        if done.is_some_and(|d| d >= kill_at) {
            // Child::kill is SIGKILL on Unix: no destructor, no rollback handler runs.
            child.kill().expect("kill");
            child.wait().expect("wait");
            return true;
        }
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "onyx index add failed");
    false
}

#[test]
fn a_killed_indexer_resumes_and_ends_with_the_same_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = corpus(dir.path(), 24);

    let reference = dir.path().join("reference.sqlite");
    assert!(!index_and_kill(&corpus, &reference, u64::MAX), "an uninterrupted run finishes");
    let expected = snapshot(&reference);
    assert_eq!(expected.documents.len(), 24);
    assert!(expected.chunks.len() > 100, "the chapters make many chunks: {}", expected.chunks.len());

    let crashed = dir.path().join("crashed.sqlite");
    let mut kills = 0;
    for kill_at in [0, 3, 9, 16] {
        kills += usize::from(index_and_kill(&corpus, &crashed, kill_at));
        // Whatever was committed before the kill is a consistent index.
        let partial = snapshot(&crashed);
        assert!(partial.documents.len() <= 24);
    }
    assert!(kills >= 3, "the indexer was killed mid-run at least three times ({kills})");
    assert!(!index_and_kill(&corpus, &crashed, u64::MAX), "the last run finishes");
    let resumed = snapshot(&crashed);

    assert_eq!(resumed.documents, expected.documents);
    assert_eq!(resumed.chunks, expected.chunks);
    // Each file is embedded alone, so restarts change no batch: the int8 vectors agree to the
    // last step (one step of slack for a floating-point rounding at a quantization boundary).
    assert_eq!(resumed.vectors.len(), expected.vectors.len());
    for (a, b) in resumed.vectors.iter().zip(&expected.vectors) {
        assert_eq!((&a.0, a.1), (&b.0, b.1));
        assert!(
            a.2.iter().zip(&b.2).all(|(x, y)| (i16::from(*x) - i16::from(*y)).abs() <= 1),
            "vector {} differs",
            a.1
        );
    }
}

#[test]
fn index_search_and_status_through_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = corpus(dir.path(), 12);
    std::fs::write(corpus.join("notes.bin"), [0u8, 1, 2, 3]).expect("write");
    let db = dir.path().join("index.sqlite");
    let db_arg = db.to_str().expect("utf-8 path");

    let output = run(&["index", "add", corpus.to_str().expect("utf-8"), "--db", db_arg, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("report JSON");
    assert_eq!(report["indexed"], 12);
    assert_eq!(report["skipped"], 1);

    let output = run(&["search", "can I change a variable after I declared it", "--db", db_arg, "--json", "-k", "3"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let results: Value = serde_json::from_slice(&output.stdout).expect("search JSON");
    let results = results["results"].as_array().expect("results array");
    assert!(!results.is_empty() && results.len() <= 3);
    let top = &results[0];
    assert!(top["path"].as_str().is_some_and(|p| p.ends_with("ch03-01-variables-and-mutability.html")), "{top}");
    assert!(top["score"].as_f64().is_some_and(|s| s > 0.0));
    assert!(top["snippet"].as_str().is_some_and(|s| !s.is_empty()));

    let output = run(&["index", "status", "--db", db_arg, "--json"]);
    let status: Value = serde_json::from_slice(&output.stdout).expect("status JSON");
    assert_eq!(status["counts"]["documents"], 12);
    let skipped = status["skipped"].as_array().expect("skipped");
    assert!(skipped[0]["reason"].as_str().is_some_and(|r| r.contains(".bin files")), "{skipped:?}");

    let output = run(&["index", "remove", corpus.to_str().expect("utf-8"), "--db", db_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&["search", "mutable variables", "--db", db_arg]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("nothing relevant found"));

    // Bad input: one error line naming the value.
    let output = run(&["index", "add", "/no/such/folder", "--db", db_arg]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("error: /no/such/folder: no such file or folder"), "{}", stderr(&output));
    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, "not a database at all, just words, but long enough to look like a file".repeat(10))
        .expect("write");
    let output = run(&["index", "status", "--db", garbage.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("garbage.sqlite"), "{}", stderr(&output));
}
