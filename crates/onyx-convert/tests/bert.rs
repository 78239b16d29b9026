//! The BERT embedding converter end to end, on a tiny random-weight checkpoint that each test
//! writes into its own temp folder: package layout and manifest, graph structure per target and
//! precision, and errors that name the file at fault and leave nothing behind.
//!
//! Numerical agreement with ONNX Runtime and with sentence-transformers is checked in
//! `onyx-runtime/tests/embedding_golden.rs`; this crate never links ORT.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use onyx_convert::bert;
use onyx_convert::manifest::{Manifest, QuantScheme, Target};
use onyx_convert::onnx::{self, AttributeValue, DataType, Dim, Model, Tensor};
use onyx_convert::safetensors::{F32Tensor, write_f32};
use sha2::{Digest, Sha256};

const HIDDEN: usize = 32;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const INTERMEDIATE: usize = 64;
const VOCAB: usize = 100;
const POSITIONS: usize = 512;
const MAX_SEQ_LENGTH: usize = 256;

/// Deterministic pseudo-random values in `[-scale, scale]` (xorshift), so failures reproduce.
fn values(seed: u64, count: usize, scale: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Every tensor of the tiny checkpoint, as (name, shape, values), without the model prefix.
fn tiny_tensors() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    let mut seed = 1;
    let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        seed += 1;
        let v = values(seed, shape.iter().product(), scale).into_iter().map(|x| x + offset).collect();
        out.push((name, shape, v));
    };
    add("embeddings.word_embeddings.weight".into(), vec![VOCAB, HIDDEN], 0.5, 0.0);
    add("embeddings.position_embeddings.weight".into(), vec![POSITIONS, HIDDEN], 0.5, 0.0);
    add("embeddings.token_type_embeddings.weight".into(), vec![2, HIDDEN], 0.5, 0.0);
    add("embeddings.LayerNorm.weight".into(), vec![HIDDEN], 0.1, 1.0);
    add("embeddings.LayerNorm.bias".into(), vec![HIDDEN], 0.1, 0.0);
    for layer in 0..LAYERS {
        let p = format!("encoder.layer.{layer}.");
        for (name, shape, scale, offset) in [
            ("attention.self.query.weight", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.self.query.bias", vec![HIDDEN], 0.1, 0.0),
            ("attention.self.key.weight", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.self.key.bias", vec![HIDDEN], 0.1, 0.0),
            ("attention.self.value.weight", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.self.value.bias", vec![HIDDEN], 0.1, 0.0),
            ("attention.output.dense.weight", vec![HIDDEN, HIDDEN], 0.3, 0.0),
            ("attention.output.dense.bias", vec![HIDDEN], 0.1, 0.0),
            ("attention.output.LayerNorm.weight", vec![HIDDEN], 0.1, 1.0),
            ("attention.output.LayerNorm.bias", vec![HIDDEN], 0.1, 0.0),
            ("intermediate.dense.weight", vec![INTERMEDIATE, HIDDEN], 0.3, 0.0),
            ("intermediate.dense.bias", vec![INTERMEDIATE], 0.1, 0.0),
            ("output.dense.weight", vec![HIDDEN, INTERMEDIATE], 0.3, 0.0),
            ("output.dense.bias", vec![HIDDEN], 0.1, 0.0),
            ("output.LayerNorm.weight", vec![HIDDEN], 0.1, 1.0),
            ("output.LayerNorm.bias", vec![HIDDEN], 0.1, 0.0),
        ] {
            add(format!("{p}{name}"), shape, scale, offset);
        }
    }
    // Present in real checkpoints and unused by the embedding graph.
    add("pooler.dense.weight".into(), vec![HIDDEN, HIDDEN], 0.3, 0.0);
    out
}

/// A tiny sentence-transformers BERT folder. `prefix` is prepended to tensor names (`bert.` for
/// checkpoints saved from a task head); `skip` leaves one tensor out.
fn tiny_bert(dir: &Path, prefix: &str, skip: Option<&str>) {
    std::fs::create_dir_all(dir.join("1_Pooling")).expect("mkdir");
    let config = serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "vocab_size": VOCAB,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1, "transformers_version": "4.8.2"
    });
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text).expect("write");
    write("config.json", config.to_string());
    write(
        "modules.json",
        r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
            {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
            {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#
            .into(),
    );
    write("1_Pooling/config.json", r#"{"word_embedding_dimension":32,"pooling_mode_mean_tokens":true}"#.into());
    write("sentence_bert_config.json", format!(r#"{{"max_seq_length":{MAX_SEQ_LENGTH},"do_lower_case":false}}"#));
    write("config_sentence_transformers.json", r#"{"prompts":{"query":"query: ","document":"passage: "}}"#.into());
    write("tokenizer.json", tiny_tokenizer_json());
    write("tokenizer_config.json", r#"{"do_lower_case":true,"model_max_length":512}"#.into());
    write("special_tokens_map.json", r#"{"unk_token":"[UNK]"}"#.into());

    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = tiny_tensors()
        .into_iter()
        .filter(|(name, _, _)| Some(name.as_str()) != skip)
        .map(|(name, shape, v)| (format!("{prefix}{name}"), shape, v))
        .collect();
    let views: Vec<F32Tensor<'_>> =
        tensors.iter().map(|(name, shape, v)| F32Tensor { name, shape, values: v }).collect();
    write_f32(&dir.join("model.safetensors"), &views).expect("safetensors");
}

/// A word-level tokenizer in the `tokenizers` JSON format, with the stale fixed padding that
/// real exports carry, which the converter must drop.
fn tiny_tokenizer_json() -> String {
    serde_json::json!({
        "version": "1.0",
        "truncation": {"max_length": 128, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": {"[PAD]": 0, "[UNK]": 1, "hello": 2, "world": 3}, "unk_token": "[UNK]"}
    })
    .to_string()
}

/// `(source folder, package path)` inside a fresh temp dir.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let src = dir.join("src");
    tiny_bert(&src, "", None);
    (src, dir.join("out").join("tiny-bert"))
}

/// Names in `parent` that look like conversion leftovers.
fn leftovers(parent: &Path) -> Vec<String> {
    match std::fs::read_dir(parent) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".partial-") || n.contains(".old"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).expect("read")))
}

fn initializer<'a>(model: &'a Model, name: &str) -> &'a Tensor {
    model.graph.initializers.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no initializer {name}"))
}

fn f32s(tensor: &Tensor) -> Vec<f32> {
    assert_eq!(tensor.data_type, DataType::Float, "{}", tensor.name);
    tensor.raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
}

#[test]
fn converts_a_tiny_bert_into_a_package_for_cpu_and_npu() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, out) = setup(dir.path());
    let summary = bert::convert_embedding(&src, &out, &[Target::Cpu, Target::Npu], QuantScheme::Fp32).expect("convert");
    assert_eq!(summary.dir, out);

    let files: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("package")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let expected = [
        "model.cpu.data",
        "model.cpu.onnx",
        "model.npu.data",
        "model.npu.onnx",
        "onyx-model.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ];
    assert_eq!(files, expected.iter().map(|s| s.to_string()).collect(), "package files");
    assert!(leftovers(out.parent().expect("parent")).is_empty());

    // The manifest as a reader sees it: plain JSON, checked key by key.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("onyx-model.json")).expect("manifest")).expect("json");
    println!("{}", serde_json::to_string_pretty(&manifest).expect("pretty"));
    assert_eq!(manifest["formatVersion"], 2);
    assert_eq!(manifest["kind"], "embedding");
    assert_eq!(manifest["architecture"]["name"], "bert");
    assert_eq!(manifest["architecture"]["hidden"], HIDDEN);
    assert_eq!(manifest["source"]["file"], "model.safetensors");
    assert_eq!(manifest["source"]["sha256"], sha256(&src.join("model.safetensors")));
    assert_eq!(manifest["contextLength"], MAX_SEQ_LENGTH);
    assert!(manifest.get("chat").is_none());
    let embedding = &manifest["embedding"];
    assert_eq!(embedding["dim"], HIDDEN);
    assert_eq!(embedding["pooling"], "mean");
    assert_eq!(embedding["normalize"], true);
    assert_eq!(embedding["prefixes"], serde_json::json!({"query": "query: ", "document": "passage: "}));
    let io = serde_json::json!({
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "outputs": ["sentence_embedding", "token_embeddings"],
    });
    let variants = manifest["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["target"], "cpu");
    assert_eq!(variants[0]["files"], serde_json::json!(["model.cpu.onnx"]));
    assert_eq!(variants[0]["quant"], "fp32");
    assert_eq!(variants[0]["shapes"], "dynamic");
    assert_eq!(variants[0]["dataFile"], "model.cpu.data");
    assert_eq!(variants[1]["dataFile"], "model.npu.data");
    assert_eq!(variants[1]["target"], "npu");
    assert_eq!(variants[1]["files"], serde_json::json!(["model.npu.onnx"]));
    assert_eq!(variants[1]["shapes"], serde_json::json!({"static": {"batch": 1, "sequence": 256}}));
    for variant in variants {
        assert_eq!(variant["inputs"], io["inputs"]);
        assert_eq!(variant["outputs"], io["outputs"]);
    }
    // The typed manifest reads back to what the converter returned.
    let typed = Manifest::read(&out.join("onyx-model.json")).expect("typed");
    assert_eq!(typed, summary.manifest);

    // The graph and data files are exactly the model `build_model` describes (the build is
    // deterministic), with every initializer of 1 KiB or more moved to the data file.
    for target in [Target::Cpu, Target::Npu] {
        let mut model = bert::build_model(&src, target, QuantScheme::Fp32).expect("build");
        let data = onnx::externalize(&mut [&mut model], &format!("model.{target}.data"), 1024);
        let written = std::fs::read(out.join(format!("model.{target}.onnx"))).expect("onnx");
        assert!(written == model.encode(), "model.{target}.onnx differs from build_model's model");
        let written = std::fs::read(out.join(format!("model.{target}.data"))).expect("data");
        assert!(written == data, "model.{target}.data differs from build_model's weights");
        let table = initializer(&model, "embeddings.word_embeddings.weight");
        assert!(table.raw.is_empty() && table.external.is_some(), "the word table is in the data file");
    }

    // Tokenizer files: config copied as is, tokenizer.json set to truncate at the context
    // length without padding, and still loadable by the tokenizers crate.
    assert_eq!(
        std::fs::read(out.join("tokenizer_config.json")).expect("read"),
        std::fs::read(src.join("tokenizer_config.json")).expect("read")
    );
    let tokenizer = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).expect("tokenizer loads");
    assert!(tokenizer.get_padding().is_none(), "stale fixed padding must be removed");
    assert_eq!(tokenizer.get_truncation().expect("truncation").max_length, MAX_SEQ_LENGTH);
    let encoding = tokenizer.encode("hello world nope", true).expect("encode");
    assert_eq!(encoding.get_ids(), [2, 3, 1]);
}

#[test]
fn the_npu_graph_is_static_and_uses_only_standard_rank_four_ops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, _) = setup(dir.path());
    // Ops an NPU compiler (QNN HTP, OpenVINO NPU) is expected to take.
    let allowed: BTreeSet<&str> = [
        "Gather",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Max",
        "LayerNormalization",
        "MatMul",
        "Reshape",
        "Transpose",
        "Softmax",
        "Erf",
        "Cast",
        "Unsqueeze",
        "ReduceSum",
        "ReduceL2",
        "QuantizeLinear",
        "DequantizeLinear",
    ]
    .into();
    for precision in [QuantScheme::Fp32, QuantScheme::Int8] {
        let model = bert::build_model(&src, Target::Npu, precision).expect("build");
        assert_eq!(model.opsets, vec![(String::new(), 21)], "standard domain at opset 21 only");
        for node in &model.graph.nodes {
            assert!(node.domain.is_empty(), "{} is in domain {}", node.name, node.domain);
            assert!(
                allowed.contains(node.op_type.as_str()),
                "{precision:?}: unexpected op {} ({})",
                node.op_type,
                node.name
            );
        }
        for value in model.graph.inputs.iter().chain(&model.graph.outputs) {
            let shape = value.shape.as_ref().expect("shape");
            assert!(shape.len() <= 4, "{} has rank {}", value.name, shape.len());
            for dim in shape {
                assert!(matches!(dim, Dim::Fixed(n) if *n > 0), "{} has dynamic dim {dim:?}", value.name);
            }
        }
        let input_shape = &model.graph.inputs[0].shape;
        assert_eq!(input_shape.as_deref(), Some(&[Dim::Fixed(1), Dim::Fixed(256)][..]));
        // Reshape targets are spelled out: no 0 (copy) or -1 (infer) that depends on the input.
        for node in model.graph.nodes.iter().filter(|n| n.op_type == "Reshape") {
            let shape = initializer(&model, &node.inputs[1]);
            let dims: Vec<i64> =
                shape.raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
            assert!(dims.len() <= 4 && dims.iter().all(|&d| d > 0), "{}: reshape to {dims:?}", node.name);
        }
        // The additive mask is finite: -inf would turn fully padded rows into NaN.
        let bias = f32s(initializer(&model, "const.mask_bias"));
        assert!(bias[0].is_finite() && bias[0] <= -1e4, "{bias:?}");
    }

    // The cpu graph keeps batch and sequence symbolic.
    let cpu = bert::build_model(&src, Target::Cpu, QuantScheme::Fp32).expect("build");
    let ids = &cpu.graph.inputs[0];
    assert_eq!(ids.name, "input_ids");
    assert_eq!(ids.shape.as_deref(), Some(&[Dim::Named("batch".into()), Dim::Named("sequence".into())][..]));
    assert!(cpu.graph.nodes.iter().all(|n| n.domain.is_empty() && n.op_type != "DynamicQuantizeLinear"));
}

