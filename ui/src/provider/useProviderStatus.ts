import { useCallback, useEffect, useReducer, useRef } from "react";

import {
  appStatus,
  onModelError,
  onModelLoading,
  onProviderChanged,
  toCommandError,
  type ProviderSwitch,
} from "../ipc";
import { initialProviderState, providerReducer, type ProviderState } from "./providerState";

export interface ProviderStatus extends ProviderState {
  /** Reports a fallback that happened inside a reply (from the chat stream). */
  reportSwitch: (change: ProviderSwitch) => void;
  /** Reads `app_status` again (after settings were saved, say). */
  refresh: () => void;
}

/**
 * The models' providers, kept live: `app_status` once, then the shell's `model-loading`,
 * `provider-changed` and `model-error` events. The status also carries one-time notices, which
 * go to `onNotices` (see app/useNotices.ts).
 */
export function useProviderStatus(onNotices?: (notices: string[]) => void): ProviderStatus {
  const [state, dispatch] = useReducer(providerReducer, initialProviderState);
  // A ref, so a new callback identity does not re-subscribe and re-ask the shell.
  const noticesRef = useRef(onNotices);
  useEffect(() => {
    noticesRef.current = onNotices;
  }, [onNotices]);

  const refresh = useCallback(() => {
    appStatus().then(
      (status) => {
        dispatch({ type: "status", status });
        noticesRef.current?.(status.notices);
      },
      (raw: unknown) => {
        dispatch({ type: "statusFailed", error: toCommandError(raw) });
      },
    );
  }, []);

  useEffect(() => {
    // Subscribe before asking, so a load that finishes in between is not missed.
    const stops = [
      onModelLoading((event) => {
        dispatch({ type: "loading", event });
      }),
      onProviderChanged((event) => {
        dispatch({ type: "changed", event });
      }),
      onModelError((event) => {
        dispatch({ type: "failed", event });
      }),
    ];
    refresh();
    return () => {
      stops.forEach((stop) => {
        stop();
      });
    };
  }, [refresh]);

  const reportSwitch = useCallback((change: ProviderSwitch) => {
    dispatch({ type: "switchedMidReply", change });
  }, []);

  return { ...state, reportSwitch, refresh };
}
