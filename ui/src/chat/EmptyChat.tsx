import { OnyxMark } from "../doctor/icons";

/** The first screen of a conversation: what Onyx is and how to use the composer. */
export function EmptyChat() {
  return (
    <div className="empty-chat">
      <OnyxMark />
      <h2>Ask Onyx anything</h2>
      <p className="muted">
        Replies are generated on this computer; nothing you write leaves it. Turn on{" "}
        <span className="strong">Use my documents</span> to answer from your own files, with the
        sources cited under each reply.
      </p>
      <p className="muted small">
        <kbd>Enter</kbd> sends · <kbd>Shift</kbd>+<kbd>Enter</kbd> adds a line · <kbd>Esc</kbd>{" "}
        stops a reply
      </p>
    </div>
  );
}
