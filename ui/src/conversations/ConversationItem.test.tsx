import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { ConversationList } from "./ConversationList";

const conversations = [
  { id: 1, title: "Trip to Lisbon", updatedAt: 2, messageCount: 4 },
  { id: 2, title: "", updatedAt: 1, messageCount: 0 },
];

function setup() {
  const handlers = {
    onSelect: vi.fn(),
    onRename: vi.fn(() => Promise.resolve()),
    onDelete: vi.fn(() => Promise.resolve()),
  };
  render(<ConversationList conversations={conversations} selectedId={1} {...handlers} />);
  return { ...handlers, user: userEvent.setup() };
}

describe("ConversationList", () => {
  it("opens a conversation and marks the open one", async () => {
    const { onSelect, user } = setup();
    expect(screen.getByRole("button", { name: "Trip to Lisbon" })).toHaveAttribute(
      "aria-current",
      "page",
    );
    await user.click(screen.getByRole("button", { name: "New conversation" }));
    expect(onSelect).toHaveBeenCalledWith(2);
  });

  it("renames inline: Enter saves, Esc cancels", async () => {
    const { onRename, user } = setup();
    await user.click(screen.getByRole("button", { name: "Rename Trip to Lisbon" }));
    const input = screen.getByRole("textbox", { name: "Conversation title" });
    expect(input).toHaveFocus();
    await user.clear(input);
    await user.type(input, "Lisbon in May{Enter}");
    expect(onRename).toHaveBeenCalledExactlyOnceWith(1, "Lisbon in May");

    await user.click(screen.getByRole("button", { name: "Rename Trip to Lisbon" }));
    await user.type(screen.getByRole("textbox", { name: "Conversation title" }), " draft{Escape}");
    expect(onRename).toHaveBeenCalledTimes(1);
    expect(screen.getByRole("button", { name: "Rename Trip to Lisbon" })).toHaveFocus();
  });

  it("deletes only after confirmation, with Cancel focused first", async () => {
    const { onDelete, user } = setup();
    await user.click(screen.getByRole("button", { name: "Delete Trip to Lisbon" }));
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onDelete).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Delete Trip to Lisbon" }));
    await user.click(screen.getByRole("button", { name: "Delete" }));
    expect(onDelete).toHaveBeenCalledWith(1);
  });
});
