//! Documents end to end on the real default embedding model: indexing real files, hybrid search
//! quality on the Rust Book, bad input, and answers that cite their sources.
//!
//! The corpus is the Rust Book that rustup installs with the toolchain
//! (`$(rustc --print sysroot)/share/doc/rust/html/book`). Missing setup or a missing book is a
//! failure, never a skip. Run with `--nocapture` to see the measured figures.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, ensure};
use onyx_docs::index::{IndexError, IndexOptions, IndexReport, index_path};
use onyx_docs::search::{SearchMode, SearchOptions, Searcher};
use onyx_docs::store::Store;
use onyx_docs::{EmbedPurpose, Embedder};
use onyx_engine::chat::ChatRequest;
use onyx_engine::documents::{DocumentIndex, DocumentOptions, EngineEmbedder, NOTHING_RELEVANT};
use onyx_engine::reply::{ChatEvent, FinishReason};
use onyx_engine::sampling::SamplingParams;
use onyx_engine::template::Message;
use onyx_engine::{CancelToken, Engine};
use onyx_runtime::{ProviderChoice, RuntimeConfig};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One engine per test binary with both default models loaded on the CPU.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let engine = Engine::new(&RuntimeConfig::default())
            .unwrap_or_else(|e| panic!("ONNX Runtime must be installed by scripts/setup.sh: {e}"));
        let models = repo_root().join("models");
        for (name, load) in [("all-minilm-l6-v2", true), ("smollm2-135m-instruct", false)] {
            let dir = models.join(name);
            assert!(dir.join("onyx-model.json").is_file(), "{} is missing: run scripts/setup.sh", dir.display());
            let result = if load {
                engine.load_embedding(&dir, &ProviderChoice::Cpu, false)
            } else {
                engine.load_chat(&dir, &ProviderChoice::Cpu, false)
            };
            result.unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()));
        }
        engine
    })
}

/// The Rust Book installed with the toolchain.
fn rust_book() -> PathBuf {
    let output = std::process::Command::new("rustc").args(["--print", "sysroot"]).output().expect("running rustc");
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let book = PathBuf::from(sysroot).join("share/doc/rust/html/book");
    assert!(
        book.join("ch04-01-what-is-ownership.html").is_file(),
        "the Rust Book is missing at {}: run `rustup component add rust-docs`",
        book.display()
    );
    book
}

fn index(store: &mut Store, path: &Path) -> Result<IndexReport, IndexError> {
    let engine = engine();
    let cancel = CancelToken::new().expect("cancel token");
    let mut embedder = EngineEmbedder::new(engine, &cancel).expect("embedder");
    index_path(store, &mut embedder, path, &IndexOptions::default(), &|| false, &mut |_| {})
}

/// A question, worded as a reader would ask it, and the chapters that answer it.
struct Question {
    text: &'static str,
    relevant: &'static [&'static str],
}

const QUESTIONS: &[Question] = &[
    Question {
        text: "What happens to a heap string when the variable holding it goes out of scope?",
        relevant: &["ch04-01"],
    },
    Question {
        text: "Can I have a mutable and an immutable reference to the same value at once?",
        relevant: &["ch04-02"],
    },
    Question { text: "How do I refer to part of a string without copying it?", relevant: &["ch04-03"] },
    Question { text: "How do I add functions that operate on my own struct type?", relevant: &["ch05-03"] },
    Question { text: "How can I print a struct's fields while debugging?", relevant: &["ch05-02", "appendix-03"] },
    Question { text: "Rust has no null, so how do I represent a value that might be absent?", relevant: &["ch06-01"] },
    Question { text: "Will the compiler make sure I handled every variant of an enum?", relevant: &["ch06-02"] },
    Question { text: "How do I split a big program into several source files?", relevant: &["ch07-05"] },
    Question {
        text: "How do I make an item inside a module usable from outside it?",
        relevant: &["ch07-02", "ch07-03"],
    },
    Question { text: "What collection should I use for a list of values that can grow?", relevant: &["ch08-01"] },
    Question { text: "Why can't I get the third character of a String with s[2]?", relevant: &["ch08-02"] },
    Question { text: "How do I count how many times each word appears in a text?", relevant: &["ch08-03"] },
    Question {
        text: "What should a program do when it hits a bug it cannot recover from?",
        relevant: &["ch09-01", "ch09-03"],
    },
    Question { text: "Is there a shorter way to pass an error up to the caller?", relevant: &["ch09-02"] },
    Question { text: "How do I write one function that works for many different types?", relevant: &["ch10-01"] },
    Question { text: "How do I tell the compiler how long the references I return are valid?", relevant: &["ch10-03"] },
    Question { text: "How do I check in a test that my code panics?", relevant: &["ch11-01"] },
    Question { text: "How can I run just one of my tests instead of all of them?", relevant: &["ch11-02"] },
    Question { text: "How can my program read its configuration from environment variables?", relevant: &["ch12-05"] },
    Question { text: "How does an anonymous function use variables from the code around it?", relevant: &["ch13-01"] },
    Question { text: "How do I turn on compiler optimizations for a release build?", relevant: &["ch14-01"] },
    Question { text: "How can several parts of my program own the same value?", relevant: &["ch15-04"] },
    Question { text: "How do I change data that sits behind an immutable reference?", relevant: &["ch15-05"] },
    Question { text: "How can reference counting leak memory, and how do I prevent it?", relevant: &["ch15-06"] },
    Question { text: "How do I send values from one thread to another?", relevant: &["ch16-02"] },
    Question { text: "How do several threads safely update one shared counter?", relevant: &["ch16-03"] },
    Question { text: "How do I run several pieces of async code at the same time?", relevant: &["ch17-02", "ch17-03"] },
    Question { text: "How can a vector hold values of different types that share a behavior?", relevant: &["ch18-02"] },
    Question { text: "When am I allowed to dereference a raw pointer?", relevant: &["ch20-01"] },
    Question { text: "How do I write code that generates other code at compile time?", relevant: &["ch20-05"] },
    Question {
        text: "How do I stop the web server's worker threads cleanly when it shuts down?",
        relevant: &["ch21-03"],
    },
];

