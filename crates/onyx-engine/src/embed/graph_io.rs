//! What an embedding graph takes and gives: which input carries what, and which output holds
//! the vectors (pooled in the graph, or token vectors pooled here).

use onyx_runtime::ort::value::TensorElementType;

use super::*;

/// What each graph input carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum InputRole {
    Ids,
    Mask,
    TypeIds,
}

/// Which output holds the answer, and whether it still needs pooling.
#[derive(Clone, Debug)]
pub(super) enum Readout {
    /// `[batch, dim]`, pooled inside the graph.
    Pooled(String),
    /// `[batch, sequence, dim]`, pooled here.
    Tokens { name: String, pooling: Pooling },
}

/// What [`inspect_graph`] learned about a graph's inputs and outputs.
pub(super) struct GraphIo {
    pub(super) inputs: Vec<(String, InputRole)>,
    pub(super) readout: Readout,
    /// The output's width, when the graph fixes it.
    pub(super) dim: Option<usize>,
}

/// Maps the graph's inputs to token rows and picks its output. `prefer_pooled` reads an in-graph
/// `sentence_embedding` when there is one (Onyx packages); otherwise token vectors are preferred,
/// since what a foreign export's pooled output contains is not recorded anywhere.
pub(super) fn inspect_graph(
    session: &Session,
    model_file: &Path,
    prefer_pooled: bool,
    pooling: Pooling,
) -> Result<GraphIo, EngineError> {
    let mut inputs = Vec::new();
    for input in session.inputs() {
        let role = match input.name() {
            bert::INPUT_IDS => InputRole::Ids,
            bert::ATTENTION_MASK => InputRole::Mask,
            bert::TOKEN_TYPE_IDS => InputRole::TypeIds,
            other => {
                return Err(EngineError::package(
                    model_file,
                    format!(
                        "graph input '{other}' is not one of {}, {}, {}",
                        bert::INPUT_IDS,
                        bert::ATTENTION_MASK,
                        bert::TOKEN_TYPE_IDS
                    ),
                ));
            }
        };
        let element = input.dtype().tensor_type();
        if element != Some(TensorElementType::Int64) {
            return Err(EngineError::package(
                model_file,
                format!("graph input '{}' is {element:?}; Onyx feeds int64 token rows", input.name()),
            ));
        }
        inputs.push((input.name().to_owned(), role));
    }
    // Without a mask, padding would leak into attention and pooling.
    for (role, name) in [(InputRole::Ids, bert::INPUT_IDS), (InputRole::Mask, bert::ATTENTION_MASK)] {
        if !inputs.iter().any(|(_, r)| *r == role) {
            return Err(EngineError::package(model_file, format!("the graph has no '{name}' input")));
        }
    }

    let output = |name: &str| session.outputs().iter().find(|o| o.name() == name);
    let pooled = output(bert::SENTENCE_EMBEDDING).map(|o| (o, Readout::Pooled(o.name().to_owned())));
    let tokens = TOKEN_OUTPUTS
        .iter()
        .find_map(|&name| output(name))
        .map(|o| (o, Readout::Tokens { name: o.name().to_owned(), pooling }));
    let chosen = if prefer_pooled { pooled.or(tokens) } else { tokens.or(pooled) };
    let Some((outlet, readout)) = chosen else {
        let names: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        return Err(EngineError::package(
            model_file,
            format!(
                "the graph has none of the outputs {}, {} (it has {})",
                bert::SENTENCE_EMBEDDING,
                TOKEN_OUTPUTS.join(", "),
                names.join(", ")
            ),
        ));
    };
    let element = outlet.dtype().tensor_type();
    if element != Some(TensorElementType::Float32) {
        return Err(EngineError::package(
            model_file,
            format!("graph output '{}' is {element:?}; only float32 outputs are read", outlet.name()),
        ));
    }
    let dim = outlet.dtype().tensor_shape().and_then(|s| s.last().copied()).and_then(|d| usize::try_from(d).ok());
    Ok(GraphIo { inputs, readout, dim: dim.filter(|&d| d > 0) })
}

/// The embedding width from `config.json`, for exports whose graph leaves it dynamic.
pub(super) fn hidden_size(dir: &Path) -> Result<usize, EngineError> {
    let path = dir.join("config.json");
    let unknown =
        |why: String| EngineError::package(&path, format!("the graph does not fix the embedding width and {why}"));
    let text = std::fs::read_to_string(&path).map_err(|e| unknown(format!("config.json is unreadable ({e})")))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unknown(format!("config.json is not JSON ({e})")))?;
    json.get("hidden_size")
        .and_then(serde_json::Value::as_u64)
        .and_then(|d| usize::try_from(d).ok())
        .filter(|&d| d > 0)
        .ok_or_else(|| unknown("config.json has no hidden_size".into()))
}
