// Inline SVG icons: the CSP allows no remote content, and an icon font would be one more asset.
// Every icon is decorative (aria-hidden); the text next to it carries the meaning.
import type { ReactNode } from "react";

import type { DeviceKind } from "../ipc";

export function Icon({ children, className }: { children: ReactNode; className?: string | undefined }) {
  return (
    <svg
      className={className === undefined ? "icon" : `icon ${className}`}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

export function CheckIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <path d="M5 12.5l4.5 4.5L19 7.5" />
    </Icon>
  );
}

export function CrossIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <path d="M7 7l10 10M17 7L7 17" />
    </Icon>
  );
}

export function AlertIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <path d="M12 3.5l9.5 16.5h-19z" />
      <path d="M12 10v4.5M12 17.5v.01" />
    </Icon>
  );
}

export function RefreshIcon({ className }: { className?: string }) {
  return (
    <Icon className={className}>
      <path d="M20 11a8 8 0 0 0-14.3-4.9L4 8" />
      <path d="M4 4v4h4" />
      <path d="M4 13a8 8 0 0 0 14.3 4.9L20 16" />
      <path d="M20 20v-4h-4" />
    </Icon>
  );
}

/** The app's mark: a faceted stone, drawn with the accent colour. */
export function OnyxMark() {
  return (
    <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <path className="brand-mark-back" d="M16 2l12 8v12l-12 8-12-8V10z" />
      <path className="brand-mark-face" d="M16 2l12 8-12 6-12-6z" />
      <path className="brand-mark-edge" d="M16 16v14M4 10l12 6 12-6" />
    </svg>
  );
}

/** A chip for CPUs and NPUs (the NPU gets a neural mesh inside), a card for GPUs. */
export function DeviceKindIcon({ kind }: { kind: DeviceKind }) {
  if (kind === "gpu") {
    return (
      <Icon>
        <rect x="2.5" y="6" width="19" height="11" rx="1.5" />
        <circle cx="15" cy="11.5" r="3" />
        <path d="M6 9.5h4M6 13h4M5 17v2.5M9 17v2.5" />
      </Icon>
    );
  }
  return (
    <Icon>
      <rect x="5.5" y="5.5" width="13" height="13" rx="2" />
      <path d="M9 2.5v3M15 2.5v3M9 18.5v3M15 18.5v3M2.5 9h3M2.5 15h3M18.5 9h3M18.5 15h3" />
      {kind === "npu" ? (
        <path d="M9.5 9.5l5 5M14.5 9.5l-5 5M9.5 9.5h5M9.5 14.5h5" />
      ) : (
        <rect x="9.5" y="9.5" width="5" height="5" rx="0.5" />
      )}
    </Icon>
  );
}
