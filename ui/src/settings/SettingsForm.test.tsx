import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { CommandError, type Settings } from "../ipc";
import { defaultSettings, devices, models } from "../test/fixtures";
import { SettingsForm } from "./SettingsForm";

function setup(onSave: (s: Settings) => Promise<CommandError | null>) {
  const onThemePreview = vi.fn();
  const save = vi.fn(onSave);
  render(
    <SettingsForm
      saved={defaultSettings}
      devices={devices}
      models={models}
      onSave={save}
      onThemePreview={onThemePreview}
    />,
  );
  return { save, onThemePreview, user: userEvent.setup() };
}

describe("SettingsForm", () => {
  it("shows every invalid_settings problem beside its field and in a list, keeping the form", async () => {
    const { save, user } = setup(() =>
      Promise.resolve(
        new CommandError({
          code: "invalid_settings",
          message:
            "invalid settings: temperature: 7.5 is outside 0..=2; documents.topK: 50 is outside 1..=20",
        }),
      ),
    );
    const temperature = screen.getByLabelText("Temperature");
    await user.clear(temperature);
    await user.type(temperature, "7.5");
    await user.click(screen.getByTestId("settings-save"));

    expect(save).toHaveBeenCalledWith(expect.objectContaining({ temperature: 7.5 }));
    expect(temperature).toHaveAttribute("aria-invalid", "true");
    expect(temperature).toHaveAccessibleDescription(/7\.5 is outside 0\.\.=2/);
    const passages = screen.getByLabelText("Passages per question");
    expect(passages).toHaveAccessibleDescription(/50 is outside 1\.\.=20/);
    const summary = screen.getByTestId("error-banner");
    expect(summary).toHaveAttribute("role", "alert");
    expect(
      within(summary)
        .getAllByRole("listitem")
        .map((item) => item.textContent),
    ).toEqual(["temperature: 7.5 is outside 0..=2", "documents.topK: 50 is outside 1..=20"]);
    // The form keeps what the user typed.
    expect(temperature).toHaveValue(7.5);
  });

  it("names what cannot be sent without asking the shell", async () => {
    const { save, user } = setup(() => Promise.resolve(null));
    await user.clear(screen.getByLabelText("Max tokens"));
    await user.type(screen.getByLabelText("Seed"), "lucky");
    await user.click(screen.getByTestId("settings-save"));
    expect(save).not.toHaveBeenCalled();
    expect(screen.getByLabelText("Max tokens")).toHaveAccessibleDescription(/'' is not a number/);
    expect(screen.getByLabelText("Seed")).toHaveAccessibleDescription(/'lucky' is not a number/);
  });

  it("offers the policies and each discovered device as <EP>#<index>, and saves the choice", async () => {
    const { save, user } = setup(() => Promise.resolve(null));
    const select = screen.getByTestId("settings-provider");
    const options = within(select).getAllByRole("option");
    expect(options.map((o) => (o as HTMLOptionElement).value)).toEqual([
      "auto",
      "npu",
      "gpu",
      "cpu",
      "CPUExecutionProvider#0",
      "OpenVINOExecutionProvider#1",
    ]);
    expect(options[5]).toHaveTextContent("NPU · Intel(R) AI Boost (NPU) — OpenVINO #1");
    await user.selectOptions(select, "OpenVINOExecutionProvider#1");
    await user.click(screen.getByTestId("settings-save"));
    expect(save).toHaveBeenCalledWith({
      ...defaultSettings,
      provider: "OpenVINOExecutionProvider#1",
    });
    expect(await screen.findByText(/^Saved\./)).toBeInTheDocument();
  });

  it("saves the NPU options and shows the shell's verdict on them beside each", async () => {
    const { save, user } = setup(() =>
      Promise.resolve(
        new CommandError({
          code: "invalid_settings",
          message: "invalid settings: npu.htpArch: 300 is outside 1..=255",
        }),
      ),
    );
    await user.selectOptions(screen.getByTestId("settings-npu-performance"), "balanced");
    await user.click(screen.getByTestId("settings-npu-cache"));
    await user.type(screen.getByLabelText("Snapdragon SoC model"), "60");
    await user.type(screen.getByLabelText("HTP architecture"), "300");
    await user.click(screen.getByTestId("settings-save"));
    expect(save).toHaveBeenCalledWith(
      expect.objectContaining({
        npu: { performanceMode: "balanced", compileCache: false, socModel: 60, htpArch: 300 },
      }),
    );
    expect(screen.getByLabelText("HTP architecture")).toHaveAccessibleDescription(/300 is outside 1\.\.=255/);
    // Cleared, the numbers mean "ask the device" again.
    await user.clear(screen.getByLabelText("Snapdragon SoC model"));
    await user.clear(screen.getByLabelText("HTP architecture"));
    await user.click(screen.getByTestId("settings-save"));
    const last = save.mock.lastCall?.[0];
    expect(last?.npu).toEqual({ performanceMode: "balanced", compileCache: false, socModel: null, htpArch: null });
  });

  it("lists the models of each kind", () => {
    setup(() => Promise.resolve(null));
    const chat = within(screen.getByLabelText("Chat model")).getAllByRole("option");
    expect(chat.map((o) => o.textContent)).toEqual([
      "smollm2-135m-instruct",
      "qwen2.5-0.5b (imported)",
    ]);
    expect(within(screen.getByLabelText("Embedding model")).getAllByRole("option")).toHaveLength(1);
  });

  it("applies the theme while it is chosen", async () => {
    const { onThemePreview, user } = setup(() => Promise.resolve(null));
    expect(onThemePreview).toHaveBeenLastCalledWith("system");
    await user.selectOptions(screen.getByLabelText("Theme"), "dark");
    expect(onThemePreview).toHaveBeenLastCalledWith("dark");
  });

  it("shows other failures as a banner", async () => {
    const { user } = setup(() =>
      Promise.resolve(
        new CommandError({ code: "storage", message: "settings.json: read-only file system" }),
      ),
    );
    await user.click(screen.getByTestId("settings-save"));
    expect(screen.getByTestId("error-banner")).toHaveTextContent(
      "settings.json: read-only file system",
    );
  });
});
