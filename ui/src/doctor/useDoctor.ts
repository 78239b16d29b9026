import { useCallback, useEffect, useState } from "react";

import { toCommandError, type CommandError, type DoctorReport } from "../ipc";

/** Runs the doctor for a provider choice; `runDoctor` in production, a fake in tests. */
export type DoctorRunner = (provider: string) => Promise<DoctorReport>;

interface Request {
  id: number;
  provider: string;
}

interface Outcome {
  id: number;
  report: DoctorReport | null;
  error: CommandError | null;
}

/** What the doctor screen shows, and the way to ask for a new check. */
export interface DoctorState {
  /** The provider choice of the latest request. */
  provider: string;
  /** The last report that arrived; kept while a new check runs or after one fails. */
  report: DoctorReport | null;
  /** Why the latest check could not run at all, if it could not. */
  error: CommandError | null;
  running: boolean;
  check: (provider: string) => void;
}

/**
 * Runs the doctor on mount and again whenever `check` is called.
 *
 * Only the latest request may update the screen: the user can switch providers faster than ORT
 * builds a session, and a slow early answer must not overwrite a later one.
 */
export function useDoctor(run: DoctorRunner, initialProvider = "auto"): DoctorState {
  const [request, setRequest] = useState<Request>({ id: 0, provider: initialProvider });
  const [outcome, setOutcome] = useState<Outcome>({ id: -1, report: null, error: null });

  useEffect(() => {
    let current = true;
    run(request.provider).then(
      (report) => {
        if (current) {
          setOutcome({ id: request.id, report, error: null });
        }
      },
      (raw: unknown) => {
        if (current) {
          setOutcome((previous) => ({
            id: request.id,
            report: previous.report,
            error: toCommandError(raw),
          }));
        }
      },
    );
    return () => {
      current = false;
    };
  }, [request, run]);

  const check = useCallback((provider: string) => {
    setRequest((previous) => ({ id: previous.id + 1, provider }));
  }, []);

  return {
    provider: request.provider,
    report: outcome.report,
    error: outcome.error,
    running: outcome.id !== request.id,
    check,
  };
}
