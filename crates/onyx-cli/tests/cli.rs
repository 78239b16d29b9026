//! The `onyx` command as scripts and users see it: output, exit codes and error lines.
//!
//! Each test runs the real binary in its own process, which is also the only way to test
//! runtime-loading failures: ONNX Runtime, once loaded, stays loaded for the life of a process.
//! These tests need `scripts/setup.sh` to have installed runtime/; they fail, not skip, without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ggml_plugin_dir() -> PathBuf {
    repo_root().join("runtime/test-plugins/ggml/onnxruntime_ggml/lib")
}

fn onyx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onyx"))
        .args(args)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("ONYX_RUNTIME")
        .env("ORT_GGML_LOG", "error")
        .output()
        .expect("run onyx")
}

/// Runs a copy of `onyx` from an empty folder, so that neither the executable's folder nor the
/// working directory leads to the repository's runtime/: only what the test passes is found.
fn onyx_isolated(dir: &Path, args: &[&str]) -> Output {
    let exe = dir.join("onyx");
    std::fs::copy(env!("CARGO_BIN_EXE_onyx"), &exe).expect("copy onyx");
    Command::new(&exe)
        .args(args)
        .current_dir(dir)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("ONYX_RUNTIME")
        .output()
        .expect("run onyx copy")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The contract for every failure: exit code 1, exactly one `error:` line, no panic.
fn assert_one_line_error(output: &Output) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_owned()
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", text(&output.stdout)))
}

#[test]
fn devices_json_lists_the_cpu_ep_and_plugin_devices() {
    let plugin_dir = ggml_plugin_dir();
    let devices = json(&onyx(&["--plugin-dir", plugin_dir.to_str().expect("utf-8"), "devices", "--json"]));
    let devices = devices.as_array().expect("array");
    let eps: Vec<&str> = devices.iter().filter_map(|d| d["epName"].as_str()).collect();
    assert!(eps.contains(&"CPUExecutionProvider"), "{eps:?}");
    assert!(eps.contains(&"ggml"), "{eps:?}");
    for device in devices {
        for key in ["epVendor", "hardwareVendor", "kind", "deviceId", "vendorId", "epMetadata", "hardwareMetadata"] {
            assert!(!device[key].is_null(), "{key} missing in {device}");
        }
    }
    // OpenVINO's plugin serves Intel hardware only (vendor 0x8086 = 32902).
    let intel = devices.iter().any(|d| d["epName"] == "CPUExecutionProvider" && d["vendorId"] == 32902);
    let openvino = eps.iter().filter(|ep| ep.starts_with("OpenVINOExecutionProvider")).count();
    assert_eq!(openvino > 0, intel, "OpenVINO devices {openvino}, Intel CPU {intel}: {eps:?}");
}

#[test]
fn devices_table_is_readable() {
    let output = onyx(&["devices"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    assert!(stdout.contains("KIND") && stdout.contains("CPUExecutionProvider"), "{stdout}");
}

#[test]
fn doctor_asked_for_npu_says_none_was_found_and_falls_back_to_cpu() {
    let output = onyx(&["doctor", "--provider", "npu"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));
    assert!(stdout.contains("version  1.32.0"), "{stdout}");
    assert!(stdout.contains("fell back  NPU on -: no NPU found on this machine"), "{stdout}");
    assert!(stdout.contains("running    CPUExecutionProvider on"), "{stdout}");

    let report = json(&onyx(&["doctor", "--provider", "npu", "--json"]));
    let provider = &report["provider"];
    assert_eq!(provider["requested"], "npu");
    assert_eq!(provider["active"]["ep"], "CPUExecutionProvider");
    assert_eq!(provider["active"]["nodesOnEp"], provider["active"]["nodesTotal"]);
    assert_eq!(provider["tried"][0]["reason"], "no NPU found on this machine");
}

#[test]
fn unknown_provider_is_one_line_naming_the_value() {
    let line = assert_one_line_error(&onyx(&["doctor", "--provider", "tpu"]));
    assert!(line.starts_with("error: unknown provider 'tpu'"), "{line}");
    assert!(line.contains("CPUExecutionProvider"), "{line}");
}

#[test]
fn missing_runtime_library_lists_every_place_tried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere").join("libonnxruntime.so");
    let line =
        assert_one_line_error(&onyx_isolated(dir.path(), &["--runtime", missing.to_str().expect("utf-8"), "devices"]));
    assert!(line.starts_with("error: could not load ONNX Runtime; tried "), "{line}");
    assert!(line.contains(&format!("{} (not found)", missing.display())), "{line}");
    // The executable's own folder is the next place looked at.
    assert!(line.contains(&dir.path().join("libonnxruntime.so").display().to_string()), "{line}");
}

#[test]
fn corrupt_runtime_library_names_the_file_and_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corrupt = dir.path().join("libonnxruntime.so");
    std::fs::write(&corrupt, vec![0x42u8; 4096]).expect("write");
    let line =
        assert_one_line_error(&onyx_isolated(dir.path(), &["--runtime", corrupt.to_str().expect("utf-8"), "doctor"]));
    assert!(line.contains(&corrupt.display().to_string()), "{line}");
    assert!(line.contains("invalid ELF header") || line.contains("not a valid"), "{line}");
}

