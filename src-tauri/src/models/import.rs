//! `model_import`: a model the user already has becomes a folder under `<app data>/models`.
//!
//! What it takes, as `onyx convert` does (crates/onyx-cli/src/convert.rs):
//! - a GGUF file, or a Hugging Face folder of a llama / qwen2 / mistral model: converted into an
//!   Onyx chat package (cpu int4 and npu int8 variants, the CLI's defaults);
//! - a Hugging Face BERT folder: converted into an Onyx embedding package (cpu and npu, fp32);
//! - a folder the engine already reads (an Onyx package, an onnxruntime-genai folder, an Optimum
//!   or sentence-transformers export): copied.
//!
//! Progress is one fraction of the whole import, from 0 to 1 and never going back: the
//! converters report theirs often (tensor by tensor, and piece by piece while files are hashed or
//! written), scaled here into the first 95%, and the check of the result takes the import to 1.
//!
//! One import runs at a time. Cancelling takes effect at the converter's next progress report
//! (onyx-convert has no cancel hook of its own): a cancelled import unwinds out of the converter
//! from its progress callback with [`std::panic::resume_unwind`] (the payload is
//! [`ImportCancelled`], and `resume_unwind` runs no panic hook, so nothing is printed). The
//! converters write into a `<name>.partial-<pid>` folder that their drop guard removes, so an
//! unwind leaves nothing behind; salsa (rust-analyzer) cancels queries the same way.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use onyx_convert::chat::Progress;
use onyx_convert::convert::ConvertOptions;
use onyx_convert::folder::{ModelFolder, SourceKind};
use onyx_convert::manifest::Target;
use serde::Serialize;
use tauri::ipc::Channel;
use ts_rs::TS;

use super::catalog::{Catalog, ModelEntry, Origin, is_plain_name};
use crate::error::{Error, ErrorBody};
use onyx_convert::manifest::ModelKind;

/// Streamed on `model_import`'s channel.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ImportEvent {
    /// The source was recognised; the model will be called `name`.
    Started {
        /// The file or folder being imported.
        source: PathBuf,
        /// The folder name it gets.
        name: String,
    },
    /// The import moved on: a new stage started, or the current one progressed.
    Progress {
        /// `reading`, `tokenizer`, `cpu graph`, `npu graphs`, `embedding graphs`, `copying` or `checking`.
        stage: String,
        /// Share of the whole import done, `0..=1`: never less than the last event's, and `1`
        /// only once the model is in place and checked.
        fraction: f32,
    },
    /// The model is in place.
    Done {
        /// As `models_list` will show it.
        model: ModelEntry,
    },
    /// The import failed or was cancelled (`code` is `cancelled` then).
    Error(ErrorBody),
}

/// The unwind payload that stops a conversion at a stage boundary.
#[derive(Debug)]
pub struct ImportCancelled;

/// A folder name made from the source's file or folder name: lower case, with anything but
/// letters, digits, `.`, `_` and `-` turned into `-`.
pub fn default_name(source: &Path) -> String {
    let stem = match source.extension() {
        Some(ext) if ext.eq_ignore_ascii_case("gguf") => source.file_stem(),
        _ => source.file_name(),
    };
    let raw = stem.map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
    let mut name = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name: String = name.trim_matches(|c| c == '-' || c == '.').chars().take(64).collect();
    if name.is_empty() { "model".into() } else { name }
}

/// Converts or copies `source` into `out` (which must not exist), reporting stages, and checks
/// the result is a model the engine recognises. On error or cancel nothing is left at `out`.
pub fn run_import(
    source: &SourceKind,
    out: &Path,
    options: &ConvertOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&str, f32),
) -> Result<(ModelKind, Vec<Target>), Error> {
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| convert(source, out, options, cancel, progress)));
    let result = match result {
        Ok(result) => result,
        Err(payload) if payload.is::<ImportCancelled>() => Err(Error::Cancelled),
        Err(payload) => Err(Error::ImportFailed(format!(
            "converting {} stopped unexpectedly: {}",
            source.path().display(),
            super::panic_message(payload.as_ref())
        ))),
    };
    let result = result.and_then(|()| {
        check_cancel(cancel)?;
        progress("checking", 1.0);
        let folder = ModelFolder::open(out).map_err(|error| {
            Error::ImportFailed(format!(
                "{}: the result is not a model Onyx can load: {error}",
                source.path().display()
            ))
        })?;
        Ok((folder.kind, folder.targets()))
    });
    if result.is_err() && out.exists() {
        // `out` did not exist before (the caller checked), so whatever is there is ours.
        let _ = std::fs::remove_dir_all(out);
    }
    result
}

