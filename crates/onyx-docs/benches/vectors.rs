//! Latency of the exact int8 vector scan on an index of a million chunks.
//!
//! `cargo bench -p onyx-docs --bench vectors` builds 1,000,000 random unit vectors of dim 384,
//! quantizes them into a `VectorMatrix`, then times 200 random `top_k(k = 50)` queries: on all
//! cores, on one thread, and restricted by a filter. The floor is a plain sum over a buffer of the
//! same size: no scan can read its bytes faster than that. `ONYX_BENCH_VECTORS` and
//! `ONYX_BENCH_QUERIES` change the sizes.
//!
//! A plain harness rather than criterion: the numbers wanted are percentiles over many distinct
//! queries, and building the matrix takes seconds that criterion would repeat.

use std::hint::black_box;
use std::time::{Duration, Instant};

use onyx_docs::testing::Rng;
use onyx_docs::vectors::{self, RowFilter, VectorMatrix};

const DIM: usize = 384;
const K: usize = 50;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median, p95, p99 and max of `times`, in ms.
fn percentiles(mut times: Vec<Duration>) -> [f64; 4] {
    times.sort();
    let at = |p: f64| ms(times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1]);
    [at(0.5), at(0.95), at(0.99), at(1.0)]
}

fn report(label: &str, times: Vec<Duration>) {
    let [median, p95, p99, max] = percentiles(times);
    println!("{label:<34} {median:>8.2} {p95:>8.2} {p99:>8.2} {max:>8.2}");
}

/// Sums `words` on `threads` threads: the least time any scan of as many bytes can take.
fn sum_floor(words: &[u64], threads: usize) -> Duration {
    let start = Instant::now();
    let total = std::thread::scope(|scope| {
        let workers: Vec<_> = words
            .chunks(words.len().div_ceil(threads))
            .map(|part| scope.spawn(|| part.iter().fold(0u64, |sum, &w| sum.wrapping_add(w))))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).fold(0u64, u64::wrapping_add)
    });
    black_box(total);
    start.elapsed()
}

fn main() {
    let n = env_usize("ONYX_BENCH_VECTORS", 1_000_000);
    let query_count = env_usize("ONYX_BENCH_QUERIES", 200);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rng = Rng::new(0x5EED);

    let start = Instant::now();
    let mut matrix = VectorMatrix::with_capacity(DIM, n);
    let probe_id = (n / 3) as i64;
    let mut probe = Vec::new();
    for id in 0..n as i64 {
        let v = rng.unit_vector(DIM);
        let q = vectors::quantize(&v);
        matrix.push(id, &q.values, q.scale).expect("push");
        if id == probe_id {
            probe = v;
        }
    }
    println!(
        "built {n} vectors of dim {DIM} in {:.1} s: matrix {:.1} MB ({:.1} MB of int8 values)",
        start.elapsed().as_secs_f64(),
        matrix.memory_bytes() as f64 / 1e6,
        (n * DIM) as f64 / 1e6
    );
    println!("kernel: {}, cores: {cores}", vectors::kernel_name());

    // A vector must find itself first: a sanity check on the scan at full size.
    let found = matrix.top_k(&probe, 1, None).expect("probe");
    assert_eq!(found.first().map(|hit| hit.0), Some(probe_id), "probe vector not found first: {found:?}");

    let queries: Vec<Vec<f32>> = (0..query_count).map(|_| rng.unit_vector(DIM)).collect();
    // Documents' chunks arrive together, so a source filter allows runs of ids: here 10% of them.
    let filter = matrix.filter_by(|id| (id / 1000) % 10 == 0);
    let mut words = vec![0u64; n * DIM / 8];
    words.iter_mut().for_each(|w| *w = rng.next_u64());

    // The configurations take turns query by query (and the floor every tenth query), so that
    // load from other processes, which comes and goes, weighs on all of them alike.
    let timed = |matrix: &VectorMatrix, query: &[f32], filter: Option<&RowFilter>| {
        let start = Instant::now();
        black_box(matrix.top_k(black_box(query), K, filter).expect("query"));
        start.elapsed()
    };
    for query in queries.iter().take(3) {
        timed(&matrix, query, None);
    }
    let (mut all_cores, mut filtered, mut one_thread) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor_all, mut floor_one) = (Vec::new(), Vec::new());
    for (i, query) in queries.iter().enumerate() {
        matrix.set_max_threads(0);
        all_cores.push(timed(&matrix, query, None));
        filtered.push(timed(&matrix, query, Some(&filter)));
        matrix.set_max_threads(1);
        one_thread.push(timed(&matrix, query, None));
        if i % 10 == 0 {
            floor_all.push(sum_floor(&words, cores));
            floor_one.push(sum_floor(&words, 1));
        }
    }

    println!("\n{query_count} queries, top_k(k = {K}), latency in ms:");
    println!("{:<34} {:>8} {:>8} {:>8} {:>8}", "", "median", "p95", "p99", "max");
    report(&format!("all cores ({} threads)", cores.min(8)), all_cores);
    report(&format!("filtered to {}% of rows", filter.allowed() * 100 / n.max(1)), filtered);
    report("1 thread", one_thread);
    println!(
        "\nbandwidth floor: a sum over {:.0} MB of u64s, {} times",
        (words.len() * 8) as f64 / 1e6,
        floor_all.len()
    );
    for (label, times) in [(format!("{cores} threads"), floor_all), ("1 thread".to_string(), floor_one)] {
        let [median, ..] = percentiles(times);
        println!("{label:<34} {median:>8.2} ms median ({:.1} GB/s)", (words.len() * 8) as f64 / median / 1e6);
    }
}
