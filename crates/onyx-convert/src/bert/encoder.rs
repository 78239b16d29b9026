//! The ONNX graph of a BERT sentence-embedding model, for one target and precision: embeddings,
//! encoder layers, pooling and normalisation from standard operators, and the int8 schemes of
//! the module docs.

use super::*;
use crate::qdq::{self, Range, quantize_per_column};
use calibration::Grids;

/// Builds one graph from a checked [`BertSource`]. Node names are `{scope}/{op}_{n}` (from the
/// shared [`graph::GraphBuilder`]), with scopes that follow the checkpoint's tensor names so a
/// placement report points straight at the layer.
pub(super) struct BertGraph<'a> {
    pub(super) source: &'a BertSource,
    pub(super) target: Target,
    pub(super) precision: QuantScheme,
    pub(super) graph: graph::GraphBuilder,
}

impl<'a> BertGraph<'a> {
    pub(super) fn new(source: &'a BertSource, target: Target, precision: QuantScheme) -> Self {
        let graph = graph::GraphBuilder::new(&format!("onyx_bert_embedding_{target}"));
        Self { source, target, precision, graph }
    }

    pub(super) fn op(&mut self, op_type: &str, scope: &str, inputs: &[&str]) -> String {
        self.graph.op1(scope, op_type, inputs)
    }

    pub(super) fn op_with(
        &mut self,
        op_type: &str,
        scope: &str,
        inputs: &[&str],
        attrs: Vec<(&str, AttributeValue)>,
    ) -> String {
        self.graph.op1_with(scope, op_type, "", inputs, attrs)
    }

    /// A node whose output is a graph output, so it needs a fixed name.
    pub(super) fn op_output(
        &mut self,
        op_type: &str,
        output: &str,
        inputs: &[&str],
        attrs: Vec<(&str, AttributeValue)>,
    ) {
        self.graph.op_named(&format!("{output}/{op_type}"), op_type, "", inputs, &[output], attrs);
    }

    pub(super) fn constant_f32(&mut self, name: &str, dims: &[i64], values: &[f32]) -> String {
        self.graph.const_f32(name, dims, values)
    }

    pub(super) fn constant_i64(&mut self, name: &str, values: &[i64]) -> String {
        self.graph.const_i64(name, &[values.len() as i64], values)
    }

    /// A checkpoint tensor as an fp32 initializer named after it.
    pub(super) fn weight_f32(&mut self, name: &str, dims: &[i64]) -> Result<String, ConvertError> {
        let values = self.source.weight(name)?;
        Ok(self.constant_f32(name, dims, &values))
    }

