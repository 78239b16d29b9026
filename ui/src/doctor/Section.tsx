import { useId, type ReactNode } from "react";

/** A titled card. The heading labels the region, so screen readers can jump between cards. */
export function Section({
  title,
  aside,
  className,
  children,
}: {
  title: string;
  aside?: ReactNode;
  className?: string | undefined;
  children: ReactNode;
}) {
  const headingId = useId();
  return (
    <section
      className={className === undefined ? "card" : `card ${className}`}
      aria-labelledby={headingId}
    >
      <header className="card-header">
        <h2 id={headingId}>{title}</h2>
        {aside}
      </header>
      {children}
    </section>
  );
}

export type Tone = "good" | "bad" | "warn" | "neutral";

/** A small status label. The text says the status; the colour only repeats it. */
export function StatusPill({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`pill pill-${tone}`}>{children}</span>;
}
