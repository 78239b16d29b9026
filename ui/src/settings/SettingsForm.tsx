import { useEffect, useState } from "react";

import { ErrorBanner } from "../common/ErrorBanner";
import type { CommandError, DeviceInfo, ModelEntry, Settings, Theme } from "../ipc";
import { CheckboxField, Field, FormSection } from "./fields";
import { ModelSelect, modelChoices, NumberRow, OptionalNumberField, PathField } from "./inputs";
import {
  FORM_FIELDS,
  PERFORMANCE_MODES,
  fromForm,
  toForm,
  type FormValues,
  type NumberField,
} from "./formValues";
import { hasProblems, listProblems, NO_PROBLEMS, parseProblems, type Problems } from "./problems";
import { providerOptions } from "./providerOptions";

/** Range hints shown under each number, as settings.rs validates them. */
const NUMBER_ROWS: { field: NumberField; label: string; hint: string; step: string }[] = [
  {
    field: "temperature",
    label: "Temperature",
    hint: "0 to 2; 0 always picks the likeliest token.",
    step: "0.05",
  },
  { field: "topP", label: "Top-p", hint: "Above 0, up to 1 (1 = off).", step: "0.05" },
  { field: "topK", label: "Top-k", hint: "0 to 1000 (0 = off).", step: "1" },
  { field: "minP", label: "Min-p", hint: "0 up to, not including, 1 (0 = off).", step: "0.01" },
  { field: "maxTokens", label: "Max tokens", hint: "Longest reply, 1 to 8192 tokens.", step: "1" },
  {
    field: "repetitionPenalty",
    label: "Repetition penalty",
    hint: "1 to 2 (1 = off).",
    step: "0.05",
  },
  { field: "contextLength", label: "Context length", hint: "256 to 32768 tokens.", step: "1" },
];

const DOCUMENT_ROWS: { field: NumberField; label: string; hint: string; step: string }[] = [
  { field: "documents.topK", label: "Passages per question", hint: "1 to 20.", step: "1" },
  {
    field: "documents.minSimilarity",
    label: "Minimum similarity",
    hint: "-1 to 1; passages less similar to the question are left out.",
    step: "0.05",
  },
  {
    field: "documents.maxFileMb",
    label: "Largest file (MiB)",
    hint: "1 to 4096; larger files are skipped.",
    step: "1",
  },
];

/**
 * The one form for every setting. Save sends them all to the shell, which validates them
 * together; its `invalid_settings` answer is split per field and shown beside each, and listed
 * above the buttons. The theme applies while it is being chosen.
 */
