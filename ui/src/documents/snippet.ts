// Search snippets come with highlight ranges in UTF-8 bytes (Rust string offsets), while JS
// strings index UTF-16 code units. Every snippet starts with "…" (3 bytes, 1 unit), so using the
// byte offsets directly would mark the wrong letters. This converts them, and the result is
// rendered as text and <mark> elements: never as HTML.
import type { ByteRange } from "../ipc";

export interface Segment {
  text: string;
  marked: boolean;
}

function utf8Length(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/**
 * The UTF-16 index of every character boundary, keyed by its UTF-8 byte offset. A byte offset
 * inside a character (which Rust would never send) rounds up to the next boundary.
 */
function toUtf16(text: string): (byteOffset: number) => number {
  const bytes: number[] = [];
  const units: number[] = [];
  let byte = 0;
  let unit = 0;
  for (const char of text) {
    bytes.push(byte);
    units.push(unit);
    const codePoint = char.codePointAt(0) ?? 0;
    byte += utf8Length(codePoint);
    unit += char.length;
  }
  bytes.push(byte);
  units.push(unit);
  return (offset) => {
    const index = bytes.findIndex((boundary) => boundary >= offset);
    return index === -1 ? text.length : (units[index] ?? text.length);
  };
}

/** Splits `snippet` into plain and marked segments; out-of-range and overlapping ranges are tolerated. */
export function highlightSegments(snippet: string, highlights: ByteRange[]): Segment[] {
  const index = toUtf16(snippet);
  const ranges = highlights
    .map(({ start, end }) => [index(Math.max(0, start)), index(Math.max(0, end))] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  // Overlapping or touching ranges become one mark.
  const merged: [number, number][] = [];
  for (const [start, end] of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && start <= last[1]) {
      last[1] = Math.max(last[1], end);
    } else {
      merged.push([start, end]);
    }
  }
  const segments: Segment[] = [];
  let at = 0;
  for (const [start, end] of merged) {
    if (start > at) {
      segments.push({ text: snippet.slice(at, start), marked: false });
    }
    segments.push({ text: snippet.slice(start, end), marked: true });
    at = end;
  }
  if (at < snippet.length) {
    segments.push({ text: snippet.slice(at), marked: false });
  }
  return segments;
}
