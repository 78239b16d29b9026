//! Integration tests of the runtime layer against the real ONNX Runtime and plugin libraries
//! that `scripts/setup.sh` installs into `runtime/`. They fail (never skip) when setup has not
//! run: a green run must mean the providers were really exercised.
//!
//! ORT allows one environment per process, so every test here shares one [`Runtime`], loaded
//! with the test-only ggml plugin folder in addition to the product's plugins.

use std::path::PathBuf;

use onyx_convert::manifest::QuantScheme;
use onyx_convert::onnx::{AttributeValue, DataType, Graph, Model, Node, Tensor, ValueInfo};
use onyx_convert::probe;
use onyx_runtime::ort::value::TensorRef;
use onyx_runtime::{
    DeviceInfo, DeviceKind, ModelSource, ProviderChoice, ProviderError, Runtime, RuntimeConfig, SessionRequest,
};

const CPU_EP: &str = "CPUExecutionProvider";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn test_plugin_dir() -> PathBuf {
    repo_root().join("runtime/test-plugins/ggml/onnxruntime_ggml/lib")
}

fn runtime() -> &'static Runtime {
    let config = RuntimeConfig { library_path: None, plugin_dir: Some(test_plugin_dir()), npu_stand_in: None };
    Runtime::init(&config).unwrap_or_else(|e| panic!("ONNX Runtime must be installed by scripts/setup.sh: {e}"))
}

/// A device driven by a plugin EP (not ORT's built-in CPU EP): OpenVINO on Intel machines,
/// QNN on Snapdragon, otherwise the test-only ggml plugin.
fn plugin_device() -> &'static DeviceInfo {
    let devices = runtime().devices();
    devices
        .iter()
        .find(|d| d.ep_name.starts_with("OpenVINOExecutionProvider") || d.ep_name == "QNNExecutionProvider")
        .or_else(|| devices.iter().find(|d| d.ep_name != CPU_EP))
        .unwrap_or_else(|| panic!("no plugin EP device; devices: {devices:?}, plugins: {:?}", runtime().plugins()))
}

fn run_probe(session: &mut onyx_runtime::ort::session::Session, x: [f32; 4]) -> Vec<f32> {
    let input = ndarray::Array2::from_shape_vec(probe::INPUT_SHAPE, x.to_vec()).expect("shape");
    let outputs = session
        .run(onyx_runtime::ort::inputs![probe::INPUT => TensorRef::from_array_view(&input).expect("tensor")])
        .expect("run");
    let y = outputs[probe::OUTPUT].try_extract_array::<f32>().expect("f32 output");
    assert_eq!(y.shape(), probe::OUTPUT_SHAPE);
    y.iter().copied().collect()
}

fn assert_close(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= 1e-4 * e.abs().max(1.0), "{what}: element {i} is {a}, expected {e}");
    }
}

#[test]
fn loads_the_pinned_runtime_and_registers_every_plugin_found() {
    let runtime = runtime();
    assert_eq!(runtime.library().version, "1.32.0");
    let plugins = runtime.plugins();
    for ep in ["OpenVINOExecutionProvider", "ggml"] {
        let plugin = plugins.iter().find(|p| p.ep_name == ep).unwrap_or_else(|| panic!("{ep} not found: {plugins:?}"));
        assert_eq!(plugin.status, onyx_runtime::PluginState::Registered, "{plugin:?}");
    }
}

#[test]
fn lists_the_cpu_ep_and_the_plugin_devices_this_hardware_supports() {
    let devices = runtime().devices();
    let cpu = devices.iter().find(|d| d.ep_name == CPU_EP).expect("CPU EP device");
    assert_eq!(cpu.kind, DeviceKind::Cpu);
    assert!(devices.iter().any(|d| d.ep_name == "ggml"), "ggml device: {devices:?}");
    // OpenVINO's plugin offers devices for Intel hardware (PCI vendor 0x8086) only.
    let openvino: Vec<_> = devices.iter().filter(|d| d.ep_name.starts_with("OpenVINOExecutionProvider")).collect();
    let plugin = runtime().plugins().iter().find(|p| p.ep_name == "OpenVINOExecutionProvider").expect("plugin");
    assert_eq!(plugin.device_count, openvino.len());
    if cpu.vendor_id == 0x8086 {
        assert!(!openvino.is_empty(), "Intel CPU but no OpenVINO device: {devices:?}");
        assert!(openvino.iter().all(|d| d.ep_metadata.contains_key("ov_device")), "{openvino:?}");
    } else {
        assert!(openvino.is_empty(), "OpenVINO offered a device on non-Intel hardware: {openvino:?}");
    }
}

