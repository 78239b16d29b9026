import type { IpcError } from "./types";

/**
 * The error every wrapper in src/ipc/ rejects with: an `Error` (so stack traces and
 * `instanceof` work) that carries the shell's stable `code`.
 */
export class CommandError extends Error implements IpcError {
  readonly code: string;

  constructor({ code, message }: IpcError) {
    super(message);
    this.name = "CommandError";
    this.code = code;
  }
}

/**
 * Turns whatever a rejected `invoke` produced into a {@link CommandError}.
 *
 * The shell always rejects with `{code, message}`, but the IPC layer itself can fail before the
 * command runs (no Tauri host when the page is opened in a plain browser, a permission missing
 * from the capability): those arrive as strings or `Error`s, and the UI should still show them
 * the same way, under the code `ipc`.
 */
export function toCommandError(raw: unknown): CommandError {
  if (raw instanceof CommandError) {
    return raw;
  }
  if (isIpcError(raw)) {
    return new CommandError({ code: raw.code, message: raw.message });
  }
  if (raw instanceof Error) {
    return new CommandError({ code: "ipc", message: raw.message });
  }
  if (typeof raw === "string") {
    return new CommandError({ code: "ipc", message: raw });
  }
  return new CommandError({
    code: "ipc",
    message: "The desktop shell returned an unexpected error.",
  });
}

function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const candidate = value as Record<string, unknown>;
  return typeof candidate.code === "string" && typeof candidate.message === "string";
}

/** `cancelled` means the user stopped it: not an error to show (src-tauri/IPC.md). */
export function isCancelled(error: { code: string } | null | undefined): boolean {
  return error?.code === "cancelled";
}
