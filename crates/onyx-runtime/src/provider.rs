//! Provider choice: what the user asked for, the ordered list of devices that satisfies it, and
//! the report of what actually ran.

use std::fmt;

use serde::Serialize;
use ts_rs::TS;

use crate::attempt::Attempt;
use crate::device::{DeviceInfo, DeviceKind};
use crate::error::ProviderError;
use crate::work::{EpWork, LeftBehind};

/// The CPU EP built into every ONNX Runtime.
pub const CPU_EP: &str = "CPUExecutionProvider";

/// The share of a model's weight multiply-accumulates an accelerator must take before `auto`,
/// `npu` or `gpu` calls it the device "running the model". Below it, the CPU EP would do at least
/// a tenth of the heavy work, with a copy across the partition boundary for every piece, which is
/// rarely faster than the CPU alone and never what the badge's "NPU" promises; the device is then
/// recorded as tried, with the numbers and the op types it left, and the next one is tried. A
/// provider named explicitly (an EP or a device) is kept at any share, and reported as it is.
pub const MIN_WEIGHT_WORK_SHARE: f64 = 0.9;

/// What the user asked to run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderChoice {
    /// The best device there is: NPUs, then GPUs, then the CPU.
    Auto,
    /// An NPU, falling back to the CPU.
    Npu,
    /// A GPU, falling back to the CPU.
    Gpu,
    /// ORT's own CPU EP.
    Cpu,
    /// A specific EP by name (case-insensitive; the `ExecutionProvider` suffix may be left off).
    Ep(String),
    /// One device from the discovered list, written `<EP name>#<index>`. The EP name is kept so a
    /// stale setting (plugins changed, indices moved) is caught instead of picking another device.
    Device {
        /// EP name.
        ep: String,
        /// Index in [`crate::Runtime::devices`].
        index: usize,
    },
}

impl ProviderChoice {
    /// Parses a user's choice. Names other than `auto|npu|gpu|cpu` are taken as EP names and
    /// checked against the discovered devices when a session is built, since the list of EPs
    /// depends on which plugins loaded.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => ProviderChoice::Auto,
            "npu" => ProviderChoice::Npu,
            "gpu" => ProviderChoice::Gpu,
            "cpu" => ProviderChoice::Cpu,
            _ => {
                let text = text.trim();
                match text.rsplit_once('#').map(|(ep, index)| (ep, index.parse::<usize>())) {
                    Some((ep, Ok(index))) => ProviderChoice::Device { ep: ep.to_owned(), index },
                    _ => ProviderChoice::Ep(text.to_owned()),
                }
            }
        }
    }

    /// Whether the choice names a kind of device (`auto`, `npu`, `gpu`) rather than one EP or
    /// device: only then may a weak placement send the model elsewhere.
    pub fn is_by_kind(&self) -> bool {
        matches!(self, ProviderChoice::Auto | ProviderChoice::Npu | ProviderChoice::Gpu)
    }

    /// The choice that names exactly this device.
    pub fn for_device(device: &DeviceInfo) -> Self {
        ProviderChoice::Device { ep: device.ep_name.clone(), index: device.index }
    }

    /// Does `ep_name` match the EP this choice names?
    fn names_ep(wanted: &str, ep_name: &str) -> bool {
        let wanted = wanted.to_ascii_lowercase();
        let ep = ep_name.to_ascii_lowercase();
        ep == wanted || ep.strip_suffix("executionprovider") == Some(wanted.as_str())
    }
}

impl fmt::Display for ProviderChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderChoice::Auto => f.write_str("auto"),
            ProviderChoice::Npu => f.write_str("npu"),
            ProviderChoice::Gpu => f.write_str("gpu"),
            ProviderChoice::Cpu => f.write_str("cpu"),
            ProviderChoice::Ep(name) => f.write_str(name),
            ProviderChoice::Device { ep, index } => write!(f, "{ep}#{index}"),
        }
    }
}

