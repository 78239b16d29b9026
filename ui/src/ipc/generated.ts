// Generated from the Rust types by src-tauri/src/ipc_types.rs (ts-rs). Do not edit: change the
// Rust type, then run `make ipc-types`. A test fails while this file is stale.

/**
 * The kind of hardware a device is. Provider choice (`npu`, `gpu`, `cpu`) goes by this.
 */
export type DeviceKind = "npu" | "gpu" | "cpu";

/**
 * One location tried for the runtime library.
 */
export type LibraryAttempt = { 
/**
 * The file looked at.
 */
path: string, 
/**
 * Why it was not used ("not found", the loader's error, a version mismatch, ...).
 */
reason: string, };

/**
 * The runtime library: loaded, or every place tried.
 */
export type RuntimeStatus = { "status": "loaded", 
/**
 * The library file.
 */
path: string, 
/**
 * ORT's version.
 */
version: string, 
/**
 * Locations passed over before it.
 */
skipped: Array<LibraryAttempt>, } | { "status": "failed", 
/**
 * One-line error.
 */
error: string, 
/**
 * Every location tried.
 */
tried: Array<LibraryAttempt>, };

/**
 * Whether an EP plugin library was registered.
 */
export type PluginState = "registered" | "failed";

/**
 * An EP plugin library found on disk and what happened when registering it.
 */
export type PluginLibrary = { 
/**
 * The name it was registered under (e.g. `QNNExecutionProvider`).
 */
epName: string, 
/**
 * The library file.
 */
path: string, 
/**
 * Registered or failed.
 */
status: PluginState, 
/**
 * Why it failed, if it did.
 */
error: string | null, 
/**
 * How many devices it added to ORT's list. A plugin can register fine and still offer
 * nothing: OpenVINO's only serves Intel hardware, QNN's only Qualcomm NPUs.
 */
deviceCount: number, };

/**
 * One (EP, hardware device) pair ORT can build sessions for.
 */
export type DeviceInfo = { 
/**
 * Position in ORT's device list; stable for the life of the process.
 */
index: number, 
/**
 * The EP that drives this device, e.g. `OpenVINOExecutionProvider`.
 */
epName: string, 
/**
 * Who ships the EP.
 */
epVendor: string, 
/**
 * Who makes the hardware.
 */
hardwareVendor: string, 
/**
 * PCI-style vendor id (0 where ORT has none).
 */
vendorId: number, 
/**
 * Device id from ORT.
 */
deviceId: number, 
/**
 * CPU, GPU or NPU.
 */
kind: DeviceKind, 
/**
 * What the EP says about the device (e.g. OpenVINO's `ov_device`).
 */
epMetadata: { [key in string]: string }, 
/**
 * What the OS says about the hardware (e.g. a description or driver version).
 */
hardwareMetadata: { [key in string]: string }, };

/**
 * One device that was tried and not used, and why.
 */
export type ProviderAttempt = { 
/**
 * The EP tried (or the kind asked for, when no device of it exists).
 */
ep: string, 
/**
 * The device's display name, or `-` when there was none.
 */
device: string, 
/**
 * The device's index in [`crate::Runtime::devices`], when a device was tried. Code that
 * needs the device again goes by this, never by its display name.
 */
deviceIndex?: number, 
/**
 * The kind of that device (an NPU stand-in counts as an NPU).
 */
deviceKind?: DeviceKind, 
/**
 * Why it was passed over.
 */
reason: string, };

/**
 * Nodes one EP was assigned.
 */
export type Placement = { 
/**
 * EP name.
 */
ep: string, 
/**
 * Node count.
 */
nodes: number, };

/**
 * Where one graph of a model runs.
 */
export type GraphPlacement = { 
/**
 * The graph's file name (`model.npu.decode.onnx`), or `<in-memory model>`.
 */
graph: string, 
/**
 * Its nodes ORT assigned to the provider's EP.
 */
nodesOnEp: number, 
/**
 * All its nodes.
 */
nodesTotal: number, 
/**
 * Its node counts per EP.
 */
placement: Array<Placement>, 
/**
 * Its weight multiply-accumulates per token on the provider's EP.
 */
macsOnEp: number, 
/**
 * All its weight multiply-accumulates per token.
 */
macsTotal: number, };

