//! The Onyx desktop shell: a thin Tauri layer over the engine crates.
//!
//! What flows in: IPC calls from the window (ui/), each a command in [`commands`] that the
//! window's capability (capabilities/main.json) grants; src-tauri/IPC.md is the contract. What
//! flows out: the engine crates' own serializable types, streams on per-call channels, app-wide
//! events ([`events`]), or an [`error::Error`] as `{code, message}`. Only this crate knows Tauri;
//! the engine crates stay usable from the `onyx` CLI and from tests without it.
//!
//! Layout, by domain, each with a small state of its own (cheap to clone, shared by `Arc`):
//! `settings` (the settings file), `models` (the engine, loading, the model folders, imports),
//! `conversations`, `chat` (streamed replies and their cancellation), `documents` (the index,
//! runs, the watcher), `doctor`, and `status` (`app_status`, notices, the app's paths).
//! `commands` holds the one-line command functions, `events` the event names and payloads,
//! `error` the wire error.

mod chat;
mod commands;
mod conversations;
mod doctor;
mod documents;
mod error;
mod events;
mod external;
#[cfg(test)]
mod ipc_types;
mod models;
mod notices;
mod settings;
mod status;

use tauri::Manager;

use crate::chat::ChatState;
use crate::doctor::DoctorState;
use crate::documents::DocumentsState;
use crate::error::Error;
use crate::models::import::ImportState;
use crate::models::{ModelsState, Reload};
use crate::notices::Notices;
use crate::settings::{SettingsState, runtime_config};
use onyx_engine::app_data::AppPaths;
use onyx_engine::catalog::Catalog;

/// Builds and runs the app until its last window closes.
///
/// ONNX Runtime is found as the `onyx` CLI finds it (the repository's `runtime/`,
/// `ONYX_RUNTIME` / `ORT_DYLIB_PATH`, or the paths in Settings), so both front ends report the
/// same machine the same way.
pub fn run() -> tauri::Result<()> {
    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| Ok(start(app)?))
        // One list for the whole app, grouped by domain; build.rs and capabilities/main.json
        // must name the same commands (see `tests::commands_are_declared_everywhere`).
        .invoke_handler(tauri::generate_handler![
            // app and providers
            commands::app_status,
            commands::doctor_report,
            // settings
            commands::settings_get,
            commands::settings_set,
            // models
            commands::models_list,
            commands::model_import,
            commands::model_import_cancel,
            // conversations
            commands::conversations_list,
            commands::conversation_create,
            commands::conversation_rename,
            commands::conversation_delete,
            commands::conversation_messages,
            // chat
            commands::chat_send,
            commands::chat_cancel,
            // documents
            commands::documents_status,
            commands::documents_add,
            commands::documents_remove,
            commands::documents_cancel,
            commands::documents_search,
            commands::documents_preview,
            commands::documents_open,
            // the world outside
            commands::open_link,
        ])
        .run(tauri::generate_context!())
}