/// recall@5 and MRR (over the first relevant file in the top 10) of one ranking.
fn evaluate(
    store: &Store,
    searcher: &mut Searcher,
    embedder: &mut dyn Embedder,
    mode: SearchMode,
) -> Result<(f64, f64)> {
    let (mut recall_at_5, mut reciprocal_ranks) = (0.0, 0.0);
    for question in QUESTIONS {
        // No relevance floor here: the ranking itself is measured.
        let options = SearchOptions { k: 10, mode, min_similarity: -1.0, ..SearchOptions::default() };
        let response = searcher.search(store, embedder, question.text, &options)?;
        // Rank by file: several chunks of one chapter count once.
        let mut files: Vec<String> = Vec::new();
        for result in &response.results {
            let name = result.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if !files.contains(&name) {
                files.push(name);
            }
        }
        let is_relevant = |name: &String| question.relevant.iter().any(|r| name.starts_with(r));
        let found: HashSet<&str> = files
            .iter()
            .take(5)
            .filter_map(|name| question.relevant.iter().find(|r| name.starts_with(**r)).copied())
            .collect();
        recall_at_5 += found.len() as f64 / question.relevant.len() as f64;
        if let Some(rank) = files.iter().position(is_relevant) {
            reciprocal_ranks += 1.0 / (rank + 1) as f64;
        }
    }
    let n = QUESTIONS.len() as f64;
    Ok((recall_at_5 / n, reciprocal_ranks / n))
}

#[test]
fn rust_book_hybrid_search_beats_either_list_alone() -> Result<()> {
    assert!(QUESTIONS.len() >= 20);
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("index.sqlite"))?;
    let book = rust_book();
    let report = index(&mut store, &book)?;
    println!(
        "indexed {}: {} files ({} skipped, {} identical) into {} chunks in {:.1} s: {:.1} files/s, {:.1} chunks/s",
        book.display(),
        report.indexed,
        report.skipped,
        report.deduplicated,
        report.chunks,
        report.seconds,
        report.indexed as f64 / report.seconds,
        report.chunks as f64 / report.seconds
    );
    ensure!(report.indexed >= 150, "expected the book's chapters to be indexed: {report:?}");
    store.integrity_check().map_err(anyhow::Error::msg)?;

    let cancel = CancelToken::new()?;
    let mut embedder = EngineEmbedder::new(engine(), &cancel)?;
    let mut searcher = Searcher::new();
    let mut figures = Vec::new();
    for mode in [SearchMode::Vector, SearchMode::Keyword, SearchMode::Hybrid] {
        let (recall, mrr) = evaluate(&store, &mut searcher, &mut embedder, mode)?;
        println!("{mode:?}: recall@5 {recall:.3}, MRR {mrr:.3} over {} questions", QUESTIONS.len());
        figures.push((recall, mrr));
    }
    let (vector, keyword, hybrid) = (figures[0], figures[1], figures[2]);
    // Floors a little under what this model measured, so a regression in chunking, extraction
    // or fusion fails here.
    ensure!(hybrid.0 >= 0.85, "hybrid recall@5 {:.3} is under 0.85", hybrid.0);
    ensure!(hybrid.1 >= 0.70, "hybrid MRR {:.3} is under 0.70", hybrid.1);
    ensure!(
        hybrid.0 >= vector.0.max(keyword.0) - 0.05,
        "fusion should not lose to a single list: hybrid {:.3}, vector {:.3}, keyword {:.3}",
        hybrid.0,
        vector.0,
        keyword.0
    );

    // A re-run with nothing changed opens no file.
    let again = index(&mut store, &book)?;
    println!("re-run with no changes: {:.2} s, {} unchanged", again.seconds, again.unchanged);
    ensure!(again.indexed == 0 && again.chunks == 0 && again.unchanged == again.files_seen, "{again:?}");

    // An off-topic question finds nothing at the default relevance floor.
    let response =
        searcher.search(&store, &mut embedder, "a recipe for banana bread with walnuts", &SearchOptions::default())?;
    ensure!(response.results.is_empty(), "off-topic query matched: {:?}", response.results.first().map(|r| &r.path));
    Ok(())
}

