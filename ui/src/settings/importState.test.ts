import { models } from "../test/fixtures";
import { importReducer, type ImportAction, type ImportState } from "./importState";

const run = (...actions: ImportAction[]): ImportState =>
  actions.reduce(importReducer, { phase: "idle" });
const start: ImportAction = { type: "start", source: "/dl/qwen.gguf", name: null };

describe("importReducer", () => {
  it("follows the stages, with and without a known fraction", () => {
    let state = run(start, {
      type: "event",
      event: { event: "started", data: { source: "/dl/qwen.gguf", name: "qwen" } },
    });
    expect(state).toMatchObject({ phase: "running", name: "qwen", fraction: null });
    state = importReducer(state, {
      type: "event",
      event: { event: "progress", data: { stage: "cpu graph", fraction: 0.4 } },
    });
    expect(state).toMatchObject({ stage: "cpu graph", fraction: 0.4 });
    state = importReducer(state, {
      type: "event",
      event: { event: "progress", data: { stage: "checking", fraction: null } },
    });
    expect(state).toMatchObject({ stage: "checking", fraction: null });
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
