import { call } from "./call";
import type { ConversationSummary, StoredMessage } from "./types";

/** Every conversation, as the shell orders them (`conversations_list`). */
export function listConversations(): Promise<ConversationSummary[]> {
  return call<ConversationSummary[]>("conversations_list");
}

/** A new, empty conversation (`conversation_create`). */
export function createConversation(): Promise<ConversationSummary> {
  return call<ConversationSummary>("conversation_create");
}

/** Renames a conversation (`conversation_rename`). */
export function renameConversation(id: number, title: string): Promise<ConversationSummary> {
  return call<ConversationSummary>("conversation_rename", { id, title });
}

/** Deletes a conversation and its messages (`conversation_delete`). */
export function deleteConversation(id: number): Promise<void> {
  return call<undefined>("conversation_delete", { id });
}

/** A conversation's messages, oldest first (`conversation_messages`). */
export function conversationMessages(id: number): Promise<StoredMessage[]> {
  return call<StoredMessage[]>("conversation_messages", { id });
}
