import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { cancelChat, sendChat } from "../ipc/chat";
import { conversationMessages, createConversation } from "../ipc/conversations";
import type {
  ChatSend,
  ChatStreamEvent,
  CitedSource,
  ConversationSummary,
  ProviderSwitch,
  StoredMessage,
} from "../ipc";
import { assistantMessage, citedSource, userMessage } from "../test/fixtures";
import { ChatView } from "./ChatView";
import { useChat } from "./useChat";

vi.mock("../ipc/chat");
vi.mock("../ipc/conversations");

/** One `chat_send` call the test drives by hand: events on its channel, then the promise. */
interface Stream {
  request: ChatSend;
  emit: (event: ChatStreamEvent) => void;
  resolve: (message: StoredMessage) => void;
  reject: (error: unknown) => void;
}

function fakeShell(history: StoredMessage[] = []) {
  const streams: Stream[] = [];
  vi.mocked(conversationMessages).mockResolvedValue(history);
  vi.mocked(cancelChat).mockResolvedValue();
  vi.mocked(sendChat).mockImplementation(
    (request, onEvent) =>
      new Promise<StoredMessage>((resolve, reject) => {
        streams.push({ request, emit: onEvent, resolve, reject });
      }),
  );
  return streams;
}

function Harness({
  conversationId,
  onCreated = vi.fn(),
  onProviderSwitch = vi.fn(),
  onOpenSource = vi.fn(),
}: {
  conversationId: number | null;
  onCreated?: (c: ConversationSummary) => void;
  onProviderSwitch?: (change: ProviderSwitch) => void;
  onOpenSource?: (source: CitedSource) => void;
}) {
  const chat = useChat(conversationId, { onCreated, onSettled: vi.fn(), onProviderSwitch });
  return (
    <ChatView
      chat={chat}
      documentsDefault={false}
      onOpenSource={onOpenSource}
      onOpenSettings={vi.fn()}
    />
  );
}

/** Sends `text` and returns the stream it opened, after the user message was confirmed. */
async function sendAndStart(streams: Stream[], text: string) {
  const user = userEvent.setup();
  await user.type(screen.getByTestId("composer-input"), `${text}{Enter}`);
  const stream = streams.at(-1);
  if (stream === undefined) throw new Error("chat_send was not called");
  act(() => {
    stream.emit({ event: "started", data: { userMessage: userMessage(3, text) } });
  });
  return { user, stream };
}

