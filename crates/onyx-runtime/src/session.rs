//! Building sessions on explicit devices, with fallback, strict mode, EP options and a compiled
//! context cache.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::attempt::Attempt;
use crate::device::{DeviceInfo, QNN_EP};
use crate::error::ProviderError;
use crate::loader::Runtime;
use crate::options::{QnnOptions, SessionDefaults, htp_backend_beside};
use crate::placement::{self, Placement, RECORD_ASSIGNMENT_KEY};
use crate::provider::{self, ActiveProvider, CPU_EP, EpShare, GraphPlacement, ProviderChoice};
use crate::work::{self, EpWork, GraphWork, LeftBehind};

/// Makes a session fail instead of silently running unsupported nodes on the CPU EP.
const DISABLE_CPU_FALLBACK_KEY: &str = "session.disable_cpu_ep_fallback";
/// EPContext keys: compile once, then load the compiled context on later runs.
const CONTEXT_ENABLE_KEY: &str = "ep.context_enable";
const CONTEXT_FILE_KEY: &str = "ep.context_file_path";
const CONTEXT_EMBED_KEY: &str = "ep.context_embed_mode";

/// The model to load.
#[derive(Clone, Copy, Debug)]
pub enum ModelSource<'a> {
    /// An `.onnx` file (external data next to it is found by ORT).
    File(&'a Path),
    /// Model bytes already in memory.
    Bytes(&'a [u8]),
}

impl ModelSource<'_> {
    fn describe(&self) -> String {
        match self {
            ModelSource::File(path) => path.display().to_string(),
            ModelSource::Bytes(_) => "<in-memory model>".into(),
        }
    }
}

/// Everything needed to build a session.
#[derive(Clone, Debug)]
pub struct SessionRequest<'a> {
    /// The model.
    pub model: ModelSource<'a>,
    /// Where to run it.
    pub provider: ProviderChoice,
    /// Run entirely on the chosen EP or fail; no fallback to other devices or to the CPU EP.
    pub strict: bool,
    /// QNN options; none means the runtime's defaults ([`crate::Runtime::set_session_defaults`]).
    pub qnn: QnnOptions,
    /// Folder for compiled EP contexts (QNN context binaries, OpenVINO blobs). When set (here or
    /// in the runtime's defaults), the first load on a compiling EP writes the context there and
    /// later loads skip compilation.
    pub compile_cache: Option<&'a Path>,
    /// Intra-op threads; `None` lets ORT choose.
    pub intra_threads: Option<usize>,
    /// Further EP options as `("<EP name>.<key>", value)`; each reaches only the EP it names.
    pub ep_options: Vec<(String, String)>,
    /// ORT graph optimization level; `None` keeps ORT's default (all). Lower levels matter for
    /// checking a graph's own numerics: at full optimization the CPU EP rewrites
    /// `DequantizeLinear → MatMul` into a matmul that also quantizes the activations.
    pub optimization_level: Option<ort::session::builder::GraphOptimizationLevel>,
}

impl<'a> SessionRequest<'a> {
    /// A request with default options.
    pub fn new(model: ModelSource<'a>, provider: ProviderChoice) -> Self {
        Self {
            model,
            provider,
            strict: false,
            qnn: QnnOptions::default(),
            compile_cache: None,
            intra_threads: None,
            ep_options: Vec::new(),
            optimization_level: None,
        }
    }
}

/// A built session and where it runs.
#[derive(Debug)]
pub struct ProvidedSession {
    /// The ORT session. `run` takes `&mut self`: give it one owner (a worker thread).
    pub session: ort::session::Session,
    /// The measured provider.
    pub provider: ActiveProvider,
    /// The full node placement, for reports that want more than counts.
    pub placement: Placement,
}

/// What a compiled context cache entry records besides the compiled model: an EPContext model
/// reports only its context node, so the share measured when compiling is kept here.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheRecord {
    nodes_on_ep: usize,
    nodes_total: usize,
    placement: Vec<EpShare>,
    /// Required: a record from before the weight-work report fails to parse, and the context is
    /// compiled again rather than shown without it.
    work: Vec<EpWork>,
    left_behind: Vec<LeftBehind>,
}

