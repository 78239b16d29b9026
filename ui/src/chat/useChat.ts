import { useCallback, useEffect, useReducer, useRef } from "react";

import {
  cancelChat,
  conversationMessages,
  createConversation,
  sendChat,
  toCommandError,
  type ConversationSummary,
  type ProviderSwitch,
} from "../ipc";
import { canRegenerate, chatReducer, emptyChat, type ChatState } from "./chatState";

export interface Chat extends ChatState {
  streaming: boolean;
  canRegenerate: boolean;
  /** Sends a user message; creates the conversation first when none is open. */
  send: (text: string, useDocuments: boolean) => void;
  regenerate: (useDocuments: boolean) => void;
  stop: () => void;
  dismissError: () => void;
}

export interface ChatOptions {
  /** A conversation was created for the first message; the caller lists and selects it. */
  onCreated: (conversation: ConversationSummary) => void;
  /** A reply ended, however it ended: titles and order in the list may have changed. */
  onSettled: () => void;
  /** The model fell back to another provider mid-reply; the header badge shows it. */
  onProviderSwitch: (change: ProviderSwitch) => void;
}

/** A stream id the shell can cancel by; unique per reply. */
function newStreamId(): string {
  return typeof crypto.randomUUID === "function"
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * The open conversation's messages and its streaming reply. Opening another conversation (or
 * deleting this one) stops a reply still streaming into this one: the model serves one reply at
 * a time, and one nobody watches would only delay the next.
 */
export function useChat(conversationId: number | null, options: ChatOptions): Chat {
  const [state, dispatch] = useReducer(chatReducer, null, () => emptyChat());
  const latest = useRef({ state, conversationId, options });
  // Set when a send created the conversation: it is empty, and loading it would race the reply.
  const createdForSend = useRef<number | null>(null);
  useEffect(() => {
    latest.current = { state, conversationId, options };
  });

  useEffect(() => {
    dispatch({ type: "open", conversationId });
    if (conversationId !== null && createdForSend.current !== conversationId) {
      conversationMessages(conversationId).then(
        (messages) => {
          dispatch({ type: "loaded", conversationId, messages });
        },
        (raw: unknown) => {
          dispatch({ type: "loadFailed", conversationId, error: toCommandError(raw) });
        },
      );
    }
    createdForSend.current = null;
    return () => {
      const { draft } = latest.current.state;
      if (draft !== null && draft.conversationId === conversationId) {
        void cancelChat(draft.streamId).catch(() => undefined);
      }
    };
  }, [conversationId]);

  const start = useCallback(
    (id: number, text: string | null, regenerate: boolean, useDocuments: boolean) => {
      const streamId = newStreamId();
      dispatch({ type: "sendStarted", streamId, conversationId: id, text, regenerate });
      sendChat({ streamId, conversationId: id, text, regenerate, useDocuments }, (event) => {
        dispatch({ type: "event", streamId, event });
        if (event.event === "providerChanged") {
          latest.current.options.onProviderSwitch(event.data);
        }
      })
        .then(
          (message) => {
            dispatch({ type: "resolved", streamId, message });
          },
          (raw: unknown) => {
            dispatch({ type: "rejected", streamId, error: toCommandError(raw) });
          },
        )
        .finally(() => {
          latest.current.options.onSettled();
        });
    },
    [],
  );

  const send = useCallback(
    (text: string, useDocuments: boolean) => {
      const { state: current, conversationId: openId, options: callbacks } = latest.current;
      if (current.draft !== null || text.trim() === "") {
        return;
      }
      if (openId !== null) {
        start(openId, text, false, useDocuments);
        return;
      }
      createConversation().then(
        (created) => {
          createdForSend.current = created.id;
          start(created.id, text, false, useDocuments);
          callbacks.onCreated(created);
        },
        (raw: unknown) => {
          dispatch({ type: "sendFailed", error: toCommandError(raw) });
        },
      );
    },
    [start],
  );

  const regenerate = useCallback(
    (useDocuments: boolean) => {
      const { state: current } = latest.current;
      if (current.conversationId !== null && canRegenerate(current)) {
        start(current.conversationId, null, true, useDocuments);
      }
    },
    [start],
  );

  const stop = useCallback(() => {
    const { draft } = latest.current.state;
    if (draft === null || draft.stopping) {
      return;
    }
    dispatch({ type: "stopping", streamId: draft.streamId });
    // A failed cancel changes nothing for the user: the reply then simply ends by itself.
    void cancelChat(draft.streamId).catch(() => undefined);
  }, []);

  const dismissError = useCallback(() => {
    dispatch({ type: "dismissError" });
  }, []);

  return {
    ...state,
    streaming: state.draft !== null,
    canRegenerate: canRegenerate(state),
    send,
    regenerate,
    stop,
    dismissError,
  };
}
