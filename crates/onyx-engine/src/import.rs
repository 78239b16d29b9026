//! Importing a model the user already has into the imports folder of a [`Catalog`].
//!
//! What it takes, as `onyx convert` does ([`SourceKind`] says which):
//! - a GGUF file, or a Hugging Face folder of a llama / qwen2 / mistral model: converted into an
//!   Onyx chat package (cpu int4 and npu int8 variants, the CLI's defaults);
//! - a Hugging Face BERT folder: converted into an Onyx embedding package (cpu and npu, fp32);
//! - a folder Onyx already runs (an Onyx package, an onnxruntime-genai folder, an Optimum or
//!   sentence-transformers export): copied.
//!
//! Progress is one fraction of the whole import, from 0 to 1 and never going back: the
//! converters report theirs often (tensor by tensor, and piece by piece while files are hashed or
//! written), scaled here into the first 95%, and the check of the result takes the import to 1.
//!
//! One import runs at a time ([`Importer::prepare`] refuses a second). Cancelling takes effect at
//! the converter's next progress report, which the import answers with `ControlFlow::Break`; the
//! converters write into a `<name>.partial-<pid>` folder that they remove when they stop, and a
//! copy is checked for the flag every 8 MiB, so a cancelled import leaves nothing behind.

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use onyx_convert::ConvertError;
use onyx_convert::chat::Progress;
use onyx_convert::convert::ConvertOptions;
use onyx_convert::folder::{ModelFolder, SourceKind};

use crate::catalog::{Catalog, ModelEntry, Origin, is_plain_name};

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The request itself is unusable (a relative path, a name that cannot be a folder).
    #[error("{0}")]
    InvalidRequest(String),
    /// Another import is running.
    #[error("{0}")]
    Busy(String),
    /// The source could not be imported; the message names the file and the problem.
    #[error("{0}")]
    Failed(String),
    /// The import was cancelled; nothing was left behind.
    #[error("cancelled")]
    Cancelled,
}

/// The share of an import that converting or copying takes; checking the result is the rest.
const CONVERTED: f32 = 0.95;

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

/// An import that was checked and may start: see [`Importer::prepare`]. Dropping it (run or
/// not) frees the importer for the next one.
#[derive(Debug)]
pub struct PreparedImport {
    source: SourceKind,
    /// The name the model gets.
    pub name: String,
    /// The folder it will be in.
    pub out: PathBuf,
    options: ConvertOptions,
    cancel: Arc<AtomicBool>,
    _running: Running,
}

impl PreparedImport {
    /// The file or folder being imported.
    pub fn source(&self) -> &Path {
        self.source.path()
    }

    /// Converts or copies the source into [`PreparedImport::out`], reporting each stage and the
    /// share done, and checks that the result is a model Onyx runs. Blocking and CPU-heavy: run
    /// it on a worker thread. On an error or a cancel nothing is left at `out`.
    pub fn run(self, progress: &mut dyn FnMut(&str, f32)) -> Result<ModelEntry, ImportError> {
        if let Some(parent) = self.out.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| ImportError::Failed(format!("{}: {error}", parent.display())))?;
        }
        let result = self.convert(progress).and_then(|()| {
            check_cancel(&self.cancel)?;
            progress("checking", 1.0);
            ModelFolder::open(&self.out).map_err(|error| {
                ImportError::Failed(format!(
                    "{}: the result is not a model Onyx can load: {error}",
                    self.source().display()
                ))
            })
        });
        match result {
            Ok(folder) => Ok(ModelEntry {
                name: self.name.clone(),
                path: self.out.clone(),
                kind: folder.kind,
                origin: Origin::Imported,
                variants: folder.targets(),
            }),
            Err(error) => {
                if self.out.exists() {
                    // `out` did not exist before (prepare checked), so whatever is there is ours.
                    let _ = std::fs::remove_dir_all(&self.out);
                }
                Err(error)
            }
        }
    }

    fn convert(&self, progress: &mut dyn FnMut(&str, f32)) -> Result<(), ImportError> {
        check_cancel(&self.cancel)?;
        let mut stage: &'static str = "reading";
        let mut fraction = 0.0;
        let mut report = |event: Progress| {
            // Every report is a point where the converter can stop: see the module docs.
            if self.cancel.load(Ordering::SeqCst) {
                return ControlFlow::Break(());
            }
            match event {
                // A new stage starts where the last one left off.
                Progress::Step(step) => stage = step,
                Progress::Fraction(done) => fraction = CONVERTED * done.clamp(0.0, 1.0),
            }
            progress(stage, fraction);
            ControlFlow::Continue(())
        };
        match &self.source {
            SourceKind::Model(folder) => copy_folder(&folder.dir, &self.out, &self.cancel, progress),
            convertible => match onyx_convert::convert::convert(convertible, &self.out, &self.options, &mut report) {
                Ok(_) => Ok(()),
                Err(ConvertError::Cancelled) => Err(ImportError::Cancelled),
                Err(error) => Err(ImportError::Failed(error.to_string())),
            },
        }
    }
}