/**
 * Weight multiply-accumulates per token on one EP.
 */
export type EpWork = { 
/**
 * EP name.
 */
ep: string, 
/**
 * Multiply-accumulates per token of the weight products placed on it.
 */
macs: number, 
/**
 * How many weight products that is.
 */
products: number, };

/**
 * Nodes of one op type that did not go to the chosen EP, with the EP's reason where it gave one.
 */
export type LeftBehind = { 
/**
 * Operator type (with its domain when not `ai.onnx`).
 */
opType: string, 
/**
 * The EP that runs them instead.
 */
ep: string, 
/**
 * How many nodes.
 */
nodes: number, 
/**
 * The chosen EP's reason, from its own report (QNN's op trace); `None` when it gave none.
 */
reason: string | null, };

/**
 * Where a session really runs, as measured after it was built.
 */
export type ActiveProvider = { 
/**
 * The EP the session was built for.
 */
ep: string, 
/**
 * The kind of that device.
 */
deviceKind: DeviceKind, 
/**
 * The device's display name.
 */
deviceName: string, 
/**
 * The device's index in [`crate::Runtime::devices`]: the way to find it again (to put a
 * second graph of the same model on it, say). Display names need not be unique.
 */
deviceIndex: number, 
/**
 * Graph nodes ORT assigned to `ep`, over all of the model's graphs.
 */
nodesOnEp: number, 
/**
 * All graph nodes, over all of the model's graphs.
 */
nodesTotal: number, 
/**
 * Node counts per EP (the CPU EP picks up what the chosen EP cannot run).
 */
placement: Array<Placement>, 
/**
 * Weight multiply-accumulates per token of the products ORT assigned to `ep`, over all the
 * model's graphs: what the node share leaves out (see [`crate::EpWork`]).
 */
macsOnEp: number, 
/**
 * All weight multiply-accumulates per token, over all the model's graphs.
 */
macsTotal: number, 
/**
 * Weight work per EP.
 */
work: Array<EpWork>, 
/**
 * The op types that did not go to `ep`, with the EP's reasons where it gave them.
 */
leftBehind: Array<LeftBehind>, 
/**
 * Each graph's own placement: one entry, or for a model that runs several graphs on the
 * device (an npu variant's prefill and decode graphs) one per graph, so a decode graph that
 * falls back is not hidden behind a prefill graph that does not.
 */
graphs: Array<GraphPlacement>, 
/**
 * Devices tried before this one, each with its reason.
 */
tried: Array<ProviderAttempt>, 
/**
 * Whether the session was loaded from a precompiled EP context cache.
 */
fromCompiledCache: boolean, 
/**
 * Why the weight work is unknown (`macs_total` 0), when the model file could not be read
 * for it.
 */
workNote: string | null, };

/**
 * The outcome of resolving the requested provider on the probe model.
 */
export type ProviderResolution = { 
/**
 * What was asked for.
 */
requested: string, 
/**
 * Where the probe model ended up running, if anywhere.
 */
active: ActiveProvider | null, 
/**
 * Devices tried and passed over (also inside `active` when one succeeded).
 */
tried: Array<ProviderAttempt>, 
/**
 * Why no provider could be used, if none could.
 */
error: string | null, };

/**
 * The whole doctor report.
 */
export type DoctorReport = { 
/**
 * The runtime library.
 */
runtime: RuntimeStatus, 
/**
 * EP plugin libraries found.
 */
plugins: Array<PluginLibrary>, 
/**
 * Devices discovered.
 */
devices: Array<DeviceInfo>, 
/**
 * The provider check (absent when no probe model was given or ORT did not load).
 */
provider: ProviderResolution | null, };

/**
 * What a model is for.
 */
export type ModelRole = "chat" | "embedding";

/**
 * The device class a graph is built for.
 */
export type Target = "cpu" | "npu";

/**
 * The colour scheme of the app.
 */
export type Theme = "system" | "light" | "dark";

/**
 * "Use my documents": retrieval settings.
 */
export type DocumentSettings = { 
/**
 * Search the index and add the best passages to each question.
 */
enabled: boolean, 
/**
 * Passages added to a question, `1..=20`.
 */
topK: number, 
/**
 * Cosine similarity below which a passage is left out, `-1..=1`.
 */
minSimilarity: number, 
/**
 * Files larger than this many MiB are skipped when indexing, `1..=4096`.
 */
maxFileMb: number, };

