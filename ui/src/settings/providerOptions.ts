// The provider select's choices: the policies, then every discovered device as `<EP>#<index>`
// (the form `ProviderChoice::Device` parses), named the way the engine names devices.
import { describeChoice, kindLabel } from "../doctor/format";
import { shortEp } from "../common/format";
import { PROVIDER_POLICIES, type DeviceInfo } from "../ipc";

export interface ProviderOption {
  value: string;
  label: string;
  group: "Policy" | "Device" | "Other";
}

/** Mirrors `DeviceInfo::display_name` in onyx-runtime, so the app and the CLI agree. */
export function deviceDisplayName(device: DeviceInfo): string {
  const description = device.hardwareMetadata.Description;
  const base =
    description !== undefined && description !== ""
      ? description
      : `${device.hardwareVendor === "" ? "unknown" : device.hardwareVendor} ${kindLabel(device.kind)}`;
  const ov = device.epMetadata.ov_device;
  return ov !== undefined && ov !== "" ? `${base} (${ov})` : base;
}

export function providerOptions(devices: DeviceInfo[], current: string): ProviderOption[] {
  const options: ProviderOption[] = [
    ...PROVIDER_POLICIES.map((policy) => ({
      value: policy,
      label: describeChoice(policy),
      group: "Policy" as const,
    })),
    ...devices.map((device) => ({
      value: `${device.epName}#${String(device.index)}`,
      label: `${kindLabel(device.kind)} · ${deviceDisplayName(device)} — ${shortEp(device.epName)} #${String(device.index)}`,
      group: "Device" as const,
    })),
  ];
  // A saved choice that is not offered (an EP name, a device that went away) stays visible, so
  // the select never silently shows something other than what is saved.
  if (
    current !== "" &&
    !options.some((option) => option.value.toLowerCase() === current.toLowerCase())
  ) {
    options.push({ value: current, label: `${current} (not found now)`, group: "Other" });
  }
  return options;
}
