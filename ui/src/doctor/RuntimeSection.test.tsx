import { render, screen, within } from "@testing-library/react";

import { loadedReport, runtimeFailedReport } from "./fixtures";
import { RuntimeSection } from "./RuntimeSection";

describe("RuntimeSection", () => {
  it("shows the version and library path of a loaded runtime", () => {
    render(<RuntimeSection runtime={loadedReport.runtime} />);
    const card = screen.getByRole("region", { name: "ONNX Runtime" });
    expect(within(card).getByText("Loaded")).toBeInTheDocument();
    expect(within(card).getByText("1.32.0")).toBeInTheDocument();
    expect(
      within(card).getByText("/home/ada/onyx/runtime/libonnxruntime.so.1.32.0"),
    ).toBeInTheDocument();
  });

  it("shows the load failure and every path tried, each with its reason, in order", () => {
    render(<RuntimeSection runtime={runtimeFailedReport.runtime} />);
    const card = screen.getByRole("region", { name: "ONNX Runtime" });
    expect(within(card).getByText("Not loaded")).toBeInTheDocument();
    expect(within(card).getByText(/ONNX Runtime was not found/)).toBeInTheDocument();

    const items = within(screen.getByRole("list", { name: "Paths tried" })).getAllByRole(
      "listitem",
    );
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("/home/ada/onyx/runtime/libonnxruntime.so");
    expect(items[0]).toHaveTextContent("No such file or directory (os error 2)");
    expect(items[1]).toHaveTextContent("libonnxruntime.so: cannot open shared object file");
  });

  it("lists locations passed over before the one that loaded", () => {
    render(
      <RuntimeSection
        runtime={{
          status: "loaded",
          path: "/opt/ort/libonnxruntime.so",
          version: "1.32.0",
          skipped: [{ path: "/env/libonnxruntime.so", reason: "wrong ELF class" }],
        }}
      />,
    );
    expect(screen.getByText("Passed over")).toBeInTheDocument();
    expect(screen.getByRole("list", { name: "Paths passed over" })).toHaveTextContent(
      "wrong ELF class",
    );
  });
});
