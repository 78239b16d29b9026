//! The weight-work report (issue 12, part 5): the share of weight multiply-accumulates placed on
//! the chosen EP, the op types it left, and the threshold under which `auto`/`npu` refuse to call
//! a device "running the model".
//!
//! The NPU here is the test-only ggml plugin EP, reported as an NPU (`npu_stand_in`). With
//! `ggml.partial=1` it takes the parts of a graph it supports and leaves the rest to the CPU EP,
//! which gives a real split placement to measure.

use std::path::PathBuf;

use onyx_convert::onnx::{DataType, Graph, Model, Node, Tensor, ValueInfo};
use onyx_runtime::{
    CPU_EP, DeviceKind, MIN_WEIGHT_WORK_SHARE, ModelSource, ProviderChoice, Runtime, RuntimeConfig, SessionRequest,
};

const STAND_IN: &str = "ggml";

fn runtime() -> &'static Runtime {
    let plugin_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runtime/test-plugins/ggml/onnxruntime_ggml/lib");
    let config =
        RuntimeConfig { library_path: None, plugin_dir: Some(plugin_dir), npu_stand_in: Some(STAND_IN.into()) };
    let runtime = Runtime::init(&config).unwrap_or_else(|e| panic!("run scripts/setup.sh: {e}"));
    assert!(
        runtime.devices().iter().any(|d| d.ep_name == STAND_IN && d.kind == DeviceKind::Npu),
        "the ggml plugin must be the stand-in NPU: {:?}",
        runtime.devices()
    );
    runtime
}

/// `x[1,64] · W1[64,64]` (a float MatMul every EP runs), then the quantized product
/// `QLinearMatMul(q(h)[1,64], W2[64,256])`. ggml implements neither `QuantizeLinear` nor
/// `QLinearMatMul`, so the larger weight product (16,384 of 20,480 MACs per token, 80 %) stays on
/// the CPU EP while the plugin holds one of the three nodes.
fn split_model() -> Vec<u8> {
    let w1: Vec<f32> = (0..64 * 64).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
    let w2: Vec<i8> = (0..64 * 256).map(|i| (i % 5) as i8 - 2).collect();
    let graph = Graph {
        name: "split".into(),
        nodes: vec![
            Node::new("MatMul", "small_product", &["x", "w1"], &["h"]),
            Node::new("QuantizeLinear", "quantize_h", &["h", "h_scale", "h_zero"], &["h_q"]),
            Node::new(
                "QLinearMatMul",
                "large_product",
                &["h_q", "h_scale", "h_zero", "w2", "w2_scale", "w2_zero", "y_scale", "y_zero"],
                &["y"],
            ),
        ],
        inputs: vec![ValueInfo::tensor("x", DataType::Float, [1.into(), 64.into()])],
        outputs: vec![ValueInfo::tensor("y", DataType::Uint8, [1.into(), 256.into()])],
        initializers: vec![
            Tensor::f32("w1", &[64, 64], &w1),
            Tensor::f32("h_scale", &[], &[0.05]),
            Tensor::u8("h_zero", &[], vec![128]),
            Tensor::i8("w2", &[64, 256], &w2),
            Tensor::f32("w2_scale", &[], &[0.01]),
            Tensor::i8("w2_zero", &[], &[0]),
            Tensor::f32("y_scale", &[], &[0.1]),
            Tensor::u8("y_zero", &[], vec![128]),
        ],
    };
    Model::new(graph, 17).encode()
}

fn request(model: &[u8], choice: ProviderChoice) -> SessionRequest<'_> {
    let mut request = SessionRequest::new(ModelSource::Bytes(model), choice);
    request.ep_options.push((format!("{STAND_IN}.partial"), "1".into()));
    request
}

#[test]
fn a_named_ep_reports_the_weight_work_it_took_and_what_it_left() {
    let model = split_model();
    let device = runtime().devices().iter().find(|d| d.ep_name == STAND_IN).expect("stand-in device");
    let built =
        runtime().build_session(&request(&model, ProviderChoice::for_device(device))).expect("a named EP is kept");
    let active = &built.provider;
    println!("{}: {:?} {:?}", active.summary(), active.work, active.left_behind);
    assert_eq!(active.ep, STAND_IN);
    assert_eq!(active.macs_total, 64 * 64 + 64 * 256);
    assert_eq!(active.macs_on_ep, 64 * 64, "only the float product is on the plugin: {:?}", active.work);
    assert_eq!((active.nodes_on_ep, active.nodes_total), (1, 3), "{active:?}");
    let share = active.weight_work_share().expect("weight products were counted");
    assert!((share - 0.2).abs() < 1e-9, "{share}");
    let left = active.left_behind.iter().find(|l| l.op_type == "QLinearMatMul").expect("QLinearMatMul named");
    assert_eq!((left.ep.as_str(), left.nodes), (CPU_EP, 1));
    assert!(active.summary().contains("weight MACs 20%"), "{}", active.summary());
}

#[test]
fn npu_and_auto_refuse_a_device_below_the_weight_work_threshold_and_say_why() {
    let model = split_model();
    for choice in [ProviderChoice::Auto, ProviderChoice::Npu] {
        let built = runtime().build_session(&request(&model, choice.clone())).expect("the CPU takes over");
        assert_eq!(built.provider.ep, CPU_EP, "{choice}");
        assert_eq!(built.provider.macs_on_ep, built.provider.macs_total, "{choice}: the CPU runs all of it");
        let refusal = built.provider.tried.iter().find(|a| a.ep == STAND_IN).expect("the NPU attempt is reported");
        let threshold = format!("{:.0}%", MIN_WEIGHT_WORK_SHARE * 100.0);
        for part in ["20%", threshold.as_str(), "QLinearMatMul"] {
            assert!(refusal.reason.contains(part), "{choice}: {part} missing from {:?}", refusal.reason);
        }
    }
}

#[test]
fn a_model_the_npu_takes_whole_passes_the_threshold() {
    let w: Vec<f32> = (0..16 * 8).map(|i| i as f32 * 0.01).collect();
    let graph = Graph {
        name: "whole".into(),
        nodes: vec![Node::new("MatMul", "product", &["x", "w"], &["y"])],
        inputs: vec![ValueInfo::tensor("x", DataType::Float, [1.into(), 16.into()])],
        outputs: vec![ValueInfo::tensor("y", DataType::Float, [1.into(), 8.into()])],
        initializers: vec![Tensor::f32("w", &[16, 8], &w)],
    };
    let model = Model::new(graph, 17).encode();
    let built = runtime().build_session(&request(&model, ProviderChoice::Npu)).expect("npu");
    assert_eq!(built.provider.ep, STAND_IN, "{:?}", built.provider.tried);
    assert_eq!((built.provider.macs_on_ep, built.provider.macs_total), (128, 128));
    assert!(built.provider.left_behind.is_empty(), "{:?}", built.provider.left_behind);
}
