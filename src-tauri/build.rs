//! Build script: compiles tauri.conf.json and the capabilities into the binary, and declares the
//! app's own commands so that tauri-build generates an `allow-<command>` permission for each.
//! A command missing here cannot be granted in capabilities/main.json, so the window could not
//! call it; `src/lib.rs` has a test that keeps this list, the handler and the capability in step.

/// Every `#[tauri::command]` in src/commands.rs, by name.
const COMMANDS: &[&str] = &[
    "app_status",
    "doctor_report",
    "settings_get",
    "settings_set",
    "models_list",
    "model_import",
    "model_import_cancel",
    "conversations_list",
    "conversation_create",
    "conversation_rename",
    "conversation_delete",
    "conversation_messages",
    "chat_send",
    "chat_cancel",
    "documents_status",
    "documents_add",
    "documents_remove",
    "documents_cancel",
    "documents_search",
    "documents_preview",
    "documents_open",
    "open_link",
];

fn main() {
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    // The panic message is the build error a developer sees; there is no caller to return to.
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}
