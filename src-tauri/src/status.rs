//! `app_status`: what the window shows in its header and banners (the two models, the devices,
//! the notices collected while starting).

use onyx_runtime::DeviceInfo;
use serde::Serialize;
use ts_rs::TS;

use crate::models::{ModelStatus, ModelsState};
use crate::notices::Notices;

/// The reply of `app_status`.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// The chat model.
    pub chat: ModelStatus,
    /// The embedding model (documents).
    pub embedding: ModelStatus,
    /// Devices ONNX Runtime found; empty until it has loaded (or when it could not).
    pub devices: Vec<DeviceInfo>,
    /// See [`Notices`].
    pub notices: Vec<String>,
}

/// Assembles [`AppStatus`]; cheap, never waits for a model.
pub fn app_status(models: &ModelsState, notices: &Notices) -> AppStatus {
    let (chat, embedding) = models.statuses();
    AppStatus { chat, embedding, devices: models.devices(), notices: notices.all() }
}
