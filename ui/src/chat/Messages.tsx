import { CopyButton } from "../common/CopyButton";
import { RefreshIcon } from "../doctor/icons";
import type { CitedSource, ProviderSwitch, StoredMessage } from "../ipc";
import type { Draft, ReplyExtras } from "./chatState";
import { Markdown } from "./Markdown";
import { ReplyStats } from "./ReplyStats";
import { SourceList } from "./SourceList";
import { readProvider, readSources, readStats } from "./storedReply";

/** What the user wrote: shown as typed (plain text), never as Markdown. */
export function UserMessage({ text }: { text: string }) {
  return (
    <article className="message message-user" data-testid="message-user" aria-label="You">
      <p className="message-text selectable">{text}</p>
    </article>
  );
}

const FINISH_NOTES: Record<string, string> = {
  cancelled: "Stopped before the end.",
  maxTokens: "Cut off at the maximum reply length (Settings → Max tokens).",
  contextFull: "Cut off: the conversation filled the model's context.",
  nothingRelevant: "Nothing relevant was found in your documents, so the model was not asked.",
  error: "Incomplete: the reply failed (see below).",
};

/** A finished (stored or left over) reply with its actions, statistics and sources. */
export function AssistantMessage({
  message,
  extras,
  onRegenerate,
  onOpenSource,
}: {
  message: StoredMessage;
  extras: ReplyExtras | undefined;
  /** Given only for the last reply, when it can be regenerated. */
  onRegenerate?: (() => void) | undefined;
  onOpenSource: (source: CitedSource) => void;
}) {
  const stored = readSources(message.sources);
  const sources = stored.length > 0 ? stored : (extras?.sources ?? []);
  const note = message.finishReason === null ? undefined : FINISH_NOTES[message.finishReason];
  return (
    <article
      className="message message-assistant"
      data-testid="message-assistant"
      aria-label="Onyx"
    >
      <Markdown text={message.content} />
      {note !== undefined && <p className="finish-note small">{note}</p>}
      <Switches switches={extras?.switches ?? []} />
      <SourceList sources={sources} onOpen={onOpenSource} />
      <div className="message-footer">
        <ReplyStats stats={readStats(message.stats)} provider={readProvider(message.provider)} />
        <div className="message-actions">
          <CopyButton text={message.content} />
          {onRegenerate !== undefined && (
            <button type="button" className="ghost-button" onClick={onRegenerate}>
              <RefreshIcon />
              Regenerate
            </button>
          )}
        </div>
      </div>
    </article>
  );
}

/** The reply being generated, token by token. */
export function DraftMessage({
  draft,
  onOpenSource,
}: {
  draft: Draft;
  onOpenSource: (source: CitedSource) => void;
}) {
  return (
    <article
      className="message message-assistant message-streaming"
      data-testid="message-assistant"
      aria-label="Onyx"
      aria-busy="true"
    >
      {draft.text === "" ? null : <Markdown text={draft.text} />}
      <p className="streaming small" data-testid="streaming">
        <span className="typing" aria-hidden="true">
          <span />
          <span />
          <span />
        </span>
        {draft.stopping ? "Stopping…" : draft.text === "" ? "Thinking…" : "Writing…"}
      </p>
      <Switches switches={draft.switches} />
      <SourceList sources={draft.sources} onOpen={onOpenSource} />
    </article>
  );
}

/** Provider fallbacks during a reply: they change its speed, so the user should know. */
function Switches({ switches }: { switches: ProviderSwitch[] }) {
  if (switches.length === 0) {
    return null;
  }
  return (
    <ul className="switch-notes small">
      {switches.map((change, index) => (
        <li key={index} className="callout callout-warn">
          Switched provider mid-reply: {change.from} → {change.to}. {change.reason}
        </li>
      ))}
    </ul>
  );
}
