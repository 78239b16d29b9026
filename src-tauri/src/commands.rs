//! Every command the window may call, as IPC.md lists them. Each is one line into the domain
//! module that owns it; the names are also listed in build.rs (which generates their
//! permissions) and granted in capabilities/main.json. Every command is `async`: Tauri runs
//! synchronous commands on the main thread, which must never wait for a database or a model.

use onyx_docs::search::SearchResponse;
use onyx_engine::conversations::{ConversationSummary, StoredMessage};
use onyx_engine::settings::Settings;
use onyx_runtime::doctor::DoctorReport;
use tauri::ipc::Channel;

use crate::chat::{ChatHandle, ChatSend, ChatStreamEvent};
use crate::conversations::ConversationsHandle;
use crate::doctor::DoctorStateHandle;
use crate::documents::{DocumentsHandle, DocumentsStatus};
use crate::error::Error;
use crate::models::ModelsHandle;
use crate::models::import::{ImportEvent, ImportHandle};
use crate::notices::Notices;
use crate::settings::SettingsHandle;
use crate::status::AppStatus;
use onyx_engine::catalog::ModelEntry;
use onyx_engine::preview::Preview;

// --- App and providers ---

/// The two models, the devices and the start-up notices.
#[tauri::command]
pub async fn app_status(models: ModelsHandle<'_>, notices: tauri::State<'_, Notices>) -> Result<AppStatus, Error> {
    Ok(crate::status::app_status(&models, &notices))
}

/// Runs `onyx doctor` with the given provider choice (`auto`, `npu`, `gpu`, `cpu` or an EP name).
#[tauri::command]
pub async fn doctor_report(doctor: DoctorStateHandle<'_>, provider: String) -> Result<DoctorReport, Error> {
    doctor.report(provider).await
}

// --- Settings ---

/// The settings in use.
#[tauri::command]
pub async fn settings_get(settings: SettingsHandle<'_>) -> Result<Settings, Error> {
    Ok(settings.current())
}

/// Validates and saves new settings (nothing changes when either fails), then applies them to
/// the loaded models on a worker thread.
#[tauri::command]
pub async fn settings_set(
    state: SettingsHandle<'_>,
    models: ModelsHandle<'_>,
    settings: serde_json::Value,
) -> Result<Settings, Error> {
    let (old, new) = state.replace(settings)?;
    models.apply(&old, &new);
    Ok(new)
}

// --- Models ---

/// The models in every models folder.
#[tauri::command]
pub async fn models_list(models: ModelsHandle<'_>) -> Result<Vec<ModelEntry>, Error> {
    Ok(models.catalog().list())
}

/// Converts or copies a model into the app data folder, streaming stages.
#[tauri::command]
pub async fn model_import(
    import: ImportHandle<'_>,
    source: String,
    name: Option<String>,
    on_event: Channel<ImportEvent>,
) -> Result<ModelEntry, Error> {
    import.import(source, name, on_event).await
}

/// Stops the running import at its next stage.
#[tauri::command]
pub async fn model_import_cancel(import: ImportHandle<'_>) -> Result<(), Error> {
    import.cancel()
}

// --- Conversations ---

/// All conversations, most recently changed first.
#[tauri::command]
pub async fn conversations_list(conversations: ConversationsHandle<'_>) -> Result<Vec<ConversationSummary>, Error> {
    Ok(conversations.list()?)
}

/// A new, empty conversation.
#[tauri::command]
pub async fn conversation_create(conversations: ConversationsHandle<'_>) -> Result<ConversationSummary, Error> {
    Ok(conversations.create()?)
}

/// Renames a conversation.
#[tauri::command]
pub async fn conversation_rename(
    conversations: ConversationsHandle<'_>,
    id: i64,
    title: String,
) -> Result<ConversationSummary, Error> {
    Ok(conversations.rename(id, &title)?)
}

/// Deletes a conversation and its messages.
#[tauri::command]
pub async fn conversation_delete(conversations: ConversationsHandle<'_>, id: i64) -> Result<(), Error> {
    Ok(conversations.delete(id)?)
}

/// A conversation's messages, oldest first.
#[tauri::command]
pub async fn conversation_messages(
    conversations: ConversationsHandle<'_>,
    id: i64,
) -> Result<Vec<StoredMessage>, Error> {
    Ok(conversations.messages(id)?)
}

// --- Chat ---

/// Streams a reply on `on_event` and returns it as stored.
#[tauri::command]
pub async fn chat_send(
    chat: ChatHandle<'_>,
    request: ChatSend,
    on_event: Channel<ChatStreamEvent>,
) -> Result<StoredMessage, Error> {
    chat.send(request, on_event).await
}

/// Stops a reply by its stream id.
#[tauri::command]
pub async fn chat_cancel(chat: ChatHandle<'_>, stream_id: String) -> Result<(), Error> {
    chat.cancel(&stream_id)
}

// --- Documents ---

/// Counts, sources, skipped files and the run going on.
#[tauri::command]
pub async fn documents_status(documents: DocumentsHandle<'_>) -> Result<DocumentsStatus, Error> {
    documents.on_worker("documents status", |documents| documents.status()).await
}

/// Starts indexing a folder or file.
#[tauri::command]
pub async fn documents_add(documents: DocumentsHandle<'_>, path: String) -> Result<(), Error> {
    documents.add(&path)
}

/// Removes a source and what was indexed from it.
#[tauri::command]
pub async fn documents_remove(documents: DocumentsHandle<'_>, path: String) -> Result<(), Error> {
    documents.on_worker("documents removal", move |documents| documents.remove(&path)).await
}

/// Stops the index run going on.
#[tauri::command]
pub async fn documents_cancel(documents: DocumentsHandle<'_>) -> Result<(), Error> {
    documents.cancel()
}

/// Searches the index.
#[tauri::command]
pub async fn documents_search(
    documents: DocumentsHandle<'_>,
    query: String,
    k: usize,
) -> Result<SearchResponse, Error> {
    documents.on_worker("search", move |documents| documents.search(&query, k)).await
}

/// The indexed text around a result.
#[tauri::command]
pub async fn documents_preview(
    documents: DocumentsHandle<'_>,
    path: String,
    lines: (usize, usize),
) -> Result<Preview, Error> {
    documents.on_worker("preview", move |documents| documents.preview(&path, lines)).await
}

/// Opens an indexed file in the system's default app for it.
#[tauri::command]
pub async fn documents_open(documents: DocumentsHandle<'_>, path: String) -> Result<(), Error> {
    documents.on_worker("opening a file", move |documents| documents.open_file(&path)).await
}

// --- The world outside ---

/// Opens an http(s) link from a reply in the user's browser.
#[tauri::command]
pub async fn open_link(url: String) -> Result<(), Error> {
    crate::external::open_link(&url)
}
