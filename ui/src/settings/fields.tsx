import { useId, type ReactNode } from "react";

/** The props that tie an input to its label, hint and problem. */
export interface ControlProps {
  id: string;
  "aria-describedby": string | undefined;
  "aria-invalid": boolean;
}

/**
 * One labelled form row. The hint and the problem are linked to the control with
 * aria-describedby, so a screen reader reads the problem with the field.
 */
export function Field({
  label,
  hint,
  problem,
  children,
}: {
  label: string;
  hint?: string;
  problem?: string | undefined;
  children: (control: ControlProps) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const problemId = `${id}-problem`;
  const describedBy = [hint !== undefined ? hintId : null, problem !== undefined ? problemId : null]
    .filter((part) => part !== null)
    .join(" ");
  return (
    <div className={problem === undefined ? "form-row" : "form-row form-row-invalid"}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        "aria-describedby": describedBy === "" ? undefined : describedBy,
        "aria-invalid": problem !== undefined,
      })}
      {hint !== undefined && (
        <p id={hintId} className="muted small">
          {hint}
        </p>
      )}
      {problem !== undefined && (
        <p id={problemId} className="field-problem small">
          {problem}
        </p>
      )}
    </div>
  );
}

/** A checkbox row: the label wraps the box, so the whole line toggles it. */
export function CheckboxField({
  label,
  hint,
  checked,
  problem,
  onChange,
  testId,
}: {
  label: string;
  hint?: string;
  checked: boolean;
  problem?: string | undefined;
  onChange: (checked: boolean) => void;
  testId?: string;
}) {
  const id = useId();
  return (
    <div
      className={
        problem === undefined
          ? "form-row form-row-check"
          : "form-row form-row-check form-row-invalid"
      }
    >
      <label className="check">
        <input
          type="checkbox"
          checked={checked}
          data-testid={testId}
          aria-describedby={hint === undefined ? undefined : `${id}-hint`}
          aria-invalid={problem !== undefined}
          onChange={(event) => {
            onChange(event.target.checked);
          }}
        />
        {label}
      </label>
      {hint !== undefined && (
        <p id={`${id}-hint`} className="muted small">
          {hint}
        </p>
      )}
      {problem !== undefined && <p className="field-problem small">{problem}</p>}
    </div>
  );
}

/** A section of the form, titled for screen readers' landmark navigation. */
export function FormSection({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <fieldset className="form-section" aria-labelledby={id}>
      <legend id={id}>{title}</legend>
      {children}
    </fieldset>
  );
}
