import type { ReactNode } from "react";

import type { DoctorReport } from "../ipc";
import { formatNodeCount, formatShare, kindLabel } from "./format";
import { AlertIcon, CheckIcon, CrossIcon } from "./icons";

type SummaryTone = "good" | "warn" | "bad";

const ICONS: Record<SummaryTone, () => ReactNode> = {
  good: () => <CheckIcon />,
  warn: () => <AlertIcon />,
  bad: () => <CrossIcon />,
};

/** The frame every summary shares: a tone, its icon, a headline, a sentence, and an optional metric. */
function SummaryFrame({
  tone,
  title,
  children,
  metric,
}: {
  tone: SummaryTone;
  title: string;
  children: ReactNode;
  metric?: ReactNode;
}) {
  return (
    <section className={`summary summary-${tone}`} aria-label="Summary">
      <span className="summary-icon">{ICONS[tone]()}</span>
      <div className="summary-text">
        <h2>{title}</h2>
        <p>{children}</p>
      </div>
      {metric}
    </section>
  );
}

/**
 * The one-line answer at the top: where models will run, or what stops them from running.
 * It is the sentence a user reads; the cards below explain it.
 */
export function Summary({ report }: { report: DoctorReport }) {
  const { runtime, provider } = report;

  if (runtime.status === "failed") {
    return (
      <SummaryFrame tone="bad" title="ONNX Runtime is not loaded">
        {runtime.tried.length > 0
          ? `None of the ${String(runtime.tried.length)} places tried holds a usable ONNX Runtime library. Install it with scripts/setup.sh, or set ONYX_RUNTIME to a folder that has it.`
          : runtime.error}
      </SummaryFrame>
    );
  }

  if (provider === null) {
    return (
      <SummaryFrame tone="warn" title="Providers were not checked">
        ONNX Runtime {runtime.version} is loaded, but no probe session was built.
      </SummaryFrame>
    );
  }

  const { active } = provider;
  if (active === null) {
    return (
      <SummaryFrame tone="bad" title="No provider can run models">
        {provider.error ?? "Every provider that was tried refused the probe model."}
      </SummaryFrame>
    );
  }

  // A session that left nodes on another EP still works, but the user asked for this one and
  // should see that it is not all there.
  const partial =
    (active.nodesTotal > 0 && active.nodesOnEp < active.nodesTotal) ||
    (active.macsTotal > 0 && active.macsOnEp < active.macsTotal);
  return (
    <SummaryFrame
      tone={partial ? "warn" : "good"}
      title={`Models run on the ${kindLabel(active.deviceKind)}`}
      metric={
        <div className="summary-metric">
          <span className="summary-metric-value">{formatShare(active.nodesOnEp, active.nodesTotal)}</span>
          <span className="summary-metric-label">
            {formatNodeCount(active.nodesOnEp, active.nodesTotal)} on this provider
          </span>
        </div>
      }
    >
      {active.ep} <span className="muted">on {active.deviceName}</span>
      <span className="muted"> · ONNX Runtime {runtime.version}</span>
      {active.macsTotal > 0 && (
        <span className="muted">
          {" "}
          · {formatShare(active.macsOnEp, active.macsTotal)} of the weight work
        </span>
      )}
    </SummaryFrame>
  );
}
