// Shell answers in the exact JSON shapes of src-tauri/IPC.md, shared by the tests.
import type {
  ActiveProvider,
  AppStatus,
  CitedSource,
  DeviceInfo,
  ModelEntry,
  SearchResult,
  Settings,
  StoredMessage,
} from "../ipc";

export const npuProvider: ActiveProvider = {
  ep: "OpenVINOExecutionProvider",
  deviceKind: "npu",
  deviceName: "Intel(R) AI Boost",
  deviceIndex: 1,
  nodesOnEp: 97,
  nodesTotal: 100,
  placement: [
    { ep: "OpenVINOExecutionProvider", nodes: 97 },
    { ep: "CPUExecutionProvider", nodes: 3 },
  ],
  graphs: [
    {
      graph: "model.cpu.onnx",
      nodesOnEp: 97,
      nodesTotal: 100,
      placement: [
        { ep: "OpenVINOExecutionProvider", nodes: 97 },
        { ep: "CPUExecutionProvider", nodes: 3 },
      ],
      macsOnEp: 134_479_872,
      macsTotal: 134_479_872,
    },
  ],
  tried: [],
  fromCompiledCache: false,
  macsOnEp: 134_479_872,
  macsTotal: 134_479_872,
  work: [{ ep: "OpenVINOExecutionProvider", macs: 134_479_872, products: 211 }],
  leftBehind: [
    {
      opType: "SimplifiedLayerNormalization",
      ep: "CPUExecutionProvider",
      nodes: 3,
      reason: null,
    },
  ],
  workNote: null,
};

export const cpuFallbackProvider: ActiveProvider = {
  ep: "CPUExecutionProvider",
  deviceKind: "cpu",
  deviceName: "Intel Xeon",
  deviceIndex: 0,
  nodesOnEp: 120,
  nodesTotal: 120,
  placement: [{ ep: "CPUExecutionProvider", nodes: 120 }],
  graphs: [
    {
      graph: "model.cpu.onnx",
      nodesOnEp: 120,
      nodesTotal: 120,
      placement: [{ ep: "CPUExecutionProvider", nodes: 120 }],
      macsOnEp: 134_479_872,
      macsTotal: 134_479_872,
    },
  ],
  tried: [
    { ep: "NPU", device: "-", reason: "no NPU found on this machine" },
    {
      ep: "CUDAExecutionProvider",
      device: "NVIDIA RTX 4070",
      reason: "CUDA driver 535 is older than 550",
    },
  ],
  fromCompiledCache: false,
  macsOnEp: 134_479_872,
  macsTotal: 134_479_872,
  work: [{ ep: "CPUExecutionProvider", macs: 134_479_872, products: 211 }],
  leftBehind: [],
  workNote: null,
};

export const gpuProvider: ActiveProvider = {
  ...npuProvider,
  ep: "DmlExecutionProvider",
  deviceKind: "gpu",
  deviceName: "AMD Radeon 780M",
  nodesOnEp: 199,
  nodesTotal: 200,
};

export const devices: DeviceInfo[] = [
  {
    index: 0,
    epName: "CPUExecutionProvider",
    epVendor: "Microsoft",
    hardwareVendor: "Intel",
    vendorId: 0x8086,
    deviceId: 0,
    kind: "cpu",
    epMetadata: {},
    hardwareMetadata: { Description: "Intel Xeon" },
  },
  {
    index: 1,
    epName: "OpenVINOExecutionProvider",
    epVendor: "Intel",
    hardwareVendor: "Intel",
    vendorId: 0x8086,
    deviceId: 0,
    kind: "npu",
    epMetadata: { ov_device: "NPU" },
    hardwareMetadata: { Description: "Intel(R) AI Boost" },
  },
];

export const readyStatus: AppStatus = {
  chat: {
    state: "ready",
    model: "smollm2-135m-instruct",
    provider: npuProvider,
    error: null,
    revision: 2,
  },
  embedding: {
    state: "ready",
    model: "all-minilm-l6-v2",
    provider: cpuFallbackProvider,
    error: null,
    revision: 1,
  },
  devices,
  notices: [],
};

export const defaultSettings: Settings = {
  version: 1,
  provider: "auto",
  strictNpu: false,
  runtimeLibrary: null,
  pluginDir: null,
  chatModel: "smollm2-135m-instruct",
  embeddingModel: "all-minilm-l6-v2",
  systemPrompt: "You are a helpful assistant. Answer clearly and concisely.",
  temperature: 0.7,
  topP: 0.9,
  topK: 40,
  minP: 0.05,
  maxTokens: 512,
  repetitionPenalty: 1.1,
  contextLength: 2048,
  seed: null,
  documents: { enabled: false, topK: 5, minSimilarity: 0.3, maxFileMb: 32 },
  npu: { performanceMode: "burst", socModel: null, htpArch: null, compileCache: true },
  theme: "system",
};

export const models: ModelEntry[] = [
  {
    name: "smollm2-135m-instruct",
    path: "/models/smollm2",
    kind: "chat",
    origin: "default",
    variants: ["cpu"],
  },
  {
    name: "qwen2.5-0.5b",
    path: "/data/models/qwen",
    kind: "chat",
    origin: "imported",
    variants: [],
  },
  {
    name: "all-minilm-l6-v2",
    path: "/models/minilm",
    kind: "embedding",
    origin: "default",
    variants: [],
  },
];

export function userMessage(id: number, content: string, conversationId = 1): StoredMessage {
  return {
    id,
    conversationId,
    role: "user",
    content,
    createdAt: 1_700_000_000_000 + id,
    stats: null,
    provider: null,
    sources: null,
    finishReason: null,
  };
}

export function assistantMessage(id: number, content: string, conversationId = 1): StoredMessage {
  return {
    id,
    conversationId,
    role: "assistant",
    content,
    createdAt: 1_700_000_000_000 + id,
    stats: {
      promptTokens: 42,
      generatedTokens: 17,
      timeToFirstTokenMs: 312.4,
      prefillTokensPerSecond: 480.2,
      decodeTokensPerSecond: 23.46,
      totalMs: 1040,
    },
    provider: npuProvider,
    sources: null,
    finishReason: "eos",
  };
}

export const searchResult: SearchResult = {
  path: "/home/ada/notes/rust.md",
  sameContent: [],
  score: 0.0328,
  similarity: 0.71,
  vectorRank: 1,
  keywordRank: 2,
  heading: "Ownership > Borrowing",
  byteRange: { start: 120, end: 900 },
  lines: [12, 30],
  // "…" is three bytes in UTF-8: the highlight ranges below are byte offsets, as Rust sends.
  snippet: "…a reference borrows the value: borrowing never moves it…",
  highlights: [
    { start: 15, end: 22 },
    { start: 34, end: 43 },
  ],
  text: "A reference borrows the value.",
  chunkId: 7,
};

export const citedSource: CitedSource = { ...searchResult, number: 1 };
