import type { DoctorReport } from "../ipc";
import { formatNodeCount, formatShare, kindLabel } from "./format";
import { AlertIcon, CheckIcon, CrossIcon } from "./icons";

/**
 * The one-line answer at the top: where models will run, or what stops them from running.
 * It is the sentence a user reads; the cards below explain it.
 */
export function Summary({ report }: { report: DoctorReport }) {
  const { runtime, provider } = report;

  if (runtime.status === "failed") {
    return (
      <section className="summary summary-bad" aria-label="Summary">
        <span className="summary-icon">
          <CrossIcon />
        </span>
        <div className="summary-text">
          <h2>ONNX Runtime is not loaded</h2>
          <p>
            {runtime.tried.length > 0
              ? `None of the ${String(runtime.tried.length)} places tried holds a usable ONNX Runtime library. Install it with scripts/setup.sh, or set ONYX_RUNTIME to a folder that has it.`
              : runtime.error}
          </p>
        </div>
      </section>
    );
  }

  if (provider === null) {
    return (
      <section className="summary summary-warn" aria-label="Summary">
        <span className="summary-icon">
          <AlertIcon />
        </span>
        <div className="summary-text">
          <h2>Providers were not checked</h2>
          <p>ONNX Runtime {runtime.version} is loaded, but no probe session was built.</p>
        </div>
      </section>
    );
  }

  const { active } = provider;
  if (active === null) {
    return (
      <section className="summary summary-bad" aria-label="Summary">
        <span className="summary-icon">
          <CrossIcon />
        </span>
        <div className="summary-text">
          <h2>No provider can run models</h2>
          <p>{provider.error ?? "Every provider that was tried refused the probe model."}</p>
        </div>
      </section>
    );
  }

  // A session that left nodes on another EP still works, but the user asked for this one and
  // should see that it is not all there.
  const partial = active.nodesTotal > 0 && active.nodesOnEp < active.nodesTotal;
  return (
    <section className={`summary ${partial ? "summary-warn" : "summary-good"}`} aria-label="Summary">
      <span className="summary-icon">{partial ? <AlertIcon /> : <CheckIcon />}</span>
      <div className="summary-text">
        <h2>Models run on the {kindLabel(active.deviceKind)}</h2>
        <p>
          {active.ep} <span className="muted">on {active.deviceName}</span>
          <span className="muted"> · ONNX Runtime {runtime.version}</span>
        </p>
      </div>
      <div className="summary-metric">
        <span className="summary-metric-value">{formatShare(active.nodesOnEp, active.nodesTotal)}</span>
        <span className="summary-metric-label">
          {formatNodeCount(active.nodesOnEp, active.nodesTotal)} on this provider
        </span>
      </div>
    </section>
  );
}
