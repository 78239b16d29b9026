import { fileName, formatDuration, formatRate, plural } from "../common/format";
import { ProgressBar } from "../common/ProgressBar";
import type { Progress } from "../ipc";

const PHASES: Record<Progress["phase"], string> = {
  scanning: "Looking for files in",
  indexing: "Indexing",
  done: "Finished indexing",
  cancelled: "Stopped indexing",
};

/** Files settled out of files found, 0..1; 0 while nothing was found yet. */
export function indexFraction(progress: Progress): number {
  return progress.filesTotal > 0 ? Math.min(1, progress.filesDone / progress.filesTotal) : 0;
}

/** A run's progress: counts, rates, time left, the file being read, and Cancel. */
export function IndexProgress({
  progress,
  onCancel,
}: {
  progress: Progress;
  onCancel: () => void;
}) {
  const running = progress.phase === "scanning" || progress.phase === "indexing";
  const files = `${progress.filesDone.toLocaleString("en")} of ${plural(progress.filesTotal, "file")}`;
  return (
    <section className="card index-progress" aria-label="Indexing progress">
      <header className="card-header">
        <h2>
          {PHASES[progress.phase]} <span className="mono">{fileName(progress.source)}</span>
        </h2>
        {running && (
          <button type="button" className="button button-secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </header>
      <ProgressBar
        fraction={indexFraction(progress)}
        label="Indexing progress"
        valueText={files}
        testId="index-progress"
      />
      <ul className="progress-facts small">
        <li>{files}</li>
        <li>{plural(progress.chunksDone, "chunk")}</li>
        {progress.filesSkipped > 0 && <li>{plural(progress.filesSkipped, "file")} skipped</li>}
        {running && (
          <li>
            {formatRate(progress.filesPerSecond)} files/s · {formatRate(progress.chunksPerSecond)}{" "}
            chunks/s
          </li>
        )}
        {running && progress.etaSeconds !== null && (
          <li>about {formatDuration(progress.etaSeconds)} left</li>
        )}
      </ul>
      {running && progress.current !== null && (
        <p className="muted small mono current-file" title={progress.current}>
          {progress.current}
        </p>
      )}
    </section>
  );
}
