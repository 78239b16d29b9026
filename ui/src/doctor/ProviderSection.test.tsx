import { render, screen, within } from "@testing-library/react";

import { loadedReport, noProviderReport } from "./fixtures";
import { ProviderSection } from "./ProviderSection";

describe("ProviderSection", () => {
  it("lists refused attempts in order, then the provider that was used", () => {
    render(<ProviderSection provider={loadedReport.provider} />);
    const items = within(screen.getByRole("list", { name: "Provider attempts" })).getAllByRole(
      "listitem",
    );
    expect(items).toHaveLength(3);
    expect(items[0]).toHaveTextContent(/^NPUno NPU found on this machine$/);
    expect(items[1]).toHaveTextContent(/^GPUno GPU found on this machine$/);
    expect(items[2]).toHaveTextContent("OpenVINOExecutionProvider");
    expect(items[2]).toHaveTextContent("Session built, 7 of 8 nodes on this provider");
  });

  it("shows the requested choice and the measured share", () => {
    render(<ProviderSection provider={loadedReport.provider} />);
    expect(screen.getByText("Auto (NPU → GPU → CPU)")).toBeInTheDocument();
    expect(screen.getByText("88%")).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "88% of 8 nodes on OpenVINOExecutionProvider" })).toBeInTheDocument();
    const legend = within(screen.getByRole("list", { name: "Nodes per provider" })).getAllByRole(
      "listitem",
    );
    expect(legend.map((item) => item.textContent)).toEqual([
      "OpenVINOExecutionProvider7 (88%)",
      "CPUExecutionProvider1 (13%)",
    ]);
  });

  it("ends the attempts with the error when no provider could be used", () => {
    render(<ProviderSection provider={noProviderReport.provider} />);
    expect(screen.getByText("No provider")).toBeInTheDocument();
    const items = within(screen.getByRole("list", { name: "Provider attempts" })).getAllByRole(
      "listitem",
    );
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("QNNExecutionProvider");
    expect(items[0]).toHaveTextContent("the QNN plugin library is not registered");
    expect(items[1]).toHaveTextContent("no NPU could run the probe model");
    expect(screen.queryByRole("img")).not.toBeInTheDocument();
  });

  it("says providers were not checked when the runtime did not load", () => {
    render(<ProviderSection provider={null} />);
    expect(screen.getByText("Not checked")).toBeInTheDocument();
    expect(screen.queryByRole("list", { name: "Provider attempts" })).not.toBeInTheDocument();
  });
});