/**
 * The NPU's options (QNN's), and the cache of compiled NPU models.
 */
export type NpuSettings = { 
/**
 * QNN's HTP performance mode, one of [`PERFORMANCE_MODES`].
 */
performanceMode: string, 
/**
 * The Snapdragon's SoC model number for QNN (60 is the X Elite); `None` lets QNN ask the
 * device. Needed only where QNN compiles for another chip (its x86-64 emulator).
 */
socModel: number | null, 
/**
 * The HTP architecture for QNN (73 on the X Elite); `None` lets QNN ask the device.
 */
htpArch: number | null, 
/**
 * Keep compiled NPU models in the app data folder, so a model compiles once, not at every
 * load.
 */
compileCache: boolean, };

/**
 * Everything the user can set. Serialized in camelCase; every field has a default, so a file
 * holding only some of them loads.
 */
export type Settings = { 
/**
 * Layout version of the file these settings came from ([`CURRENT_VERSION`] once loaded).
 */
version: number, 
/**
 * `auto`, `npu`, `gpu`, `cpu`, an execution provider's name, or `<EP name>#<device index>`.
 */
provider: string, 
/**
 * Refuse to fall back to the CPU when the chosen provider cannot run the model.
 */
strictNpu: boolean, 
/**
 * The ONNX Runtime shared library to load instead of the one found by default (absolute).
 */
runtimeLibrary: string | null, 
/**
 * A folder of execution provider plugins to load instead of the default one (absolute).
 */
pluginDir: string | null, 
/**
 * The chat model: a folder name under the models folder, or an absolute folder path.
 */
chatModel: string, 
/**
 * The embedding model, named the same way as `chat_model`.
 */
embeddingModel: string, 
/**
 * Sent as the system message of every conversation that has none; may be empty.
 */
systemPrompt: string, 
/**
 * Softmax temperature, `0..=2` (0 = greedy).
 */
temperature: number, 
/**
 * Nucleus sampling, `0..=1` excluding 0 (1 = off).
 */
topP: number, 
/**
 * Keep the `top_k` most likely tokens, `0..=1000` (0 = off).
 */
topK: number, 
/**
 * Drop tokens less likely than `min_p` times the best, `0..1` (0 = off).
 */
minP: number, 
/**
 * Most tokens in one reply, `1..=8192`.
 */
maxTokens: number, 
/**
 * Penalty for repeated tokens, `1..=2` (1 = off).
 */
repetitionPenalty: number, 
/**
 * Tokens of context the chat model is run with, `256..=32768`.
 */
contextLength: number, 
/**
 * Fixed sampling seed for reproducible replies; `None` draws a fresh one per reply.
 */
seed: number | null, 
/**
 * Retrieval from the user's documents.
 */
documents: DocumentSettings, 
/**
 * The NPU's options and the compiled-model cache.
 */
npu: NpuSettings, 
/**
 * The app's colour scheme.
 */
theme: Theme, };

/**
 * Who wrote a message.
 */
export type Role = "system" | "user" | "assistant";

/**
 * One line of the conversation list.
 */
export type ConversationSummary = { 
/**
 * Row id.
 */
id: number, 
/**
 * Title.
 */
title: string, 
/**
 * Milliseconds since the Unix epoch of the last change.
 */
updatedAt: number, 
/**
 * Messages in it.
 */
messageCount: number, };

/**
 * A message as stored.
 */
export type StoredMessage = { 
/**
 * Row id; later messages of a conversation have larger ids.
 */
id: number, 
/**
 * The conversation it belongs to.
 */
conversationId: number, 
/**
 * Who wrote it.
 */
role: Role, 
/**
 * Its text.
 */
content: string, 
/**
 * Milliseconds since the Unix epoch.
 */
createdAt: number, 
/**
 * The reply's statistics, as the engine reported them.
 */
stats: unknown, 
/**
 * The provider that produced the reply.
 */
provider: unknown, 
/**
 * Document passages the reply cited.
 */
sources: unknown, 
/**
 * Why the reply ended.
 */
finishReason: string | null, };

/**
 * Why a reply ended.
 */
export type FinishReason = "eos" | "stop" | "maxTokens" | "contextFull" | "cancelled" | "nothingRelevant";

