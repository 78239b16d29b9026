import { call } from "./call";
import type { DocumentsStatus, Preview, SearchResponse } from "./types";

/** Counts, sources, skipped files and any run in progress (`documents_status`). */
export function documentsStatus(): Promise<DocumentsStatus> {
  return call<DocumentsStatus>("documents_status");
}

/**
 * Adds a folder or file and starts indexing it on a worker (`documents_add`); progress arrives as
 * `index-progress` events. Rejects with `busy` while a run is going, `documents` for a path that
 * cannot be read.
 */
export function addDocuments(path: string): Promise<void> {
  return call<undefined>("documents_add", { path });
}

/** Removes a source and its chunks from the index (`documents_remove`). */
export function removeDocuments(path: string): Promise<void> {
  return call<undefined>("documents_remove", { path });
}

/** Stops the running index run (`documents_cancel`); what was written stays. */
export function cancelIndexing(): Promise<void> {
  return call<undefined>("documents_cancel");
}

/** The `k` best chunks for a query (`documents_search`). */
export function searchDocuments(query: string, k: number): Promise<SearchResponse> {
  return call<SearchResponse>("documents_search", { query, k });
}

/**
 * Opens an indexed file in the system's default app for it (`documents_open`); `not_found` for a
 * file not in the index, `open_failed` when nothing can open it.
 */
export function openDocument(path: string): Promise<void> {
  return call<undefined>("documents_open", { path });
}

/** A chunk's lines with context, read from the index as text (`documents_preview`). */
export function previewDocument(path: string, lines: [number, number]): Promise<Preview> {
  return call<Preview>("documents_preview", { path, lines });
}
