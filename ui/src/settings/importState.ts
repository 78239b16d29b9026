// A model import as a pure reducer over the `model_import` channel and its promise, so the
// progress rules are tested without the shell.
import type { ImportEvent, IpcError, ModelEntry } from "../ipc";

export type ImportState =
  | { phase: "idle" }
  | {
      phase: "running";
      source: string;
      name: string | null;
      stage: string;
      /** Share of the whole import done, `0..=1`; never goes back while the import runs. */
      fraction: number;
      cancelling: boolean;
    }
  | { phase: "done"; model: ModelEntry }
  | { phase: "failed"; error: IpcError }
  | { phase: "cancelled" };

export type ImportAction =
  | { type: "start"; source: string; name: string | null }
  | { type: "event"; event: ImportEvent }
  | { type: "resolved"; model: ModelEntry }
  | { type: "rejected"; error: IpcError }
  | { type: "cancelling" }
  | { type: "reset" };

/**
 * A fraction as the whole percent shown beside the bar; rounded as the bar's `aria-valuenow` is
 * (common/ProgressBar), so what is seen and what is heard agree.
 */
export function importPercent(fraction: number): number {
  return Math.round(clampFraction(fraction) * 100);
}

/** Within `0..=1`; anything that is not a finite number counts as nothing done. */
function clampFraction(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}

export function importReducer(state: ImportState, action: ImportAction): ImportState {
  switch (action.type) {
    case "start":
      return {
        phase: "running",
        source: action.source,
        name: action.name,
        stage: "Starting",
        fraction: 0,
        cancelling: false,
      };
    case "cancelling":
      return state.phase === "running" ? { ...state, cancelling: true } : state;
    case "reset":
      return { phase: "idle" };
    case "resolved":
      return state.phase === "running" ? { phase: "done", model: action.model } : state;
    case "rejected":
      if (state.phase !== "running") {
        return state;
      }
      return action.error.code === "cancelled"
        ? { phase: "cancelled" }
        : { phase: "failed", error: action.error };
    case "event":
      return onEvent(state, action.event);
  }
}

function onEvent(state: ImportState, event: ImportEvent): ImportState {
  if (state.phase !== "running") {
    return state;
  }
  switch (event.event) {
    case "started":
      return { ...state, name: event.data.name, stage: "Starting" };
    case "progress":
      return {
        ...state,
        stage: event.data.stage,
        // The shell never sends a smaller fraction; keeping the larger one anyway means a bar
        // that only moves forward, whatever arrives.
        fraction: Math.max(state.fraction, clampFraction(event.data.fraction)),
      };
    case "done":
      return { phase: "done", model: event.data.model };
    case "error":
      return event.data.code === "cancelled"
        ? { phase: "cancelled" }
        : { phase: "failed", error: event.data };
  }
}
