import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";

import type { DocumentsStatus, IndexProgressEvent } from "../ipc";
import {
  addDocuments,
  cancelIndexing,
  documentsStatus,
  openDocument,
  previewDocument,
  removeDocuments,
  searchDocuments,
} from "../ipc/documents";
import { onIndexError, onIndexProgress } from "../ipc/events";
import { searchResult } from "../test/fixtures";
import { DocumentsPanel } from "./DocumentsPanel";
import { PreviewDialog, type PreviewTarget } from "./PreviewDialog";
import { useDocuments } from "./useDocuments";
import { useDocumentSearch } from "./useDocumentSearch";

vi.mock("../ipc/documents");
vi.mock("../ipc/events");

const status: DocumentsStatus = {
  counts: { sources: 1, documents: 120, skipped: 3, contents: 118, chunks: 2400 },
  sources: [{ id: 1, path: "/home/ada/notes" }],
  skipped: [
    { path: "/home/ada/notes/scan.pdf", reason: "no text layer" },
    { path: "/home/ada/notes/big.csv", reason: "larger than 32 MiB" },
    { path: "/home/ada/notes/scan2.pdf", reason: "no text layer" },
  ],
  indexing: null,
  error: null,
  progressSeq: 0,
};

const running: IndexProgressEvent = {
  seq: 1,
  source: "/home/ada/papers",
  phase: "indexing",
  filesTotal: 40,
  filesDone: 10,
  filesSkipped: 1,
  chunksDone: 380,
  filesPerSecond: 2.5,
  chunksPerSecond: 95,
  etaSeconds: 125,
  current: "/home/ada/papers/attention.pdf",
};

let emitProgress: (progress: IndexProgressEvent) => void = () => undefined;

function Harness() {
  const documents = useDocuments();
  const search = useDocumentSearch();
  const [preview, setPreview] = useState<PreviewTarget | null>(null);
  return (
    <>
      <DocumentsPanel documents={documents} search={search} onOpenResult={setPreview} />
      {preview !== null && (
        <PreviewDialog
          target={preview}
          onClose={() => {
            setPreview(null);
          }}
        />
      )}
    </>
  );
}

beforeEach(() => {
  vi.mocked(documentsStatus).mockResolvedValue(status);
  vi.mocked(addDocuments).mockResolvedValue();
  vi.mocked(removeDocuments).mockResolvedValue();
  vi.mocked(cancelIndexing).mockResolvedValue();
  vi.mocked(onIndexProgress).mockImplementation((handler) => {
    emitProgress = handler;
    return vi.fn();
  });
  vi.mocked(onIndexError).mockReturnValue(vi.fn());
});

