import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { cpuFallbackProvider, gpuProvider, npuProvider, readyStatus } from "../test/fixtures";
import { ProviderBadge } from "./ProviderBadge";
import {
  initialProviderState,
  providerReducer,
  type ProviderAction,
  type ProviderState,
} from "./providerState";

function stateAfter(...actions: ProviderAction[]): ProviderState {
  return actions.reduce(providerReducer, initialProviderState);
}

function withChat(provider: typeof npuProvider): ProviderState {
  return stateAfter({
    type: "status",
    status: { ...readyStatus, chat: { state: "ready", model: "smollm2", provider, error: null, revision: 1 } },
  });
}

describe("ProviderBadge", () => {
  it.each([
    [npuProvider, "NPU", "OpenVINO · 97%"],
    [gpuProvider, "GPU", "Dml · >99%"],
    [cpuFallbackProvider, "CPU", "100% of nodes"],
  ])("shows the kind, the EP and the share of nodes (%#)", (provider, kind, detail) => {
    render(<ProviderBadge status={withChat(provider)} />);
    const badge = screen.getByTestId("provider-badge");
    expect(badge).toHaveTextContent(kind);
    expect(badge).toHaveTextContent(detail);
    expect(badge).toHaveClass(`provider-badge-${provider.deviceKind}`);
  });

  it("says on its face when a real device refused the model", () => {
    render(<ProviderBadge status={withChat(cpuFallbackProvider)} />);
    const badge = screen.getByTestId("provider-badge");
    expect(badge).toHaveAttribute("data-fallback", "true");
    expect(screen.getByTestId("provider-badge-fallback")).toHaveTextContent("fallback");
    expect(badge).toHaveAccessibleName(
      /It fell back: CUDAExecutionProvider on NVIDIA RTX 4070 could not run it \(CUDA driver 535 is older than 550\)\./,
    );
  });

  it("shows no fallback when the kinds tried first do not exist here", () => {
    const onlyMissing = {
      ...cpuFallbackProvider,
      tried: cpuFallbackProvider.tried.filter((attempt) => attempt.device === "-"),
    };
    expect(onlyMissing.tried.length).toBeGreaterThan(0);
    render(<ProviderBadge status={withChat(onlyMissing)} />);
    expect(screen.getByTestId("provider-badge")).toHaveAttribute("data-fallback", "false");
    expect(screen.queryByTestId("provider-badge-fallback")).not.toBeInTheDocument();
  });

  it("opens the devices tried and why each fell back on click, and closes on Esc", async () => {
    const user = userEvent.setup();
    render(<ProviderBadge status={withChat(cpuFallbackProvider)} />);
    expect(screen.queryByTestId("provider-details")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("provider-badge"));
    const details = screen.getByTestId("provider-details");
    const tried = within(details).getByRole("list", { name: "Devices tried" });
    expect(tried).toHaveTextContent("no NPU found on this machine");
    expect(tried).toHaveTextContent("CUDAExecutionProvider");
    expect(tried).toHaveTextContent("NVIDIA RTX 4070");
    expect(tried).toHaveTextContent("CUDA driver 535 is older than 550");
    expect(details).toHaveTextContent("120 of 120 nodes");
    expect(screen.getByTestId("provider-badge")).toHaveAttribute("aria-expanded", "true");

    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("provider-details")).not.toBeInTheDocument();
    expect(screen.getByTestId("provider-badge")).toHaveFocus();
  });

  it("lists each graph's placement when the model runs more than one", async () => {
    const user = userEvent.setup();
    const graphs = [
      {
        graph: "model.npu.prefill.onnx",
        nodesOnEp: 60,
        nodesTotal: 60,
        placement: [],
        macsOnEp: 100,
        macsTotal: 100,
      },
      {
        graph: "model.npu.decode.onnx",
        nodesOnEp: 37,
        nodesTotal: 40,
        placement: [],
        macsOnEp: 100,
        macsTotal: 100,
      },
    ];
    render(<ProviderBadge status={withChat({ ...npuProvider, nodesOnEp: 97, nodesTotal: 100, graphs })} />);
    await user.click(screen.getByTestId("provider-badge"));
    const listed = screen.getByTestId("provider-graphs");
    expect(listed).toHaveTextContent("model.npu.prefill.onnx: 100% of nodes (60 of 60 nodes)");
    expect(listed).toHaveTextContent("model.npu.decode.onnx: 93% of nodes (37 of 40 nodes)");
  });

  it("shows the weight work beside the node share, and what was left with the EP's reason", async () => {
    const user = userEvent.setup();
    const provider = {
      ...npuProvider,
      ep: "QNNExecutionProvider",
      nodesOnEp: 95,
      nodesTotal: 100,
      macsOnEp: 20_000_000,
      macsTotal: 100_000_000,
      leftBehind: [
        {
          opType: "MatMul",
          ep: "CPUExecutionProvider",
          nodes: 5,
          reason: "QNN EP does not support a standalone DQ op",
        },
      ],
    };
    render(<ProviderBadge status={withChat(provider)} />);
    await user.click(screen.getByTestId("provider-badge"));
    expect(screen.getAllByTestId("provider-weight-work")[0]).toHaveTextContent(
      "20% of the weight work on QNNExecutionProvider (20.0 M of 100.0 M multiply-accumulates per token)",
    );
    expect(screen.getAllByTestId("provider-left-behind")[0]).toHaveTextContent(
      "MatMul ×5 on CPUExecutionProvider: QNN EP does not support a standalone DQ op",
    );
  });

  it("lists no graphs for a model that runs one", async () => {
    const user = userEvent.setup();
    const graphs = [
      {
        graph: "model.cpu.onnx",
        nodesOnEp: 120,
        nodesTotal: 120,
        placement: [],
        macsOnEp: 100,
        macsTotal: 100,
      },
    ];
    render(<ProviderBadge status={withChat({ ...cpuFallbackProvider, graphs })} />);
    await user.click(screen.getByTestId("provider-badge"));
    expect(screen.queryByTestId("provider-graphs")).not.toBeInTheDocument();
  });

  it("shows details on hover", async () => {
    const user = userEvent.setup();
    render(<ProviderBadge status={withChat(npuProvider)} />);
    await user.hover(screen.getByTestId("provider-badge"));
    expect(screen.getByTestId("provider-details")).toHaveTextContent("Intel(R) AI Boost");
    await user.unhover(screen.getByTestId("provider-badge"));
    expect(screen.queryByTestId("provider-details")).not.toBeInTheDocument();
  });

  it("shows loading while a model loads, and the message when it failed", async () => {
    const user = userEvent.setup();
    const loading = stateAfter(
      { type: "status", status: readyStatus },
      { type: "loading", event: { model: "chat", name: "qwen2.5-0.5b", revision: 5 } },
    );
    const { rerender } = render(<ProviderBadge status={loading} />);
    expect(screen.getByTestId("provider-badge")).toHaveTextContent("Loading");
    expect(screen.getByTestId("provider-badge")).toHaveAttribute("data-state", "loading");

    const failed = providerReducer(loading, {
      type: "failed",
      event: {
        model: "chat",
        revision: 5,
        code: "model_load_failed",
        message: "/models/qwen: no tokenizer.json",
        stillLoaded: null,
      },
    });
    rerender(<ProviderBadge status={failed} />);
    const badge = screen.getByTestId("provider-badge");
    expect(badge).toHaveTextContent("Failed");
    expect(badge).toHaveAccessibleName(/no tokenizer\.json/);
    await user.click(badge);
    expect(screen.getByTestId("provider-details")).toHaveTextContent(
      "/models/qwen: no tokenizer.json",
    );
  });

  it("keeps showing the model loaded before when a new load fails, with the failure", () => {
    const state = stateAfter(
      { type: "status", status: readyStatus },
      { type: "loading", event: { model: "chat", name: "qwen2.5-0.5b", revision: 5 } },
      {
        type: "failed",
        event: {
          model: "chat",
          revision: 6,
          code: "model_load_failed",
          message: "no provider could run qwen for 'npu': no NPU found on this machine",
          stillLoaded: "smollm2-135m-instruct",
        },
      },
    );
    expect(state.chat).toMatchObject({ state: "ready", model: "smollm2-135m-instruct" });
    render(<ProviderBadge status={state} />);
    const badge = screen.getByTestId("provider-badge");
    expect(badge).toHaveTextContent("NPU");
    expect(badge).toHaveAttribute("data-state", "ready");
    expect(badge).toHaveAccessibleName(
      /The last load failed, so the model loaded before keeps answering: .*no NPU found/,
    );
  });

  it("follows a fallback reported mid-reply", async () => {
    const user = userEvent.setup();
    const switched = providerReducer(withChat(npuProvider), {
      type: "switchedMidReply",
      change: {
        from: "OpenVINOExecutionProvider on Intel(R) AI Boost [NPU]: 97/100 nodes (97%)",
        to: "CPUExecutionProvider on Intel Xeon [CPU]: 120/120 nodes (100%)",
        reason: "NPU device lost",
      },
    });
    const { rerender } = render(<ProviderBadge status={switched} />);
    const badge = screen.getByTestId("provider-badge");
    expect(badge).toHaveTextContent("CPU");
    expect(badge).toHaveTextContent(/^CPU100% of nodesfallback$/);
    expect(badge).toHaveAccessibleName(/fell back to CPUExecutionProvider: NPU device lost/);

    // The reply ends and the shell sends the CPU session it moved to: still marked as a fallback.
    const cpuAsked = { ...cpuFallbackProvider, tried: [] };
    const moved = providerReducer(switched, {
      type: "changed",
      event: { model: "chat", name: "smollm2-135m-instruct", provider: cpuAsked, reason: "NPU device lost", revision: 9 },
    });
    rerender(<ProviderBadge status={moved} />);
    expect(badge).toHaveAttribute("data-fallback", "true");
    expect(badge).toHaveAccessibleName(/It fell back after a failure during a reply: NPU device lost\./);
    await user.click(badge);
    expect(screen.getByTestId("provider-details")).toHaveTextContent(
      "Moved here after a failure during a reply: NPU device lost",
    );
    await user.click(badge);

    // A new load (reason null) clears it.
    const reloaded = providerReducer(moved, {
      type: "changed",
      event: { model: "chat", name: "smollm2-135m-instruct", provider: cpuAsked, reason: null, revision: 10 },
    });
    rerender(<ProviderBadge status={reloaded} />);
    expect(badge).toHaveAttribute("data-fallback", "false");
  });
});
