// Hand-written mirror of `onyx_runtime::doctor::DoctorReport` (serde, camelCase) and of the shell's
// `{code, message}` error. Keep it in step with the Rust side: src/doctor/fixtures.ts holds a
// report in the exact JSON shape, and the tests render it.

/** The kind of hardware a device is, as ONNX Runtime classifies it. */
export type DeviceKind = "cpu" | "gpu" | "npu";

/** One location tried while looking for the ONNX Runtime shared library. */
export interface LibraryAttempt {
  path: string;
  reason: string;
}

/** Whether ONNX Runtime itself could be loaded; nothing else works without it. */
export type RuntimeStatus =
  | {
      status: "loaded";
      path: string;
      version: string;
      /** Candidate locations passed over before the one that loaded. */
      skipped?: LibraryAttempt[];
    }
  | { status: "failed"; error: string; tried: LibraryAttempt[] };

/** An execution-provider plugin library (OpenVINO, QNN, ...) and whether ORT accepted it. */
export interface PluginLibrary {
  epName: string;
  path: string;
  status: "registered" | "failed";
  error: string | null;
  /** How many devices the plugin added, when the runtime reports it. */
  deviceCount?: number;
}

/** A device that an execution provider offers, as listed by `Environment::devices()`. */
export interface Device {
  /** Position in ORT's device list, when the runtime reports it. */
  index?: number;
  epName: string;
  epVendor: string;
  hardwareVendor: string;
  vendorId: number;
  deviceId: number;
  kind: DeviceKind;
  epMetadata: Record<string, string>;
  hardwareMetadata: Record<string, string>;
}

/** One execution provider / device that was tried and refused, with ORT's reason. */
export interface ProviderAttempt {
  ep: string;
  device: string;
  reason: string;
}

/** How many graph nodes one execution provider took in the probe session. */
export interface Placement {
  ep: string;
  nodes: number;
}

/** The provider a session really runs on, with the measured share of nodes placed on it. */
export interface ActiveProvider {
  ep: string;
  deviceKind: DeviceKind;
  deviceName: string;
  nodesOnEp: number;
  nodesTotal: number;
  placement: Placement[];
  tried: ProviderAttempt[];
  /** The session came from a compiled EP-context cache; its share was measured at compile time. */
  fromCompiledCache?: boolean;
}

/** The outcome of resolving the requested provider choice to a real device. */
export interface ProviderResolution {
  requested: string;
  active: ActiveProvider | null;
  tried: ProviderAttempt[];
  error: string | null;
}

/** Everything `onyx doctor` knows about this machine. */
export interface DoctorReport {
  runtime: RuntimeStatus;
  plugins: PluginLibrary[];
  devices: Device[];
  /** Absent when ONNX Runtime did not load: without it no provider can be checked. */
  provider: ProviderResolution | null;
}

/**
 * What a failed command rejects with. `code` is stable and only exists where the UI branches on
 * it; `message` is for people.
 */
export interface IpcError {
  code: string;
  message: string;
}
