import { call } from "./call";
import type { AppStatus } from "./types";

/** Both models' state, the discovered devices and the notices to show once (`app_status`). */
export function appStatus(): Promise<AppStatus> {
  return call<AppStatus>("app_status");
}
