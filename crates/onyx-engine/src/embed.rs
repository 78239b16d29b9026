//! Sentence embeddings on whatever provider the runtime picked.
//!
//! What flows in: a model folder and texts. Two layouts are read:
//! - an Onyx embedding package (`onyx-model.json` of kind `embedding`, written by `onyx convert`),
//!   whose graphs already pool and L2-normalise (`sentence_embedding`);
//! - a sentence-transformers ONNX export (`model.onnx` or `onnx/model.onnx`, with `tokenizer.json`),
//!   which ends at token vectors (`last_hidden_state` or `token_embeddings`); the pooling its
//!   `modules.json` names is then done here.
//!
//! What flows out: one unit-length vector per text, in input order. Vectors are L2-normalised once
//! more in Rust whatever the graph did, so callers can compare them with a plain dot product.
//!
//! Dynamic graphs take batches sorted by token count and padded only to their longest text, which
//! keeps the compute spent on padding small. Static NPU graphs take exactly the batch and sequence
//! length they were built for.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use onyx_convert::bert;
use onyx_convert::folder::{Layout, ModelFolder};
use onyx_convert::hf::{Pooling, Prefixes, SentenceTransformers};
use onyx_convert::manifest::{self, MANIFEST_FILE, Manifest, ModelKind, Shapes, Target};
use onyx_runtime::ort::session::{Session, SessionInputValue};
use onyx_runtime::ort::value::Tensor;
use onyx_runtime::{
    ActiveProvider, Attempt, DeviceKind, ModelSource, ProvidedSession, ProviderChoice, ProviderError, Runtime,
    SessionRequest,
};
use tokenizers::{PostProcessor, Tokenizer};

use crate::{CancelToken, EngineError};

mod graph_io;
mod pooling;
mod variants;

use graph_io::{GraphIo, InputRole, Readout, hidden_size, inspect_graph};
pub use pooling::cosine;
use pooling::{normalize, pad_into, pool};
use variants::{build_package_session, build_session, graph_file};

/// Texts per run on dynamic graphs when the caller passes 0: large enough to keep the CPU's
/// matrix kernels busy, small enough that a batch of 256-token texts stays within a few hundred MB.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Most padded tokens one dynamic run may hold. 1024 (4 passages of 256) keeps a run's attention
/// scores near 12 MB per tensor: the session's working memory peaks near 110 MB with it against
/// 200 MB at 2048, and 256-token passages measured as fast per passage either way on a 2-core
/// CPU (each run still feeds the matrix kernels 1024 rows).
const TOKENS_PER_RUN: usize = 1024;

/// Token-vector outputs of the exports Onyx reads: Onyx packages and sentence-transformers'
/// own exporter call it `token_embeddings`, plain transformers exports `last_hidden_state`.
const TOKEN_OUTPUTS: &[&str] = &[bert::TOKEN_EMBEDDINGS, "last_hidden_state"];
/// Longest input assumed for an export that states none: BERT's position table.
const FALLBACK_MAX_TOKENS: usize = 512;
/// sentence-transformers' clamp on the norm, so an all-zero vector stays zero instead of NaN.
const MIN_NORM: f32 = 1e-12;

/// What a text is for. Models trained with prompts (E5, Nomic, BGE, ...) want a different
/// prefix on queries than on the passages they are matched against; others ignore this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// A search query.
    Query,
    /// A passage being indexed.
    Document,
}

/// One of a package's graphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The dynamic-shape graph.
    Cpu,
    /// The static-shape graph built for NPUs (batch and sequence fixed, padded).
    Npu,
}

impl Variant {
    fn target(self) -> Target {
        match self {
            Variant::Cpu => Target::Cpu,
            Variant::Npu => Target::Npu,
        }
    }
}