    pub(super) fn build(mut self) -> Result<Model, ConvertError> {
        let c = self.source.config.clone();
        let (hidden, heads, head_dim) = (c.hidden_size as i64, c.num_attention_heads as i64, c.head_dim() as i64);
        let (batch, sequence): (Dim, Dim) = match self.target {
            Target::Cpu => ("batch".into(), "sequence".into()),
            Target::Npu => (Dim::Fixed(NPU_BATCH as i64), Dim::Fixed(self.source.npu_sequence() as i64)),
        };
        // Reshape targets: static graphs spell every size out, so NPU compilers see no
        // data-dependent shapes; dynamic ones copy batch and sequence with 0.
        let (heads_shape, hidden_shape) = match self.target {
            Target::Cpu => (vec![0, 0, heads, head_dim], vec![0, 0, hidden]),
            Target::Npu => {
                let (b, s) = (NPU_BATCH as i64, self.source.npu_sequence() as i64);
                (vec![b, s, heads, head_dim], vec![b, s, hidden])
            }
        };
        let heads_shape = self.constant_i64("shape.heads", &heads_shape);
        let hidden_shape = self.constant_i64("shape.hidden", &hidden_shape);
        let one = self.constant_f32("const.one", &[], &[1.0]);

        // The npu graph's products run in w8a16, on grids from the same calibration pass.
        let grids: Option<Vec<Grids>> = match (self.target, self.precision) {
            (Target::Npu, QuantScheme::Int8) => {
                Some(calibration::measure(self.source)?.into_iter().map(|ranges| ranges.grids).collect())
            }
            _ => None,
        };

        // Embeddings: word + position + token type, then LayerNorm.
        let word = if grids.is_some() {
            // The npu int8 graph keeps the word table in int8 too (one scale per row), in the
            // gather form the HTP takes: as fp32 it would be two thirds of the compiled context.
            let table = self.source.weight("embeddings.word_embeddings.weight")?;
            qdq::int8_row_gather(
                &mut self.graph,
                "embeddings.word",
                "embeddings.word_embeddings",
                &table,
                c.hidden_size,
                INPUT_IDS,
            )
        } else {
            let word_table = self.weight_f32("embeddings.word_embeddings.weight", &[c.vocab_size as i64, hidden])?;
            self.op("Gather", "embeddings.word", &[&word_table, INPUT_IDS])
        };
        let positions = match self.target {
            Target::Cpu => {
                let table = self
                    .weight_f32("embeddings.position_embeddings.weight", &[c.max_position_embeddings as i64, hidden])?;
                let length = self.op_with(
                    "Shape",
                    "embeddings.sequence_length",
                    &[INPUT_IDS],
                    vec![("start", AttributeValue::Int(1)), ("end", AttributeValue::Int(2))],
                );
                let zero = self.constant_i64("const.zero_1d", &[0]);
                let axis0 = self.constant_i64("const.axis0", &[0]);
                self.op("Slice", "embeddings.position", &[&table, &zero, &length, &axis0])
            }
            Target::Npu => {
                // The static graph always uses the first `sequence` positions: store just those.
                let table = self.source.weight("embeddings.position_embeddings.weight")?;
                let rows = self.source.npu_sequence();
                let used = table.get(..rows * c.hidden_size).ok_or_else(|| {
                    ConvertError::malformed(
                        self.source.weights.source(),
                        format!("position table has fewer than {rows} rows"),
                    )
                })?;
                self.constant_f32("embeddings.position", &[rows as i64, hidden], used)
            }
        };
        let type_table =
            self.weight_f32("embeddings.token_type_embeddings.weight", &[c.type_vocab_size as i64, hidden])?;
        let types = self.op("Gather", "embeddings.token_type", &[&type_table, TOKEN_TYPE_IDS]);
        let sum = self.op("Add", "embeddings.add_position", &[&word, &positions]);
        let sum = self.op("Add", "embeddings.add_token_type", &[&sum, &types]);
        let mut x = self.layer_norm("embeddings.LayerNorm", &sum, None)?;

        // Additive attention bias [batch, 1, 1, sequence]: 0 for tokens, MASK_BIAS for padding.
        let mask = self.op_with(
            "Cast",
            "mask.float",
            &[ATTENTION_MASK],
            vec![("to", AttributeValue::Int(DataType::Float as i64))],
        );
        let inverted = self.op("Sub", "mask.inverted", &[&one, &mask]);
        let bias_scale = self.constant_f32("const.mask_bias", &[], &[MASK_BIAS]);
        let bias = self.op("Mul", "mask.bias_2d", &[&inverted, &bias_scale]);
        let axes_1_2 = self.constant_i64("const.axes_1_2", &[1, 2]);
        let bias = self.op("Unsqueeze", "mask.bias", &[&bias, &axes_1_2]);
        let attention_scale = self.constant_f32("const.sqrt_head_dim", &[], &[(c.head_dim() as f32).sqrt()]);
        let gelu = GeluConstants {
            sqrt2: self.constant_f32("const.sqrt2", &[], &[std::f32::consts::SQRT_2]),
            one: one.clone(),
            half: self.constant_f32("const.half", &[], &[0.5]),
        };
        let quantization = match (self.target, self.precision) {
            (Target::Cpu, QuantScheme::Int8) => Some(self.activation_quantization()?),
            _ => None,
        };
        for layer in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{layer}.");
            let plan = quantization.as_ref().and_then(|q| q.get(layer));
            let grids = grids.as_ref().and_then(|g| g.get(layer)).copied();
            let [q, k, v] = self.attention_projections(&x, &p, plan, grids)?;
            let q = self.op("Reshape", &format!("{p}attention.q_heads"), &[&q, &heads_shape]);
            let k = self.op("Reshape", &format!("{p}attention.k_heads"), &[&k, &heads_shape]);
            let v = self.op("Reshape", &format!("{p}attention.v_heads"), &[&v, &heads_shape]);
            // [b, s, heads, d] → q, v: [b, heads, s, d]; k straight to [b, heads, d, s].
            let q = self.transpose(&q, &format!("{p}attention.q_t"), &[0, 2, 1, 3]);
            let k = self.transpose(&k, &format!("{p}attention.k_t"), &[0, 2, 3, 1]);
            let v = self.transpose(&v, &format!("{p}attention.v_t"), &[0, 2, 1, 3]);
            let scores = self.op("MatMul", &format!("{p}attention.scores"), &[&q, &k]);
            // Divide after the product, as transformers does, so fp32 results match it closely.
            let scores = self.op("Div", &format!("{p}attention.scaled"), &[&scores, &attention_scale]);
            let scores = self.op("Add", &format!("{p}attention.masked"), &[&scores, &bias]);
            let probs = self.op_with(
                "Softmax",
                &format!("{p}attention.probs"),
                &[&scores],
                vec![("axis", AttributeValue::Int(-1))],
            );
            let context = self.op("MatMul", &format!("{p}attention.context"), &[&probs, &v]);
            let context = self.transpose(&context, &format!("{p}attention.context_t"), &[0, 2, 1, 3]);
            let context = self.op("Reshape", &format!("{p}attention.context_merged"), &[&context, &hidden_shape]);
            let attended = self.output_projection(&context, &p, plan, grids)?;
            let residual = self.op("Add", &format!("{p}attention.residual"), &[&attended, &x]);
            let x1 = self.layer_norm(&format!("{p}attention.output.LayerNorm"), &residual, None)?;

            let down = self.feed_forward(&x1, &p, plan, grids, &gelu)?;
            let residual = self.op("Add", &format!("{p}output.residual"), &[&down, &x1]);
            // `num_hidden_layers` is at least 1 (checked in `RawConfig::bert`), so the last layer
            // always produces the graph output.
            let last = layer + 1 == c.num_hidden_layers;
            let output = last.then_some(TOKEN_EMBEDDINGS);
            x = self.layer_norm(&format!("{p}output.LayerNorm"), &residual, output)?;
        }

