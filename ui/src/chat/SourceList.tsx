import { fileName } from "../common/format";
import type { CitedSource } from "../ipc";

/** The passages a reply drew on, numbered as the reply cites them ([1], [2], ...). */
export function SourceList({
  sources,
  onOpen,
}: {
  sources: CitedSource[];
  onOpen: (source: CitedSource) => void;
}) {
  if (sources.length === 0) {
    return null;
  }
  return (
    <div className="sources" data-testid="reply-sources">
      <h3 className="subheading">Sources</h3>
      <ol className="source-list" aria-label="Sources">
        {[...sources]
          .sort((a, b) => a.number - b.number)
          .map((source) => (
            <li key={`${String(source.number)}-${String(source.chunkId)}`}>
              <button
                type="button"
                className="source-button"
                title={source.path}
                aria-label={`Source ${String(source.number)}: ${fileName(source.path)}${
                  source.heading === "" ? "" : `, ${source.heading}`
                }, lines ${String(source.lines[0])} to ${String(source.lines[1])}. Show the passage`}
                onClick={() => {
                  onOpen(source);
                }}
              >
                <span className="source-number">[{source.number}]</span>
                <span className="strong">{fileName(source.path)}</span>
                {source.heading !== "" && <span className="muted"> · {source.heading}</span>}
                <span className="muted small">
                  {" "}
                  · lines {source.lines[0]}–{source.lines[1]}
                </span>
              </button>
            </li>
          ))}
      </ol>
    </div>
  );
}
