import { useEffect, useRef, useState } from "react";

import { ErrorBanner } from "../common/ErrorBanner";
import type { CitedSource } from "../ipc";
import { Composer } from "./Composer";
import { EmptyChat } from "./EmptyChat";
import { AssistantMessage, DraftMessage, UserMessage } from "./Messages";
import type { Chat } from "./useChat";

/** How near the bottom (px) still counts as "following" the reply as it streams. */
const FOLLOW_SLACK = 80;

/**
 * The chat pane: the conversation, the reply streaming into it, and the composer. Errors appear
 * under the conversation, which stays as it was.
 */
export function ChatView({
  chat,
  documentsDefault,
  onOpenSource,
  onOpenSettings,
}: {
  chat: Chat;
  /** The "Use my documents" default, from the settings. */
  documentsDefault: boolean;
  onOpenSource: (source: CitedSource) => void;
  onOpenSettings: () => void;
}) {
  const [useDocuments, setUseDocuments] = useState(documentsDefault);
  const [previousDefault, setPreviousDefault] = useState(documentsDefault);
  if (documentsDefault !== previousDefault) {
    // Saving the settings changes the default; the toggle follows it.
    setPreviousDefault(documentsDefault);
    setUseDocuments(documentsDefault);
  }
  const input = useRef<HTMLTextAreaElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const { stop, streaming } = chat;

  // Opening a conversation puts the cursor where the next message goes.
  useEffect(() => {
    input.current?.focus();
  }, [chat.conversationId]);

  // Esc stops the reply wherever focus is (the composer handles its own Esc first).
  useEffect(() => {
    if (!streaming) {
      return undefined;
    }
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !event.defaultPrevented) {
        stop();
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("keydown", onKeyDown);
    };
  }, [streaming, stop]);

  // Follow the reply as it grows, unless the user scrolled up to read something.
  const draftText = chat.draft?.text;
  useEffect(() => {
    const element = scroller.current;
    if (element !== null && following.current) {
      element.scrollTop = element.scrollHeight;
    }
  }, [chat.messages.length, draftText, chat.pendingUser]);

  const empty = chat.messages.length === 0 && chat.draft === null && chat.pendingUser === null;
  const lastId = chat.messages.at(-1)?.id;

  return (
    <section className="chat" aria-label="Chat">
      <div
        ref={scroller}
        className="chat-scroll"
        onScroll={(event) => {
          const element = event.currentTarget;
          following.current =
            element.scrollHeight - element.scrollTop - element.clientHeight < FOLLOW_SLACK;
        }}
      >
        <div className="chat-column">
          {chat.loadError !== null && (
            <ErrorBanner title="This conversation could not be loaded" error={chat.loadError} />
          )}
          {empty && !chat.loading && chat.loadError === null && <EmptyChat />}
          {chat.loading && <p className="muted chat-loading">Loading the conversation…</p>}
          {chat.messages.map((message) =>
            message.role === "assistant" ? (
              <AssistantMessage
                key={message.id}
                message={message}
                extras={chat.extras[message.id]}
                onRegenerate={
                  chat.canRegenerate && message.id === lastId
                    ? () => {
                        chat.regenerate(useDocuments);
                      }
                    : undefined
                }
                onOpenSource={onOpenSource}
              />
            ) : message.role === "user" ? (
              <UserMessage key={message.id} text={message.content} />
            ) : null,
          )}
          {chat.pendingUser !== null && <UserMessage text={chat.pendingUser} />}
          {chat.draft !== null && <DraftMessage draft={chat.draft} onOpenSource={onOpenSource} />}
          {chat.replyError !== null && (
            <ErrorBanner
              title={
                chat.replyError.code === "no_model"
                  ? "No chat model is loaded"
                  : "The reply could not be finished"
              }
              error={chat.replyError}
              onDismiss={chat.dismissError}
              action={
                chat.replyError.code === "no_model" ? (
                  <button type="button" className="link-button" onClick={onOpenSettings}>
                    Choose a model in Settings
                  </button>
                ) : undefined
              }
            />
          )}
        </div>
      </div>
      <div className="chat-composer">
        <Composer
          ref={input}
          streaming={streaming}
          stopping={chat.draft?.stopping ?? false}
          useDocuments={useDocuments}
          onUseDocumentsChange={setUseDocuments}
          onSend={(text) => {
            following.current = true;
            chat.send(text, useDocuments);
          }}
          onStop={stop}
        />
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement(chat)}
      </p>
    </section>
  );
}

/** Said once per change, not per token: a live region reading every token would be noise. */
function announcement(chat: Chat): string {
  if (chat.draft !== null) {
    return chat.draft.stopping ? "Stopping the reply…" : "Onyx is replying…";
  }
  switch (chat.lastOutcome) {
    case "finished":
      return "Reply finished.";
    case "stopped":
      return "Reply stopped.";
    case "failed":
      return "The reply failed.";
    case null:
      return "";
  }
}
