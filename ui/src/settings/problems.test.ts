import { defaultSettings } from "../test/fixtures";
import { FORM_FIELDS, fromForm, toForm } from "./formValues";
import { listProblems, parseProblems } from "./problems";

describe("parseProblems", () => {
  it("splits the shell's message into per-field problems", () => {
    const problems = parseProblems(
      "invalid settings: temperature: 7.5 is outside 0..=2; documents.topK: 50 is outside 1..=20",
      FORM_FIELDS,
    );
    expect(problems.byField).toEqual({
      temperature: "7.5 is outside 0..=2",
      "documents.topK": "50 is outside 1..=20",
    });
    expect(problems.general).toEqual([]);
  });

  it("keeps problems of fields the form does not show, and text it cannot split", () => {
    const problems = parseProblems(
      "version: 0 is not 1, the version this Onyx writes; something odd",
      FORM_FIELDS,
    );
    expect(problems.byField).toEqual({});
    expect(problems.general).toEqual([
      "version: 0 is not 1, the version this Onyx writes",
      "something odd",
    ]);
    expect(listProblems(problems)).toHaveLength(2);
  });

  it("keeps colons inside a problem", () => {
    const problems = parseProblems(
      "runtimeLibrary: 'C:\\ort.dll' is not an absolute path",
      FORM_FIELDS,
    );
    expect(problems.byField.runtimeLibrary).toBe("'C:\\ort.dll' is not an absolute path");
  });
});

describe("form values", () => {
  it("round-trip the settings unchanged", () => {
    const { settings, problems } = fromForm(toForm(defaultSettings), defaultSettings);
    expect(settings).toEqual(defaultSettings);
    expect(listProblems(problems)).toEqual([]);
  });

  it("turn empty paths into null and a seed into a number", () => {
    const values = {
      ...toForm(defaultSettings),
      runtimeLibrary: "  ",
      pluginDir: "/opt/ep",
      seed: "42",
    };
    const { settings } = fromForm(values, defaultSettings);
    expect(settings.runtimeLibrary).toBeNull();
    expect(settings.pluginDir).toBe("/opt/ep");
    expect(settings.seed).toBe(42);
  });

  it("name what JSON cannot carry: text that is no number, fractions for integers, negative seeds", () => {
    const base = toForm(defaultSettings);
    const values = {
      ...base,
      numbers: { ...base.numbers, temperature: "warm", maxTokens: "1.5" },
      seed: "-3",
    };
    expect(fromForm(values, defaultSettings).problems.byField).toEqual({
      temperature: "'warm' is not a number",
      maxTokens: "'1.5' is not a whole number",
      seed: "-3 is negative: a seed is 0 or more",
    });
  });

  it("lower-case a policy the engine would read case-insensitively", () => {
    expect(toForm({ ...defaultSettings, provider: "NPU" }).provider).toBe("npu");
    expect(toForm({ ...defaultSettings, provider: "QNNExecutionProvider#2" }).provider).toBe(
      "QNNExecutionProvider#2",
    );
  });
});
