//! The QNN EP for real, registered by Onyx's own runtime code: Qualcomm's HTP backend from the
//! `onnxruntime-qnn` 2.7.0 wheel, which on Linux x86-64 compiles a graph for the Snapdragon it is
//! told to target (here the X Elite: SoC model 60, HTP v73) and runs it in an emulator. The same
//! code registers `onnxruntime_providers_qnn.dll` on Windows on ARM, where the device is the NPU.
//!
//! These tests need the wheel that `scripts/setup.sh` installs, and fail (never skip) without it.

use std::path::PathBuf;

use onyx_convert::probe;
use onyx_runtime::ort::value::TensorRef;
use onyx_runtime::{
    DeviceKind, ModelSource, PluginState, ProviderChoice, ProviderError, QNN_EP, QnnOptions, Runtime, RuntimeConfig,
    SessionDefaults, SessionRequest,
};

fn qnn_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/test-plugins/qnn/onnxruntime_qnn");
    assert!(
        dir.join("libonnxruntime_providers_qnn.so").is_file(),
        "{} has no QNN plugin: run scripts/setup.sh",
        dir.display()
    );
    dir
}

/// The runtime with the QNN wheel's folder as its plugin folder, and the X Elite as the target.
fn runtime() -> &'static Runtime {
    let config = RuntimeConfig { library_path: None, plugin_dir: Some(qnn_dir()), npu_stand_in: None };
    let runtime = Runtime::init(&config).unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"));
    runtime.set_session_defaults(SessionDefaults { qnn: x_elite(), compile_cache: None });
    runtime
}

fn x_elite() -> QnnOptions {
    QnnOptions { soc_model: Some("60".into()), htp_arch: Some("73".into()), ..QnnOptions::default() }
}

#[test]
fn the_qnn_plugin_registers_and_its_device_is_named_for_what_it_is() {
    let runtime = runtime();
    let plugin = runtime
        .plugins()
        .iter()
        .find(|p| p.ep_name == QNN_EP)
        .unwrap_or_else(|| panic!("no QNN plugin among {:?}", runtime.plugins()));
    assert_eq!(plugin.status, PluginState::Registered, "{plugin:?}");
    assert_eq!(plugin.device_count, 1, "{plugin:?}");
    let device = runtime.devices().iter().find(|d| d.ep_name == QNN_EP).expect("a QNN device");
    // On x86-64 the HTP backend is an emulator on the CPU: never to be shown as an NPU.
    assert_eq!(device.kind, DeviceKind::Cpu);
    assert!(device.display_name().starts_with("QNN HTP emulator on "), "{}", device.display_name());
}

#[test]
fn the_probe_compiles_whole_for_the_x_elite_and_runs_in_strict_mode() {
    let model = probe::probe_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::Ep(QNN_EP.into()));
    request.strict = true;
    let mut built = runtime().build_session(&request).unwrap_or_else(|e| panic!("QNN refused the probe: {e}"));
    assert_eq!(built.provider.ep, QNN_EP);
    assert_eq!(built.provider.nodes_on_ep, built.provider.nodes_total, "{:?}", built.placement);

    let x = [1.0f32, 2.0, 3.0, 4.0];
    let input = ndarray::Array2::from_shape_vec(probe::INPUT_SHAPE, x.to_vec()).expect("shape");
    let outputs = built
        .session
        .run(onyx_runtime::ort::inputs![probe::INPUT => TensorRef::from_array_view(&input).expect("tensor")])
        .expect("run on the HTP emulator");
    let y: Vec<f32> = outputs[probe::OUTPUT].try_extract_array::<f32>().expect("f32 output").iter().copied().collect();
    // The HTP computes float graphs in fp16: about three significant digits.
    for (i, (got, want)) in y.iter().zip(probe::reference_output(&x)).enumerate() {
        assert!((got - want).abs() <= 1e-2 * want.abs().max(1.0), "output {i}: {got}, expected {want}");
    }
}

#[test]
fn a_wrong_backend_path_is_refused_naming_it_and_the_cpu_takes_over() {
    let model = probe::probe_model();
    let missing = std::env::temp_dir().join("no-such-qnn/libQnnHtp.so");
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::Ep(QNN_EP.into()));
    request.qnn = QnnOptions { backend_path: Some(missing.display().to_string()), ..x_elite() };

    // Not strict: the CPU runs it, and the refusal is kept with QNN's reason.
    let built = runtime().build_session(&request).expect("the CPU takes over");
    assert_eq!(built.provider.ep, onyx_runtime::CPU_EP);
    let refusal = built.provider.tried.iter().find(|a| a.ep == QNN_EP).expect("the QNN attempt is reported");
    assert_eq!(refusal.reason, format!("the QNN backend library {} does not exist (backend_path)", missing.display()));

    // Strict: an error, naming the device that refused.
    request.strict = true;
    match runtime().build_session(&request) {
        Err(ProviderError::AllFailed { tried, .. }) => {
            assert!(tried.iter().any(|a| a.ep == QNN_EP && a.reason.contains("no-such-qnn")), "{tried:?}")
        }
        other => panic!("a missing backend must fail in strict mode: {other:?}"),
    }
}