        // Mean pooling under the mask, then L2 normalisation, as sentence-transformers does.
        let axis2 = self.constant_i64("const.axis2", &[2]);
        let axis1 = self.constant_i64("const.axis1", &[1]);
        let token_mask = self.op("Unsqueeze", "pooling.mask", &[&mask, &axis2]);
        let masked = self.op("Mul", "pooling.masked", &[&x, &token_mask]);
        let keep = vec![("keepdims", AttributeValue::Int(0))];
        let summed = self.op_with("ReduceSum", "pooling.sum", &[&masked, &axis1], keep.clone());
        let count = self.op_with("ReduceSum", "pooling.count", &[&token_mask, &axis1], keep);
        let min_count = self.constant_f32("const.min_token_count", &[], &[MIN_TOKEN_COUNT]);
        let count = self.op("Max", "pooling.count_clamped", &[&count, &min_count]);
        let mean = self.op("Div", "pooling.mean", &[&summed, &count]);
        let norm =
            self.op_with("ReduceL2", "normalize.norm", &[&mean, &axis1], vec![("keepdims", AttributeValue::Int(1))]);
        let min_norm = self.constant_f32("const.min_norm", &[], &[MIN_NORM]);
        let norm = self.op("Max", "normalize.norm_clamped", &[&norm, &min_norm]);
        self.op_output("Div", SENTENCE_EMBEDDING, &[&mean, &norm], Vec::new());

