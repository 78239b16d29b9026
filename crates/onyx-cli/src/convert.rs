//! `onyx convert` and `onyx inspect`: the model builder from a terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onyx_convert::chat::{ChatOptions, Progress, convert_gguf_chat, convert_hf_chat};
use onyx_convert::gguf::GgufFile;
use onyx_convert::hf::RawConfig;
use onyx_convert::llama::{CpuOptions, NpuOptions};
use onyx_convert::package::{MANIFEST_FILE, Precision, Target};
use onyx_convert::safetensors::SafeTensors;

/// What an input path holds.
enum Input {
    Gguf(PathBuf),
    HfDecoder(PathBuf),
    HfBert(PathBuf),
}

fn detect(input: &Path) -> anyhow::Result<Input> {
    if input.is_file() {
        let mut magic = [0u8; 4];
        let mut file = std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
        std::io::Read::read_exact(&mut file, &mut magic)
            .with_context(|| format!("{}: file too short", input.display()))?;
        if &magic == b"GGUF" {
            return Ok(Input::Gguf(input.to_path_buf()));
        }
        bail!(
            "{}: not a GGUF file (magic {:02x?}); pass a .gguf file or a Hugging Face folder",
            input.display(),
            magic
        );
    }
    let config = input.join("config.json");
    if !config.is_file() {
        bail!("{}: neither a GGUF file nor a folder with config.json", input.display());
    }
    let raw = RawConfig::read(&config)?;
    match raw.model_type.as_deref() {
        Some("bert") => Ok(Input::HfBert(input.to_path_buf())),
        Some("llama" | "qwen2" | "mistral") => Ok(Input::HfDecoder(input.to_path_buf())),
        Some(other) => {
            bail!("{}: unsupported model_type '{other}' (supported: llama, qwen2, mistral, bert)", config.display())
        }
        None => bail!("{}: no model_type", config.display()),
    }
}

/// A one-line progress bar on a terminal; plain step lines with the percentage done otherwise
/// (logs, CI), where a redrawn line would be noise.
struct ProgressBar {
    terminal: bool,
    step: &'static str,
    /// The share done so far, `0..=1`.
    done: f32,
    /// The whole percent last drawn: the converter reports up to a thousand times, and redrawing
    /// only when the shown number changes keeps the terminal quiet.
    drawn: Option<u32>,
}

impl ProgressBar {
    fn new(terminal: bool) -> Self {
        ProgressBar { terminal, step: "", done: 0.0, drawn: None }
    }

    fn update(&mut self, progress: Progress) {
        let mut err = std::io::stderr();
        match progress {
            Progress::Step(step) => {
                self.step = step;
                if self.terminal {
                    self.draw(&mut err);
                } else {
                    let _ = writeln!(err, "  {:>3}% {step}...", percent(self.done));
                }
            }
            Progress::Fraction(done) => {
                self.done = done.clamp(0.0, 1.0);
                if self.terminal && self.drawn != Some(percent(self.done)) {
                    self.draw(&mut err);
                }
                if self.done >= 1.0 {
                    if self.terminal {
                        let _ = writeln!(err);
                    } else {
                        let _ = writeln!(err, "  100% done");
                    }
                }
            }
        }
    }

    fn draw(&mut self, err: &mut std::io::Stderr) {
        let width = 30;
        let filled = ((self.done * width as f32) as usize).min(width);
        let shown = percent(self.done);
        self.drawn = Some(shown);
        let _ = write!(err, "\r  [{}{}] {shown:>3}% {:<16}", "#".repeat(filled), "-".repeat(width - filled), self.step);
    }
}

/// `done` (`0..=1`) as a whole percent. Rounded down, so 100% shows only when the converter
/// says it is finished.
fn percent(done: f32) -> u32 {
    (done.clamp(0.0, 1.0) * 100.0).floor() as u32
}

/// `onyx convert`.
pub fn run_convert(input: &Path, out: &Path, targets: &[Target], quant: Option<Precision>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut bar = ProgressBar::new(std::io::stderr().is_terminal());
    let mut progress = |p: Progress| bar.update(p);
    match detect(input)? {
        Input::Gguf(path) => {
            let manifest = convert_gguf_chat(&path, out, &chat_options(targets, quant)?, &mut progress)?;
            println!("converted {} ({} layers) into {}", manifest.name, manifest.architecture.layers, out.display());
        }
        Input::HfDecoder(dir) => {
            let manifest = convert_hf_chat(&dir, out, &chat_options(targets, quant)?, &mut progress)?;
            println!("converted {} ({} layers) into {}", manifest.name, manifest.architecture.layers, out.display());
        }
        Input::HfBert(dir) => {
            let precision = quant.unwrap_or(Precision::Fp32);
            let summary =
                onyx_convert::bert::convert_embedding_with_progress(&dir, out, targets, precision, &mut progress)?;
            println!("converted embedding model ({} dims) into {}", summary.manifest.dim, summary.dir.display());
        }
    }
    println!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn chat_options(targets: &[Target], quant: Option<Precision>) -> anyhow::Result<ChatOptions> {
    let cpu = match quant.unwrap_or(Precision::Int4) {
        Precision::Int4 => CpuOptions::int4(),
        Precision::Int8 => CpuOptions::int8(),
        Precision::Fp16 => CpuOptions::fp16(),
        Precision::Fp32 => CpuOptions::exact(),
    };
    // The npu variant is int8 (what NPUs run fast) unless exact weights were asked for.
    let npu = NpuOptions { int8: quant != Some(Precision::Fp32), ..NpuOptions::default() };
    if targets.is_empty() {
        bail!("--target needs at least one of cpu, npu");
    }
    Ok(ChatOptions {
        cpu: targets.contains(&Target::Cpu).then_some(cpu),
        npu: targets.contains(&Target::Npu).then_some(npu),
    })
}

/// `onyx inspect`.
pub fn run_inspect(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() && path.join(MANIFEST_FILE).is_file() {
        let text = std::fs::read_to_string(path.join(MANIFEST_FILE)).context("reading the manifest")?;
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid JSON", path.join(MANIFEST_FILE).display()))?;
        println!("Onyx {} package: {}", manifest["kind"].as_str().unwrap_or("?"), path.display());
        println!("{}", serde_json::to_string_pretty(&manifest)?);
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
