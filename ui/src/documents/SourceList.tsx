import { useState } from "react";

import { FolderIcon } from "../common/icons";
import type { DocumentSource } from "../ipc";

/** The folders and files in the index; removing one asks first (its chunks go with it). */
export function SourceList({
  sources,
  onRemove,
}: {
  sources: DocumentSource[];
  onRemove: (path: string) => Promise<void>;
}) {
  const [confirming, setConfirming] = useState<string | null>(null);
  if (sources.length === 0) {
    return (
      <p className="muted">
        No folders yet. Add one above; its text files, PDFs and documents are indexed on this
        computer.
      </p>
    );
  }
  return (
    <ul className="rows" aria-label="Indexed folders">
      {sources.map((source) => (
        <li key={source.id} className="row source-row" data-testid="source-row">
          <span className="row-main">
            <span className="source-path">
              <FolderIcon />
              <span className="mono selectable">{source.path}</span>
            </span>
          </span>
          {confirming === source.path ? (
            <span className="row-actions" role="group" aria-label={`Remove ${source.path}?`}>
              <span className="small">Remove from the index?</span>
              <button
                type="button"
                className="danger-button small-button"
                onClick={() => {
                  setConfirming(null);
                  void onRemove(source.path);
                }}
              >
                Remove
              </button>
              <button
                type="button"
                className="ghost-button small-button"
                autoFocus
                onClick={() => {
                  setConfirming(null);
                }}
              >
                Keep
              </button>
            </span>
          ) : (
            <button
              type="button"
              className="ghost-button small-button"
              aria-label={`Remove ${source.path}`}
              onClick={() => {
                setConfirming(source.path);
              }}
            >
              Remove
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