        for name in [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS] {
            self.graph.input(name, DataType::Int64, vec![batch.clone(), sequence.clone()]);
        }
        self.graph.output(SENTENCE_EMBEDDING, DataType::Float, vec![batch.clone(), Dim::Fixed(hidden)]);
        self.graph.output(TOKEN_EMBEDDINGS, DataType::Float, vec![batch, sequence, Dim::Fixed(hidden)]);
        let mut model = Model::new(self.graph.finish(), OPSET);
        model.metadata = vec![
            ("onyx.kind".to_owned(), "embedding".to_owned()),
            ("onyx.architecture".to_owned(), "bert".to_owned()),
            ("onyx.target".to_owned(), self.target.to_string()),
            ("onyx.precision".to_owned(), self.precision.to_string()),
        ];
        Ok(model)
    }

    pub(super) fn transpose(&mut self, input: &str, name: &str, perm: &[i64]) -> String {
        self.op_with("Transpose", name, &[input], vec![("perm", AttributeValue::Ints(perm.to_vec()))])
    }

    /// LayerNorm with the checkpoint's `{prefix}.weight`/`.bias`; `output` names a graph output.
    pub(super) fn layer_norm(
        &mut self,
        prefix: &str,
        input: &str,
        output: Option<&str>,
    ) -> Result<String, ConvertError> {
        let hidden = self.source.config.hidden_size as i64;
        let scale = self.weight_f32(&format!("{prefix}.weight"), &[hidden])?;
        let bias = self.weight_f32(&format!("{prefix}.bias"), &[hidden])?;
        let epsilon = self.source.config.layer_norm_eps as f32;
        let attrs = vec![("axis", AttributeValue::Int(-1)), ("epsilon", AttributeValue::Float(epsilon))];
        let inputs = [input, &scale, &bias];
        Ok(match output {
            Some(name) => {
                self.op_output("LayerNormalization", name, &inputs, attrs);
                name.to_owned()
            }
            None => self.op_with("LayerNormalization", prefix, &inputs, attrs),
        })
    }

    /// A checkpoint `Linear` (`{prefix}.weight` stored `[out, in]`, `{prefix}.bias`), with the
    /// weight transposed once here to ONNX's `[in, out]`.
    pub(super) fn dense(&self, prefix: &str) -> Result<Dense, ConvertError> {
        let weight = self.source.weight(&format!("{prefix}.weight"))?;
        let bias = self.source.weight(&format!("{prefix}.bias"))?;
        let outputs = bias.len();
        let inputs = weight.len().checked_div(outputs).unwrap_or(0);
        let mut transposed = vec![0.0f32; weight.len()];
        for (o, row) in weight.chunks_exact(inputs.max(1)).enumerate() {
            for (i, &w) in row.iter().enumerate() {
                if let Some(slot) = transposed.get_mut(i * outputs + o) {
                    *slot = w;
                }
            }
        }
        Ok(Dense { weight: transposed, bias, inputs, outputs })
    }

    /// How each layer of the int8 cpu graph handles its activations, from their ranges on
    /// calibration text ([`calibration::measure`]).
    pub(super) fn activation_quantization(&self) -> Result<Vec<LayerQuantization>, ConvertError> {
        Ok(calibration::measure(self.source)?.iter().map(LayerQuantization::from_ranges).collect())
    }

    /// Q, K and V of one layer. Int8 cpu builds divide the layer input by its smoothing factors
    /// once (the weights absorb them), quantize it once and share it between the three products;
    /// V's columns also absorb the context's smoothing, which is free there since the context is
    /// a weighted sum of V rows. Npu int8 builds run each product in w8a16 on `grids`.
    pub(super) fn attention_projections(
        &mut self,
        x: &str,
        p: &str,
        plan: Option<&LayerQuantization>,
        grids: Option<Grids>,
    ) -> Result<[String; 3], ConvertError> {
        let mut q = self.dense(&format!("{p}attention.self.query"))?;
        let mut k = self.dense(&format!("{p}attention.self.key"))?;
        let mut v = self.dense(&format!("{p}attention.self.value"))?;
        let Some(plan) = plan else {
            return Ok([
                self.linear(x, &format!("{p}attention.self.query"), &q, grids.map(|g| (g.attention_input, g.q))),
                self.linear(x, &format!("{p}attention.self.key"), &k, grids.map(|g| (g.attention_input, g.k))),
                self.linear(x, &format!("{p}attention.self.value"), &v, grids.map(|g| (g.attention_input, g.v))),
            ]);
        };
        for dense in [&mut q, &mut k, &mut v] {
            dense.scale_inputs(&plan.attention_input);
        }
        v.scale_outputs(&plan.context.iter().map(|s| 1.0 / s).collect::<Vec<_>>());
        let smoothed = self.smooth(x, &format!("{p}attention.self"), &plan.attention_input);
        let quantized = self.quantize_activations(&smoothed, &format!("{p}attention.self"));
        Ok([
            self.integer_linear(&quantized, &format!("{p}attention.self.query"), &q),
            self.integer_linear(&quantized, &format!("{p}attention.self.key"), &k),
            self.integer_linear(&quantized, &format!("{p}attention.self.value"), &v),
        ])
    }

    /// The attention output projection; its input was already divided by the smoothing factors
    /// through V (see [`BertGraph::attention_projections`]).
    pub(super) fn output_projection(
        &mut self,
        context: &str,
        p: &str,
        plan: Option<&LayerQuantization>,
        grids: Option<Grids>,
    ) -> Result<String, ConvertError> {
        let prefix = format!("{p}attention.output.dense");
        let mut dense = self.dense(&prefix)?;
        let Some(plan) = plan else {
            return Ok(self.linear(context, &prefix, &dense, grids.map(|g| (g.context, g.attention_output))));
        };
        dense.scale_inputs(&plan.context);
        let quantized = self.quantize_activations(context, &prefix);
        Ok(self.integer_linear(&quantized, &prefix, &dense))
    }

    /// Up projection, GELU, down projection. Int8 cpu builds keep the few intermediate channels
    /// whose activations reach far beyond the rest ([`LayerQuantization::ffn_outliers`]) out of
    /// the int8 products: they get their own small fp32 up and down products, so the int8 scale of
    /// the down projection's input is set by ordinary values. GELU's output cannot absorb a
    /// smoothing factor, which is why this projection is split instead.
    pub(super) fn feed_forward(
        &mut self,
        x1: &str,
        p: &str,
        plan: Option<&LayerQuantization>,
        grids: Option<Grids>,
        gelu: &GeluConstants,
    ) -> Result<String, ConvertError> {
        let up_prefix = format!("{p}intermediate.dense");
        let down_prefix = format!("{p}output.dense");
        let mut up = self.dense(&up_prefix)?;
        let down = self.dense(&down_prefix)?;
        let Some(plan) = plan else {
            let raised = self.linear(x1, &up_prefix, &up, grids.map(|g| (g.ffn_input, g.up)));
            let activated = self.gelu(&raised, &format!("{p}intermediate.gelu"), gelu);
            return Ok(self.linear(&activated, &down_prefix, &down, grids.map(|g| (g.ffn_hidden, g.down))));
        };
        up.scale_inputs(&plan.ffn_input);
        let smoothed = self.smooth(x1, &up_prefix, &plan.ffn_input);
        let quantized = self.quantize_activations(&smoothed, &up_prefix);
        let regular: Vec<usize> = (0..up.outputs).filter(|c| !plan.ffn_outliers.contains(c)).collect();
        let raised = self.integer_linear(&quantized, &up_prefix, &up.columns(&regular));
        let activated = self.gelu(&raised, &format!("{p}intermediate.gelu"), gelu);
        let quantized = self.quantize_activations(&activated, &down_prefix);
        let lowered = self.integer_linear(&quantized, &down_prefix, &down.rows(&regular, true));
        if plan.ffn_outliers.is_empty() {
            return Ok(lowered);
        }
        let outlier_prefix = format!("{p}intermediate.outliers");
        let raised = self.float_linear(&smoothed, &outlier_prefix, &up.columns(&plan.ffn_outliers));
        let activated = self.gelu(&raised, &format!("{outlier_prefix}.gelu"), gelu);
        let outlier_down = format!("{p}output.outliers");
        let extra = self.float_linear(&activated, &outlier_down, &down.rows(&plan.ffn_outliers, false));
        Ok(self.op("Add", &format!("{p}output.sum"), &[&lowered, &extra]))
    }

    /// Exact GELU, 0.5·x·(1 + erf(x/√2)): opset 17 has no Gelu op, and ORT fuses this pattern
    /// back into one kernel on the CPU.
    pub(super) fn gelu(&mut self, x: &str, scope: &str, constants: &GeluConstants) -> String {
        let scaled = self.op("Div", &format!("{scope}.div"), &[x, &constants.sqrt2]);
        let erf = self.op("Erf", &format!("{scope}.erf"), &[&scaled]);
        let erf = self.op("Add", &format!("{scope}.add"), &[&erf, &constants.one]);
        let gated = self.op("Mul", &format!("{scope}.mul"), &[x, &erf]);
        self.op("Mul", scope, &[&gated, &constants.half])
    }

    /// `x · W + b`: in w8a16 on `grids` (the product's input and output ranges) when given, as
    /// the npu int8 graph wants it, and in fp32 otherwise. The bias is added in float after the
    /// product, so it never widens the product's grid.
    pub(super) fn linear(&mut self, input: &str, prefix: &str, dense: &Dense, grids: Option<(Range, Range)>) -> String {
        let Some((input_range, output_range)) = grids else {
            return self.float_linear(input, prefix, dense);
        };
        let weight_name = format!("{prefix}.weight");
        let product = qdq::w8a16_matmul(
            &mut self.graph,
            &format!("{prefix}.matmul"),
            &weight_name,
            input,
            input_range,
            &dense.weight,
            dense.outputs,
            output_range,
        );
        let bias = self.constant_f32(&format!("{prefix}.bias"), &[dense.outputs as i64], &dense.bias);
        self.op("Add", &format!("{prefix}.add"), &[&product, &bias])
    }

    /// `x · W + b` with fp32 weights, whatever the build's precision.
    pub(super) fn float_linear(&mut self, input: &str, prefix: &str, dense: &Dense) -> String {
        let dims = [dense.inputs as i64, dense.outputs as i64];
        let weight = self.constant_f32(&format!("{prefix}.weight"), &dims, &dense.weight);
        let product = self.op("MatMul", &format!("{prefix}.matmul"), &[input, &weight]);
        if dense.bias.iter().all(|&b| b == 0.0) {
            return product;
        }
        let bias = self.constant_f32(&format!("{prefix}.bias"), &[dense.outputs as i64], &dense.bias);
        self.op("Add", &format!("{prefix}.add"), &[&product, &bias])
    }

    /// `x / factors`, per channel, for the int8 products that follow (which absorbed the factors
    /// into their weights).
    pub(super) fn smooth(&mut self, x: &str, scope: &str, factors: &[f32]) -> String {
        let inverse: Vec<f32> = factors.iter().map(|f| 1.0 / f).collect();
        let inverse = self.constant_f32(&format!("{scope}.smoothing"), &[factors.len() as i64], &inverse);
        self.op("Mul", &format!("{scope}.smoothed"), &[x, &inverse])
    }

    /// `DynamicQuantizeLinear`: uint8 activations with one scale and zero point per run.
    pub(super) fn quantize_activations(&mut self, x: &str, scope: &str) -> QuantizedActivations {
        let mut outputs =
            self.graph.op_with(&format!("{scope}.quantize_input"), "DynamicQuantizeLinear", "", &[x], 3, Vec::new());
        let zero_point = outputs.pop().unwrap_or_default();
        let scale = outputs.pop().unwrap_or_default();
        let values = outputs.pop().unwrap_or_default();
        QuantizedActivations { values, scale, zero_point }
    }

    /// `x · W + b` on int8 weights and dynamically quantized uint8 activations, spelled as
    /// `MatMulInteger → Cast → Mul(x_scale · w_scale) → Add(b)`: standard operators, which ORT's
    /// CPU EP fuses into one `MatMulIntegerToFloat` (or `DynamicQuantizeMatMul`, when the
    /// quantized input feeds only this product), an MLAS u8×s8 GEMM.
    pub(super) fn integer_linear(&mut self, x: &QuantizedActivations, prefix: &str, dense: &Dense) -> String {
        let dims = [dense.inputs as i64, dense.outputs as i64];
        let (quantized, scales) = quantize_per_column(&dense.weight, dense.outputs, DYNAMIC_WEIGHT_LIMIT);
        // Signed weights with zero point 0: MLAS's u8×s8 kernels are the fast ones (VNNI);
        // unsigned weights (zero point 128) measured 2.2× slower on an AVX-512 VNNI CPU.
        let weight = self.graph.initializer(Tensor::i8(format!("{prefix}.weight_quantized"), &dims, &quantized));
        let zero = self.graph.initializer(Tensor::i8(format!("{prefix}.weight_zero_point"), &[], &[0]));
        let weight_scale = self.constant_f32(&format!("{prefix}.weight_scale"), &[dense.outputs as i64], &scales);
        let product =
            self.op("MatMulInteger", &format!("{prefix}.matmul"), &[&x.values, &weight, &x.zero_point, &zero]);
        let product = self.op_with(
            "Cast",
            &format!("{prefix}.to_float"),
            &[&product],
            vec![("to", AttributeValue::Int(DataType::Float as i64))],
        );
        // ORT's fusion reads the scales from a Mul whose first input is the activation scale.
        let scale = self.op("Mul", &format!("{prefix}.scale"), &[&x.scale, &weight_scale]);
        let product = self.op("Mul", &format!("{prefix}.rescaled"), &[&product, &scale]);
        let bias = self.constant_f32(&format!("{prefix}.bias"), &[dense.outputs as i64], &dense.bias);
        self.op("Add", &format!("{prefix}.add"), &[&product, &bias])
    }
}

