//! Which package variant a provider choice runs (issue 11): `cpu` and `gpu` never run the npu
//! variant, even on a machine with an NPU; `npu` does; and when the npu variant is refused, the
//! reason reaches `ActiveProvider::tried`. The machine's NPU is the ggml plugin EP, reported as
//! an NPU (`RuntimeConfig::npu_stand_in`): a real plugin EP that runs the fp32 npu graphs whole.

use std::path::{Path, PathBuf};

use onyx_convert::chat::{ChatOptions, convert_gguf_chat};
use onyx_convert::llama::{CpuOptions, NpuOptions};
use onyx_convert::manifest::QuantScheme;
use onyx_convert::manifest::Target;
use onyx_convert::tiny;
use onyx_engine::Engine;
use onyx_runtime::{DeviceKind, ProviderChoice, RuntimeConfig};

const STAND_IN: &str = "ggml";

fn engine() -> Engine {
    let plugin_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/test-plugins/ggml/onnxruntime_ggml/lib");
    let config =
        RuntimeConfig { library_path: None, plugin_dir: Some(plugin_dir), npu_stand_in: Some(STAND_IN.into()) };
    let engine = Engine::new(&config).unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"));
    assert!(
        engine.runtime().devices().iter().any(|d| d.ep_name == STAND_IN && d.kind == DeviceKind::Npu),
        "the ggml plugin must be registered as the stand-in NPU: {:?}",
        engine.runtime().devices()
    );
    engine
}

/// A tiny random-weight chat package with both variants: an int4 cpu graph and fp32 npu graphs.
fn package(dir: &Path) -> PathBuf {
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 7);
    let gguf = dir.join("tiny.gguf");
    tiny::write_gguf(&config, &weights, &gguf, "llama").expect("gguf");
    let out = dir.join("tiny");
    let options = ChatOptions {
        cpu: Some(CpuOptions::int4()),
        npu: Some(NpuOptions { context: 32, chunk: 4, quant: QuantScheme::Fp32 }),
    };
    convert_gguf_chat(&gguf, &out, &options, &mut onyx_convert::progress::no_progress).expect("convert");
    out
}

fn variant(engine: &Engine) -> Target {
    engine.with_chat_model(|model| model.variant()).expect("a chat model is loaded")
}

#[test]
fn cpu_and_gpu_never_run_the_npu_variant_on_a_machine_with_an_npu() {
    let engine = engine();
    let dir = tempfile::tempdir().expect("tempdir");
    let package = package(dir.path());

    // The control: asking for the NPU runs the npu variant there, so the NPU can take it.
    let on_npu = engine.load_chat(&package, &ProviderChoice::Npu, false).expect("load on the npu");
    assert_eq!(variant(&engine), Target::Npu, "{on_npu:?}");
    assert_eq!((on_npu.ep.as_str(), on_npu.device_kind), (STAND_IN, DeviceKind::Npu), "{on_npu:?}");

    let on_cpu = engine.load_chat(&package, &ProviderChoice::Cpu, false).expect("load on the cpu");
    assert_eq!(variant(&engine), Target::Cpu, "{on_cpu:?}");
    assert_eq!(on_cpu.ep, onyx_runtime::CPU_EP);

    // No GPU here: `gpu` falls back to the CPU, with the dynamic graph, and says why.
    let on_gpu = engine.load_chat(&package, &ProviderChoice::Gpu, false).expect("load for the gpu");
    assert_eq!(variant(&engine), Target::Cpu, "{on_gpu:?}");
    assert_eq!(on_gpu.ep, onyx_runtime::CPU_EP);
    assert!(on_gpu.tried.iter().any(|a| a.reason == "no GPU found on this machine"), "{:?}", on_gpu.tried);
    assert!(!on_gpu.tried.iter().any(|a| a.reason.contains("npu variant")), "{:?}", on_gpu.tried);
}

#[test]
fn a_refused_npu_variant_leaves_its_reason_in_tried() {
    let engine = engine();
    let dir = tempfile::tempdir().expect("tempdir");
    let package = package(dir.path());
    // A prefill graph no device can load: the npu variant is refused wherever it is tried.
    std::fs::write(package.join("model.npu.prefill.onnx"), b"not an onnx graph").expect("damage the graph");

    for choice in [ProviderChoice::Npu, ProviderChoice::Auto, ProviderChoice::parse(STAND_IN)] {
        let provider = engine.load_chat(&package, &choice, false).expect("the cpu variant loads");
        assert_eq!(variant(&engine), Target::Cpu, "{choice}: {provider:?}");
        let refusal = provider
            .tried
            .iter()
            .find(|a| a.reason.contains("the npu variant (model.npu.prefill.onnx + model.npu.decode.onnx) was refused"))
            .unwrap_or_else(|| panic!("{choice}: no npu-variant refusal in {:?}", provider.tried));
        assert_eq!(refusal.ep, STAND_IN, "{choice}: {refusal:?}");
    }

    // In strict mode the refusal is the answer: no silent switch to another graph.
    let strict = engine.load_chat(&package, &ProviderChoice::Npu, true).expect_err("strict refuses");
    assert!(strict.to_string().contains("model.npu.prefill.onnx"), "{strict}");
}
