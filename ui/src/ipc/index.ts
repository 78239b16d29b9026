// The only door between the UI and the Rust shell: components import from here, never from
// `@tauri-apps/api` (ESLint and src/ipc/boundary.test.ts enforce it).
export { runDoctor, PROVIDER_POLICIES, type ProviderPolicy } from "./doctor";
export { CommandError, toCommandError } from "./errors";
export type * from "./types";
