//! Onyx's window onto ONNX Runtime: loading it, registering execution-provider (EP) plugins,
//! listing devices, choosing a provider with fallback, and reporting where a model really runs.
//!
//! What flows in: a [`RuntimeConfig`] (where the runtime library and plugins are), a model (file
//! or bytes) and a [`ProviderChoice`]. What flows out: an `ort::Session` bound to explicit
//! devices, together with an [`ActiveProvider`] that says which EP and device run it, how many
//! graph nodes each EP was assigned, and every attempt that failed before it, with its reason.
//!
//! ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`), so any official build works: the
//! CPU wheel, a DirectML build, or one paired with the QNN plugin on Windows on Snapdragon. ORT
//! allows one environment per process and cannot be unloaded, so [`Runtime::init`] hands out one
//! process-wide [`Runtime`].
//!
//! This is the only Onyx crate (with the crates built on it) that touches ONNX Runtime.

mod attempt;
mod device;
pub mod doctor;
mod error;
mod ffi;
mod loader;
mod options;
mod placement;
mod provider;
mod session;
mod work;

pub use attempt::{Attempt, LibraryAttempt};
pub use device::{DeviceInfo, DeviceKind, QNN_EP};
pub use error::{ProviderError, RuntimeError};
pub use loader::{LoadedLibrary, PluginState, PluginStatus, RuntimeConfig};
pub use options::{QnnOptions, SessionDefaults};
pub use placement::{AssignedNode, AssignedSubgraph, Placement};
pub use provider::{ActiveProvider, CPU_EP, EpShare, GraphPlacement, MIN_WEIGHT_WORK_SHARE, ProviderChoice};
pub use session::{ModelSource, ProvidedSession, SessionRequest};
pub use work::{EpWork, LeftBehind};

/// Re-exported so crates above can name tensors and sessions without depending on `ort` directly
/// at a different version.
pub use ort;

pub use loader::{Runtime, repository_root};
