import { useId, useState } from "react";

import { BrowseButton } from "../common/BrowseButton";
import { ErrorBanner } from "../common/ErrorBanner";
import { ProgressBar } from "../common/ProgressBar";
import type { ModelEntry } from "../ipc";
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

      {running && (
        <div className="import-progress">
          <p className="small">
            <span className="strong">{state.stage}</span>
            {state.fraction !== null && (
              <span className="muted"> · {Math.round(state.fraction * 100)}%</span>
            )}
          </p>
          <ProgressBar
            fraction={state.fraction}
            label={`Importing ${state.name ?? state.source}`}
            valueText={
              state.fraction === null
                ? state.stage
                : `${state.stage}, ${String(Math.round(state.fraction * 100))}%`
            }
            testId="import-progress"
          />
        </div>
      )}
      <p className="visually-hidden" role="status">
        {state.phase === "done"
          ? `Imported ${state.model.name}.`
          : state.phase === "cancelled"
            ? "Import cancelled."
            : ""}
      </p>
      {state.phase === "done" && (
        <p className="callout callout-good">
          Imported <span className="strong">{state.model.name}</span> as a {state.model.kind} model.
          Choose it above and save to use it.
        </p>
      )}
      {state.phase === "cancelled" && (
        <p className="muted">The import was cancelled; nothing was added.</p>
      )}
      {state.phase === "failed" && (
        <ErrorBanner
          title="The model could not be imported"
          error={state.error}
          onDismiss={reset}
        />
      )}
    </form>
  );
}