/// The compiled-context cache on the real QNN backend: the first load compiles and writes a
/// context binary, the second loads it (and reports the placement measured when it compiled),
/// and a damaged context is compiled again, with a note in the report, instead of costing the
/// device. The load times are printed for the record, not asserted.
#[test]
fn a_compiled_context_is_reused_and_a_damaged_one_is_compiled_again() {
    let cache = tempfile::tempdir().expect("tempdir");
    let model = probe::probe_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::Ep(QNN_EP.into()));
    request.strict = true;
    request.compile_cache = Some(cache.path());
    let load = |what: &str| {
        let started = std::time::Instant::now();
        let built = runtime().build_session(&request).unwrap_or_else(|e| panic!("{what}: {e}"));
        println!("{what}: {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(built.provider.ep, QNN_EP, "{what}");
        assert_eq!(built.provider.nodes_on_ep, built.provider.nodes_total, "{what}");
        built
    };
    let first = load("first load (compiles)");
    assert!(!first.provider.from_compiled_cache);
    let contexts: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .expect("list cache")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with("_ctx.onnx"))
        .collect();
    assert_eq!(contexts.len(), 1, "one compiled context: {contexts:?}");
    let size = std::fs::metadata(&contexts[0]).expect("context").len();
    println!("context binary: {size} bytes");

    let second = load("second load (cached)");
    assert!(second.provider.from_compiled_cache);
    assert_eq!(second.provider.nodes_total, first.provider.nodes_total, "the placement measured at compile time");

    std::fs::write(&contexts[0], b"not a context binary").expect("damage the cache");
    let third = load("after damage (compiles again)");
    assert!(!third.provider.from_compiled_cache);
    let note = third.provider.tried.iter().find(|a| a.ep == QNN_EP).expect("the damaged cache is reported");
    assert!(note.reason.contains("could not be loaded") && note.reason.contains("compiled again"), "{note:?}");
    assert!(load("fourth load (cached again)").provider.from_compiled_cache);
}

/// A target chip QNN does not know is refused, naming the value, and the CPU takes over unless
/// strict mode forbids it.
#[test]
fn an_unknown_soc_model_is_refused_and_the_cpu_takes_over() {
    let model = probe::probe_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::Ep(QNN_EP.into()));
    request.qnn = QnnOptions { soc_model: Some("9999".into()), ..x_elite() };
    let built = runtime().build_session(&request).expect("the CPU takes over");
    assert_eq!(built.provider.ep, onyx_runtime::CPU_EP);
    let refusal = built.provider.tried.iter().find(|a| a.ep == QNN_EP).expect("the QNN attempt is reported");
    assert!(refusal.reason.contains("soc_model=9999"), "the reason names the value: {refusal:?}");
    request.strict = true;
    assert!(runtime().build_session(&request).is_err(), "strict mode has no CPU to fall back to");
}

