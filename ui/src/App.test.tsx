import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { App } from "./App";
import { loadedReport } from "./doctor/fixtures";
import type {
  ChatStreamEvent,
  ModelErrorEvent,
  ModelLoadingEvent,
  ProviderChangedEvent,
} from "./ipc";
import { appStatus } from "./ipc/app";
import { cancelChat, sendChat } from "./ipc/chat";
import { conversationMessages, createConversation, listConversations } from "./ipc/conversations";
import { runDoctor } from "./ipc/doctor";
import { documentsStatus } from "./ipc/documents";
import {
  onIndexError,
  onIndexProgress,
  onModelError,
  onModelLoading,
  onProviderChanged,
} from "./ipc/events";
import { listModels } from "./ipc/models";
import { getSettings, saveSettings } from "./ipc/settings";
import { cpuFallbackProvider, defaultSettings, models, readyStatus } from "./test/fixtures";

vi.mock("./ipc/app");
vi.mock("./ipc/chat");
vi.mock("./ipc/conversations");
vi.mock("./ipc/doctor");
vi.mock("./ipc/documents");
vi.mock("./ipc/events");
vi.mock("./ipc/models");
vi.mock("./ipc/settings");
vi.mock("./ipc/dialog");

const handlers: {
  providerChanged?: (event: ProviderChangedEvent) => void;
  modelLoading?: (event: ModelLoadingEvent) => void;
  modelError?: (event: ModelErrorEvent) => void;
} = {};

beforeEach(() => {
  vi.mocked(appStatus).mockResolvedValue(readyStatus);
  vi.mocked(getSettings).mockResolvedValue(defaultSettings);
  vi.mocked(saveSettings).mockImplementation((settings) => Promise.resolve(settings));
  vi.mocked(listModels).mockResolvedValue(models);
  vi.mocked(listConversations).mockResolvedValue([
    { id: 1, title: "Older", updatedAt: 1, messageCount: 2 },
    { id: 2, title: "Newer", updatedAt: 5, messageCount: 2 },
  ]);
  vi.mocked(conversationMessages).mockResolvedValue([]);
  vi.mocked(createConversation).mockResolvedValue({
    id: 3,
    title: "",
    updatedAt: 9,
    messageCount: 0,
  });
  vi.mocked(cancelChat).mockResolvedValue();
  vi.mocked(documentsStatus).mockResolvedValue({
    counts: { sources: 0, documents: 0, skipped: 0, contents: 0, chunks: 0 },
    sources: [],
    skipped: [],
    indexing: null,
    error: null,
    progressSeq: 0,
  });
  vi.mocked(runDoctor).mockResolvedValue(loadedReport);
  vi.mocked(onProviderChanged).mockImplementation((handler) => {
    handlers.providerChanged = handler;
    return vi.fn();
  });
  vi.mocked(onModelLoading).mockImplementation((handler) => {
    handlers.modelLoading = handler;
    return vi.fn();
  });
  vi.mocked(onModelError).mockImplementation((handler) => {
    handlers.modelError = handler;
    return vi.fn();
  });
  for (const subscribe of [onIndexProgress, onIndexError]) {
    vi.mocked(subscribe).mockReturnValue(vi.fn());
  }
});

