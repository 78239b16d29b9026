import { cpuFallbackProvider, npuProvider, readyStatus } from "../test/fixtures";
import { epInSummary, initialProviderState, kindInSummary, providerReducer } from "./providerState";

describe("providerReducer", () => {
  const ready = providerReducer(initialProviderState, { type: "status", status: readyStatus });

  it("takes both models and the devices from app_status", () => {
    expect(ready.known).toBe(true);
    expect(ready.chat.provider).toEqual(npuProvider);
    expect(ready.devices).toHaveLength(2);
  });

  it("goes loading, then ready on provider-changed, with the reason", () => {
    let state = providerReducer(ready, {
      type: "loading",
      event: { model: "chat", name: "qwen2.5-0.5b" },
    });
    expect(state.chat).toMatchObject({
      state: "loading",
      model: "qwen2.5-0.5b",
      provider: npuProvider,
    });
    state = providerReducer(state, {
      type: "changed",
      event: { model: "chat", provider: cpuFallbackProvider, reason: null },
    });
    expect(state.chat).toMatchObject({ state: "ready", provider: cpuFallbackProvider });
    expect(state.embedding).toBe(ready.embedding);
  });

  it("keeps the message of a failed load", () => {
    const state = providerReducer(ready, {
      type: "failed",
      event: { model: "chat", code: "model_load_failed", message: "/m/qwen: no model.onnx" },
    });
    expect(state.chat.state).toBe("failed");
    expect(state.chat.error).toEqual({
      code: "model_load_failed",
      message: "/m/qwen: no model.onnx",
    });
  });

  it("marks a fallback inside a reply until provider-changed brings the full provider", () => {
    const change = {
      from: "OpenVINOExecutionProvider on Intel(R) AI Boost [NPU]: 97/100 nodes (97%)",
      to: "CPUExecutionProvider on Intel Xeon [CPU]: 120/120 nodes (100%)",
      reason: "NPU device lost",
    };
    let state = providerReducer(ready, { type: "switchedMidReply", change });
    expect(state.chat.switched).toEqual(change);
    state = providerReducer(state, {
      type: "changed",
      event: { model: "chat", provider: cpuFallbackProvider, reason: "NPU device lost" },
    });
    expect(state.chat.switched).toBeNull();
    expect(state.chat.reason).toBe("NPU device lost");
  });

  it("reads the kind and EP out of the engine's summary", () => {
    expect(kindInSummary("CPUExecutionProvider on Xeon [CPU]: 3/3 nodes (100%)")).toBe("cpu");
    expect(kindInSummary("something else")).toBeNull();
    expect(epInSummary("QNNExecutionProvider on Hexagon [NPU]: 1/1 nodes")).toBe(
      "QNNExecutionProvider",
    );
  });
});
