import { useState } from "react";

import { ErrorBanner } from "../common/ErrorBanner";
import type { ModelSlot } from "../provider/providerState";

/**
 * A model that failed to load (`model-error`), shown above every panel until dismissed. When a
 * model loaded before keeps serving, the banner says so: the user asked for another one and
 * should know it did not come.
 */
export function ModelErrorBanner({
  chat,
  embedding,
  onOpenSettings,
}: {
  chat: ModelSlot;
  embedding: ModelSlot;
  onOpenSettings: () => void;
}) {
  const [dismissed, setDismissed] = useState<string[]>([]);
  const failures = [
    { role: "chat", slot: chat },
    { role: "embedding", slot: embedding },
  ].filter(({ slot }) => slot.error !== null);
  return (
    <>
      {failures.map(({ role, slot }) => {
        const error = slot.error;
        const key = `${role}\u0000${error?.message ?? ""}`;
        if (error === null || dismissed.includes(key)) {
          return null;
        }
        return (
          <ErrorBanner
            key={key}
            className="page-banner"
            title={
              slot.state === "failed"
                ? `The ${role} model ${slot.model === "" ? "" : `“${slot.model}” `}could not be loaded`
                : `The new ${role} model setting could not be loaded; “${slot.model}” keeps answering`
            }
            error={error}
            onDismiss={() => {
              setDismissed((previous) => [...previous, key]);
            }}
            action={
              <button type="button" className="link-button" onClick={onOpenSettings}>
                Check the model in Settings
              </button>
            }
          />
        );
      })}
    </>
  );
}
