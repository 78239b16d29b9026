//! The documents domain: the index database (onyx-docs) in the app data folder, index runs on a
//! worker, the folder watcher, search, and previews.
//!
//! - **One run at a time.** `documents_add` answers `busy` while a run is going. Runs the watcher
//!   asks for while one is going are queued and done by the same worker afterwards.
//! - **Runs never block the window's reads.** Each run opens its own connection to the database
//!   (SQLite in WAL mode: one writer, many readers), so `documents_status`, search and previews
//!   go on during a long run; the embedding model's lock is taken per batch, so chat and search
//!   interleave with indexing.
//! - **Cancellable.** `documents_cancel` trips the run's [`CancelToken`], which the indexer
//!   checks between files and which stops an embedding batch in flight; what was written stays.
//! - **Changes while the app runs** are picked up by [`FolderWatcher`], which re-runs the
//!   (incremental) indexer on the sources that changed; changes made while the app was closed
//!   are picked up by one incremental pass over every source once the embedding model has loaded.
//! - A damaged database is moved aside and a fresh one started ([`open_index`]), as for
//!   conversations; previews are the engine's ([`preview`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use onyx_docs::index::{IndexOptions, Phase, Progress, index_path, remove_source};
use onyx_docs::search::{SearchError, SearchOptions, SearchResponse, Searcher};
use onyx_docs::store::{IndexCounts, Skip, Source, Store, StoreError};
use onyx_docs::walk::WalkOptions;
use onyx_docs::watch::{DEFAULT_DEBOUNCE, FolderWatcher};
use onyx_engine::documents::EngineEmbedder;
use onyx_engine::index_db::open_index;
use onyx_engine::preview::{Preview, PreviewError, preview};
use onyx_engine::{CancelToken, Engine};
use serde::Serialize;
use tauri::AppHandle;
use ts_rs::TS;

use crate::error::{Error, ErrorBody};
use crate::events;
use crate::models::{ModelsState, panic_message};
use crate::notices::Notices;
use crate::settings::SettingsState;
use onyx_convert::manifest::ModelKind;

/// Skipped files listed in the status (the count has them all).
const MAX_SKIPS_LISTED: usize = 1000;
/// Most results a search may ask for.
const MAX_RESULTS: usize = 50;
/// Longest query accepted; the search itself reads only its beginning.
const MAX_QUERY_CHARS: usize = 10_000;

/// The reply of `documents_status`.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DocumentsStatus {
    /// What is indexed.
    pub counts: IndexCounts,
    /// The folders and files added.
    pub sources: Vec<Source>,
    /// Skipped files with their reasons (at most 1000; `counts.skipped` has the total).
    pub skipped: Vec<Skip>,
    /// The run going on, if any.
    pub indexing: Option<Progress>,
    /// The last run's failure, until the next run the user starts.
    pub error: Option<ErrorBody>,
    /// The `seq` of the last `index-progress` event sent before this status was read. A status
    /// answer can reach the window after newer events; one with a lower `seq` than an event the
    /// window has seen must not put its older `indexing` back on screen.
    pub progress_seq: u64,
}

/// Payload of `index-progress`: the run's [`Progress`] with a sequence number.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(rename = "IndexProgressEvent")]
#[serde(rename_all = "camelCase")]
pub struct IndexProgress {
    /// Counts up by one per event, over the whole run of the app.
    pub seq: u64,
    /// Where the run is.
    #[serde(flatten)]
    pub progress: Progress,
}

/// Who started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// `documents_add`: refused while a run is going.
    User,
    /// The watcher or the start-up pass: queued while a run is going.
    Background,
}

/// The run going on.
struct CurrentRun {
    cancel: CancelToken,
    source: PathBuf,
    progress: Option<Progress>,
}

#[derive(Default)]
struct Runs {
    current: Option<CurrentRun>,
    queue: Vec<PathBuf>,
    last_error: Option<ErrorBody>,
    /// The last `index-progress` sequence number given out.
    progress_seq: u64,
}

/// The documents state. Cheap to clone.
#[derive(Clone)]
pub struct DocumentsState {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppHandle,
    models: ModelsState,
    settings: SettingsState,
    notices: Notices,
    db_path: PathBuf,
    /// The commands' connection (status, removal, previews). Lock order: `runs` before `store`;
    /// `searcher` is taken with neither held.
    store: Mutex<Result<Store, String>>,
    /// The vectors, kept between searches; reloaded when the index changed.
    searcher: Mutex<Searcher>,
    runs: Mutex<Runs>,
    watcher: Mutex<Option<FolderWatcher>>,
}

