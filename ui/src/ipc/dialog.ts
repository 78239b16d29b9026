import { open } from "@tauri-apps/plugin-dialog";

import { toCommandError } from "./errors";

/**
 * The system's file and folder pickers (tauri-plugin-dialog). They only fill a path field: every
 * path can also be typed, so a shell without the plugin (or without its `dialog:allow-open`
 * permission) loses nothing but the Browse button. Resolves with null when the user cancels;
 * rejects with a `CommandError` when the picker is not available.
 */
export async function pickFolder(title: string): Promise<string | null> {
  try {
    return await open({ directory: true, multiple: false, title });
  } catch (raw) {
    throw toCommandError(raw);
  }
}

/** Picks one file, optionally limited to some extensions (without dots). */
export async function pickFile(
  title: string,
  extensions?: { name: string; extensions: string[] },
): Promise<string | null> {
  try {
    return await open({
      directory: false,
      multiple: false,
      title,
      ...(extensions === undefined ? {} : { filters: [extensions] }),
    });
  } catch (raw) {
    throw toCommandError(raw);
  }
}