#[test]
fn fp32_weights_are_exact_and_int8_quantizes_the_six_layer_matrices_per_channel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, _) = setup(dir.path());
    let tensors = tiny_tensors();
    let source_of = |name: &str| tensors.iter().find(|(n, _, _)| n == name).expect("tensor").2.clone();
    // PyTorch stores Linear weights [out, in]; the graph's MatMul wants [in, out].
    let transpose = |w: &[f32], rows: usize, cols: usize| -> Vec<f32> {
        (0..cols).flat_map(|c| (0..rows).map(move |r| w[r * cols + c])).collect()
    };
    let name = "encoder.layer.1.intermediate.dense.weight";
    let expected = transpose(&source_of(name), INTERMEDIATE, HIDDEN);

    let fp32 = bert::build_model(&src, Target::Cpu, QuantScheme::Fp32).expect("fp32");
    let weight = initializer(&fp32, name);
    assert_eq!(weight.dims, [HIDDEN as i64, INTERMEDIATE as i64]);
    assert_eq!(f32s(weight), expected, "fp32 weights must be bit-exact");
    let table = initializer(&fp32, "embeddings.word_embeddings.weight");
    assert_eq!(f32s(table), source_of("embeddings.word_embeddings.weight"));

    // npu: w8a16. Int8 weights, one scale per output channel, in products whose input and
    // output are 16-bit activations on static grids (what Qualcomm's HTP compiler takes whole).
    let npu = bert::build_model(&src, Target::Npu, QuantScheme::Int8).expect("int8 npu");
    let npu_producer = |output: &str| npu.graph.nodes.iter().find(|n| n.outputs.iter().any(|o| o == output));
    let npu_consumers = |output: &str| -> Vec<&str> {
        npu.graph.nodes.iter().filter(|n| n.inputs.iter().any(|i| i == output)).map(|n| n.op_type.as_str()).collect()
    };
    let dequantize: Vec<_> =
        npu.graph.nodes.iter().filter(|n| n.op_type == "DequantizeLinear" && !n.attributes.is_empty()).collect();
    assert_eq!(dequantize.len(), 6 * LAYERS, "q, k, v, attention output, intermediate, output per layer");
    for node in &dequantize {
        assert_eq!(node.attributes, vec![("axis".to_owned(), AttributeValue::Int(1))], "{}", node.name);
        let quantized = initializer(&npu, &node.inputs[0]);
        assert_eq!(quantized.data_type, DataType::Int8);
        let out_features = quantized.dims[1];
        assert_eq!(initializer(&npu, &node.inputs[1]).dims, [out_features]);
        let zero_point = initializer(&npu, &node.inputs[2]);
        assert_eq!((zero_point.data_type, zero_point.dims.as_slice()), (DataType::Int8, &[out_features][..]));
        assert!(zero_point.raw.iter().all(|&z| z == 0), "symmetric quantization");

        let product = npu.graph.nodes.iter().find(|n| n.inputs.get(1) == Some(&node.outputs[0])).expect("product");
        assert_eq!(product.op_type, "MatMul", "{}", node.name);
        let input = npu_producer(&product.inputs[0]).expect("dequantized input");
        let quantize = npu_producer(&input.inputs[0]).expect("quantized input");
        assert_eq!((input.op_type.as_str(), quantize.op_type.as_str()), ("DequantizeLinear", "QuantizeLinear"));
        let activation_zero = initializer(&npu, &quantize.inputs[2]);
        assert_eq!(activation_zero.data_type, DataType::Uint16, "{}: 16-bit activations", product.name);
        assert_eq!(npu_consumers(&product.outputs[0]), ["QuantizeLinear"], "{}: a quantized output", product.name);
    }
    assert!(npu.graph.initializers.iter().all(|t| t.name != name), "the fp32 copy is not kept");

    // Dequantized weights are within half a step of the originals, per output channel.
    let quantized = initializer(&npu, &format!("{name}.int8"));
    let scales = f32s(initializer(&npu, &format!("{name}.scale")));
    assert_eq!(scales.len(), INTERMEDIATE);
    for (i, (&q, &w)) in quantized.raw.iter().zip(&expected).enumerate() {
        let scale = scales[i % INTERMEDIATE];
        let restored = f32::from(q as i8) * scale;
        assert!((restored - w).abs() <= scale * 0.5 + 1e-6, "element {i}: {restored} vs {w}");
    }
    let int8_bytes = npu.encode().len();
    let fp32_bytes = bert::build_model(&src, Target::Npu, QuantScheme::Fp32).expect("fp32 npu").encode().len();
    println!("tiny model: fp32 {fp32_bytes} bytes, int8 {int8_bytes} bytes");
    assert!(int8_bytes < fp32_bytes);

    // cpu: int8 × int8 products on activations quantized at run time, in the pattern ORT fuses
    // into MatMulIntegerToFloat: MatMulInteger(x_q, w_q, x_zero, w_zero) → Cast → Mul(x_scale ·
    // w_scale) → Add(bias).
    let cpu = bert::build_model(&src, Target::Cpu, QuantScheme::Int8).expect("int8 cpu");
    let producer = |output: &str| cpu.graph.nodes.iter().find(|n| n.outputs.iter().any(|o| o == output));
    let consumers = |output: &str| -> Vec<&str> {
        cpu.graph.nodes.iter().filter(|n| n.inputs.iter().any(|i| i == output)).map(|n| n.op_type.as_str()).collect()
    };
    let products: Vec<_> = cpu.graph.nodes.iter().filter(|n| n.op_type == "MatMulInteger").collect();
    assert_eq!(products.len(), 6 * LAYERS, "the six matrices of every layer");
    for node in &products {
        let quantize = producer(&node.inputs[0]).expect("quantized input");
        assert_eq!(quantize.op_type, "DynamicQuantizeLinear", "{}", node.name);
        assert_eq!(node.inputs[2], quantize.outputs[2], "{}: the activation zero point", node.name);
        let weight = initializer(&cpu, &node.inputs[1]);
        assert_eq!(weight.data_type, DataType::Int8, "{}: s8 weights (MLAS's fast u8×s8 kernels)", node.name);
        assert!(weight.raw.iter().all(|&q| (q as i8).unsigned_abs() <= 63), "{}: 7-bit weights", node.name);
        let zero = initializer(&cpu, &node.inputs[3]);
        assert_eq!((zero.data_type, zero.dims.len(), zero.raw.as_slice()), (DataType::Int8, 0, &[0u8][..]));
        assert_eq!(consumers(&node.outputs[0]), ["Cast"], "{}", node.name);
    }
    let quantizers = cpu.graph.nodes.iter().filter(|n| n.op_type == "DynamicQuantizeLinear").count();
    assert_eq!(quantizers, 4 * LAYERS, "one per distinct input: Q/K/V share theirs");
    // The FFN's widest channels (1/16 of them here) run in fp32 beside the int8 products.
    let up = cpu.graph.nodes.iter().find(|n| n.name.starts_with("encoder.layer.1.intermediate.outliers.matmul"));
    let up = initializer(&cpu, &up.expect("fp32 outlier product").inputs[1]);
    assert_eq!(up.dims, [HIDDEN as i64, (INTERMEDIATE / 16) as i64]);
    assert!(cpu.graph.initializers.iter().all(|t| t.name != name), "the fp32 copy is not kept");
}