describe("App", () => {
  it("lays out the sidebar, the header badge and the chat", async () => {
    render(<App />);
    for (const id of ["nav-chat", "nav-documents", "nav-settings", "nav-system"]) {
      expect(screen.getByTestId(id)).toBeInTheDocument();
    }
    expect(screen.getByTestId("nav-chat")).toHaveAttribute("aria-current", "page");
    const list = await screen.findByRole("list", { name: "Conversations" });
    expect(
      within(list)
        .getAllByRole("button", { name: /^(Newer|Older)$/ })
        .map((b) => b.textContent),
    ).toEqual(["Newer", "Older"]);
    await waitFor(() => {
      expect(screen.getByTestId("provider-badge")).toHaveTextContent("NPU");
    });
    expect(screen.getByRole("heading", { name: "Ask Onyx anything" })).toBeInTheDocument();
  });

  it("moves between the panels, keeping the doctor as System", async () => {
    const user = userEvent.setup();
    render(<App />);
    await user.click(screen.getByTestId("nav-settings"));
    expect(await screen.findByTestId("settings-provider")).toBeInTheDocument();
    await user.click(screen.getByTestId("nav-documents"));
    expect(screen.getByTestId("documents-path")).toBeInTheDocument();
    await user.click(screen.getByTestId("nav-system"));
    expect(
      await screen.findByRole("heading", { name: "Models run on the CPU" }),
    ).toBeInTheDocument();
    expect(runDoctor).toHaveBeenCalledWith("auto");
    await user.click(screen.getByRole("button", { name: "Older" }));
    expect(screen.getByTestId("nav-chat")).toHaveAttribute("aria-current", "page");
    expect(conversationMessages).toHaveBeenCalledWith(1);
  });

  it("updates the badge live from the shell's events", async () => {
    render(<App />);
    // The events below are newer than the status: wait for the status to land first.
    await waitFor(() => {
      expect(screen.getByTestId("provider-badge")).toHaveTextContent("NPU");
    });
    act(() => {
      handlers.modelLoading?.({ model: "chat", name: "qwen2.5-0.5b", revision: 5 });
    });
    expect(screen.getByTestId("provider-badge")).toHaveTextContent("Loading");
    act(() => {
      handlers.providerChanged?.({
        model: "chat",
        name: "qwen2.5-0.5b",
        provider: cpuFallbackProvider,
        reason: null,
        revision: 6,
      });
    });
    expect(screen.getByTestId("provider-badge")).toHaveTextContent("CPU");
  });

  /** Opens the app, then fails loading qwen2.5-0.5b as the chat model, `stillLoaded` answering. */
  async function failChatLoad(stillLoaded: string | null) {
    render(<App />);
    await waitFor(() => {
      expect(screen.getByTestId("provider-badge")).toHaveTextContent("NPU");
    });
    act(() => {
      handlers.modelLoading?.({ model: "chat", name: "qwen2.5-0.5b", revision: 5 });
      handlers.modelError?.({
        model: "chat",
        revision: 6,
        code: "model_load_failed",
        message: "/models/qwen2.5-0.5b: no model.onnx",
        stillLoaded,
      });
    });
  }

  it("shows a model that failed to load as a banner, with the way to the settings", async () => {
    const user = userEvent.setup();
    await failChatLoad(null);
    const banner = screen.getByTestId("error-banner");
    expect(banner).toHaveTextContent("The chat model “qwen2.5-0.5b” could not be loaded");
    expect(banner).toHaveTextContent("/models/qwen2.5-0.5b: no model.onnx");
    expect(screen.getByTestId("provider-badge")).toHaveTextContent("Failed");
    await user.click(within(banner).getByRole("button", { name: "Check the model in Settings" }));
    expect(screen.getByTestId("nav-settings")).toHaveAttribute("aria-current", "page");
    await user.click(
      within(screen.getByTestId("error-banner")).getByRole("button", { name: "Dismiss" }),
    );
    expect(screen.queryByTestId("error-banner")).not.toBeInTheDocument();
  });

  it("says which model keeps answering when a new one fails to load", async () => {
    await failChatLoad("smollm2-135m-instruct");
    const banner = screen.getByTestId("error-banner");
    expect(banner).toHaveTextContent(
      "The new chat model setting could not be loaded; “smollm2-135m-instruct” keeps answering",
    );
    expect(banner).toHaveTextContent("/models/qwen2.5-0.5b: no model.onnx");
    expect(screen.getByTestId("provider-badge")).toHaveTextContent("NPU");
  });

  it("shows the shell's notices once, dismissibly", async () => {
    const user = userEvent.setup();
    const notice =
      "settings.json could not be read; it was moved to settings.json.corrupt-1700000000";
    vi.mocked(appStatus).mockResolvedValue({ ...readyStatus, notices: [notice] });
    render(<App />);
    expect(await screen.findByText(notice)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Dismiss notice" }));
    expect(screen.queryByText(notice)).not.toBeInTheDocument();

    // Saving the settings reads the status again; the same notice does not come back.
    await user.click(screen.getByTestId("nav-settings"));
    await user.click(await screen.findByTestId("settings-save"));
    await screen.findByText(/^Saved\./);
    expect(appStatus).toHaveBeenCalledTimes(2);
    expect(screen.queryByText(notice)).not.toBeInTheDocument();
  });

  it("applies the saved theme, and a new one while it is chosen", async () => {
    const user = userEvent.setup();
    vi.mocked(getSettings).mockResolvedValue({ ...defaultSettings, theme: "dark" });
    render(<App />);
    await waitFor(() => {
      expect(document.documentElement.dataset.theme).toBe("dark");
    });
    await user.click(screen.getByTestId("nav-settings"));
    await user.selectOptions(await screen.findByLabelText("Theme"), "light");
    expect(document.documentElement.dataset.theme).toBe("light");
    // Leaving without saving goes back to the saved theme.
    await user.click(screen.getByTestId("nav-chat"));
    expect(document.documentElement.dataset.theme).toBe("dark");
  });

  it("points to the settings when no chat model is loaded", async () => {
    const user = userEvent.setup();
    vi.mocked(sendChat).mockImplementation(
      (_request, onEvent: (event: ChatStreamEvent) => void) => {
        onEvent({ event: "error", data: { code: "no_model", message: "no chat model is loaded" } });
        return Promise.reject(new Error("no chat model is loaded"));
      },
    );
    render(<App />);
    await user.type(screen.getByTestId("composer-input"), "Hello{Enter}");
    const banner = await screen.findByTestId("error-banner");
    expect(banner).toHaveTextContent("No chat model is loaded");
    expect(screen.getByText("Hello")).toBeInTheDocument();
    await user.click(within(banner).getByRole("button", { name: "Choose a model in Settings" }));
    expect(screen.getByTestId("nav-settings")).toHaveAttribute("aria-current", "page");
  });
});
