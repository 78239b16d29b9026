// A stored message's `stats`, `provider` and `sources` are free JSON in the engine's database
// (`Option<Value>`), written by whatever version stored them. They are checked here before the
// UI trusts their shape; anything unexpected is simply not shown.
import type { ActiveProvider, CitedSource, Stats } from "../ipc";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const STAT_FIELDS = [
  "promptTokens",
  "generatedTokens",
  "timeToFirstTokenMs",
  "prefillTokensPerSecond",
  "decodeTokensPerSecond",
  "totalMs",
] as const;

export function readStats(value: unknown): Stats | null {
  if (!isRecord(value) || !STAT_FIELDS.every((field) => typeof value[field] === "number")) {
    return null;
  }
  return value as unknown as Stats;
}

/** The provider a reply ran on: an `ActiveProvider`, or the engine's one-line summary. */
export type ReplyProvider =
  { kind: "active"; provider: ActiveProvider } | { kind: "summary"; text: string };

export function readProvider(value: unknown): ReplyProvider | null {
  if (typeof value === "string" && value !== "") {
    return { kind: "summary", text: value };
  }
  if (
    isRecord(value) &&
    typeof value.ep === "string" &&
    typeof value.deviceName === "string" &&
    (value.deviceKind === "cpu" || value.deviceKind === "gpu" || value.deviceKind === "npu")
  ) {
    return { kind: "active", provider: value as unknown as ActiveProvider };
  }
  return null;
}

function isCitedSource(value: unknown): value is CitedSource {
  return (
    isRecord(value) &&
    typeof value.number === "number" &&
    typeof value.path === "string" &&
    Array.isArray(value.lines) &&
    value.lines.length === 2
  );
}

export function readSources(value: unknown): CitedSource[] {
  return Array.isArray(value) ? value.filter(isCitedSource) : [];
}
