// Hand-written mirror of `onyx_runtime::doctor::DoctorReport` (serde, camelCase) and of the shell's
// `{code, message}` error. Keep it in step with the Rust side: src/doctor/fixtures.ts holds a
// report in the exact JSON shape, and the tests render it.

/** The kind of hardware a device is, as ONNX Runtime classifies it. */
export type DeviceKind = "cpu" | "gpu" | "npu";

/** One location tried while looking for the ONNX Runtime shared library. */
export interface LibraryAttempt {
  path: string;
  reason: string;
}

/** Whether ONNX Runtime itself could be loaded; nothing else works without it. */
export type RuntimeStatus =
  | {
      status: "loaded";
      path: string;
      version: string;
      /** Candidate locations passed over before the one that loaded. */
      skipped?: LibraryAttempt[];
    }
  | { status: "failed"; error: string; tried: LibraryAttempt[] };

/** An execution-provider plugin library (OpenVINO, QNN, ...) and whether ORT accepted it. */
export interface PluginLibrary {
  epName: string;
  path: string;
  status: "registered" | "failed";
  error: string | null;
  /** How many devices the plugin added, when the runtime reports it. */
  deviceCount?: number;
}

/** A device that an execution provider offers, as listed by `Environment::devices()`. */
export interface Device {
  /** Position in ORT's device list, when the runtime reports it. */
  index?: number;
  epName: string;
  epVendor: string;
  hardwareVendor: string;
  vendorId: number;
  deviceId: number;
  kind: DeviceKind;
  epMetadata: Record<string, string>;
  hardwareMetadata: Record<string, string>;
}

/** One execution provider / device that was tried and refused, with ORT's reason. */
export interface ProviderAttempt {
  ep: string;
  device: string;
  /** The device's index in the runtime's device list; absent when no device was reached. */
  deviceIndex?: number;
  deviceKind?: DeviceKind;
  reason: string;
}

/** How many graph nodes one execution provider took in the probe session. */
export interface Placement {
  ep: string;
  nodes: number;
}

/** The provider a session really runs on, with the measured share of nodes placed on it. */
export interface ActiveProvider {
  ep: string;
  deviceKind: DeviceKind;
  deviceName: string;
  /** The device's index in the runtime's device list. Optional only for older fixtures. */
  deviceIndex?: number;
  nodesOnEp: number;
  nodesTotal: number;
  placement: Placement[];
  /**
   * Each graph's own placement (the totals above cover them all): one entry, or an npu
   * variant's prefill and decode graphs. Optional only for fixtures written before it existed.
   */
  graphs?: GraphPlacement[];
  tried: ProviderAttempt[];
  /** The session came from a compiled EP-context cache; its share was measured at compile time. */
  fromCompiledCache?: boolean;
}

/** Where one graph of a model runs (`GraphPlacement` in onyx-runtime). */
export interface GraphPlacement {
  graph: string;
  nodesOnEp: number;
  nodesTotal: number;
  placement: Placement[];
}

/** The outcome of resolving the requested provider choice to a real device. */
export interface ProviderResolution {
  requested: string;
  active: ActiveProvider | null;
  tried: ProviderAttempt[];
  error: string | null;
}

/** Everything `onyx doctor` knows about this machine. */
export interface DoctorReport {
  runtime: RuntimeStatus;
  plugins: PluginLibrary[];
  devices: Device[];
  /** Absent when ONNX Runtime did not load: without it no provider can be checked. */
  provider: ProviderResolution | null;
}

/**
 * What a failed command rejects with. `code` is stable and only exists where the UI branches on
 * it; `message` is for people.
 */
