import { runDoctor } from "../ipc";
import { DoctorScreen } from "./DoctorScreen";
import { discoveredEpNames, describeChoice, kindLabel } from "./format";
import { RefreshIcon } from "./icons";
import { ProviderSelect } from "./ProviderSelect";
import { useDoctor, type DoctorRunner, type DoctorState } from "./useDoctor";

/** The system check: what ONNX Runtime, its providers and this machine's devices look like. */
export function SystemPanel({ run = runDoctor }: { run?: DoctorRunner }) {
  const doctor = useDoctor(run);
  const { report, running, provider, check } = doctor;
  return (
    <div className="panel panel-wide">
      <header className="panel-header panel-header-row">
        <div>
          <h2>System</h2>
          <p className="muted">
            ONNX Runtime, execution providers and devices, checked with a small probe model.
          </p>
        </div>
        <div className="toolbar">
          <ProviderSelect value={provider} epNames={discoveredEpNames(report)} onChange={check} />
          <button
            type="button"
            className="button"
            onClick={() => {
              check(provider);
            }}
            disabled={running}
          >
            {running ? <span className="spinner" aria-hidden="true" /> : <RefreshIcon />}
            {running ? "Checking…" : "Check again"}
          </button>
        </div>
      </header>
      <div aria-busy={running} data-testid="system-report">
        <DoctorScreen report={report} error={doctor.error} running={running} />
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement(doctor)}
      </p>
    </div>
  );
}

/** What the live region says once a check ends, so screen-reader users hear the result. */
function announcement({ report, error, running, provider }: DoctorState): string {
  if (running) {
    return `Checking with ${describeChoice(provider)}…`;
  }
  if (error !== null) {
    return `The check could not run: ${error.message}`;
  }
  if (report === null) {
    return "";
  }
  if (report.runtime.status === "failed") {
    return "Check finished: ONNX Runtime is not loaded.";
  }
  if (report.provider === null) {
    return "Check finished: providers were not checked.";
  }
  const { active } = report.provider;
  return active === null
    ? "Check finished: no provider can run models."
    : `Check finished: models run on the ${kindLabel(active.deviceKind)} with ${active.ep}.`;
}
