//! Finds the files of a source: a folder walked recursively, or a single file.
//!
//! What flows in: a path and the walk settings. What flows out: candidate files with their size
//! and modification time, and skipped paths with the reason each was skipped.
//!
//! The walk uses ripgrep's `ignore` crate, so `.gitignore`, `.ignore` and Onyx's own
//! `.onyxignore` files apply the way developers expect (also outside git repositories), and hidden
//! files and folders are left out. Those exclusions are the user's own rules and are not reported.
//! Everything else that is not indexed (an unsupported type, a file over the size limit, an
//! unreadable folder, a symlink loop) is reported as a [`WalkItem::Skipped`], so the app can show
//! why a file is missing.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::extract::{Format, format_for};

/// Ignore files read in every folder, besides `.gitignore` and `.ignore`.
pub const IGNORE_FILE: &str = ".onyxignore";

/// Default size limit: larger files are rarely prose, and would hold the indexer for minutes.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// How a source is walked.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Files larger than this are skipped (the user sees the size and the limit).
    pub max_file_bytes: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions { max_file_bytes: DEFAULT_MAX_FILE_BYTES }
    }
}

/// One thing the walk found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalkItem {
    /// A file to index.
    File(FoundFile),
    /// A path that will not be indexed, and why.
    Skipped {
        /// The file or folder.
        path: PathBuf,
        /// Shown to the user as is.
        reason: String,
        /// Its size, when it is a file whose size is known.
        size: u64,
        /// Its modification time, when known (0 otherwise).
        mtime_ns: i64,
    },
}

/// A file the walk accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundFile {
    /// The file.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// How it will be read.
    pub format: Format,
}

/// Modification time of a file's metadata, in nanoseconds since the epoch (0 when the platform
/// cannot say, which only makes the hash check decide).
pub fn mtime_ns(metadata: &std::fs::Metadata) -> i64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

/// A size for people: "2.0 GB", "512 KB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for name in UNITS {
        value /= 1024.0;
        unit = name;
        if value < 1024.0 {
            break;
        }
    }
    format!("{value:.1} {unit}")
}

/// Classifies one file by type and size.
pub fn classify(path: &Path, metadata: &std::fs::Metadata, options: &WalkOptions) -> WalkItem {
    let size = metadata.len();
    let mtime_ns = mtime_ns(metadata);
    let skipped = |reason: String| WalkItem::Skipped { path: path.to_path_buf(), reason, size, mtime_ns };
    let Some(format) = format_for(path) else {
        let kind = path.extension().map_or_else(
            || "files without an extension".to_owned(),
            |e| format!(".{} files", e.to_string_lossy().to_lowercase()),
        );
        return skipped(format!("unsupported type: {kind} are not read"));
    };
    if size > options.max_file_bytes {
        return skipped(format!(
            "too large: {} is over the {} limit",
            human_size(size),
            human_size(options.max_file_bytes)
        ));
    }
    WalkItem::File(FoundFile { path: path.to_path_buf(), size, mtime_ns, format })
}

/// Walks `root` and calls `visit` for each item, in a stable (sorted) order so that runs over
/// the same tree do the same work in the same order. Stops early when `visit` returns false.
pub fn walk(root: &Path, options: &WalkOptions, mut visit: impl FnMut(WalkItem) -> bool) {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .ignore(true)
        // A folder of notes is rarely a git repository; its .gitignore still says what is noise.
        .require_git(false)
        // The user's global git excludes describe their repositories, not their documents.
        .git_global(false)
        // Rules of folders above the source belong to another tree.
        .parents(false)
        // Follow links to reach documents kept elsewhere; the walker detects loops.
        .follow_links(true)
        .sort_by_file_name(|a, b| a.cmp(b));
    builder.add_custom_ignore_filename(IGNORE_FILE);
    for entry in builder.build() {
        let item = match entry {
            Ok(entry) => {
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                match entry.metadata() {
                    Ok(metadata) => classify(entry.path(), &metadata, options),
                    Err(error) => WalkItem::Skipped {
                        path: entry.path().to_path_buf(),
                        reason: describe(&error),
                        size: 0,
                        mtime_ns: 0,
                    },
                }
            }
            Err(error) => {
                let path = error_path(&error).unwrap_or_else(|| root.to_path_buf());
                WalkItem::Skipped { path, reason: describe(&error), size: 0, mtime_ns: 0 }
            }
        };
        if !visit(item) {
            return;
        }
    }
}

/// The path an `ignore` error is about, if it names one.
fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        ignore::Error::Partial(errors) => errors.iter().find_map(error_path),
        _ => None,
    }
}

/// An `ignore` error as a reason for the user, without the path (shown beside it anyway).
fn describe(error: &ignore::Error) -> String {
    match error {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => describe(err),
        ignore::Error::Loop { ancestor, .. } => {
            format!("symlink loop: it leads back to {}", ancestor.display())
        }
        ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => "does not exist".to_owned(),
        ignore::Error::Io(io) => unreadable(io),
        other => format!("unreadable: {other}"),
    }
}

/// The skip reason for a file or folder that could not be read, worded the same wherever the
/// failure was met (walking, or reading the file later), so the app groups them as one.
pub(crate) fn unreadable(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::PermissionDenied => "unreadable: permission denied".to_owned(),
        _ => format!("unreadable: {error}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn collect(root: &Path, options: &WalkOptions) -> (Vec<String>, Vec<(String, String)>) {
        let (mut files, mut skips) = (Vec::new(), Vec::new());
        walk(root, options, |item| {
            match item {
                WalkItem::File(f) => files.push(f.path.strip_prefix(root).unwrap().display().to_string()),
                WalkItem::Skipped { path, reason, .. } => {
                    skips.push((path.strip_prefix(root).unwrap_or(&path).display().to_string(), reason))
                }
            }
            true
        });
        (files, skips)
    }

    #[test]
    fn ignore_rules_hidden_folders_types_and_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, body) in [
            ("notes.md", "# hi"),
            ("b/readme.txt", "x"),
            ("b/build/out.txt", "ignored by .gitignore"),
            ("b/.gitignore", "build/\n"),
            (".hidden/secret.md", "hidden"),
            ("c/draft.md", "ignored by .onyxignore"),
            ("c/.onyxignore", "draft.md\n"),
            ("photo.png", "binary"),
            ("big.txt", &"x".repeat(2000)),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), body).unwrap();
        }
        let (files, skips) = collect(root, &WalkOptions { max_file_bytes: 1000 });
        assert_eq!(files, ["b/readme.txt", "notes.md"]);
        assert_eq!(skips.len(), 2, "{skips:?}");
        assert!(skips.iter().any(|(p, r)| p == "big.txt" && r.contains("over the 1000 bytes limit")), "{skips:?}");
        assert!(skips.iter().any(|(p, r)| p == "photo.png" && r.contains(".png files")), "{skips:?}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_and_missing_paths_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/doc.txt"), "text").unwrap();
        std::os::unix::fs::symlink(root, root.join("a/loop")).unwrap();
        let (files, skips) = collect(root, &WalkOptions::default());
        assert_eq!(files, ["a/doc.txt"]);
        assert!(skips.iter().any(|(p, r)| p == "a/loop" && r.starts_with("symlink loop")), "{skips:?}");

        let missing = root.join("nope");
        let (files, skips) = collect(&missing, &WalkOptions::default());
        assert!(files.is_empty());
        assert_eq!(skips, [(String::new(), "does not exist".to_owned())]);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(2 * 1024 * 1024 * 1024), "2.0 GB");
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(32 * 1024 * 1024), "32.0 MB");
    }
}
