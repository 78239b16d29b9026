import {
  attemptDevice,
  describeChoice,
  discoveredEpNames,
  failedAttempts,
  formatHexId,
  formatNodeCount,
  formatShare,
  placementSegments,
  shareFraction,
  sortedEntries,
} from "./format";
import { loadedReport, noProviderReport, runtimeFailedReport } from "./fixtures";

describe("formatShare", () => {
  it.each([
    [8, 8, "100%"],
    [7, 8, "88%"],
    [1, 2, "50%"],
    [0, 8, "0%"],
    // Rounding must never claim the whole graph while a node runs elsewhere ...
    [199, 200, ">99%"],
    [999, 1000, ">99%"],
    // ... nor claim nothing while a node runs here.
    [1, 300, "<1%"],
  ])("%i of %i nodes reads %s", (onEp, total, expected) => {
    expect(formatShare(onEp, total)).toBe(expected);
  });

  it("has no share without a node count", () => {
    expect(formatShare(0, 0)).toBe("n/a");
    expect(formatShare(3, 0)).toBe("n/a");
  });
});

describe("shareFraction", () => {
  it("is clamped to [0, 1] and 0 without a node count", () => {
    expect(shareFraction(3, 4)).toBe(0.75);
    expect(shareFraction(5, 4)).toBe(1);
    expect(shareFraction(1, 0)).toBe(0);
  });
});

describe("small formatters", () => {
  it("counts nodes with the right noun", () => {
    expect(formatNodeCount(1, 1)).toBe("1 of 1 node");
    expect(formatNodeCount(7, 8)).toBe("7 of 8 nodes");
  });

  it("writes PCI ids as four hex digits at least", () => {
    expect(formatHexId(0x8086)).toBe("0x8086");
    expect(formatHexId(0)).toBe("0x0000");
    expect(formatHexId(0x5143)).toBe("0x5143");
    expect(formatHexId(0x1_0de)).toBe("0x10de");
  });

  it("explains policies and keeps EP names", () => {
    expect(describeChoice("auto")).toBe("Auto (NPU → GPU → CPU)");
    expect(describeChoice("npu")).toBe("NPU");
    expect(describeChoice("OpenVINOExecutionProvider")).toBe("OpenVINOExecutionProvider");
  });

  it("names an attempt's device only when there was one", () => {
    expect(attemptDevice("Intel CPU")).toBe("Intel CPU");
    expect(attemptDevice("-")).toBeNull();
    expect(attemptDevice(" ")).toBeNull();
  });

  it("sorts metadata by key", () => {
    expect(sortedEntries({ b: "2", a: "1" })).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });
});

describe("discoveredEpNames", () => {
  it("lists each EP that has a device once", () => {
    expect(discoveredEpNames(loadedReport)).toEqual([
      "CPUExecutionProvider",
      "OpenVINOExecutionProvider",
    ]);
  });

  it("leaves out plugins without devices, which cannot be chosen", () => {
    const report = {
      ...loadedReport,
      plugins: [
        ...loadedReport.plugins,
        {
          epName: "WebGpuExecutionProvider",
          path: "/home/ada/onyx/runtime/libonnxruntime_providers_webgpu.so",
          status: "registered" as const,
          error: null,
          deviceCount: 0,
        },
      ],
    };
    expect(discoveredEpNames(report)).not.toContain("WebGpuExecutionProvider");
    expect(discoveredEpNames(report)).not.toContain("QNNExecutionProvider");
  });

  it("is empty before the first report and when the runtime failed", () => {
    expect(discoveredEpNames(null)).toEqual([]);
    expect(discoveredEpNames(runtimeFailedReport)).toEqual([]);
  });
});

describe("failedAttempts", () => {
  it("shows attempts kept on both the resolution and the active provider once", () => {
    const provider = loadedReport.provider;
    expect(provider).not.toBeNull();
    if (provider === null) return;
    expect(failedAttempts(provider)).toEqual([
      { ep: "NPU", device: "-", reason: "no NPU found on this machine" },
      { ep: "GPU", device: "-", reason: "no GPU found on this machine" },
    ]);
  });

  it("keeps the attempts of a resolution that found nothing", () => {
    const provider = noProviderReport.provider;
    if (provider === null) throw new Error("fixture has a provider");
    expect(failedAttempts(provider)).toHaveLength(1);
  });
});

describe("placementSegments", () => {
  it("puts the active EP first, then the others by node count", () => {
    const segments = placementSegments({
      ep: "OpenVINOExecutionProvider",
      nodesOnEp: 5,
      nodesTotal: 10,
      placement: [
        { ep: "CPUExecutionProvider", nodes: 1 },
        { ep: "OpenVINOExecutionProvider", nodes: 5 },
        { ep: "WebGpuExecutionProvider", nodes: 4 },
        { ep: "DmlExecutionProvider", nodes: 0 },
      ],
    });
    expect(segments).toEqual([
      { ep: "OpenVINOExecutionProvider", nodes: 5, active: true },
      { ep: "WebGpuExecutionProvider", nodes: 4, active: false },
      { ep: "CPUExecutionProvider", nodes: 1, active: false },
    ]);
  });

  it("falls back to the counts when the runtime sends no per-EP placement", () => {
    expect(
      placementSegments({ ep: "QNNExecutionProvider", nodesOnEp: 40, nodesTotal: 42, placement: [] }),
    ).toEqual([
      { ep: "QNNExecutionProvider", nodes: 40, active: true },
      { ep: "Other providers", nodes: 2, active: false },
    ]);
  });
});