/// Where a session really runs, as measured after it was built.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActiveProvider {
    /// The EP the session was built for.
    pub ep: String,
    /// The kind of that device.
    pub device_kind: DeviceKind,
    /// The device's display name.
    pub device_name: String,
    /// The device's index in [`crate::Runtime::devices`]: the way to find it again (to put a
    /// second graph of the same model on it, say). Display names need not be unique.
    pub device_index: usize,
    /// Graph nodes ORT assigned to `ep`, over all of the model's graphs.
    pub nodes_on_ep: usize,
    /// All graph nodes, over all of the model's graphs.
    pub nodes_total: usize,
    /// Node counts per EP (the CPU EP picks up what the chosen EP cannot run).
    pub placement: Vec<EpShare>,
    /// Weight multiply-accumulates per token of the products ORT assigned to `ep`, over all the
    /// model's graphs: what the node share leaves out (see [`crate::EpWork`]).
    #[ts(type = "number")]
    pub macs_on_ep: u64,
    /// All weight multiply-accumulates per token, over all the model's graphs.
    #[ts(type = "number")]
    pub macs_total: u64,
    /// Weight work per EP.
    pub work: Vec<EpWork>,
    /// The op types that did not go to `ep`, with the EP's reasons where it gave them.
    pub left_behind: Vec<LeftBehind>,
    /// Each graph's own placement: one entry, or for a model that runs several graphs on the
    /// device (an npu variant's prefill and decode graphs) one per graph, so a decode graph that
    /// falls back is not hidden behind a prefill graph that does not.
    pub graphs: Vec<GraphPlacement>,
    /// Devices tried before this one, each with its reason.
    pub tried: Vec<Attempt>,
    /// Whether the session was loaded from a precompiled EP context cache.
    pub from_compiled_cache: bool,
    /// Why the weight work is unknown (`macs_total` 0), when the model file could not be read
    /// for it.
    pub work_note: Option<String>,
}

/// Where one graph of a model runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GraphPlacement {
    /// The graph's file name (`model.npu.decode.onnx`), or `<in-memory model>`.
    pub graph: String,
    /// Its nodes ORT assigned to the provider's EP.
    pub nodes_on_ep: usize,
    /// All its nodes.
    pub nodes_total: usize,
    /// Its node counts per EP.
    pub placement: Vec<EpShare>,
    /// Its weight multiply-accumulates per token on the provider's EP.
    #[ts(type = "number")]
    pub macs_on_ep: u64,
    /// All its weight multiply-accumulates per token.
    #[ts(type = "number")]
    pub macs_total: u64,
}

/// Nodes one EP was assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[ts(rename = "Placement")]
#[serde(rename_all = "camelCase")]
pub struct EpShare {
    /// EP name.
    pub ep: String,
    /// Node count.
    pub nodes: usize,
}

impl ActiveProvider {
    /// Adds the placement of another graph the model runs on the same device (built after this
    /// one): its graph entry, and its nodes to the totals.
    pub fn add_graph(&mut self, other: &ActiveProvider) {
        self.graphs.extend(other.graphs.iter().cloned());
        self.nodes_on_ep += other.nodes_on_ep;
        self.nodes_total += other.nodes_total;
        self.macs_on_ep += other.macs_on_ep;
        self.macs_total += other.macs_total;
        for share in &other.placement {
            match self.placement.iter_mut().find(|s| s.ep == share.ep) {
                Some(mine) => mine.nodes += share.nodes,
                None => self.placement.push(share.clone()),
            }
        }
        for work in &other.work {
            match self.work.iter_mut().find(|w| w.ep == work.ep) {
                Some(mine) => {
                    mine.macs += work.macs;
                    mine.products += work.products;
                }
                None => self.work.push(work.clone()),
            }
        }
        for left in &other.left_behind {
            match self.left_behind.iter_mut().find(|l| l.op_type == left.op_type && l.ep == left.ep) {
                Some(mine) => {
                    mine.nodes += left.nodes;
                    if mine.reason.is_none() {
                        mine.reason.clone_from(&left.reason);
                    }
                }
                None => self.left_behind.push(left.clone()),
            }
        }
        self.from_compiled_cache &= other.from_compiled_cache;
        if self.work_note.is_none() {
            self.work_note.clone_from(&other.work_note);
        }
    }

    /// Fraction of nodes on the chosen EP, in `0.0..=1.0`.
    pub fn share(&self) -> f64 {
        if self.nodes_total == 0 { 0.0 } else { self.nodes_on_ep as f64 / self.nodes_total as f64 }
    }

