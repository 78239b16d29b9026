import { useCallback, useEffect, useState } from "react";

import { listModels, toCommandError, type CommandError, type ModelEntry } from "../ipc";

export interface Models {
  list: ModelEntry[];
  error: CommandError | null;
  refresh: () => void;
}

/** The models the app can load; refreshed after an import. */
export function useModels(): Models {
  const [list, setList] = useState<ModelEntry[]>([]);
  const [error, setError] = useState<CommandError | null>(null);
  const refresh = useCallback(() => {
    listModels().then(
      (models) => {
        setList(models);
        setError(null);
      },
      (raw: unknown) => {
        setError(toCommandError(raw));
      },
    );
  }, []);
  useEffect(() => {
    refresh();
  }, [refresh]);
  return { list, error, refresh };
}
