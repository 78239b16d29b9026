import type { LibraryAttempt, RuntimeStatus } from "../ipc";
import { Section, StatusPill } from "./Section";

/** Where ONNX Runtime was loaded from, or every place that was tried and why each failed. */
export function RuntimeSection({
  runtime,
  className,
}: {
  runtime: RuntimeStatus;
  className?: string | undefined;
}) {
  if (runtime.status === "loaded") {
    const skipped = runtime.skipped;
    return (
      <Section
        title="ONNX Runtime"
        aside={<StatusPill tone="good">Loaded</StatusPill>}
        className={className}
      >
        <dl className="facts">
          <div>
            <dt>Version</dt>
            <dd>{runtime.version}</dd>
          </div>
          <div>
            <dt>Library</dt>
            <dd className="mono selectable">{runtime.path}</dd>
          </div>
        </dl>
        {skipped.length > 0 && (
          <details className="metadata skipped">
            <summary>
              Passed over <span className="muted">({skipped.length})</span>
            </summary>
            <AttemptedPaths attempts={skipped} label="Paths passed over" />
          </details>
        )}
      </Section>
    );
  }
  return (
    <Section
      title="ONNX Runtime"
      aside={<StatusPill tone="bad">Not loaded</StatusPill>}
      className={className}
    >
      <p className="callout callout-bad">{runtime.error}</p>
      {runtime.tried.length > 0 ? (
        <>
          <h3 className="subheading">Paths tried</h3>
          <AttemptedPaths attempts={runtime.tried} label="Paths tried" />
        </>
      ) : (
        <p className="muted">No library path was tried.</p>
      )}
    </Section>
  );
}

function AttemptedPaths({ attempts, label }: { attempts: LibraryAttempt[]; label: string }) {
  return (
    <ol className="attempts attempts-paths" aria-label={label}>
      {attempts.map((attempt, index) => (
        <li key={`${attempt.path}-${String(index)}`} className="attempt attempt-failed">
          <span className="mono selectable attempt-title">{attempt.path}</span>
          <span className="attempt-reason">{attempt.reason}</span>
        </li>
      ))}
    </ol>
  );
}