/// One tokenized text. Kept as u32 until a batch is assembled: all texts of a call are tokenized
/// up front (batches are sorted by length), and int64 rows would double that memory.
struct Encoded {
    ids: Vec<u32>,
    mask: Vec<u32>,
    type_ids: Vec<u32>,
}

/// A loaded embedding model: its ORT session (one owner; `run` takes `&mut`), tokenizer and the
/// facts about its graph. `Send`, so it can live on a worker thread or behind a mutex.
pub struct EmbeddingModel {
    dir: PathBuf,
    session: Session,
    provider: ActiveProvider,
    tokenizer: Tokenizer,
    manifest: Option<Manifest>,
    variant: Variant,
    shapes: Shapes,
    inputs: Vec<(String, InputRole)>,
    readout: Readout,
    dim: usize,
    max_tokens: usize,
    prefixes: Prefixes,
}

impl fmt::Debug for EmbeddingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddingModel")
            .field("dir", &self.dir)
            .field("variant", &self.variant)
            .field("shapes", &self.shapes)
            .field("dim", &self.dim)
            .field("max_tokens", &self.max_tokens)
            .field("provider", &self.provider.summary())
            .finish_non_exhaustive()
    }
}

impl EmbeddingModel {
    /// Loads the embedding model in `dir`: an Onyx embedding package or a sentence-transformers
    /// ONNX export (see the module docs).
    ///
    /// For a package, the cpu variant is built first on `provider`. When that lands on an NPU, or
    /// an NPU was tried and refused the dynamic graph (NPU compilers want static shapes), the npu
    /// variant is built too and used if it runs on an NPU; otherwise the cpu variant is kept and
    /// the npu variant's outcome is added to the provider's `tried` list. Missing files are
    /// [`EngineError::Package`] errors naming the file.
    pub fn load(
        runtime: &'static Runtime,
        dir: &Path,
        provider: &ProviderChoice,
        strict: bool,
    ) -> Result<Self, EngineError> {
        Self::open(runtime, dir, provider, strict, None)
    }

    /// Loads `dir` with the given graph, whatever device `provider` resolves to: checks a static
    /// graph on the CPU EP, or pins a variant a user knows works better on their machine.
    pub fn load_variant(
        runtime: &'static Runtime,
        dir: &Path,
        provider: &ProviderChoice,
        strict: bool,
        variant: Variant,
    ) -> Result<Self, EngineError> {
        Self::open(runtime, dir, provider, strict, Some(variant))
    }

    /// Where the model runs.
    pub fn provider(&self) -> &ActiveProvider {
        &self.provider
    }

