import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { CommandError, type DoctorReport } from "../ipc";
import { loadedReport, runtimeFailedReport } from "./fixtures";
import { SystemPanel } from "./SystemPanel";

/** A runner whose answers the test releases by hand, to control ordering. */
function deferredRunner() {
  const calls: {
    provider: string;
    resolve: (r: DoctorReport) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const run = vi.fn(
    (provider: string) =>
      new Promise<DoctorReport>((resolve, reject) => {
        calls.push({ provider, resolve, reject });
      }),
  );
  return { run, calls };
}

describe("SystemPanel", () => {
  it("runs the doctor with auto on start and shows where models run", async () => {
    const run = vi.fn(() => Promise.resolve(loadedReport));
    render(<SystemPanel run={run} />);
    expect(run).toHaveBeenCalledWith("auto");
    expect(
      await screen.findByRole("heading", { name: "Models run on the CPU" }),
    ).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent(
      "Check finished: models run on the CPU with OpenVINOExecutionProvider.",
    );
  });

  it("shows a placeholder while the first check runs", () => {
    const { run } = deferredRunner();
    render(<SystemPanel run={run} />);
    expect(screen.getByText(/Checking ONNX Runtime/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Checking…" })).toBeDisabled();
    expect(screen.getByTestId("system-report")).toHaveAttribute("aria-busy", "true");
  });

  it("shows the runtime failure as the headline, with what to do about it", async () => {
    render(<SystemPanel run={() => Promise.resolve(runtimeFailedReport)} />);
    expect(
      await screen.findByRole("heading", { name: "ONNX Runtime is not loaded" }),
    ).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Summary" })).toHaveTextContent(
      "None of the 2 places tried holds a usable ONNX Runtime library.",
    );
    expect(screen.getByRole("region", { name: "Provider resolution" })).toHaveTextContent(
      "Not checked",
    );
  });

  it("offers the policies and the discovered EPs, and re-runs with the chosen one", async () => {
    const user = userEvent.setup();
    const run = vi.fn(() => Promise.resolve(loadedReport));
    render(<SystemPanel run={run} />);
    await screen.findByRole("heading", { name: "Models run on the CPU" });

    const select = screen.getByRole("combobox", { name: "Provider" });
    const options = within(select)
      .getAllByRole("option")
      .map((option) => option.textContent);
    expect(options).toEqual([
      "Auto (NPU → GPU → CPU)",
      "NPU",
      "GPU",
      "CPU",
      "CPUExecutionProvider",
      "OpenVINOExecutionProvider",
    ]);

    await user.selectOptions(select, "OpenVINOExecutionProvider");
    expect(run).toHaveBeenLastCalledWith("OpenVINOExecutionProvider");

    await user.click(await screen.findByRole("button", { name: "Check again" }));
    expect(run).toHaveBeenCalledTimes(3);
    expect(run).toHaveBeenLastCalledWith("OpenVINOExecutionProvider");
  });

  it("keeps only the newest answer when checks overlap", async () => {
    const user = userEvent.setup();
    const { run, calls } = deferredRunner();
    render(<SystemPanel run={run} />);
    await user.selectOptions(screen.getByRole("combobox", { name: "Provider" }), "npu");
    expect(calls.map((call) => call.provider)).toEqual(["auto", "npu"]);

    // The newer check answers first; the older, slower one must not replace it.
    await act(async () => {
      calls[1]?.resolve(runtimeFailedReport);
      await Promise.resolve();
    });
    await act(async () => {
      calls[0]?.resolve(loadedReport);
      await Promise.resolve();
    });
    expect(screen.getByRole("heading", { name: "ONNX Runtime is not loaded" })).toBeInTheDocument();
    expect(
      screen.queryByRole("heading", { name: "Models run on the CPU" }),
    ).not.toBeInTheDocument();
  });

  it("shows a command error with its message and code, keeping the last report", async () => {
    const user = userEvent.setup();
    const run = vi
      .fn<(provider: string) => Promise<DoctorReport>>()
      .mockResolvedValueOnce(loadedReport)
      .mockRejectedValueOnce(
        new CommandError({ code: "worker_failed", message: "the system check stopped" }),
      );
    render(<SystemPanel run={run} />);
    await screen.findByRole("heading", { name: "Models run on the CPU" });
    await user.click(screen.getByRole("button", { name: "Check again" }));

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The check could not run");
    expect(alert).toHaveTextContent("the system check stopped");
    expect(alert).toHaveTextContent("worker_failed");
    expect(screen.getByRole("heading", { name: "Models run on the CPU" })).toBeInTheDocument();
  });
});