/// How the int8 cpu graph treats one layer's activations (see [`LayerQuantization::from_ranges`]).
pub(super) struct LayerQuantization {
    /// Per-channel divisors (≥ 1) of the Q/K/V input; the weights are multiplied by them.
    pub(super) attention_input: Vec<f32>,
    /// The same for the attention context, divided through V's columns.
    pub(super) context: Vec<f32>,
    /// The same for the up projection's input.
    pub(super) ffn_input: Vec<f32>,
    /// Intermediate channels computed in fp32 beside the int8 products, ascending.
    pub(super) ffn_outliers: Vec<usize>,
}

impl LayerQuantization {
    /// Smoothing divides each channel by `(range / median range)^SMOOTHING_STRENGTH`, never
    /// by less than 1: outlier channels shrink toward the rest (their weights grow to match, and
    /// per-column weight scales absorb that), while ordinary channels, whose calibration range
    /// may well be exceeded by other text, are left alone. The GELU output cannot be divided
    /// for free, so its widest channels are split off instead.
    pub(super) fn from_ranges(ranges: &calibration::LayerRanges) -> Self {
        let smoothing = |range: &[f32]| -> Vec<f32> {
            let median = median(range).max(f32::MIN_POSITIVE);
            range.iter().map(|&r| (r / median).max(1.0).powf(SMOOTHING_STRENGTH)).collect()
        };
        let hidden = &ranges.ffn_hidden;
        let mut widest: Vec<usize> = (0..hidden.len()).collect();
        widest.sort_by(|&a, &b| hidden[b].total_cmp(&hidden[a]));
        widest.truncate(FFN_OUTLIERS.min(hidden.len() / 16));
        widest.sort_unstable();
        Self {
            attention_input: smoothing(&ranges.attention_input),
            context: smoothing(&ranges.context),
            ffn_input: smoothing(&ranges.ffn_input),
            ffn_outliers: widest,
        }
    }
}