#[test]
fn checkpoints_saved_from_a_task_head_convert_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    tiny_bert(&src, "bert.", None);
    let model = bert::build_model(&src, Target::Cpu, QuantScheme::Fp32).expect("bert.-prefixed checkpoint");
    assert!(model.graph.initializers.iter().any(|t| t.name == "embeddings.word_embeddings.weight"));
}

/// Converts and expects failure; checks the error names `needle` and nothing was left behind.
fn expect_failure(src: &Path, out: &Path, precision: QuantScheme, needles: &[&str]) -> String {
    let err = bert::convert_embedding(src, out, &[Target::Cpu, Target::Npu], precision)
        .expect_err("conversion must fail")
        .to_string();
    for needle in needles {
        assert!(err.contains(needle), "error {err:?} should mention {needle:?}");
    }
    assert!(!out.exists(), "no package may be left at {}", out.display());
    assert!(leftovers(out.parent().expect("parent")).is_empty(), "partial folders left behind");
    err
}

#[test]
fn bad_sources_fail_naming_the_file_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, out) = setup(dir.path());
    std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
    let src_text = src.display().to_string();

    std::fs::remove_file(src.join("tokenizer.json")).expect("rm");
    let err = expect_failure(&src, &out, QuantScheme::Fp32, &[&format!("{src_text}/tokenizer.json")]);
    println!("missing tokenizer.json: {err}");
    std::fs::write(src.join("tokenizer.json"), "{\"version\": ").expect("write");
    expect_failure(&src, &out, QuantScheme::Fp32, &["tokenizer.json", "invalid JSON"]);
    std::fs::write(src.join("tokenizer.json"), tiny_tokenizer_json()).expect("write");

    let config = std::fs::read_to_string(src.join("config.json")).expect("read");
    std::fs::remove_file(src.join("config.json")).expect("rm");
    let err = expect_failure(&src, &out, QuantScheme::Fp32, &[&format!("{src_text}/config.json")]);
    println!("missing config.json: {err}");

    let narrower = config.replace(&format!("\"intermediate_size\":{INTERMEDIATE}"), "\"intermediate_size\":48");
    assert_ne!(narrower, config);
    std::fs::write(src.join("config.json"), &narrower).expect("write");
    let err = expect_failure(
        &src,
        &out,
        QuantScheme::Fp32,
        &["model.safetensors", "'encoder.layer.0.intermediate.dense.weight'", "[64, 32]", "[48, 32]", "config.json"],
    );
    println!("inconsistent shapes: {err}");

    let odd_heads = config.replace(&format!("\"num_attention_heads\":{HEADS}"), "\"num_attention_heads\":5");
    std::fs::write(src.join("config.json"), &odd_heads).expect("write");
    expect_failure(&src, &out, QuantScheme::Fp32, &["config.json", "num_attention_heads 5"]);

    let tanh = config.replace("\"hidden_act\":\"gelu\"", "\"hidden_act\":\"gelu_new\"");
    std::fs::write(src.join("config.json"), &tanh).expect("write");
    expect_failure(&src, &out, QuantScheme::Fp32, &["config.json", "unsupported", "gelu_new"]);
    std::fs::write(src.join("config.json"), &config).expect("write");

    expect_failure(&src, &out, QuantScheme::Fp16, &["unsupported", "fp16"]);

    let missing = dir.path().join("missing-tensor");
    tiny_bert(&missing, "", Some("encoder.layer.1.output.dense.bias"));
    let err = expect_failure(
        &missing,
        &out,
        QuantScheme::Int8,
        &["missing-tensor/model.safetensors", "'encoder.layer.1.output.dense.bias' is missing"],
    );
    println!("missing tensor: {err}");

    std::fs::write(src.join("model.safetensors"), b"\x10\0\0\0\0\0\0\0{\"a\":").expect("write");
    let err = expect_failure(&src, &out, QuantScheme::Fp32, &["model.safetensors", "header"]);
    println!("damaged weights: {err}");
}

