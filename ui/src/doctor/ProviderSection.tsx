import type { ActiveProvider, ProviderAttempt, ProviderResolution } from "../ipc";
import {
  attemptDevice,
  describeChoice,
  failedAttempts,
  formatNodeCount,
  formatShare,
  kindLabel,
  placementSegments,
} from "./format";
import { CheckIcon, CrossIcon } from "./icons";
import { Section, StatusPill } from "./Section";

/**
 * How the requested choice was resolved: each provider tried in order, why the refused ones
 * were refused, and where the probe model's nodes really landed.
 */
export function ProviderSection({ provider }: { provider: ProviderResolution | null }) {
  if (provider === null) {
    return (
      <Section title="Provider resolution" aside={<StatusPill tone="neutral">Not checked</StatusPill>}>
        <p className="muted">
          Providers are checked by building a small probe session, which needs ONNX Runtime.
        </p>
      </Section>
    );
  }
  const attempts = failedAttempts(provider);
  const { active } = provider;
  return (
    <Section
      title="Provider resolution"
      aside={
        active === null ? (
          <StatusPill tone="bad">No provider</StatusPill>
        ) : (
          <StatusPill tone="good">{kindLabel(active.deviceKind)}</StatusPill>
        )
      }
    >
      <dl className="facts">
        <div>
          <dt>Requested</dt>
          <dd>{describeChoice(provider.requested)}</dd>
        </div>
        {active !== null && (
          <div>
            <dt>Active</dt>
            <dd>
              <span className="strong">{active.ep}</span>
              <span className="muted"> on {active.deviceName}</span>
            </dd>
          </div>
        )}
      </dl>

      {active !== null && <PlacementBar active={active} />}

      <h3 className="subheading">Attempts</h3>
      <ol className="attempts" aria-label="Provider attempts">
        {attempts.map((attempt, index) => (
          <FailedAttempt key={`${attempt.ep}-${attempt.device}-${String(index)}`} attempt={attempt} />
        ))}
        {active !== null ? (
          <li className="attempt attempt-ok">
            <CheckIcon className="attempt-icon" />
            <span className="attempt-title">
              <span className="strong">{active.ep}</span>
              <span className="muted"> · {active.deviceName}</span>
            </span>
            <span className="attempt-reason">
              Session built, {formatNodeCount(active.nodesOnEp, active.nodesTotal)} on this
              provider
            </span>
          </li>
        ) : (
          <li className="attempt attempt-failed">
            <CrossIcon className="attempt-icon" />
            <span className="attempt-title strong">No provider could be used</span>
            <span className="attempt-reason">{provider.error ?? "No device matched the choice."}</span>
          </li>
        )}
      </ol>
    </Section>
  );
}

function FailedAttempt({ attempt }: { attempt: ProviderAttempt }) {
  const device = attemptDevice(attempt.device);
  return (
    <li className="attempt attempt-failed">
      <CrossIcon className="attempt-icon" />
      <span className="attempt-title">
        <span className="strong">{attempt.ep}</span>
        {device !== null && <span className="muted"> · {device}</span>}
      </span>
      <span className="attempt-reason">{attempt.reason}</span>
    </li>
  );
}

/**
 * A stacked bar of node counts per EP, drawn in SVG so the widths are attributes: the CSP
 * allows no inline styles. The legend below says the same in text for screen readers.
 */
export function PlacementBar({ active }: { active: ActiveProvider }) {
  const segments = placementSegments(active);
  const total = segments.reduce((sum, segment) => sum + segment.nodes, 0);
  const share = formatShare(active.nodesOnEp, active.nodesTotal);
  // Each slice starts where the previous ones end, on a 0..1000 scale.
  const starts = segments.map((_, index) =>
    segments.slice(0, index).reduce((sum, segment) => sum + (segment.nodes / total) * 1000, 0),
  );
  return (
    <figure className="placement">
      <figcaption className="placement-caption">
        <span className="placement-share">{share}</span>
        <span className="muted">
          of nodes on {active.ep} ({formatNodeCount(active.nodesOnEp, active.nodesTotal)})
        </span>
      </figcaption>
      {total > 0 && (
        <svg
          className="placement-bar"
          viewBox="0 0 1000 10"
          preserveAspectRatio="none"
          role="img"
          aria-label={`${share} of ${String(active.nodesTotal)} nodes on ${active.ep}`}
        >
          {segments.map((segment, index) => {
            return (
              <rect
                key={segment.ep}
                className={segment.active ? "segment-active" : `segment-other segment-${String(index % 4)}`}
                x={starts[index]}
                y={0}
                width={(segment.nodes / total) * 1000}
                height={10}
              />
            );
          })}
        </svg>
      )}
      {segments.length > 0 && (
        <ul className="placement-legend" aria-label="Nodes per provider">
          {segments.map((segment, index) => (
            <li key={segment.ep}>
              <span
                className={`swatch ${segment.active ? "segment-active" : `segment-other segment-${String(index % 4)}`}`}
                aria-hidden="true"
              />
              <span>{segment.ep}</span>
              <span className="muted">
                {segment.nodes} ({formatShare(segment.nodes, total)})
              </span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