/// How commands receive the documents state.
pub type DocumentsHandle<'a> = tauri::State<'a, DocumentsState>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The store rolls back unfinished transactions, and the rest is replaced whole.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An absolute path from the UI, or `invalid_request`.
fn absolute(path: &str) -> Result<PathBuf, Error> {
    let path = PathBuf::from(path.trim());
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(Error::InvalidRequest(format!("'{}' is not an absolute path", path.display())))
    }
}

impl DocumentsState {
    /// Opens the index at `db_path` (see [`open_index`]); nothing runs until
    /// [`DocumentsState::start_background`].
    pub fn open(
        app: AppHandle,
        models: ModelsState,
        settings: SettingsState,
        notices: Notices,
        db_path: PathBuf,
    ) -> Self {
        let (store, notice) = open_index(&db_path);
        if let Some(notice) = notice {
            notices.push(notice);
        }
        DocumentsState {
            inner: Arc::new(Inner {
                app,
                models,
                settings,
                notices,
                db_path,
                store: Mutex::new(store),
                searcher: Mutex::new(Searcher::new()),
                runs: Mutex::new(Runs::default()),
                watcher: Mutex::new(None),
            }),
        }
    }

    /// Runs `f` on a blocking worker: the commands' way in for calls that read the index or
    /// embed (they may take a while, and must not hold an async runtime thread).
    pub async fn on_worker<R: Send + 'static>(
        &self,
        task: &'static str,
        f: impl FnOnce(&DocumentsState) -> Result<R, Error> + Send + 'static,
    ) -> Result<R, Error> {
        let state = self.clone();
        tauri::async_runtime::spawn_blocking(move || f(&state)).await.map_err(Error::worker(task))?
    }

    fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> Result<R, Error>) -> Result<R, Error> {
        let mut guard = lock(&self.inner.store);
        match guard.as_mut() {
            Ok(store) => f(store),
            Err(reason) => Err(Error::Documents(reason.clone())),
        }
    }

    /// Whether the index opened (`documents` with the reason if not).
    pub fn available(&self) -> Result<(), Error> {
        self.with_store(|_| Ok(()))
    }

    /// Runs `f` with the index, for searches and answers from documents. It gets a connection
    /// of its own, so a long answer does not hold up the panel's status; the searcher (the
    /// vectors in memory) is shared, so a second search waits for the first.
    pub fn with_index<R>(&self, f: impl FnOnce(&Store, &mut Searcher) -> R) -> Result<R, Error> {
        self.available()?;
        let store = Store::open(&self.inner.db_path).map_err(|e| Error::Documents(e.to_string()))?;
        let mut searcher = lock(&self.inner.searcher);
        Ok(f(&store, &mut searcher))
    }

    /// The sources that still exist on disk.
    fn existing_sources(&self) -> Vec<PathBuf> {
        self.with_store(|store| store.sources().map_err(|e| Error::Documents(e.to_string())))
            .unwrap_or_default()
            .into_iter()
            .map(|source| source.path)
            .filter(|path| path.exists())
            .collect()
    }

    /// Once the embedding model has loaded: watch the sources, and catch up on what changed
    /// while the app was closed.
    pub fn start_background(&self) {
        self.restart_watcher();
        let sources = self.existing_sources();
        if !sources.is_empty()
            && let Err(error) = self.start(sources, Trigger::Background)
        {
            eprintln!("onyx-app: the start-up index pass did not run: {error}");
        }
    }

    /// `documents_status`.
    pub fn status(&self) -> Result<DocumentsStatus, Error> {
        let documents = |e: StoreError| Error::Documents(e.to_string());
        let (counts, sources, skipped) = self.with_store(|store| {
            Ok((
                store.counts().map_err(documents)?,
                store.sources().map_err(documents)?,
                store.skips(None, MAX_SKIPS_LISTED).map_err(documents)?,
            ))
        })?;
        let runs = lock(&self.inner.runs);
        let indexing =
            runs.current.as_ref().map(|run| run.progress.clone().unwrap_or_else(|| Progress::starting(&run.source)));
        Ok(DocumentsStatus {
            counts,
            sources,
            skipped,
            indexing,
            error: runs.last_error.clone(),
            progress_seq: runs.progress_seq,
        })
    }

    /// `documents_add`: checks the path, then indexes it on a worker.
    pub fn add(&self, path: &str) -> Result<(), Error> {
        let path = absolute(path)?;
        let shown = path.display();
        let metadata = std::fs::metadata(&path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => Error::Documents(format!("{shown}: no such file or folder")),
            _ => Error::Documents(format!("{shown}: cannot be read: {error}")),
        })?;
        if metadata.is_dir() {
            std::fs::read_dir(&path).map_err(|error| Error::Documents(format!("{shown}: cannot be read: {error}")))?;
        }
        self.available()?;
        self.start(vec![path], Trigger::User)
    }

    /// `documents_remove`: drops a source and everything indexed from it.
    pub fn remove(&self, path: &str) -> Result<(), Error> {
        let path = absolute(path)?;
        {
            // Held while removing, so no run starts on the source being removed.
            let runs = lock(&self.inner.runs);
            if runs.current.is_some() {
                return Err(Error::Busy("an index run is going; cancel it or wait before removing a source".into()));
            }
            let removed =
                self.with_store(|store| remove_source(store, &path).map_err(|e| Error::Documents(e.to_string())))?;
            if !removed {
                return Err(Error::NotFound(format!("{} is not a source of the index", path.display())));
            }
        }
        self.restart_watcher();
        Ok(())
    }

    /// `documents_cancel`: stops the run going on (and the runs queued behind it).
    pub fn cancel(&self) -> Result<(), Error> {
        let mut runs = lock(&self.inner.runs);
        runs.queue.clear();
        if let Some(run) = &runs.current {
            run.cancel.cancel();
        }
        Ok(())
    }

    /// `documents_search` (blocking: call it on a worker).
    pub fn search(&self, query: &str, k: usize) -> Result<SearchResponse, Error> {
        if query.trim().is_empty() {
            return Err(Error::InvalidRequest("the search query is empty".into()));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::InvalidRequest(format!("a search query can have at most {MAX_QUERY_CHARS} characters")));
        }
        let engine = self.inner.models.ready(ModelKind::Embedding)?;
        let cancel = CancelToken::new().map_err(Error::from_engine)?;
        let settings = self.inner.settings.current();
        let options = SearchOptions {
            k: k.clamp(1, MAX_RESULTS),
            min_similarity: settings.documents.min_similarity,
            ..SearchOptions::default()
        };
        let mut embedder = EngineEmbedder::new(&engine, &cancel).map_err(Error::from_engine)?;
        self.with_index(|store, searcher| searcher.search(store, &mut embedder, query, &options))?.map_err(|error| {
            match error {
                SearchError::EmptyQuery => Error::InvalidRequest(error.to_string()),
                other => Error::Documents(other.to_string()),
            }
        })
    }

    /// `documents_preview` (blocking: call it on a worker).
    pub fn preview(&self, path: &str, lines: (usize, usize)) -> Result<Preview, Error> {
        let path = absolute(path)?;
        let max_bytes = self.inner.settings.current().documents.max_file_bytes();
        self.with_store(|store| {
            preview(store, &path, lines, max_bytes).map_err(|error| match error {
                PreviewError::BadRange(..) => Error::InvalidRequest(error.to_string()),
                PreviewError::NotIndexed(_) => Error::NotFound(error.to_string()),
                PreviewError::Store(message) => Error::Documents(message),
            })
        })
    }

    /// `documents_open` (blocking: call it on a worker). Only files in the index: the window
    /// cannot make the app open just any path.
    pub fn open_file(&self, path: &str) -> Result<(), Error> {
        let path = absolute(path)?;
        let indexed = self.with_store(|store| store.is_indexed(&path).map_err(|e| Error::Documents(e.to_string())))?;
        if !indexed {
            return Err(Error::NotFound(format!("{} is not in the index", path.display())));
        }
        crate::external::open_file(&path)
    }

    /// Starts a run over `sources` on a worker, or queues them (see [`Trigger`]).
    fn start(&self, sources: Vec<PathBuf>, trigger: Trigger) -> Result<(), Error> {
        let engine = self.inner.models.ready(ModelKind::Embedding)?;
        let mut runs = lock(&self.inner.runs);
        if runs.current.is_some() {
            if trigger == Trigger::User {
                return Err(Error::Busy("an index run is already going; wait for it or cancel it".into()));
            }
            for source in sources {
                if !runs.queue.contains(&source) {
                    runs.queue.push(source);
                }
            }
            return Ok(());
        }
        let cancel = CancelToken::new().map_err(Error::from_engine)?;
        let source = sources.first().cloned().unwrap_or_default();
        runs.current = Some(CurrentRun { cancel: cancel.clone(), source, progress: None });
        if trigger == Trigger::User {
            runs.last_error = None;
        }
        drop(runs);
        let state = self.clone();
        tauri::async_runtime::spawn_blocking(move || state.run(&engine, sources, &cancel));
        Ok(())
    }

    /// The worker: indexes `sources`, then whatever was queued meanwhile.
    fn run(&self, engine: &Engine, mut sources: Vec<PathBuf>, cancel: &CancelToken) {
        let sources_before = self.existing_sources();
        loop {
            for source in std::mem::take(&mut sources) {
                if cancel.is_cancelled() {
                    break;
                }
                if let Some(run) = lock(&self.inner.runs).current.as_mut() {
                    (run.source, run.progress) = (source.clone(), None);
                }
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.index_one(engine, &source, cancel)));
                let error = match outcome {
                    Ok(result) => result.err(),
                    Err(panic) => Some(Error::Documents(format!(
                        "indexing {} stopped unexpectedly: {}",
                        source.display(),
                        panic_message(panic.as_ref())
                    ))),
                };
                if let Some(error) = error {
                    eprintln!("onyx-app: {error}");
                    let body = ErrorBody::from(&error);
                    lock(&self.inner.runs).last_error = Some(body.clone());
                    events::emit(&self.inner.app, events::INDEX_ERROR, events::IndexError { source, error: body });
                }
            }
            let mut runs = lock(&self.inner.runs);
            if cancel.is_cancelled() || runs.queue.is_empty() {
                runs.queue.clear();
                runs.current = None;
                break;
            }
            sources = std::mem::take(&mut runs.queue);
        }
        if self.existing_sources() != sources_before {
            self.restart_watcher();
        }
    }

    /// Indexes one source with its own database connection.
    fn index_one(&self, engine: &Engine, source: &Path, cancel: &CancelToken) -> Result<(), Error> {
        let mut store = Store::open(&self.inner.db_path).map_err(|e| Error::Documents(e.to_string()))?;
        let mut embedder = EngineEmbedder::new(engine, cancel).map_err(Error::from_engine)?;
        let max_file_bytes = self.inner.settings.current().documents.max_file_bytes();
        let options = IndexOptions { walk: WalkOptions { max_file_bytes } };
        let mut on_progress = |progress: &Progress| {
            let seq = {
                let mut runs = lock(&self.inner.runs);
                if let Some(run) = runs.current.as_mut() {
                    run.progress = Some(progress.clone());
                }
                runs.progress_seq += 1;
                runs.progress_seq
            };
            // Sent after the lock is released; only this worker sends progress, so events still
            // leave in `seq` order.
            events::emit(&self.inner.app, events::INDEX_PROGRESS, IndexProgress { seq, progress: progress.clone() });
        };
        match index_path(&mut store, &mut embedder, source, &options, &|| cancel.is_cancelled(), &mut on_progress) {
            Ok(_) => Ok(()),
            // Cancelling mid-batch fails the embedding call; the run was stopped, not broken.
            Err(_) if cancel.is_cancelled() => {
                let last = lock(&self.inner.runs).current.as_ref().and_then(|run| run.progress.clone());
                let mut progress = last.unwrap_or_else(|| Progress::starting(source));
                (progress.phase, progress.current, progress.eta_seconds) = (Phase::Cancelled, None, None);
                on_progress(&progress);
                Ok(())
            }
            Err(error) => Err(Error::Documents(error.to_string())),
        }
    }

    /// Watches the current sources (replacing the previous watcher).
    fn restart_watcher(&self) {
        let sources = self.existing_sources();
        let mut watcher = lock(&self.inner.watcher);
        // Dropped first: it joins its thread, which must not see the new sources half-set.
        *watcher = None;
        if sources.is_empty() {
            return;
        }
        // Weak: the watcher lives inside the state, and must not keep it alive.
        let state = Arc::downgrade(&self.inner);
        let started = FolderWatcher::start(&sources, DEFAULT_DEBOUNCE, move |changed| {
            if let Some(inner) = state.upgrade()
                && let Err(error) = (DocumentsState { inner }).start(changed, Trigger::Background)
            {
                eprintln!("onyx-app: changed documents were not re-indexed: {error}");
            }
        });
        match started {
            Ok(started) => *watcher = Some(started),
            Err(error) => self.inner.notices.push(format!(
                "Onyx cannot watch your document folders for changes ({error}); add a folder again to refresh it."
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_the_window_must_be_absolute() {
        assert!(absolute("relative/docs").is_err_and(|e| e.code() == "invalid_request"));
        assert!(absolute("").is_err());
        let root = if cfg!(windows) { "C:\\docs" } else { "/docs" };
        assert_eq!(absolute(&format!(" {root} ")).ok(), Some(PathBuf::from(root)));
    }
}
