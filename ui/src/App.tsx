import { runDoctor } from "./ipc";
import { DoctorScreen } from "./doctor/DoctorScreen";
import { discoveredEpNames, describeChoice, kindLabel } from "./doctor/format";
import { OnyxMark, RefreshIcon } from "./doctor/icons";
import { ProviderSelect } from "./doctor/ProviderSelect";
import { useDoctor, type DoctorRunner, type DoctorState } from "./doctor/useDoctor";

/** The first window: what ONNX Runtime, its providers and this machine's devices look like. */
export function App({ run = runDoctor }: { run?: DoctorRunner }) {
  const doctor = useDoctor(run);
  const { report, running, provider, check } = doctor;
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <OnyxMark />
          <div>
            <h1>Onyx</h1>
            <p className="muted small">System check</p>
          </div>
        </div>
        <div className="toolbar">
          <ProviderSelect
            value={provider}
            epNames={discoveredEpNames(report)}
            onChange={check}
          />
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
      <main className="content" aria-busy={running}>
        <DoctorScreen report={report} error={doctor.error} running={running} />
      </main>
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