impl CacheRecord {
    /// What a freshly built session measured: its node shares, its weight work per EP, and what
    /// it left off `ep`, with the EP's reasons.
    fn measure(placement: &Placement, graph: &GraphWork, ep: &str, reasons: &HashMap<String, String>) -> Self {
        let (nodes_on_ep, nodes_total, shares) = measured_shares(placement, ep);
        // A product ORT renamed before partitioning is on the one EP when there is one; with a
        // split, it can only be a CPU-side fusion.
        let unlisted = if shares.len() == 1 { shares[0].ep.as_str() } else { CPU_EP };
        CacheRecord {
            nodes_on_ep,
            nodes_total,
            work: graph.per_ep(placement, unlisted),
            left_behind: work::left_behind(placement, ep, reasons),
            placement: shares,
        }
    }
}

/// One successful build on one device.
struct Built {
    session: ort::session::Session,
    placement: Placement,
    /// What was measured: at this build, or, for a compiled context, when it was compiled.
    record: CacheRecord,
    from_cache: bool,
    /// Set when a compiled context had to be rebuilt.
    cache_note: Option<String>,
}

impl Runtime {
    /// Builds a session for `request`, trying devices in the order its provider choice gives.
    /// Every device that fails is recorded in the result's `tried` list, with ORT's reason.
    pub fn build_session(&self, request: &SessionRequest<'_>) -> Result<ProvidedSession, ProviderError> {
        if let ModelSource::File(path) = request.model {
            // Checked up front so a missing file is one clear error, not one per device.
            std::fs::metadata(path)
                .map_err(|e| ProviderError::ModelUnreadable { path: path.to_path_buf(), reason: e.to_string() })?;
        }
        let (order, mut tried) = provider::plan(&request.provider, self.devices(), request.strict)?;
        let defaults = self.session_defaults();
        // Read once for every device tried. ORT reads the same file; a model it accepts but this
        // walker cannot read only loses the weight-work figures, so that is a note, not a failure.
        let graph = match request.model {
            ModelSource::File(path) => std::fs::read(path).map_err(|e| e.to_string()).and_then(|b| GraphWork::read(&b)),
            ModelSource::Bytes(bytes) => GraphWork::read(bytes),
        };
        let (graph, work_note) = match graph {
            Ok(graph) => (graph, None),
            Err(reason) => (
                GraphWork::default(),
                Some(format!("the weight products of {} could not be counted: {reason}", request.model.describe())),
            ),
        };
        let macs_total = graph.total_macs();
        for index in order {
            let device = &self.devices()[index];
            match self.try_device(request, &defaults, device, &graph) {
                Ok(built) => {
                    if let Some(note) = built.cache_note {
                        tried.push(Attempt::on(device, note));
                    }
                    let CacheRecord { nodes_on_ep, nodes_total, placement: shares, work, left_behind } = built.record;
                    // A session that places nothing on the chosen accelerator is really a CPU
                    // session; calling it "NPU" would be the lie this report exists to prevent.
                    if nodes_on_ep == 0 && device.ep_name != CPU_EP {
                        let mut reason = format!("the EP accepted none of the {nodes_total} nodes");
                        // QNN claims nothing, rather than failing, when its backend cannot be set
                        // up with the options given (an unknown soc_model, say); its own log line
                        // names the problem, and the options are what the user can change.
                        if device.ep_name == QNN_EP {
                            let options: Vec<String> = defaults
                                .qnn_for(&request.qnn)
                                .entries()
                                .into_iter()
                                .map(|(key, value)| {
                                    format!("{}={value}", key.trim_start_matches("QNNExecutionProvider."))
                                })
                                .collect();
                            reason.push_str(&format!(
                                " with the QNN options [{}]: QNN sets up no backend for options it cannot use, and \
                                 ORT's log names the one",
                                options.join(", ")
                            ));
                        }
                        tried.push(Attempt::on(device, reason));
                        continue;
                    }
                    let graph_name = match request.model {
                        ModelSource::File(path) => {
                            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
                        }
                        ModelSource::Bytes(_) => request.model.describe(),
                    };
                    let macs_on_ep = work.iter().filter(|w| w.ep == device.ep_name).map(|w| w.macs).sum();
                    let provider = ActiveProvider {
                        ep: device.ep_name.clone(),
                        device_kind: device.kind,
                        device_name: device.display_name(),
                        device_index: device.index,
                        nodes_on_ep,
                        nodes_total,
                        macs_on_ep,
                        macs_total,
                        work,
                        left_behind,
                        graphs: vec![GraphPlacement {
                            graph: graph_name,
                            nodes_on_ep,
                            nodes_total,
                            placement: shares.clone(),
                            macs_on_ep,
                            macs_total,
                        }],
                        placement: shares,
                        tried,
                        from_compiled_cache: built.from_cache,
                        work_note: work_note.clone(),
                    };
                    if request.provider.is_by_kind()
                        && device.ep_name != CPU_EP
                        && let Err(reason) = provider.runs_the_model()
                    {
                        tried = provider.tried;
                        tried.push(Attempt::on(device, reason));
                        continue;
                    }
                    return Ok(ProvidedSession { session: built.session, provider, placement: built.placement });
                }
                Err(reason) => tried.push(Attempt::on(device, reason)),
            }
        }
        Err(ProviderError::AllFailed {
            requested: request.provider.to_string(),
            model: request.model.describe(),
            tried,
        })
    }

