//! The `onyx` command: the Onyx engine from a terminal.
//!
//! This binary is glue: it parses arguments, calls into the library crates and prints. The
//! interface follows the contract in ARCHITECTURE.md, which scripts and tests depend on; `--json`
//! output is for machines, everything else for people.

mod chat;
mod convert;
mod docs;
mod locate;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onyx_runtime::doctor::{self, DoctorReport, RuntimeStatus};
use onyx_runtime::{DeviceInfo, PluginState, ProviderChoice, Runtime, RuntimeConfig};

#[derive(Parser)]
#[command(name = "onyx", version, about = "Private, local AI: chat and document search on your NPU, GPU or CPU")]
struct Cli {
    /// ONNX Runtime library file, or a folder holding it (default: ORT_DYLIB_PATH, ONYX_RUNTIME,
    /// next to this program, then the repository's runtime/ folder).
    #[arg(long, global = true, value_name = "PATH")]
    runtime: Option<PathBuf>,
    /// Extra folder to search for execution-provider plugin libraries.
    #[arg(long, global = true, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum IndexAction {
    /// Index a folder or file (again): only new and changed files are read.
    Add {
        /// Folder or file.
        path: PathBuf,
        /// Skip files larger than this many MB.
        #[arg(long, default_value_t = onyx_docs::walk::DEFAULT_MAX_FILE_BYTES / (1024 * 1024))]
        max_file_mb: u64,
        /// Print the final report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a source and everything indexed from it.
    Remove {
        /// The folder or file, as added.
        path: PathBuf,
    },
    /// Show the sources, counts and skipped files.
    Status {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Show the runtime library, plugin libraries, devices, and where a model would run.
    Doctor {
        /// Provider to check: auto, npu, gpu, cpu, or an EP name.
        #[arg(long, short = 'p', default_value = "auto")]
        provider: String,
        /// Require the whole probe model on the requested provider: no fallback to other devices
        /// or to the CPU EP.
        #[arg(long)]
        strict: bool,
        /// The chat model whose placement to report (every graph it runs): a folder or a name
        /// under models/; the default chat model when not given.
        #[arg(long, short = 'm')]
        model: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the devices ONNX Runtime can run models on.
    Devices {
        /// Print the devices as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn a GGUF file or a Hugging Face folder into an Onyx model package.
    Convert {
        /// A .gguf file, or a folder with config.json and safetensors.
        input: PathBuf,
        /// The package folder to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Variants to build.
        #[arg(long, value_delimiter = ',', default_value = "cpu,npu")]
        target: Vec<onyx_convert::manifest::Target>,
        /// Weight precision: int4 (chat default), int8, fp16 or fp32 (exact; embedding default).
        #[arg(long)]
        quant: Option<onyx_convert::manifest::QuantScheme>,
    },
    /// Show what a GGUF file, safetensors checkpoint or Onyx package holds.
    Inspect {
        /// File or folder.
        path: PathBuf,
    },
    /// Chat with a local model: interactive, or one reply with -p. What no flag sets comes
    /// from the desktop app's settings (its chat model, provider, system prompt and generation
    /// parameters), so the reply is the one the app would give.
    Chat {
        /// Model: a package folder, a name in the app's models folders, or an ONNX folder.
        #[arg(short, long)]
        model: Option<String>,
        /// Provider: auto, npu, gpu, cpu, or an EP name.
        #[arg(long)]
        provider: Option<String>,
        /// Run entirely on the chosen provider or fail.
        #[arg(long)]
        strict: bool,
        /// One prompt, one reply, then exit.
        #[arg(short, long)]
        prompt: Option<String>,
        /// System prompt ("" for none).
        #[arg(long)]
        system: Option<String>,
        /// Sampling temperature (0 = greedy).
        #[arg(long)]
        temperature: Option<f32>,
        /// Nucleus sampling mass.
        #[arg(long)]
        top_p: Option<f32>,
        /// Keep only the k most likely tokens (0 = off).
        #[arg(long)]
        top_k: Option<u32>,
        /// Drop tokens below this fraction of the most likely one's probability.
        #[arg(long)]
        min_p: Option<f32>,
        /// Penalty for repeating tokens (1 = off).
        #[arg(long)]
        repetition_penalty: Option<f32>,
        /// Most tokens to generate.
        #[arg(long)]
        max_tokens: Option<u32>,
        /// Seed, for reproducible sampling.
        #[arg(long)]
        seed: Option<u64>,
        /// Answer from the indexed documents, citing them as [n].
        #[arg(long)]
        docs: bool,
        /// Index database for --docs (default: the desktop app's).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Print the reply as JSON (with -p).
        #[arg(long)]
        json: bool,
    },
    /// Embed texts with the embedding model.
    Embed {
        /// Model: a package folder or a name under models/.
        #[arg(short, long)]
        model: Option<String>,
        /// Provider: auto, npu, gpu, cpu, or an EP name (default: the app's).
        #[arg(long)]
        provider: Option<String>,
        /// Print {"model","dim","embeddings"} as JSON.
        #[arg(long)]
        json: bool,
        /// Texts to embed.
        texts: Vec<String>,
    },
    /// Manage the document index: add or remove folders and files, show its status.
    Index {
        #[command(subcommand)]
        action: IndexAction,
        /// Index database (default: ONYX_INDEX, or the desktop app's).
        #[arg(long, global = true, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Embedding model: a package folder or a name under models/.
        #[arg(short, long, global = true)]
        model: Option<String>,
        /// Provider for the embedding model (default: the app's).
        #[arg(long, global = true)]
        provider: Option<String>,
    },
    /// Search the indexed documents.
    Search {
        /// What to look for, in your own words.
        query: String,
        /// Results to show.
        #[arg(long, short = 'k', default_value_t = 5)]
        k: usize,
        /// Only results from these sources (repeatable).
        #[arg(long)]
        source: Vec<PathBuf>,
        /// Ranking: hybrid (default), vector or keyword.
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// Relevance floor: results less similar to the query are left out.
        #[arg(long, default_value_t = onyx_docs::search::DEFAULT_MIN_SIMILARITY)]
        min_similarity: f32,
        /// Print {"results":[...]} as JSON.
        #[arg(long)]
        json: bool,
        /// Index database (default: ONYX_INDEX, or the desktop app's).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Embedding model: a package folder or a name under models/.
        #[arg(short, long)]
        model: Option<String>,
        /// Provider for the embedding model (default: the app's).
        #[arg(long)]
        provider: Option<String>,
    },
    /// Measure the default models: time to first token, prefill and decode speed, embeddings/s.
    Bench {
        /// Provider: auto, npu, gpu, cpu, or an EP name.
        #[arg(long, default_value = "auto")]
        provider: String,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
        /// Measured runs per figure (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    // Before anything can print, `--help` and clap's errors included.
    restore_default_sigpipe();
    if std::env::args().any(|arg| arg == "--json") {
        output::keep_stdout_for_json();
    }
    let cli = Cli::parse();
    let config = RuntimeConfig {
        library_path: cli.runtime.clone(),
        plugin_dir: cli.plugin_dir.clone(),
        // Test hook (as the app's ONYX_FAULT_* variables): an EP whose devices count as NPUs, so
        // the NPU paths run for real on a machine without one.
        npu_stand_in: std::env::var("ONYX_NPU_STAND_IN").ok().filter(|name| !name.is_empty()),
    };
    // Read on first use only: `devices`, `convert` and `inspect` need neither the app's settings
    // nor its catalog, and should not warn about a settings file they never read.
    let defaults = std::cell::LazyCell::new(locate::Defaults::load);
    let result = match cli.command {
        Command::Doctor { provider, strict, model, json } => {
            run_doctor(&config, &defaults, &provider, strict, model.as_deref(), json)
        }
        Command::Devices { json } => run_devices(&config, json),
        Command::Convert { input, output, target, quant } => {
            convert::run_convert(&input, &output, &target, quant).map(|()| ExitCode::SUCCESS)
        }
        Command::Inspect { path } => convert::run_inspect(&path).map(|()| ExitCode::SUCCESS),
        Command::Chat {
            model,
            provider,
            strict,
            prompt,
            system,
            temperature,
            top_p,
            top_k,
            min_p,
            repetition_penalty,
            max_tokens,
            seed,
            docs,
            db,
            json,
        } => {
            // The app's settings, with each flag given in place of its value.
            let mut settings = defaults.settings.clone();
            let set = |field: &mut f32, flag: Option<f32>| *field = flag.unwrap_or(*field);
            set(&mut settings.temperature, temperature);
            set(&mut settings.top_p, top_p);
            set(&mut settings.min_p, min_p);
            set(&mut settings.repetition_penalty, repetition_penalty);
            settings.top_k = top_k.unwrap_or(settings.top_k);
            settings.max_tokens = max_tokens.unwrap_or(settings.max_tokens);
            settings.seed = seed.or(settings.seed);
            settings.system_prompt = system.unwrap_or(settings.system_prompt);
            settings.provider = defaults.provider(provider.as_deref());
            settings.strict_npu = strict || settings.strict_npu;
            settings
                .validate()
                .map_err(anyhow::Error::from)
                .and_then(|()| {
                    let dir = defaults.chat_model(model.as_deref())?;
                    let documents = docs.then(|| defaults.database(db.as_deref())).transpose()?;
                    let embedding = documents.as_ref().map(|_| defaults.embedding_model(None)).transpose()?;
                    let options = chat::ChatOptions { dir, settings, documents, embedding };
                    chat::run_chat(&config, &defaults, &options, prompt.as_deref(), json)
                })
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Embed { model, provider, json, texts } => defaults
            .embedding_model(model.as_deref())
            .and_then(|dir| {
                chat::run_embed(&config, &defaults, &dir, &defaults.provider(provider.as_deref()), json, &texts)
            })
            .map(|()| ExitCode::SUCCESS),
        Command::Index { action, db, model, provider } => {
            let options = docs::DocsOptions { db, model, provider: defaults.provider(provider.as_deref()) };
            match action {
                IndexAction::Add { path, max_file_mb, json } => {
                    docs::run_index_add(&config, &defaults, &options, &path, max_file_mb, json)
                }
                IndexAction::Remove { path } => docs::run_index_remove(&defaults, &options, &path),
                IndexAction::Status { json } => docs::run_index_status(&defaults, &options, json),
            }
            .map(|()| ExitCode::SUCCESS)
        }
        Command::Search { query, k, source, mode, min_similarity, json, db, model, provider } => {
            let options = docs::DocsOptions { db, model, provider: defaults.provider(provider.as_deref()) };
            docs::parse_mode(&mode)
                .and_then(|mode| {
                    let search = onyx_docs::search::SearchOptions { k, sources: source, min_similarity, mode };
                    docs::run_search(&config, &defaults, &options, &query, &search, json)
                })
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Bench { provider, json, runs } => {
            chat::run_bench(&config, &defaults, &provider, json, runs).map(|()| ExitCode::SUCCESS)
        }
    };
    warn_if_explicit_runtime_skipped(&config);
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line, the whole cause chain: "could not load ONNX Runtime: ...".
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Lets a reader that stops early (`onyx search ... | head -1`) end the program quietly, as it
/// ends `cat` or `grep`.
///
/// The Rust runtime ignores SIGPIPE, so a write to a pipe nobody reads any more fails with EPIPE
/// instead, and `println!` panics on that error. With the default disposition restored, the kernel
/// ends the process at that write, silently, whichever subcommand was printing; no output call
/// needs to handle it. An `index add` stopped this way is like any other kill: the index keeps
/// every file committed before (one transaction per file).
#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: `signal` with `SIG_DFL` only resets a disposition, and no other thread exists yet
    // that could be installing a handler at the same time.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Windows has no SIGPIPE: there a write to a closed pipe stays an error.
#[cfg(not(unix))]
fn restore_default_sigpipe() {}

/// The runtime search goes on past a `--runtime` path that does not work, so that a stale
/// setting never leaves the user without a runtime; but the user must hear about it.
fn warn_if_explicit_runtime_skipped(config: &RuntimeConfig) {
    let (Some(wanted), Some(runtime)) = (&config.library_path, Runtime::get()) else { return };
    let library = runtime.library();
    if let Some(skipped) = library.skipped.iter().find(|a| a.path.starts_with(wanted)) {
        eprintln!(
            "warning: --runtime {} was not usable ({}); using {}",
            skipped.path.display(),
            skipped.reason,
            library.path.display()
        );
    }
}

fn run_devices(config: &RuntimeConfig, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::init(config)?;
    let devices = runtime.devices();
    if json {
        crate::output::print_json(&serde_json::to_string_pretty(devices).context("serializing devices")?)?;
    } else {
        print_devices(devices);
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the chat model runs, for `onyx doctor`: every graph it runs, or why it cannot load.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatModelCheck {
    /// The model folder.
    path: Option<PathBuf>,
    /// Where it runs, with each graph's placement.
    provider: Option<onyx_runtime::ActiveProvider>,
    /// Why it could not be found or loaded.
    error: Option<String>,
}

/// The runtime's report plus the chat model's placement.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FullDoctorReport<'a> {
    #[serde(flatten)]
    runtime: &'a DoctorReport,
    chat_model: Option<ChatModelCheck>,
}

/// Loads the chat model on `provider` and reports where each of its graphs runs.
fn check_chat_model(
    config: &RuntimeConfig,
    defaults: &locate::Defaults,
    provider: &str,
    strict: bool,
    model: Option<&str>,
) -> ChatModelCheck {
    let path = match defaults.chat_model(model) {
        Ok(path) => path,
        Err(error) => return ChatModelCheck { path: None, provider: None, error: Some(format!("{error:#}")) },
    };
    let loaded = defaults.engine(config, &defaults.settings).and_then(|engine| {
        engine.load_chat(&path, &ProviderChoice::parse(provider), strict).map_err(anyhow::Error::from)
    });
    match loaded {
        Ok(active) => ChatModelCheck { path: Some(path), provider: Some(active), error: None },
        Err(error) => ChatModelCheck { path: Some(path), provider: None, error: Some(format!("{error:#}")) },
    }
}

fn run_doctor(
    config: &RuntimeConfig,
    defaults: &locate::Defaults,
    provider: &str,
    strict: bool,
    model: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let probe = onyx_convert::probe::probe_model();
    let report = doctor::run_with_strictness(config, provider, strict, Some(&probe));
    // Only where the probe found a provider: otherwise the chat model cannot load either, and
    // the report already says why.
    let probe_ran = report.provider.as_ref().is_some_and(|check| check.active.is_some());
    let chat_model = probe_ran.then(|| check_chat_model(config, defaults, provider, strict, model));
    if json {
        let full = FullDoctorReport { runtime: &report, chat_model };
        crate::output::print_json(&serde_json::to_string_pretty(&full).context("serializing the report")?)?;
    } else {
        print_report(&report);
        if let Some(check) = &chat_model {
            print_chat_model(check);
        }
    }
    // The report is always printed; the exit code (and one `error:` line on stderr, for
    // scripts) says whether a model can run at all.
    let problem = match (&report.runtime, &report.provider) {
        (RuntimeStatus::Failed { error, .. }, _) => Some(error.clone()),
        (_, Some(check)) if check.active.is_none() => {
            Some(check.error.clone().unwrap_or_else(|| "no device could run the probe model".into()))
        }
        _ => None,
    };
    match problem {
        Some(problem) => {
            eprintln!("error: {problem}");
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn print_chat_model(check: &ChatModelCheck) {
    println!("\nChat model");
    if let Some(path) = &check.path {
        println!("  folder   {}", path.display());
    }
    match (&check.provider, &check.error) {
        (Some(active), _) => {
            println!("  runs on  {}", active.summary());
            for graph in &active.graphs {
                let work = match graph.macs_total {
                    0 => String::new(),
                    total => format!(
                        ", {:.0}% of {:.1}M weight MACs/token",
                        100.0 * graph.macs_on_ep as f64 / total as f64,
                        total as f64 / 1e6
                    ),
                };
                println!(
                    "  graph    {:<28} {}/{} nodes on {}{work}",
                    graph.graph, graph.nodes_on_ep, graph.nodes_total, active.ep
                );
            }
            print_left_behind(active);
        }
        (None, Some(error)) => println!("  not loaded: {error}"),
        (None, None) => println!("  not loaded"),
    }
}

fn print_report(report: &DoctorReport) {
    println!("ONNX Runtime");
    match &report.runtime {
        RuntimeStatus::Loaded { path, version, skipped } => {
            println!("  version  {version}");
            println!("  library  {path}");
            for s in skipped {
                println!("  skipped  {} ({})", s.path.display(), s.reason);
            }
        }
        RuntimeStatus::Failed { error, .. } => {
            println!("  not loaded: {error}");
            println!("  run scripts/setup.sh, or pass --runtime PATH / set ORT_DYLIB_PATH");
            return;
        }
    }

    println!("\nExecution-provider plugins");
    if report.plugins.is_empty() {
        println!("  none found");
    }
    for plugin in &report.plugins {
        match plugin.status {
            PluginState::Registered if plugin.device_count == 0 => println!(
                "  ok      {:<28} {} (registered, but it offers no device for this machine's hardware)",
                plugin.ep_name,
                plugin.path.display()
            ),
            PluginState::Registered => println!("  ok      {:<28} {}", plugin.ep_name, plugin.path.display()),
            PluginState::Failed => println!(
                "  failed  {:<28} {}: {}",
                plugin.ep_name,
                plugin.path.display(),
                plugin.error.as_deref().unwrap_or("unknown error")
            ),
        }
    }

    println!("\nDevices");
    print_devices(&report.devices);

    if let Some(check) = &report.provider {
        println!("\nProvider '{}' (checked by running a probe model)", check.requested);
        for attempt in &check.tried {
            println!("  fell back  {} on {}: {}", attempt.ep, attempt.device, attempt.reason);
        }
        match (&check.active, &check.error) {
            (Some(active), _) => {
                println!("  running    {}", active.summary());
                print_left_behind(active);
            }
            (None, Some(error)) => println!("  failed     {error}"),
            (None, None) => println!("  failed     no device could run the probe model"),
        }
    }
}

/// The op types the provider's EP did not take, with the EP's reasons.
fn print_left_behind(active: &onyx_runtime::ActiveProvider) {
    for left in &active.left_behind {
        let reason = left.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        println!("  left     {} x{} on {}{reason}", left.op_type, left.nodes, left.ep);
    }
    if let Some(note) = &active.work_note {
        println!("  note     {note}");
    }
}

fn print_devices(devices: &[DeviceInfo]) {
    println!("  {:<3} {:<4} {:<30} {:<10} DEVICE", "#", "KIND", "EP", "VENDOR");
    for d in devices {
        println!(
            "  {:<3} {:<4} {:<30} {:<10} {}",
            d.index,
            d.kind.label(),
            d.ep_name,
            d.hardware_vendor,
            d.display_name()
        );
    }
}
