//! Watches the sources' folders and says which sources changed, once the changes settle.
//!
//! What flows in: the source paths and a callback. What flows out: calls of the callback with
//! the sources that saw changes, at most one call per quiet period.
//!
//! The watcher does not decide what to re-index file by file: the caller re-runs the indexer
//! on the changed sources. That run is incremental (a stat per file, content work only for what
//! changed), applies the same ignore rules as the first walk, and notices deletions and renames,
//! so the watcher stays small and cannot disagree with the indexer.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::RecursiveMode;

/// Quiet time after the last change before the sources are reported: editors save in bursts.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(2);

/// Watcher failures.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The platform's file-notification service failed.
    #[error("cannot watch {path}: {reason}")]
    Watch {
        /// The folder.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
}

/// A running watcher; dropping it stops watching.
pub struct FolderWatcher {
    // Dropped first: that closes the event channel, which ends the worker.
    watcher: Option<notify::RecommendedWatcher>,
    worker: Option<JoinHandle<()>>,
}

impl FolderWatcher {
    /// Starts watching `sources` (folders recursively, files alone). `on_change` runs on the
    /// watcher's own thread with the sources that changed.
    pub fn start(
        sources: &[PathBuf],
        debounce: Duration,
        mut on_change: impl FnMut(Vec<PathBuf>) + Send + 'static,
    ) -> Result<Self, WatchError> {
        let (sender, receiver) = mpsc::channel::<PathBuf>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                // Reads and metadata-only events change nothing the index cares about.
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    return;
                }
                for path in event.paths {
                    let _ = sender.send(path);
                }
            }
        })
        .map_err(|e| WatchError::Watch { path: PathBuf::new(), reason: e.to_string() })?;
        for source in sources {
            watch_source(&mut watcher, source)?;
        }
        let sources = sources.to_vec();
        let worker = std::thread::Builder::new()
            .name("onyx-docs-watch".into())
            .spawn(move || {
                let mut debouncer = Debouncer::new(debounce);
                loop {
                    match receiver.recv_timeout(debouncer.wait(Instant::now())) {
                        Ok(path) => {
                            if let Some(source) = owning_source(&sources, &path).filter(|_| !is_hidden(&sources, &path))
                            {
                                debouncer.change(source, Instant::now());
                            }
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                    if let Some(changed) = debouncer.due(Instant::now()) {
                        on_change(changed);
                    }
                }
            })
            .map_err(|e| WatchError::Watch { path: PathBuf::new(), reason: e.to_string() })?;
        Ok(FolderWatcher { watcher: Some(watcher), worker: Some(worker) })
    }
}

impl Drop for FolderWatcher {
    fn drop(&mut self) {
        drop(self.watcher.take());
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The sources changed since the last report, and when the last change came: a report is due
/// once `quiet` has passed without one. Time is passed in, so the rule is tested without clocks.
struct Debouncer {
    quiet: Duration,
    pending: BTreeSet<PathBuf>,
    last_change: Option<Instant>,
}

impl Debouncer {
    fn new(quiet: Duration) -> Self {
        Debouncer { quiet, pending: BTreeSet::new(), last_change: None }
    }

    /// `source` changed at `now`.
    fn change(&mut self, source: &Path, now: Instant) {
        self.pending.insert(source.to_path_buf());
        self.last_change = Some(now);
    }

    /// How long to wait for the next change: until the pending report is due, or long.
    fn wait(&self, now: Instant) -> Duration {
        match self.last_change {
            Some(last) if !self.pending.is_empty() => (last + self.quiet).saturating_duration_since(now),
            _ => Duration::from_secs(3600),
        }
    }

    /// The sources to report at `now`, if the changes have settled.
    fn due(&mut self, now: Instant) -> Option<Vec<PathBuf>> {
        let settled = self.last_change.is_some_and(|last| now.saturating_duration_since(last) >= self.quiet);
        if self.pending.is_empty() || !settled {
            return None;
        }
        self.last_change = None;
        Some(std::mem::take(&mut self.pending).into_iter().collect())
    }
}

/// Watches one source: a folder with everything under it, or a file alone.
fn watch_source(watcher: &mut impl notify::Watcher, source: &Path) -> Result<(), WatchError> {
    let failed = |e: notify::Error| WatchError::Watch { path: source.to_path_buf(), reason: e.to_string() };
    if !source.is_dir() {
        return watcher.watch(source, RecursiveMode::NonRecursive).map_err(failed);
    }
    if watcher.watch(source, RecursiveMode::Recursive).is_ok() {
        return Ok(());
    }
    // A recursive watch fails whole when any folder inside cannot be watched (on Linux, one
    // folder the user may not read). Those folders are skipped as unreadable by the indexer
    // anyway, so the rest is watched folder by folder. A folder created later is not watched
    // itself, but creating it changes its parent, which re-indexes the source.
    watcher.watch(source, RecursiveMode::NonRecursive).map_err(failed)?;
    let mut folders = vec![source.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            // `file_type` does not follow symlinks, so a link loop cannot trap the walk.
            if hidden || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            if watcher.watch(&path, RecursiveMode::NonRecursive).is_ok() {
                folders.push(path);
            }
        }
    }
    Ok(())
}

/// The source a changed path belongs to (the innermost, if sources nest).
fn owning_source<'a>(sources: &'a [PathBuf], path: &Path) -> Option<&'a Path> {
    sources.iter().filter(|s| path.starts_with(s)).max_by_key(|s| s.as_os_str().len()).map(PathBuf::as_path)
}