    /// One attempt on one device: the session, its placement and what was measured (at this
    /// build, or when its compiled context was made).
    fn try_device(
        &self,
        request: &SessionRequest<'_>,
        defaults: &SessionDefaults,
        device: &DeviceInfo,
        graph: &GraphWork,
    ) -> Result<Built, String> {
        let qnn = defaults.qnn_for(&request.qnn);
        let cache = request
            .compile_cache
            .or(defaults.compile_cache.as_deref())
            .filter(|_| device.ep_name != CPU_EP)
            .map(|dir| cache_paths(dir, &request.model, device, &qnn.entries(), &request.ep_options));
        // Writing a compiled context: one self-contained file is simpler to cache and invalidate
        // than a model plus a side binary.
        let compile_into = |context_file: &Path| -> Result<Vec<(&'static str, String)>, String> {
            std::fs::create_dir_all(context_file.parent().unwrap_or(Path::new(".")))
                .map_err(|e| format!("cannot create compile cache folder for {}: {e}", context_file.display()))?;
            Ok(vec![
                (CONTEXT_ENABLE_KEY, "1".into()),
                (CONTEXT_FILE_KEY, context_file.display().to_string()),
                (CONTEXT_EMBED_KEY, "1".into()),
            ])
        };
        let mut configs: Vec<(&str, String)> = Vec::new();
        let mut cached_record = None;
        let mut model = request.model;
        if let Some((context_file, record_file)) = &cache {
            if let Some(record) = read_cache_record(context_file, record_file) {
                model = ModelSource::File(context_file);
                cached_record = Some(record);
            } else {
                configs = compile_into(context_file)?;
            }
        }

        // ORT rejects disabling CPU fallback on a CPU device ("conflicting configuration").
        let strict = request.strict && device.ep_name != CPU_EP;
        // QNN says why it refuses each node only in its op trace, so every QNN compile writes one:
        // the report then gives QNN's own reasons for whatever stays on the CPU.
        let trace = (device.ep_name == QNN_EP).then(OpTrace::new);
        let traced = trace.as_ref().map(OpTrace::options).unwrap_or_default();
        let mut attempt = self.commit(
            request,
            qnn,
            device,
            model,
            &configs,
            strict,
            if cached_record.is_some() { &[] } else { &traced },
        );
        let mut cache_note = None;
        if let (Err(reason), Some((context_file, record_file)), Some(_)) = (&attempt, &cache, &cached_record) {
            // A compiled context that no longer loads (damaged, or from another QNN build): drop
            // it and compile again, and say so. The user loses time, never the device.
            cache_note = Some(format!(
                "the compiled context {} could not be loaded ({}); it was compiled again",
                context_file.display(),
                reason.lines().next().unwrap_or_default()
            ));
            let _ = std::fs::remove_file(context_file);
            let _ = std::fs::remove_file(record_file);
            cached_record = None;
            model = request.model;
            configs = compile_into(context_file)?;
            attempt = self.commit(request, qnn, device, model, &configs, strict, &traced);
        }
        if attempt.is_err() && !configs.is_empty() {
            // Not every EP can write a compiled context (ggml cannot, for one). A cache is an
            // optimisation: it must never cost the user the device, so build without it.
            configs.clear();
            attempt = self.commit(request, qnn, device, model, &configs, strict, &traced);
        }
        let session = match attempt {
            Ok(session) => session,
            // Whether strict mode is what refused the device is decided from the placement, not
            // from ORT's wording (its status code is a generic FAIL): build once more without
            // the restriction and see whether any node goes to the CPU EP. That also names the
            // nodes, which ORT's message does not.
            Err(reason) if strict => {
                // The diagnostic build's op trace gives QNN's own reasons, not a guess.
                let diagnosis = self.commit(request, qnn, device, model, &configs, false, &traced);
                let reasons = trace.as_ref().map(OpTrace::reasons).unwrap_or_default();
                return Err(match diagnosis.map(|s| placement::read(&s)) {
                    Ok(Ok(placement)) if placement.nodes_on(CPU_EP) > 0 => format!(
                        "strict mode: {} of {} nodes would fall back to the CPU EP, which strict mode forbids. \
                         Unsupported on {}: {}",
                        placement.nodes_on(CPU_EP),
                        placement.total_nodes(),
                        device.ep_name,
                        cpu_nodes(&placement, &reasons)
                    ),
                    _ => reason,
                });
            }
            Err(reason) => return Err(reason),
        };
        let placement = placement::read(&session)?;
        if let Some(record) = cached_record {
            return Ok(Built { session, placement, record, from_cache: true, cache_note });
        }
        let reasons = trace.as_ref().map(OpTrace::reasons).unwrap_or_default();
        let record = CacheRecord::measure(&placement, graph, &device.ep_name, &reasons);
        // The EP may not support EPContext dumps; then there is simply no cache to record.
        if let Some((context_file, record_file)) = &cache
            && context_file.is_file()
            && let Ok(json) = serde_json::to_vec_pretty(&record)
        {
            // Best effort: without the record the cache is ignored next time.
            let _ = std::fs::write(record_file, json);
        }
        Ok(Built { session, placement, record, from_cache: false, cache_note })
    }

