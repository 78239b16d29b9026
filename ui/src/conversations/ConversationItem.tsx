import { useEffect, useRef, useState } from "react";

import { PencilIcon, TrashIcon } from "../common/icons";
import type { ConversationSummary } from "../ipc";
import { conversationTitle } from "./ConversationList";

type Mode = "view" | "rename" | "confirmDelete";

/**
 * One conversation: click to open; rename in place (Enter saves, Esc cancels); delete asks for
 * confirmation in place, since a deleted conversation cannot be brought back.
 */
export function ConversationItem({
  conversation,
  selected,
  onSelect,
  onRename,
  onDelete,
}: {
  conversation: ConversationSummary;
  selected: boolean;
  onSelect: (id: number) => void;
  onRename: (id: number, title: string) => Promise<void>;
  onDelete: (id: number) => Promise<void>;
}) {
  const [mode, setMode] = useState<Mode>("view");
  const title = conversationTitle(conversation);
  const renameButton = useRef<HTMLButtonElement>(null);
  const wasEditing = useRef(false);

  // After a rename or a cancelled delete, focus goes back to the row's actions, not to <body>.
  useEffect(() => {
    if (mode === "view" && wasEditing.current) {
      renameButton.current?.focus();
    }
    wasEditing.current = mode !== "view";
  }, [mode]);

  if (mode === "rename") {
    return (
      <li className="conversation conversation-editing">
        <RenameField
          initial={conversation.title}
          onDone={(newTitle) => {
            setMode("view");
            if (newTitle !== null && newTitle !== conversation.title) {
              void onRename(conversation.id, newTitle);
            }
          }}
        />
      </li>
    );
  }

  if (mode === "confirmDelete") {
    return (
      <li
        className="conversation conversation-confirm"
        role="group"
        aria-label={`Delete ${title}?`}
      >
        <span className="small">Delete “{title}”?</span>
        <span className="conversation-actions-visible">
          <button
            type="button"
            className="danger-button small-button"
            // The destructive choice is not focused first: Enter right after the click cancels.
            onClick={() => {
              setMode("view");
              void onDelete(conversation.id);
            }}
          >
            Delete
          </button>
          <button
            type="button"
            className="ghost-button small-button"
            autoFocus
            onClick={() => {
              setMode("view");
            }}
          >
            Cancel
          </button>
        </span>
      </li>
    );
  }

  return (
    <li
      className={selected ? "conversation conversation-selected" : "conversation"}
      data-testid="conversation-item"
    >
      <button
        type="button"
        className="conversation-open"
        data-testid="conversation-open"
        aria-current={selected ? "page" : undefined}
        onClick={() => {
          onSelect(conversation.id);
        }}
      >
        <span className="conversation-title">{title}</span>
      </button>
      <span className="conversation-actions">
        <button
          ref={renameButton}
          type="button"
          className="icon-button"
          aria-label={`Rename ${title}`}
          onClick={() => {
            setMode("rename");
          }}
        >
          <PencilIcon />
        </button>
        <button
          type="button"
          className="icon-button"
          aria-label={`Delete ${title}`}
          onClick={() => {
            setMode("confirmDelete");
          }}
        >
          <TrashIcon />
        </button>
      </span>
    </li>
  );
}

/** The inline title editor; `onDone(null)` means cancelled. */
function RenameField({
  initial,
  onDone,
}: {
  initial: string;
  onDone: (title: string | null) => void;
}) {
  const [value, setValue] = useState(initial);
  const finished = useRef(false);
  const finish = (title: string | null) => {
    // Enter and the blur that follows it must not both rename.
    if (!finished.current) {
      finished.current = true;
      onDone(title);
    }
  };
  return (
    <input
      className="rename-input"
      aria-label="Conversation title"
      value={value}
      autoFocus
      onFocus={(event) => {
        event.currentTarget.select();
      }}
      onChange={(event) => {
        setValue(event.target.value);
      }}
      onKeyDown={(event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          const trimmed = value.trim();
          finish(trimmed === "" ? null : trimmed);
        } else if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          finish(null);
        }
      }}
      onBlur={() => {
        const trimmed = value.trim();
        finish(trimmed === "" ? null : trimmed);
      }}
    />
  );
}
