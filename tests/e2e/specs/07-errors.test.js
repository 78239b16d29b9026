// Two failures a user can run into, each shown as a clear message while the app keeps running and
// keeps the user's conversations: a folder Onyx may not read, and a provider that cannot load the
// models (strict NPU mode on a machine without an NPU).

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after } from "node:test";

import { App, makeTemp, removeTemp } from "../lib/app.js";
import { addConversation } from "../lib/seed.js";
import {
  appTest,
  badge,
  byTestId,
  click,
  eventually,
  openView,
  saveSettings,
  screenshot,
  visibleText,
  waitForChatModel,
  waitForEmbeddingModel,
  waitForText,
} from "../lib/ui.js";

// As root (CI), the app must not read past file modes, or "unreadable" cannot happen.
const app = new App("errors", { honourFilePermissions: true });
const folder = makeTemp("errors-docs");
after(async () => {
  // Readable again, so the temp folder can be removed.
  for (const locked of ["locked", "notes/private", "notes/diary.txt"]) {
    fs.chmodSync(path.join(folder, locked), 0o700);
  }
  await app.dispose();
  removeTemp(folder);
});

const CONVERSATION = "Plans for the garden";

/** The conversation seeded below is listed, and opens with its messages. */
async function conversationKept(browser) {
  await openView(browser, "chat");
  const item = browser.$(`//*[@data-testid="conversation-open"][contains(., "${CONVERSATION}")]`);
  await item.waitForExist({ timeout: 10_000, timeoutMsg: `"${CONVERSATION}" is not in the conversation list` });
  await click(item);
  await waitForText(browser, '[data-testid="message-user"]', "tomatoes");
  await waitForText(browser, '[data-testid="message-assistant"]', "sunny corner");
}

appTest(app, "an unreadable folder gives a message naming it; unreadable files inside a folder are listed as skipped", async () => {
  // A folder Onyx may not open at all, and a readable one with an unreadable folder and file in it.
  fs.mkdirSync(path.join(folder, "locked"));
  fs.writeFileSync(path.join(folder, "locked/plans.md"), "# Plans\n\nNothing to see.\n");
  fs.chmodSync(path.join(folder, "locked"), 0o000);
  fs.mkdirSync(path.join(folder, "notes/private"), { recursive: true });
  fs.writeFileSync(path.join(folder, "notes/private/letters.md"), "# Letters\n\nKept private.\n");
  fs.chmodSync(path.join(folder, "notes/private"), 0o000);
  fs.writeFileSync(path.join(folder, "notes/diary.txt"), "Dear diary, today I planted beans.\n");
  fs.chmodSync(path.join(folder, "notes/diary.txt"), 0o000);
  fs.writeFileSync(path.join(folder, "notes/compost.md"), "# Compost\n\nTurn the heap every two weeks so it stays airy.\n");

  // A first start creates the conversations database; a conversation is added as a past session
  // would have left it.
  let browser = await app.start();
  await waitForChatModel(browser);
  await app.stop();
  addConversation(path.join(app.dataDir, "conversations.sqlite"), CONVERSATION, [
    { role: "user", content: "When should I plant tomatoes?" },
    { role: "assistant", content: "After the last frost, in a sunny corner." },
  ]);
  browser = await app.start();
  await waitForChatModel(browser);
  await waitForEmbeddingModel(browser);

  await openView(browser, "documents");
  const locked = path.join(folder, "locked");
  await byTestId(browser, "documents-path").setValue(locked);
  await click(byTestId(browser, "documents-add"));
  const banner = browser.$('//*[@data-testid="error-banner"][contains(., "cannot be read")]');
  await banner.waitForDisplayed({ timeout: 15_000, timeoutMsg: "adding an unreadable folder showed no error" });
  const message = await visibleText(browser, '[data-testid="error-banner"]');
  assert.ok(message.includes(locked), `the message names the folder: ${message}`);
  assert.match(message, /permission denied/i, message);
  // The path stays in the field, so the user can fix it, and nothing was added.
  assert.equal(await byTestId(browser, "documents-path").getValue(), locked);
  assert.equal((await browser.$$('[data-testid="source-row"]')).length, 0);
  await screenshot(browser, "error-unreadable-folder");

  // The readable folder is indexed; what inside it cannot be read is skipped, with the reason.
  const notes = path.join(folder, "notes");
  await byTestId(browser, "documents-path").setValue(notes);
  await click(byTestId(browser, "documents-add"));
  await eventually(
    () => visibleText(browser, ".panel-header p"),
    (counts) => /^1 folder · 1 file · \d+ chunks?$/.test(counts ?? ""),
    { timeout: 60_000, message: "the readable folder was not indexed" },
  );
  const skipped = await eventually(
    () => browser.execute(() => [...document.querySelectorAll('[data-testid="skip-group"]')].map((group) => group.textContent)),
    (groups) => groups.some((group) => group.includes("diary.txt")),
    { timeout: 15_000, message: "the unreadable file is not listed as skipped" },
  );
  const all = skipped.join("\n");
  assert.match(all, /^unreadable: permission denied \(2\)/, all);
  assert.ok(all.includes(path.join(notes, "diary.txt")), all);
  assert.ok(all.includes(path.join(notes, "private")), all);
  await browser.execute(() => {
    document.querySelectorAll('[data-testid="skip-group"]').forEach((group) => group.setAttribute("open", ""));
  });
  await screenshot(browser, "documents-unreadable-skipped");

  // The folder is still watched around the part it cannot read: a note added now is indexed.
  fs.writeFileSync(path.join(notes, "beans.md"), "# Beans\n\nRunner beans climb the fence by July.\n");
  await eventually(
    () => visibleText(browser, ".panel-header p"),
    (counts) => /^1 folder · 2 files · \d+ chunks$/.test(counts ?? ""),
    { timeout: 30_000, message: "a file added to the watched folder was not indexed" },
  );
  const notices = await browser.execute(() => document.querySelector('ul[aria-label="Notices"]')?.textContent ?? "");
  assert.doesNotMatch(notices, /cannot watch/, notices);

  // The app still works: search answers, and the conversation is there.
  await byTestId(browser, "documents-search").setValue("how often to turn the compost");
  await browser.keys("Enter");
  await waitForText(browser, '[data-testid="search-result"]', "compost.md", { timeout: 30_000 });
  await conversationKept(browser);
});