    /// Fraction of the weight multiply-accumulates on the chosen EP, in `0.0..=1.0`; `None` for
    /// a model with no weight products.
    pub fn weight_work_share(&self) -> Option<f64> {
        (self.macs_total > 0).then(|| self.macs_on_ep as f64 / self.macs_total as f64)
    }

    /// One line for logs and the CLI, e.g.
    /// `QNNExecutionProvider on … [CPU]: 4329/4329 nodes (100%), weight MACs 100% of 134.5M/token`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} on {} [{}]: {}/{} nodes ({:.0}%)",
            self.ep,
            self.device_name,
            self.device_kind.label(),
            self.nodes_on_ep,
            self.nodes_total,
            self.share() * 100.0
        );
        if let Some(share) = self.weight_work_share() {
            line.push_str(&format!(
                ", weight MACs {:.0}% of {:.1}M/token",
                share * 100.0,
                self.macs_total as f64 / 1e6
            ));
        }
        line
    }

    /// Whether `auto`/`npu`/`gpu` may call this device the one running the model: some node on
    /// it, and at least [`MIN_WEIGHT_WORK_SHARE`] of the weight work. `Err` says why not.
    pub(crate) fn runs_the_model(&self) -> Result<(), String> {
        let Some(share) = self.weight_work_share() else { return Ok(()) };
        if share >= MIN_WEIGHT_WORK_SHARE {
            return Ok(());
        }
        let left: Vec<String> = self
            .left_behind
            .iter()
            .map(|l| match &l.reason {
                Some(reason) => format!("{} x{} on {} ({reason})", l.op_type, l.nodes, l.ep),
                None => format!("{} x{} on {}", l.op_type, l.nodes, l.ep),
            })
            .collect();
        Err(format!(
            "the EP took only {:.0}% of the weight multiply-accumulates ({:.1}M of {:.1}M per token), below the {:.0}% \
             a device needs to count as running the model; left elsewhere: {}",
            share * 100.0,
            self.macs_on_ep as f64 / 1e6,
            self.macs_total as f64 / 1e6,
            MIN_WEIGHT_WORK_SHARE * 100.0,
            if left.is_empty() { "no node reported".to_owned() } else { left.join(", ") }
        ))
    }
}