/// Opens the app's files and starts loading the models. Nothing here waits for a model: the
/// window opens at once, and loading reports itself through events and `app_status`.
fn start(app: &mut tauri::App) -> Result<(), Error> {
    let handle = app.handle().clone();
    let data_dir = app
        .path()
        .app_data_dir()
        .map_err(|error| Error::Storage(format!("the app data folder is unknown: {error}")))?;
    std::fs::create_dir_all(&data_dir)
        .map_err(|error| Error::Storage(format!("cannot create {}: {error}", data_dir.display())))?;
    let paths = AppPaths::in_dir(&data_dir);
    let notices = Notices::default();

    let settings = SettingsState::load(&handle, &notices)?;
    let resource_models = app.path().resource_dir().ok().map(|dir| dir.join("models"));
    let catalog = Catalog::from_environment(resource_models, paths.imported_models.clone());
    let models = ModelsState::new(
        handle.clone(),
        settings.clone(),
        notices.clone(),
        catalog.clone(),
        paths.compiled_models.clone(),
    );
    let conversations = conversations::open(&paths.conversations_db, &notices);
    let documents =
        DocumentsState::open(handle, models.clone(), settings.clone(), notices.clone(), paths.documents_db.clone());
    let chat = ChatState::new(models.clone(), conversations.clone(), settings.clone(), documents.clone());

    app.manage(DoctorState::new(runtime_config(&settings.current())));
    app.manage(ImportState::new(catalog));
    app.manage(chat);
    app.manage(conversations);
    app.manage(documents.clone());
    app.manage(models.clone());
    app.manage(settings);
    app.manage(notices);

    // The watcher and the catch-up pass need the embedding model, so they start once it loaded.
    models.reload(Reload::ALL, move || documents.start_background());
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Keeps the places that name a command in step: a command left out of build.rs has no
    //! permission to grant, one left out of the capability is refused at run time, and one the
    //! UI invokes under another name fails only when clicked. And the app's identifier, written
    //! in tauri.conf.json (Tauri names the app data folder after it) and as the engine's
    //! `APP_IDENTIFIER` (the CLI finds the same folder by it).

    use std::collections::BTreeSet;
    use std::fs;
    use std::path::Path;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn read(relative: &str) -> Result<String, std::io::Error> {
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
    }

    #[test]
    fn the_engine_names_the_data_folder_as_tauri_does() -> TestResult {
        let config: serde_json::Value = serde_json::from_str(&read("tauri.conf.json")?)?;
        assert_eq!(config["identifier"].as_str(), Some(onyx_engine::app_data::APP_IDENTIFIER));
        Ok(())
    }

    /// The names in build.rs's `const COMMANDS: &[&str] = &[...]`.
    fn build_rs_commands() -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        let build_rs = read("build.rs")?;
        let start = build_rs.find("const COMMANDS").ok_or("build.rs has no COMMANDS list")?;
        let list = &build_rs[start..];
        let open = list.find("= &[").ok_or("COMMANDS is not a slice literal")? + 4;
        let close = list[open..].find(']').ok_or("COMMANDS list is not closed")? + open;
        Ok(list[open..close]
            .split(',')
            .map(|name| name.trim().trim_matches('"').to_owned())
            .filter(|name| !name.is_empty())
            .collect())
    }

    /// The functions marked `#[tauri::command]` in commands.rs.
    fn command_functions() -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        let source = read("src/commands.rs")?;
        let mut names = BTreeSet::new();
        for chunk in source.split("#[tauri::command]").skip(1) {
            let after_fn = chunk.split_once("fn ").ok_or("a command attribute without fn")?.1;
            let name: String = after_fn.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.insert(name);
        }
        Ok(names)
    }

    #[test]
    fn commands_are_declared_everywhere() -> TestResult {
        let declared = build_rs_commands()?;
        assert!(!declared.is_empty(), "build.rs declares no commands");
        assert_eq!(declared, command_functions()?, "build.rs COMMANDS vs commands.rs");

        let lib = read("src/lib.rs")?;
        for name in &declared {
            assert!(lib.contains(&format!("commands::{name},")), "{name} is not in generate_handler!");
        }

        let capability: serde_json::Value = serde_json::from_str(&read("capabilities/main.json")?)?;
        let granted: BTreeSet<String> = capability["permissions"]
            .as_array()
            .ok_or("capability has no permissions list")?
            .iter()
            .filter_map(|permission| permission.as_str())
            .filter_map(|permission| permission.strip_prefix("allow-"))
            .map(|command| command.replace('-', "_"))
            .collect();
        assert_eq!(declared, granted, "build.rs COMMANDS vs allow-* in capabilities/main.json");

        // Least privilege: besides its own commands the window may only listen for events and
        // open the file picker (Browse buttons); anything else added here must be argued for.
        let others: BTreeSet<&str> = capability["permissions"]
            .as_array()
            .ok_or("capability has no permissions list")?
            .iter()
            .filter_map(|permission| permission.as_str())
            .filter(|permission| !permission.starts_with("allow-"))
            .collect();
        let expected: BTreeSet<&str> =
            ["core:event:allow-listen", "core:event:allow-unlisten", "dialog:allow-open"].into_iter().collect();
        assert_eq!(others, expected, "plugin permissions in capabilities/main.json");
        Ok(())
    }

    #[test]
    fn event_names_match_the_contract() -> TestResult {
        let contract = read("IPC.md")?;
        for name in [
            crate::events::PROVIDER_CHANGED,
            crate::events::MODEL_LOADING,
            crate::events::MODEL_ERROR,
            crate::events::INDEX_PROGRESS,
            crate::events::INDEX_ERROR,
        ] {
            assert!(contract.contains(&format!("| `{name}` |")), "{name} is not in IPC.md's event table");
        }
        for name in build_rs_commands()? {
            assert!(contract.contains(&format!("`{name}(")), "{name} is not in IPC.md's command list");
        }
        Ok(())
    }

    #[test]
    fn the_ui_invokes_only_declared_commands() -> TestResult {
        let declared = build_rs_commands()?;
        let ipc_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc");
        let mut invoked = BTreeSet::new();
        for entry in fs::read_dir(&ipc_dir)? {
            let path = entry?.path();
            let is_source =
                path.extension().is_some_and(|ext| ext == "ts") && !path.to_string_lossy().ends_with(".test.ts");
            if is_source {
                let source = fs::read_to_string(&path)?;
                for call in source.split("invoke<").skip(1).chain(source.split("invoke(").skip(1)) {
                    if let Some(name) = call.split('"').nth(1) {
                        invoked.insert(name.to_owned());
                    }
                }
            }
        }
        assert!(!invoked.is_empty(), "found no invoke calls in {}", ipc_dir.display());
        let unknown: Vec<_> = invoked.difference(&declared).collect();
        assert!(unknown.is_empty(), "the UI invokes undeclared commands: {unknown:?}");
        Ok(())
    }
}
