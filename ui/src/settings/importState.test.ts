import { models } from "../test/fixtures";
import {
  importPercent,
  importReducer,
  type ImportAction,
  type ImportState,
} from "./importState";

const run = (...actions: ImportAction[]): ImportState =>
  actions.reduce(importReducer, { phase: "idle" });
const start: ImportAction = { type: "start", source: "/dl/qwen.gguf", name: null };

describe("importReducer", () => {
  it("follows the stages with a fraction that starts at 0 and only moves forward", () => {
    let state = run(start, {
      type: "event",
      event: { event: "started", data: { source: "/dl/qwen.gguf", name: "qwen" } },
    });
    expect(state).toMatchObject({ phase: "running", name: "qwen", stage: "Starting", fraction: 0 });
    state = importReducer(state, {
      type: "event",
      event: { event: "progress", data: { stage: "cpu graph", fraction: 0.4 } },
    });
    expect(state).toMatchObject({ stage: "cpu graph", fraction: 0.4 });
    // A new stage starts where the last one left off.
    state = importReducer(state, {
      type: "event",
      event: { event: "progress", data: { stage: "npu graphs", fraction: 0.4 } },
    });
    expect(state).toMatchObject({ stage: "npu graphs", fraction: 0.4 });
    // Whatever arrives, the bar does not go back, nor past the ends.
    state = importReducer(state, {
      type: "event",
      event: { event: "progress", data: { stage: "npu graphs", fraction: 0.25 } },
    });
    expect(state).toMatchObject({ stage: "npu graphs", fraction: 0.4 });
    state = importReducer(state, {
      type: "event",
      event: { event: "progress", data: { stage: "checking", fraction: 1.5 } },
    });
    expect(state).toMatchObject({ stage: "checking", fraction: 1 });
  });

  it("keeps the fraction through a cancel request", () => {
    const state = run(
      start,
      { type: "event", event: { event: "progress", data: { stage: "copying", fraction: 0.3 } } },
      { type: "cancelling" },
    );
    expect(state).toMatchObject({ phase: "running", fraction: 0.3, cancelling: true });
  });

  it("ends with the model on done", () => {
    const model = models[1];
    if (model === undefined) throw new Error("fixture");
    expect(run(start, { type: "event", event: { event: "done", data: { model } } })).toEqual({
      phase: "done",
      model,
    });
    expect(run(start, { type: "resolved", model })).toEqual({ phase: "done", model });
  });

  it("shows errors but not cancellations as failures", () => {
    const error = {
      code: "import_failed",
      message: "/dl/qwen.gguf: unsupported quantization Q2_K",
    };
    expect(run(start, { type: "event", event: { event: "error", data: error } })).toEqual({
      phase: "failed",
      error,
    });
    expect(
      run(
        start,
        { type: "cancelling" },
        { type: "rejected", error: { code: "cancelled", message: "" } },
      ),
    ).toEqual({
      phase: "cancelled",
    });
  });
});

describe("importPercent", () => {
  it("is the whole percent the bar announces, within 0 to 100", () => {
    expect(importPercent(0)).toBe(0);
    expect(importPercent(0.424)).toBe(42);
    expect(importPercent(0.426)).toBe(43);
    expect(importPercent(1)).toBe(100);
    expect(importPercent(-0.2)).toBe(0);
    expect(importPercent(3)).toBe(100);
    expect(importPercent(Number.NaN)).toBe(0);
  });
});
