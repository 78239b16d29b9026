// Adds the DOM matchers (toBeInTheDocument, toHaveAccessibleName, ...) and unmounts after each
// test, so tests never see each other's DOM.
import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
});

// jsdom does no layout, so it has no scrolling API; the preview scrolls its passage into view.
// (Files that run in the node environment, like boundary.test.ts, have no DOM at all.)
if ("Element" in globalThis) {
  Element.prototype.scrollIntoView = function scrollIntoView() {
    // Nothing to scroll in a DOM without layout.
  };
}
