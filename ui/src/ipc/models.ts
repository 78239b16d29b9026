import { Channel } from "@tauri-apps/api/core";

import { call } from "./call";
import type { ImportEvent, ModelEntry } from "./types";

/** The chat and embedding models the app can load (`models_list`). */
export function listModels(): Promise<ModelEntry[]> {
  return call<ModelEntry[]>("models_list");
}

/**
 * Imports a GGUF file, a safetensors folder or an ONNX folder (`model_import`), reporting each
 * step to `onEvent`. Resolves with the new entry; rejects with `cancelled` when
 * {@link cancelModelImport} stopped it, `busy` when another import runs, `import_failed` else.
 */
export function importModel(
  source: string,
  name: string | null,
  onEvent: (event: ImportEvent) => void,
): Promise<ModelEntry> {
  const channel = new Channel<ImportEvent>();
  channel.onmessage = onEvent;
  return call<ModelEntry>("model_import", { source, name, onEvent: channel });
}

/** Stops the running import (`model_import_cancel`). */
export function cancelModelImport(): Promise<void> {
  return call<undefined>("model_import_cancel");
}
