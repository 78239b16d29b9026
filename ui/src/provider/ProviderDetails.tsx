import {
  attemptDevice,
  formatMacs,
  formatNodeCount,
  formatShare,
  kindLabel,
} from "../doctor/format";
import { CheckIcon, CrossIcon } from "../doctor/icons";
import type { ActiveProvider, ProviderAttempt } from "../ipc";
import type { ModelSlot, ProviderState } from "./providerState";

/** The badge's popover: for each model, where it runs and every device tried before it. */
export function ProviderDetails({ id, status }: { id: string; status: ProviderState }) {
  return (
    <div
      id={id}
      className="popover"
      role="group"
      aria-label="Provider details"
      data-testid="provider-details"
    >
      <SlotDetails title="Chat model" slot={status.chat} />
      <SlotDetails title="Embedding model" slot={status.embedding} compact />
      {status.error !== null && (
        <p className="row-error">The app status could not be read: {status.error.message}</p>
      )}
    </div>
  );
}

const STATE_LABELS: Record<ModelSlot["state"], string> = {
  none: "Not loaded",
  loading: "Loading…",
  ready: "Ready",
  failed: "Failed to load",
};

function SlotDetails({
  title,
  slot,
  compact = false,
}: {
  title: string;
  slot: ModelSlot;
  compact?: boolean;
}) {
  const { provider } = slot;
  return (
    <section className="popover-section">
      <h3 className="subheading">{title}</h3>
      <p>
        <span className="strong">{slot.model === "" ? "None chosen" : slot.model}</span>
        <span className="muted"> · {STATE_LABELS[slot.state]}</span>
      </p>
      {slot.error !== null && (
        <p className="row-error">
          {slot.error.message} <span className="muted">({slot.error.code})</span>
        </p>
      )}
      {provider !== null && (
        <p>
          {kindLabel(provider.deviceKind)} · <span className="mono">{provider.ep}</span> on{" "}
          {provider.deviceName}
          <br />
          <span className="muted">
            {formatShare(provider.nodesOnEp, provider.nodesTotal)} of nodes (
            {formatNodeCount(provider.nodesOnEp, provider.nodesTotal)})
            {provider.fromCompiledCache ? ", from the compiled cache" : ""}
          </span>
        </p>
      )}
      {provider !== null && <WeightWork provider={provider} />}
      {provider !== null && provider.graphs.length > 1 && (
        <ul className="small muted" aria-label="Graphs" data-testid="provider-graphs">
          {provider.graphs.map((graph) => (
            <li key={graph.graph}>
              <span className="mono">{graph.graph}</span>:{" "}
              {formatShare(graph.nodesOnEp, graph.nodesTotal)} of nodes (
              {formatNodeCount(graph.nodesOnEp, graph.nodesTotal)})
            </li>
          ))}
        </ul>
      )}
      {slot.switched !== null && (
        <p className="callout callout-warn small">
          Fell back during a reply: {slot.switched.from} → {slot.switched.to}.{" "}
          {slot.switched.reason}
        </p>
      )}
      {slot.reason !== null && slot.switched === null && (
        <p className="callout callout-warn small">
          Moved here after a failure during a reply: {slot.reason}
        </p>
      )}
      {!compact && provider !== null && slot.reason === null && (
        <Attempts tried={provider.tried} active={provider.ep} />
      )}
    </section>
  );
}

/**
 * The share of the model's weight multiply-accumulates on the provider's EP, and what it left
 * elsewhere with the EP's reasons: a node share can be high while the weights run on the CPU.
 */
function WeightWork({ provider }: { provider: ActiveProvider }) {
  if (provider.macsTotal <= 0) {
    return provider.workNote === null ? null : <p className="small muted">{provider.workNote}</p>;
  }
  return (
    <>
      <p className="small" data-testid="provider-weight-work">
        {formatShare(provider.macsOnEp, provider.macsTotal)} of the weight work on{" "}
        <span className="mono">{provider.ep}</span>{" "}
        <span className="muted">
          ({formatMacs(provider.macsOnEp)} of {formatMacs(provider.macsTotal)} multiply-accumulates
          per token)
        </span>
      </p>
      {provider.leftBehind.length > 0 && (
        <ul className="small muted" aria-label="Left on other providers" data-testid="provider-left-behind">
          {provider.leftBehind.map((left) => (
            <li key={`${left.opType}-${left.ep}`}>
              <span className="mono">{left.opType}</span> ×{left.nodes} on {left.ep}
              {left.reason === null ? " (no reason given by the provider)" : `: ${left.reason}`}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Attempts({ tried, active }: { tried: ProviderAttempt[]; active: string }) {
  return (
    <ol className="attempts popover-attempts" aria-label="Devices tried">
      {tried.map((attempt, index) => {
        const device = attemptDevice(attempt.device);
        return (
          <li key={`${attempt.ep}-${String(index)}`} className="attempt attempt-failed">
            <CrossIcon className="attempt-icon" />
            <span className="attempt-title">
              <span className="strong">{attempt.ep}</span>
              {device !== null && <span className="muted"> · {device}</span>}
            </span>
            <span className="attempt-reason">{attempt.reason}</span>
          </li>
        );
      })}
      <li className="attempt attempt-ok">
        <CheckIcon className="attempt-icon" />
        <span className="attempt-title strong">{active}</span>
        <span className="attempt-reason">
          {tried.length === 0 ? "The first choice worked." : "Used after the fallbacks above."}
        </span>
      </li>
    </ol>
  );
}
