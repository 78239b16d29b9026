import { useCallback, useEffect, useRef, useState } from "react";

import { searchDocuments, toCommandError, type CommandError, type SearchResponse } from "../ipc";

/** Results shown for one search. */
const RESULTS = 10;
/** Typing pauses this long (ms) before a search runs; Enter searches at once. */
const DEBOUNCE_MS = 300;

export interface DocumentSearch {
  query: string;
  setQuery: (query: string) => void;
  /** Searches now (Enter), without waiting for the pause. */
  submit: () => void;
  response: SearchResponse | null;
  /** The query `response` answers. */
  answered: string;
  searching: boolean;
  error: CommandError | null;
}

/** Search as you type; only the newest query's answer is shown, however the answers arrive. */
export function useDocumentSearch(): DocumentSearch {
  const [query, setQuery] = useState("");
  const [response, setResponse] = useState<SearchResponse | null>(null);
  const [answered, setAnswered] = useState("");
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<CommandError | null>(null);
  const latest = useRef(0);

  const run = useCallback((text: string) => {
    const id = ++latest.current;
    const trimmed = text.trim();
    if (trimmed === "") {
      setResponse(null);
      setAnswered("");
      setSearching(false);
      setError(null);
      return;
    }
    setSearching(true);
    searchDocuments(trimmed, RESULTS).then(
      (next) => {
        if (id === latest.current) {
          setResponse(next);
          setAnswered(trimmed);
          setError(null);
          setSearching(false);
        }
      },
      (raw: unknown) => {
        if (id === latest.current) {
          setError(toCommandError(raw));
          setSearching(false);
        }
      },
    );
  }, []);

  useEffect(() => {
    const timer = window.setTimeout(() => {
      run(query);
    }, DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [query, run]);

  const submit = useCallback(() => {
    run(query);
  }, [query, run]);

  return { query, setQuery, submit, response, answered, searching, error };
}
