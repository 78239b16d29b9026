// A settings file that is not settings at all (a crash mid-write, a bad hand edit) does not stop
// the app: it starts on the defaults, keeps the bad file aside, tells the user so, and the
// conversations are all still there.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after } from "node:test";

import { App } from "../lib/app.js";
import { addConversation } from "../lib/seed.js";
import { appTest, byTestId, click, fieldByLabel, openView, screenshot, waitForChatModel, waitForText } from "../lib/ui.js";

const app = new App("settings-file");
after(() => app.dispose());

const GARBAGE = '{"settings": {"temperature": 0.3, "theme": "dark"'; // cut off mid-write

appTest(app, "a garbage settings file at start gives a notice, the defaults, a working app and every conversation", async () => {
  // A first run creates the app's files; a conversation is kept from it.
  await app.start();
  await app.stop();
  addConversation(path.join(app.dataDir, "conversations.sqlite"), "Trip to Lisbon", [
    { role: "user", content: "What should I pack for Lisbon in May?" },
    { role: "assistant", content: "Light layers, comfortable shoes and a jacket for the evenings." },
  ]);
  fs.writeFileSync(path.join(app.dataDir, "settings.json"), GARBAGE);

  const browser = await app.start();
  const notice = await waitForText(browser, 'ul[aria-label="Notices"]', "settings.json was not usable", { timeout: 15_000 });
  assert.match(notice, /is not valid JSON/, notice);
  assert.match(notice, /moved to .*settings\.json\.corrupt-/, notice);
  assert.match(notice, /defaults are in use/, notice);

  // The bad file is kept, byte for byte, beside the fresh one.
  const kept = fs.readdirSync(app.dataDir).filter((name) => name.startsWith("settings.json.corrupt-"));
  assert.equal(kept.length, 1, `files: ${fs.readdirSync(app.dataDir).join(", ")}`);
  assert.equal(fs.readFileSync(path.join(app.dataDir, kept[0]), "utf8"), GARBAGE);

  // The app works on the defaults.
  await waitForChatModel(browser);
  await screenshot(browser, "notice-garbage-settings");
  await openView(browser, "settings");
  assert.equal(await byTestId(browser, "settings-provider").getValue(), "auto");
  // Not the values the cut-off file held.
  assert.equal(await fieldByLabel(browser, "Theme").getValue(), "system");
  assert.equal(await fieldByLabel(browser, "Temperature").getValue(), "0.7");

  // The conversation is there, with its messages.
  await openView(browser, "chat");
  const item = browser.$('//*[@data-testid="conversation-open"][contains(., "Trip to Lisbon")]');
  await item.waitForExist({ timeout: 10_000, timeoutMsg: "the conversation is not listed" });
  await click(item);
  await waitForText(browser, '[data-testid="message-user"]', "pack for Lisbon");
  await waitForText(browser, '[data-testid="message-assistant"]', "comfortable shoes");

  // The notice can be dismissed.
  await click(browser.$('ul[aria-label="Notices"] button[aria-label="Dismiss notice"]'));
  await browser.$('ul[aria-label="Notices"]').waitForExist({ reverse: true, timeout: 5_000 });
});
