// `invalid_settings` errors list every problem in one message, as the engine's `SettingsError`
// displays them: "invalid settings: temperature: 7.5 is outside 0..=2; documents.topK: 50 is
// outside 1..=20". This splits that message back into per-field problems so each shows beside
// its field; whatever cannot be attributed stays in a general list.

export interface Problems {
  /** By field path as the JSON spells it (`temperature`, `documents.topK`). */
  byField: Record<string, string>;
  /** Problems not tied to a field the form knows. */
  general: string[];
}

export const NO_PROBLEMS: Problems = { byField: {}, general: [] };

/** A JSON field path: letters and dots, as `SettingProblem::field` is written. */
const FIELD = /^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*): (.+)$/s;

export function parseProblems(message: string, knownFields: readonly string[]): Problems {
  const body = message.replace(/^\s*invalid settings:\s*/i, "");
  const problems: Problems = { byField: {}, general: [] };
  for (const part of body.split(/;\s+/)) {
    const text = part.trim();
    if (text === "") {
      continue;
    }
    const match = FIELD.exec(text);
    const field = match?.[1];
    const problem = match?.[2];
    if (field !== undefined && problem !== undefined && knownFields.includes(field)) {
      const previous = problems.byField[field];
      problems.byField[field] = previous === undefined ? problem : `${previous}; ${problem}`;
    } else {
      problems.general.push(text);
    }
  }
  return problems;
}

/** Every problem as `field: problem`, for the summary beside the form. */
export function listProblems(problems: Problems): string[] {
  return [
    ...Object.entries(problems.byField).map(([field, problem]) => `${field}: ${problem}`),
    ...problems.general,
  ];
}

export function hasProblems(problems: Problems): boolean {
  return problems.general.length > 0 || Object.keys(problems.byField).length > 0;
}
