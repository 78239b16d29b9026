import { useId } from "react";

import { PROVIDER_POLICIES } from "../ipc";
import { describeChoice } from "./format";

/**
 * The provider choice the doctor resolves: the policies, then every EP the last report found.
 * A choice that is not in the list any more (the EP vanished) stays selectable, so the select
 * never silently shows something other than what was asked. It stays enabled during a check:
 * the newest choice wins (see useDoctor).
 */
export function ProviderSelect({
  value,
  epNames,
  onChange,
}: {
  value: string;
  epNames: string[];
  onChange: (choice: string) => void;
}) {
  const id = useId();
  const policies: readonly string[] = PROVIDER_POLICIES;
  const providers = epNames.includes(value) || policies.includes(value) ? epNames : [...epNames, value];
  return (
    <div className="field">
      <label htmlFor={id}>Provider</label>
      <select
        id={id}
        value={value}
        onChange={(event) => {
          onChange(event.target.value);
        }}
      >
        <optgroup label="Policy">
          {PROVIDER_POLICIES.map((policy) => (
            <option key={policy} value={policy}>
              {describeChoice(policy)}
            </option>
          ))}
        </optgroup>
        {providers.length > 0 && (
          <optgroup label="Execution provider">
            {providers.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </optgroup>
        )}
      </select>
    </div>
  );
}