/**
 * Numbers for every reply.
 */
export type Stats = { 
/**
 * Prompt tokens (after trimming).
 */
promptTokens: number, 
/**
 * Tokens generated.
 */
generatedTokens: number, 
/**
 * From the request to the first token, ms.
 */
timeToFirstTokenMs: number, 
/**
 * Prompt tokens per second (prompt tokens actually run; a reused prefix is not counted).
 */
prefillTokensPerSecond: number, 
/**
 * Generated tokens per second after the first.
 */
decodeTokensPerSecond: number, 
/**
 * Whole reply, ms.
 */
totalMs: number, };

/**
 * A source given to the model, numbered as it is cited.
 */
export type CitedSource = { 
/**
 * The number the model cites it by: `[number]`.
 */
number: number, 
/**
 * The file (the first one, if several files hold the same bytes).
 */
path: string, 
/**
 * Other files with identical content.
 */
sameContent: Array<string>, 
/**
 * The fused score (higher is better; comparable only within one search).
 */
score: number, 
/**
 * Cosine similarity of the chunk to the query.
 */
similarity: number, 
/**
 * 1-based rank in the vector list, if it was there.
 */
vectorRank: number | null, 
/**
 * 1-based rank in the keyword list, if it was there.
 */
keywordRank: number | null, 
/**
 * Headings above the chunk.
 */
heading: string, 
/**
 * Byte range in the document's text.
 */
byteRange: { start: number, end: number, }, 
/**
 * First and last line.
 */
lines: [number, number], 
/**
 * A short passage around the best keyword matches.
 */
snippet: string, 
/**
 * Byte ranges in `snippet` to highlight.
 */
highlights: Array<{ start: number, end: number, }>, 
/**
 * The whole chunk, for answers that cite it.
 */
text: string, 
/**
 * The chunk's row id.
 */
chunkId: number, };

/**
 * One result.
 */
export type SearchResult = { 
/**
 * The file (the first one, if several files hold the same bytes).
 */
path: string, 
/**
 * Other files with identical content.
 */
sameContent: Array<string>, 
/**
 * The fused score (higher is better; comparable only within one search).
 */
score: number, 
/**
 * Cosine similarity of the chunk to the query.
 */
similarity: number, 
/**
 * 1-based rank in the vector list, if it was there.
 */
vectorRank: number | null, 
/**
 * 1-based rank in the keyword list, if it was there.
 */
keywordRank: number | null, 
/**
 * Headings above the chunk.
 */
heading: string, 
/**
 * Byte range in the document's text.
 */
byteRange: { start: number, end: number, }, 
/**
 * First and last line.
 */
lines: [number, number], 
/**
 * A short passage around the best keyword matches.
 */
snippet: string, 
/**
 * Byte ranges in `snippet` to highlight.
 */
highlights: Array<{ start: number, end: number, }>, 
/**
 * The whole chunk, for answers that cite it.
 */
text: string, 
/**
 * The chunk's row id.
 */
chunkId: number, };

/**
 * A search's results and what was done to the query.
 */
export type SearchResponse = { 
/**
 * Best first; empty means nothing relevant was found.
 */
results: Array<SearchResult>, 
/**
 * The query was longer than what is searched, and was cut.
 */
queryTruncated: boolean, };

/**
 * Where a run is.
 */
export type IndexPhase = "scanning" | "indexing" | "done" | "cancelled";

/**
 * A progress report, sent as the run goes.
 */
export type Progress = { 
/**
 * The source being indexed.
 */
source: string, 
/**
 * Where the run is.
 */
phase: IndexPhase, 
/**
 * Files found so far (final once scanning ends).
 */
filesTotal: number, 
/**
 * Files settled: unchanged, indexed or skipped.
 */
filesDone: number, 
/**
 * Files skipped so far, in this run.
 */
filesSkipped: number, 
/**
 * Chunks embedded in this run.
 */
chunksDone: number, 
/**
 * Files per second over the files that needed work.
 */
filesPerSecond: number, 
/**
 * Chunks embedded per second.
 */
chunksPerSecond: number, 
/**
 * Estimated seconds left, from the bytes still to read at the rate so far.
 */
etaSeconds: number | null, 
/**
 * The file being worked on.
 */
current: string | null, };

/**
 * Counts for `onyx index status` and the app's documents panel.
 */
