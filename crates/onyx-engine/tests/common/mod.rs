//! Helpers the engine's test files share: the repository, the golden reference, and package
//! copies with an edited manifest.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

use onyx_engine::template::Message;

/// The repository checkout.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One chat case of `shared/reference/golden.json`.
pub struct GoldenCase {
    pub messages: Vec<Message>,
    pub prompt_ids: Vec<u32>,
    pub greedy_ids: Vec<u32>,
    pub greedy_text: String,
}

/// The chat cases of the golden reference.
pub fn golden_cases() -> Vec<GoldenCase> {
    let path = repo_root().join("../shared/reference/golden.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .expect("golden.json");
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array().expect("ids").iter().map(|x| x.as_u64().expect("id") as u32).collect()
    };
    golden["chat"]
        .as_array()
        .expect("chat")
        .iter()
        .map(|case| GoldenCase {
            messages: serde_json::from_value(case["messages"].clone()).expect("messages"),
            prompt_ids: ids(&case["prompt_ids"]),
            greedy_ids: ids(&case["greedy_ids"]),
            greedy_text: case["greedy_text"].as_str().expect("text").to_owned(),
        })
        .collect()
}

/// A copy of `package` (files hard-linked where possible) with `manifest` as its manifest.
pub fn with_manifest(package: &Path, manifest: &serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(package).expect("list package") {
        let entry = entry.expect("entry");
        let to = dir.path().join(entry.file_name());
        if entry.file_name() != "onyx-model.json" && std::fs::hard_link(entry.path(), &to).is_err() {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
    std::fs::write(dir.path().join("onyx-model.json"), manifest.to_string()).expect("write manifest");
    dir
}

/// `manifest` with only its npu variant.
pub fn only_npu(mut manifest: serde_json::Value) -> serde_json::Value {
    manifest["variants"].as_array_mut().expect("variants").retain(|v| v["target"] == "npu");
    manifest
}
