import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { applyTheme } from "./app/theme";
import "./styles.css";

const root = document.getElementById("root");
if (root === null) {
  throw new Error("index.html has no #root element");
}
// The system theme until the settings arrive, so a dark desktop never flashes a light window.
applyTheme("system");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
