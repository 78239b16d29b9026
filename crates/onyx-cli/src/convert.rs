//! `onyx convert` and `onyx inspect`: the model builder from a terminal.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::Path;

use onyx_convert::chat::Progress;
use onyx_convert::convert::{ConvertOptions, convert};
use onyx_convert::folder::{ModelFolder, SourceKind};
use onyx_convert::gguf::GgufFile;
use onyx_convert::hf::RawConfig;
use onyx_convert::manifest::{ModelKind, QuantScheme, Target};
use onyx_convert::safetensors::SafeTensors;

/// A progress bar on a terminal (indicatif's, redrawn in place); plain step lines with the
/// percentage done otherwise (logs, CI), where a redrawn line would be noise.
struct ConvertProgress {
    bar: Option<indicatif::ProgressBar>,
    /// The share done so far, `0..=1`.
    done: f32,
}

/// The bar counts in thousandths: the converter reports at most a thousand rises.
const BAR_STEPS: u64 = 1000;

impl ConvertProgress {
    fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar =
                indicatif::ProgressBar::with_draw_target(Some(BAR_STEPS), indicatif::ProgressDrawTarget::stderr());
            let style = indicatif::ProgressStyle::with_template("  [{bar:30}] {percent:>3}% {msg:<16} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("#>-");
            bar.set_style(style);
            bar
        });
        ConvertProgress { bar, done: 0.0 }
    }

    /// Shows a report; the conversion always goes on.
    fn update(&mut self, progress: Progress) -> ControlFlow<()> {
        match progress {
            Progress::Step(step) => match &self.bar {
                Some(bar) => bar.set_message(step),
                None => eprintln!("  {:>3}% {step}...", percent(self.done)),
            },
            Progress::Fraction(done) => {
                self.done = done.clamp(0.0, 1.0);
                match &self.bar {
                    Some(bar) => {
                        bar.set_position((self.done * BAR_STEPS as f32) as u64);
                        if self.done >= 1.0 {
                            bar.finish();
                        }
                    }
                    None if self.done >= 1.0 => eprintln!("  100% done"),
                    None => {}
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// `done` (`0..=1`) as a whole percent. Rounded down, so 100% shows only when the converter
/// says it is finished.
fn percent(done: f32) -> u32 {
    (done.clamp(0.0, 1.0) * 100.0).floor() as u32
}

/// `onyx convert`.
pub fn run_convert(input: &Path, out: &Path, targets: &[Target], quant: Option<QuantScheme>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let source = SourceKind::detect(input)?;
    let options = ConvertOptions::new(targets, quant)?;
    let mut bar = ConvertProgress::new(std::io::stderr().is_terminal());
    let manifest = convert(&source, out, &options, &mut |p: Progress| bar.update(p))?;
    let what = match (manifest.kind, &manifest.embedding, manifest.architecture.layers) {
        (ModelKind::Embedding, Some(embedding), _) => format!("embedding model ({} dims)", embedding.dim),
        (_, _, Some(layers)) => format!("{} ({layers} layers)", manifest.name),
        _ => manifest.name.clone(),
    };
    println!("converted {what} into {}", out.display());
    println!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `onyx inspect`.
pub fn run_inspect(path: &Path) -> anyhow::Result<()> {
    if path.is_dir()
        && let Ok(folder) = ModelFolder::open(path)
    {
        println!("{} model, {}: {}", folder.kind, folder.layout.describe(), path.display());
        println!("  tokenizer {}", folder.tokenizer.display());
        if let Some(manifest) = folder.manifest() {
            if let Some(version) = folder.format_version.filter(|&v| v != manifest.format_version) {
                println!("  manifest format version {version}, read as {}", manifest.format_version);
            }
            crate::output::print_json(&serde_json::to_string_pretty(manifest)?)?;
        }
        return Ok(());
    }
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        let gguf = GgufFile::open(path)?;
        println!("GGUF v{}: {}", gguf.version(), path.display());
        for key in
            ["general.architecture", "general.name", "general.file_type", "tokenizer.ggml.model", "tokenizer.ggml.pre"]
        {
            if let Some(value) = gguf.get(key) {
                println!("  {key:<28} {}", short(&format!("{value:?}")));
            }
        }
        let arch = gguf.get_str("general.architecture").unwrap_or("");
        for (key, value) in gguf.metadata().iter().filter(|(k, _)| k.starts_with(&format!("{arch}."))) {
            println!("  {key:<28} {}", short(&format!("{value:?}")));
        }
        println!(
            "  chat template                {}",
            if gguf.get("tokenizer.chat_template").is_some() { "yes" } else { "no" }
        );
        let mut by_type: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for tensor in gguf.tensors() {
            let entry = by_type.entry(tensor.ggml_type.name()).or_default();
            entry.0 += 1;
            entry.1 += tensor.element_count();
        }
        println!("  tensors                      {}", gguf.tensors().len());
        for (kind, (count, elements)) in by_type {
            println!("    {kind:<8} {count:>5} tensors {:>12} values", elements);
        }
        return Ok(());
    }
    let tensors = SafeTensors::open(path)?;
    println!("safetensors: {}", tensors.source().display());
    let mut total = 0usize;
    let mut by_dtype: std::collections::BTreeMap<String, usize> = Default::default();
    for name in tensors.tensor_names() {
        let elements: usize = tensors.shape(name).map(|s| s.iter().product()).unwrap_or(0);
        total += elements;
        *by_dtype.entry(tensors.dtype(name).map(|d| d.to_string()).unwrap_or_default()).or_default() += 1;
    }
    println!("  tensors {} ({total} values)", tensors.tensor_names().count());
    for (dtype, count) in by_dtype {
        println!("    {dtype:<6} {count}");
    }
    if let Some(dir) = if path.is_dir() { Some(path) } else { path.parent() } {
        let config = dir.join("config.json");
        if let Ok(raw) = RawConfig::read(&config) {
            println!("  model_type {}", raw.model_type.as_deref().unwrap_or("?"));
        }
    }
    Ok(())
}

fn short(text: &str) -> String {
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text.to_owned()
    }
}