describe("DocumentsPanel", () => {
  it("adds a folder by path and reads the index again", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    expect(await screen.findByText("/home/ada/notes")).toBeInTheDocument();
    await user.type(screen.getByTestId("documents-path"), "/home/ada/papers");
    await user.click(screen.getByTestId("documents-add"));
    expect(addDocuments).toHaveBeenCalledWith("/home/ada/papers");
    expect(screen.getByTestId("documents-path")).toHaveValue("");
    expect(documentsStatus).toHaveBeenCalledTimes(2);
  });

  it("shows a failed add in the panel", async () => {
    const user = userEvent.setup();
    vi.mocked(addDocuments).mockRejectedValue({
      code: "documents",
      message: "/nope: no such folder",
    });
    render(<Harness />);
    await user.type(screen.getByTestId("documents-path"), "/nope");
    await user.click(screen.getByTestId("documents-add"));
    expect(await screen.findByTestId("error-banner")).toHaveTextContent("/nope: no such folder");
    expect(screen.getByTestId("documents-path")).toHaveValue("/nope");
  });

  it("shows live progress with counts, rates and time left, and cancels", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await screen.findByText("/home/ada/notes");
    act(() => {
      emitProgress(running);
    });
    const bar = screen.getByTestId("index-progress");
    expect(bar).toHaveAttribute("role", "progressbar");
    expect(bar).toHaveAttribute("aria-valuenow", "25");
    const card = screen.getByRole("region", { name: "Indexing progress" });
    expect(card).toHaveTextContent("10 of 40 files");
    expect(card).toHaveTextContent("380 chunks");
    expect(card).toHaveTextContent("2.5 files/s · 95.0 chunks/s");
    expect(card).toHaveTextContent("about 2 min 5 s left");
    expect(card).toHaveTextContent("attention.pdf");
    expect(screen.getByTestId("documents-add")).toBeDisabled();

    await user.click(within(card).getByRole("button", { name: "Cancel" }));
    expect(cancelIndexing).toHaveBeenCalled();

    await act(async () => {
      emitProgress({ ...running, seq: 2, phase: "cancelled", filesDone: 12 });
      await Promise.resolve();
    });
    expect(within(card).queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
    expect(screen.getByTestId("index-progress")).toHaveAttribute("aria-valuenow", "30");
    expect(documentsStatus).toHaveBeenCalledTimes(2);
  });

  it("keeps a finished run when a status answer read before its end arrives late", async () => {
    // The answer to the status read that `documents_add` starts was read while the run was
    // scanning (progressSeq 1), but reaches the window after the run's `done` (seq 2).
    let answerLate: (value: DocumentsStatus) => void = () => undefined;
    vi.mocked(documentsStatus)
      .mockResolvedValueOnce(status)
      .mockImplementationOnce(
        () =>
          new Promise((resolve) => {
            answerLate = resolve;
          }),
      );
    const user = userEvent.setup();
    render(<Harness />);
    await screen.findByText("/home/ada/notes");
    await user.type(screen.getByTestId("documents-path"), "/home/ada/papers");
    await user.click(screen.getByTestId("documents-add"));
    act(() => {
      emitProgress(running);
      emitProgress({ ...running, seq: 2, phase: "done", filesDone: 40, etaSeconds: null });
    });
    await act(async () => {
      answerLate({
        ...status,
        indexing: { ...running, phase: "scanning", filesDone: 0 },
        progressSeq: 1,
      });
      await Promise.resolve();
    });
    const card = screen.getByRole("region", { name: "Indexing progress" });
    expect(card).toHaveTextContent("40 of 40 files");
    expect(within(card).queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
    expect(screen.getByTestId("index-progress")).toHaveAttribute("aria-valuenow", "100");
  });

  it("shows a run already going when the panel opens", async () => {
    vi.mocked(documentsStatus).mockResolvedValueOnce({ ...status, indexing: running, progressSeq: 1 });
    render(<Harness />);
    const card = await screen.findByRole("region", { name: "Indexing progress" });
    expect(card).toHaveTextContent("10 of 40 files");
    expect(within(card).getByRole("button", { name: "Cancel" })).toBeInTheDocument();
  });

  it("groups skipped files by reason, largest group first", async () => {
    render(<Harness />);
    const card = await screen.findByRole("region", { name: "Skipped files" });
    const groups = within(card).getAllByRole("group");
    expect(groups.map((group) => group.querySelector("summary")?.textContent)).toEqual([
      "no text layer (2)",
      "larger than 32 MiB (1)",
    ]);
    expect(groups[0]).not.toHaveAttribute("open");
  });

  it("removes a folder after confirmation", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.click(await screen.findByRole("button", { name: "Remove /home/ada/notes" }));
    await user.click(screen.getByRole("button", { name: "Remove" }));
    expect(removeDocuments).toHaveBeenCalledWith("/home/ada/notes");
  });

  it("searches as the user types, highlights matches, and previews a result", async () => {
    const user = userEvent.setup();
    vi.mocked(searchDocuments).mockResolvedValue({
      results: [searchResult],
      queryTruncated: false,
    });
    vi.mocked(previewDocument).mockResolvedValue({
      path: searchResult.path,
      text: "# Ownership\n\n## Borrowing\nA reference borrows the value.\n<script>alert(1)</script>",
      firstLine: 10,
    });
    render(<Harness />);
    await user.type(screen.getByTestId("documents-search"), "borrowing");
    const result = await screen.findByTestId("search-result");
    expect(searchDocuments).toHaveBeenLastCalledWith("borrowing", 10);
    expect(result).toHaveTextContent("rust.md");
    expect(result).toHaveTextContent("Ownership > Borrowing");
    expect(result).toHaveTextContent("lines 12–30");
    expect(result).toHaveTextContent("similarity 0.71");
    expect([...result.querySelectorAll("mark")].map((m) => m.textContent)).toEqual([
      "borrows",
      "borrowing",
    ]);

    await user.click(result);
    expect(previewDocument).toHaveBeenCalledWith(searchResult.path, [12, 30]);
    const dialog = await screen.findByRole("dialog", { name: "rust.md" });
    const lines = await within(dialog).findAllByRole("listitem");
    expect(lines[0]).toHaveTextContent("10# Ownership");
    expect(lines[2]).toHaveClass("preview-line-marked");
    expect(lines[1]).not.toHaveClass("preview-line-marked");
    expect(dialog.querySelector("script")).toBeNull();
    expect(dialog).toHaveTextContent("<script>alert(1)</script>");

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(result).toHaveFocus();
  });

  it("opens the previewed file in its app, and shows why when it cannot", async () => {
    const user = userEvent.setup();
    vi.mocked(searchDocuments).mockResolvedValue({ results: [searchResult], queryTruncated: false });
    vi.mocked(previewDocument).mockResolvedValue({
      path: searchResult.path,
      text: "## Borrowing",
      firstLine: 12,
    });
    vi.mocked(openDocument)
      .mockResolvedValueOnce()
      .mockRejectedValueOnce({ code: "open_failed", message: `cannot open ${searchResult.path}` });
    render(<Harness />);
    await user.type(screen.getByTestId("documents-search"), "borrowing");
    await user.click(await screen.findByTestId("search-result"));
    const dialog = await screen.findByRole("dialog", { name: "rust.md" });
    await user.click(within(dialog).getByTestId("preview-open-file"));
    expect(openDocument).toHaveBeenCalledWith(searchResult.path);
    expect(within(dialog).queryByTestId("error-banner")).not.toBeInTheDocument();
    await user.click(within(dialog).getByTestId("preview-open-file"));
    expect(await within(dialog).findByTestId("error-banner")).toHaveTextContent(
      `cannot open ${searchResult.path}`,
    );
  });
});
