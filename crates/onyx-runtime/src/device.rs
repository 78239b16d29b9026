//! The devices ORT discovered, as plain data the UI and the CLI can show.

use std::collections::BTreeMap;

use ort::AsPointer;
use serde::Serialize;
use ts_rs::TS;

use crate::ffi::key_value_pairs;

/// The name the QNN plugin is registered under (QNN's own documentation and option prefixes use it).
pub const QNN_EP: &str = "QNNExecutionProvider";

/// The kind of hardware a device is. Provider choice (`npu`, `gpu`, `cpu`) goes by this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A neural processing unit (Hexagon, Intel NPU, ...).
    Npu,
    /// A graphics processor.
    Gpu,
    /// The CPU.
    Cpu,
}

impl DeviceKind {
    /// Upper-case label for tables and badges.
    pub fn label(self) -> &'static str {
        match self {
            DeviceKind::Npu => "NPU",
            DeviceKind::Gpu => "GPU",
            DeviceKind::Cpu => "CPU",
        }
    }
}

/// One (EP, hardware device) pair ORT can build sessions for.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// Position in ORT's device list; stable for the life of the process.
    pub index: usize,
    /// The EP that drives this device, e.g. `OpenVINOExecutionProvider`.
    pub ep_name: String,
    /// Who ships the EP.
    pub ep_vendor: String,
    /// Who makes the hardware.
    pub hardware_vendor: String,
    /// PCI-style vendor id (0 where ORT has none).
    pub vendor_id: u32,
    /// Device id from ORT.
    pub device_id: u32,
    /// CPU, GPU or NPU.
    pub kind: DeviceKind,
    /// What the EP says about the device (e.g. OpenVINO's `ov_device`).
    pub ep_metadata: BTreeMap<String, String>,
    /// What the OS says about the hardware (e.g. a description or driver version).
    pub hardware_metadata: BTreeMap<String, String>,
}

/// A device for unit tests: device `index` of `ep`, of `kind`, from a test vendor.
#[cfg(test)]
pub(crate) fn test_device(index: usize, ep: &str, kind: DeviceKind) -> DeviceInfo {
    DeviceInfo {
        index,
        ep_name: ep.into(),
        ep_vendor: String::new(),
        hardware_vendor: "Test".into(),
        vendor_id: 0,
        device_id: 0,
        kind,
        ep_metadata: Default::default(),
        hardware_metadata: Default::default(),
    }
}

impl DeviceInfo {
    /// A short human name: the hardware description where ORT has one, else vendor and kind,
    /// plus the EP's own device name when it has several (OpenVINO's `CPU` vs `AUTO`).
    pub fn display_name(&self) -> String {
        // QNN's HTP backend on a machine without a Hexagon (Linux x86-64) compiles for the
        // Snapdragon it is told to target and runs the result in an emulator on the CPU: say so,
        // so it is never taken for an NPU.
        if self.ep_name == QNN_EP && self.kind == DeviceKind::Cpu {
            return format!("QNN HTP emulator on {}", self.base_name());
        }
        let base = self.base_name();
        match self.ep_metadata.get("ov_device") {
            Some(ov) if !ov.is_empty() => format!("{base} ({ov})"),
            _ => base,
        }
    }

    /// The hardware description where ORT has one, else vendor and kind.
    fn base_name(&self) -> String {
        self.hardware_metadata.get("Description").filter(|d| !d.is_empty()).cloned().unwrap_or_else(|| {
            let vendor = if self.hardware_vendor.is_empty() { "unknown" } else { &self.hardware_vendor };
            format!("{vendor} {}", self.kind.label())
        })
    }
}

/// The devices ORT offers, in its order. Devices of the `npu_stand_in` EP are reported as NPUs
/// (see [`crate::RuntimeConfig::npu_stand_in`]).
pub(crate) fn list(env: &ort::environment::Environment, npu_stand_in: Option<&str>) -> Vec<DeviceInfo> {
    env.devices()
        .enumerate()
        .map(|(index, device)| {
            let hardware = device.hardware_device();
            let kind = match hardware.ty() {
                ort::memory::DeviceType::NPU => DeviceKind::Npu,
                ort::memory::DeviceType::GPU => DeviceKind::Gpu,
                ort::memory::DeviceType::CPU => DeviceKind::Cpu,
                // ORT's hardware-device API only reports CPU, GPU and NPU; `ort` shares this enum
                // with memory devices, which also have FPGAs. Treat one as an accelerator.
                _ => DeviceKind::Npu,
            };
            let ep_name = device.ep().map(str::to_owned).unwrap_or_default();
            let kind = if npu_stand_in.is_some_and(|name| name.eq_ignore_ascii_case(&ep_name)) {
                DeviceKind::Npu
            } else {
                kind
            };
            let api = ort::api();
            // SAFETY: both pointers come from live ORT device objects owned by `env`, which
            // outlives this call; the returned key/value pairs are owned by the device.
            let (vendor_id, hardware_metadata, ep_metadata) = unsafe {
                (
                    (api.HardwareDevice_VendorId)(hardware.ptr()),
                    key_value_pairs((api.HardwareDevice_Metadata)(hardware.ptr())),
                    key_value_pairs((api.EpDevice_EpMetadata)(device.ptr())),
                )
            };
            DeviceInfo {
                index,
                ep_name,
                ep_vendor: device.ep_vendor().map(str::to_owned).unwrap_or_default(),
                hardware_vendor: hardware.vendor().map(str::to_owned).unwrap_or_default(),
                vendor_id,
                device_id: hardware.id(),
                kind,
                ep_metadata,
                hardware_metadata,
            }
        })
        .collect()
}