/// The share of an import that converting or copying takes; checking the result is the rest.
const CONVERTED: f32 = 0.95;

fn check_cancel(cancel: &AtomicBool) -> Result<(), Error> {
    if cancel.load(Ordering::SeqCst) { Err(Error::Cancelled) } else { Ok(()) }
}

fn convert(
    source: &SourceKind,
    out: &Path,
    options: &ConvertOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&str, f32),
) -> Result<(), Error> {
    check_cancel(cancel)?;
    let failed = |error: onyx_convert::ConvertError| Error::ImportFailed(error.to_string());
    let mut stage: &'static str = "reading";
    let mut fraction = 0.0;
    let mut report = |event: Progress| {
        // Every report is a point where the converter can stop: see the module docs.
        if cancel.load(Ordering::SeqCst) {
            std::panic::resume_unwind(Box::new(ImportCancelled));
        }
        match event {
            // A new stage starts where the last one left off.
            Progress::Step(step) => stage = step,
            Progress::Fraction(done) => fraction = CONVERTED * done.clamp(0.0, 1.0),
        }
        progress(stage, fraction);
    };
    match source {
        SourceKind::Model(folder) => copy_folder(&folder.dir, out, cancel, progress),
        convertible => onyx_convert::convert::convert(convertible, out, options, &mut report).map(drop).map_err(failed),
    }
}

/// Copies a model folder (following links: Hugging Face caches link files into blob stores)
/// into a `.partial-import` sibling, then renames it into place. Hidden entries are skipped.
fn copy_folder(from: &Path, out: &Path, cancel: &AtomicBool, progress: &mut dyn FnMut(&str, f32)) -> Result<(), Error> {
    let failed = |path: &Path, error: std::io::Error| Error::ImportFailed(format!("{}: {error}", path.display()));
    let mut files = Vec::new();
    list_files(from, Path::new(""), 0, &mut files).map_err(|error| failed(from, error))?;
    let total: u64 = files.iter().map(|(_, size)| size).sum::<u64>().max(1);
    let mut partial_name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    partial_name.push(".partial-import");
    let partial = out.with_file_name(partial_name);
    let _ = std::fs::remove_dir_all(&partial);
    let copied = (|| {
        progress("copying", 0.0);
        let mut done = 0u64;
        let mut buffer = vec![0u8; 8 << 20];
        for (relative, _) in &files {
            let (source, target) = (from.join(relative), partial.join(relative));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|error| failed(parent, error))?;
            }
            let mut reader = std::fs::File::open(&source).map_err(|error| failed(&source, error))?;
            let mut writer = std::fs::File::create(&target).map_err(|error| failed(&target, error))?;
            loop {
                // Checked per 8 MB, so cancelling a multi-gigabyte copy is quick.
                check_cancel(cancel)?;
                let n = reader.read(&mut buffer).map_err(|error| failed(&source, error))?;
                if n == 0 {
                    break;
                }
                writer.write_all(&buffer[..n]).map_err(|error| failed(&target, error))?;
                done += n as u64;
                progress("copying", CONVERTED * done as f32 / total as f32);
            }
        }
        std::fs::rename(&partial, out).map_err(|error| failed(out, error))
    })();
    if copied.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    copied
}

/// Regular files under `dir` (links followed), relative, with sizes. Bounded depth: a link loop
/// must not recurse forever.
fn list_files(dir: &Path, relative: &Path, depth: usize, files: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let metadata = std::fs::metadata(entry.path())?;
        if metadata.is_dir() {
            list_files(&entry.path(), &relative.join(&name), depth + 1, files)?;
        } else if metadata.is_file() {
            files.push((relative.join(&name), metadata.len()));
        }
    }
    Ok(())
}

/// The import state: the running import's cancel flag.
#[derive(Clone)]
pub struct ImportState {
    catalog: Catalog,
    running: Arc<Mutex<Option<Arc<AtomicBool>>>>,
}

