import type { CommandError, DoctorReport } from "../ipc";
import { DevicesSection } from "./DevicesSection";
import { AlertIcon } from "./icons";
import { PluginsSection } from "./PluginsSection";
import { ProviderSection } from "./ProviderSection";
import { RuntimeSection } from "./RuntimeSection";
import { Summary } from "./Summary";

/** The report, card by card; or the first-run placeholder; or why the check could not run. */
export function DoctorScreen({
  report,
  error,
  running,
}: {
  report: DoctorReport | null;
  error: CommandError | null;
  running: boolean;
}) {
  return (
    <>
      {error !== null && (
        <div className="callout callout-bad banner" role="alert">
          <AlertIcon className="banner-icon" />
          <div>
            <p className="strong">The check could not run</p>
            <p>{error.message}</p>
            <p className="muted small">Error code: {error.code}</p>
          </div>
        </div>
      )}
      {report === null ? (
        running && (
          <div className="placeholder">
            <span className="spinner spinner-large" aria-hidden="true" />
            <p>Checking ONNX Runtime, execution providers and devices…</p>
          </div>
        )
      ) : (
        <div className={running ? "report report-stale" : "report"}>
          <Summary report={report} />
          {report.runtime.status === "loaded" ? (
            <div className="grid">
              <ProviderSection provider={report.provider} />
              <div className="stack">
                <RuntimeSection runtime={report.runtime} />
                <PluginsSection plugins={report.plugins} runtimeLoaded />
              </div>
              <DevicesSection devices={report.devices} runtimeLoaded />
            </div>
          ) : (
            // Without a runtime nothing else has findings: the paths tried lead, full width.
            <div className="grid">
              <RuntimeSection runtime={report.runtime} className="card-wide" />
              <ProviderSection provider={report.provider} />
              <PluginsSection plugins={report.plugins} runtimeLoaded={false} />
              <DevicesSection devices={report.devices} runtimeLoaded={false} />
            </div>
          )}
        </div>
      )}
    </>
  );
}