fn check_cancel(cancel: &AtomicBool) -> Result<(), ImportError> {
    if cancel.load(Ordering::SeqCst) { Err(ImportError::Cancelled) } else { Ok(()) }
}

/// Copies a model folder (following links: Hugging Face caches link files into blob stores)
/// into a `.partial-import` sibling, then renames it into place. Hidden entries are skipped.
fn copy_folder(
    from: &Path,
    out: &Path,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&str, f32),
) -> Result<(), ImportError> {
    let failed = |path: &Path, error: std::io::Error| ImportError::Failed(format!("{}: {error}", path.display()));
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

/// Imports into a catalog's imports folder, one at a time. Cheap to clone; clones share the
/// running import.
#[derive(Clone, Debug)]
pub struct Importer {
    catalog: Catalog,
    running: Arc<Mutex<Option<Arc<AtomicBool>>>>,
}

/// Clears the running import when it ends, however it ends.
#[derive(Debug)]
struct Running(Arc<Mutex<Option<Arc<AtomicBool>>>>);

impl Drop for Running {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

impl Importer {
    /// Imports go into `catalog`'s imports folder.
    pub fn new(catalog: Catalog) -> Self {
        Importer { catalog, running: Arc::new(Mutex::new(None)) }
    }

    /// Stops the running import, if any, at its next progress report.
    pub fn cancel(&self) {
        if let Some(flag) = &*self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Checks an import of `source` (an absolute path), named `name` or after the source, and
    /// claims the importer for it. Quick: nothing is converted or copied yet.
    pub fn prepare(&self, source: &Path, name: Option<&str>) -> Result<PreparedImport, ImportError> {
        self.prepare_with(source, name, ConvertOptions::default())
    }

    /// [`Importer::prepare`] with other conversion options (tests use a small npu cache).
    pub fn prepare_with(
        &self,
        source: &Path,
        name: Option<&str>,
        options: ConvertOptions,
    ) -> Result<PreparedImport, ImportError> {
        if !source.is_absolute() {
            return Err(ImportError::InvalidRequest(format!("'{}' is not an absolute path", source.display())));
        }
        let detected = SourceKind::detect(source).map_err(|error| ImportError::Failed(error.to_string()))?;
        let name = self.choose_name(name, source)?;
        let (cancel, running) = self.begin()?;
        let out = self.catalog.imported_dir().join(&name);
        Ok(PreparedImport { source: detected, name, out, options, cancel, _running: running })
    }

    fn begin(&self) -> Result<(Arc<AtomicBool>, Running), ImportError> {
        let mut running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if running.is_some() {
            return Err(ImportError::Busy("a model import is already running".into()));
        }
        let flag = Arc::new(AtomicBool::new(false));
        *running = Some(Arc::clone(&flag));
        Ok((flag, Running(Arc::clone(&self.running))))
    }

    /// The name the import gets: the one asked for (which must be free), or one made from the
    /// source, numbered when taken.
    fn choose_name(&self, asked: Option<&str>, source: &Path) -> Result<String, ImportError> {
        match asked.map(str::trim).filter(|name| !name.is_empty()) {
            Some(name) if !is_plain_name(name) => Err(ImportError::InvalidRequest(format!(
                "'{name}' cannot be a model name: use letters, digits, '.', '_' and '-' (at most 100, not starting with '.')"
            ))),
            Some(name) if self.catalog.contains(name) => {
                Err(ImportError::Failed(format!("a model named '{name}' already exists; pick another name")))
            }
            Some(name) => Ok(name.to_owned()),
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
}

#[cfg(test)]
mod tests {
    use onyx_convert::chat::ChatOptions;
    use onyx_convert::llama::{CpuOptions, NpuOptions};
    use onyx_convert::manifest::{ModelKind, QuantScheme, Target};
    use onyx_convert::tiny;

    use super::*;

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

    /// An importer into `<dir>/models`.
    fn importer(dir: &Path) -> (Importer, PathBuf) {
        let models = dir.join("models");
        (Importer::new(Catalog::new([], models.clone())), models)
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
        let (importer, models) = importer(dir.path());
        let prepared = importer.prepare_with(&gguf, Some("tiny"), small_options()).expect("prepare");
        let mut events: Vec<(String, f32)> = Vec::new();
        let entry = prepared.run(&mut |stage, fraction| events.push((stage.to_owned(), fraction))).expect("import");
        assert_eq!((entry.kind, entry.variants.as_slice()), (ModelKind::Chat, [Target::Cpu, Target::Npu].as_slice()));
        assert_eq!((entry.origin, entry.path.clone()), (Origin::Imported, models.join("tiny")));
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
        let (importer, models) = importer(dir.path());
        let prepared = importer.prepare_with(&gguf, None, small_options()).expect("prepare");
        let mut stages = Vec::new();
        let result = prepared.run(&mut |stage, _| {
            stages.push(stage.to_owned());
            // A few tensors into the cpu graph, well inside the stage.
            if stages.iter().filter(|s| *s == "cpu graph").count() == 3 {
                importer.cancel();
            }
        });
        assert!(matches!(result, Err(ImportError::Cancelled)), "{result:?}");
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
        let (importer, models) = importer(dir.path());

        let prepared = importer.prepare(&source, None).expect("a genai folder");
        importer.cancel();
        assert!(matches!(prepared.run(&mut |_, _| {}), Err(ImportError::Cancelled)));
        assert_eq!(entries(&models), Vec::<String>::new());

        let mut last = None;
        let copied = importer
            .prepare(&source, None)
            .expect("prepare again")
            .run(&mut |stage, fraction| last = Some((stage.to_owned(), fraction)))
            .expect("copied");
        assert_eq!((copied.kind, copied.variants.len()), (ModelKind::Chat, 0));
        assert_eq!(last, Some(("checking".to_owned(), 1.0)));
        assert_eq!(entries(&models.join("genai")), ["genai_config.json", "model.onnx", "tokenizer.json"]);
    }

    #[test]
    fn a_bad_gguf_fails_with_its_name_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let broken = dir.path().join("broken.gguf");
        std::fs::write(&broken, b"GGUF\x03\x00\x00\x00truncated").expect("write");
        let (importer, models) = importer(dir.path());
        let result = importer.prepare_with(&broken, None, small_options()).expect("prepare").run(&mut |_, _| {});
        let Err(ImportError::Failed(message)) = result else { panic!("a truncated GGUF converted: {result:?}") };
        assert!(message.contains("broken.gguf"), "{message}");
        assert_eq!(entries(&models), Vec::<String>::new());
    }

    #[test]
    fn one_import_at_a_time_and_names_are_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("imports/taken")).expect("create");
        let importer = Importer::new(Catalog::new([], dir.path().join("imports")));
        let gguf = tiny_gguf(dir.path());
        let first = importer.prepare(&gguf, Some("one")).expect("first import");
        assert!(matches!(importer.prepare(&gguf, Some("two")), Err(ImportError::Busy(_))));
        drop(first);
        assert!(importer.prepare(&gguf, Some("two")).is_ok(), "the slot frees when the import ends");

        let source = Path::new("/m/Taken.gguf");
        assert_eq!(importer.choose_name(None, source).ok().as_deref(), Some("taken-2"));
        assert_eq!(importer.choose_name(Some(" mine "), source).ok().as_deref(), Some("mine"));
        assert!(matches!(importer.choose_name(Some("taken"), source), Err(ImportError::Failed(_))));
        assert!(matches!(importer.choose_name(Some("../up"), source), Err(ImportError::InvalidRequest(_))));
        assert!(matches!(importer.prepare(Path::new("relative.gguf"), None), Err(ImportError::InvalidRequest(_))));
        let missing = importer.prepare(&dir.path().join("missing.gguf"), None).expect_err("missing");
        assert!(missing.to_string().contains("missing.gguf"), "{missing}");
    }
}