#[test]
fn an_existing_package_is_replaced_but_other_folders_are_never_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, out) = setup(dir.path());
    bert::convert_embedding(&src, &out, &[Target::Cpu, Target::Npu], QuantScheme::Fp32).expect("first");
    let summary = bert::convert_embedding(&src, &out, &[Target::Cpu], QuantScheme::Int8).expect("replace");
    assert_eq!(summary.manifest.variants.len(), 1);
    assert_eq!(summary.manifest.variants[0].quant, QuantScheme::Int8);
    assert!(!out.join("model.npu.onnx").exists(), "the old package's files are gone");
    assert!(leftovers(out.parent().expect("parent")).is_empty());

    // A failed re-conversion keeps the previous package.
    std::fs::remove_file(src.join("tokenizer.json")).expect("rm");
    bert::convert_embedding(&src, &out, &[Target::Cpu], QuantScheme::Fp32).expect_err("no tokenizer");
    assert!(out.join("onyx-model.json").is_file() && out.join("model.cpu.onnx").is_file());
    std::fs::write(src.join("tokenizer.json"), tiny_tokenizer_json()).expect("write");

    let precious = dir.path().join("precious");
    std::fs::create_dir_all(&precious).expect("mkdir");
    std::fs::write(precious.join("thesis.txt"), b"do not delete").expect("write");
    let err = bert::convert_embedding(&src, &precious, &[Target::Cpu], QuantScheme::Fp32).expect_err("refuses");
    let message = err.to_string();
    assert!(message.contains("precious") && message.contains("not an Onyx model package"), "{message}");
    assert_eq!(std::fs::read(precious.join("thesis.txt")).expect("untouched"), b"do not delete");

    let err = bert::convert_embedding(&src, &dir.path().join("x"), &[], QuantScheme::Fp32).expect_err("no targets");
    assert!(err.to_string().contains("no target"), "{err}");
}