#[test]
fn every_device_runs_the_probe_correctly_with_all_nodes_on_its_ep() {
    let probe_model = probe::probe_model();
    let x = [1.0, 2.0, 3.0, 4.0];
    let expected = probe::reference_output(&x);
    for device in runtime().devices() {
        let mut request = SessionRequest::new(ModelSource::Bytes(&probe_model), ProviderChoice::for_device(device));
        request.strict = true;
        let mut built = runtime()
            .build_session(&request)
            .unwrap_or_else(|e| panic!("{} (device #{}): {e}", device.ep_name, device.index));
        let active = &built.provider;
        assert_eq!(active.ep, device.ep_name);
        assert!(active.nodes_total > 0);
        assert_eq!(active.nodes_on_ep, active.nodes_total, "{}: {:?}", device.ep_name, built.placement);
        assert!(active.tried.is_empty(), "{:?}", active.tried);
        let y = run_probe(&mut built.session, x);
        assert_close(&y, &expected, &device.ep_name);
    }
}

/// `Mul` (which every EP runs) followed by `ai.onnx.ml.Binarizer`, which only ORT's CPU EP
/// implements: a graph that a plugin EP can only take in part.
fn partially_supported_model() -> Vec<u8> {
    let graph = Graph {
        name: "partial".into(),
        nodes: vec![
            Node::new("Mul", "scale", &["x", "two"], &["x2"]),
            Node::new("Binarizer", "binarize", &["x2"], &["y"])
                .domain("ai.onnx.ml")
                .attr("threshold", AttributeValue::Float(3.0)),
        ],
        inputs: vec![ValueInfo::tensor("x", DataType::Float, [1.into(), 4.into()])],
        outputs: vec![ValueInfo::tensor("y", DataType::Float, [1.into(), 4.into()])],
        initializers: vec![Tensor::f32("two", &[], &[2.0])],
    };
    Model::new(graph, 17).with_opset("ai.onnx.ml", 3).encode()
}

