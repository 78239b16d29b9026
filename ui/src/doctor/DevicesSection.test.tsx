import { render, screen, within } from "@testing-library/react";

import { DevicesSection } from "./DevicesSection";
import { loadedReport } from "./fixtures";
import { PluginsSection } from "./PluginsSection";

describe("DevicesSection", () => {
  it("shows each device's EP, vendors, kind, ids and metadata", () => {
    render(<DevicesSection devices={loadedReport.devices} runtimeLoaded />);
    const devices = within(screen.getByRole("list", { name: "Devices" })).getAllByRole(
      "listitem",
    );
    expect(devices).toHaveLength(2);
    const openvino = screen.getByRole("listitem", { name: "Intel CPU, OpenVINOExecutionProvider" });
    expect(openvino).toHaveTextContent("OpenVINOExecutionProvider");
    expect(within(openvino).getByText("CPU", { selector: ".kind-badge" })).toBeInTheDocument();
    expect(within(openvino).getAllByText("0x8086")).toHaveLength(1);
    expect(within(openvino).getByText("EP metadata")).toBeInTheDocument();
    expect(within(openvino).getByText("ov_device")).toBeInTheDocument();
    const cpu = screen.getByRole("listitem", { name: "Intel CPU, CPUExecutionProvider" });
    expect(cpu).toHaveTextContent("Microsoft");
    expect(cpu).toHaveTextContent("EP metadata: none");
  });

  it("says so when there are no devices", () => {
    render(<DevicesSection devices={[]} runtimeLoaded />);
    expect(screen.getByText("No devices were discovered.")).toBeInTheDocument();
  });

  it("does not claim the machine has no devices when ORT did not load", () => {
    render(<DevicesSection devices={[]} runtimeLoaded={false} />);
    expect(screen.queryByText("No devices were discovered.")).not.toBeInTheDocument();
    expect(screen.getByText(/once it is loaded/)).toBeInTheDocument();
  });
});

describe("PluginsSection", () => {
  it("marks each plugin registered or failed, with the failure reason", () => {
    render(<PluginsSection plugins={loadedReport.plugins} runtimeLoaded />);
    expect(screen.getByText("1 of 2 registered")).toBeInTheDocument();
    const rows = within(
      screen.getByRole("list", { name: "Execution provider libraries" }),
    ).getAllByRole("listitem");
    expect(rows[0]).toHaveTextContent("OpenVINOExecutionProvider");
    expect(rows[0]).toHaveTextContent("Registered");
    expect(rows[1]).toHaveTextContent("QNNExecutionProvider");
    expect(rows[1]).toHaveTextContent("Failed");
    expect(rows[1]).toHaveTextContent("cannot open shared object file");
  });
});

describe("PluginsSection device count", () => {
  it("says when a registered plugin offers no device here, instead of a plain success", () => {
    const plugin = {
      epName: "OpenVINOExecutionProvider",
      path: "/runtime/openvino/libonnxruntime_providers_openvino_plugin.so",
      status: "registered" as const,
      error: null,
      deviceCount: 0,
    };
    render(<PluginsSection plugins={[plugin]} runtimeLoaded />);
    const row = within(screen.getByRole("list", { name: "Execution provider libraries" })).getByRole("listitem");
    expect(row).toHaveTextContent("No device");
    expect(row).toHaveTextContent("offers no device for this machine's hardware");
    expect(row).not.toHaveTextContent(/^.*Registered$/);
  });
});
