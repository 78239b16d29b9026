// The settings form's inputs, each a labelled Field with its hint and problem.
import type { InputHTMLAttributes } from "react";

import type { ModelEntry } from "../ipc";
import { Field } from "./fields";
import type { NumberField } from "./formValues";

export function NumberRow({
  field,
  label,
  hint,
  step,
  value,
  problem,
  onChange,
}: {
  field: NumberField;
  label: string;
  hint: string;
  step: string;
  value: string;
  problem: string | undefined;
  onChange: (field: NumberField, value: string) => void;
}) {
  return (
    <Field label={label} hint={hint} problem={problem}>
      {(control) => (
        <input
          {...control}
          type="number"
          step={step}
          value={value}
          onChange={(event) => {
            onChange(field, event.target.value);
          }}
        />
      )}
    </Field>
  );
}

interface TextInputProps {
  label: string;
  hint: string;
  value: string;
  problem: string | undefined;
  onChange: (value: string) => void;
}

/** A labelled text input; `input` sets what kind (number, monospace, placeholder). */
function TextInput({
  label,
  hint,
  value,
  problem,
  onChange,
  input,
}: TextInputProps & { input: InputHTMLAttributes<HTMLInputElement> }) {
  return (
    <Field label={label} hint={hint} problem={problem}>
      {(control) => (
        <input
          {...control}
          {...input}
          value={value}
          onChange={(event) => {
            onChange(event.target.value);
          }}
        />
      )}
    </Field>
  );
}

/** An optional absolute path; empty means the default. */
export function PathField(props: TextInputProps) {
  return <TextInput {...props} input={{ className: "mono", spellCheck: false, placeholder: "Default" }} />;
}

/** An optional whole number; empty means "ask the device". */
export function OptionalNumberField(props: TextInputProps) {
  return (
    <TextInput {...props} input={{ type: "number", step: "1", min: "1", placeholder: "ask the device" }} />
  );
}

export interface ModelChoice {
  value: string;
  label: string;
}

/** The models of one kind, plus the saved one if the list does not have it. */
export function modelChoices(
  models: ModelEntry[],
  kind: ModelEntry["kind"],
  current: string,
): ModelChoice[] {
  const choices = models
    .filter((model) => model.kind === kind)
    .map((model) => ({
      value: model.name,
      label: model.origin === "imported" ? `${model.name} (imported)` : model.name,
    }));
  if (current !== "" && !choices.some((choice) => choice.value === current)) {
    choices.push({ value: current, label: `${current} (not in the models folder)` });
  }
  return choices;
}

export function ModelSelect({
  label,
  value,
  choices,
  problem,
  onChange,
}: {
  label: string;
  value: string;
  choices: ModelChoice[];
  problem: string | undefined;
  onChange: (value: string) => void;
}) {
  return (
    <Field label={label} problem={problem}>
      {(control) => (
        <select
          {...control}
          value={value}
          onChange={(event) => {
            onChange(event.target.value);
          }}
        >
          {choices.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
