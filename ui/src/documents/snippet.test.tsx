import { render } from "@testing-library/react";

import { searchResult } from "../test/fixtures";
import { highlightSegments } from "./snippet";
import { Snippet } from "./Snippet";

describe("highlightSegments", () => {
  it("maps UTF-8 byte ranges to the right characters", () => {
    const segments = highlightSegments(searchResult.snippet, searchResult.highlights);
    expect(segments.filter((s) => s.marked).map((s) => s.text)).toEqual(["borrows", "borrowing"]);
    expect(segments.map((s) => s.text).join("")).toBe(searchResult.snippet);
  });

  it("handles characters outside the BMP (4 bytes, 2 UTF-16 units)", () => {
    // "🦀 crab é": 🦀 = 4 bytes, space = 1, "crab" at bytes 5..9, " é" after.
    expect(highlightSegments("🦀 crab é", [{ start: 5, end: 9 }])).toEqual([
      { text: "🦀 ", marked: false },
      { text: "crab", marked: true },
      { text: " é", marked: false },
    ]);
  });

  it("tolerates overlapping, unsorted, empty and out-of-range ranges", () => {
    const segments = highlightSegments("abcdef", [
      { start: 4, end: 99 },
      { start: 0, end: 2 },
      { start: 1, end: 3 },
      { start: 3, end: 3 },
    ]);
    expect(segments).toEqual([
      { text: "abc", marked: true },
      { text: "d", marked: false },
      { text: "ef", marked: true },
    ]);
  });

  it("returns the whole text unmarked without highlights", () => {
    expect(highlightSegments("short text", [])).toEqual([{ text: "short text", marked: false }]);
  });
});

describe("Snippet", () => {
  it("renders matches as <mark> and markup in the text as text", () => {
    const { container } = render(
      <Snippet text={"<b onclick=x>bold</b> match"} highlights={[{ start: 22, end: 27 }]} />,
    );
    expect([...container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["match"]);
    expect(container.querySelector("b")).toBeNull();
    expect(container).toHaveTextContent("<b onclick=x>bold</b> match");
  });
});
