import { useCallback, useEffect, useRef, useState } from "react";

import { ModelErrorBanner } from "./app/ModelErrorBanner";
import { NoticeBanner } from "./app/NoticeBanner";
import { Sidebar, type View } from "./app/Sidebar";
import { useTheme } from "./app/theme";
import { useNotices } from "./app/useNotices";
import { ChatView } from "./chat/ChatView";
import { useChat } from "./chat/useChat";
import { ErrorBanner } from "./common/ErrorBanner";
import { conversationTitle } from "./conversations/ConversationList";
import { useConversations } from "./conversations/useConversations";
import { SystemPanel } from "./doctor/SystemPanel";
import { DocumentsPanel } from "./documents/DocumentsPanel";
import { PreviewDialog, type PreviewTarget } from "./documents/PreviewDialog";
import { useDocuments } from "./documents/useDocuments";
import { useDocumentSearch } from "./documents/useDocumentSearch";
import type { Settings, Theme } from "./ipc";
import { ProviderBadge } from "./provider/ProviderBadge";
import { useProviderStatus } from "./provider/useProviderStatus";
import { SettingsPanel } from "./settings/SettingsPanel";
import { useModels } from "./settings/useModels";
import { useSettings } from "./settings/useSettings";

/**
 * The window: sidebar, header with the provider badge, and one panel. Each domain keeps its own
 * state in its own hook; this component only wires them together. The chat and documents state
 * live here, not in their panels, so a reply keeps streaming and indexing keeps reporting while
 * the user looks at another panel.
 */
export function App() {
  const [view, setView] = useState<View>("chat");
  const [preview, setPreview] = useState<PreviewTarget | null>(null);
  const [themePreview, setThemePreview] = useState<Theme | null>(null);

  const notices = useNotices();
  const provider = useProviderStatus(notices.add);
  const settings = useSettings();
  const models = useModels();
  const conversations = useConversations();
  const documents = useDocuments();
  const search = useDocumentSearch();
  const chat = useChat(conversations.selectedId, {
    onCreated: conversations.adopt,
    onSettled: conversations.refresh,
    onProviderSwitch: provider.reportSwitch,
  });

  useTheme(themePreview ?? settings.saved?.theme ?? "system");

  const { save } = settings;
  const { refresh: refreshProvider } = provider;
  const saveSettings = useCallback(
    async (next: Settings) => {
      const error = await save(next);
      if (error === null) {
        // A new runtime library or plugin folder can change the device list.
        refreshProvider();
      }
      return error;
    },
    [save, refreshProvider],
  );

  // Moving to a panel moves focus to it, so keyboard and screen-reader users land in it.
  const main = useRef<HTMLElement>(null);
  const firstView = useRef(true);
  useEffect(() => {
    if (firstView.current) {
      firstView.current = false;
    } else if (view !== "chat") {
      main.current?.focus();
    }
  }, [view]);

  const openConversation = (id: number) => {
    conversations.select(id);
    setView("chat");
  };
  const current = conversations.list.find((c) => c.id === conversations.selectedId);

  return (
    <div className="app-shell">
      <Sidebar
        view={view}
        conversations={conversations}
        onNavigate={setView}
        onNewChat={() => {
          conversations.select(null);
          setView("chat");
        }}
        onOpenConversation={openConversation}
      />
      <div className="main-column">
        <header className="topbar">
          <h2 className="topbar-title">
            {titleOf(view, current === undefined ? null : conversationTitle(current))}
          </h2>
          <ProviderBadge status={provider} />
        </header>
        <NoticeBanner notices={notices.visible} onDismiss={notices.dismiss} />
        <ModelErrorBanner
          chat={provider.chat}
          embedding={provider.embedding}
          onOpenSettings={() => {
            setView("settings");
          }}
        />
        {conversations.error !== null && (
          <ErrorBanner
            className="page-banner"
            title="The conversations could not be updated"
            error={conversations.error}
            onDismiss={conversations.dismissError}
          />
        )}
        <main ref={main} className={`content content-${view}`} tabIndex={-1}>
          {view === "chat" && (
            <ChatView
              chat={chat}
              documentsDefault={settings.saved?.documents.enabled ?? false}
              onOpenSource={setPreview}
              onOpenSettings={() => {
                setView("settings");
              }}
            />
          )}
          {view === "documents" && (
            <DocumentsPanel documents={documents} search={search} onOpenResult={setPreview} />
          )}
          {view === "settings" && (
            <SettingsPanel
              store={{ ...settings, save: saveSettings }}
              models={models}
              devices={provider.devices}
              onThemePreview={setThemePreview}
            />
          )}
          {view === "system" && <SystemPanel />}
        </main>
      </div>
      {preview !== null && (
        <PreviewDialog
          target={preview}
          onClose={() => {
            setPreview(null);
          }}
        />
      )}
    </div>
  );
}

function titleOf(view: View, conversation: string | null): string {
  switch (view) {
    case "chat":
      return conversation ?? "New conversation";
    case "documents":
      return "Documents";
    case "settings":
      return "Settings";
    case "system":
      return "System";
  }
}
