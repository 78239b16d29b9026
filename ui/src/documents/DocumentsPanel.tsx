import { ErrorBanner } from "../common/ErrorBanner";
import { plural } from "../common/format";
import type { SearchResult } from "../ipc";
import { AddSource } from "./AddSource";
import { IndexProgress } from "./IndexProgress";
import { SearchPanel } from "./SearchPanel";
import { SkippedFiles } from "./SkippedFiles";
import { SourceList } from "./SourceList";
import type { Documents } from "./useDocuments";
import type { DocumentSearch } from "./useDocumentSearch";

/** The documents the chat can answer from: folders, indexing, skipped files and search. */
export function DocumentsPanel({
  documents,
  search,
  onOpenResult,
}: {
  documents: Documents;
  search: DocumentSearch;
  onOpenResult: (result: SearchResult) => void;
}) {
  const { status, progress } = documents;
  const running =
    progress !== null && (progress.phase === "scanning" || progress.phase === "indexing");
  return (
    <div className="panel">
      <header className="panel-header">
        <h2>Documents</h2>
        <p className="muted">
          {status === null
            ? "Reading the index…"
            : `${plural(status.counts.sources, "folder")} · ${plural(status.counts.documents, "file")} · ${plural(status.counts.chunks, "chunk")}`}
        </p>
      </header>
      {documents.error !== null && (
        <ErrorBanner
          title="The documents index reported a problem"
          error={documents.error}
          onDismiss={documents.dismissError}
        />
      )}
      <section className="card" aria-labelledby="sources-heading">
        <header className="card-header">
          <h2 id="sources-heading">Folders</h2>
        </header>
        <AddSource busy={running} onAdd={documents.add} />
        <SourceList sources={status?.sources ?? []} onRemove={documents.remove} />
      </section>
      {progress !== null && <IndexProgress progress={progress} onCancel={documents.cancel} />}
      <SearchPanel search={search} onOpen={onOpenResult} />
      <SkippedFiles skipped={status?.skipped ?? []} total={status?.counts.skipped ?? 0} />
    </div>
  );
}
