// Documents: add a folder, watch it being indexed to the end, search it and find the right file
// first.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after } from "node:test";

import { App, makeTemp, removeTemp } from "../lib/app.js";
import {
  appTest,
  byTestId,
  click,
  eventually,
  fieldByLabel,
  openView,
  saveSettings,
  screenshot,
  visibleText,
  waitForChatModel,
  waitForEmbeddingModel,
  waitForText,
} from "../lib/ui.js";

const app = new App("documents");
const folder = makeTemp("documents");
after(async () => {
  await app.dispose();
  removeTemp(folder);
});

// A few everyday notes, and one about a topic none of the others touches.
const FILES = {
  "axolotl-care.md":
    "# Caring for the axolotls\n\nThe axolotl tank is kept cold, between 16 and 18 degrees, and the water is " +
    "filtered gently because axolotls dislike strong currents.\n\n## Feeding\n\nFeed each axolotl bloodworms " +
    "or earthworm pieces two or three times a week. Remove leftovers after an hour so the water stays clean.\n",
  "groceries.txt": "Milk, bread, eggs, tomatoes, coffee beans and rice for the week.\nPay the electricity bill on Friday.\n",
  "meeting-notes.md":
    "# Team meeting\n\nWe agreed to move the release to the second week of March. Anna owns the changelog; " +
    "Ben checks the installer on the old laptops.\n",
  "trip/packing-list.txt": "Passport, charger, rain jacket, walking shoes, sunscreen and the train tickets.\n",
};
const QUERY = "how often should I feed the axolotl";

appTest(app, "a folder added in Documents is indexed to 100%, searching it finds the right file first, and a chat with my documents cites it", async (context) => {
  for (const [name, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
    fs.writeFileSync(path.join(folder, name), text);
  }

  const browser = await app.start();
  // Adding a folder needs the embedding model (no_model otherwise).
  await waitForChatModel(browser);
  await waitForEmbeddingModel(browser);
  await openView(browser, "documents");
  await byTestId(browser, "documents-path").setValue(folder);
  await click(byTestId(browser, "documents-add"));

  // The progress bar reaches 100% and the run says it finished, with every file counted.
  const total = Object.keys(FILES).length;
  const added = Date.now();
  const values = new Set();
  const progress = await eventually(
    () =>
      browser.execute(() => {
        const bar = document.querySelector('[data-testid="index-progress"]');
        return bar === null
          ? null
          : {
              value: bar.getAttribute("aria-valuenow"),
              text: bar.getAttribute("aria-valuetext"),
              heading: bar.closest("section")?.querySelector("h2")?.textContent ?? "",
            };
      }),
    (seen) => {
      if (seen !== null) values.add(seen.value);
      return seen !== null && seen.value === "100" && seen.heading.startsWith("Finished");
    },
    { timeout: 60_000, interval: 50, message: "indexing did not reach 100%" },
  );
  assert.equal(progress.text, `${total} of ${total} files`);
  context.diagnostic(`indexed ${progress.text} in about ${Date.now() - added} ms; progress seen: ${[...values].join(", ")}%`);
  assert.ok(progress.heading.includes(path.basename(folder)), progress.heading);
  // The panel's counts are read again when the run ends.
  await eventually(
    () => visibleText(browser, ".panel-header p"),
    (counts) => new RegExp(`^1 folder · ${total} files · \\d+ chunks$`).test(counts ?? ""),
    { timeout: 10_000, message: "the folder, file and chunk counts were not updated" },
  );

  const search = byTestId(browser, "documents-search");
  await search.setValue(QUERY);
  await browser.keys("Enter");
  const results = await eventually(
    () =>
      browser.execute(() =>
        [...document.querySelectorAll('[data-testid="search-result"] .search-result-path')].map((item) => item.textContent),
      ),
    (paths) => paths.length > 0,
    { timeout: 30_000, message: "no search results" },
  );
  context.diagnostic(`results: ${results.map((item) => path.basename(item.split(" · ")[0])).join(", ")}`);
  assert.ok(results[0].startsWith(path.join(folder, "axolotl-care.md")), `first result: ${results[0]}`);
  const first = await visibleText(browser, '[data-testid="search-result"]');
  assert.match(first, /axolotl/i, first);

  await screenshot(browser, "documents-search");

  // "Use my documents" in chat: the reply lists the passages it drew on, the right file first,
  // and a source opens its passage. (What the small model writes is not asserted: the sources
  // are the retrieval's, and they are what this checks.)
  // Greedy and short: the same reply every run, and no time spent on a long one.
  await openView(browser, "settings");
  await fieldByLabel(browser, "Temperature").setValue("0");
  await fieldByLabel(browser, "Max tokens").setValue("96");
  await saveSettings(browser);
  await openView(browser, "chat");
  // The switch's input is drawn by its label (the track); the user clicks that.
  await click(browser.$('//label[.//*[@data-testid="use-documents"]]'));
  assert.equal(await byTestId(browser, "use-documents").isSelected(), true, "the switch did not turn on");
  await byTestId(browser, "composer-input").setValue(QUERY);
  await click(byTestId(browser, "send-button"));
  await byTestId(browser, "reply-stats").waitForExist({ timeout: 90_000, timeoutMsg: "the reply did not finish" });
  const sources = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="reply-sources"] .source-button')].map((button) => button.textContent),
  );
  context.diagnostic(`sources: ${sources.join(" | ")}`);
  assert.ok(sources.length > 0, "the reply lists no sources");
  assert.match(sources[0], /^\[1\]axolotl-care\.md/, sources[0]);
  await click(browser.$('[data-testid="reply-sources"] .source-button'));
  const dialog = browser.$('[role="dialog"]');
  await dialog.waitForDisplayed({ timeout: 10_000, timeoutMsg: "the source did not open its passage" });
  await waitForText(browser, '[role="dialog"]', "bloodworms");
  // The passage is shown in its place in the file, with the heading above it.
  const passage = await visibleText(browser, '[role="dialog"] ol[aria-label="Passage"]');
  assert.match(passage, /## Feeding.*Feed each axolotl bloodworms/, passage);
  await screenshot(browser, "chat-with-sources");
  await browser.keys("Escape");
});
