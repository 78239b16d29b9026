//! Converting chat models end to end on tiny files made in the test: the package's contents,
//! and every bad input giving an error that names the file and the problem, with nothing
//! half-written left behind.

use std::path::Path;

use onyx_convert::ConvertError;
use onyx_convert::chat::{ChatOptions, Progress, convert_gguf_chat, convert_hf_chat};
use onyx_convert::llama::{CpuOptions, NpuOptions};
use onyx_convert::manifest::QuantScheme;
use onyx_convert::tiny;

fn small_options() -> ChatOptions {
    ChatOptions {
        cpu: Some(CpuOptions::int4()),
        npu: Some(NpuOptions { context: 32, chunk: 4, quant: QuantScheme::Int8 }),
    }
}

/// Nothing but `keep` may be in `dir`: no package, no `.partial-*` folder.
fn assert_only(dir: &Path, keep: &[&str]) {
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut keep: Vec<String> = keep.iter().map(|s| (*s).to_owned()).collect();
    keep.sort();
    assert_eq!(left, keep, "unexpected leftovers in {}", dir.display());
}

fn convert_tiny_gguf(
    arch: &str,
    edit: impl FnOnce(&mut tiny::TinyWeights),
) -> (tempfile::TempDir, Result<(), ConvertError>) {
    let config = tiny::tiny_config(arch == "qwen2");
    let mut weights = tiny::tiny_weights(&config, 3);
    edit(&mut weights);
    let dir = tempfile::tempdir().expect("tempdir");
    let gguf = dir.path().join("tiny.gguf");
    tiny::write_gguf(&config, &weights, &gguf, arch).expect("write gguf");
    let result =
        convert_gguf_chat(&gguf, &dir.path().join("out"), &small_options(), &mut onyx_convert::progress::no_progress)
            .map(|_| ());
    (dir, result)
}

#[test]
fn a_tiny_gguf_becomes_a_complete_package() {
    let (dir, result) = convert_tiny_gguf("llama", |_| {});
    result.expect("convert");
    let out = dir.path().join("out");
    for file in [
        "onyx-model.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "genai_config.json",
        "model.cpu.onnx",
        "model.npu.prefill.onnx",
        "model.npu.decode.onnx",
        "model.npu.data",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("onyx-model.json")).expect("manifest")).expect("json");
    assert_eq!(manifest["kind"], "chat");
    assert_eq!(manifest["formatVersion"], 2);
    assert_eq!(manifest["architecture"]["kvHeads"], 2);
    assert_eq!(manifest["chat"]["logits"], "last");
    assert_eq!(manifest["source"]["file"], "tiny.gguf");
    assert_eq!(manifest["source"]["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(manifest["variants"][0]["quant"], "int4");
    assert_eq!(manifest["variants"][0]["shapes"], "dynamic");
    assert_eq!(manifest["variants"][1]["quant"], "int8");
    assert_eq!(
        manifest["variants"][1]["shapes"],
        serde_json::json!({"static": {"batch": 1, "sequence": 4, "context": 32}})
    );
    assert_eq!(
        manifest["variants"][1]["files"],
        serde_json::json!(["model.npu.prefill.onnx", "model.npu.decode.onnx"])
    );
    let tokenizer = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).expect("tokenizer loads");
    let ids = tokenizer.encode("ab a", false).expect("encode").get_ids().to_vec();
    // "ab" merges into one token (id 96), " a" into "Ġa" (id 95).
    assert_eq!(ids, vec![96, 95]);
    assert_only(dir.path(), &["out", "tiny.gguf"]);
}

#[test]
fn an_unsupported_architecture_is_named() {
    let (dir, result) = convert_tiny_gguf("mamba", |_| {});
    let message = result.expect_err("mamba").to_string();
    assert!(message.contains("tiny.gguf") && message.contains("unsupported: architecture 'mamba'"), "{message}");
    assert_only(dir.path(), &["tiny.gguf"]);
}

#[test]
fn inconsistent_shapes_name_the_tensor() {
    let (dir, result) = convert_tiny_gguf("llama", |weights| {
        weights.insert("blk.1.ffn_up.weight", vec![95, 64], vec![0.0; 95 * 64]);
    });
    let message = result.expect_err("bad shape").to_string();
    assert!(message.contains("tiny.gguf"), "{message}");
    assert!(message.contains("'blk.1.ffn_up.weight' has shape [95, 64], expected [96, 64]"), "{message}");
    assert_only(dir.path(), &["tiny.gguf"]);
}

