import { plural } from "../common/format";
import type { Skip } from "../ipc";

/** Skips grouped by reason, largest group first, since one cause usually explains many files. */
export function groupSkips(skipped: Skip[]): { reason: string; paths: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const skip of skipped) {
    const paths = groups.get(skip.reason);
    if (paths === undefined) {
      groups.set(skip.reason, [skip.path]);
    } else {
      paths.push(skip.path);
    }
  }
  return [...groups.entries()]
    .map(([reason, paths]) => ({ reason, paths: paths.sort() }))
    .sort((a, b) => b.paths.length - a.paths.length || a.reason.localeCompare(b.reason));
}

/**
 * The files the index left out and why, each reason a collapsible group. `total` is the index's
 * own count, which can exceed the list (the shell may send only the first ones).
 */
export function SkippedFiles({ skipped, total }: { skipped: Skip[]; total: number }) {
  if (skipped.length === 0) {
    return null;
  }
  return (
    <section className="card" aria-labelledby="skipped-heading">
      <header className="card-header">
        <h2 id="skipped-heading">Skipped files</h2>
        <span className="pill pill-warn">{plural(Math.max(total, skipped.length), "file")}</span>
      </header>
      {groupSkips(skipped).map((group) => (
        <details key={group.reason} className="metadata skip-group" data-testid="skip-group">
          <summary>
            {group.reason} <span className="muted">({group.paths.length})</span>
          </summary>
          <ul className="skip-paths mono small selectable">
            {group.paths.map((path) => (
              <li key={path}>{path}</li>
            ))}
          </ul>
        </details>
      ))}
    </section>
  );
}