#[test]
fn an_unsupported_op_gives_partial_placement_without_strict_mode() {
    let device = plugin_device();
    let model = partially_supported_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::for_device(device));
    // ggml claims a graph only whole unless told it may take part of it.
    request.ep_options.push(("ggml.partial".into(), "1".into()));
    let mut built = runtime().build_session(&request).expect("non-strict session");
    let active = &built.provider;
    assert_eq!(active.ep, device.ep_name);
    assert!(active.nodes_on_ep > 0 && active.nodes_on_ep < active.nodes_total, "{active:?}");
    assert!(active.share() < 1.0);
    let binarizer_on_cpu =
        built.placement.subgraphs.iter().any(|s| s.ep == CPU_EP && s.nodes.iter().any(|n| n.op_type == "Binarizer"));
    assert!(binarizer_on_cpu, "{:?}", built.placement);

    // The mixed placement still computes the right thing: 2x > 3 ? 1 : 0.
    let input = ndarray::Array2::from_shape_vec([1, 4], vec![1.0f32, 1.5, 2.0, -4.0]).expect("shape");
    let outputs = built
        .session
        .run(onyx_runtime::ort::inputs!["x" => TensorRef::from_array_view(&input).expect("tensor")])
        .expect("run");
    let y: Vec<f32> = outputs["y"].try_extract_array::<f32>().expect("f32").iter().copied().collect();
    assert_eq!(y, vec![0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn an_unsupported_op_fails_clearly_in_strict_mode() {
    let device = plugin_device();
    let model = partially_supported_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::for_device(device));
    request.strict = true;
    request.ep_options.push(("ggml.partial".into(), "1".into()));
    let err = runtime().build_session(&request).expect_err("strict must refuse CPU fallback");
    println!("strict-mode error: {err}");
    let ProviderError::AllFailed { tried, .. } = &err else { panic!("unexpected error: {err}") };
    assert_eq!(tried.len(), 1, "strict mode tries only the chosen device: {tried:?}");
    assert_eq!(tried[0].ep, device.ep_name);
    assert_eq!(tried[0].device_index, Some(device.index), "{tried:?}");
    assert_eq!(tried[0].device_kind, Some(device.kind), "{tried:?}");
    let message = err.to_string();
    // Recognised from the placement, not from ORT's wording, and counted.
    assert!(message.contains("strict mode: 1 of 2 nodes would fall back to the CPU EP"), "{message}");
    // ORT's own message names no node; ours lists what the EP could not take.
    assert!(message.contains("ai.onnx.ml.Binarizer (binarize)"), "{message}");
    assert!(!message.contains("Mul (scale)"), "{message}");
}

#[test]
fn npu_request_without_an_npu_falls_back_to_the_cpu_and_says_why() {
    if runtime().devices().iter().any(|d| d.kind == DeviceKind::Npu) {
        panic!("this test assumes a machine without an NPU; found {:?}", runtime().devices());
    }
    let probe_model = probe::probe_model();
    let request = SessionRequest::new(ModelSource::Bytes(&probe_model), ProviderChoice::Npu);
    let built = runtime().build_session(&request).expect("fallback to CPU");
    assert_eq!(built.provider.ep, CPU_EP);
    assert_eq!(built.provider.tried.len(), 1);
    assert_eq!(built.provider.tried[0].reason, "no NPU found on this machine");

    let mut strict = request.clone();
    strict.strict = true;
    let err = runtime().build_session(&strict).expect_err("strict NPU without an NPU");
    assert!(err.to_string().contains("no NPU found on this machine"), "{err}");
}

#[test]
fn unknown_provider_is_a_clear_error() {
    let probe_model = probe::probe_model();
    let request = SessionRequest::new(ModelSource::Bytes(&probe_model), ProviderChoice::parse("tpu"));
    let err = runtime().build_session(&request).expect_err("unknown provider");
    let message = err.to_string();
    assert!(message.starts_with("unknown provider 'tpu'"), "{message}");
    assert!(message.contains(CPU_EP), "{message}");
}

#[test]
fn missing_and_corrupt_models_name_the_file_and_leave_the_runtime_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.onnx");
    let err = runtime()
        .build_session(&SessionRequest::new(ModelSource::File(&missing), ProviderChoice::Cpu))
        .expect_err("missing model");
    assert!(err.to_string().contains("nope.onnx"), "{err}");

    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"this is not a protobuf").expect("write");
    let err = runtime()
        .build_session(&SessionRequest::new(ModelSource::File(&corrupt), ProviderChoice::Cpu))
        .expect_err("corrupt model");
    assert!(err.to_string().contains("corrupt.onnx"), "{err}");

    // And the runtime still works afterwards.
    let probe_model = probe::probe_model();
    let mut built = runtime()
        .build_session(&SessionRequest::new(ModelSource::Bytes(&probe_model), ProviderChoice::Cpu))
        .expect("probe after errors");
    let y = run_probe(&mut built.session, [0.0, 0.0, 0.0, 0.0]);
    assert_close(&y, &probe::reference_output(&[0.0; 4]), "after errors");
}

#[test]
fn a_compile_cache_the_ep_cannot_fill_never_costs_the_ep() {
    // ggml cannot dump EPContext models; asking for a cache must not push the model off it.
    let device = runtime().devices().iter().find(|d| d.ep_name == "ggml").expect("ggml device");
    let dir = tempfile::tempdir().expect("tempdir");
    let model = probe::probe_model();
    let mut request = SessionRequest::new(ModelSource::Bytes(&model), ProviderChoice::for_device(device));
    request.compile_cache = Some(dir.path());
    let mut built = runtime().build_session(&request).expect("session without a cache");
    assert_eq!(built.provider.ep, "ggml", "{:?}", built.provider);
    assert!(!built.provider.from_compiled_cache);
    let no_context_files = std::fs::read_dir(dir.path()).expect("cache dir").next().is_none();
    assert!(no_context_files, "ggml wrote no context, so nothing may be cached");
    let x = [0.5, -1.0, 2.0, 0.25];
    assert_close(&run_probe(&mut built.session, x), &probe::reference_output(&x), "ggml without cache");
}

