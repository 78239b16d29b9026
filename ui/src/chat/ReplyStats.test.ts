import { cpuFallbackProvider, npuProvider } from "../test/fixtures";
import { describeReplyProvider } from "./ReplyStats";

describe("describeReplyProvider", () => {
  it("names the kind, the EP and the device", () => {
    expect(describeReplyProvider({ kind: "active", provider: npuProvider })).toBe(
      "NPU · OpenVINO (Intel(R) AI Boost)",
    );
  });

  it("does not repeat the kind for ORT's own CPU EP", () => {
    expect(describeReplyProvider({ kind: "active", provider: cpuFallbackProvider })).toBe(
      "CPU (Intel Xeon)",
    );
  });

  it("shows a stored summary as it is", () => {
    expect(describeReplyProvider({ kind: "summary", text: "ggml on AMD CPU [CPU]" })).toBe(
      "ggml on AMD CPU [CPU]",
    );
  });
});