export interface IpcError {
  code: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// The app's IPC contract (src-tauri/IPC.md). Engine types are mirrored as the crates serialize
// them: serde camelCase, `PathBuf` as a string, `Range<usize>` as `{start, end}`, tuples as
// arrays, `Option<T>` as `T | null`.
// ---------------------------------------------------------------------------------------------

/** `onyx_runtime::DeviceInfo`, as `app_status` lists it (the doctor's `Device` with a required index). */
export interface DeviceInfo extends Device {
  index: number;
}

/** Which of the two models a status or event is about. */
export type ModelRole = "chat" | "embedding";

/** Where one model is: nothing chosen, loading on a worker, ready on a provider, or failed. */
export interface ModelStatus {
  state: "none" | "loading" | "ready" | "failed";
  /** The model's name (folder name or path) as the settings name it. */
  model: string;
  provider: ActiveProvider | null;
  error: IpcError | null;
  /**
   * When this status last changed, on one app-wide counter that the model events carry too:
   * whichever of an answer and an event has the higher revision is the newer (IPC.md).
   */
  revision: number;
}

/** `app_status()`: both models, the discovered devices, and one-time notices. */
export interface AppStatus {
  chat: ModelStatus;
  embedding: ModelStatus;
  devices: DeviceInfo[];
  /** Things to tell the user once (settings file repaired, database moved aside). */
  notices: string[];
}

/** `onyx_engine::settings::Theme`. */
export type Theme = "system" | "light" | "dark";

/** `onyx_engine::settings::DocumentSettings`. */
export interface DocumentSettings {
  enabled: boolean;
  /** `1..=20` */
  topK: number;
  /** `-1..=1` */
  minSimilarity: number;
  /** `1..=4096` */
  maxFileMb: number;
}

/** `onyx_engine::settings::Settings`; ranges are checked by the shell (`invalid_settings`). */
export interface Settings {
  version: number;
  /** `auto`, `npu`, `gpu`, `cpu`, an EP name, or `<EP name>#<device index>`. */
  provider: string;
  strictNpu: boolean;
  runtimeLibrary: string | null;
  pluginDir: string | null;
  chatModel: string;
  embeddingModel: string;
  systemPrompt: string;
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  maxTokens: number;
  repetitionPenalty: number;
  contextLength: number;
  /** A u64 in Rust; values above 2^53 cannot round-trip through JSON numbers in JS. */
  seed: number | null;
  documents: DocumentSettings;
  theme: Theme;
}

/** One model `models_list` found. */
export interface ModelEntry {
  name: string;
  path: string;
  kind: "chat" | "embedding";
  origin: "default" | "imported";
  variants: string[];
}

/**
 * What `model_import` streams on its channel. `fraction` is the share of the whole import done,
 * `0..=1`: it starts at 0, never goes back, and is 1 only on the last `progress` event (the
 * `checking` stage), before `done`.
 */
export type ImportEvent =
  | { event: "started"; data: { source: string; name: string } }
  | { event: "progress"; data: { stage: string; fraction: number } }
  | { event: "done"; data: { model: ModelEntry } }
  | { event: "error"; data: IpcError };

/** `onyx_engine::conversations::ConversationSummary`. */
export interface ConversationSummary {
  id: number;
  /** Empty until the user names it or the first user message does. */
  title: string;
  /** Milliseconds since the Unix epoch. */
  updatedAt: number;
  messageCount: number;
}

/** `onyx_engine::chat::FinishReason`. */
export type FinishReason =
  | "eos"
  | "stop"
  | "maxTokens"
  | "contextFull"
  | "cancelled"
  | "nothingRelevant";

/** `onyx_engine::conversations::StoredMessage`. */
export interface StoredMessage {
  id: number;
  conversationId: number;
  role: "system" | "user" | "assistant";
  content: string;
  createdAt: number;
  /**
   * Stored as free JSON by the engine (`Option<Value>`): a `Stats`, an `ActiveProvider` and a
   * `CitedSource[]` when the app wrote them. Read them through src/chat/storedReply.ts, which
   * checks their shape, since old rows or other writers may hold something else.
   */
  stats: unknown;
  provider: unknown;
  sources: unknown;
  finishReason: FinishReason | (string & {}) | null;
}

/** `onyx_engine::chat::Stats`. */
export interface Stats {
  promptTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  totalMs: number;
}

/** A byte range, as serde writes `Range<usize>`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** `onyx_docs::search::SearchResult`. */
export interface SearchResult {
  path: string;
  sameContent: string[];
  score: number;
  similarity: number;
  vectorRank: number | null;
  keywordRank: number | null;
  heading: string;
  byteRange: ByteRange;
  /** First and last line, 1-based. */
  lines: [number, number];
  snippet: string;
  /** UTF-8 byte ranges in `snippet` (not UTF-16 indices: see src/documents/snippet.ts). */
  highlights: ByteRange[];
  text: string;
  chunkId: number;
}

/** `onyx_engine::documents::CitedSource`: a search result (flattened) with its citation number. */
export interface CitedSource extends SearchResult {
  number: number;
}

/** `onyx_docs::search::SearchResponse`. */
export interface SearchResponse {
  results: SearchResult[];
  queryTruncated: boolean;
}

/** What `chat_send` takes. */
export interface ChatSend {
  streamId: string;
  conversationId: number;
  /** The new user message; null with `regenerate: true`. */
  text: string | null;
  regenerate: boolean;
  useDocuments: boolean;
}

/** `from` and `to` are the engine's one-line provider summaries (`ActiveProvider::summary`). */
export interface ProviderSwitch {
  from: string;
  to: string;
  reason: string;
}

/** What `chat_send` streams on its channel. */
export type ChatStreamEvent =
  | { event: "started"; data: { userMessage: StoredMessage | null } }
  | { event: "sources"; data: { sources: CitedSource[] } }
  | { event: "token"; data: { text: string } }
  | { event: "providerChanged"; data: ProviderSwitch }
  | { event: "done"; data: { message: StoredMessage } }
  | { event: "error"; data: IpcError };

/** `onyx_docs::index::Phase`. */
export type IndexPhase = "scanning" | "indexing" | "done" | "cancelled";

/** `onyx_docs::index::Progress`, the `index-progress` event. */
export interface Progress {
  source: string;
  phase: IndexPhase;
  filesTotal: number;
  filesDone: number;
  filesSkipped: number;
  chunksDone: number;
  filesPerSecond: number;
  chunksPerSecond: number;
  etaSeconds: number | null;
  current: string | null;
}

/** The `index-progress` event: a run's progress, numbered (`seq` counts up per event). */
export interface IndexProgressEvent extends Progress {
  seq: number;
}

/** `onyx_docs::store::IndexCounts`. */
export interface IndexCounts {
  sources: number;
  documents: number;
  skipped: number;
  contents: number;
  chunks: number;
}

/** `onyx_docs::store::Source`: a folder or file the user added. */
export interface DocumentSource {
  id: number;
  path: string;
}

/** `onyx_docs::store::Skip`. */
export interface Skip {
  path: string;
  reason: string;
}

/** `documents_status()`. */
export interface DocumentsStatus {
  counts: IndexCounts;
  sources: DocumentSource[];
  skipped: Skip[];
  indexing: Progress | null;
  /** The last run's failure, until the user starts another run. */
  error: IpcError | null;
  /** The `seq` of the last `index-progress` sent before this status was read. */
  progressSeq: number;
}

/** `documents_preview()`: the chunk's lines with some context, as text. */
export interface Preview {
  path: string;
  text: string;
  /** The line number of the first line of `text`, 1-based. */
  firstLine: number;
}

/** The `provider-changed` event. */
export interface ProviderChangedEvent {
  model: ModelRole;
  provider: ActiveProvider;
  reason: string | null;
  revision: number;
}

/** The `model-loading` event. */
export interface ModelLoadingEvent {
  model: ModelRole;
  name: string;
  revision: number;
}

/** The `index-error` event: an index run stopped on an error. */
export interface IndexErrorEvent extends IpcError {
  source: string;
}

/** The `model-error` event. */
export interface ModelErrorEvent extends IpcError {
  model: ModelRole;
  /** The model loaded before, which keeps answering; null when there is none. */
  stillLoaded: string | null;
  revision: number;
}
