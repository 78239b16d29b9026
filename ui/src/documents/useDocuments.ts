import { useCallback, useEffect, useRef, useState } from "react";

import {
  addDocuments,
  cancelIndexing,
  documentsStatus,
  onIndexError,
  onIndexProgress,
  removeDocuments,
  toCommandError,
  type CommandError,
  type DocumentsStatus,
  type Progress,
} from "../ipc";

export interface Documents {
  status: DocumentsStatus | null;
  /** The running (or last finished) index run, live from `index-progress`. */
  progress: Progress | null;
  /** Why reading the status, adding, removing or cancelling failed. */
  error: CommandError | null;
  /** Resolves true when indexing started (the path field can then be cleared). */
  add: (path: string) => Promise<boolean>;
  remove: (path: string) => Promise<void>;
  cancel: () => void;
  dismissError: () => void;
}

/** A run that ended; after it the counts, sources and skipped files are read again. */
function finished(progress: Progress): boolean {
  return progress.phase === "done" || progress.phase === "cancelled";
}

/**
 * The index: sources, counts, skipped files, and the run in progress. Kept by the app rather than
 * the panel, so progress keeps arriving while the user chats.
 */
export function useDocuments(): Documents {
  const [status, setStatus] = useState<DocumentsStatus | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  // The status repeats the last run's failure until the next run; show each one once.
  const reportedRunError = useRef<string | null>(null);
  // The newest `index-progress` seen. A status answer read before it (a lower `progressSeq`)
  // would put an older picture of the run back, e.g. "scanning" after "done".
  const lastSeq = useRef(0);

  const refresh = useCallback(() => {
    documentsStatus().then(
      (next) => {
        setStatus(next);
        // A run already going when the app (re)opened shows at once, before its next event.
        if (next.indexing !== null && next.progressSeq >= lastSeq.current) {
          lastSeq.current = next.progressSeq;
          setProgress(next.indexing);
        }
        const runError = next.error;
        if (runError !== null && runError.message !== reportedRunError.current) {
          reportedRunError.current = runError.message;
          setError(toCommandError(runError));
        }
      },
      (raw: unknown) => {
        setError(toCommandError(raw));
      },
    );
  }, []);

  useEffect(() => {
    const stops = [
      onIndexProgress(({ seq, ...next }) => {
        if (seq < lastSeq.current) {
          return;
        }
        lastSeq.current = seq;
        setProgress(next);
        if (finished(next)) {
          refresh();
        }
      }),
      onIndexError((event) => {
        setError(toCommandError(event));
        setProgress(null);
        refresh();
      }),
    ];
    refresh();
    return () => {
      stops.forEach((stop) => {
        stop();
      });
    };
  }, [refresh]);

  const add = useCallback(
    async (path: string) => {
      setError(null);
      try {
        await addDocuments(path);
        refresh();
        return true;
      } catch (raw) {
        setError(toCommandError(raw));
        return false;
      }
    },
    [refresh],
  );

  const remove = useCallback(
    async (path: string) => {
      setError(null);
      try {
        await removeDocuments(path);
      } catch (raw) {
        setError(toCommandError(raw));
      }
      refresh();
    },
    [refresh],
  );

  const cancel = useCallback(() => {
    cancelIndexing().catch((raw: unknown) => {
      setError(toCommandError(raw));
    });
  }, []);

  const dismissError = useCallback(() => {
    setError(null);
  }, []);

  return { status, progress, error, add, remove, cancel, dismissError };
}