#[test]
fn a_missing_tensor_is_named() {
    let (dir, result) = convert_tiny_gguf("llama", |weights| weights.remove("blk.0.attn_v.weight"));
    let message = result.expect_err("missing").to_string();
    assert!(message.contains("tensor 'blk.0.attn_v.weight' is missing"), "{message}");
    assert_only(dir.path(), &["tiny.gguf"]);
}

#[test]
fn truncated_and_foreign_files_are_rejected_cleanly() {
    let (dir, result) = convert_tiny_gguf("llama", |_| {});
    result.expect("convert");
    let gguf = dir.path().join("tiny.gguf");
    let bytes = std::fs::read(&gguf).expect("read");
    for (name, contents) in [
        ("truncated.gguf", bytes[..bytes.len() / 2].to_vec()),
        ("header-only.gguf", bytes[..10].to_vec()),
        ("not-gguf.gguf", b"PK\x03\x04 this is a zip file, not a model".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write");
        let out = dir.path().join(format!("{name}.out"));
        let message = convert_gguf_chat(&path, &out, &small_options(), &mut onyx_convert::progress::no_progress)
            .expect_err(name)
            .to_string();
        assert!(message.contains(name), "{name}: {message}");
        assert!(!out.exists(), "{name}: a package was left behind");
    }
}

#[test]
fn a_hugging_face_folder_without_a_tokenizer_is_named() {
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let hf = dir.path().join("hf");
    tiny::write_hf_folder(&config, &weights, &hf).expect("write");
    std::fs::remove_file(hf.join("tokenizer.json")).expect("remove");
    let message =
        convert_hf_chat(&hf, &dir.path().join("out"), &small_options(), &mut onyx_convert::progress::no_progress)
            .expect_err("no tokenizer")
            .to_string();
    assert!(message.contains("tokenizer.json is missing"), "{message}");
    assert!(message.contains("hf"), "{message}");
    assert_only(dir.path(), &["hf"]);
}

#[test]
fn a_failed_conversion_keeps_the_previous_package() {
    let (dir, result) = convert_tiny_gguf("llama", |_| {});
    result.expect("convert");
    let out = dir.path().join("out");
    let before = std::fs::read(out.join("onyx-model.json")).expect("manifest");
    let broken = dir.path().join("broken.gguf");
    std::fs::write(&broken, b"GGUF\x03\x00\x00\x00").expect("write");
    convert_gguf_chat(&broken, &out, &small_options(), &mut onyx_convert::progress::no_progress).expect_err("broken");
    assert_eq!(std::fs::read(out.join("onyx-model.json")).expect("manifest"), before);
    assert_only(dir.path(), &["broken.gguf", "out", "tiny.gguf"]);
}

/// The steps, in order, and the fractions reported while each ran (`""` before the first step).
fn by_step(events: &[Progress]) -> Vec<(&'static str, Vec<f32>)> {
    let mut steps: Vec<(&'static str, Vec<f32>)> = Vec::new();
    for event in events {
        match event {
            Progress::Step(step) => steps.push((step, Vec::new())),
            Progress::Fraction(done) => match steps.last_mut() {
                Some((_, fractions)) => fractions.push(*done),
                None => steps.push(("", vec![*done])),
            },
        }
    }
    steps
}

/// What every conversion's reports must look like: a first fraction of 0, never going back,
/// no jump larger than `max_jump`, and exactly 1.0 as the very last report and nowhere else.
fn assert_steady(events: &[Progress], max_jump: f32) {
    let fractions: Vec<f32> = by_step(events).into_iter().flat_map(|(_, fractions)| fractions).collect();
    assert!(fractions.first().is_some_and(|f| f.to_bits() == 0), "a first fraction of +0.0: {events:?}");
    assert_eq!(events.last(), Some(&Progress::Fraction(1.0)), "{events:?}");
    assert_eq!(fractions.iter().filter(|&&f| f >= 1.0).count(), 1, "1.0 before the end: {fractions:?}");
    for pair in fractions.windows(2) {
        assert!(pair[0] <= pair[1], "the fraction went back: {fractions:?}");
        assert!(pair[1] - pair[0] <= max_jump, "the fraction jumped by more than {max_jump}: {fractions:?}");
    }
}

#[test]
fn a_gguf_conversion_reports_a_fraction_that_rises_tensor_by_tensor_to_exactly_one() {
    let config = tiny::tiny_config(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let gguf = dir.path().join("tiny.gguf");
    tiny::write_gguf(&config, &tiny::tiny_weights(&config, 3), &gguf, "llama").expect("write gguf");
    let mut events = Vec::new();
    convert_gguf_chat(&gguf, &dir.path().join("out"), &small_options(), &mut |event| {
        events.push(event);
        std::ops::ControlFlow::Continue(())
    })
    .expect("convert");

    // The tiny files are hashed and written in one piece each, so writing a weight file is one
    // step of up to a sixth of its graph step's share; every other step is one tensor.
    assert_steady(&events, 0.12);
    let steps = by_step(&events);
    let names: Vec<&str> = steps.iter().map(|(step, _)| *step).collect();
    assert_eq!(names, ["reading", "tokenizer", "cpu graph", "npu graphs"]);
    // Each graph step moves the fraction many times (once per tensor or so), through its share.
    for (step, fractions) in &steps[2..] {
        assert!(fractions.len() >= 10, "{step}: only {} reports: {fractions:?}", fractions.len());
    }
    // The npu step (two graphs) is the larger share, and it starts where the cpu step ends.
    let span = |fractions: &[f32]| fractions.last().copied().unwrap_or(0.0) - fractions.first().copied().unwrap_or(0.0);
    assert!(span(&steps[3].1) > span(&steps[2].1), "{steps:?}");
}

#[test]
fn a_hugging_face_conversion_of_one_variant_reports_progress_too() {
    let config = tiny::tiny_config(true);
    let weights = tiny::tiny_weights(&config, 5);
    let dir = tempfile::tempdir().expect("tempdir");
    let hf = dir.path().join("hf");
    tiny::write_hf_folder(&config, &weights, &hf).expect("write");
    let cpu_only = ChatOptions { cpu: Some(CpuOptions::exact()), npu: None };
    let mut events = Vec::new();
    convert_hf_chat(&hf, &dir.path().join("out"), &cpu_only, &mut |event| {
        events.push(event);
        std::ops::ControlFlow::Continue(())
    })
    .expect("convert");

    // Without the npu variant, the cpu graph takes all of the graph share, so writing its weight
    // file in one piece is a larger step.
    assert_steady(&events, 0.15);
    let steps = by_step(&events);
    let names: Vec<&str> = steps.iter().map(|(step, _)| *step).collect();
    assert_eq!(names, ["reading", "tokenizer", "cpu graph"]);
    let cpu = &steps[2].1;
    assert!(cpu.first().is_some_and(|&f| f < 0.2) && cpu.last() == Some(&1.0), "{steps:?}");
}

#[test]
fn a_failed_conversion_never_reports_one() {
    let (dir, result) = convert_tiny_gguf("llama", |weights| weights.remove("blk.1.ffn_down.weight"));
    result.expect_err("missing tensor");
    let gguf = dir.path().join("tiny.gguf");
    let mut events = Vec::new();
    convert_gguf_chat(&gguf, &dir.path().join("out"), &small_options(), &mut |event| {
        events.push(event);
        std::ops::ControlFlow::Continue(())
    })
    .expect_err("missing tensor");
    assert!(!events.contains(&Progress::Fraction(1.0)), "{events:?}");
    assert!(events.contains(&Progress::Step("cpu graph")), "it failed while building: {events:?}");
}

#[test]
fn a_progress_callback_that_breaks_cancels_and_leaves_nothing_behind() {
    let config = tiny::tiny_config(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let gguf = dir.path().join("tiny.gguf");
    tiny::write_gguf(&config, &tiny::tiny_weights(&config, 3), &gguf, "llama").expect("write gguf");
    let mut in_cpu_graph = 0;
    let mut after_break = 0;
    let mut step = "";
    let result = convert_gguf_chat(&gguf, &dir.path().join("out"), &small_options(), &mut |event| {
        if in_cpu_graph >= 3 {
            after_break += 1;
        }
        if let Progress::Step(name) = event {
            step = name;
        }
        if step == "cpu graph" {
            in_cpu_graph += 1;
            // A few tensors into the graph, well inside the step.
            if in_cpu_graph >= 3 {
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    assert!(matches!(result, Err(ConvertError::Cancelled)), "{result:?}");
    assert_eq!(after_break, 0, "no report after the one that stopped it");
    assert_only(dir.path(), &["tiny.gguf"]);
}
