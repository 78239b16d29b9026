// What the header badge knows about the two models, as a pure reducer so the live updates
// (app status, shell events, switches reported mid-reply) can be tested without the shell.
import type {
  ActiveProvider,
  AppStatus,
  DeviceInfo,
  IpcError,
  ModelErrorEvent,
  ModelLoadingEvent,
  ModelRole,
  ModelStatus,
  ProviderChangedEvent,
  ProviderSwitch,
} from "../ipc";

/** One model as the badge shows it. */
export interface ModelSlot extends ModelStatus {
  /** Why the provider last changed, when the shell said. */
  reason: string | null;
  /**
   * A fallback reported inside a reply (`providerChanged` on the chat stream). It carries only
   * the engine's summaries, not an `ActiveProvider`, so it is shown on top of the last known
   * provider until a `provider-changed` event brings the full picture.
   */
  switched: ProviderSwitch | null;
}

export interface ProviderState {
  /** False until the first `app_status` answer. */
  known: boolean;
  chat: ModelSlot;
  embedding: ModelSlot;
  devices: DeviceInfo[];
  /** Why `app_status` itself could not be read. */
  error: IpcError | null;
}

export type ProviderAction =
  | { type: "status"; status: AppStatus }
  | { type: "statusFailed"; error: IpcError }
  | { type: "loading"; event: ModelLoadingEvent }
  | { type: "changed"; event: ProviderChangedEvent }
  | { type: "failed"; event: ModelErrorEvent }
  | { type: "switchedMidReply"; change: ProviderSwitch };

function slot(status: ModelStatus): ModelSlot {
  return { ...status, reason: null, switched: null };
}

const EMPTY_SLOT: ModelSlot = slot({
  state: "none",
  model: "",
  provider: null,
  error: null,
  revision: 0,
});

export const initialProviderState: ProviderState = {
  known: false,
  chat: EMPTY_SLOT,
  embedding: EMPTY_SLOT,
  devices: [],
  error: null,
};

function update(
  state: ProviderState,
  model: ModelRole,
  change: (previous: ModelSlot) => ModelSlot,
): ProviderState {
  return { ...state, [model]: change(state[model]) };
}

/**
 * An event about `model`, applied only when it is not older than what the slot shows: events and
 * `app_status` answers can arrive in either order, and the shell numbers every change (IPC.md).
 */
function updateFromEvent(
  state: ProviderState,
  model: ModelRole,
  revision: number,
  change: (previous: ModelSlot) => ModelSlot,
): ProviderState {
  if (revision < state[model].revision) {
    return state;
  }
  return update(state, model, (previous) => ({ ...change(previous), revision }));
}

/** The newer of the slot shown and the one an `app_status` answer brings. */
function newer(shown: ModelSlot, answer: ModelStatus): ModelSlot {
  return answer.revision < shown.revision ? shown : slot(answer);
}

export function providerReducer(state: ProviderState, action: ProviderAction): ProviderState {
  switch (action.type) {
    case "status":
      return {
        known: true,
        chat: newer(state.chat, action.status.chat),
        embedding: newer(state.embedding, action.status.embedding),
        devices: action.status.devices,
        error: null,
      };
    case "statusFailed":
      return { ...state, known: true, error: action.error };
    case "loading":
      // The provider stays known while loading: the old model keeps serving until the new one
      // is ready, and a failed load leaves it in place (model_load_failed).
      return updateFromEvent(state, action.event.model, action.event.revision, (previous) => ({
        ...previous,
        state: "loading",
        model: action.event.name,
        error: null,
      }));
    case "changed":
      return updateFromEvent(state, action.event.model, action.event.revision, (previous) => ({
        ...previous,
        state: "ready",
        // Named here too: at start-up the window can subscribe after `loading` went out.
        model: action.event.name,
        provider: action.event.provider,
        reason: action.event.reason,
        error: null,
        switched: null,
      }));
    case "failed":
      // As in the shell: a failed load leaves the model loaded before in place, still answering.
      return updateFromEvent(state, action.event.model, action.event.revision, (previous) => {
        const error = { code: action.event.code, message: action.event.message };
        return action.event.stillLoaded === null
          ? { ...previous, state: "failed", provider: null, error }
          : { ...previous, state: "ready", model: action.event.stillLoaded, error };
      });
    case "switchedMidReply":
      return update(state, "chat", (previous) => ({
        ...previous,
        switched: action.change,
        reason: action.change.reason,
      }));
  }
}

/** The device kind an engine summary names, e.g. `... on Intel CPU [CPU]: 3/3 nodes (100%)`. */
export function kindInSummary(summary: string): ActiveProvider["deviceKind"] | null {
  const match = /\[(NPU|GPU|CPU)\]/i.exec(summary);
  return match?.[1] === undefined ? null : (match[1].toLowerCase() as ActiveProvider["deviceKind"]);
}

/** The EP a summary starts with (`CPUExecutionProvider on ...`). */
export function epInSummary(summary: string): string {
  const [ep] = summary.split(" on ", 1);
  return ep?.trim() ?? summary;
}
