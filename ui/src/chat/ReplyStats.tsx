import { formatMs, formatRate, shortEp } from "../common/format";
import { kindLabel } from "../doctor/format";
import type { Stats } from "../ipc";
import type { ReplyProvider } from "./storedReply";

/** The numbers under a reply: decode speed, time to first token, token counts, provider. */
export function ReplyStats({
  stats,
  provider,
}: {
  stats: Stats | null;
  provider: ReplyProvider | null;
}) {
  if (stats === null && provider === null) {
    return null;
  }
  return (
    <ul className="reply-stats" data-testid="reply-stats" aria-label="Reply statistics">
      {stats !== null && (
        <>
          <li title="Generated tokens per second, after the first">
            <span className="strong">{formatRate(stats.decodeTokensPerSecond)}</span> tok/s
          </li>
          <li title="Time to first token">
            <span className="visually-hidden">Time to first token </span>
            <span aria-hidden="true">TTFT </span>
            {formatMs(stats.timeToFirstTokenMs)}
          </li>
          <li>
            {stats.promptTokens} prompt · {stats.generatedTokens} generated tokens
          </li>
        </>
      )}
      {provider !== null && <li>{describeReplyProvider(provider)}</li>}
    </ul>
  );
}

/**
 * "NPU · OpenVINO (Intel NPU)", "CPU (AMD Ryzen)" for ORT's own CPU EP (whose short name would
 * only repeat the kind), or the engine's summary when only that was stored.
 */
export function describeReplyProvider(provider: ReplyProvider): string {
  if (provider.kind === "summary") {
    return provider.text;
  }
  const { deviceKind, ep, deviceName } = provider.provider;
  const kind = kindLabel(deviceKind);
  const short = shortEp(ep);
  return short === kind ? `${kind} (${deviceName})` : `${kind} · ${short} (${deviceName})`;
}
