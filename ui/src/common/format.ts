// Small formatting helpers shared by the panels; pure, so they are tested without rendering.

/** The last part of a path, for either separator (paths come from Linux, macOS and Windows). */
export function fileName(path: string): string {
  const parts = path.split(/[\\/]/).filter((part) => part !== "");
  return parts.at(-1) ?? path;
}

/** A duration for people: "45 s", "3 min 20 s", "1 h 5 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return "unknown";
  }
  const whole = Math.round(seconds);
  if (whole < 60) {
    return `${whole} s`;
  }
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) {
    const rest = whole % 60;
    return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Milliseconds, with the unit that reads best: "850 ms", "1.2 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return "–";
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A rate with one decimal below 100 ("12.3"), whole above ("240"). */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) {
    return "–";
  }
  return perSecond < 100 ? perSecond.toFixed(1) : String(Math.round(perSecond));
}

/** "1 file", "3 files". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
}

/** The EP name without its `ExecutionProvider` suffix, as a badge has room for. */
export function shortEp(ep: string): string {
  const short = ep.replace(/ExecutionProvider$/, "");
  return short === "" ? ep : short;
}