#[test]
fn broken_or_missing_plugins_are_reported_and_never_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A garbage file under a known plugin name, and the real OpenVINO plugin without the
    // OpenVINO libraries it needs.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).expect("mkdir");
    std::fs::write(broken.join("libonnxruntime_providers_webgpu.so"), b"not a library").expect("write");
    let lonely = dir.path().join("lonely");
    std::fs::create_dir(&lonely).expect("mkdir");
    let plugin = "libonnxruntime_providers_openvino_plugin.so";
    std::fs::copy(repo_root().join("runtime/openvino").join(plugin), lonely.join(plugin)).expect("copy plugin");

    for (dir, file) in [(&broken, "libonnxruntime_providers_webgpu.so"), (&lonely, plugin)] {
        let output = onyx(&["--plugin-dir", dir.to_str().expect("utf-8"), "doctor", "--json"]);
        let report = json(&output);
        let plugins = report["plugins"].as_array().expect("plugins");
        let failed = plugins
            .iter()
            .find(|p| p["path"].as_str().is_some_and(|path| path.starts_with(dir.to_str().expect("utf-8"))))
            .unwrap_or_else(|| panic!("{file} not reported: {plugins:?}"));
        assert_eq!(failed["status"], "failed", "{failed}");
        let error = failed["error"].as_str().expect("error text");
        assert!(!error.is_empty(), "{failed}");
        if dir == &lonely {
            assert!(error.contains("libopenvino"), "should name the missing dependency: {error}");
        }
        // The CPU path is untouched.
        assert_eq!(report["provider"]["active"]["ep"], "CPUExecutionProvider", "{report}");
    }

    let missing_dir = dir.path().join("no-such-folder");
    let report = json(&onyx(&["--plugin-dir", missing_dir.to_str().expect("utf-8"), "doctor", "--json"]));
    let entry = report["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["path"] == missing_dir.to_str().expect("utf-8"))
        .unwrap_or_else(|| panic!("missing folder not reported: {report}"));
    assert!(entry["error"].as_str().is_some_and(|e| e.starts_with("cannot read plugin folder")), "{entry}");
}

#[test]
fn strict_npu_without_an_npu_fails_with_the_reason() {
    let line = assert_one_line_error(&onyx(&["doctor", "--provider", "npu", "--strict"]));
    assert!(line.contains("no NPU found on this machine"), "{line}");
}

#[test]
fn an_unusable_runtime_flag_is_warned_about_when_another_library_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corrupt = dir.path().join("libonnxruntime.so");
    std::fs::write(&corrupt, b"garbage").expect("write");
    let output = onyx(&["--runtime", corrupt.to_str().expect("utf-8"), "devices"]);
    assert!(output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("warning: --runtime {} was not usable", corrupt.display())), "{stderr}");
    assert!(stderr.contains("runtime/libonnxruntime.so"), "{stderr}");
}

/// A tiny chat package with fp32 npu graphs, which the ggml plugin EP runs whole.
fn tiny_npu_package(dir: &Path) -> PathBuf {
    use onyx_convert::chat::{ChatOptions, convert_gguf_chat};
    use onyx_convert::llama::{CpuOptions, NpuOptions};
    use onyx_convert::manifest::QuantScheme;
    let config = onyx_convert::tiny::tiny_config(false);
    let weights = onyx_convert::tiny::tiny_weights(&config, 3);
    let gguf = dir.join("tiny.gguf");
    onyx_convert::tiny::write_gguf(&config, &weights, &gguf, "llama").expect("gguf");
    let out = dir.join("tiny");
    let options = ChatOptions {
        cpu: Some(CpuOptions::int4()),
        npu: Some(NpuOptions { context: 32, chunk: 4, quant: QuantScheme::Fp32 }),
    };
    convert_gguf_chat(&gguf, &out, &options, &mut onyx_convert::progress::no_progress).expect("convert");
    out
}

