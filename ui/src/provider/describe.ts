// What the badge says, as pure functions of a model slot (tested in providerBadge.test.tsx).
import { formatShare, kindLabel } from "../doctor/format";
import { shortEp } from "../common/format";
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
}

/** The badge for the chat model. */
export function describeSlot(slot: ModelSlot, known: boolean): BadgeText {
  if (!known) {
    return { tone: "loading", kind: "Checking", detail: null, sentence: "Checking the model…" };
  }
  if (slot.state === "loading") {
    const name = slot.model === "" ? "the model" : slot.model;
    return { tone: "loading", kind: "Loading", detail: name, sentence: `Loading ${name}…` };
  }
  if (slot.state === "failed") {
    return {
      tone: "failed",
      kind: "Failed",
      detail: slot.model === "" ? null : slot.model,
      sentence: `The model could not be loaded: ${slot.error?.message ?? "unknown error"}`,
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
    };
  }
  const { provider } = slot;
  if (provider === null) {
    return { tone: "none", kind: "No model", detail: null, sentence: "No chat model is loaded." };
  }
  const share = formatShare(provider.nodesOnEp, provider.nodesTotal);
  const ep = shortEp(provider.ep);
  return {
    tone: provider.deviceKind,
    kind: kindLabel(provider.deviceKind),
    // ORT's own CPU EP shortens to "CPU", which the kind already says.
    detail: ep === kindLabel(provider.deviceKind) ? `${share} of nodes` : `${ep} · ${share}`,
    sentence: `The chat model runs on the ${kindLabel(provider.deviceKind)} with ${provider.ep}, ${share} of nodes.`,
  };
}
