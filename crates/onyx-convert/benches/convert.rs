//! How long converting the default chat model takes (GGUF → int4 cpu + int8 npu package), and
//! its parts: reading and dequantizing every tensor, and building each variant.
//!
//! `cargo bench -p onyx-convert --bench convert` (needs `scripts/setup.sh` to have fetched the
//! model; it panics otherwise).

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use onyx_convert::chat::{ChatOptions, convert_gguf_chat};
use onyx_convert::gguf::GgufFile;
use onyx_convert::gguf_llama::{GgufWeights, config_from_gguf};
use onyx_convert::llama::{self, CpuOptions, NpuOptions};

fn default_gguf() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

fn convert(c: &mut Criterion) {
    let path = default_gguf();
    let gguf = GgufFile::open(&path).expect("open");
    let config = config_from_gguf(&gguf).expect("config");
    let weights = GgufWeights::new(&gguf, &config);
    // Any in-vocabulary ids do for timing the graph build; the converter itself calibrates on text.
    let ids: Vec<u32> = (0..64u32).map(|i| i * 97 % config.vocab as u32).collect();
    let calibration = llama::calibration::calibrate(&config, &weights, &[ids]).expect("calibration");

    let mut group = c.benchmark_group("smollm2-135m");
    group.sample_size(10);
    group.bench_function("dequantize all tensors", |b| {
        b.iter(|| {
            for tensor in gguf.tensors() {
                std::hint::black_box(gguf.dequantize(&tensor.name).expect("dequantize"));
            }
        })
    });
    group.bench_function("build cpu int4 graph", |b| {
        b.iter(|| std::hint::black_box(llama::build_cpu(&config, &weights, CpuOptions::int4()).expect("cpu").encode()))
    });
    group.bench_function("build npu int8 decode graph", |b| {
        b.iter(|| {
            std::hint::black_box(
                llama::build_npu(&config, &weights, NpuOptions::default(), 1, Some(&calibration))
                    .expect("npu")
                    .encode(),
            )
        })
    });
    let out = tempfile::tempdir().expect("tempdir");
    group.bench_function("whole package (cpu + npu, written to disk)", |b| {
        b.iter(|| {
            convert_gguf_chat(
                &path,
                &out.path().join("pkg"),
                &ChatOptions::default(),
                &mut onyx_convert::progress::no_progress,
            )
            .expect("convert")
        })
    });
    group.finish();
}

criterion_group!(benches, convert);
criterion_main!(benches);
