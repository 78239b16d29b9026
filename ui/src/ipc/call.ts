import { invoke, type InvokeArgs } from "@tauri-apps/api/core";

import { toCommandError } from "./errors";

/**
 * Invokes one shell command and maps any rejection to a `CommandError`, so every wrapper in this
 * folder fails the same way and components only ever catch one error type.
 */
export async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toCommandError(raw);
  }
}