    /// Length of the vectors [`EmbeddingModel::embed`] returns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The most tokens of one text the model sees (special tokens included); longer texts are
    /// truncated to it. Callers that chunk documents should size chunks below it.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The model's tokenizer (token counts for chunking and benchmarks).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The model folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The graph in use (always [`Variant::Cpu`] for a sentence-transformers export).
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The package manifest, for Onyx packages.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// Embeds `texts`, returning one unit-length vector per text, in input order.
    ///
    /// Texts get the model's prefix for `kind` (if it has one), are tokenized and truncated to
    /// [`EmbeddingModel::max_tokens`]. Dynamic graphs run up to `batch_size` texts at a time (0
    /// means [`DEFAULT_BATCH_SIZE`]); static graphs run the batch they were built for and ignore
    /// it. `cancel` is checked before every batch and terminates a run in flight. A failure leaves
    /// the model ready for the next call.
    pub fn embed(
        &mut self,
        texts: &[&str],
        kind: TextKind,
        batch_size: usize,
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encoded = self.tokenize(texts, kind, cancel)?;
        let rows = match self.shapes {
            Shapes::Dynamic if batch_size == 0 => DEFAULT_BATCH_SIZE,
            Shapes::Dynamic => batch_size,
            Shapes::Static { batch, .. } => batch,
        };
        let mut order: Vec<usize> = (0..texts.len()).collect();
        if self.shapes == Shapes::Dynamic {
            // Longest first: texts of similar length share a batch, so little padding is computed,
            // and a batch too large for memory fails at the start rather than at the end.
            order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].ids.len()));
        }
        let mut vectors = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            // Attention activations grow with rows × length²: cap the padded tokens per run so
            // that a batch of long passages cannot balloon memory. Sorted longest first, so the
            // first text of a batch sets its padded length.
            let take = match self.shapes {
                Shapes::Dynamic => {
                    let longest = encoded[order[start]].ids.len().max(1);
                    rows.min((TOKENS_PER_RUN / longest).max(1))
                }
                Shapes::Static { .. } => rows,
            };
            let chunk = &order[start..(start + take).min(order.len())];
            let batch: Vec<&Encoded> = chunk.iter().map(|&i| &encoded[i]).collect();
            for (&i, vector) in chunk.iter().zip(self.run_batch(&batch, cancel)?) {
                vectors[i] = vector;
            }
            start += chunk.len();
        }
        Ok(vectors)
    }

    fn open(
        runtime: &'static Runtime,
        dir: &Path,
        choice: &ProviderChoice,
        strict: bool,
        forced: Option<Variant>,
    ) -> Result<Self, EngineError> {
        let folder = ModelFolder::open(dir)?;
        folder.expect_kind(ModelKind::Embedding)?;
        match folder.layout {
            Layout::Onyx(manifest) => {
                Self::open_package(runtime, dir, *manifest, &folder.tokenizer, choice, strict, forced)
            }
            Layout::OnnxExport { model } => {
                Self::open_onnx_export(runtime, dir, &model, &folder.tokenizer, choice, strict, forced)
            }
            // ModelFolder calls every genai folder a chat model, so expect_kind refused it above.
            Layout::Genai { model } => Err(EngineError::package(model, "an onnxruntime-genai graph is a chat model")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open_package(
        runtime: &'static Runtime,
        dir: &Path,
        manifest: Manifest,
        tokenizer_path: &Path,
        choice: &ProviderChoice,
        strict: bool,
        forced: Option<Variant>,
    ) -> Result<Self, EngineError> {
        let Some(info) = manifest.embedding.clone() else {
            return Err(EngineError::package(dir.join(MANIFEST_FILE), "has no \"embedding\" section"));
        };
        // The tokenizer is read before the session: building one can take seconds (minutes when
        // an NPU compiles), which a broken file should not cost.
        let mut tokenizer = read_tokenizer(tokenizer_path)?;

        let (variant, entry, built) = build_package_session(runtime, dir, &manifest, choice, strict, forced)?;
        let model_file = dir.join(graph_file(entry)?);
        let shapes = entry.shapes;
        let max_tokens = match shapes {
            Shapes::Static { sequence, .. } => manifest.context_length.min(sequence),
            Shapes::Dynamic => manifest.context_length,
        };
        let GraphIo { inputs, readout, dim: graph_dim } =
            inspect_graph(&built.session, &model_file, true, info.pooling)?;
        if let Some(graph_dim) = graph_dim.filter(|&d| d != info.dim) {
            return Err(EngineError::package(
                &model_file,
                format!("the graph returns {graph_dim}-wide vectors but {MANIFEST_FILE} says dim {}", info.dim),
            ));
        }
        limit_tokenizer(&mut tokenizer, tokenizer_path, max_tokens)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            session: built.session,
            provider: built.provider,
            tokenizer,
            dim: info.dim,
            prefixes: info.prefixes,
            manifest: Some(manifest),
            variant,
            shapes,
            inputs,
            readout,
            max_tokens,
        })
    }

    fn open_onnx_export(
        runtime: &'static Runtime,
        dir: &Path,
        model_file: &Path,
        tokenizer_path: &Path,
        choice: &ProviderChoice,
        strict: bool,
        forced: Option<Variant>,
    ) -> Result<Self, EngineError> {
        if forced == Some(Variant::Npu) {
            return Err(EngineError::package(
                model_file,
                "a sentence-transformers ONNX export has one dynamic graph and no npu variant; \
                 convert the model with `onyx convert` to get one",
            ));
        }
        let mut tokenizer = read_tokenizer(tokenizer_path)?;
        let pipeline = SentenceTransformers::detect(dir).map_err(|e| EngineError::package(dir, e.to_string()))?;
        // Without modules.json the folder is a plain transformers export; mean pooling is what
        // sentence-transformers itself uses for such models.
        let pooling = pipeline.as_ref().map_or(Pooling::Mean, |p| p.pooling);
        let prefixes = pipeline.as_ref().map(|p| p.prefixes.clone()).unwrap_or_default();
        let max_tokens = pipeline
            .as_ref()
            .and_then(|p| p.max_seq_length)
            .or_else(|| tokenizer.get_truncation().map(|t| t.max_length))
            .unwrap_or(FALLBACK_MAX_TOKENS);

        let built = build_session(runtime, model_file, choice, strict)?;
        let GraphIo { inputs, readout, dim: graph_dim } = inspect_graph(&built.session, model_file, false, pooling)?;
        let dim = match graph_dim {
            Some(dim) => dim,
            None => hidden_size(dir)?,
        };
        limit_tokenizer(&mut tokenizer, tokenizer_path, max_tokens)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            session: built.session,
            provider: built.provider,
            tokenizer,
            manifest: None,
            variant: Variant::Cpu,
            shapes: Shapes::Dynamic,
            inputs,
            readout,
            dim,
            max_tokens,
            prefixes,
        })
    }

    fn tokenize(&self, texts: &[&str], kind: TextKind, cancel: &CancelToken) -> Result<Vec<Encoded>, EngineError> {
        let prefix = match kind {
            TextKind::Query => self.prefixes.query.as_deref(),
            TextKind::Document => self.prefixes.document.as_deref(),
        }
        .unwrap_or("");
        texts
            .iter()
            .map(|text| {
                // Tokenizing thousands of long texts takes seconds; a cancel should not wait for it.
                if cancel.is_cancelled() {
                    return Err(EngineError::Cancelled);
                }
                let input =
                    if prefix.is_empty() { Cow::Borrowed(*text) } else { Cow::Owned(format!("{prefix}{text}")) };
                let encoding = self.tokenizer.encode(input.as_ref(), true).map_err(|e| {
                    let start: String = text.chars().take(40).collect();
                    EngineError::Tokenizer(format!("{e} (text starting {start:?})"))
                })?;
                Ok(Encoded {
                    ids: encoding.get_ids().to_vec(),
                    mask: encoding.get_attention_mask().to_vec(),
                    type_ids: encoding.get_type_ids().to_vec(),
                })
            })
            .collect()
    }

    /// Runs one batch (at most the graph's batch size for static graphs) and returns one
    /// normalised vector per text of `batch`.
    fn run_batch(&mut self, batch: &[&Encoded], cancel: &CancelToken) -> Result<Vec<Vec<f32>>, EngineError> {
        let longest = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let (rows, length) = match self.shapes {
            Shapes::Static { batch: rows, sequence, .. } => (rows, sequence),
            Shapes::Dynamic => (batch.len(), longest),
        };
        if longest > length || batch.len() > rows {
            // The tokenizer truncates to max_tokens, which load() capped at the static length.
            return Err(EngineError::Tokenizer(format!(
                "{} texts of up to {longest} tokens do not fit the graph's {rows} x {length} input",
                batch.len()
            )));
        }
        let mut ids = Vec::with_capacity(rows * length);
        let mut mask = Vec::with_capacity(rows * length);
        let mut type_ids = Vec::with_capacity(rows * length);
        for row in 0..rows {
            // A static graph needs every row filled. Repeating a real text keeps the filler rows'
            // numerics ordinary (an all-padding row is a degenerate softmax); their outputs are
            // dropped.
            let encoded = batch[row % batch.len()];
            pad_into(&mut ids, &encoded.ids, length);
            pad_into(&mut mask, &encoded.mask, length);
            pad_into(&mut type_ids, &encoded.type_ids, length);
        }
        let shape = [rows as i64, length as i64];
        let tensor = |data: Vec<i64>| {
            Tensor::from_array((shape, data))
                .map_err(|e| EngineError::Inference { provider: self.provider.ep.clone(), message: e.to_string() })
        };
        let (ids, mask, type_ids) = (tensor(ids)?, tensor(mask)?, tensor(type_ids)?);
        let inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = self
            .inputs
            .iter()
            .map(|(name, role)| {
                let value = match role {
                    InputRole::Ids => &ids,
                    InputRole::Mask => &mask,
                    InputRole::TypeIds => &type_ids,
                };
                (Cow::Borrowed(name.as_str()), SessionInputValue::from(value))
            })
            .collect();

        let provider = &self.provider.ep;
        let failed = |message: String| {
            // A terminated run reports an ORT error; the caller asked for it, so say so.
            if cancel.is_cancelled() {
                EngineError::Cancelled
            } else {
                EngineError::Inference { provider: provider.clone(), message }
            }
        };
        let outputs = self.session.run_with_options(inputs, cancel.run_options()).map_err(|e| failed(e.to_string()))?;
        let name = match &self.readout {
            Readout::Pooled(name) | Readout::Tokens { name, .. } => name,
        };
        let value = outputs.get(name).ok_or_else(|| failed(format!("the graph returned no output '{name}'")))?;
        let (out_shape, data) =
            value.try_extract_tensor::<f32>().map_err(|e| failed(format!("output '{name}': {e}")))?;
        let dim = self.dim;
        let expected: Vec<i64> = match self.readout {
            Readout::Pooled(_) => vec![rows as i64, dim as i64],
            Readout::Tokens { .. } => vec![rows as i64, length as i64, dim as i64],
        };
        if **out_shape != *expected {
            return Err(failed(format!("output '{name}' has shape {:?}, expected {expected:?}", &**out_shape)));
        }
        let vectors = batch
            .iter()
            .enumerate()
            .map(|(row, encoded)| {
                let mut vector = match &self.readout {
                    Readout::Pooled(_) => data[row * dim..(row + 1) * dim].to_vec(),
                    Readout::Tokens { pooling, .. } => {
                        let tokens = &data[row * length * dim..(row + 1) * length * dim];
                        pool(tokens, &encoded.mask, dim, *pooling)
                    }
                };
                normalize(&mut vector);
                vector
            })
            .collect();
        Ok(vectors)
    }
}

fn read_tokenizer(path: &Path) -> Result<Tokenizer, EngineError> {
    Tokenizer::from_file(path).map_err(|e| EngineError::package(path, format!("unreadable tokenizer: {e}")))
}

/// Makes the tokenizer truncate to `max_tokens` and leaves padding to the batcher, which pads
/// per batch (dynamic) or to the graph's length (static).
fn limit_tokenizer(tokenizer: &mut Tokenizer, path: &Path, max_tokens: usize) -> Result<(), EngineError> {
    let special = tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(false));
    if max_tokens <= special {
        return Err(EngineError::package(
            path,
            format!("a limit of {max_tokens} tokens leaves no room for text beside {special} special tokens"),
        ));
    }
    // Keep the file's direction and strategy: they are part of how the model was trained.
    let mut truncation = tokenizer.get_truncation().cloned().unwrap_or_default();
    truncation.max_length = max_tokens;
    truncation.stride = 0;
    tokenizer.with_truncation(Some(truncation)).map_err(|e| EngineError::package(path, e.to_string()))?;
    tokenizer.with_padding(None);
    Ok(())
}
