// The only door between the UI and the Rust shell: components import from here, never from
// `@tauri-apps/*` (ESLint and src/ipc/boundary.test.ts enforce it). One module per domain of
// src-tauri/IPC.md; every wrapper rejects with a `CommandError`.
export { runDoctor, PROVIDER_POLICIES, type ProviderPolicy } from "./doctor";
export { CommandError, isCancelled, toCommandError } from "./errors";
export { appStatus } from "./app";
export { getSettings, saveSettings } from "./settings";
export { cancelModelImport, importModel, listModels } from "./models";
export {
  conversationMessages,
  createConversation,
  deleteConversation,
  listConversations,
  renameConversation,
} from "./conversations";
export { cancelChat, sendChat } from "./chat";
export {
  addDocuments,
  cancelIndexing,
  documentsStatus,
  openDocument,
  previewDocument,
  removeDocuments,
  searchDocuments,
} from "./documents";
export {
  EVENTS,
  onIndexError,
  onIndexProgress,
  onModelError,
  onModelLoading,
  onProviderChanged,
  type Unsubscribe,
} from "./events";
export { pickFile, pickFolder } from "./dialog";
export { openLink } from "./external";
export type * from "./types";
