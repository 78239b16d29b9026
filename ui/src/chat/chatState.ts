// The open conversation and the reply being streamed into it, as a pure reducer: every event of
// `chat_send`'s channel, and the settling of its promise, is one action. Kept free of React and
// of the shell so the streaming rules are tested directly (chatState.test.ts).
import type { ChatStreamEvent, CitedSource, IpcError, ProviderSwitch, StoredMessage } from "../ipc";

/** The reply being generated. */
export interface Draft {
  streamId: string;
  conversationId: number;
  text: string;
  sources: CitedSource[];
  /** Fallbacks to another provider during this reply. */
  switches: ProviderSwitch[];
  /** Stop was asked for; the shell ends the reply within one decode step. */
  stopping: boolean;
}

/** What the stream told about a finished reply that its stored row may not hold. */
export interface ReplyExtras {
  sources: CitedSource[];
  switches: ProviderSwitch[];
}

export interface ChatState {
  conversationId: number | null;
  /** Stored messages, plus local ones (negative ids) for what a failed or cut stream left. */
  messages: StoredMessage[];
  loading: boolean;
  loadError: IpcError | null;
  /** The user's text, shown at once, until the shell confirms it with the stored message. */
  pendingUser: string | null;
  draft: Draft | null;
  /** Why the last reply failed; shown under the conversation, which stays as it was. */
  replyError: IpcError | null;
  extras: Record<number, ReplyExtras>;
  /** How the last reply ended, for the screen-reader announcement. */
  lastOutcome: "finished" | "stopped" | "failed" | null;
  /** The next local message id (counts down from -1, never clashing with stored ids). */
  nextLocalId: number;
}

export type ChatAction =
  | { type: "open"; conversationId: number | null }
  | { type: "loaded"; conversationId: number; messages: StoredMessage[] }
  | { type: "loadFailed"; conversationId: number; error: IpcError }
  | {
      type: "sendStarted";
      streamId: string;
      conversationId: number;
      text: string | null;
      regenerate: boolean;
    }
  | { type: "event"; streamId: string; event: ChatStreamEvent }
  | { type: "resolved"; streamId: string; message: StoredMessage }
  | { type: "rejected"; streamId: string; error: IpcError }
  | { type: "stopping"; streamId: string }
  | { type: "sendFailed"; error: IpcError }
  | { type: "dismissError" };

export function emptyChat(conversationId: number | null = null): ChatState {
  return {
    conversationId,
    messages: [],
    loading: conversationId !== null,
    loadError: null,
    pendingUser: null,
    draft: null,
    replyError: null,
    extras: {},
    lastOutcome: null,
    nextLocalId: -1,
  };
}

/** A message that exists only in this window: what a stream produced but did not store. */
function localMessage(
  state: ChatState,
  role: "user" | "assistant",
  content: string,
  finishReason: string | null,
): StoredMessage {
  return {
    id: state.nextLocalId,
    conversationId: state.conversationId ?? 0,
    role,
    content,
    createdAt: 0,
    stats: null,
    provider: null,
    sources: null,
    finishReason,
  };
}

/** Adds a message, or replaces the one with its id (the promise and `done` carry the same row). */
function upsert(messages: StoredMessage[], message: StoredMessage): StoredMessage[] {
  return messages.some((m) => m.id === message.id)
    ? messages.map((m) => (m.id === message.id ? message : m))
    : [...messages, message];
}

/** Turns a still-pending user text into a local message, so it stays before the reply. */
function settlePendingUser(state: ChatState): ChatState {
  if (state.pendingUser === null) {
    return state;
  }
  return {
    ...state,
    messages: [...state.messages, localMessage(state, "user", state.pendingUser, null)],
    pendingUser: null,
    nextLocalId: state.nextLocalId - 1,
  };
}

/** The reply is stored: it replaces the draft. */
function finish(state: ChatState, draft: Draft, message: StoredMessage): ChatState {
  const settled = settlePendingUser(state);
  return {
    ...settled,
    messages: upsert(settled.messages, message),
    draft: null,
    extras: {
      ...settled.extras,
      [message.id]: { sources: draft.sources, switches: draft.switches },
    },
    lastOutcome: message.finishReason === "cancelled" ? "stopped" : "finished",
  };
}

