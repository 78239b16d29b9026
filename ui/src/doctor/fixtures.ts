// Doctor reports in the exact JSON shape the shell sends, for tests. They mirror what this
// project's Linux x86_64 machines report: the CPU EP plus the OpenVINO plugin, no NPU.
import type { DoctorReport } from "../ipc";

export const loadedReport: DoctorReport = {
  runtime: {
    status: "loaded",
    path: "/home/ada/onyx/runtime/libonnxruntime.so.1.32.0",
    version: "1.32.0",
    skipped: [],
  },
  plugins: [
    {
      epName: "OpenVINOExecutionProvider",
      path: "/home/ada/onyx/runtime/libonnxruntime_providers_openvino_plugin.so",
      status: "registered",
      error: null,
      deviceCount: 1,
    },
    {
      epName: "QNNExecutionProvider",
      path: "/home/ada/onyx/runtime/libonnxruntime_providers_qnn.so",
      status: "failed",
      error: "cannot open shared object file: No such file or directory",
      deviceCount: 0,
    },
  ],
  devices: [
    {
      index: 0,
      epName: "CPUExecutionProvider",
      epVendor: "Microsoft",
      hardwareVendor: "Intel",
      vendorId: 0x8086,
      deviceId: 0,
      kind: "cpu",
      epMetadata: {},
      hardwareMetadata: { Description: "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz" },
    },
    {
      index: 1,
      epName: "OpenVINOExecutionProvider",
      epVendor: "Intel",
      hardwareVendor: "Intel",
      vendorId: 0x8086,
      deviceId: 0,
      kind: "cpu",
      epMetadata: { ov_device: "CPU", ov_meta_device: "" },
      hardwareMetadata: { Description: "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz" },
    },
  ],
  provider: {
    requested: "auto",
    active: {
      ep: "OpenVINOExecutionProvider",
      deviceKind: "cpu",
      deviceName: "Intel CPU",
      deviceIndex: 1,
      nodesOnEp: 7,
      nodesTotal: 8,
      placement: [
        { ep: "OpenVINOExecutionProvider", nodes: 7 },
        { ep: "CPUExecutionProvider", nodes: 1 },
      ],
      graphs: [
        {
          graph: "<in-memory model>",
          nodesOnEp: 7,
          nodesTotal: 8,
          placement: [
            { ep: "OpenVINOExecutionProvider", nodes: 7 },
            { ep: "CPUExecutionProvider", nodes: 1 },
          ],
          macsOnEp: 48,
          macsTotal: 48,
        },
      ],
      tried: [
        { ep: "NPU", device: "-", reason: "no NPU found on this machine" },
        { ep: "GPU", device: "-", reason: "no GPU found on this machine" },
      ],
      fromCompiledCache: false,
      macsOnEp: 48,
      macsTotal: 48,
      work: [{ ep: "OpenVINOExecutionProvider", macs: 48, products: 1 }],
      leftBehind: [{ opType: "Binarizer", ep: "CPUExecutionProvider", nodes: 1, reason: null }],
      workNote: null,
    },
    tried: [
      { ep: "NPU", device: "-", reason: "no NPU found on this machine" },
      { ep: "GPU", device: "-", reason: "no GPU found on this machine" },
    ],
    error: null,
  },
};

export const runtimeFailedReport: DoctorReport = {
  runtime: {
    status: "failed",
    error: "ONNX Runtime was not found; run scripts/setup.sh or set ONYX_RUNTIME",
    tried: [
      {
        path: "/home/ada/onyx/runtime/libonnxruntime.so",
        reason: "No such file or directory (os error 2)",
      },
      {
        path: "libonnxruntime.so",
        reason: "libonnxruntime.so: cannot open shared object file: No such file or directory",
      },
    ],
  },
  plugins: [],
  devices: [],
  provider: null,
};

export const noProviderReport: DoctorReport = {
  ...loadedReport,
  provider: {
    requested: "npu",
    active: null,
    tried: [
      {
        ep: "QNNExecutionProvider",
        device: "npu",
        reason: "the QNN plugin library is not registered",
      },
    ],
    error: "no NPU could run the probe model",
  },
};
