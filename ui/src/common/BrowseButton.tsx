import { useState } from "react";

import { pickFile, pickFolder } from "../ipc";

/**
 * Opens the system's picker and fills a path field with the choice. The field can always be
 * typed in; if the shell has no dialog plugin the button says so once and steps aside.
 */
export function BrowseButton({
  kind,
  title,
  label,
  extensions,
  onPick,
}: {
  kind: "file" | "folder";
  title: string;
  label: string;
  extensions?: { name: string; extensions: string[] };
  onPick: (path: string) => void;
}) {
  const [unavailable, setUnavailable] = useState(false);
  if (unavailable) {
    return <span className="muted small">No file picker here: type the path.</span>;
  }
  return (
    <button
      type="button"
      className="button button-secondary"
      onClick={() => {
        const picking = kind === "folder" ? pickFolder(title) : pickFile(title, extensions);
        picking.then(
          (path) => {
            if (path !== null) {
              onPick(path);
            }
          },
          () => {
            setUnavailable(true);
          },
        );
      }}
    >
      {label}
    </button>
  );
}
