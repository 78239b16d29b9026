//! The session options a user sets once for every model: the QNN options and the folder of
//! compiled EP contexts. The app and the CLI read them from the settings and hand them to the
//! runtime ([`crate::Runtime::set_session_defaults`]); a request can still override them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// QNN EP options worth exposing to users. Only applied to sessions on `QNNExecutionProvider`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QnnOptions {
    /// `burst`, `sustained_high_performance`, `balanced`, `power_saver`, ... (QNN's names).
    pub htp_performance_mode: Option<String>,
    /// Snapdragon SoC model number, where known (lets QNN pick the right HTP settings).
    pub soc_model: Option<String>,
    /// HTP architecture, e.g. `73` or `75`, where known.
    pub htp_arch: Option<String>,
    /// The QNN backend library to load. `None` means the HTP backend that sits beside the
    /// registered QNN plugin ([`htp_backend_beside`]).
    pub backend_path: Option<String>,
}

/// The HTP backend library's file name, as the QNN wheels ship it beside the plugin.
pub const HTP_BACKEND: &str = if cfg!(windows) { "QnnHtp.dll" } else { "libQnnHtp.so" };

/// The HTP backend beside the QNN plugin library `plugin` (the EP's `library_path`).
pub fn htp_backend_beside(plugin: &std::path::Path) -> PathBuf {
    plugin.with_file_name(HTP_BACKEND)
}

impl QnnOptions {
    pub(crate) fn entries(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |key: &str, value: &Option<String>| {
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                // `with_devices` routes options to an EP by this prefix.
                out.push((format!("QNNExecutionProvider.{key}"), v.clone()));
            }
        };
        push("htp_performance_mode", &self.htp_performance_mode);
        push("soc_model", &self.soc_model);
        push("htp_arch", &self.htp_arch);
        push("backend_path", &self.backend_path);
        out
    }
}

/// What every session gets unless its request says otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionDefaults {
    /// QNN options, for sessions on `QNNExecutionProvider`.
    pub qnn: QnnOptions,
    /// Where compiled EP contexts are kept, so the second load of a model skips compiling it.
    pub compile_cache: Option<PathBuf>,
}

impl SessionDefaults {
    /// `request`'s own QNN options when it has any, else these.
    pub(crate) fn qnn_for<'a>(&'a self, request: &'a QnnOptions) -> &'a QnnOptions {
        if *request == QnnOptions::default() { &self.qnn } else { request }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_qnn_options_gets_the_defaults() {
        let defaults = SessionDefaults {
            qnn: QnnOptions {
                htp_performance_mode: Some("burst".into()),
                soc_model: Some("60".into()),
                htp_arch: None,
                backend_path: None,
            },
            compile_cache: None,
        };
        assert_eq!(defaults.qnn_for(&QnnOptions::default()), &defaults.qnn);
        let own = QnnOptions { htp_arch: Some("73".into()), ..QnnOptions::default() };
        assert_eq!(defaults.qnn_for(&own), &own);
        let entries = defaults.qnn.entries();
        assert_eq!(
            entries,
            [
                ("QNNExecutionProvider.htp_performance_mode".to_owned(), "burst".to_owned()),
                ("QNNExecutionProvider.soc_model".to_owned(), "60".to_owned()),
            ]
        );
    }
}