export type IndexCounts = { 
/**
 * Sources added.
 */
sources: number, 
/**
 * Files indexed.
 */
documents: number, 
/**
 * Files skipped, each with a reason.
 */
skipped: number, 
/**
 * Distinct contents (files with equal bytes count once).
 */
contents: number, 
/**
 * Chunks (and vectors).
 */
chunks: number, };

/**
 * A source the user added: a folder or a single file.
 */
export type DocumentSource = { 
/**
 * Row id.
 */
id: number, 
/**
 * Absolute path.
 */
path: string, };

/**
 * A skipped file and why.
 */
export type Skip = { 
/**
 * The file.
 */
path: string, 
/**
 * Why it was not indexed.
 */
reason: string, };

/**
 * An error as data: what `app_status`, stream events and app events carry where a command's
 * own `Err` cannot go. Same shape as [`Error`] on the wire.
 */
export type IpcError = { 
/**
 * [`Error::code`].
 */
code: string, 
/**
 * The error's message.
 */
message: string, };

/**
 * Where a model is.
 */
export type LoadState = "none" | "loading" | "ready" | "failed";

/**
 * One model as `app_status` shows it.
 */
export type ModelStatus = { 
/**
 * Where it is.
 */
state: LoadState, 
/**
 * The model's name: the one loaded, or the one being loaded or that failed.
 */
model: string, 
/**
 * Where the loaded model runs.
 */
provider: ActiveProvider | null, 
/**
 * The last load's failure, also when an earlier model still answers.
 */
error: IpcError | null, 
/**
 * When this status was last changed, on a counter shared by every status change and model
 * event. `app_status` answers and events can reach the window in either order; the window
 * keeps whichever has the higher revision, so a late answer cannot undo a newer event.
 */
revision: number, };

/**
 * The reply of `app_status`.
 */
export type AppStatus = { 
/**
 * The chat model.
 */
chat: ModelStatus, 
/**
 * The embedding model (documents).
 */
embedding: ModelStatus, 
/**
 * Devices ONNX Runtime found; empty until it has loaded (or when it could not).
 */
devices: Array<DeviceInfo>, 
/**
 * See [`Notices`].
 */
notices: Array<string>, };

/**
 * Where a model came from.
 */
export type Origin = "default" | "imported";

/**
 * One model folder, as `models_list` shows it.
 */
export type ModelEntry = { 
/**
 * The folder's name: what the settings store.
 */
name: string, 
/**
 * The folder.
 */
path: string, 
/**
 * What it is for.
 */
kind: ModelRole, 
/**
 * Where it came from.
 */
origin: Origin, 
/**
 * The targets an Onyx package was built for (`cpu`, `npu`); empty for other layouts.
 */
variants: Array<Target>, };

/**
 * Streamed on `model_import`'s channel.
 */
export type ImportEvent = { "event": "started", "data": { 
/**
 * The file or folder being imported.
 */
source: string, 
/**
 * The folder name it gets.
 */
name: string, } } | { "event": "progress", "data": { 
/**
 * `reading`, `tokenizer`, `cpu graph`, `npu graphs`, `embedding graphs`, `copying` or `checking`.
 */
stage: string, 
/**
 * Share of the whole import done, `0..=1`: never less than the last event's, and `1`
 * only once the model is in place and checked.
 */
fraction: number, } } | { "event": "done", "data": { 
/**
 * As `models_list` will show it.
 */
model: ModelEntry, } } | { "event": "error", "data": IpcError };

/**
 * The request of `chat_send`.
 */
export type ChatSend = { 
/**
 * Chosen by the window, to cancel this reply with.
 */
streamId: string, 
/**
 * The conversation.
 */
conversationId: number, 
/**
 * The new user message; `None` to regenerate.
 */
text: string | null, 
/**
 * Delete the last reply and generate it again (with `text: None`).
 */
regenerate: boolean, 
/**
 * Answer from the user's documents, citing them.
 */
useDocuments: boolean, };

/**
 * Streamed on `chat_send`'s channel.
 */
