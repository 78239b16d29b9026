import { call } from "./call";
import type { Settings } from "./types";

/** The saved settings (`settings_get`). */
export function getSettings(): Promise<Settings> {
  return call<Settings>("settings_get");
}

/**
 * Validates, saves and applies settings (`settings_set`); resolves with what was stored. Rejects
 * with code `invalid_settings` and a message listing every `field: problem` when they do not
 * validate.
 */
export function saveSettings(settings: Settings): Promise<Settings> {
  return call<Settings>("settings_set", { settings });
}
