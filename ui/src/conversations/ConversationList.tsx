import type { ConversationSummary } from "../ipc";
import { ConversationItem } from "./ConversationItem";

/** The sidebar's list of conversations; the open one is marked with aria-current. */
export function ConversationList({
  conversations,
  selectedId,
  onSelect,
  onRename,
  onDelete,
}: {
  conversations: ConversationSummary[];
  selectedId: number | null;
  onSelect: (id: number) => void;
  onRename: (id: number, title: string) => Promise<void>;
  onDelete: (id: number) => Promise<void>;
}) {
  if (conversations.length === 0) {
    return <p className="muted small sidebar-empty">No conversations yet.</p>;
  }
  return (
    <ul className="conversation-list" aria-label="Conversations">
      {conversations.map((conversation) => (
        <ConversationItem
          key={conversation.id}
          conversation={conversation}
          selected={conversation.id === selectedId}
          onSelect={onSelect}
          onRename={onRename}
          onDelete={onDelete}
        />
      ))}
    </ul>
  );
}

/** What a conversation is called in the list: its title, or a placeholder until it has one. */
export function conversationTitle(conversation: ConversationSummary): string {
  return conversation.title.trim() === "" ? "New conversation" : conversation.title;
}