export type ChatStreamEvent = { "event": "started", "data": { 
/**
 * As stored.
 */
userMessage: StoredMessage | null, } } | { "event": "sources", "data": { 
/**
 * Numbered as the reply cites them.
 */
sources: Array<CitedSource>, } } | { "event": "token", "data": { 
/**
 * Never a split character.
 */
text: string, } } | { "event": "providerChanged", "data": { 
/**
 * Where it ran.
 */
from: string, 
/**
 * Where it runs now.
 */
to: string, 
/**
 * Why.
 */
reason: string, } } | { "event": "done", "data": { 
/**
 * As stored.
 */
message: StoredMessage, } } | { "event": "error", "data": IpcError };

/**
 * The reply of `documents_status`.
 */
export type DocumentsStatus = { 
/**
 * What is indexed.
 */
counts: IndexCounts, 
/**
 * The folders and files added.
 */
sources: Array<DocumentSource>, 
/**
 * Skipped files with their reasons (at most 1000; `counts.skipped` has the total).
 */
skipped: Array<Skip>, 
/**
 * The run going on, if any.
 */
indexing: Progress | null, 
/**
 * The last run's failure, until the next run the user starts.
 */
error: IpcError | null, 
/**
 * The `seq` of the last `index-progress` event sent before this status was read. A status
 * answer can reach the window after newer events; one with a lower `seq` than an event the
 * window has seen must not put its older `indexing` back on screen.
 */
progressSeq: number, };

/**
 * Payload of `index-progress`: the run's [`Progress`] with a sequence number.
 */
export type IndexProgressEvent = { 
/**
 * Counts up by one per event, over the whole run of the app.
 */
seq: number, 
/**
 * The source being indexed.
 */
source: string, 
/**
 * Where the run is.
 */
phase: IndexPhase, 
/**
 * Files found so far (final once scanning ends).
 */
filesTotal: number, 
/**
 * Files settled: unchanged, indexed or skipped.
 */
filesDone: number, 
/**
 * Files skipped so far, in this run.
 */
filesSkipped: number, 
/**
 * Chunks embedded in this run.
 */
chunksDone: number, 
/**
 * Files per second over the files that needed work.
 */
filesPerSecond: number, 
/**
 * Chunks embedded per second.
 */
chunksPerSecond: number, 
/**
 * Estimated seconds left, from the bytes still to read at the rate so far.
 */
etaSeconds: number | null, 
/**
 * The file being worked on.
 */
current: string | null, };

/**
 * A preview of lines of an indexed file.
 */
export type Preview = { 
/**
 * The file.
 */
path: string, 
/**
 * Its indexed text over the lines asked for, with context.
 */
text: string, 
/**
 * The line number of the first line of `text`.
 */
firstLine: number, };

/**
 * Payload of [`PROVIDER_CHANGED`].
 */
export type ProviderChangedEvent = { 
/**
 * The model that moved.
 */
model: ModelRole, 
/**
 * Its name, as in the settings: a window that missed the `model-loading` event (it
 * subscribed late, at start-up) still shows which model is ready.
 */
name: string, 
/**
 * Where it runs now.
 */
provider: ActiveProvider, 
/**
 * Why it moved, when it was not a requested load (a fallback mid-reply).
 */
reason: string | null, 
/**
 * The model status's revision after the change (`ModelStatus::revision`).
 */
revision: number, };

/**
 * Payload of [`MODEL_LOADING`].
 */
export type ModelLoadingEvent = { 
/**
 * The model being loaded.
 */
model: ModelRole, 
/**
 * Its name, as in the settings.
 */
name: string, 
/**
 * The model status's revision after the change (`ModelStatus::revision`).
 */
revision: number, };

/**
 * Payload of [`MODEL_ERROR`]: the model, then the error's `code` and `message`.
 */
export type ModelErrorEvent = { 
/**
 * The model that failed.
 */
model: ModelRole, 
/**
 * The model that still answers, loaded before: a failed load does not unload it.
 */
stillLoaded: string | null, 
/**
 * The model status's revision after the change (`ModelStatus::revision`).
 */
revision: number, 
/**
 * [`Error::code`].
 */
code: string, 
/**
 * The error's message.
 */
message: string, };

/**
 * Payload of [`INDEX_ERROR`]: the source, then the error's `code` and `message`.
 */
export type IndexErrorEvent = { 
/**
 * The folder or file the run was indexing.
 */
source: string, 
/**
 * [`Error::code`].
 */
code: string, 
/**
 * The error's message.
 */
message: string, };
