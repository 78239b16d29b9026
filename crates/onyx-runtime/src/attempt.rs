//! Records of what was tried and passed over, with why: locations of the runtime library and
//! devices a session was offered to. Errors carry them, and so does a session that succeeded
//! after a fallback, so they sit below both.

use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

use crate::device::{DeviceInfo, DeviceKind};

/// One location tried for the runtime library.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LibraryAttempt {
    /// The file looked at.
    pub path: PathBuf,
    /// Why it was not used ("not found", the loader's error, a version mismatch, ...).
    pub reason: String,
}

/// One device that was tried and not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "ProviderAttempt")]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The EP tried (or the kind asked for, when no device of it exists).
    pub ep: String,
    /// The device's display name, or `-` when there was none.
    pub device: String,
    /// The device's index in [`crate::Runtime::devices`], when a device was tried. Code that
    /// needs the device again goes by this, never by its display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_index: Option<usize>,
    /// The kind of that device (an NPU stand-in counts as an NPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_kind: Option<DeviceKind>,
    /// Why it was passed over.
    pub reason: String,
}

impl Attempt {
    /// `device` was tried and passed over for `reason`.
    pub fn on(device: &DeviceInfo, reason: impl Into<String>) -> Self {
        Attempt {
            ep: device.ep_name.clone(),
            device: device.display_name(),
            device_index: Some(device.index),
            device_kind: Some(device.kind),
            reason: reason.into(),
        }
    }

    /// Something other than one device was passed over: a kind no device has, or a model
    /// variant that failed before any device was chosen. `what` names it.
    pub fn without_device(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Attempt { ep: what.into(), device: "-".into(), device_index: None, device_kind: None, reason: reason.into() }
    }

    /// Whether this attempt was on an NPU device.
    pub fn was_on_npu(&self) -> bool {
        self.device_kind == Some(DeviceKind::Npu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::device::test_device as device;

    #[test]
    fn an_attempt_keeps_its_device_index_and_kind() {
        let npu = Attempt::on(&device(3, "QNNExecutionProvider", DeviceKind::Npu), "refused");
        assert_eq!((npu.device_index, npu.device_kind), (Some(3), Some(DeviceKind::Npu)));
        assert!(npu.was_on_npu());
        assert!(!Attempt::on(&device(2, "WebGpuExecutionProvider", DeviceKind::Gpu), "refused").was_on_npu());
        // "No NPU found" names the kind it looked for, but no device was tried.
        let none = Attempt::without_device("NPU", "no NPU found on this machine");
        assert!(!none.was_on_npu());
        let json = serde_json::to_value(&none).expect("json");
        assert!(json.get("deviceIndex").is_none() && json.get("deviceKind").is_none(), "{json}");
        let json = serde_json::to_value(&npu).expect("json");
        assert_eq!((json["deviceIndex"].as_u64(), json["deviceKind"].as_str()), (Some(3), Some("npu")));
    }
}