#[test]
fn doctor_reports_the_placement_of_both_npu_chat_graphs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let package = tiny_npu_package(dir.path());
    let plugins = ggml_plugin_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_onyx"))
        .args(["--plugin-dir", plugins.to_str().expect("utf-8"), "doctor", "--provider", "npu", "--json", "-m"])
        .arg(&package)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("ONYX_RUNTIME")
        .env("ORT_GGML_LOG", "error")
        .env("ONYX_NPU_STAND_IN", "ggml")
        .output()
        .expect("run onyx");
    let report = json(&output);
    let provider = &report["chatModel"]["provider"];
    assert_eq!(provider["ep"], "ggml", "{report:#}");
    assert_eq!(provider["deviceKind"], "npu", "{report:#}");
    let graphs = provider["graphs"].as_array().expect("graphs");
    let names: Vec<&str> = graphs.iter().filter_map(|g| g["graph"].as_str()).collect();
    assert_eq!(names, ["model.npu.prefill.onnx", "model.npu.decode.onnx"], "{report:#}");
    for graph in graphs {
        let (on_ep, total) = (graph["nodesOnEp"].as_u64(), graph["nodesTotal"].as_u64());
        assert!(total.is_some_and(|t| t > 0) && on_ep == total, "the fp32 npu graphs run whole on ggml: {graph}");
    }
    let sum: u64 = graphs.iter().filter_map(|g| g["nodesTotal"].as_u64()).sum();
    assert_eq!(provider["nodesTotal"].as_u64(), Some(sum), "the totals cover both graphs");

    // Asked for the CPU, the same machine runs the dynamic graph: one graph, on the CPU EP.
    let output = Command::new(env!("CARGO_BIN_EXE_onyx"))
        .args(["--plugin-dir", plugins.to_str().expect("utf-8"), "doctor", "--provider", "cpu", "--json", "-m"])
        .arg(&package)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("ONYX_RUNTIME")
        .env("ORT_GGML_LOG", "error")
        .env("ONYX_NPU_STAND_IN", "ggml")
        .output()
        .expect("run onyx");
    let report = json(&output);
    let graphs = report["chatModel"]["provider"]["graphs"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = graphs.iter().filter_map(|g| g["graph"].as_str()).collect();
    assert_eq!(names, ["model.cpu.onnx"], "{report:#}");
}

/// `onyx chat` in a home whose app data folder is `data` (None: a home without the app's files).
fn chat_as_the_app(home: &Path, data: Option<&Path>, args: &[&str]) -> Output {
    let empty = home.join("no-app-data");
    Command::new(env!("CARGO_BIN_EXE_onyx"))
        .args(["chat", "-p", "What is an NPU?", "--json"])
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", data.unwrap_or(&empty))
        .env_remove("ONYX_MODELS")
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("ONYX_RUNTIME")
        .output()
        .expect("run onyx chat")
}

/// With no flags, `onyx chat` answers as the app's settings say (its system prompt, generation
/// parameters and provider), exactly as the same values given as flags; a flag still wins; and a
/// damaged settings file is repaired in memory, named in a warning, and left untouched.
#[test]
fn chat_with_no_flags_follows_the_app_settings() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    let app = data.join(onyx_engine::app_data::APP_IDENTIFIER);
    std::fs::create_dir_all(&app).expect("mkdir");
    let settings = serde_json::json!({"settings": {
        "temperature": 0.0, "maxTokens": 6, "systemPrompt": "Answer in one word.", "provider": "cpu"
    }});
    std::fs::write(app.join("settings.json"), settings.to_string()).expect("write settings");

    let from_settings = json(&chat_as_the_app(home.path(), Some(&data), &[]));
    let flags = ["--temperature", "0", "--max-tokens", "6", "--system", "Answer in one word.", "--provider", "cpu"];
    let from_flags = json(&chat_as_the_app(home.path(), None, &flags));
    let ids = |reply: &Value| reply["token_ids"].as_array().cloned().unwrap_or_default();
    assert!(!ids(&from_settings).is_empty(), "{from_settings}");
    assert!(ids(&from_settings).len() <= 6, "maxTokens from the settings: {from_settings}");
    assert_eq!(ids(&from_settings), ids(&from_flags), "the settings must act as the same flags would");
    assert_eq!(from_settings["provider"]["ep"], "CPUExecutionProvider");
    // Without the settings' system prompt the prompt differs (the template then puts in its own):
    // the settings' prompt really went in.
    let bare = json(&chat_as_the_app(home.path(), None, &["--temperature", "0", "--max-tokens", "6", "--system", ""]));
    assert_ne!(bare["prompt_tokens"], from_settings["prompt_tokens"], "{bare} / {from_settings}");

    // A flag wins over the settings.
    let shorter = json(&chat_as_the_app(home.path(), Some(&data), &["--max-tokens", "2"]));
    assert_eq!(ids(&shorter)[..], ids(&from_settings)[..2]);

    // A bad value costs only itself; the file is the app's, so the CLI leaves it as it is.
    let damaged = r#"{"settings": {"temperature": "hot", "maxTokens": 6, "provider": "cpu"}}"#;
    std::fs::write(app.join("settings.json"), damaged).expect("write settings");
    let output = chat_as_the_app(home.path(), Some(&data), &[]);
    let warning = text(&output.stderr);
    assert!(warning.contains("warning: Settings file") && warning.contains("temperature"), "{warning}");
    assert!(ids(&json(&output)).len() <= 6);
    assert_eq!(std::fs::read_to_string(app.join("settings.json")).ok().as_deref(), Some(damaged));
    assert_eq!(std::fs::read_dir(&app).expect("list").count(), 1, "nothing moved aside or added");
}