/// How commands receive the import state.
pub type ImportHandle<'a> = tauri::State<'a, ImportState>;

/// Clears the running import when the worker ends, however it ends.
struct Running(Arc<Mutex<Option<Arc<AtomicBool>>>>);

impl Drop for Running {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

impl ImportState {
    /// Imports go into `catalog`'s imports folder.
    pub fn new(catalog: Catalog) -> Self {
        ImportState { catalog, running: Arc::new(Mutex::new(None)) }
    }

    /// `model_import_cancel`: stops the running import at its next progress report.
    pub fn cancel(&self) -> Result<(), Error> {
        if let Some(flag) = &*self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            flag.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    fn begin(&self) -> Result<(Arc<AtomicBool>, Running), Error> {
        let mut running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if running.is_some() {
            return Err(Error::Busy("a model import is already running".into()));
        }
        let flag = Arc::new(AtomicBool::new(false));
        *running = Some(Arc::clone(&flag));
        Ok((flag, Running(Arc::clone(&self.running))))
    }

    /// The name the import gets: the one asked for (which must be free), or one made from the
    /// source, numbered when taken.
    fn choose_name(&self, asked: Option<String>, source: &Path) -> Result<String, Error> {
        match asked.map(|name| name.trim().to_owned()).filter(|name| !name.is_empty()) {
            Some(name) if !is_plain_name(&name) => Err(Error::InvalidRequest(format!(
                "'{name}' cannot be a model name: use letters, digits, '.', '_' and '-' (at most 100, not starting with '.')"
            ))),
            Some(name) if self.catalog.contains(&name) => {
                Err(Error::ImportFailed(format!("a model named '{name}' already exists; pick another name")))
            }
            Some(name) => Ok(name),
            None => {
                let base = default_name(source);
                let mut name = base.clone();
                let mut n = 2;
                while self.catalog.contains(&name) {
                    name = format!("{base}-{n}");
                    n += 1;
                }
                Ok(name)
            }
        }
    }

    /// `model_import`: see the module docs. Events go to `channel`; the result is also returned.
    pub async fn import(
        &self,
        source: String,
        name: Option<String>,
        channel: Channel<ImportEvent>,
    ) -> Result<ModelEntry, Error> {
        let source = PathBuf::from(source.trim());
        if !source.is_absolute() {
            return Err(Error::InvalidRequest(format!("'{}' is not an absolute path", source.display())));
        }
        let detected = SourceKind::detect(&source).map_err(|error| Error::ImportFailed(error.to_string()))?;
        let name = self.choose_name(name, &source)?;
        let (cancel, running) = self.begin()?;
        let out = self.catalog.imported_dir().join(&name);
        send(&channel, ImportEvent::Started { source: source.clone(), name: name.clone() });
        let events = channel.clone();
        let worker_out = out.clone();
        let result = tauri::async_runtime::spawn_blocking(move || {
            let _running = running;
            if let Some(parent) = worker_out.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|error| Error::ImportFailed(format!("{}: {error}", parent.display())))?;
            }
            run_import(&detected, &worker_out, &ConvertOptions::default(), &cancel, &mut |stage, fraction| {
                send(&events, ImportEvent::Progress { stage: stage.to_owned(), fraction })
            })
        })
        .await
        .map_err(Error::worker("model import"))
        .and_then(|result| result);
        match result {
            Ok((kind, variants)) => {
                let model = ModelEntry { name, path: out, kind, origin: Origin::Imported, variants };
                send(&channel, ImportEvent::Done { model: model.clone() });
                Ok(model)
            }
            Err(error) => {
                send(&channel, ImportEvent::Error(ErrorBody::from(&error)));
                Err(error)
            }
        }
    }
}

/// A closed channel means the window went away; the import still finishes and lists.
fn send(channel: &Channel<ImportEvent>, event: ImportEvent) {
    if let Err(error) = channel.send(event) {
        eprintln!("onyx-app: could not send an import event: {error}");
    }
}

#[cfg(test)]
mod tests {
    use onyx_convert::tiny;

    use super::*;

    use onyx_convert::chat::ChatOptions;
    use onyx_convert::llama::{CpuOptions, NpuOptions};
    use onyx_convert::manifest::QuantScheme;

