import { listen } from "@tauri-apps/api/event";

import type {
  IndexErrorEvent,
  IndexProgressEvent,
  ModelErrorEvent,
  ModelLoadingEvent,
  ProviderChangedEvent,
} from "./types";

/** The shell's app-wide event names (src-tauri/IPC.md, "Events"). */
export const EVENTS = {
  providerChanged: "provider-changed",
  modelLoading: "model-loading",
  modelError: "model-error",
  indexProgress: "index-progress",
  indexError: "index-error",
} as const;

/** Each event's payload, by name: `subscribe` cannot pair a name with the wrong type. */
interface Payloads {
  "provider-changed": ProviderChangedEvent;
  "model-loading": ModelLoadingEvent;
  "model-error": ModelErrorEvent;
  "index-progress": IndexProgressEvent;
  "index-error": IndexErrorEvent;
}

/** Stops a subscription. Safe to call more than once, and before the listener is registered. */
export type Unsubscribe = () => void;

/**
 * Listens to one event and returns a synchronous unsubscribe, which is what React effects need.
 *
 * `listen` registers asynchronously: an effect can be cleaned up (StrictMode does it at once)
 * before the registration resolves, so the unsubscribe is remembered and applied when it does.
 * Outside the shell (a plain browser, tests) registration fails; the app then simply gets no
 * live updates, which `onError` may report.
 */
function subscribe<Name extends keyof Payloads>(
  name: Name,
  handler: (payload: Payloads[Name]) => void,
  onError?: (error: unknown) => void,
): Unsubscribe {
  let stopped = false;
  let unlisten: (() => void) | null = null;
  listen<Payloads[Name]>(name, (event) => {
    if (!stopped) {
      handler(event.payload);
    }
  }).then(
    (stop) => {
      if (stopped) {
        stop();
      } else {
        unlisten = stop;
      }
    },
    (error: unknown) => {
      onError?.(error);
    },
  );
  return () => {
    stopped = true;
    unlisten?.();
    unlisten = null;
  };
}

/** A model now runs on another provider (after a load, or a fallback). */
export function onProviderChanged(
  handler: (event: ProviderChangedEvent) => void,
  onError?: (error: unknown) => void,
): Unsubscribe {
  return subscribe(EVENTS.providerChanged, handler, onError);
}

/** A model started loading on a worker. */
export function onModelLoading(
  handler: (event: ModelLoadingEvent) => void,
  onError?: (error: unknown) => void,
): Unsubscribe {
  return subscribe(EVENTS.modelLoading, handler, onError);
}

/** A model failed to load; the previous one stays. */
export function onModelError(
  handler: (event: ModelErrorEvent) => void,
  onError?: (error: unknown) => void,
): Unsubscribe {
  return subscribe(EVENTS.modelError, handler, onError);
}

/** An index run reports its progress. */
export function onIndexProgress(
  handler: (progress: IndexProgressEvent) => void,
  onError?: (error: unknown) => void,
): Unsubscribe {
  return subscribe(EVENTS.indexProgress, handler, onError);
}

/** An index run stopped on an error (unreadable folder, damaged database). */
export function onIndexError(
  handler: (event: IndexErrorEvent) => void,
  onError?: (error: unknown) => void,
): Unsubscribe {
  return subscribe(EVENTS.indexError, handler, onError);
}
