//! Latency of a whole hybrid search over an index of a million chunks.
//!
//! `cargo bench -p onyx-docs --bench search` builds (once, cached under target/) a real index
//! database of 1,000,000 synthetic chunks: 384-d random unit vectors stored as int8, and text of
//! 40 words drawn from a Zipf-distributed vocabulary, so FTS5 sees common and rare words as in
//! prose. It then times `Searcher::search` end to end: the query's vector (a stand-in embedder
//! returns a random unit vector, so the model's time is not counted), the exact vector scan, the
//! FTS5 BM25 query, fusion, the relevance floor and loading the top rows with snippets. The
//! first search, which loads the matrix, is reported apart. `ONYX_BENCH_CHUNKS` and
//! `ONYX_BENCH_QUERIES` change the sizes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use onyx_docs::search::{SearchMode, SearchOptions, Searcher};
use onyx_docs::store::{DocumentContent, DocumentWrite, NewChunk, Store};
use onyx_docs::testing::{FnEmbedder, Rng};
use onyx_docs::vectors::quantize;

const DIM: usize = 384;
const WORDS_PER_CHUNK: usize = 40;
const VOCABULARY: usize = 20_000;
const CHUNKS_PER_DOCUMENT: usize = 100;

/// A word rank drawn from Zipf's law (s = 1) by inverting the harmonic CDF approximately.
fn zipf_word(rng: &mut Rng) -> usize {
    let h = (VOCABULARY as f64).ln() + 0.5772;
    ((rng.next_f64() * h - 0.5772).exp() as usize).min(VOCABULARY - 1)
}

fn word(rank: usize) -> String {
    // Letters only, so FTS5's tokenizer keeps each word whole: rank 0 -> "ba", 1 -> "be", ...
    const SYLLABLES: [&str; 16] =
        ["ba", "be", "di", "fo", "gu", "ka", "le", "mi", "no", "pu", "ra", "se", "ti", "vo", "wu", "zy"];
    let mut n = rank;
    let mut out = String::new();
    loop {
        out.push_str(SYLLABLES[n % 16]);
        n /= 16;
        if n == 0 {
            return out;
        }
    }
}

fn build(path: &PathBuf, chunks: usize) -> Store {
    let mut store = Store::open(path).expect("open bench index");
    if store.counts().expect("counts").chunks as usize >= chunks {
        return store;
    }
    drop(store);
    let _ = std::fs::remove_file(path);
    store = Store::open(path).expect("open bench index");
    store.check_model("synthetic", DIM).expect("model");
    let root = PathBuf::from("/synthetic");
    let source = store.add_source(&root).expect("source");
    let mut rng = Rng::new(7);
    let started = Instant::now();
    for doc in 0..chunks.div_ceil(CHUNKS_PER_DOCUMENT) {
        let new_chunks: Vec<NewChunk> = (0..CHUNKS_PER_DOCUMENT)
            .map(|i| {
                let text: Vec<String> = (0..WORDS_PER_CHUNK).map(|_| word(zipf_word(&mut rng))).collect();
                let text = text.join(" ");
                let q = quantize(&rng.unit_vector(DIM));
                NewChunk {
                    byte_range: i * 300..i * 300 + text.len(),
                    lines: (i + 1, i + 1),
                    heading: format!("Section {}", i / 10),
                    text,
                    vector: (q.values, q.scale),
                }
            })
            .collect();
        let hash = format!("doc-{doc}");
        let path = root.join(format!("doc-{doc}.txt"));
        store
            .write_document(&DocumentWrite {
                source_id: source.id,
                path: &path,
                size: 30_000,
                mtime_ns: 1,
                content: DocumentContent::New { hash: hash.as_bytes(), format: "text", chunks: &new_chunks },
                note: None,
                replaced_content: false,
            })
            .expect("write");
        if doc % 1000 == 999 {
            eprintln!("  built {} chunks in {:.0} s", (doc + 1) * CHUNKS_PER_DOCUMENT, started.elapsed().as_secs_f64());
        }
    }
    store
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

fn main() {
    let chunks: usize = std::env::var("ONYX_BENCH_CHUNKS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let queries: usize = std::env::var("ONYX_BENCH_QUERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/bench-search-{chunks}.sqlite"));
    eprintln!("building or reusing {} ...", path.display());
    let store = build(&path, chunks);
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!("index: {} chunks, {:.0} MB on disk", store.counts().expect("counts").chunks, size as f64 / 1e6);

    // A random unit vector for every text: the model is not what is measured.
    let mut embedding_rng = Rng::new(11);
    let mut embedder = FnEmbedder::new("synthetic", DIM, |_| embedding_rng.unit_vector(DIM));
    let mut searcher = Searcher::new();
    let mut rng = Rng::new(13);
    // No relevance floor: random vectors would otherwise leave nothing to load and snippet.
    let options = SearchOptions { k: 10, min_similarity: -1.0, ..SearchOptions::default() };
    let query = |rng: &mut Rng| {
        // Three words people would type: two common-ish, one rarer.
        let picks = [zipf_word(rng) % 200, zipf_word(rng) % 2000, zipf_word(rng)];
        picks.map(word).join(" ")
    };
    let started = Instant::now();
    searcher.search(&store, &mut embedder, &query(&mut rng), &options).expect("first search");
    println!(
        "first search (loads the matrix, {:.0} MB): {:.0} ms",
        searcher.memory_bytes() as f64 / 1e6,
        started.elapsed().as_secs_f64() * 1e3
    );
    // The filtered case names the index's one source: every chunk is allowed, the most a source
    // filter can cost to build.
    let cases = [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Keyword].map(|m| (m, false));
    for (mode, filtered) in cases.into_iter().chain([(SearchMode::Hybrid, true)]) {
        let sources = if filtered { vec![PathBuf::from("/synthetic")] } else { Vec::new() };
        let options = SearchOptions { mode, sources, ..options.clone() };
        let mut rng = Rng::new(13);
        let mut times = Vec::with_capacity(queries);
        let mut results = 0;
        for _ in 0..queries {
            let text = query(&mut rng);
            let started = Instant::now();
            let response = searcher.search(&store, &mut embedder, &text, &options).expect("search");
            times.push(started.elapsed());
            results += response.results.len();
        }
        times.sort();
        let filter = if filtered { " filtered to its source" } else { "" };
        println!(
            "{mode:?} search{filter}, k=10, {queries} queries over {chunks} chunks: median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, \
             max {:.1} ms ({:.1} results each)",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
            percentile(&times, 1.0),
            results as f64 / queries as f64
        );
    }
}
