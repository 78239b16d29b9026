import { invoke } from "@tauri-apps/api/core";

import { toCommandError } from "./errors";
import type { DoctorReport } from "./types";

/** Provider choices that are policies rather than EP names; `auto` tries NPU → GPU → CPU. */
export const PROVIDER_POLICIES = ["auto", "npu", "gpu", "cpu"] as const;

/** A policy from {@link PROVIDER_POLICIES}. */
export type ProviderPolicy = (typeof PROVIDER_POLICIES)[number];

/**
 * Runs the doctor in the shell (`doctor_report`) with a provider choice: a policy or an
 * execution-provider name such as `OpenVINOExecutionProvider`.
 *
 * The report itself never fails — a missing runtime or a refused provider is data inside it — so
 * a rejection means the shell could not run the check at all. It rejects with a `CommandError`.
 */
export async function runDoctor(provider: string): Promise<DoctorReport> {
  try {
    return await invoke<DoctorReport>("doctor_report", { provider });
  } catch (raw) {
    throw toCommandError(raw);
  }
}
