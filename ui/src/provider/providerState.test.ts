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
      event: { model: "chat", name: "qwen2.5-0.5b", revision: 5 },
    });
    expect(state.chat).toMatchObject({
      state: "loading",
      model: "qwen2.5-0.5b",
      provider: npuProvider,
    });
    state = providerReducer(state, {
      type: "changed",
      event: { model: "chat", name: "qwen2.5-0.5b", provider: cpuFallbackProvider, reason: null, revision: 6 },
    });
    expect(state.chat).toMatchObject({ state: "ready", provider: cpuFallbackProvider, revision: 6 });
    expect(state.embedding).toBe(ready.embedding);
  });

  it("keeps the message of a failed load", () => {
    const state = providerReducer(ready, {
      type: "failed",
      event: {
        model: "chat",
        code: "model_load_failed",
        message: "/m/qwen: no model.onnx",
        stillLoaded: null,
        revision: 5,
      },
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
      event: {
        model: "chat",
        name: "smollm2-135m-instruct",
        provider: cpuFallbackProvider,
        reason: "NPU device lost",
        revision: 7,
      },
    });
    expect(state.chat.switched).toBeNull();
    expect(state.chat.reason).toBe("NPU device lost");
  });

  it("keeps a newer event when an older app_status answer arrives after it", () => {
    // The window asked for the status while the model was loading (revision 3), and the load
    // finished (revision 4) before the answer arrived.
    const loading = {
      ...readyStatus,
      chat: { ...readyStatus.chat, state: "loading" as const, provider: null, revision: 3 },
    };
    let state = providerReducer(initialProviderState, {
      type: "changed",
      event: { model: "chat", name: "smollm2-135m-instruct", provider: npuProvider, reason: null, revision: 4 },
    });
    state = providerReducer(state, { type: "status", status: loading });
    expect(state.known).toBe(true);
    // The event alone names the model: the window subscribed after `loading` went out.
    expect(state.chat).toMatchObject({
      state: "ready",
      model: "smollm2-135m-instruct",
      provider: npuProvider,
      revision: 4,
    });
    // The embedding slot had no event, so the answer fills it in.
    expect(state.embedding.state).toBe("ready");
  });

  it("ignores an event older than the status shown", () => {
    const state = providerReducer(ready, {
      type: "loading",
      event: { model: "chat", name: "stale", revision: 1 },
    });
    expect(state).toBe(ready);
  });

  it("reads the kind and EP out of the engine's summary", () => {
    expect(kindInSummary("CPUExecutionProvider on Xeon [CPU]: 3/3 nodes (100%)")).toBe("cpu");
    expect(kindInSummary("something else")).toBeNull();
    expect(epInSummary("QNNExecutionProvider on Hexagon [NPU]: 1/1 nodes")).toBe(
      "QNNExecutionProvider",
    );
  });
});
