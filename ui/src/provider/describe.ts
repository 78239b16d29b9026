// What the badge says, as pure functions of a model slot (tested in providerBadge.test.tsx).
import { formatShare, kindLabel } from "../doctor/format";
import { shortEp } from "../common/format";
import type { ActiveProvider } from "../ipc";
import { epInSummary, kindInSummary, type ModelSlot } from "./providerState";

export type BadgeTone = "npu" | "gpu" | "cpu" | "loading" | "failed" | "none";

export interface BadgeText {
  tone: BadgeTone;
  /** The big label: NPU / GPU / CPU, or the state. */
  kind: string;
  /** The EP and the share of nodes on it, when a provider is known. */
  detail: string | null;
  /** One sentence for screen readers and the tooltip. */
  sentence: string;
  /**
   * Set when a device that exists refused the model and another one runs it instead: the face
   * says so, because "CPU" alone reads as if the CPU had been the plan.
   */
  fallback: string | null;
}

/**
 * The first real device that was tried and refused, as "EP on device: reason". Attempts without a
 * device ("no NPU found on this machine") are not fallbacks: there was nothing to fall back from.
 */
export function refusedDevice(provider: ActiveProvider): string | null {
  const refused = provider.tried.find((attempt) => attempt.device !== "-");
  return refused === undefined ? null : `${refused.ep} on ${refused.device}: ${refused.reason}`;
}

/** The badge for the chat model. */
export function describeSlot(slot: ModelSlot, known: boolean): BadgeText {
  if (!known) {
    return {
      tone: "loading",
      kind: "Checking",
      detail: null,
      sentence: "Checking the model…",
      fallback: null,
    };
  }
  if (slot.state === "loading") {
    const name = slot.model === "" ? "the model" : slot.model;
    return {
      tone: "loading",
      kind: "Loading",
      detail: name,
      sentence: `Loading ${name}…`,
      fallback: null,
    };
  }
  if (slot.state === "failed") {
    return {
      tone: "failed",
      kind: "Failed",
      detail: slot.model === "" ? null : slot.model,
      sentence: `The model could not be loaded: ${slot.error?.message ?? "unknown error"}`,
      fallback: null,
    };
  }
  if (slot.switched !== null) {
    // A fallback inside a reply: only the engine's summary is known until provider-changed.
    const kind = kindInSummary(slot.switched.to);
    const ep = epInSummary(slot.switched.to);
    return {
      tone: kind ?? "cpu",
      kind: kind === null ? "Switched" : kindLabel(kind),
      detail: shortEp(ep),
      sentence: `The chat model fell back to ${ep}: ${slot.switched.reason}`,
      fallback: `${slot.switched.from}: ${slot.switched.reason}`,
    };
  }
  const { provider } = slot;
  if (provider === null) {
    return {
      tone: "none",
      kind: "No model",
      detail: null,
      sentence: "No chat model is loaded.",
      fallback: null,
    };
  }
  const share = formatShare(provider.nodesOnEp, provider.nodesTotal);
  const ep = shortEp(provider.ep);
  const fallback = refusedDevice(provider);
  let runs = `The chat model runs on the ${kindLabel(provider.deviceKind)} with ${provider.ep}, ${share} of nodes.`;
  if (slot.error !== null) {
    runs = `${runs} The last load failed, so the model loaded before keeps answering: ${slot.error.message}`;
  }
  return {
    tone: provider.deviceKind,
    kind: kindLabel(provider.deviceKind),
    // ORT's own CPU EP shortens to "CPU", which the kind already says.
    detail: ep === kindLabel(provider.deviceKind) ? `${share} of nodes` : `${ep} · ${share}`,
    sentence: fallback === null ? runs : `${runs} It fell back from ${fallback}`,
    fallback,
  };
}
