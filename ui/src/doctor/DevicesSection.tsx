import type { DeviceInfo } from "../ipc";
import { formatHexId, kindLabel, sortedEntries } from "./format";
import { DeviceKindIcon } from "./icons";
import { Section } from "./Section";

/** Every device ONNX Runtime's execution providers offer on this machine. */
export function DevicesSection({
  devices,
  runtimeLoaded,
}: {
  devices: DeviceInfo[];
  /** Devices come from ORT; without it an empty list says nothing about the hardware. */
  runtimeLoaded: boolean;
}) {
  return (
    <Section
      title="Devices"
      className="card-wide"
      aside={
        devices.length > 0 ? (
          <span className="muted small">
            {devices.length} {devices.length === 1 ? "device" : "devices"}
          </span>
        ) : undefined
      }
    >
      {devices.length === 0 ? (
        <p className="muted">
          {runtimeLoaded
            ? "No devices were discovered."
            : "Devices are listed by ONNX Runtime once it is loaded."}
        </p>
      ) : (
        <ul className="device-grid" aria-label="Devices">
          {devices.map((device, index) => (
            <DeviceCard key={`${device.epName}-${String(index)}`} device={device} />
          ))}
        </ul>
      )}
    </Section>
  );
}

function DeviceCard({ device }: { device: DeviceInfo }) {
  const kind = kindLabel(device.kind);
  const vendor = device.hardwareVendor === "" ? "Unknown vendor" : device.hardwareVendor;
  return (
    <li className={`device device-${device.kind}`} aria-label={`${vendor} ${kind}, ${device.epName}`}>
      <div className="device-head">
        <span className="device-icon">
          <DeviceKindIcon kind={device.kind} />
        </span>
        <div className="device-title">
          <span className="device-name">
            {vendor} {kind}
          </span>
          <span className="device-ep">{device.epName}</span>
        </div>
        <span className={`kind-badge kind-${device.kind}`}>{kind}</span>
      </div>
      <dl className="facts facts-compact">
        <div>
          <dt>EP vendor</dt>
          <dd>{device.epVendor === "" ? "—" : device.epVendor}</dd>
        </div>
        <div>
          <dt>Vendor ID</dt>
          <dd className="mono">{formatHexId(device.vendorId)}</dd>
        </div>
        <div>
          <dt>Device ID</dt>
          <dd className="mono">{formatHexId(device.deviceId)}</dd>
        </div>
      </dl>
      <Metadata title="Hardware metadata" entries={sortedEntries(device.hardwareMetadata)} />
      <Metadata title="EP metadata" entries={sortedEntries(device.epMetadata)} />
    </li>
  );
}

function Metadata({ title, entries }: { title: string; entries: [string, string][] }) {
  if (entries.length === 0) {
    return (
      <p className="metadata-empty muted small">
        {title}: none
      </p>
    );
  }
  return (
    <details className="metadata">
      <summary>
        {title} <span className="muted">({entries.length})</span>
      </summary>
      <dl>
        {entries.map(([key, value]) => (
          <div key={key}>
            <dt className="mono">{key}</dt>
            <dd className="mono selectable">{value === "" ? "—" : value}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
