import { useId, useState } from "react";

import { BrowseButton } from "../common/BrowseButton";
import { ErrorBanner } from "../common/ErrorBanner";
import { ProgressBar } from "../common/ProgressBar";
import type { ModelEntry } from "../ipc";
import { importPercent, type ImportState } from "./importState";
import { useModelImport } from "./useModelImport";

/**
 * Brings a model in: a GGUF file, a safetensors folder (converted to ONNX) or a supported ONNX
 * folder (copied). On success it joins the model lists of the form above.
 */
export function ModelImport({ onImported }: { onImported: (model: ModelEntry) => void }) {
  const [source, setSource] = useState("");
  const [name, setName] = useState("");
  const { state, start, cancel, reset } = useModelImport(onImported);
  const sourceId = useId();
  const nameId = useId();
  const running = state.phase === "running";

  return (
    <form
      className="import-form"
      aria-label="Import a model"
      onSubmit={(event) => {
        event.preventDefault();
        if (!running && source.trim() !== "") {
          start(source.trim(), name.trim() === "" ? null : name.trim());
        }
      }}
    >
      <div className="form-row">
        <label htmlFor={sourceId}>GGUF file, safetensors folder or ONNX folder</label>
        <div className="input-with-buttons">
          <input
            id={sourceId}
            className="mono"
            data-testid="import-path"
            spellCheck={false}
            value={source}
            placeholder="/path/to/model.gguf"
            disabled={running}
            onChange={(event) => {
              setSource(event.target.value);
            }}
          />
          <BrowseButton
            kind="file"
            title="Choose a GGUF file"
            label="File…"
            extensions={{ name: "GGUF model", extensions: ["gguf"] }}
            onPick={setSource}
          />
          <BrowseButton
            kind="folder"
            title="Choose a model folder"
            label="Folder…"
            onPick={setSource}
          />
        </div>
      </div>
      <div className="form-row">
        <label htmlFor={nameId}>Name (optional)</label>
        <input
          id={nameId}
          value={name}
          placeholder="Taken from the file or folder"
          disabled={running}
          onChange={(event) => {
            setName(event.target.value);
          }}
        />
      </div>
      <div className="form-actions">
        <button
          type="submit"
          className="button"
          data-testid="import-start"
          disabled={running || source.trim() === ""}
        >
          Import
        </button>
        {running && (
          <button
            type="button"
            className="button button-secondary"
            onClick={cancel}
            disabled={state.cancelling}
          >
            {state.cancelling ? "Cancelling…" : "Cancel"}
          </button>
        )}
      </div>

      {running && <ImportProgress state={state} />}
      <p className="visually-hidden" role="status">
        {state.phase === "done"
          ? `Imported ${state.model.name}.`
          : state.phase === "cancelled"
            ? "Import cancelled."
            : ""}
      </p>
      {state.phase === "done" && (
        <p className="callout callout-good" data-testid="import-success">
          Imported <span className="strong">{state.model.name}</span> as{" "}
          {state.model.kind === "embedding" ? "an embedding" : "a chat"} model.
          Choose it above and save to use it.
        </p>
      )}
      {state.phase === "cancelled" && (
        <p className="muted" data-testid="import-cancelled">
          The import was cancelled; nothing was added.
        </p>
      )}
      {state.phase === "failed" && (
        // ErrorBanner carries the app-wide `error-banner` id; this one names the import's.
        <div data-testid="import-error">
          <ErrorBanner
            title="The model could not be imported"
            error={state.error}
            onDismiss={reset}
          />
        </div>
      )}
    </form>
  );
}

/**
 * The running import: its stage, the share done as a visible percentage, and a determinate bar
 * whose accessible text says both.
 */
function ImportProgress({ state }: { state: Extract<ImportState, { phase: "running" }> }) {
  const percent = `${String(importPercent(state.fraction))} %`;
  return (
    <div className="import-progress">
      <p className="small">
        <span className="strong">{state.stage}</span>
        <span className="muted">
          {" · "}
          <span data-testid="import-percent">{percent}</span>
        </span>
      </p>
      <ProgressBar
        fraction={state.fraction}
        label={`Importing ${state.name ?? state.source}`}
        valueText={`${state.stage}, ${percent}`}
        testId="import-progress"
      />
    </div>
  );
}