pub(super) fn median(values: &[f32]) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// The three outputs of `DynamicQuantizeLinear`.
pub(super) struct QuantizedActivations {
    pub(super) values: String,
    pub(super) scale: String,
    pub(super) zero_point: String,
}

/// Initializer names GELU needs.
pub(super) struct GeluConstants {
    sqrt2: String,
    pub(super) one: String,
    pub(super) half: String,
}

/// A PyTorch `Linear` as ONNX's MatMul wants it: the weight `[inputs, outputs]`, row-major, and
/// the bias.
#[derive(Clone, Debug)]
pub(super) struct Dense {
    pub(super) weight: Vec<f32>,
    pub(super) bias: Vec<f32>,
    pub(super) inputs: usize,
    pub(super) outputs: usize,
}

impl Dense {
    /// Multiplies input row `i` by `factors[i]`, for an input the graph divides by them.
    pub(super) fn scale_inputs(&mut self, factors: &[f32]) {
        for (row, &f) in self.weight.chunks_exact_mut(self.outputs.max(1)).zip(factors) {
            row.iter_mut().for_each(|w| *w *= f);
        }
    }

    /// Multiplies output column `j` and its bias by `factors[j]`.
    pub(super) fn scale_outputs(&mut self, factors: &[f32]) {
        for row in self.weight.chunks_exact_mut(self.outputs.max(1)) {
            row.iter_mut().zip(factors).for_each(|(w, f)| *w *= f);
        }
        self.bias.iter_mut().zip(factors).for_each(|(b, f)| *b *= f);
    }

    /// The given output columns, in that order.
    pub(super) fn columns(&self, columns: &[usize]) -> Dense {
        let mut weight = Vec::with_capacity(self.inputs * columns.len());
        for row in self.weight.chunks_exact(self.outputs.max(1)) {
            weight.extend(columns.iter().map(|&c| row.get(c).copied().unwrap_or(0.0)));
        }
        let bias = columns.iter().map(|&c| self.bias.get(c).copied().unwrap_or(0.0)).collect();
        Dense { weight, bias, inputs: self.inputs, outputs: columns.len() }
    }

    /// The given input rows, in that order; with the bias, or with a zero one.
    pub(super) fn rows(&self, rows: &[usize], with_bias: bool) -> Dense {
        let mut weight = Vec::with_capacity(rows.len() * self.outputs);
        for &r in rows {
            weight.extend_from_slice(self.weight.get(r * self.outputs..(r + 1) * self.outputs).unwrap_or_default());
        }
        let bias = if with_bias { self.bias.clone() } else { vec![0.0; self.outputs] };
        Dense { weight, bias, inputs: rows.len(), outputs: self.outputs }
    }
}
