import { useId } from "react";

import { ErrorBanner } from "../common/ErrorBanner";
import { fileName } from "../common/format";
import { SearchIcon } from "../common/icons";
import type { SearchResult } from "../ipc";
import { Snippet } from "./Snippet";
import type { DocumentSearch } from "./useDocumentSearch";

/** Search the index as the chat would; click a result to read it in context. */
export function SearchPanel({
  search,
  onOpen,
}: {
  search: DocumentSearch;
  onOpen: (result: SearchResult) => void;
}) {
  const id = useId();
  const { response } = search;
  return (
    <section className="card" aria-labelledby={`${id}-heading`}>
      <header className="card-header">
        <h2 id={`${id}-heading`}>Search your documents</h2>
        {search.searching && <span className="spinner" aria-label="Searching" />}
      </header>
      <form
        role="search"
        className="search-box"
        onSubmit={(event) => {
          event.preventDefault();
          search.submit();
        }}
      >
        <SearchIcon />
        <input
          type="search"
          aria-label="Search your documents"
          data-testid="documents-search"
          placeholder="What are you looking for?"
          value={search.query}
          onChange={(event) => {
            search.setQuery(event.target.value);
          }}
        />
      </form>
      {search.error !== null && <ErrorBanner title="The search failed" error={search.error} />}
      {response !== null && response.queryTruncated && (
        <p className="muted small">The question was long; only its beginning was searched.</p>
      )}
      {response !== null && response.results.length === 0 && (
        <p className="muted">Nothing relevant found for “{search.answered}”.</p>
      )}
      {response !== null && response.results.length > 0 && (
        <ol className="search-results" aria-label={`Results for ${search.answered}`}>
          {response.results.map((result) => (
            <li key={result.chunkId}>
              <SearchResultItem result={result} onOpen={onOpen} />
            </li>
          ))}
        </ol>
      )}
      <p className="visually-hidden" role="status">
        {response === null
          ? ""
          : `${String(response.results.length)} results for ${search.answered}`}
      </p>
    </section>
  );
}

function SearchResultItem({
  result,
  onOpen,
}: {
  result: SearchResult;
  onOpen: (result: SearchResult) => void;
}) {
  return (
    <button
      type="button"
      className="search-result"
      data-testid="search-result"
      onClick={() => {
        onOpen(result);
      }}
    >
      <span className="search-result-head">
        <span className="strong">{fileName(result.path)}</span>
        {result.heading !== "" && <span className="muted"> · {result.heading}</span>}
        <span className="search-result-score small muted">
          score {result.score.toFixed(3)} · similarity {result.similarity.toFixed(2)}
        </span>
      </span>
      <span className="mono small muted search-result-path">
        {result.path} · lines {result.lines[0]}–{result.lines[1]}
      </span>
      <Snippet text={result.snippet} highlights={result.highlights} />
    </button>
  );
}
