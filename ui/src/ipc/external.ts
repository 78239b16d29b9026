import { call } from "./call";

/**
 * Opens a web link from a reply in the user's browser (`open_link`). The shell opens only
 * `http`/`https` links and rejects anything else with `invalid_request`; `open_failed` when the
 * system has no browser.
 */
export function openLink(url: string): Promise<void> {
  return call<undefined>("open_link", { url });
}
