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
  openView,
  screenshot,
  visibleText,
  waitForChatModel,
  waitForEmbeddingModel,
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

appTest(app, "a folder added in Documents is indexed to 100% and searching it finds the right file first", async (context) => {
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
});
