import type { PluginLibrary } from "../ipc";
import { Section, StatusPill } from "./Section";

/** The EP plugin libraries found next to ONNX Runtime, and whether ORT registered each one. */
export function PluginsSection({
  plugins,
  runtimeLoaded,
}: {
  plugins: PluginLibrary[];
  /** Plugins are only looked for once ORT is loaded; an empty list means something else then. */
  runtimeLoaded: boolean;
}) {
  const registered = plugins.filter((plugin) => plugin.status === "registered").length;
  return (
    <Section
      title="Execution provider libraries"
      aside={
        plugins.length > 0 ? (
          <span className="muted small">
            {registered} of {plugins.length} registered
          </span>
        ) : undefined
      }
    >
      {plugins.length === 0 ? (
        <p className="muted">
          {runtimeLoaded
            ? "No plugin libraries were found. The CPU provider built into ONNX Runtime is always available."
            : "Plugin libraries are registered once ONNX Runtime is loaded."}
        </p>
      ) : (
        <ul className="rows" aria-label="Execution provider libraries">
          {plugins.map((plugin) => (
            <li key={`${plugin.epName}-${plugin.path}`} className="row">
              <div className="row-main">
                <span className="row-title">{plugin.epName}</span>
                <span className="mono selectable muted small">{plugin.path}</span>
                {plugin.status === "failed" && (
                  <span className="row-error">{plugin.error ?? "Registration failed."}</span>
                )}
                {plugin.status === "registered" && plugin.deviceCount === 0 && (
                  <span className="muted small">
                    Registered, but it offers no device for this machine&apos;s hardware.
                  </span>
                )}
              </div>
              {plugin.status === "registered" && plugin.deviceCount === 0 ? (
                <StatusPill tone="neutral">No device</StatusPill>
              ) : plugin.status === "registered" ? (
                <StatusPill tone="good">Registered</StatusPill>
              ) : (
                <StatusPill tone="bad">Failed</StatusPill>
              )}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
