import { useId, useState } from "react";

import { BrowseButton } from "../common/BrowseButton";

/** A folder (or file) path to index: typed, or chosen with the system picker. */
export function AddSource({
  busy,
  onAdd,
}: {
  busy: boolean;
  onAdd: (path: string) => Promise<boolean>;
}) {
  const [path, setPath] = useState("");
  const id = useId();
  const trimmed = path.trim();
  return (
    <form
      className="add-source"
      aria-label="Add a folder"
      onSubmit={(event) => {
        event.preventDefault();
        if (trimmed !== "") {
          void onAdd(trimmed).then((started) => {
            if (started) {
              setPath("");
            }
          });
        }
      }}
    >
      <label htmlFor={id}>Folder to index</label>
      <div className="input-with-buttons">
        <input
          id={id}
          className="mono"
          data-testid="documents-path"
          spellCheck={false}
          placeholder="/home/you/Documents"
          value={path}
          onChange={(event) => {
            setPath(event.target.value);
          }}
        />
        <BrowseButton
          kind="folder"
          title="Choose a folder to index"
          label="Browse…"
          onPick={setPath}
        />
        <button
          type="submit"
          className="button"
          data-testid="documents-add"
          disabled={trimmed === "" || busy}
        >
          Add
        </button>
      </div>
      {busy && (
        <p className="muted small">
          One folder is indexed at a time; add this one when the current run ends.
        </p>
      )}
    </form>
  );
}
