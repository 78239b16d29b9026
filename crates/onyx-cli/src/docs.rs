//! `onyx index` and `onyx search`: the document index from a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::bail;
use onyx_docs::index::{IndexOptions, IndexReport, Phase, Progress, index_path, remove_source};
use onyx_docs::search::{SearchMode, SearchOptions, Searcher};
use onyx_docs::store::Store;
use onyx_docs::walk::WalkOptions;
use onyx_engine::documents::EngineEmbedder;
use onyx_engine::{CancelToken, Engine};
use onyx_runtime::{ProviderChoice, RuntimeConfig};

use crate::locate::Defaults;

/// Options shared by the index and search commands.
pub struct DocsOptions {
    /// The index database (default: the app's).
    pub db: Option<PathBuf>,
    /// Embedding model.
    pub model: Option<String>,
    /// Provider for the embedding model.
    pub provider: String,
}

fn open_store(defaults: &Defaults, options: &DocsOptions) -> anyhow::Result<Store> {
    Ok(Store::open(&defaults.database(options.db.as_deref())?)?)
}

fn load_embedding(config: &RuntimeConfig, defaults: &Defaults, options: &DocsOptions) -> anyhow::Result<Engine> {
    let engine = defaults.engine(config, &defaults.settings)?;
    let dir = defaults.embedding_model(options.model.as_deref())?;
    engine.load_embedding(&dir, &ProviderChoice::parse(&options.provider), false)?;
    Ok(engine)
}

/// `onyx index add PATH`.
pub fn run_index_add(
    config: &RuntimeConfig,
    defaults: &Defaults,
    options: &DocsOptions,
    path: &Path,
    max_file_mb: u64,
    json: bool,
) -> anyhow::Result<()> {
    // Open the index first: a bad --db is reported before the model loads.
    let mut store = open_store(defaults, options)?;
    let engine = load_embedding(config, defaults, options)?;
    let cancel = CancelToken::new()?;
    let mut embedder = EngineEmbedder::new(&engine, &cancel)?;
    let index_options = IndexOptions { walk: WalkOptions { max_file_bytes: max_file_mb.saturating_mul(1024 * 1024) } };
    let terminal = std::io::stderr().is_terminal();
    let report = index_path(&mut store, &mut embedder, path, &index_options, &|| cancel.is_cancelled(), &mut |p| {
        print_progress(p, terminal)
    })?;
    if terminal {
        eprintln!();
    }
    if json {
        crate::output::print_json(&serde_json::to_string_pretty(&report)?)?;
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_progress(progress: &Progress, terminal: bool) {
    let phase = match progress.phase {
        Phase::Scanning => "scanning",
        Phase::Indexing => "indexing",
        Phase::Done => "done",
        Phase::Cancelled => "cancelled",
    };
    let eta = progress.eta_seconds.map_or_else(String::new, |s| format!(", ETA {}", duration(s)));
    let line = format!(
        "{phase}: {}/{} files, {} chunks, {} skipped, {:.1} files/s, {:.1} chunks/s{eta}",
        progress.files_done,
        progress.files_total,
        progress.chunks_done,
        progress.files_skipped,
        progress.files_per_second,
        progress.chunks_per_second
    );
    if terminal {
        eprint!("\r\x1b[2K{line}");
    } else {
        eprintln!("{line}");
    }
}

fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn print_report(report: &IndexReport) {
    println!(
        "{}: {} files seen; {} indexed ({} chunks), {} unchanged, {} identical to other files, {} skipped, {} \
         removed{} in {:.1} s",
        report.source.display(),
        report.files_seen,
        report.indexed,
        report.chunks,
        report.unchanged,
        report.deduplicated,
        report.skipped,
        report.removed,
        if report.vanished > 0 { format!(", {} vanished while indexing", report.vanished) } else { String::new() },
        report.seconds
    );
    if report.skipped > 0 {
        println!("see the skipped files and why with: onyx index status");
    }
}

/// `onyx index remove PATH`.
pub fn run_index_remove(defaults: &Defaults, options: &DocsOptions, path: &Path) -> anyhow::Result<()> {
    let mut store = open_store(defaults, options)?;
    if !remove_source(&mut store, path)? {
        let sources: Vec<String> = store.sources()?.iter().map(|s| s.path.display().to_string()).collect();
        bail!(
            "{} is not a source of the index (sources: {})",
            path.display(),
            if sources.is_empty() { "none".into() } else { sources.join(", ") }
        );
    }
    println!("removed {} from the index", path.display());
    Ok(())
}

/// `onyx index status`.
pub fn run_index_status(defaults: &Defaults, options: &DocsOptions, json: bool) -> anyhow::Result<()> {
    let store = open_store(defaults, options)?;
    let counts = store.counts()?;
    let sources = store.sources()?;
    let skips = store.skips(None, 10_000)?;
    let size = std::fs::metadata(store.path()).map_or(0, |m| m.len());
    if json {
        let out = serde_json::json!({
            "database": store.path(),
            "databaseBytes": size,
            "counts": counts,
            "sources": sources,
            "skipped": skips,
        });
        crate::output::print_json(&serde_json::to_string_pretty(&out)?)?;
        return Ok(());
    }
    println!("index: {} ({})", store.path().display(), onyx_docs::walk::human_size(size));
    println!(
        "{} sources, {} files indexed, {} skipped, {} chunks",
        counts.sources, counts.documents, counts.skipped, counts.chunks
    );
    for source in &sources {
        println!("  {}", source.path.display());
    }
    if !skips.is_empty() {
        println!("skipped:");
        for skip in skips.iter().take(50) {
            println!("  {}: {}", skip.path.display(), skip.reason);
        }
        if skips.len() > 50 {
            println!("  ... and {} more (--json lists them all)", skips.len() - 50);
        }
    }
    Ok(())
}

/// `onyx search QUERY`.
pub fn run_search(
    config: &RuntimeConfig,
    defaults: &Defaults,
    options: &DocsOptions,
    query: &str,
    search: &SearchOptions,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(defaults, options)?;
    let engine = load_embedding(config, defaults, options)?;
    let cancel = CancelToken::new()?;
    let mut embedder = EngineEmbedder::new(&engine, &cancel)?;
    let response = Searcher::new().search(&store, &mut embedder, query, search)?;
    if json {
        crate::output::print_json(&serde_json::to_string_pretty(&response)?)?;
        return Ok(());
    }
    if response.query_truncated {
        eprintln!("(the query was long; only its beginning was searched)");
    }
    if response.results.is_empty() {
        println!("nothing relevant found");
    }
    for (rank, result) in response.results.iter().enumerate() {
        let heading = if result.heading.is_empty() { String::new() } else { format!(" — {}", result.heading) };
        println!(
            "{}. {}:{}{heading}  (similarity {:.2})\n   {}",
            rank + 1,
            result.path.display(),
            result.lines.0,
            result.similarity,
            result.snippet
        );
    }
    Ok(())
}

/// Parses `--mode`.
pub fn parse_mode(mode: &str) -> anyhow::Result<SearchMode> {
    Ok(match mode {
        "hybrid" => SearchMode::Hybrid,
        "vector" => SearchMode::Vector,
        "keyword" => SearchMode::Keyword,
        other => bail!("unknown search mode '{other}': use hybrid, vector or keyword"),
    })
}
