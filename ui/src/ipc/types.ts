// The IPC types: generated from the Rust ones into generated.ts (src-tauri/src/ipc_types.rs), and
// checked by a Rust test that fails while that file is stale. Only names for parts of them that
// the window's code passes around on their own are added here.

import type { ChatStreamEvent, SearchResult } from "./generated";

export type * from "./generated";

/** A byte range, as serde writes `Range<usize>`. */
export type ByteRange = SearchResult["byteRange"];

/** A reply's move to another provider mid-way (`from` and `to` are provider summaries). */
export type ProviderSwitch = Extract<ChatStreamEvent, { event: "providerChanged" }>["data"];
