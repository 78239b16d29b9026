//! Every command the window may call. Each is one line into the domain module that owns it;
//! the names are also listed in build.rs (which generates their permissions) and granted in
//! capabilities/main.json.

use onyx_runtime::doctor::DoctorReport;

use crate::doctor::DoctorStateHandle;
use crate::error::Error;

/// Runs `onyx doctor` with the given provider choice (`auto`, `npu`, `gpu`, `cpu` or an EP name).
#[tauri::command]
pub async fn doctor_report(doctor: DoctorStateHandle<'_>, provider: String) -> Result<DoctorReport, Error> {
    doctor.report(provider).await
}