    /// The app's options with a small npu cache, so the tiny model converts in milliseconds.
    fn small_options() -> ConvertOptions {
        let npu = NpuOptions { context: 32, chunk: 4, quant: QuantScheme::Int8 };
        ConvertOptions {
            chat: ChatOptions { cpu: Some(CpuOptions::int4()), npu: Some(npu) },
            ..ConvertOptions::default()
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|read| read.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    fn tiny_gguf(dir: &Path) -> PathBuf {
        let config = tiny::tiny_config(false);
        let path = dir.join("Tiny Llama.Q4_1.gguf");
        tiny::write_gguf(&config, &tiny::tiny_weights(&config, 3), &path, "llama").expect("write gguf");
        path
    }

    #[test]
    fn default_names_are_plain_folder_names() {
        assert_eq!(default_name(Path::new("/m/SmolLM2-135M-Instruct.Q4_1.gguf")), "smollm2-135m-instruct.q4_1");
        assert_eq!(default_name(Path::new("/m/Qwen 2.5 (0.5B)")), "qwen-2.5-0.5b");
        assert_eq!(default_name(Path::new("/m/.hidden.GGUF")), "hidden");
        assert_eq!(default_name(Path::new("/")), "model");
        assert!(is_plain_name(&default_name(Path::new("/x/ÜBER model!"))));
    }

    #[test]
    fn a_gguf_is_converted_into_a_chat_package_with_a_steadily_rising_fraction() {
        let dir = tempfile::tempdir().expect("temp dir");
        let gguf = tiny_gguf(dir.path());
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).expect("create");
        let mut events: Vec<(String, f32)> = Vec::new();
        let result = run_import(
            &SourceKind::Gguf(gguf),
            &models.join("tiny"),
            &small_options(),
            &AtomicBool::new(false),
            &mut |stage, fraction| events.push((stage.to_owned(), fraction)),
        );
        assert_eq!(result.ok(), Some((ModelKind::Chat, vec![Target::Cpu, Target::Npu])));
        assert_eq!(entries(&models), ["tiny"]);

        let mut stages: Vec<&str> = events.iter().map(|(stage, _)| stage.as_str()).collect();
        stages.dedup();
        assert_eq!(stages, ["reading", "tokenizer", "cpu graph", "npu graphs", "checking"]);
        let fractions: Vec<f32> = events.iter().map(|&(_, fraction)| fraction).collect();
        assert_eq!(fractions.first(), Some(&0.0));
        assert_eq!(fractions.last(), Some(&1.0));
        assert_eq!(fractions.iter().filter(|&&f| f == 1.0).count(), 1, "1 only at the end: {fractions:?}");
        for pair in fractions.windows(2) {
            assert!(pair[0] <= pair[1], "the fraction went back: {fractions:?}");
            // The largest step is writing the tiny npu weight file, in one piece.
            assert!(pair[1] - pair[0] < 0.12, "the fraction jumped: {fractions:?}");
        }
        // Graph building moves the bar tensor by tensor, not only at stage boundaries.
        let in_cpu_graph = events.iter().filter(|(stage, _)| stage == "cpu graph").count();
        assert!(in_cpu_graph >= 10, "{in_cpu_graph} reports while building the cpu graph");
    }

    #[test]
    fn cancelling_inside_a_stage_stops_at_the_next_report_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let gguf = tiny_gguf(dir.path());
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).expect("create");
        let cancel = AtomicBool::new(false);
        let mut stages = Vec::new();
        let result =
            run_import(&SourceKind::Gguf(gguf), &models.join("tiny"), &small_options(), &cancel, &mut |stage, _| {
                stages.push(stage.to_owned());
                // A few tensors into the cpu graph, well inside the stage.
                if stages.iter().filter(|s| *s == "cpu graph").count() == 3 {
                    cancel.store(true, Ordering::SeqCst);
                }
            });
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
        assert_eq!(stages.last().map(String::as_str), Some("cpu graph"), "{stages:?}");
        assert_eq!(stages.iter().filter(|s| *s == "cpu graph").count(), 3, "no report after the cancel: {stages:?}");
        assert_eq!(entries(&models), Vec::<String>::new(), "no package and no .partial folder");
    }

    #[test]
    fn an_onnx_folder_is_copied_and_a_cancelled_copy_is_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("genai");
        std::fs::create_dir_all(source.join(".git")).expect("create");
        for (file, text) in [
            ("genai_config.json", r#"{"model": {"decoder": {"filename": "model.onnx"}}}"#),
            ("tokenizer.json", "{}"),
            ("model.onnx", "graph"),
            (".git/HEAD", "x"),
        ] {
            std::fs::write(source.join(file), text).expect("write");
        }
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).expect("create");
        let detected = SourceKind::detect(&source).expect("a genai folder");
        assert!(matches!(&detected, SourceKind::Model(folder) if folder.kind == ModelKind::Chat), "{detected:?}");

        let cancelled =
            run_import(&detected, &models.join("genai"), &small_options(), &AtomicBool::new(true), &mut |_, _| {});
        assert!(matches!(cancelled, Err(Error::Cancelled)));
        assert_eq!(entries(&models), Vec::<String>::new());

        let mut last = None;
        let copied = run_import(
            &detected,
            &models.join("genai"),
            &small_options(),
            &AtomicBool::new(false),
            &mut |stage, fraction| {
                last = Some((stage.to_owned(), fraction));
            },
        );
        assert_eq!(copied.ok(), Some((ModelKind::Chat, Vec::new())));
        assert_eq!(last, Some(("checking".to_owned(), 1.0)));
        assert_eq!(entries(&models.join("genai")), ["genai_config.json", "model.onnx", "tokenizer.json"]);
    }

    #[test]
    fn a_bad_gguf_fails_with_its_name_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let broken = dir.path().join("broken.gguf");
        std::fs::write(&broken, b"GGUF\x03\x00\x00\x00truncated").expect("write");
        let models = dir.path().join("models");
        std::fs::create_dir_all(&models).expect("create");
        let result = run_import(
            &SourceKind::Gguf(broken.clone()),
            &models.join("broken"),
            &small_options(),
            &AtomicBool::new(false),
            &mut |_, _| {},
        );
        let Err(error) = result else { panic!("a truncated GGUF converted") };
        assert_eq!(error.code(), "import_failed");
        assert!(error.to_string().contains("broken.gguf"), "{error}");
        assert_eq!(entries(&models), Vec::<String>::new());
    }

    #[test]
    fn import_events_are_tagged_and_camel_case() {
        let event = ImportEvent::Progress { stage: "cpu graph".into(), fraction: 0.5 };
        assert_eq!(
            serde_json::to_value(event).ok(),
            Some(serde_json::json!({"event": "progress", "data": {"stage": "cpu graph", "fraction": 0.5}}))
        );
        // The fraction is always a number, also when a stage starts (IPC.md, ui/src/ipc/generated.ts).
        let start = ImportEvent::Progress { stage: "reading".into(), fraction: 0.0 };
        assert_eq!(
            serde_json::to_string(&start).ok().as_deref(),
            Some(r#"{"event":"progress","data":{"stage":"reading","fraction":0.0}}"#)
        );
        let error = ImportEvent::Error(ErrorBody { code: "cancelled".into(), message: "cancelled".into() });
        assert_eq!(
            serde_json::to_value(error).ok(),
            Some(serde_json::json!({"event": "error", "data": {"code": "cancelled", "message": "cancelled"}}))
        );
    }

    #[test]
    fn one_import_at_a_time_and_names_are_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("imports/taken")).expect("create");
        let state = ImportState::new(Catalog::new([], dir.path().join("imports")));
        let (_flag, running) = state.begin().expect("first import");
        assert!(matches!(state.begin(), Err(Error::Busy(_))));
        drop(running);
        assert!(state.begin().is_ok(), "the slot frees when the worker ends");

        let source = Path::new("/m/Taken.gguf");
        assert_eq!(state.choose_name(None, source).ok().as_deref(), Some("taken-2"));
        assert_eq!(state.choose_name(Some(" mine ".into()), source).ok().as_deref(), Some("mine"));
        assert!(matches!(state.choose_name(Some("taken".into()), source), Err(Error::ImportFailed(_))));
        assert!(matches!(state.choose_name(Some("../up".into()), source), Err(Error::InvalidRequest(_))));
    }
}