    /// Creates the ORT session on exactly `device`; `extra_options` are EP options for this build
    /// only (the op trace of a diagnostic build).
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        request: &SessionRequest<'_>,
        qnn: &QnnOptions,
        device: &DeviceInfo,
        model: ModelSource<'_>,
        configs: &[(&str, String)],
        disable_cpu_fallback: bool,
        extra_options: &[(String, String)],
    ) -> Result<ort::session::Session, String> {
        let ort_device = self
            .env
            .devices()
            .nth(device.index)
            .ok_or_else(|| format!("device #{} disappeared from ORT's list", device.index))?;
        let mut builder = ort::session::Session::builder(&self.env)
            .map_err(|e| e.to_string())?
            .with_config_entry(RECORD_ASSIGNMENT_KEY, "1")
            .map_err(|e| e.to_string())?;
        if disable_cpu_fallback {
            builder = builder.with_config_entry(DISABLE_CPU_FALLBACK_KEY, "1").map_err(|e| e.to_string())?;
        }
        for (key, value) in configs {
            builder = builder.with_config_entry(key, value).map_err(|e| e.to_string())?;
        }
        if let Some(threads) = request.intra_threads {
            builder = builder.with_intra_threads(threads).map_err(|e| e.to_string())?;
        }
        if let Some(level) = request.optimization_level {
            builder = builder.with_optimization_level(level).map_err(|e| e.to_string())?;
        }
        // `with_devices` hands each EP only the options prefixed with its name, so QNN options
        // are harmless on other devices and the list can be passed whole.
        let mut options = qnn.entries();
        // QNN needs to be told which backend to load; the HTP one ships beside its plugin (on
        // Windows on ARM and in the Linux x86-64 wheel alike). A backend that is not there makes
        // QNN quietly claim no node, so it is checked here, where the file can be named.
        if device.ep_name == QNN_EP {
            let backend = match (&qnn.backend_path, device.ep_metadata.get("library_path")) {
                (Some(path), _) => Some(PathBuf::from(path)),
                (None, Some(plugin)) => {
                    let beside = htp_backend_beside(Path::new(plugin));
                    options.push((format!("{QNN_EP}.backend_path"), beside.display().to_string()));
                    Some(beside)
                }
                (None, None) => None,
            };
            if let Some(backend) = backend.filter(|path| !path.is_file()) {
                return Err(format!("the QNN backend library {} does not exist (backend_path)", backend.display()));
            }
        }
        options.extend(request.ep_options.iter().cloned());
        options.extend(extra_options.iter().cloned());
        builder = builder
            .with_devices([ort_device], (!options.is_empty()).then_some(options.as_slice()))
            .map_err(|e| e.to_string())?;
        match model {
            ModelSource::File(path) => builder.commit_from_file(path),
            ModelSource::Bytes(bytes) => builder.commit_from_memory(bytes),
        }
        .map_err(|e| e.to_string())
    }
}

