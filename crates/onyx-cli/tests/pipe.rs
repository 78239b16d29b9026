//! `onyx` writing into a pipe whose reader stops early, as in `onyx index status | head -1`.
//!
//! The output must simply end: no "failed printing to stdout: Broken pipe" panic and no exit code
//! 101. The command used, `index status`, needs neither ONNX Runtime nor a model, and its index is
//! given so many sources that the listing overflows the pipe's buffer (64 KiB on Linux): the
//! program is then certainly still writing when the reader goes away.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use onyx_docs::store::Store;

/// Sources in the test index; with paths of about 130 bytes the listing is about 650 KB.
const SOURCES: usize = 5_000;

/// An index database whose `index status` prints one line per source.
fn index_with_many_sources(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("index.sqlite");
    let store = Store::open(&db).expect("open the test index");
    let padding = "a-folder-name-long-enough-to-fill-the-pipe-quickly/".repeat(2);
    for i in 0..SOURCES {
        store.add_source(&dir.join(format!("{padding}source-{i:05}"))).expect("add source");
    }
    db
}

/// Runs `onyx index status --db DB`, reads `lines` lines of its output (0: none) and closes the
/// pipe; returns how the program ended and what it wrote to stderr.
fn status_read_then_closed(db: &Path, lines: usize) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onyx"))
        .args(["index", "status", "--db"])
        .arg(db)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("ONYX_RUNTIME")
        .env_remove("ONYX_INDEX")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run onyx");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout);
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a line of output");
        assert!(!line.is_empty(), "onyx printed fewer than {lines} lines");
    }
    // Closing the only read end: every later write of the child fails with EPIPE.
    drop(reader);
    let mut stderr = String::new();
    child.stderr.take().expect("stderr is piped").read_to_string(&mut stderr).expect("read stderr");
    (child.wait().expect("wait for onyx"), stderr)
}

/// Ended quietly: success, or (on unix) the default action of SIGPIPE, as `cat` or `grep` end;
/// never a panic.
fn assert_quiet_end(status: ExitStatus, stderr: &str) {
    assert!(!stderr.contains("panicked"), "onyx panicked: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_ne!(status.code(), Some(101), "exit code of a panic; stderr: {stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.success() || status.signal() == Some(libc::SIGPIPE),
            "neither success nor SIGPIPE: {status}; stderr: {stderr}"
        );
    }
    #[cfg(not(unix))]
    assert!(status.success(), "{status}; stderr: {stderr}");
}

#[test]
fn a_reader_that_stops_after_one_line_ends_the_output_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = index_with_many_sources(dir.path());
    let (status, stderr) = status_read_then_closed(&db, 1);
    assert_quiet_end(status, &stderr);
}

#[test]
fn a_pipe_closed_before_any_output_ends_the_output_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = index_with_many_sources(dir.path());
    let (status, stderr) = status_read_then_closed(&db, 0);
    assert_quiet_end(status, &stderr);
}

#[test]
fn the_whole_listing_is_larger_than_a_pipe_buffer() {
    // Guards the tests above: with a listing that fits the buffer they would pass without a fix.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = index_with_many_sources(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_onyx"))
        .args(["index", "status", "--db"])
        .arg(&db)
        .env_remove("ONYX_INDEX")
        .output()
        .expect("run onyx");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.len() > 4 * 65_536, "only {} bytes", output.stdout.len());
}
