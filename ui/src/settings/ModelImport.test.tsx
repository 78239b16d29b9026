import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { ImportEvent, ModelEntry } from "../ipc";
import { pickFile } from "../ipc/dialog";
import { cancelModelImport, importModel } from "../ipc/models";
import { models } from "../test/fixtures";
import { ModelImport } from "./ModelImport";

vi.mock("../ipc/models");
vi.mock("../ipc/dialog");

function fakeImport() {
  const run: {
    emit: (event: ImportEvent) => void;
    resolve: (m: ModelEntry) => void;
    reject: (e: unknown) => void;
  } = {
    emit: () => undefined,
    resolve: () => undefined,
    reject: () => undefined,
  };
  vi.mocked(importModel).mockImplementation(
    (_source, _name, onEvent) =>
      new Promise<ModelEntry>((resolve, reject) => {
        Object.assign(run, { emit: onEvent, resolve, reject });
      }),
  );
  vi.mocked(cancelModelImport).mockResolvedValue();
  return run;
}

const imported = models[1] as ModelEntry;

describe("ModelImport", () => {
  it("imports with a determinate bar and percentage, then hands the model over", async () => {
    const user = userEvent.setup();
    const run = fakeImport();
    const onImported = vi.fn();
    render(<ModelImport onImported={onImported} />);
    await user.type(screen.getByTestId("import-path"), "/dl/qwen.gguf");
    await user.click(screen.getByTestId("import-start"));
    expect(importModel).toHaveBeenCalledWith("/dl/qwen.gguf", null, expect.any(Function));

    act(() => {
      run.emit({ event: "started", data: { source: "/dl/qwen.gguf", name: "qwen" } });
    });
    // Determinate from the start: 0 % until the shell reports more.
    const bar = screen.getByRole("progressbar", { name: "Importing qwen" });
    expect(bar).toBe(screen.getByTestId("import-progress"));
    expect(bar).toHaveAttribute("aria-valuenow", "0");
    expect(screen.getByTestId("import-percent")).toHaveTextContent("0 %");
    act(() => {
      run.emit({ event: "progress", data: { stage: "reading", fraction: 0 } });
      run.emit({ event: "progress", data: { stage: "cpu graph", fraction: 0.424 } });
    });
    expect(bar).toHaveAttribute("aria-valuenow", "42");
    expect(bar).toHaveAttribute("aria-valuetext", "cpu graph, 42 %");
    expect(screen.getByTestId("import-percent")).toHaveTextContent("42 %");
    expect(screen.getByText("cpu graph")).toBeInTheDocument();
    expect(screen.getByTestId("import-start")).toBeDisabled();
    act(() => {
      run.emit({ event: "progress", data: { stage: "checking", fraction: 1 } });
    });
    expect(screen.getByTestId("import-percent")).toHaveTextContent("100 %");
    expect(bar).toHaveAttribute("aria-valuenow", "100");

    await act(async () => {
      run.emit({ event: "done", data: { model: imported } });
      run.resolve(imported);
      await Promise.resolve();
    });
    expect(screen.queryByTestId("import-progress")).not.toBeInTheDocument();
    expect(screen.queryByTestId("import-percent")).not.toBeInTheDocument();
    expect(screen.getByTestId("import-success")).toHaveTextContent(
      "Imported qwen2.5-0.5b as a chat model",
    );
    expect(onImported).toHaveBeenCalledWith(imported);
  });

  it("shows a failed import with the shell's message", async () => {
    const user = userEvent.setup();
    const run = fakeImport();
    render(<ModelImport onImported={vi.fn()} />);
    await user.type(screen.getByTestId("import-path"), "/dl/odd.gguf");
    await user.type(screen.getByLabelText("Name (optional)"), "odd");
    await user.click(screen.getByTestId("import-start"));
    expect(importModel).toHaveBeenCalledWith("/dl/odd.gguf", "odd", expect.any(Function));
    await act(async () => {
      run.emit({
        event: "error",
        data: { code: "import_failed", message: "/dl/odd.gguf: unsupported tensor type Q2_K" },
      });
      run.reject({ code: "import_failed", message: "/dl/odd.gguf: unsupported tensor type Q2_K" });
      await Promise.resolve();
    });
    expect(screen.getByTestId("import-error")).toHaveTextContent("unsupported tensor type Q2_K");
    expect(screen.queryByTestId("import-progress")).not.toBeInTheDocument();
    expect(screen.queryByTestId("import-success")).not.toBeInTheDocument();
  });

  it("cancels, and says so without an error", async () => {
    const user = userEvent.setup();
    const run = fakeImport();
    render(<ModelImport onImported={vi.fn()} />);
    await user.type(screen.getByTestId("import-path"), "/dl/big");
    await user.click(screen.getByTestId("import-start"));
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(cancelModelImport).toHaveBeenCalled();
    await act(async () => {
      run.reject({ code: "cancelled", message: "import cancelled" });
      await Promise.resolve();
    });
    expect(screen.queryByTestId("error-banner")).not.toBeInTheDocument();
    expect(screen.queryByTestId("import-error")).not.toBeInTheDocument();
    expect(screen.getByTestId("import-cancelled")).toHaveTextContent(
      "The import was cancelled; nothing was added.",
    );
  });

  it("fills the path from the file picker, and steps aside without one", async () => {
    const user = userEvent.setup();
    fakeImport();
    vi.mocked(pickFile)
      .mockResolvedValueOnce("/home/ada/m.gguf")
      .mockRejectedValueOnce(new Error("dialog plugin not found"));
    render(<ModelImport onImported={vi.fn()} />);
    await user.click(screen.getByRole("button", { name: "File…" }));
    expect(screen.getByTestId("import-path")).toHaveValue("/home/ada/m.gguf");
    await user.click(screen.getByRole("button", { name: "File…" }));
    expect(await screen.findByText(/No file picker here/)).toBeInTheDocument();
  });
});