appTest(app, "a provider that cannot load the models shows why, keeps the conversations, and recovers", async (context) => {
  let browser = app.browser ?? (await app.start());
  await waitForChatModel(browser);

  // Strict NPU on a machine without one: no fallback is allowed, so the models cannot load. The
  // models loaded before keep answering, and the window says the new setting did not apply.
  await openView(browser, "settings");
  await byTestId(browser, "settings-provider").selectByAttribute("value", "npu");
  await click(byTestId(browser, "settings-strict-npu"));
  await saveSettings(browser);
  const live = browser.$('//*[@data-testid="error-banner"][contains(., "could not be loaded")]');
  await live.waitForDisplayed({ timeout: 60_000, timeoutMsg: "no banner about the chat model after the switch" });
  const liveText = await live.getText();
  assert.match(liveText, /The new chat model setting could not be loaded; .smollm2-135m-instruct. keeps answering/, liveText);
  assert.match(liveText, /for 'npu': NPU on -: no NPU found on this machine/, liveText);
  const kept = await badge(browser);
  assert.equal(kept.state, "ready", JSON.stringify(kept));
  assert.match(kept.text, /^CPU/, JSON.stringify(kept));
  assert.match(kept.label, /The last load failed, so the model loaded before keeps answering: .*no NPU found/, kept.label);
  await screenshot(browser, "error-strict-npu-live");

  // At the next start there is no model loaded before: the badge shows the failure.
  browser = await app.restart();
  await browser.waitUntil(async () => (await badge(browser)).state === "failed", {
    timeout: 60_000,
    timeoutMsg: "the badge does not show that the chat model failed",
  });
  const shown = await badge(browser);
  assert.match(shown.text, /^Failed/, JSON.stringify(shown));
  assert.match(shown.label, /no NPU found on this machine/, shown.label);
  const banner = browser.$('//*[@data-testid="error-banner"][contains(., "could not be loaded")]');
  await banner.waitForDisplayed({ timeout: 10_000, timeoutMsg: "no banner about the chat model" });
  const bannerText = await banner.getText();
  context.diagnostic(`banner: ${bannerText.replace(/\s+/g, " ")}`);
  assert.match(bannerText, /The chat model .smollm2-135m-instruct. could not be loaded/, bannerText);
  assert.match(bannerText, /for 'npu': NPU on -: no NPU found on this machine/, bannerText);
  await screenshot(browser, "error-strict-npu");

  // Nothing is lost, and sending says why instead of hanging.
  await conversationKept(browser);
  await byTestId(browser, "composer-input").setValue("Are you there?");
  await click(byTestId(browser, "send-button"));
  const replyError = browser.$('//section[@aria-label="Chat"]//*[@data-testid="error-banner"]');
  await replyError.waitForDisplayed({ timeout: 15_000, timeoutMsg: "sending without a model showed no error" });
  assert.match(await replyError.getText(), /no NPU found on this machine/);

  // Back to automatic placement: the models load again and the badge follows.
  await openView(browser, "settings");
  await byTestId(browser, "settings-provider").selectByAttribute("value", "auto");
  await click(byTestId(browser, "settings-strict-npu"));
  await click(byTestId(browser, "settings-save"));
  const recovered = await waitForChatModel(browser);
  assert.match(recovered.text, /^CPU/, JSON.stringify(recovered));
  await waitForEmbeddingModel(browser);
});
