import { useCallback, useEffect, useState } from "react";

import {
  deleteConversation,
  listConversations,
  renameConversation,
  toCommandError,
  type CommandError,
  type ConversationSummary,
} from "../ipc";

export interface Conversations {
  list: ConversationSummary[];
  selectedId: number | null;
  /** The last failed list, create, rename or delete. */
  error: CommandError | null;
  select: (id: number | null) => void;
  refresh: () => void;
  /** Lists and selects a conversation created elsewhere (by the first message of a chat). */
  adopt: (conversation: ConversationSummary) => void;
  rename: (id: number, title: string) => Promise<void>;
  remove: (id: number) => Promise<void>;
  dismissError: () => void;
}

/** Most recently changed first, whatever order the shell sent. */
function byRecent(list: ConversationSummary[]): ConversationSummary[] {
  return [...list].sort((a, b) => b.updatedAt - a.updatedAt || b.id - a.id);
}

/** The sidebar's conversation list and which one is open. */
export function useConversations(): Conversations {
  const [list, setList] = useState<ConversationSummary[]>([]);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [error, setError] = useState<CommandError | null>(null);

  const fail = useCallback((raw: unknown) => {
    setError(toCommandError(raw));
  }, []);

  const refresh = useCallback(() => {
    listConversations().then((conversations) => {
      setList(byRecent(conversations));
    }, fail);
  }, [fail]);

  useEffect(() => {
    refresh();
  }, [refresh]);

  const adopt = useCallback((conversation: ConversationSummary) => {
    setList((previous) =>
      byRecent([conversation, ...previous.filter((c) => c.id !== conversation.id)]),
    );
    setSelectedId(conversation.id);
  }, []);

  const rename = useCallback(
    async (id: number, title: string) => {
      try {
        const renamed = await renameConversation(id, title);
        setList((previous) => previous.map((c) => (c.id === id ? renamed : c)));
      } catch (raw) {
        fail(raw);
      }
    },
    [fail],
  );

  const remove = useCallback(
    async (id: number) => {
      try {
        await deleteConversation(id);
        setList((previous) => previous.filter((c) => c.id !== id));
        setSelectedId((previous) => (previous === id ? null : previous));
      } catch (raw) {
        fail(raw);
      }
    },
    [fail],
  );

  const dismissError = useCallback(() => {
    setError(null);
  }, []);

  return {
    list,
    selectedId,
    error,
    select: setSelectedId,
    refresh,
    adopt,
    rename,
    remove,
    dismissError,
  };
}
