/**
 * A progress bar drawn in SVG, so its width is an attribute: the app's CSP allows no inline
 * styles. With `fraction` null the bar is indeterminate (a moving stripe, and no aria-valuenow,
 * as ARIA asks for work of unknown length).
 */
export function ProgressBar({
  fraction,
  label,
  valueText,
  testId,
}: {
  fraction: number | null;
  label: string;
  valueText?: string;
  testId?: string;
}) {
  const clamped = fraction === null ? null : Math.min(1, Math.max(0, fraction));
  const percent = clamped === null ? undefined : Math.round(clamped * 100);
  return (
    <div
      className={clamped === null ? "progress progress-indeterminate" : "progress"}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={valueText}
      data-testid={testId}
    >
      <svg viewBox="0 0 1000 8" preserveAspectRatio="none" aria-hidden="true" focusable="false">
        <rect className="progress-track" x={0} y={0} width={1000} height={8} />
        {clamped === null ? (
          <rect className="progress-fill progress-stripe" x={0} y={0} width={300} height={8} />
        ) : (
          <rect className="progress-fill" x={0} y={0} width={clamped * 1000} height={8} />
        )}
      </svg>
    </div>
  );
}
