// Adds the DOM matchers (toBeInTheDocument, toHaveAccessibleName, ...) and unmounts after each
// test, so tests never see each other's DOM.
import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
});