export function SettingsForm({
  saved,
  devices,
  models,
  onSave,
  onThemePreview,
}: {
  saved: Settings;
  devices: DeviceInfo[];
  models: ModelEntry[];
  onSave: (settings: Settings) => Promise<CommandError | null>;
  onThemePreview: (theme: Theme | null) => void;
}) {
  const [values, setValues] = useState<FormValues>(() => toForm(saved));
  const [problems, setProblems] = useState<Problems>(NO_PROBLEMS);
  const [failure, setFailure] = useState<CommandError | null>(null);
  const [state, setState] = useState<"idle" | "saving" | "saved">("idle");

  useEffect(() => {
    onThemePreview(values.theme);
  }, [values.theme, onThemePreview]);
  useEffect(() => {
    return () => {
      onThemePreview(null);
    };
  }, [onThemePreview]);

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    setValues((previous) => ({ ...previous, [key]: value }));
    setState("idle");
  };
  const setNumber = (field: NumberField, value: string) => {
    setValues((previous) => ({ ...previous, numbers: { ...previous.numbers, [field]: value } }));
    setState("idle");
  };

  const submit = async () => {
    const { settings, problems: local } = fromForm(values, saved);
    setFailure(null);
    if (hasProblems(local)) {
      setProblems(local);
      return;
    }
    setState("saving");
    const error = await onSave(settings);
    if (error === null) {
      setProblems(NO_PROBLEMS);
      setState("saved");
    } else if (error.code === "invalid_settings") {
      setProblems(parseProblems(error.message, FORM_FIELDS));
      setState("idle");
    } else {
      setFailure(error);
      setState("idle");
    }
  };

  const problem = (field: string) => problems.byField[field];
  const chatModels = modelChoices(models, "chat", values.chatModel);
  const embeddingModels = modelChoices(models, "embedding", values.embeddingModel);
  const providers = providerOptions(devices, values.provider);
  const summary = listProblems(problems);

  return (
    <form
      className="settings-form"
      aria-label="Settings"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <FormSection title="Where models run">
        <Field
          label="Provider"
          problem={problem("provider")}
          hint="Auto tries the NPU, then the GPU, then the CPU."
        >
          {(control) => (
            <select
              {...control}
              data-testid="settings-provider"
              value={values.provider}
              onChange={(event) => {
                set("provider", event.target.value);
              }}
            >
              {(["Policy", "Device", "Other"] as const).map((group) => {
                const options = providers.filter((option) => option.group === group);
                return options.length === 0 ? null : (
                  <optgroup key={group} label={group === "Device" ? "Discovered devices" : group}>
                    {options.map((option) => (
                      <option key={option.value} value={option.value}>
                        {option.label}
                      </option>
                    ))}
                  </optgroup>
                );
              })}
            </select>
          )}
        </Field>
        <CheckboxField
          label="Strict NPU: never fall back to the CPU"
          hint="For checking that the NPU really runs the model; a model it cannot run fails instead."
          checked={values.strictNpu}
          problem={problem("strictNpu")}
          testId="settings-strict-npu"
          onChange={(checked) => {
            set("strictNpu", checked);
          }}
        />
        <PathField
          label="ONNX Runtime library"
          hint="Absolute path; leave empty for the one found next to the app."
          value={values.runtimeLibrary}
          problem={problem("runtimeLibrary")}
          onChange={(value) => {
            set("runtimeLibrary", value);
          }}
        />
        <PathField
          label="Execution provider plugin folder"
          hint="Absolute path; leave empty for the default folder."
          value={values.pluginDir}
          problem={problem("pluginDir")}
          onChange={(value) => {
            set("pluginDir", value);
          }}
        />
      </FormSection>

      <FormSection title="NPU (Qualcomm QNN)">
        <Field
          label="NPU performance mode"
          problem={problem("npu.performanceMode")}
          hint="How hard the Hexagon NPU works while it answers; faster modes draw more power."
        >
          {(control) => (
            <select
              {...control}
              data-testid="settings-npu-performance"
              value={values.npu.performanceMode}
              onChange={(event) => {
                set("npu", { ...values.npu, performanceMode: event.target.value });
              }}
            >
              {PERFORMANCE_MODES.map((mode) => (
                <option key={mode.value} value={mode.value}>
                  {mode.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <CheckboxField
          label="Keep compiled NPU models"
          hint="A model is compiled for the NPU once, and later starts load the compiled copy."
          checked={values.npu.compileCache}
          problem={problem("npu.compileCache")}
          testId="settings-npu-cache"
          onChange={(checked) => {
            set("npu", { ...values.npu, compileCache: checked });
          }}
        />
        <div className="form-grid">
          <OptionalNumberField
            label="Snapdragon SoC model"
            hint="QNN's number for the chip (60 is the X Elite); empty to ask the device."
            value={values.npu.socModel}
            problem={problem("npu.socModel")}
            onChange={(value) => {
              set("npu", { ...values.npu, socModel: value });
            }}
          />
          <OptionalNumberField
            label="HTP architecture"
            hint="The NPU's generation (73 on the X Elite); empty to ask the device."
            value={values.npu.htpArch}
            problem={problem("npu.htpArch")}
            onChange={(value) => {
              set("npu", { ...values.npu, htpArch: value });
            }}
          />
        </div>
      </FormSection>

      <FormSection title="Models">
        <ModelSelect
          label="Chat model"
          value={values.chatModel}
          choices={chatModels}
          problem={problem("chatModel")}
          onChange={(value) => {
            set("chatModel", value);
          }}
        />
        <ModelSelect
          label="Embedding model"
          value={values.embeddingModel}
          choices={embeddingModels}
          problem={problem("embeddingModel")}
          onChange={(value) => {
            set("embeddingModel", value);
          }}
        />
      </FormSection>

      <FormSection title="Replies">
        <Field
          label="System prompt"
          problem={problem("systemPrompt")}
          hint="Sent at the start of every conversation; may be empty."
        >
          {(control) => (
            <textarea
              {...control}
              rows={3}
              value={values.systemPrompt}
              onChange={(event) => {
                set("systemPrompt", event.target.value);
              }}
            />
          )}
        </Field>
        <div className="form-grid">
          {NUMBER_ROWS.map((row) => (
            <NumberRow
              key={row.field}
              {...row}
              value={values.numbers[row.field]}
              problem={problem(row.field)}
              onChange={setNumber}
            />
          ))}
          <Field
            label="Seed"
            problem={problem("seed")}
            hint="A whole number for repeatable replies; empty for a new one each time."
          >
            {(control) => (
              <input
                {...control}
                inputMode="numeric"
                value={values.seed}
                placeholder="Random"
                onChange={(event) => {
                  set("seed", event.target.value);
                }}
              />
            )}
          </Field>
        </div>
      </FormSection>

      <FormSection title="Documents">
        <CheckboxField
          label="Use my documents by default"
          hint="The chat's “Use my documents” switch starts in this position."
          checked={values.documentsEnabled}
          problem={problem("documents.enabled")}
          onChange={(checked) => {
            set("documentsEnabled", checked);
          }}
        />
        <div className="form-grid">
          {DOCUMENT_ROWS.map((row) => (
            <NumberRow
              key={row.field}
              {...row}
              value={values.numbers[row.field]}
              problem={problem(row.field)}
              onChange={setNumber}
            />
          ))}
        </div>
      </FormSection>

      <FormSection title="Appearance">
        <Field label="Theme" problem={problem("theme")}>
          {(control) => (
            <select
              {...control}
              value={values.theme}
              onChange={(event) => {
                set("theme", event.target.value as Theme);
              }}
            >
              <option value="system">Same as the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          )}
        </Field>
      </FormSection>

      {summary.length > 0 && (
        <div className="callout callout-bad" role="alert" data-testid="error-banner">
          <p className="strong">The settings were not saved:</p>
          <ul className="problem-list">
            {summary.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </div>
      )}
      {failure !== null && <ErrorBanner title="The settings could not be saved" error={failure} />}

      <div className="form-actions">
        <button
          type="submit"
          className="button"
          data-testid="settings-save"
          disabled={state === "saving"}
        >
          {state === "saving" && <span className="spinner" aria-hidden="true" />}
          {state === "saving" ? "Saving…" : "Save"}
        </button>
        <button
          type="button"
          className="button button-secondary"
          onClick={() => {
            setValues(toForm(saved));
            setProblems(NO_PROBLEMS);
            setFailure(null);
            setState("idle");
          }}
        >
          Reset
        </button>
        <span className="muted small" role="status" data-testid="settings-save-status">
          {state === "saved" ? "Saved. Model changes load in the background." : ""}
        </span>
      </div>
    </form>
  );
}
