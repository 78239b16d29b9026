import type { ChatStreamEvent } from "../ipc";
import { assistantMessage, citedSource, userMessage } from "../test/fixtures";
import {
  canRegenerate,
  chatReducer,
  emptyChat,
  type ChatAction,
  type ChatState,
} from "./chatState";

const STREAM = "stream-1";

function run(state: ChatState, ...actions: ChatAction[]): ChatState {
  return actions.reduce(chatReducer, state);
}

function event(e: ChatStreamEvent, streamId = STREAM): ChatAction {
  return { type: "event", streamId, event: e };
}

/** Conversation 1 with one exchange, loaded. */
function loaded(): ChatState {
  return run(emptyChat(1), {
    type: "loaded",
    conversationId: 1,
    messages: [userMessage(1, "Hi"), assistantMessage(2, "Hello!")],
  });
}

const send: ChatAction = {
  type: "sendStarted",
  streamId: STREAM,
  conversationId: 1,
  text: "Why?",
  regenerate: false,
};

describe("chatReducer", () => {
  it("shows the user's text at once, then the stored message when the shell confirms it", () => {
    let state = run(loaded(), send);
    expect(state.pendingUser).toBe("Why?");
    expect(state.draft?.text).toBe("");
    state = run(state, event({ event: "started", data: { userMessage: userMessage(3, "Why?") } }));
    expect(state.pendingUser).toBeNull();
    expect(state.messages.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it("appends tokens as they stream", () => {
    const state = run(
      loaded(),
      send,
      event({ event: "token", data: { text: "Because " } }),
      event({ event: "token", data: { text: "of **this**" } }),
    );
    expect(state.draft?.text).toBe("Because of **this**");
  });

  it("replaces the draft with the stored reply on done, keeping the streamed sources", () => {
    const reply = { ...assistantMessage(4, "Because."), sources: null };
    const state = run(
      loaded(),
      send,
      event({ event: "started", data: { userMessage: userMessage(3, "Why?") } }),
      event({ event: "sources", data: { sources: [citedSource] } }),
      event({ event: "token", data: { text: "Because" } }),
      event({ event: "done", data: { message: reply } }),
    );
    expect(state.draft).toBeNull();
    expect(state.messages.at(-1)).toEqual(reply);
    expect(state.extras[4]?.sources).toEqual([citedSource]);
    expect(state.lastOutcome).toBe("finished");
    // The promise settles with the same row: nothing changes.
    expect(run(state, { type: "resolved", streamId: STREAM, message: reply })).toBe(state);
  });

  it("collects a provider change mid-reply and keeps it on the finished reply", () => {
    const change = {
      from: "OpenVINO on NPU [NPU]",
      to: "CPUExecutionProvider on Xeon [CPU]",
      reason: "NPU lost",
    };
    let state = run(loaded(), send, event({ event: "providerChanged", data: change }));
    expect(state.draft?.switches).toEqual([change]);
    state = run(state, event({ event: "done", data: { message: assistantMessage(4, "ok") } }));
    expect(state.extras[4]?.switches).toEqual([change]);
  });

  it("keeps the conversation and the partial reply when the stream fails, and shows the error", () => {
    const error = { code: "worker_failed", message: "the chat worker stopped" };
    const state = run(
      loaded(),
      send,
      event({ event: "started", data: { userMessage: userMessage(3, "Why?") } }),
      event({ event: "token", data: { text: "Partial" } }),
      event({ event: "error", data: error }),
    );
    expect(state.replyError).toEqual(error);
    expect(state.draft).toBeNull();
    expect(state.messages.map((m) => m.content)).toEqual(["Hi", "Hello!", "Why?", "Partial"]);
    expect(state.messages.at(-1)).toMatchObject({ role: "assistant", finishReason: "error" });
    expect(state.lastOutcome).toBe("failed");
    // A local leftover is not something the shell could regenerate.
    expect(canRegenerate(state)).toBe(false);
  });

  it("keeps the user's text when the call itself is rejected before anything streamed", () => {
    const state = run(loaded(), send, {
      type: "rejected",
      streamId: STREAM,
      error: { code: "no_model", message: "no chat model is loaded" },
    });
    expect(state.messages.map((m) => m.content)).toEqual(["Hi", "Hello!", "Why?"]);
    expect(state.replyError?.code).toBe("no_model");
  });

  it("treats `cancelled` as a stop, not an error", () => {
    const state = run(
      loaded(),
      send,
      { type: "stopping", streamId: STREAM },
      event({ event: "token", data: { text: "Half" } }),
      event({ event: "error", data: { code: "cancelled", message: "stopped" } }),
    );
    expect(state.replyError).toBeNull();
    expect(state.messages.at(-1)).toMatchObject({ content: "Half", finishReason: "cancelled" });
    expect(state.lastOutcome).toBe("stopped");
  });

  it("drops the last reply when regenerating", () => {
    const state = run(loaded(), {
      type: "sendStarted",
      streamId: STREAM,
      conversationId: 1,
      text: null,
      regenerate: true,
    });
    expect(state.messages.map((m) => m.id)).toEqual([1]);
    expect(state.pendingUser).toBeNull();
    expect(state.draft).not.toBeNull();
  });

  it("ignores events of a stream it no longer shows", () => {
    const state = run(loaded(), send);
    expect(run(state, event({ event: "token", data: { text: "x" } }, "old-stream"))).toBe(state);
  });

  it("keeps a reply streaming into a conversation the send just created when it is opened", () => {
    const created = run(emptyChat(null), { ...send, conversationId: 9 });
    expect(run(created, { type: "open", conversationId: 9 })).toBe(created);
    expect(run(created, { type: "open", conversationId: 2 }).draft).toBeNull();
  });

  it("offers regenerate only for a stored last reply while nothing streams", () => {
    expect(canRegenerate(loaded())).toBe(true);
    expect(canRegenerate(run(loaded(), send))).toBe(false);
    expect(canRegenerate(emptyChat(1))).toBe(false);
  });

  it("ignores an answer for a conversation that is no longer open", () => {
    const state = emptyChat(2);
    expect(run(state, { type: "loaded", conversationId: 1, messages: [userMessage(1, "x")] })).toBe(
      state,
    );
  });
});
