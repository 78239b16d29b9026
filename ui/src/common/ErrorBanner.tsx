import type { ReactNode } from "react";

import { AlertIcon, CrossIcon } from "../doctor/icons";
import type { IpcError } from "../ipc";

/**
 * A failed command, shown where it happened: what could not be done, the shell's message, and its
 * code (what a bug report needs). `role="alert"` so screen readers hear it when it appears.
 */
export function ErrorBanner({
  title,
  error,
  action,
  onDismiss,
  className,
}: {
  title: string;
  error: IpcError;
  /** A way out, e.g. a link to the settings for `no_model`. */
  action?: ReactNode;
  onDismiss?: () => void;
  className?: string;
}) {
  return (
    <div
      className={`callout callout-bad banner ${className ?? ""}`}
      role="alert"
      data-testid="error-banner"
    >
      <AlertIcon className="banner-icon" />
      <div className="banner-body">
        <p className="strong">{title}</p>
        <p className="selectable">{error.message}</p>
        <p className="muted small">Error code: {error.code}</p>
        {action}
      </div>
      {onDismiss !== undefined && (
        <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
          <CrossIcon />
        </button>
      )}
    </div>
  );
}