/// The npu variant is built for NPUs, whose EPs are plugins (QNN, OpenVINO). The plugin device
/// found here (OpenVINO's CPU device on an Intel CPU, else the ggml plugin) stands in: strict
/// mode must place every node of the fp32 prefill graph on it, and its logits must match the CPU
/// EP's.
#[test]
fn npu_graphs_run_entirely_on_a_plugin_ep_in_strict_mode() {
    use onyx_convert::llama::{self, MASKED, names, npu_names};
    use onyx_convert::tiny;
    use onyx_runtime::ort::session::SessionInputValue;
    use onyx_runtime::ort::value::Tensor;
    use std::borrow::Cow;

    let device = plugin_device();
    let config = tiny::tiny_config(false);
    let weights = tiny::tiny_weights(&config, 42);
    let (context, seq) = (32usize, 4usize);
    let options = llama::NpuOptions { context, chunk: seq, quant: QuantScheme::Fp32 };
    let model = llama::build_npu(&config, &weights, options, seq, None).expect("npu graph").encode();

    let run = |choice: ProviderChoice, strict: bool| -> (Vec<f32>, onyx_runtime::ActiveProvider) {
        let mut request = SessionRequest::new(ModelSource::Bytes(&model), choice);
        request.strict = strict;
        request.ep_options.push(("ggml.partial".into(), "1".into()));
        let mut built = runtime().build_session(&request).unwrap_or_else(|e| panic!("{e}"));
        let tokens = [5i64, 17, 42, 3];
        let mut bias = vec![MASKED; seq * (context + seq)];
        for i in 0..seq {
            for j in 0..=i {
                bias[i * (context + seq) + context + j] = 0.0;
            }
        }
        let (kv, hd) = (config.kv_heads, config.head_dim);
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (names::INPUT_IDS.into(), Tensor::from_array(([1, seq], tokens.to_vec())).expect("ids").into()),
            (npu_names::POSITION_IDS.into(), Tensor::from_array(([1, seq], vec![0i64, 1, 2, 3])).expect("pos").into()),
            (
                npu_names::ATTENTION_BIAS.into(),
                Tensor::from_array(([1, 1, seq, context + seq], bias)).expect("bias").into(),
            ),
            (npu_names::LAST_INDEX.into(), Tensor::from_array(([1], vec![3i64])).expect("last").into()),
        ];
        for layer in 0..config.layers {
            for kind in ["key", "value"] {
                let zeros = Tensor::from_array(([1, kv, context, hd], vec![half::f16::ZERO; kv * context * hd]))
                    .expect("cache");
                inputs.push((names::past(layer, kind).into(), zeros.into()));
            }
        }
        let outputs = built.session.run(inputs).expect("run");
        let logits = outputs[names::LOGITS].try_extract_array::<f32>().expect("logits").iter().copied().collect();
        drop(outputs);
        (logits, built.provider)
    };

    let (on_plugin, provider) = run(ProviderChoice::for_device(device), true);
    assert_eq!(provider.ep, device.ep_name);
    assert_eq!(provider.nodes_on_ep, provider.nodes_total, "{provider:?}");
    let (on_cpu, _) = run(ProviderChoice::Cpu, false);
    assert_eq!(on_plugin.len(), on_cpu.len());
    let diff = on_plugin.iter().zip(&on_cpu).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    let scale = on_cpu.iter().fold(0f32, |m, x| m.max(x.abs()));
    // Plugin EPs compute in reduced precision, so their error scales with the logits and depends
    // on the machine. On Intel CPUs the plugin is OpenVINO's CPU device, which infers in bf16
    // where the CPU has AMX or AVX512-BF16: measured 0.113 on a max |logit| of 19.9 (0.57 %) on
    // a Xeon with AMX. Elsewhere it is ggml, which keeps weights in f16 (under 0.25 % on an AMD
    // EPYC). A graph that computed something else (a dropped bias, a wrong cache slot, a
    // mis-ordered head) is off by the logits' own size, far beyond 2 %.
    assert!(diff <= 0.02 * scale, "plugin and CPU logits differ by {diff} (max |logit| {scale})");
    let argmax = |v: &[f32]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
    assert_eq!(argmax(&on_plugin), argmax(&on_cpu), "the plugin picks another next token");
    let cosine = on_plugin.iter().zip(&on_cpu).map(|(a, b)| a * b).sum::<f32>()
        / (on_plugin.iter().map(|a| a * a).sum::<f32>().sqrt() * on_cpu.iter().map(|b| b * b).sum::<f32>().sqrt());
    assert!(cosine > 0.9999, "plugin and CPU logits point apart: cosine {cosine}");
    println!(
        "npu prefill graph on {}: {}; max |Δlogit| vs CPU EP {diff:e} of max |logit| {scale}, cosine {cosine}",
        device.ep_name,
        provider.summary()
    );
}
