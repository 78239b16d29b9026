//! Packages written before the one-dialect manifest (format version 1) still read, through the
//! migration. The files in `tests/data/v1/` are the default models' manifests exactly as the
//! converters of 2026-11 wrote them; the engine test `a_version_1_package_still_loads` runs them.

use std::path::Path;

use onyx_convert::folder::{Layout, ModelFolder};
use onyx_convert::hf::Pooling;
use onyx_convert::manifest::{FORMAT_VERSION, MANIFEST_FILE, Manifest, ModelKind, QuantScheme, Shapes, Target};

fn v1(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1").join(format!("{name}.onyx-model.json"))
}

#[test]
fn a_version_1_chat_manifest_migrates() {
    let manifest = Manifest::read(&v1("smollm2-135m-instruct")).expect("v1 chat manifest");
    assert_eq!(manifest.format_version, FORMAT_VERSION);
    assert_eq!(manifest.kind, ModelKind::Chat);
    assert_eq!(manifest.architecture.name, "llama");
    assert_eq!(
        (manifest.architecture.layers, manifest.architecture.kv_heads, manifest.architecture.head_dim),
        (Some(30), Some(3), Some(64))
    );
    assert_eq!(manifest.context_length, 8192);
    let chat = manifest.chat.as_ref().expect("chat section");
    assert_eq!((chat.special_tokens.bos, chat.special_tokens.eos.as_slice()), (Some(1), [2].as_slice()));
    assert!(manifest.embedding.is_none());

    let cpu = manifest.variant(Target::Cpu).expect("cpu variant");
    assert_eq!((cpu.quant, cpu.shapes), (QuantScheme::Int4, Shapes::Dynamic));
    assert_eq!(cpu.files, ["model.cpu.onnx"]);
    assert_eq!(cpu.data_file.as_deref(), Some("model.cpu.data"));
    let npu = manifest.variant(Target::Npu).expect("npu variant");
    assert_eq!(npu.quant, QuantScheme::Int8);
    // v1's {"static": {"context": 1024, "chunk": 64}}: the chunk is the prefill graph's sequence.
    assert_eq!(npu.shapes, Shapes::Static { batch: 1, sequence: 64, context: Some(1024) });
    assert_eq!(npu.files, ["model.npu.prefill.onnx", "model.npu.decode.onnx"]);

    // Written again, it is a version 2 manifest that reads back to the same value.
    let text = serde_json::to_string(&manifest).expect("json");
    assert!(text.contains(r#""formatVersion":2"#) && text.contains(r#""shapes":"dynamic""#), "{text}");
    assert_eq!(Manifest::parse(Path::new("again"), text.as_bytes()).expect("v2"), manifest);
}

#[test]
fn a_version_1_embedding_manifest_migrates() {
    let manifest = Manifest::read(&v1("all-minilm-l6-v2")).expect("v1 embedding manifest");
    assert_eq!((manifest.format_version, manifest.kind), (FORMAT_VERSION, ModelKind::Embedding));
    assert_eq!(manifest.architecture.name, "bert");
    assert_eq!(manifest.architecture.layers, None, "version 1 recorded no sizes for encoders");
    assert_eq!(manifest.context_length, 256);
    let embedding = manifest.embedding.as_ref().expect("embedding section");
    assert_eq!((embedding.dim, embedding.pooling, embedding.normalize), (384, Pooling::Mean, true));
    assert!(manifest.chat.is_none());

    let cpu = manifest.variant(Target::Cpu).expect("cpu variant");
    // v1's `file` and `{"dynamic": true}`.
    assert_eq!((cpu.files.as_slice(), cpu.shapes), (["model.cpu.onnx".to_owned()].as_slice(), Shapes::Dynamic));
    assert_eq!(cpu.quant, QuantScheme::Int8);
    let npu = manifest.variant(Target::Npu).expect("npu variant");
    assert_eq!(npu.shapes, Shapes::Static { batch: 1, sequence: 256, context: None });
    assert_eq!(npu.data_file.as_deref(), Some("model.npu.data"));
}

#[test]
fn a_folder_with_a_version_1_manifest_opens_as_a_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(v1("all-minilm-l6-v2"), dir.path().join(MANIFEST_FILE)).expect("copy");
    for file in ["tokenizer.json", "model.cpu.onnx", "model.cpu.data", "model.npu.onnx", "model.npu.data"] {
        std::fs::write(dir.path().join(file), b"").expect("write");
    }
    let folder = ModelFolder::open(dir.path()).expect("opens");
    assert_eq!(folder.format_version, Some(1), "the version on disk is kept for the report");
    assert_eq!(folder.kind, ModelKind::Embedding);
    assert!(matches!(&folder.layout, Layout::Onyx(m) if m.format_version == FORMAT_VERSION));
    assert_eq!(folder.targets(), [Target::Cpu, Target::Npu]);

    // A damaged version 1 manifest names the file and the field.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v1("all-minilm-l6-v2")).expect("read")).expect("json");
    json["variants"][0]["shapes"] = serde_json::json!({"dynamic": true, "static": {"batch": 1, "sequence": 8}});
    std::fs::write(dir.path().join(MANIFEST_FILE), json.to_string()).expect("write");
    let err = ModelFolder::open(dir.path()).expect_err("ambiguous shapes").to_string();
    assert!(err.contains(MANIFEST_FILE) && err.contains("variant model.cpu.onnx: shapes must be"), "{err}");
}
