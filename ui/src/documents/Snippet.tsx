import type { ByteRange } from "../ipc";
import { highlightSegments } from "./snippet";

/** A search snippet with its matches in <mark>; text only, sliced, never parsed as HTML. */
export function Snippet({ text, highlights }: { text: string; highlights: ByteRange[] }) {
  return (
    <span className="snippet">
      {highlightSegments(text, highlights).map((segment, index) =>
        segment.marked ? (
          <mark key={index}>{segment.text}</mark>
        ) : (
          <span key={index}>{segment.text}</span>
        ),
      )}
    </span>
  );
}
