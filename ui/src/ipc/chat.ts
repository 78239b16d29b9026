import { Channel } from "@tauri-apps/api/core";

import { call } from "./call";
import type { ChatSend, ChatStreamEvent, StoredMessage } from "./types";

/**
 * Sends a message, or regenerates the last reply, and streams the reply to `onEvent`
 * (`chat_send`). Resolves with the assistant message as stored. A stream ends with `done` or
 * `error` on the channel; the returned promise settles as well, so callers must treat the two as
 * one outcome.
 */
export function sendChat(
  request: ChatSend,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<StoredMessage> {
  const channel = new Channel<ChatStreamEvent>();
  channel.onmessage = onEvent;
  return call<StoredMessage>("chat_send", { request, onEvent: channel });
}

/** Stops a reply within one decode step (`chat_cancel`); the partial reply is stored. */
export function cancelChat(streamId: string): Promise<void> {
  return call<undefined>("chat_cancel", { streamId });
}
