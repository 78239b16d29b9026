import { useEffect } from "react";

import type { Theme } from "../ipc";

const DARK_QUERY = "(prefers-color-scheme: dark)";

/** What `system` means right now. jsdom and old webviews have no matchMedia: light then. */
function systemPrefersDark(): boolean {
  return typeof window.matchMedia === "function" && window.matchMedia(DARK_QUERY).matches;
}

/**
 * Sets `data-theme="light" | "dark"` on the root element; styles.css keys every colour token on
 * it. The choice is resolved here rather than with a CSS media query so that an explicit
 * light/dark setting can override the system without duplicating the dark palette.
 */
export function applyTheme(theme: Theme): void {
  const dark = theme === "dark" || (theme === "system" && systemPrefersDark());
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

/** Applies `theme` live, and follows the system's switches while it is `system`. */
export function useTheme(theme: Theme): void {
  useEffect(() => {
    applyTheme(theme);
    if (theme !== "system" || typeof window.matchMedia !== "function") {
      return undefined;
    }
    const query = window.matchMedia(DARK_QUERY);
    const follow = () => {
      applyTheme("system");
    };
    query.addEventListener("change", follow);
    return () => {
      query.removeEventListener("change", follow);
    };
  }, [theme]);
}