/// Writes `files` under `root`.
fn write_files(root: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    for (path, body) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().context("parent")?)?;
        std::fs::write(&path, body)?;
    }
    Ok(())
}

const OWNERSHIP: &str = "# Ownership\n\nEach value in Rust has an owner. When the owner goes out of scope, the value is \
    dropped and its memory is freed.\n\n## Moves\n\nAssigning a String to another variable moves it; the first \
    variable can no longer be used.\n";
const GARDEN: &str = "Tomatoes need six hours of sun a day and deep watering twice a week. Pinch the suckers so the \
    plant puts its energy into fruit.\n";

#[test]
fn bad_input_has_clear_outcomes_and_the_index_stays_consistent() -> Result<()> {
    engine(); // ONNX Runtime is loaded with the models, before any cancel token.
    let dir = tempfile::tempdir()?;
    let docs = dir.path().join("docs");
    let latin1: &[u8] = b"Cr\xe8me br\xfbl\xe9e is a dessert of custard under caramelised sugar.\n";
    let pdf_without_text = no_text_pdf();
    write_files(
        &docs,
        &[
            ("ownership.md", OWNERSHIP.as_bytes()),
            ("copy-of-ownership.md", OWNERSHIP.as_bytes()),
            ("garden.txt", GARDEN.as_bytes()),
            ("latin1.txt", latin1),
            ("empty.txt", b""),
            ("scan.pdf", &pdf_without_text),
            ("zz-deleted-while-indexing.txt", b"This file is deleted before the indexer reaches it."),
        ],
    )?;
    // A 2 GB file, sparse so the test does not write 2 GB.
    std::fs::File::create(docs.join("huge.txt"))?.set_len(2 * 1024 * 1024 * 1024)?;

    let mut store = Store::open(&dir.path().join("index.sqlite"))?;
    let cancel = CancelToken::new()?;
    // Deletes the last file (in walk order) as soon as the first file is embedded: after the walk
    // listed it, before the indexer reads it.
    struct DeletingEmbedder<'a> {
        inner: EngineEmbedder<'a>,
        victim: PathBuf,
    }
    impl Embedder for DeletingEmbedder<'_> {
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn tokenizer(&self) -> &tokenizers::Tokenizer {
            self.inner.tokenizer()
        }
        fn max_tokens(&self) -> usize {
            self.inner.max_tokens()
        }
        fn model_id(&self) -> String {
            self.inner.model_id()
        }
        fn embed(&mut self, texts: &[&str], purpose: EmbedPurpose) -> Result<Vec<Vec<f32>>, String> {
            let _ = std::fs::remove_file(&self.victim);
            self.inner.embed(texts, purpose)
        }
    }
    let mut embedder = DeletingEmbedder {
        inner: EngineEmbedder::new(engine(), &cancel)?,
        victim: docs.join("zz-deleted-while-indexing.txt"),
    };
    let report = index_path(&mut store, &mut embedder, &docs, &IndexOptions::default(), &|| false, &mut |_| {})?;
    println!("{report:?}");
    ensure!(report.vanished == 1, "the deleted file is reported as vanished: {report:?}");
    ensure!(report.deduplicated == 1, "the copy is embedded once: {report:?}");
    ensure!(report.indexed == 3, "ownership, garden and latin1 are indexed: {report:?}");

    let skips: Vec<(String, String)> = store
        .skips(None, 100)?
        .into_iter()
        .map(|s| (s.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), s.reason))
        .collect();
    let reason = |name: &str| skips.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone()).unwrap_or_default();
    ensure!(reason("empty.txt") == "empty file", "{skips:?}");
    ensure!(reason("huge.txt").contains("2.0 GB") && reason("huge.txt").contains("limit"), "{skips:?}");
    ensure!(reason("scan.pdf").contains("no text layer"), "{skips:?}");
    ensure!(skips.len() == 3, "{skips:?}");
    store.integrity_check().map_err(anyhow::Error::msg)?;

    // The Windows-1252 file was decoded, not mangled.
    let mut searcher = Searcher::new();
    let mut embedder = EngineEmbedder::new(engine(), &cancel)?;
    let response = searcher.search(&store, &mut embedder, "crème brûlée custard dessert", &SearchOptions::default())?;
    let top = response.results.first().context("the latin1 file is found")?;
    ensure!(top.path.ends_with("latin1.txt") && top.text.contains("Crème brûlée"), "{top:?}");

    // A 10,000-character query is cut, not refused.
    let long = "ownership moves values ".repeat(450);
    let response = searcher.search(&store, &mut embedder, &long, &SearchOptions::default())?;
    ensure!(response.query_truncated && !response.results.is_empty());
    // An empty query is an error that says so.
    let error = searcher.search(&store, &mut embedder, "  ", &SearchOptions::default()).err().context("empty query")?;
    ensure!(error.to_string().contains("empty"), "{error}");

    // A path that does not exist is an error naming it; nothing changes.
    let before = store.counts()?;
    let missing = dir.path().join("no-such-folder");
    let error = index(&mut store, &missing).err().context("missing path must fail")?;
    ensure!(error.to_string().contains("no-such-folder") && error.to_string().contains("no such file"), "{error}");
    ensure!(store.counts()? == before);

    // Deleting the original keeps the copy's chunks; editing re-embeds; deleting removes.
    std::fs::remove_file(docs.join("ownership.md"))?;
    std::fs::write(docs.join("garden.txt"), format!("{GARDEN}\nWater in the morning.\n"))?;
    let report = index(&mut store, &docs)?;
    ensure!(report.removed == 1 && report.indexed == 1, "{report:?}");
    let response =
        searcher.search(&store, &mut embedder, "what happens when a String is moved", &SearchOptions::default())?;
    ensure!(
        response.results.first().is_some_and(|r| r.path.ends_with("copy-of-ownership.md")),
        "{:?}",
        response.results
    );
    store.integrity_check().map_err(anyhow::Error::msg)?;
    Ok(())
}

