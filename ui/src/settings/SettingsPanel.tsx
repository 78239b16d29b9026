import { ErrorBanner } from "../common/ErrorBanner";
import type { DeviceInfo, Theme } from "../ipc";
import { ModelImport } from "./ModelImport";
import { SettingsForm } from "./SettingsForm";
import type { Models } from "./useModels";
import type { SettingsStore } from "./useSettings";

/** Settings, and model import below them (an imported model is then chosen in the form). */
export function SettingsPanel({
  store,
  models,
  devices,
  onThemePreview,
}: {
  store: SettingsStore;
  models: Models;
  devices: DeviceInfo[];
  onThemePreview: (theme: Theme | null) => void;
}) {
  return (
    <div className="panel">
      <header className="panel-header">
        <h2>Settings</h2>
        <p className="muted">
          Saved settings apply at once; a new provider or model loads in the background.
        </p>
      </header>
      {store.loadError !== null && (
        <ErrorBanner title="The settings could not be read" error={store.loadError} />
      )}
      {models.error !== null && (
        <ErrorBanner title="The model list could not be read" error={models.error} />
      )}
      {store.saved === null ? (
        store.loadError === null && <p className="muted">Loading the settings…</p>
      ) : (
        <section className="card">
          <SettingsForm
            saved={store.saved}
            devices={devices}
            models={models.list}
            onSave={store.save}
            onThemePreview={onThemePreview}
          />
        </section>
      )}
      <section className="card" aria-labelledby="import-heading">
        <header className="card-header">
          <h2 id="import-heading">Import a model</h2>
        </header>
        <ModelImport
          onImported={() => {
            models.refresh();
          }}
        />
      </section>
    </div>
  );
}
