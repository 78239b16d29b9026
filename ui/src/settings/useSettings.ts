import { useCallback, useEffect, useState } from "react";

import {
  getSettings,
  saveSettings,
  toCommandError,
  type CommandError,
  type Settings,
} from "../ipc";

export interface SettingsStore {
  /** What the shell has saved; null until it answered. */
  saved: Settings | null;
  loadError: CommandError | null;
  /**
   * Saves and applies settings. Resolves with null when saved, or the error (an
   * `invalid_settings` one lists every `field: problem`); the form shows it.
   */
  save: (settings: Settings) => Promise<CommandError | null>;
  reload: () => void;
}

/** The saved settings, read once and replaced by whatever each save returns. */
export function useSettings(): SettingsStore {
  const [saved, setSaved] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<CommandError | null>(null);

  const reload = useCallback(() => {
    getSettings().then(
      (settings) => {
        setSaved(settings);
        setLoadError(null);
      },
      (raw: unknown) => {
        setLoadError(toCommandError(raw));
      },
    );
  }, []);

  useEffect(() => {
    reload();
  }, [reload]);

  const save = useCallback(async (settings: Settings) => {
    try {
      setSaved(await saveSettings(settings));
      return null;
    } catch (raw) {
      return toCommandError(raw);
    }
  }, []);

  return { saved, loadError, save, reload };
}
