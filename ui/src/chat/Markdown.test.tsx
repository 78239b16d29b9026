import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { CommandError } from "../ipc";
import { openLink } from "../ipc/external";
import { Markdown } from "./Markdown";

vi.mock("../ipc/external");

/** Every attribute of every element, for asserting that none carries script. */
function allAttributes(root: HTMLElement): { name: string; value: string }[] {
  return [root, ...root.querySelectorAll("*")].flatMap((element) =>
    [...element.attributes].map(({ name, value }) => ({ name, value })),
  );
}

describe("Markdown (model output is never code)", () => {
  const hostile = [
    "Hello <script>alert(1)</script> there",
    "",
    "<img src=x onerror=alert(1)>",
    "",
    "[x](javascript:alert(1)) and [y](JaVaScRiPt:alert(2)) and [z](data:text/html,<script>alert(3)</script>)",
    "",
    '<a href="javascript:alert(4)">raw link</a> <iframe src="https://evil.example"></iframe>',
    "",
    "![pic](javascript:alert(5)) <svg onload=alert(6)></svg>",
  ].join("\n");

  it("renders no script, no event handler and no javascript: URL", () => {
    const { container } = render(<Markdown text={hostile} />);
    expect(container.querySelector("script, iframe, img, svg, object, embed")).toBeNull();
    for (const { name, value } of allAttributes(container)) {
      expect(name.toLowerCase()).not.toMatch(/^on/);
      expect(value.toLowerCase().replace(/\s/g, "")).not.toContain("javascript:");
      expect(value.toLowerCase()).not.toMatch(/^data:/);
    }
    for (const link of container.querySelectorAll("a")) {
      expect(link.getAttribute("href") ?? "").not.toMatch(/^(javascript|data):/i);
    }
  });

  it("shows raw HTML as the text it is", () => {
    const { container } = render(<Markdown text={hostile} />);
    expect(container).toHaveTextContent("<script>alert(1)</script>");
    expect(container).toHaveTextContent("<img src=x onerror=alert(1)>");
  });

  it("keeps safe links and renders Markdown and highlighted code", () => {
    const { container } = render(
      <Markdown
        text={"# Title\n\n**bold** [docs](https://example.com)\n\n```rust\nfn main() {}\n```"}
      />,
    );
    expect(screen.getByRole("heading", { name: "Title" })).toBeInTheDocument();
    expect(screen.getByText("bold").tagName).toBe("STRONG");
    expect(screen.getByRole("link", { name: "docs" })).toHaveAttribute(
      "href",
      "https://example.com",
    );
    expect(container.querySelector("code.hljs.language-rust .hljs-keyword")).toHaveTextContent(
      "fn",
    );
  });

  it("renders code in an unknown language, and a fence still open mid-stream, as plain code", () => {
    const { container } = render(<Markdown text={"```klingon\nqapla'\n```\n\n```python\nprint("} />);
    expect(container.querySelectorAll("pre")).toHaveLength(2);
    expect(container).toHaveTextContent("qapla'");
    expect(container).toHaveTextContent("print(");
  });

  it("does not navigate the window when a link is clicked, but opens it in the browser", async () => {
    vi.mocked(openLink).mockResolvedValue();
    render(<Markdown text="[docs](https://example.com)" />);
    const link = screen.getByRole("link", { name: "docs" });
    expect(link).toHaveAttribute("title", "Open in your browser: https://example.com");
    const click = new MouseEvent("click", { bubbles: true, cancelable: true });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(openLink).toHaveBeenCalledWith("https://example.com");
    await waitFor(() => {
      expect(link).toHaveAttribute("title", "Opened in your browser: https://example.com");
    });
  });

  it("copies a link the system cannot open, and says why", async () => {
    vi.mocked(openLink).mockRejectedValue(
      new CommandError({
        code: "open_failed",
        message: "cannot open https://example.com/ in a browser: no xdg-open",
      }),
    );
    const user = userEvent.setup();
    render(<Markdown text="[docs](https://example.com)" />);
    const link = screen.getByRole("link", { name: "docs" });
    await user.click(link);
    await waitFor(() => {
      expect(link.getAttribute("title")).toMatch(
        /^Could not open it: cannot open https:\/\/example.com\/ in a browser: no xdg-open; link copied$/,
      );
    });
    await expect(navigator.clipboard.readText()).resolves.toBe("https://example.com");
  });

  it("never hands a non-web link to the shell", async () => {
    const user = userEvent.setup();
    render(<Markdown text="[mail](mailto:ada@example.com)" />);
    await user.click(screen.getByRole("link", { name: "mail" }));
    expect(openLink).not.toHaveBeenCalled();
    await waitFor(() => {
      expect(screen.getByRole("link", { name: "mail" }).getAttribute("title")).toMatch(
        /^Not a web link/,
      );
    });
  });
});
