import { useEffect, useRef, useState } from "react";

import { ErrorBanner } from "../common/ErrorBanner";
import { fileName } from "../common/format";
import { Modal } from "../common/Modal";
import {
  openDocument,
  previewDocument,
  toCommandError,
  type CommandError,
  type Preview,
} from "../ipc";

/** What to preview: a file and the lines of the chunk (a search result or a cited source). */
export interface PreviewTarget {
  path: string;
  lines: [number, number];
  heading: string;
}

/**
 * A chunk in its file, with a few lines of context and line numbers; the chunk's own lines are
 * marked and scrolled into view. The text comes from the index and is shown as text.
 */
export function PreviewDialog({ target, onClose }: { target: PreviewTarget; onClose: () => void }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [openError, setOpenError] = useState<CommandError | null>(null);
  const firstMarked = useRef<HTMLLIElement>(null);
  const [start, end] = target.lines;

  useEffect(() => {
    let current = true;
    previewDocument(target.path, [start, end]).then(
      (next) => {
        if (current) {
          setPreview(next);
        }
      },
      (raw: unknown) => {
        if (current) {
          setError(toCommandError(raw));
        }
      },
    );
    return () => {
      current = false;
    };
  }, [target.path, start, end]);

  useEffect(() => {
    firstMarked.current?.scrollIntoView({ block: "center" });
  }, [preview]);

  return (
    <Modal title={fileName(target.path)} onClose={onClose} wide>
      <div className="preview-header">
        <p className="mono small muted selectable">
          {target.path} · lines {start}–{end}
          {target.heading !== "" && ` · ${target.heading}`}
        </p>
        <button
          type="button"
          className="button button-secondary"
          data-testid="preview-open-file"
          onClick={() => {
            setOpenError(null);
            openDocument(target.path).catch((raw: unknown) => {
              setOpenError(toCommandError(raw));
            });
          }}
        >
          Open file
        </button>
      </div>
      {openError !== null && (
        <ErrorBanner
          title="The file could not be opened"
          error={openError}
          onDismiss={() => {
            setOpenError(null);
          }}
        />
      )}
      {error !== null && <ErrorBanner title="The passage could not be shown" error={error} />}
      {preview === null && error === null && <p className="muted">Loading…</p>}
      {preview !== null && (
        <ol
          className="preview-lines mono selectable"
          start={preview.firstLine}
          aria-label="Passage"
        >
          {preview.text.split("\n").map((line, index) => {
            const number = preview.firstLine + index;
            const marked = number >= start && number <= end;
            return (
              <li
                key={number}
                ref={
                  marked && number === Math.max(start, preview.firstLine) ? firstMarked : undefined
                }
                className={marked ? "preview-line preview-line-marked" : "preview-line"}
              >
                <span className="preview-number" aria-hidden="true">
                  {number}
                </span>
                <span className="preview-text">{line === "" ? " " : line}</span>
              </li>
            );
          })}
        </ol>
      )}
    </Modal>
  );
}