/// A QNN op trace (`enable_framework_op_trace`) written to a fresh folder and removed with it.
struct OpTrace {
    dir: PathBuf,
}

impl OpTrace {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self { dir: std::env::temp_dir().join(format!("onyx-qnn-op-trace-{}-{n}", std::process::id())) }
    }

    fn options(&self) -> Vec<(String, String)> {
        // Best effort: without the folder QNN writes no trace and the error has no reasons.
        let _ = std::fs::create_dir_all(&self.dir);
        vec![
            (format!("{QNN_EP}.enable_framework_op_trace"), "1".into()),
            (format!("{QNN_EP}.framework_op_trace_dir"), self.dir.display().to_string()),
        ]
    }

    /// Node name → QNN's reason, from `qnn_op_trace.json` (`unsupported_nodes[]`).
    fn reasons(&self) -> HashMap<String, String> {
        let Ok(bytes) = std::fs::read(self.dir.join("qnn_op_trace.json")) else { return HashMap::new() };
        let Ok(trace) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return HashMap::new() };
        trace["unsupported_nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|node| Some((node["node_name"].as_str()?.to_owned(), node["reason"].as_str()?.to_owned())))
            .collect()
    }
}

impl Drop for OpTrace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `OpType (node name), ...` for the nodes ORT left on the CPU EP, each with the EP's reason
/// when `reasons` has one.
fn cpu_nodes(placement: &Placement, reasons: &HashMap<String, String>) -> String {
    let nodes: Vec<String> = placement
        .subgraphs
        .iter()
        .filter(|s| s.ep == CPU_EP)
        .flat_map(|s| s.nodes.iter())
        .map(|n| {
            let node = if n.domain.is_empty() {
                format!("{} ({})", n.op_type, n.name)
            } else {
                format!("{}.{} ({})", n.domain, n.op_type, n.name)
            };
            match reasons.get(&n.name) {
                Some(reason) => format!("{node}: {reason}"),
                None => node,
            }
        })
        .collect();
    if nodes.is_empty() { "no node reported".into() } else { nodes.join(", ") }
}

fn measured_shares(placement: &Placement, ep: &str) -> (usize, usize, Vec<EpShare>) {
    let shares = placement.nodes_per_ep().into_iter().map(|(ep, nodes)| EpShare { ep, nodes }).collect();
    (placement.nodes_on(ep), placement.total_nodes(), shares)
}

