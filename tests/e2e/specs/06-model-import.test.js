// Model import: a GGUF file is converted into the app's models folder with progress shown (a
// stage and a percentage that only goes up), then offered as a chat model, chosen, and loaded.
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
  badge,
  byTestId,
  click,
  eventually,
  fieldByLabel,
  openView,
  saveSettings,
  screenshot,
  visibleText,
  waitForChatModel,
  waitForText,
} from "../lib/ui.js";

const app = new App("model-import");
after(() => app.dispose());

const SOURCE = path.join(REPO, "models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
const NAME = "e2e-imported";
const EMBEDDING_SOURCE = path.join(REPO, "models/.sources/all-minilm-l6-v2");
const EMBEDDING_NAME = "e2e-minilm";

/** The import's progress bar now: its stage text ("cpu graph, 42 %"), or null when it is not shown. */
function importProgress(browser) {
  return browser.execute(() => document.querySelector('[data-testid="import-progress"]')?.getAttribute("aria-valuetext") ?? null);
}

/** The percentage the bar shows (aria-valuenow), or null when it is not shown. */
function importPercent(browser) {
  return browser.execute(() => {
    const value = document.querySelector('[data-testid="import-progress"]')?.getAttribute("aria-valuenow");
    return value === undefined || value === null ? null : Number(value);
  });
}

appTest(app, "a GGUF file is imported with visible progress, then chosen as the chat model, loaded, and kept at the next start", async (context) => {
  assert.ok(fs.existsSync(SOURCE), `${SOURCE} is missing: run scripts/setup.sh`);
  const browser = await app.start();
  await waitForChatModel(browser);
  await openView(browser, "settings");

  await byTestId(browser, "import-path").setValue(SOURCE);
  await fieldByLabel(browser, "Name (optional)").setValue(NAME);
  await click(byTestId(browser, "import-start"));

  // Past reading the file, the conversion stages show in the progress bar, with a percentage
  // that only goes up.
  const percents = [];
  const stage = await eventually(
    async () => {
      const percent = await importPercent(browser);
      if (percent !== null && percents.at(-1) !== percent) percents.push(percent);
      return importProgress(browser);
    },
    (text) => text !== null && /^(cpu graph|npu graphs)/i.test(text),
    { timeout: 60_000, interval: 50, message: "the import progress did not show a conversion stage" },
  );
  assert.match(await visibleText(browser, '[data-testid="import-percent"]'), /^\d{1,3} %$/);
  // The import form is the last card of the panel: scroll the panel to its end.
  await browser.execute(() => {
    const panel = document.querySelector("main.content");
    panel.scrollTop = panel.scrollHeight;
  });
  await screenshot(browser, "model-import-progress");
  const stillRunning = await importProgress(browser);
  assert.ok(stillRunning !== null, "the import ended before the screenshot was taken");
  context.diagnostic(`screenshot taken during "${stage}"; still running at "${stillRunning}" afterwards`);

  // Percentages seen until the end: they rise, and the run ends at 100 % before the bar goes.
  const done = await eventually(
    async () => {
      const percent = await importPercent(browser);
      if (percent !== null && percents.at(-1) !== percent) percents.push(percent);
      return visibleText(browser, '[data-testid="import-success"]');
    },
    (text) => text !== null && text.includes(`Imported ${NAME} as a chat model`),
    { timeout: 180_000, interval: 100, message: "the import did not finish" },
  );
  context.diagnostic(`percentages seen: ${percents.join(", ")}`);
  assert.ok(percents.length >= 3, `the percentage hardly moved: ${percents.join(", ")}`);
  assert.deepEqual(
    percents,
    [...percents].sort((a, b) => a - b),
    `the percentage went back: ${percents.join(", ")}`,
  );
  assert.match(done, /Choose it above and save to use it/, done);
  assert.equal(await importProgress(browser), null, "the progress bar is still shown after the import");
  const manifest = path.join(app.dataDir, "models", NAME, "onyx-model.json");
  assert.ok(fs.existsSync(manifest), `${manifest} was not written`);

  // The new model is offered, and can be chosen.
  const chatModel = await fieldByLabel(browser, "Chat model");
  const offered = await browser.execute((select) => [...select.options].map((option) => option.text), chatModel);
  assert.ok(offered.includes(`${NAME} (imported)`), `chat models offered: ${offered.join(", ")}`);
  await chatModel.selectByAttribute("value", NAME);
  await saveSettings(browser);
  // The badge follows the reload live: its details (kept open) show the imported model ready.
  await click(byTestId(browser, "provider-badge"));
  const live = await eventually(
    () => visibleText(browser, '[data-testid="provider-details"]'),
    (text) => text !== null && new RegExp(`Chat model ${NAME} · Ready`, "i").test(text),
    { timeout: 60_000, message: "the badge did not show the imported model ready" },
  );
  assert.match(live, /CPU · CPUExecutionProvider on .* 100% of nodes/, live);
  assert.equal((await badge(browser)).state, "ready");
  await browser.keys("Escape");

  // And it is still the chat model at the next start.
  const restarted = await app.restart();
  await waitForChatModel(restarted);
  await click(byTestId(restarted, "provider-badge"));
  await byTestId(restarted, "provider-details").waitForDisplayed({ timeout: 5_000 });
  const details = await visibleText(restarted, '[data-testid="provider-details"]');
  assert.match(details, new RegExp(`Chat model ${NAME} · Ready`, "i"), details);
  assert.match(details, /CPU · CPUExecutionProvider on .* 100% of nodes/, details);
});

appTest(app, "a file that is not a model is refused with its name, and a safetensors folder imports as an embedding model", async () => {
  const browser = app.browser ?? (await app.start());
  await waitForChatModel(browser);
  await openView(browser, "settings");

  // Not a model: a text file named like one. The error names it, and nothing is added.
  const fake = path.join(app.root, "notes.gguf");
  fs.writeFileSync(fake, "These are my notes, not a model.\n");
  await byTestId(browser, "import-path").setValue(fake);
  await fieldByLabel(browser, "Name (optional)").clearValue();
  await click(byTestId(browser, "import-start"));
  const refused = await waitForText(browser, '[data-testid="import-error"]', fake, { timeout: 30_000 });
  assert.match(refused, /import_failed/, refused);
  await byTestId(browser, "import-error").execute((node) => node.scrollIntoView({ block: "end" }));
  await screenshot(browser, "model-import-refused");
  assert.deepEqual(
    fs.readdirSync(path.join(app.dataDir, "models")).sort(),
    [NAME],
    "a failed import left something in the models folder",
  );

  // The embedding model's own source: a Hugging Face folder with safetensors.
  await byTestId(browser, "import-path").setValue(EMBEDDING_SOURCE);
  await fieldByLabel(browser, "Name (optional)").setValue(EMBEDDING_NAME);
  await click(byTestId(browser, "import-start"));
  const done = await waitForText(browser, '[data-testid="import-success"]', `Imported ${EMBEDDING_NAME} as an embedding model`, {
    timeout: 180_000,
    interval: 250,
  });
  assert.match(done, /embedding model/, done);
  const embeddingModel = await fieldByLabel(browser, "Embedding model");
  await embeddingModel.selectByAttribute("value", EMBEDDING_NAME);
  await saveSettings(browser);
  await click(byTestId(browser, "provider-badge"));
  const details = await eventually(
    () => visibleText(browser, '[data-testid="provider-details"]'),
    (text) => text !== null && new RegExp(`Embedding model ${EMBEDDING_NAME} · Ready`, "i").test(text),
    { timeout: 60_000, message: "the imported embedding model did not load" },
  );
  assert.match(details, new RegExp(`Chat model ${NAME} · Ready`, "i"), details);
  await browser.keys("Escape");
});
