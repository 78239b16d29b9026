import type { ReactNode } from "react";

import { ChatIcon, DocumentIcon, PlusIcon, PulseIcon, SettingsIcon } from "../common/icons";
import { ConversationList } from "../conversations/ConversationList";
import type { Conversations } from "../conversations/useConversations";
import { OnyxMark } from "../doctor/icons";

export type View = "chat" | "documents" | "settings" | "system";

/** The left column: new chat, the panels, and the conversations. */
export function Sidebar({
  view,
  conversations,
  onNavigate,
  onNewChat,
  onOpenConversation,
}: {
  view: View;
  conversations: Conversations;
  onNavigate: (view: View) => void;
  onNewChat: () => void;
  onOpenConversation: (id: number) => void;
}) {
  return (
    <aside className="sidebar" aria-label="Sidebar">
      <div className="brand">
        <OnyxMark />
        <div>
          <h1>Onyx</h1>
          <p className="muted small">Private AI on this computer</p>
        </div>
      </div>
      <button type="button" className="button new-chat" onClick={onNewChat}>
        <PlusIcon />
        New chat
      </button>
      <nav aria-label="Main">
        <ul className="nav-list">
          <NavItem
            view="chat"
            current={view}
            icon={<ChatIcon />}
            label="Chat"
            onNavigate={onNavigate}
          />
          <NavItem
            view="documents"
            current={view}
            icon={<DocumentIcon />}
            label="Documents"
            onNavigate={onNavigate}
          />
          <NavItem
            view="settings"
            current={view}
            icon={<SettingsIcon />}
            label="Settings"
            onNavigate={onNavigate}
          />
          <NavItem
            view="system"
            current={view}
            icon={<PulseIcon />}
            label="System"
            onNavigate={onNavigate}
          />
        </ul>
      </nav>
      <h2 className="subheading sidebar-heading">Conversations</h2>
      <div className="sidebar-scroll">
        <ConversationList
          conversations={conversations.list}
          selectedId={view === "chat" ? conversations.selectedId : null}
          onSelect={onOpenConversation}
          onRename={conversations.rename}
          onDelete={conversations.remove}
        />
      </div>
    </aside>
  );
}

function NavItem({
  view,
  current,
  icon,
  label,
  onNavigate,
}: {
  view: View;
  current: View;
  icon: ReactNode;
  label: string;
  onNavigate: (view: View) => void;
}) {
  return (
    <li>
      <button
        type="button"
        className={view === current ? "nav-button nav-button-current" : "nav-button"}
        data-testid={`nav-${view}`}
        aria-current={view === current ? "page" : undefined}
        onClick={() => {
          onNavigate(view);
        }}
      >
        {icon}
        {label}
      </button>
    </li>
  );
}