/**
 * The stream ended without a stored reply. What was generated stays visible as a local message,
 * marked with why it ended; a real error is also shown under it.
 */
function abandon(state: ChatState, draft: Draft, error: IpcError | null): ChatState {
  let next = settlePendingUser(state);
  if (draft.text !== "") {
    const partial = localMessage(
      next,
      "assistant",
      draft.text,
      error === null ? "cancelled" : "error",
    );
    next = {
      ...next,
      messages: [...next.messages, partial],
      extras: {
        ...next.extras,
        [partial.id]: { sources: draft.sources, switches: draft.switches },
      },
      nextLocalId: next.nextLocalId - 1,
    };
  }
  return {
    ...next,
    draft: null,
    replyError: error,
    lastOutcome: error === null ? "stopped" : "failed",
  };
}

function onStreamEvent(state: ChatState, draft: Draft, event: ChatStreamEvent): ChatState {
  switch (event.event) {
    case "started": {
      const { userMessage } = event.data;
      return userMessage === null
        ? state
        : { ...state, messages: upsert(state.messages, userMessage), pendingUser: null };
    }
    case "sources":
      return { ...state, draft: { ...draft, sources: event.data.sources } };
    case "token":
      return { ...state, draft: { ...draft, text: draft.text + event.data.text } };
    case "providerChanged":
      return { ...state, draft: { ...draft, switches: [...draft.switches, event.data] } };
    case "done":
      return finish(state, draft, event.data.message);
    case "error":
      return abandon(state, draft, event.data.code === "cancelled" ? null : event.data);
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "open":
      // Sending in a new conversation creates it and starts the reply before the parent selects
      // it; that selection must not wipe the reply already streaming into it.
      if (action.conversationId !== null && action.conversationId === state.conversationId) {
        return state;
      }
      return emptyChat(action.conversationId);
    case "loaded":
      if (action.conversationId !== state.conversationId) {
        return state;
      }
      return { ...state, loading: false, loadError: null, messages: action.messages };
    case "loadFailed":
      if (action.conversationId !== state.conversationId) {
        return state;
      }
      return { ...state, loading: false, loadError: action.error };
    case "sendStarted": {
      // Regenerating replaces the last reply: the shell deletes it before generating again.
      const last = state.messages.at(-1);
      const messages =
        action.regenerate && last?.role === "assistant"
          ? state.messages.slice(0, -1)
          : state.messages;
      return {
        ...state,
        conversationId: action.conversationId,
        loading: false,
        messages,
        pendingUser: action.text,
        replyError: null,
        lastOutcome: null,
        draft: {
          streamId: action.streamId,
          conversationId: action.conversationId,
          text: "",
          sources: [],
          switches: [],
          stopping: false,
        },
      };
    }
    case "event":
      // Events of a stream that is no longer shown (another conversation was opened) are dropped.
      return state.draft?.streamId === action.streamId
        ? onStreamEvent(state, state.draft, action.event)
        : state;
    case "resolved":
      // Normally `done` came first and this is the same row; it only matters if `done` was lost.
      return state.draft?.streamId === action.streamId
        ? finish(state, state.draft, action.message)
        : state;
    case "rejected":
      return state.draft?.streamId === action.streamId
        ? abandon(state, state.draft, action.error.code === "cancelled" ? null : action.error)
        : state;
    case "stopping":
      return state.draft?.streamId === action.streamId
        ? { ...state, draft: { ...state.draft, stopping: true } }
        : state;
    case "sendFailed":
      // Nothing was sent (the conversation could not be created): only the error is new.
      return { ...state, replyError: action.error, lastOutcome: "failed" };
    case "dismissError":
      return { ...state, replyError: null };
  }
}

/** Regenerate is offered on the last reply, once it is stored and nothing streams. */
export function canRegenerate(state: ChatState): boolean {
  const last = state.messages.at(-1);
  return state.draft === null && last?.role === "assistant" && last.id > 0;
}