/// The devices to try for `choice`, in order, plus attempts already known to fail (a kind with no
/// device at all). `strict` drops the CPU fallback.
pub(crate) fn plan(
    choice: &ProviderChoice,
    devices: &[DeviceInfo],
    strict: bool,
) -> Result<(Vec<usize>, Vec<Attempt>), ProviderError> {
    let of_kind = |kind: DeviceKind| -> Vec<usize> {
        devices.iter().filter(|d| d.kind == kind && d.ep_name != CPU_EP).map(|d| d.index).collect()
    };
    // The CPU EP is the reference implementation and runs every op Onyx emits, so it is the one
    // CPU device used for fallback; OpenVINO's CPU device is only used when asked for by name.
    let cpu: Vec<usize> = devices.iter().filter(|d| d.ep_name == CPU_EP).map(|d| d.index).collect();
    let mut missing = Vec::new();
    let wanted_kind = |kind: DeviceKind, missing: &mut Vec<Attempt>| {
        let found = of_kind(kind);
        if found.is_empty() {
            missing.push(Attempt::without_device(kind.label(), format!("no {} found on this machine", kind.label())));
        }
        found
    };

    let mut order = match choice {
        ProviderChoice::Auto => {
            let mut order = wanted_kind(DeviceKind::Npu, &mut missing);
            order.extend(wanted_kind(DeviceKind::Gpu, &mut missing));
            order
        }
        ProviderChoice::Npu => wanted_kind(DeviceKind::Npu, &mut missing),
        ProviderChoice::Gpu => wanted_kind(DeviceKind::Gpu, &mut missing),
        ProviderChoice::Cpu => Vec::new(),
        ProviderChoice::Ep(name) => {
            let found: Vec<usize> =
                devices.iter().filter(|d| ProviderChoice::names_ep(name, &d.ep_name)).map(|d| d.index).collect();
            if found.is_empty() {
                let mut known: Vec<String> = devices.iter().map(|d| d.ep_name.clone()).collect();
                known.dedup();
                return Err(ProviderError::UnknownProvider { name: name.clone(), known });
            }
            found
        }
        ProviderChoice::Device { ep, index } => match devices.get(*index) {
            Some(device) if ProviderChoice::names_ep(ep, &device.ep_name) => vec![*index],
            _ => {
                let known = devices.iter().map(|d| format!("{}#{}", d.ep_name, d.index)).collect();
                return Err(ProviderError::UnknownProvider { name: format!("{ep}#{index}"), known });
            }
        },
    };
    // Strict mode means "this provider or nothing", except when the CPU is what was asked for.
    let cpu_requested = *choice == ProviderChoice::Cpu;
    if cpu_requested || !strict {
        for index in cpu {
            if !order.contains(&index) {
                order.push(index);
            }
        }
    }
    Ok((order, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::device::test_device as device;

    fn machine() -> Vec<DeviceInfo> {
        vec![
            device(0, CPU_EP, DeviceKind::Cpu),
            device(1, "OpenVINOExecutionProvider", DeviceKind::Cpu),
            device(2, "QNNExecutionProvider", DeviceKind::Npu),
            device(3, "WebGpuExecutionProvider", DeviceKind::Gpu),
        ]
    }

    #[test]
    fn parse_is_case_insensitive_and_keeps_ep_names() {
        assert_eq!(ProviderChoice::parse(" NPU "), ProviderChoice::Npu);
        assert_eq!(ProviderChoice::parse(""), ProviderChoice::Auto);
        assert_eq!(ProviderChoice::parse("QNNExecutionProvider"), ProviderChoice::Ep("QNNExecutionProvider".into()));
    }

    #[test]
    fn auto_tries_npu_then_gpu_then_cpu_ep() {
        let (order, missing) = plan(&ProviderChoice::Auto, &machine(), false).expect("plan");
        assert_eq!(order, vec![2, 3, 0]);
        assert!(missing.is_empty());
    }

    #[test]
    fn npu_without_an_npu_falls_back_to_cpu_and_says_why() {
        let devices: Vec<DeviceInfo> = machine().into_iter().filter(|d| d.kind != DeviceKind::Npu).collect();
        let (order, missing) = plan(&ProviderChoice::Npu, &devices, false).expect("plan");
        assert_eq!(order, vec![0]);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].reason, "no NPU found on this machine");
    }

    #[test]
    fn strict_npu_has_no_cpu_fallback() {
        let (order, _) = plan(&ProviderChoice::Npu, &machine(), true).expect("plan");
        assert_eq!(order, vec![2]);
        let (order, _) = plan(&ProviderChoice::Cpu, &machine(), true).expect("plan");
        assert_eq!(order, vec![0]);
    }

    #[test]
    fn ep_names_match_with_or_without_suffix() {
        let (order, _) = plan(&ProviderChoice::parse("openvino"), &machine(), false).expect("plan");
        assert_eq!(order, vec![1, 0]);
        let (order, _) = plan(&ProviderChoice::parse("qnnexecutionprovider"), &machine(), true).expect("plan");
        assert_eq!(order, vec![2]);
    }

    #[test]
    fn a_device_choice_round_trips_and_checks_its_ep() {
        let choice = ProviderChoice::parse("QNNExecutionProvider#2");
        assert_eq!(choice, ProviderChoice::Device { ep: "QNNExecutionProvider".into(), index: 2 });
        assert_eq!(choice.to_string(), "QNNExecutionProvider#2");
        let (order, _) = plan(&choice, &machine(), true).expect("plan");
        assert_eq!(order, vec![2]);
        // Index 1 is OpenVINO, not QNN: a stale setting must not silently pick another device.
        let err = plan(&ProviderChoice::parse("QNNExecutionProvider#1"), &machine(), true).expect_err("stale");
        assert!(err.to_string().contains("QNNExecutionProvider#1"), "{err}");
    }

    #[test]
    fn unknown_provider_names_the_value_and_the_known_eps() {
        let err = plan(&ProviderChoice::parse("tpu"), &machine(), false).expect_err("unknown");
        let message = err.to_string();
        assert!(message.contains("'tpu'"), "{message}");
        assert!(message.contains("OpenVINOExecutionProvider"), "{message}");
    }
}
