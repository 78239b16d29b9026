// The settings form edits text (a number field may hold "0." or "" while being typed); these
// pure functions convert between that and `Settings`. Only what JSON cannot carry is checked
// here (text that is not a number, fractions where Rust wants an integer, seeds beyond 2^53);
// ranges are the shell's to judge, so they are written once, in settings.rs.
import { PROVIDER_POLICIES, type Settings, type Theme } from "../ipc";
import type { Problems } from "./problems";

/** Numeric settings by their JSON path, and whether Rust stores them as integers. */
export const NUMBER_FIELDS = {
  temperature: false,
  topP: false,
  topK: true,
  minP: false,
  maxTokens: true,
  repetitionPenalty: false,
  contextLength: true,
  "documents.topK": true,
  "documents.minSimilarity": false,
  "documents.maxFileMb": true,
} as const;

export type NumberField = keyof typeof NUMBER_FIELDS;

export interface FormValues {
  provider: string;
  strictNpu: boolean;
  runtimeLibrary: string;
  pluginDir: string;
  chatModel: string;
  embeddingModel: string;
  systemPrompt: string;
  numbers: Record<NumberField, string>;
  /** Empty means a fresh seed per reply. */
  seed: string;
  documentsEnabled: boolean;
  /** The NPU's options; empty SoC model and HTP arch mean "ask the device". */
  npu: { performanceMode: string; compileCache: boolean; socModel: string; htpArch: string };
  theme: Theme;
}

/** QNN's HTP performance modes the form offers (the shell accepts these and no others). */
export const PERFORMANCE_MODES: readonly { value: string; label: string }[] = [
  { value: "burst", label: "Burst (fastest replies)" },
  { value: "sustained_high_performance", label: "Sustained high performance" },
  { value: "high_performance", label: "High performance" },
  { value: "balanced", label: "Balanced" },
  { value: "power_saver", label: "Power saver" },
  { value: "", label: "QNN's default" },
];

/** Every field path the form shows, so problems can be placed beside them. */
export const FORM_FIELDS: readonly string[] = [
  "provider",
  "strictNpu",
  "runtimeLibrary",
  "pluginDir",
  "chatModel",
  "embeddingModel",
  "systemPrompt",
  ...Object.keys(NUMBER_FIELDS),
  "seed",
  "documents.enabled",
  "npu.performanceMode",
  "npu.compileCache",
  "npu.socModel",
  "npu.htpArch",
  "theme",
];

const POLICIES: readonly string[] = PROVIDER_POLICIES;

export function toForm(settings: Settings): FormValues {
  // The engine reads policies case-insensitively; the select's values are lower case.
  const policy = settings.provider.trim().toLowerCase();
  return {
    provider: POLICIES.includes(policy) ? policy : settings.provider,
    strictNpu: settings.strictNpu,
    runtimeLibrary: settings.runtimeLibrary ?? "",
    pluginDir: settings.pluginDir ?? "",
    chatModel: settings.chatModel,
    embeddingModel: settings.embeddingModel,
    systemPrompt: settings.systemPrompt,
    numbers: {
      temperature: String(settings.temperature),
      topP: String(settings.topP),
      topK: String(settings.topK),
      minP: String(settings.minP),
      maxTokens: String(settings.maxTokens),
      repetitionPenalty: String(settings.repetitionPenalty),
      contextLength: String(settings.contextLength),
      "documents.topK": String(settings.documents.topK),
      "documents.minSimilarity": String(settings.documents.minSimilarity),
      "documents.maxFileMb": String(settings.documents.maxFileMb),
    },
    seed: settings.seed === null ? "" : String(settings.seed),
    documentsEnabled: settings.documents.enabled,
    npu: {
      performanceMode: settings.npu.performanceMode,
      compileCache: settings.npu.compileCache,
      socModel: settings.npu.socModel === null ? "" : String(settings.npu.socModel),
      htpArch: settings.npu.htpArch === null ? "" : String(settings.npu.htpArch),
    },
    theme: settings.theme,
  };
}

function parseNumber(field: string, text: string, integer: boolean, problems: Problems): number {
  const trimmed = text.trim();
  const value = trimmed === "" ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(value)) {
    problems.byField[field] = `'${trimmed}' is not a number`;
  } else if (integer && !Number.isSafeInteger(value)) {
    problems.byField[field] = `'${trimmed}' is not a whole number`;
  }
  return value;
}

/** An optional whole number: empty text is "none". */
function optionalInteger(field: string, text: string, problems: Problems): number | null {
  return text.trim() === "" ? null : parseNumber(field, text, true, problems);
}

/** An optional path: empty text is "none" (use the default). */
function optionalText(text: string): string | null {
  const trimmed = text.trim();
  return trimmed === "" ? null : trimmed;
}

/**
 * The settings the form describes, on top of `base` (which supplies `version`), or the problems
 * that stop it from being sent.
 */
export function fromForm(
  values: FormValues,
  base: Settings,
): { settings: Settings; problems: Problems } {
  const problems: Problems = { byField: {}, general: [] };
  const number = (field: NumberField) =>
    parseNumber(field, values.numbers[field], NUMBER_FIELDS[field], problems);
  let seed: number | null = null;
  if (values.seed.trim() !== "") {
    seed = parseNumber("seed", values.seed, true, problems);
    if (!("seed" in problems.byField) && seed < 0) {
      problems.byField.seed = `${values.seed.trim()} is negative: a seed is 0 or more`;
    }
  }
  const settings: Settings = {
    version: base.version,
    provider: values.provider,
    strictNpu: values.strictNpu,
    runtimeLibrary: optionalText(values.runtimeLibrary),
    pluginDir: optionalText(values.pluginDir),
    chatModel: values.chatModel,
    embeddingModel: values.embeddingModel,
    systemPrompt: values.systemPrompt,
    temperature: number("temperature"),
    topP: number("topP"),
    topK: number("topK"),
    minP: number("minP"),
    maxTokens: number("maxTokens"),
    repetitionPenalty: number("repetitionPenalty"),
    contextLength: number("contextLength"),
    seed,
    documents: {
      enabled: values.documentsEnabled,
      topK: number("documents.topK"),
      minSimilarity: number("documents.minSimilarity"),
      maxFileMb: number("documents.maxFileMb"),
    },
    npu: {
      performanceMode: values.npu.performanceMode,
      compileCache: values.npu.compileCache,
      socModel: optionalInteger("npu.socModel", values.npu.socModel, problems),
      htpArch: optionalInteger("npu.htpArch", values.npu.htpArch, problems),
    },
    theme: values.theme,
  };
  return { settings, problems };
}