/// Changes under hidden folders (`.git`, editor state) are never indexed, so they are not
/// worth a re-index.
fn is_hidden(sources: &[PathBuf], path: &Path) -> bool {
    let relative = owning_source(sources, path).and_then(|s| path.strip_prefix(s).ok()).unwrap_or(path);
    relative.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_burst_is_one_report_and_a_later_change_another() {
        let quiet = Duration::from_secs(2);
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let (a, b) = (Path::new("/docs/a"), Path::new("/docs/b"));
        let mut debouncer = Debouncer::new(quiet);
        assert_eq!(debouncer.due(at(0)), None, "nothing changed");
        assert_eq!(debouncer.wait(at(0)), Duration::from_secs(3600));
        // An editor's save: three writes 0.5 s apart, in two sources.
        debouncer.change(a, at(0));
        debouncer.change(a, at(500));
        debouncer.change(b, at(1000));
        // Each change restarts the quiet period: the first writes alone are never reported.
        assert_eq!(debouncer.due(at(2100)), None, "quiet only since 1000 ms");
        assert_eq!(debouncer.wait(at(2100)), Duration::from_millis(900));
        assert_eq!(debouncer.due(at(3000)), Some(vec![a.to_path_buf(), b.to_path_buf()]), "one report for the burst");
        assert_eq!(debouncer.due(at(9000)), None, "and only one");
        // A change after the report is a report of its own, of that source only.
        debouncer.change(b, at(10_000));
        assert_eq!(debouncer.due(at(11_000)), None);
        assert_eq!(debouncer.due(at(12_000)), Some(vec![b.to_path_buf()]));
    }

    #[test]
    fn changes_are_reported_per_source_once_they_settle() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let (sender, receiver) = mpsc::channel();
        let _watcher = FolderWatcher::start(&[a.clone(), b.clone()], Duration::from_millis(300), move |changed| {
            let _ = sender.send(changed);
        })
        .unwrap();
        std::fs::create_dir_all(a.join(".git")).unwrap();
        std::fs::write(a.join(".git/index"), "hidden changes are not reported").unwrap();
        std::fs::write(a.join("one.md"), "# one").unwrap();
        std::fs::write(a.join("two.md"), "# two").unwrap();
        // How a burst becomes one report is pinned above, without a clock; here the real watcher
        // must report the changed source, and not the one with only hidden changes.
        let changed = receiver.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(changed, std::slice::from_ref(&a), "only source a");
        std::fs::remove_file(a.join("one.md")).unwrap();
        let changed = receiver.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(changed, [a]);
    }

    #[test]
    fn hidden_paths_are_recognised_relative_to_their_source() {
        let sources = [PathBuf::from("/home/u/.notes")];
        assert!(!is_hidden(&sources, Path::new("/home/u/.notes/todo.md")));
        assert!(is_hidden(&sources, Path::new("/home/u/.notes/.obsidian/x.json")));
    }
}