describe("ChatView with a streaming reply", () => {
  it("shows the empty-state hint for a new conversation", () => {
    fakeShell();
    render(<Harness conversationId={null} />);
    expect(screen.getByRole("heading", { name: "Ask Onyx anything" })).toBeInTheDocument();
    expect(screen.getByTestId("composer-input")).toHaveFocus();
  });

  it("streams tokens into the reply, then shows it with its statistics", async () => {
    const streams = fakeShell([userMessage(1, "Hi"), assistantMessage(2, "Hello!")]);
    render(<Harness conversationId={1} />);
    await screen.findByText("Hello!");
    const { stream } = await sendAndStart(streams, "Explain borrowing");
    expect(stream.request).toMatchObject({
      conversationId: 1,
      text: "Explain borrowing",
      regenerate: false,
      useDocuments: false,
    });
    expect(screen.getByTestId("streaming")).toHaveTextContent("Thinking");
    expect(screen.getByRole("status")).toHaveTextContent("Onyx is replying");

    act(() => {
      stream.emit({ event: "token", data: { text: "A **borrow** " } });
      stream.emit({ event: "token", data: { text: "is a reference." } });
    });
    const draft = screen.getAllByTestId("message-assistant").at(-1);
    expect(draft).toHaveTextContent("A borrow is a reference.");
    expect(within(draft as HTMLElement).getByText("borrow").tagName).toBe("STRONG");

    await act(async () => {
      stream.emit({
        event: "done",
        data: { message: assistantMessage(4, "A **borrow** is a reference.") },
      });
      stream.resolve(assistantMessage(4, "A **borrow** is a reference."));
      await Promise.resolve();
    });
    expect(screen.queryByTestId("streaming")).not.toBeInTheDocument();
    const stats = screen.getAllByTestId("reply-stats").at(-1);
    expect(stats).toHaveTextContent("23.5 tok/s");
    expect(stats).toHaveTextContent("312 ms");
    expect(stats).toHaveTextContent("42 prompt · 17 generated tokens");
    expect(stats).toHaveTextContent("NPU · OpenVINO (Intel(R) AI Boost)");
    expect(screen.getByRole("status")).toHaveTextContent("Reply finished");
  });

  it("stops with Esc (chat_cancel with the stream's id)", async () => {
    const streams = fakeShell();
    render(<Harness conversationId={1} />);
    const { user, stream } = await sendAndStart(streams, "Long story");
    await user.keyboard("{Escape}");
    expect(cancelChat).toHaveBeenCalledWith(stream.request.streamId);
    expect(screen.getByTestId("stop-button")).toHaveTextContent("Stopping");
  });

  it("stops with the Stop button even when focus is elsewhere", async () => {
    const streams = fakeShell();
    render(<Harness conversationId={1} />);
    const { user, stream } = await sendAndStart(streams, "Long story");
    await user.click(screen.getByTestId("stop-button"));
    expect(cancelChat).toHaveBeenCalledWith(stream.request.streamId);
  });

  it("shows an error inline and keeps the conversation", async () => {
    const streams = fakeShell([userMessage(1, "Hi"), assistantMessage(2, "Hello!")]);
    render(<Harness conversationId={1} />);
    await screen.findByText("Hello!");
    const { stream } = await sendAndStart(streams, "And then?");
    await act(async () => {
      stream.emit({ event: "token", data: { text: "Partial answer" } });
      stream.emit({
        event: "error",
        data: { code: "worker_failed", message: "the chat worker stopped" },
      });
      stream.reject({ code: "worker_failed", message: "the chat worker stopped" });
      await Promise.resolve();
    });
    const banner = screen.getByTestId("error-banner");
    expect(banner).toHaveTextContent("The reply could not be finished");
    expect(banner).toHaveTextContent("the chat worker stopped");
    expect(screen.getByText("Hello!")).toBeInTheDocument();
    expect(screen.getByText("And then?")).toBeInTheDocument();
    expect(screen.getByText("Partial answer")).toBeInTheDocument();
    expect(screen.getByTestId("composer-input")).toBeEnabled();
  });

  it("reports a provider change mid-reply", async () => {
    const streams = fakeShell();
    const onProviderSwitch = vi.fn();
    render(<Harness conversationId={1} onProviderSwitch={onProviderSwitch} />);
    const { stream } = await sendAndStart(streams, "Hi");
    const change = {
      from: "OpenVINO on NPU [NPU]",
      to: "CPUExecutionProvider on Xeon [CPU]",
      reason: "NPU lost",
    };
    act(() => {
      stream.emit({ event: "providerChanged", data: change });
    });
    expect(onProviderSwitch).toHaveBeenCalledWith(change);
    expect(screen.getByText(/Switched provider mid-reply/)).toHaveTextContent("NPU lost");
  });

  it("lists cited sources under the reply and opens one on click", async () => {
    const streams = fakeShell();
    const onOpenSource = vi.fn();
    render(<Harness conversationId={1} onOpenSource={onOpenSource} />);
    const { user, stream } = await sendAndStart(streams, "What is borrowing?");
    act(() => {
      stream.emit({ event: "sources", data: { sources: [citedSource] } });
      stream.emit({ event: "token", data: { text: "See [1]." } });
      stream.emit({
        event: "done",
        data: { message: { ...assistantMessage(4, "See [1]."), sources: [citedSource] } },
      });
    });
    const source = screen.getByRole("button", {
      name: /^Source 1: rust\.md, Ownership > Borrowing, lines 12 to 30/,
    });
    expect(source).toHaveTextContent("[1]");
    expect(source).toHaveTextContent("lines 12–30");
    await user.click(source);
    expect(onOpenSource).toHaveBeenCalledWith(citedSource);
  });

  it("regenerates the last reply and copies a reply", async () => {
    const streams = fakeShell([userMessage(1, "Hi"), assistantMessage(2, "Hello!")]);
    const user = userEvent.setup();
    render(<Harness conversationId={1} />);
    await screen.findByText("Hello!");

    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe("Hello!");
    expect(screen.getByRole("button", { name: "Copied" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Regenerate" }));
    expect(streams.at(-1)?.request).toMatchObject({
      conversationId: 1,
      text: null,
      regenerate: true,
    });
    expect(screen.queryByText("Hello!")).not.toBeInTheDocument();
  });

  it("creates the conversation for the first message and streams into it", async () => {
    const streams = fakeShell();
    const created: ConversationSummary = { id: 7, title: "", updatedAt: 1, messageCount: 0 };
    vi.mocked(createConversation).mockResolvedValue(created);
    const onCreated = vi.fn();
    const { rerender } = render(<Harness conversationId={null} onCreated={onCreated} />);
    const user = userEvent.setup();
    await user.type(screen.getByTestId("composer-input"), "First!{Enter}");
    expect(onCreated).toHaveBeenCalledWith(created);
    expect(streams[0]?.request).toMatchObject({ conversationId: 7, text: "First!" });
    // The parent selects it; that must neither reload nor drop the reply.
    rerender(<Harness conversationId={7} onCreated={onCreated} />);
    expect(conversationMessages).not.toHaveBeenCalledWith(7);
    expect(screen.getByTestId("streaming")).toBeInTheDocument();
    expect(screen.getByText("First!")).toBeInTheDocument();
  });
});
