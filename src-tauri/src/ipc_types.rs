//! The TypeScript side of the IPC, generated from the Rust types (ts-rs reads their serde
//! attributes and doc comments) into `ui/src/ipc/generated.ts`, so the window can never expect a
//! shape the shell does not send.
//!
//! The test below fails when the committed file differs from what the types say today; write it
//! again with `make ipc-types` (`ONYX_WRITE_IPC_TYPES=1 cargo test -p onyx-app ipc_types`).

use std::path::PathBuf;

use ts_rs::{Config, TS};

/// Where the declarations go.
fn generated_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/generated.ts")
}

/// One declaration: its doc comment and `export type Name = ...;`. Adds its name to `declared`
/// and the types it refers to to `needed`, so the test can tell when one was left out.
fn declaration<T: TS + 'static>(config: &Config, declared: &mut Vec<String>, needed: &mut Vec<String>) -> String {
    declared.push(T::ident(config));
    needed.extend(T::dependencies(config).into_iter().map(|dependency| dependency.ts_name));
    let mut text = T::docs().map(|docs| format!("{}\n", docs.trim_end())).unwrap_or_default();
    text.push_str("export ");
    text.push_str(T::decl(config).trim_end());
    text.push('\n');
    text
}

/// Every type that crosses the IPC (command arguments and answers, channel and app events), in
/// the file's order: the runtime's, the engine's and the document index's, then the shell's own.
fn declarations() -> (String, Vec<String>) {
    // JSON numbers, not `bigint`: serde_json writes u64/usize/i64 as plain numbers.
    let config = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/ipc_types.rs (ts-rs). Do not edit: change the\n\
         // Rust type, then run `make ipc-types`. A test fails while this file is stale.\n",
    );
    let (mut declared, mut needed) = (Vec::new(), Vec::new());
    macro_rules! declare {
        ($($ty:ty),* $(,)?) => {
            $(
                out.push('\n');
                out.push_str(&declaration::<$ty>(&config, &mut declared, &mut needed));
            )*
        };
    }
    declare!(
        onyx_runtime::DeviceKind,
        onyx_runtime::LibraryAttempt,
        onyx_runtime::doctor::RuntimeStatus,
        onyx_runtime::PluginState,
        onyx_runtime::PluginStatus,
        onyx_runtime::DeviceInfo,
        onyx_runtime::Attempt,
        onyx_runtime::EpShare,
        onyx_runtime::GraphPlacement,
        onyx_runtime::EpWork,
        onyx_runtime::LeftBehind,
        onyx_runtime::ActiveProvider,
        onyx_runtime::doctor::ProviderCheck,
        onyx_runtime::doctor::DoctorReport,
        onyx_convert::manifest::ModelKind,
        onyx_convert::manifest::Target,
        onyx_engine::settings::Theme,
        onyx_engine::settings::DocumentSettings,
        onyx_engine::settings::NpuSettings,
        onyx_engine::settings::Settings,
        onyx_engine::conversations::Role,
        onyx_engine::conversations::ConversationSummary,
        onyx_engine::conversations::StoredMessage,
        onyx_engine::reply::FinishReason,
        onyx_engine::reply::Stats,
        onyx_engine::reply::CitedSource,
        onyx_docs::search::SearchResult,
        onyx_docs::search::SearchResponse,
        onyx_docs::index::Phase,
        onyx_docs::index::Progress,
        onyx_docs::store::IndexCounts,
        onyx_docs::store::Source,
        onyx_docs::store::Skip,
        crate::error::ErrorBody,
        crate::models::LoadState,
        crate::models::ModelStatus,
        crate::status::AppStatus,
        onyx_engine::catalog::Origin,
        onyx_engine::catalog::ModelEntry,
        crate::models::import::ImportEvent,
        crate::chat::ChatSend,
        crate::chat::ChatStreamEvent,
        crate::documents::DocumentsStatus,
        crate::documents::IndexProgress,
        onyx_engine::preview::Preview,
        crate::events::ProviderChanged,
        crate::events::ModelLoading,
        crate::events::ModelError,
        crate::events::IndexError,
    );
    let missing: Vec<String> = needed.into_iter().filter(|name| !declared.contains(name)).collect();
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipc_types_are_current() {
        let path = generated_file();
        let (expected, missing) = declarations();
        assert!(missing.is_empty(), "the IPC types refer to types that are not declared: {missing:?}");
        if std::env::var_os("ONYX_WRITE_IPC_TYPES").is_some() {
            std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} is stale: the IPC types changed on the Rust side. Run `make ipc-types` and commit the result.",
            path.display()
        );
    }
}
