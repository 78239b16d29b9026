// Pure presentation logic for the doctor screen, kept apart from the components so it can be
// tested without rendering.
import { PROVIDER_POLICIES } from "../ipc";
import type { DeviceKind, DoctorReport, ProviderAttempt, ProviderResolution } from "../ipc";

const KIND_LABELS: Record<DeviceKind, string> = { cpu: "CPU", gpu: "GPU", npu: "NPU" };

/** "CPU", "GPU" or "NPU". */
export function kindLabel(kind: DeviceKind): string {
  return KIND_LABELS[kind];
}

/**
 * The share of graph nodes an EP took, as a percentage a person can trust at a glance.
 *
 * Plain rounding would lie at the edges: 199 of 200 nodes is not "100%" (one node still runs
 * elsewhere, which is exactly what the user wants to know), and 1 of 300 is not "0%". Those cases
 * read ">99%" and "<1%". Without a node count there is no share: "n/a".
 */
export function formatShare(nodesOnEp: number, nodesTotal: number): string {
  if (!Number.isFinite(nodesTotal) || nodesTotal <= 0 || nodesOnEp < 0) {
    return "n/a";
  }
  if (nodesOnEp >= nodesTotal) {
    return "100%";
  }
  if (nodesOnEp === 0) {
    return "0%";
  }
  const percent = Math.round((nodesOnEp / nodesTotal) * 100);
  if (percent >= 100) {
    return ">99%";
  }
  if (percent <= 0) {
    return "<1%";
  }
  return `${percent}%`;
}

/** `nodesOnEp / nodesTotal` clamped to [0, 1], for drawing bars; 0 without a node count. */
export function shareFraction(nodesOnEp: number, nodesTotal: number): number {
  if (!Number.isFinite(nodesTotal) || nodesTotal <= 0) {
    return 0;
  }
  return Math.min(1, Math.max(0, nodesOnEp / nodesTotal));
}

/**
 * A count of multiply-accumulates per token, in the unit that keeps it short: "134.5 M",
 * "20.5 k", "512".
 */
export function formatMacs(macs: number): string {
  if (!Number.isFinite(macs) || macs < 0) {
    return "n/a";
  }
  if (macs >= 1e9) {
    return `${(macs / 1e9).toFixed(1)} G`;
  }
  if (macs >= 1e6) {
    return `${(macs / 1e6).toFixed(1)} M`;
  }
  if (macs >= 1e3) {
    return `${(macs / 1e3).toFixed(1)} k`;
  }
  return String(Math.round(macs));
}

/** "12 of 40 nodes", with the singular where it applies. */
export function formatNodeCount(nodes: number, total: number): string {
  return `${nodes} of ${total} ${total === 1 ? "node" : "nodes"}`;
}

/** PCI-style vendor and device ids read as hex ("0x8086"); ORT reports them as integers. */
export function formatHexId(id: number): string {
  return `0x${id.toString(16).padStart(4, "0")}`;
}

/** A person-readable label for a provider choice: policies are explained, EP names kept. */
export function describeChoice(choice: string): string {
  switch (choice) {
    case "auto":
      return "Auto (NPU → GPU → CPU)";
    case "npu":
      return "NPU";
    case "gpu":
      return "GPU";
    case "cpu":
      return "CPU";
    default:
      return choice;
  }
}

/**
 * The execution-provider names worth offering in the selector: every EP that has at least one
 * device, each once, in ORT's order. A plugin that registered but found no device is left out:
 * choosing it could only fail, and the libraries card already says it loaded.
 */
export function discoveredEpNames(report: DoctorReport | null): string[] {
  if (report === null) {
    return [];
  }
  const policies: readonly string[] = PROVIDER_POLICIES;
  return [...new Set(report.devices.map((device) => device.epName))].filter(
    (name) => name !== "" && !policies.includes(name),
  );
}

/**
 * Every refused attempt, in order. The runtime may keep them on the resolution, on the active
 * provider, or both (the same list); show them once.
 */
export function failedAttempts(provider: ProviderResolution): ProviderAttempt[] {
  const seen = new Set<string>();
  const attempts: ProviderAttempt[] = [];
  for (const attempt of [...provider.tried, ...(provider.active?.tried ?? [])]) {
    const key = `${attempt.ep}\u0000${attempt.device}\u0000${attempt.reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      attempts.push(attempt);
    }
  }
  return attempts;
}

/** Metadata entries sorted by key, so two runs on the same machine read the same. */
export function sortedEntries(metadata: Record<string, string>): [string, string][] {
  return Object.entries(metadata).sort(([a], [b]) => a.localeCompare(b));
}

/** One slice of the placement bar. */
export interface PlacementSegment {
  ep: string;
  nodes: number;
  /** True for the EP the session was built for; the bar draws it in the accent colour. */
  active: boolean;
}

/**
 * The slices of the placement bar: the active EP first, then the others by node count.
 *
 * When the runtime sends no per-EP placement (a precompiled model only reports its context
 * node), the counts on the active provider still give "on the EP" and "elsewhere".
 */
export function placementSegments(
  active: {
    ep: string;
    nodesOnEp: number;
    nodesTotal: number;
    placement: { ep: string; nodes: number }[];
  },
): PlacementSegment[] {
  const fromPlacement = active.placement
    .filter((slice) => slice.nodes > 0)
    .map((slice) => ({ ep: slice.ep, nodes: slice.nodes, active: slice.ep === active.ep }));
  if (fromPlacement.length > 0) {
    return fromPlacement.sort(
      (a, b) => Number(b.active) - Number(a.active) || b.nodes - a.nodes,
    );
  }
  const segments: PlacementSegment[] = [];
  if (active.nodesOnEp > 0) {
    segments.push({ ep: active.ep, nodes: active.nodesOnEp, active: true });
  }
  const elsewhere = active.nodesTotal - active.nodesOnEp;
  if (elsewhere > 0) {
    segments.push({ ep: "Other providers", nodes: elsewhere, active: false });
  }
  return segments;
}

/**
 * The device part of an attempt, or null when the runtime has none to name: it writes "-" when
 * a policy (say `npu`) found no device of that kind at all, and showing a dash adds nothing.
 */
export function attemptDevice(device: string): string | null {
  const trimmed = device.trim();
  return trimmed === "" || trimmed === "-" ? null : trimmed;
}
