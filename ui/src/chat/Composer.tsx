import { useId, useState, type Ref } from "react";

import { SendIcon, StopIcon } from "../common/icons";

/** How many rows the box grows to before it scrolls. */
const MAX_ROWS = 8;

/**
 * Where the user writes. Enter sends, Shift+Enter starts a new line, Esc stops a streaming reply.
 * Enter while an input method is composing (Japanese, Chinese, ...) confirms the composition
 * instead of sending half a word.
 */
export function Composer({
  ref,
  streaming,
  stopping,
  useDocuments,
  onUseDocumentsChange,
  onSend,
  onStop,
}: {
  ref?: Ref<HTMLTextAreaElement>;
  streaming: boolean;
  stopping: boolean;
  useDocuments: boolean;
  onUseDocumentsChange: (on: boolean) => void;
  onSend: (text: string) => void;
  onStop: () => void;
}) {
  const [text, setText] = useState("");
  const hintId = useId();
  const canSend = !streaming && text.trim() !== "";
  const send = () => {
    if (canSend) {
      onSend(text);
      setText("");
    }
  };
  const rows = Math.min(MAX_ROWS, Math.max(1, text.split("\n").length));
  return (
    <form
      className="composer"
      aria-label="Message"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <textarea
        ref={ref}
        className="composer-input"
        data-testid="composer-input"
        aria-label="Message to Onyx"
        aria-describedby={hintId}
        placeholder="Ask anything…"
        rows={rows}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
        }}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
            // Never a newline: Enter is "send", and while a reply streams it does nothing.
            event.preventDefault();
            send();
          } else if (event.key === "Escape" && streaming) {
            // Marked handled, so the window-wide Esc (ChatView) does not stop a second time.
            event.preventDefault();
            onStop();
          }
        }}
      />
      <div className="composer-bar">
        <label className="toggle">
          <input
            type="checkbox"
            role="switch"
            data-testid="use-documents"
            checked={useDocuments}
            onChange={(event) => {
              onUseDocumentsChange(event.target.checked);
            }}
          />
          <span className="toggle-track" aria-hidden="true" />
          Use my documents
        </label>
        <span id={hintId} className="muted small composer-hint">
          Enter to send · Shift+Enter for a new line{streaming ? " · Esc to stop" : ""}
        </span>
        {streaming ? (
          <button
            type="button"
            className="button button-secondary"
            data-testid="stop-button"
            onClick={onStop}
            disabled={stopping}
          >
            <StopIcon />
            {stopping ? "Stopping…" : "Stop"}
          </button>
        ) : (
          <button type="submit" className="button" data-testid="send-button" disabled={!canSend}>
            <SendIcon />
            Send
          </button>
        )}
      </div>
    </form>
  );
}
