// Pins every wrapper to src-tauri/IPC.md: the command name, the camelCase argument names, the
// `onEvent` channel, and errors arriving as `CommandError`s. A rename on either side fails here.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";

import { appStatus } from "./app";
import { cancelChat, sendChat } from "./chat";
import {
  conversationMessages,
  createConversation,
  deleteConversation,
  listConversations,
  renameConversation,
} from "./conversations";
import {
  addDocuments,
  cancelIndexing,
  documentsStatus,
  openDocument,
  previewDocument,
  removeDocuments,
  searchDocuments,
} from "./documents";
import { CommandError } from "./errors";
import { onIndexProgress, onProviderChanged } from "./events";
import { openLink } from "./external";
import { cancelModelImport, importModel, listModels } from "./models";
import { getSettings, saveSettings } from "./settings";
import type { ChatSend, Settings } from "./types";

vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn(() => Promise.resolve(null)),
  // A stand-in with the one property the wrappers set.
  Channel: class {
    onmessage: (message: unknown) => void = () => undefined;
  },
}));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));

function lastCall(): [string, Record<string, unknown> | undefined] {
  const call = vi.mocked(invoke).mock.lastCall;
  if (call === undefined) throw new Error("invoke was not called");
  return [call[0], call[1] as Record<string, unknown> | undefined];
}

describe("command wrappers", () => {
  it.each([
    ["app_status", () => appStatus(), undefined],
    ["settings_get", () => getSettings(), undefined],
    [
      "settings_set",
      () => saveSettings({ theme: "dark" } as Settings),
      { settings: { theme: "dark" } },
    ],
    ["models_list", () => listModels(), undefined],
    ["model_import_cancel", () => cancelModelImport(), undefined],
    ["conversations_list", () => listConversations(), undefined],
    ["conversation_create", () => createConversation(), undefined],
    ["conversation_rename", () => renameConversation(3, "Trip"), { id: 3, title: "Trip" }],
    ["conversation_delete", () => deleteConversation(3), { id: 3 }],
    ["conversation_messages", () => conversationMessages(3), { id: 3 }],
    ["chat_cancel", () => cancelChat("s-1"), { streamId: "s-1" }],
    ["documents_status", () => documentsStatus(), undefined],
    ["documents_add", () => addDocuments("/docs"), { path: "/docs" }],
    ["documents_remove", () => removeDocuments("/docs"), { path: "/docs" }],
    ["documents_cancel", () => cancelIndexing(), undefined],
    ["documents_search", () => searchDocuments("rust", 10), { query: "rust", k: 10 }],
    [
      "documents_preview",
      () => previewDocument("/docs/a.md", [3, 9]),
      { path: "/docs/a.md", lines: [3, 9] },
    ],
    ["documents_open", () => openDocument("/docs/a.md"), { path: "/docs/a.md" }],
    ["open_link", () => openLink("https://onnxruntime.ai"), { url: "https://onnxruntime.ai" }],
  ] as const)("%s", async (command, run, args) => {
    await run();
    expect(lastCall()).toEqual([command, args]);
  });

  it("streams a reply through an `onEvent` channel", async () => {
    const request: ChatSend = {
      streamId: "s-1",
      conversationId: 1,
      text: "Hi",
      regenerate: false,
      useDocuments: true,
    };
    const onEvent = vi.fn();
    await sendChat(request, onEvent);
    const [command, args] = lastCall();
    expect(command).toBe("chat_send");
    expect(args?.request).toEqual(request);
    const channel = args?.onEvent as Channel;
    channel.onmessage({ event: "token", data: { text: "Hel" } });
    expect(onEvent).toHaveBeenCalledWith({ event: "token", data: { text: "Hel" } });
  });

  it("imports through an `onEvent` channel, with a null name when none is given", async () => {
    const onEvent = vi.fn();
    await importModel("/dl/m.gguf", null, onEvent);
    const [command, args] = lastCall();
    expect(command).toBe("model_import");
    expect(args).toMatchObject({ source: "/dl/m.gguf", name: null });
    (args?.onEvent as Channel).onmessage({
      event: "progress",
      data: { stage: "reading", fraction: 0.1 },
    });
    expect(onEvent).toHaveBeenCalledOnce();
  });

  it("rejects with a CommandError carrying the shell's code", async () => {
    vi.mocked(invoke).mockRejectedValueOnce({ code: "busy", message: "an index run is going" });
    const error: unknown = await addDocuments("/docs").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ code: "busy", message: "an index run is going" });
  });
});

describe("event subscriptions", () => {
  it("deliver payloads under the contract's names", async () => {
    const unlisten = vi.fn();
    let deliver: (event: { payload: unknown }) => void = () => undefined;
    vi.mocked(listen).mockImplementation((_name, handler) => {
      deliver = handler as typeof deliver;
      return Promise.resolve(unlisten);
    });
    const handler = vi.fn();
    const stop = onProviderChanged(handler);
    expect(vi.mocked(listen).mock.lastCall?.[0]).toBe("provider-changed");
    deliver({ payload: { model: "chat" } });
    expect(handler).toHaveBeenCalledWith({ model: "chat" });
    await Promise.resolve();
    stop();
    expect(unlisten).toHaveBeenCalledOnce();
  });

  it("unlisten even when stopped before the registration finished (React StrictMode)", async () => {
    const unlisten = vi.fn();
    vi.mocked(listen).mockResolvedValue(unlisten);
    const stop = onIndexProgress(vi.fn());
    expect(vi.mocked(listen).mock.lastCall?.[0]).toBe("index-progress");
    stop();
    await Promise.resolve();
    await Promise.resolve();
    expect(unlisten).toHaveBeenCalledOnce();
  });

  it("report a failed registration instead of throwing (no shell)", async () => {
    vi.mocked(listen).mockRejectedValue(new TypeError("window.__TAURI_INTERNALS__ is undefined"));
    const onError = vi.fn();
    onProviderChanged(vi.fn(), onError);
    await vi.waitFor(() => {
      expect(onError).toHaveBeenCalledOnce();
    });
  });
});
