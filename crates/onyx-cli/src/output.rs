//! Standard output for `--json`: the JSON document and nothing else. Native libraries write to
//! the process's stdout on their own (QNN's HTP backend prints its thread-local configuration
//! when it loads), which would corrupt the document for whoever parses it. So with `--json`, the
//! process's stdout is pointed at stderr, where such noise belongs, and the document alone goes
//! to the stdout the caller gave.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The caller's stdout, kept aside by [`keep_stdout_for_json`].
static JSON_OUT: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

/// From now on, what anything writes to stdout goes to stderr, except [`print_json`]. Call it
/// once, before ONNX Runtime loads.
#[cfg(unix)]
pub fn keep_stdout_for_json() {
    use std::os::fd::FromRawFd;
    // SAFETY: `dup` and `dup2` only copy file descriptors; 1 and 2 are open in any process that
    // can print at all, and the copy of 1 is owned by the `File` made from it, nowhere else.
    unsafe {
        let saved = libc::dup(1);
        if saved < 0 {
            return;
        }
        if libc::dup2(2, 1) < 0 {
            libc::close(saved);
            return;
        }
        let _ = JSON_OUT.set(Mutex::new(std::fs::File::from_raw_fd(saved)));
    }
}

/// Windows: no library Onyx loads there prints to stdout, so it stays as it is.
#[cfg(not(unix))]
pub fn keep_stdout_for_json() {}

/// Prints `document` and a newline to the caller's stdout.
pub fn print_json(document: &str) -> std::io::Result<()> {
    match JSON_OUT.get() {
        Some(out) => {
            let mut out = out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            writeln!(out, "{document}")?;
            out.flush()
        }
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{document}")?;
            out.flush()
        }
    }
}