/// Builds `model` on QNN (strict or not) and checks that QNN took it whole: every node, none on
/// the CPU EP, one QNN subgraph. Prints the counts and the compile time under `label`.
fn assert_whole_on_qnn(label: &str, model: ModelSource<'_>, strict: bool) {
    let mut request = SessionRequest::new(model, ProviderChoice::Ep(QNN_EP.into()));
    request.strict = strict;
    let started = std::time::Instant::now();
    let built = runtime().build_session(&request).unwrap_or_else(|e| panic!("{label}: {e}"));
    let on_cpu: Vec<String> = built
        .placement
        .subgraphs
        .iter()
        .filter(|subgraph| subgraph.ep == onyx_runtime::CPU_EP)
        .flat_map(|subgraph| subgraph.nodes.iter().map(|node| format!("{} ({})", node.op_type, node.name)))
        .collect();
    let qnn_subgraphs = built.placement.subgraphs.iter().filter(|subgraph| subgraph.ep == QNN_EP).count();
    println!(
        "{label}: {} of {} nodes and {} of {} weight MACs/token on {} in {qnn_subgraphs} subgraph(s) ({:.1} s to \
         compile)",
        built.provider.nodes_on_ep,
        built.provider.nodes_total,
        built.provider.macs_on_ep,
        built.provider.macs_total,
        built.provider.ep,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(built.provider.ep, QNN_EP, "{label}");
    assert!(on_cpu.is_empty(), "{label}: the HTP refused {on_cpu:?}");
    assert_eq!(built.provider.nodes_on_ep, built.provider.nodes_total, "{label}");
    // Every weight product is on the HTP: the MatMul work, not only the node count.
    assert!(built.provider.macs_total > 0, "{label}: no weight product counted");
    assert_eq!(built.provider.macs_on_ep, built.provider.macs_total, "{label}: {:?}", built.provider.work);
    assert!(built.provider.left_behind.is_empty(), "{label}: {:?}", built.provider.left_behind);
    assert_eq!(qnn_subgraphs, 1, "{label}: one QNN subgraph");
}

/// QNN's compiler (X Elite) on a tiny llama npu decode graph (random weights, the default
/// architecture at toy size), in both weight forms the converter builds: it takes every node,
/// in one subgraph, even where it could leave some to the CPU. With fp32 weights that shows the embedding Gather, RoPE, the
/// attention bias, RMSNorm, Softmax and the KV inputs and outputs are all ops it accepts; with
/// int8 weights (w8a16, calibrated) that the weight products' QDQ form is one it takes whole.
#[test]
fn the_tiny_llama_npu_graph_runs_whole_on_the_htp_compiler() {
    use onyx_convert::llama::{self, NpuOptions};
    use onyx_convert::manifest::QuantScheme;
    let config = onyx_convert::tiny::tiny_config(false);
    let weights = onyx_convert::tiny::tiny_weights(&config, 7);
    for quant in [QuantScheme::Fp32, QuantScheme::Int8] {
        let options = NpuOptions { context: 32, chunk: 4, quant };
        let calibration = (quant == QuantScheme::Int8)
            .then(|| onyx_convert::tiny::calibration(&config, &weights).expect("calibration"));
        let graph =
            llama::build_npu(&config, &weights, options, 1, calibration.as_ref()).expect("decode graph").encode();
        // Not strict: with CPU fallback allowed QNN leaves any node it does not want to the CPU
        // (a DequantizeLinear that ends the graph, say), so this shows it wants none.
        assert_whole_on_qnn(&format!("tiny llama decode graph, {quant} weights"), ModelSource::Bytes(&graph), false);
    }
}

/// The default embedding package's npu graph (w8a16) on the HTP compiler (X Elite): every node
/// in one subgraph, in strict mode. Needs the default models from `scripts/setup.sh`.
#[test]
fn the_default_embedding_npu_graph_runs_whole_on_the_htp_compiler() {
    let graph = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-minilm-l6-v2/model.npu.onnx");
    assert!(graph.is_file(), "{} is missing: run scripts/setup.sh", graph.display());
    assert_whole_on_qnn("all-minilm-l6-v2 model.npu.onnx", ModelSource::File(&graph), true);
}

/// The default chat package's npu graphs (w8a16) on the HTP compiler (X Elite): the prefill and
/// the decode graph each compile whole, every node in one QNN subgraph, in strict mode. Needs the
/// default models from `scripts/setup.sh`.
#[test]
fn the_default_chat_npu_graphs_run_whole_on_the_htp_compiler() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/smollm2-135m-instruct");
    for name in ["model.npu.decode.onnx", "model.npu.prefill.onnx"] {
        let graph = dir.join(name);
        assert!(graph.is_file(), "{} is missing: run scripts/setup.sh", graph.display());
        assert_whole_on_qnn(&format!("smollm2-135m-instruct {name}"), ModelSource::File(&graph), true);
    }
}

/// A graph with an op the HTP does not take fails in strict mode with an error naming the node
/// and QNN's own reason (read from its op trace), and the runtime stays usable.
#[test]
fn a_node_the_htp_rejects_is_named_with_qnns_reason_in_strict_mode_and_in_the_split_report() {
    use onyx_convert::graph::GraphBuilder;
    use onyx_convert::onnx::{DataType, Dim, Model};
    let mut g = GraphBuilder::new("rejected");
    let x = g.input("x", DataType::Float, vec![Dim::from(1), Dim::from(8)]);
    g.op_named("reject/Hardmax", "Hardmax", "", &[&x], &["h"], Vec::new());
    g.op_named("keep/Relu", "Relu", "", &["h"], &["y"], Vec::new());
    g.output("y", DataType::Float, vec![Dim::from(1), Dim::from(8)]);
    let model = Model::new(g.finish(), 17).encode();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::Ep(QNN_EP.into()));
    request.strict = true;
    match runtime().build_session(&request) {
        Err(ProviderError::AllFailed { tried, .. }) => {
            let refusal = tried.iter().find(|a| a.ep == QNN_EP).expect("the QNN attempt is reported");
            println!("{}", refusal.reason);
            assert!(refusal.reason.contains("Hardmax (reject/Hardmax): "), "names the node: {}", refusal.reason);
            assert!(refusal.reason.contains("not supported by QNN EP"), "QNN's reason: {}", refusal.reason);
        }
        other => panic!("strict mode must refuse a graph QNN cannot take whole: {other:?}"),
    }
    // Without strict mode the graph runs split, and the report names what QNN left to the CPU
    // with QNN's own reason (from the op trace every QNN compile writes).
    request.strict = false;
    let split = runtime().build_session(&request).expect("a split placement without strict mode");
    assert_eq!(split.provider.ep, QNN_EP);
    let left = split.provider.left_behind.iter().find(|l| l.op_type == "Hardmax").expect("Hardmax is named");
    assert_eq!((left.ep.as_str(), left.nodes), (onyx_runtime::CPU_EP, 1));
    let reason = left.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("not supported by QNN EP"), "QNN's reason: {left:?}");
    let probe = probe::probe_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&probe), ProviderChoice::Ep(QNN_EP.into()));
    request.strict = true;
    assert!(runtime().build_session(&request).is_ok(), "the runtime stays usable");
}
