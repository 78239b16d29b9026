import { useCallback, useEffect, useReducer, useRef } from "react";

import { cancelModelImport, importModel, toCommandError, type ModelEntry } from "../ipc";
import { importReducer, type ImportState } from "./importState";

export interface ModelImport {
  state: ImportState;
  start: (source: string, name: string | null) => void;
  cancel: () => void;
  reset: () => void;
}

/** One import at a time (the shell answers `busy` to a second); `onImported` refreshes the list. */
export function useModelImport(onImported: (model: ModelEntry) => void): ModelImport {
  const [state, dispatch] = useReducer(importReducer, { phase: "idle" });
  const imported = useRef(onImported);
  useEffect(() => {
    imported.current = onImported;
  }, [onImported]);

  const start = useCallback((source: string, name: string | null) => {
    dispatch({ type: "start", source, name });
    importModel(source, name, (event) => {
      dispatch({ type: "event", event });
    }).then(
      (model) => {
        dispatch({ type: "resolved", model });
        imported.current(model);
      },
      (raw: unknown) => {
        dispatch({ type: "rejected", error: toCommandError(raw) });
      },
    );
  }, []);

  const cancel = useCallback(() => {
    dispatch({ type: "cancelling" });
    void cancelModelImport().catch(() => undefined);
  }, []);

  const reset = useCallback(() => {
    dispatch({ type: "reset" });
  }, []);

  return { state, start, cancel, reset };
}
