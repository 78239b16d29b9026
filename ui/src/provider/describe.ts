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
 * The first real device that was tried and refused, as a sentence. Attempts without a device
 * ("no NPU found on this machine") are not fallbacks: there was nothing to fall back from.
 */
export function refusedDevice(provider: ActiveProvider): string | null {
  const refused = provider.tried.find((attempt) => attempt.device !== "-");
  return refused === undefined
    ? null
    : `It fell back: ${refused.ep} on ${refused.device} could not run it (${refused.reason}).`;
}

/** The share in an engine summary (`...: 120/120 nodes (100%)`), formatted as the badge does. */
function shareInSummary(summary: string): string | null {
  const match = /(\d+)\/(\d+) nodes/.exec(summary);
  return match?.[1] === undefined || match[2] === undefined
    ? null
    : formatShare(Number(match[1]), Number(match[2]));
}

/** The badge's small text: the EP and the share, without repeating what the kind says. */
function faceDetail(ep: string, kind: ActiveProvider["deviceKind"] | null, share: string | null): string {
  // ORT's own CPU EP shortens to "CPU", which the kind already says.
  const sameAsKind = kind !== null && ep === kindLabel(kind);
  if (share === null) {
    return ep;
  }
  return sameAsKind ? `${share} of nodes` : `${ep} · ${share}`;
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
      detail: faceDetail(shortEp(ep), kind, shareInSummary(slot.switched.to)),
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
  const detail = faceDetail(ep, provider.deviceKind, share);
  // A move during a reply (`provider-changed` with a reason) is a fallback too, though the CPU
  // session it moved to was asked for directly and lists no refused device.
  const fallback =
    refusedDevice(provider) ??
    (slot.reason === null ? null : `It fell back after a failure during a reply: ${slot.reason}.`);
  let runs = `The chat model runs on the ${kindLabel(provider.deviceKind)} with ${provider.ep}, ${share} of nodes.`;
  if (slot.error !== null) {
    runs = `${runs} The last load failed, so the model loaded before keeps answering: ${slot.error.message}`;
  }
  return {
    tone: provider.deviceKind,
    kind: kindLabel(provider.deviceKind),
    detail,
    sentence: fallback === null ? runs : `${runs} ${fallback}`,
    fallback,
  };
}