/// Cache file names: keyed by the model's identity (path, size and mtime, or a hash of its
/// bytes), the EP and the device, so a changed model or another device never reuses a context.
/// The cache files of `model` compiled on `device` with these EP options: a change of the model,
/// the EP (its library and version are in its metadata) or any option names other files.
fn cache_paths(
    dir: &Path,
    model: &ModelSource<'_>,
    device: &DeviceInfo,
    qnn_options: &[(String, String)],
    ep_options: &[(String, String)],
) -> (PathBuf, PathBuf) {
    let mut hasher = Fnv1a::default();
    qnn_options.hash(&mut hasher);
    ep_options.hash(&mut hasher);
    match model {
        ModelSource::File(path) => {
            path.hash(&mut hasher);
            if let Ok(meta) = std::fs::metadata(path) {
                meta.len().hash(&mut hasher);
                if let Ok(modified) = meta.modified() {
                    modified.hash(&mut hasher);
                }
            }
        }
        ModelSource::Bytes(bytes) => bytes.hash(&mut hasher),
    }
    device.ep_name.hash(&mut hasher);
    device.device_id.hash(&mut hasher);
    device.ep_metadata.hash(&mut hasher);
    let stem = match model {
        ModelSource::File(path) => path.file_stem().and_then(|s| s.to_str()).unwrap_or("model").to_owned(),
        ModelSource::Bytes(_) => "model".to_owned(),
    };
    let base = format!("{stem}.{}.{:016x}", device.ep_name, hasher.finish());
    (dir.join(format!("{base}_ctx.onnx")), dir.join(format!("{base}.json")))
}

fn read_cache_record(context_file: &Path, record_file: &Path) -> Option<CacheRecord> {
    if !context_file.is_file() {
        return None;
    }
    let bytes = std::fs::read(record_file).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// FNV-1a: a tiny hash that is stable across Rust versions, unlike `DefaultHasher`, so cache
/// names survive a toolchain update.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceKind;

    fn device(ep: &str, device_id: u32) -> DeviceInfo {
        DeviceInfo {
            index: 0,
            ep_name: ep.into(),
            ep_vendor: String::new(),
            hardware_vendor: String::new(),
            vendor_id: 0,
            device_id,
            kind: DeviceKind::Npu,
            ep_metadata: Default::default(),
            hardware_metadata: Default::default(),
        }
    }

    #[test]
    fn cache_entries_differ_per_model_device_and_options_and_are_stable() {
        let dir = Path::new("/cache");
        let qnn = device("QNNExecutionProvider", 0);
        let x_elite = [("QNNExecutionProvider.soc_model".to_owned(), "60".to_owned())];
        let paths = |model: &'static [u8], device: &DeviceInfo, options: &[(String, String)]| {
            cache_paths(dir, &ModelSource::Bytes(model), device, options, &[])
        };
        let (a, a_record) = paths(b"model a", &qnn, &x_elite);
        let (again, _) = paths(b"model a", &qnn, &x_elite);
        let (b, _) = paths(b"model b", &qnn, &x_elite);
        let (other_device, _) = paths(b"model a", &device("QNNExecutionProvider", 1), &x_elite);
        let (other_options, _) = paths(b"model a", &qnn, &[]);
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_ne!(a, other_device);
        assert_ne!(a, other_options, "another target chip is another compiled context");
        assert!(a.to_string_lossy().ends_with("_ctx.onnx"), "{a:?}");
        assert_eq!(a.with_file_name(""), a_record.with_file_name(""));
        // FNV-1a of the same inputs must not change between toolchains, or every cache would be
        // rebuilt after an update.
        let mut h = Fnv1a::default();
        h.write(b"onyx");
        assert_eq!(h.finish(), 0x06ec_d7b4_6ab8_aea9); // computed independently with Python
    }

    #[test]
    fn qnn_options_are_prefixed_for_the_qnn_ep_only() {
        let options = QnnOptions {
            htp_performance_mode: Some("burst".into()),
            soc_model: Some(String::new()),
            htp_arch: None,
            backend_path: None,
        };
        assert_eq!(
            options.entries(),
            vec![("QNNExecutionProvider.htp_performance_mode".to_owned(), "burst".to_owned())]
        );
    }
}