/// A one-page PDF that draws a rectangle and has no text.
fn no_text_pdf() -> Vec<u8> {
    let content = "0 0 1 rg 100 100 200 150 re f\n";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    pdf.extend(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).bytes());
    pdf
}

#[test]
fn answers_cite_relevant_documents_and_admit_when_none_are() -> Result<()> {
    engine(); // ONNX Runtime is loaded with the models, before any cancel token.
    let dir = tempfile::tempdir()?;
    let docs = dir.path().join("docs");
    write_files(&docs, &[("ownership.md", OWNERSHIP.as_bytes()), ("garden.txt", GARDEN.as_bytes())])?;
    let mut store = Store::open(&dir.path().join("index.sqlite"))?;
    index(&mut store, &docs)?;
    let mut searcher = Searcher::new();
    let cancel = CancelToken::new()?;
    let request = |question: &str| ChatRequest {
        messages: vec![Message::new("user", question)],
        sampling: SamplingParams::greedy(),
        max_tokens: 40,
        stop: Vec::new(),
        ignore_eos: false,
        context_limit: None,
    };

    let mut events = Vec::new();
    let reply = engine().chat_with_documents(
        &request("How many hours of sun do tomatoes need?"),
        DocumentIndex { store: &store, searcher: &mut searcher },
        &DocumentOptions::default(),
        &cancel,
        &mut |event| events.push(event),
    )?;
    println!("reply: {}\nsources: {:?}", reply.text, onyx_engine::documents::cited_paths(&reply.sources));
    ensure!(reply.sources.first().is_some_and(|s| s.number == 1 && s.result.path.ends_with("garden.txt")));
    ensure!(matches!(events.first(), Some(ChatEvent::Sources { sources }) if sources == &reply.sources));
    ensure!(reply.stats.prompt_tokens > 60, "the sources are in the prompt");
    ensure!(!reply.text.trim().is_empty());

    let mut events = Vec::new();
    let reply = engine().chat_with_documents(
        &request("Who won the football world cup in 1998?"),
        DocumentIndex { store: &store, searcher: &mut searcher },
        &DocumentOptions::default(),
        &cancel,
        &mut |event| events.push(event),
    )?;
    ensure!(reply.finish_reason == FinishReason::NothingRelevant && reply.sources.is_empty());
    ensure!(reply.text == NOTHING_RELEVANT);
    let streamed: String = events
        .iter()
        .filter_map(|e| if let ChatEvent::Token { text } = e { Some(text.as_str()) } else { None })
        .collect();
    ensure!(streamed == reply.text);
    Ok(())
}