#[test]
fn the_conversion_reports_a_rising_fraction_that_ends_at_exactly_one() {
    use onyx_convert::progress::Progress;

    let dir = tempfile::tempdir().expect("tempdir");
    let (src, out) = setup(dir.path());
    let mut events = Vec::new();
    bert::convert_embedding_with_progress(&src, &out, &[Target::Cpu, Target::Npu], QuantScheme::Fp32, &mut |event| {
        events.push(event);
        std::ops::ControlFlow::Continue(())
    })
    .expect("convert");

    let steps: Vec<&Progress> = events.iter().filter(|e| matches!(e, Progress::Step(_))).collect();
    assert_eq!(steps, [&Progress::Step("reading"), &Progress::Step("embedding graphs")]);
    let fractions: Vec<f32> = events
        .iter()
        .filter_map(|e| match e {
            Progress::Fraction(done) => Some(*done),
            Progress::Step(_) => None,
        })
        .collect();
    assert_eq!(fractions.first(), Some(&0.0));
    assert_eq!(events.last(), Some(&Progress::Fraction(1.0)));
    assert_eq!(fractions.iter().filter(|&&f| f >= 1.0).count(), 1, "{fractions:?}");
    assert!(fractions.windows(2).all(|pair| pair[0] <= pair[1]), "{fractions:?}");
    // Both graphs move the fraction: building, then writing each.
    assert!(fractions.len() >= 6, "{fractions:?}");
}
