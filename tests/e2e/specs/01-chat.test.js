// Chat: a reply streams in token by token and ends with its statistics; then a chat model that
// cannot be loaded (a settings file naming a folder that does not exist) is reported in the window
// while the app keeps running and the conversation stays.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after } from "node:test";

import { App } from "../lib/app.js";
import {
  appTest,
  badge,
  byTestId,
  click,
  fieldByLabel,
  openView,
  recordUntil,
  saveSettings,
  screenshot,
  startRecording,
  waitForChatModel,
  waitForText,
} from "../lib/ui.js";

const app = new App("chat");
after(() => app.dispose());

// With greedy decoding (temperature 0, set below in Settings) the default model answers this with
// a few hundred tokens, every time: long enough to watch it stream. With sampling it sometimes
// answers in a handful of tokens, too fast to see.
const QUESTION = "Write a short story about a lighthouse keeper and a storm.";
/** The longest reply: 512 tokens (the default maximum) at about 25 tokens/s, with room to spare. */
const REPLY_TIMEOUT_MS = 90_000;

appTest(app, "a message streams its reply token by token, then shows the reply's statistics", async (context) => {
  const browser = await app.start();
  await waitForChatModel(browser);

  await openView(browser, "settings");
  await fieldByLabel(browser, "Temperature").setValue("0");
  await saveSettings(browser);
  await openView(browser, "chat");

  await byTestId(browser, "composer-input").setValue(QUESTION);
  await startRecording(browser, {
    streaming: ['[data-testid="streaming"]', "exists"],
    text: ['[data-testid="message-assistant"] .markdown', "text"],
    stats: ['[data-testid="reply-stats"]', "text"],
  });
  await click(byTestId(browser, "send-button"));
  await waitForText(browser, '[data-testid="message-user"]', QUESTION);

  // Every state of the reply while the "Writing…" indicator is up, until the stats appear.
  const log = await recordUntil(browser, (now) => now.stats !== null && !now.streaming, {
    timeout: REPLY_TIMEOUT_MS,
    message: "no reply statistics without the streaming indicator",
  });
  const whileStreaming = log
    .filter((state) => state.streaming && state.text !== null && state.text !== "")
    .map((state) => state.text);
  const state = log[log.length - 1];

  const distinct = [...new Set(whileStreaming)];
  assert.ok(
    distinct.length >= 2,
    `the reply should grow while streaming; saw ${distinct.length} distinct texts: ${JSON.stringify(distinct)}`,
  );
  for (let i = 1; i < distinct.length; i += 1) {
    const pair = JSON.stringify(distinct.slice(i - 1, i + 1));
    assert.ok(distinct[i].length >= distinct[i - 1].length, `the streamed text shrank: ${pair}`);
  }
  assert.ok(distinct.at(-1).length > distinct[0].length, "the streamed text did not grow");
  context.diagnostic(
    `streaming: ${distinct.length} growing texts seen, ${distinct[0].length} to ${distinct.at(-1).length} characters`,
  );

  // Done: the indicator is gone, the stored reply is shown with its numbers and provider.
  assert.equal(state.streaming, false, "the streaming indicator is still shown next to the stats");
  assert.ok(state.text.length >= distinct.at(-1).length, "the final reply is shorter than what streamed");
  const stats = (await byTestId(browser, "reply-stats").getText()).replace(/\s+/g, " ");
  assert.match(stats, /[\d.]+ tok\/s/, stats);
  assert.match(stats, /Time to first token|TTFT/, stats);
  const counts = /(\d+) prompt · (\d+) generated tokens/.exec(stats);
  assert.ok(counts !== null, `token counts in the stats: ${stats}`);
  assert.ok(Number(counts[1]) > 0 && Number(counts[2]) > 20, stats);
  assert.match(stats, /CPU/, `the stats name the provider: ${stats}`);

  // The conversation is listed in the sidebar under a title taken from the question.
  const listed = await browser.$$('[data-testid="conversation-open"]').map((item) => item.getText());
  assert.equal(listed.length, 1, `conversations: ${JSON.stringify(listed)}`);
  assert.ok(QUESTION.startsWith(listed[0].replace(/…$/, "")), `title ${listed[0]}`);

  await screenshot(browser, "chat-streamed-reply");

  // The dark theme applies at once, to the whole window.
  await openView(browser, "settings");
  await fieldByLabel(browser, "Theme").selectByAttribute("value", "dark");
  await saveSettings(browser);
  await openView(browser, "chat");
  const theme = await browser.execute(() => ({
    attribute: document.documentElement.dataset.theme ?? null,
    background: getComputedStyle(document.body).backgroundColor,
  }));
  assert.equal(theme.attribute, "dark", JSON.stringify(theme));
  // Opaque (rgb, not a transparent rgba), and dark.
  assert.match(theme.background, /^rgb\(/, theme.background);
  const [r, g, b] = (theme.background.match(/\d+/g) ?? []).map(Number);
  assert.ok(r + g + b < 150, `the window is not dark: ${theme.background}`);
  await screenshot(browser, "chat-dark-theme");
});

appTest(app, "a chat model path that does not exist is reported, the app keeps running and the conversation stays", async () => {
  await app.stop();

  // The settings file the app saved in the test above (temperature 0): point its chat model at a
  // folder that is not there, as after the folder was deleted or the path mistyped.
  const settingsFile = path.join(app.dataDir, "settings.json");
  assert.ok(fs.existsSync(settingsFile), "the test above saved no settings file");
  const file = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
  const missing = path.join(app.root, "no-such-model");
  file.settings.chatModel = missing;
  fs.writeFileSync(settingsFile, JSON.stringify(file, null, 2));

  const browser = await app.start();
  await browser.waitUntil(async () => (await badge(browser)).state === "failed", {
    timeout: 60_000,
    timeoutMsg: "the badge does not show the failed chat model",
  });
  const shown = await badge(browser);
  assert.match(shown.text, /Failed/, JSON.stringify(shown));

  const banner = browser.$('//*[@data-testid="error-banner"][contains(., "could not be loaded")]');
  await banner.waitForDisplayed({ timeout: 10_000, timeoutMsg: "no banner about the chat model" });
  const bannerText = await banner.getText();
  assert.ok(bannerText.includes(missing), `the banner names the folder: ${bannerText}`);
  assert.match(bannerText, /model_load_failed/, bannerText);

  // The conversation is still there, with its messages.
  const item = byTestId(browser, "conversation-open");
  await item.waitForExist({ timeout: 10_000, timeoutMsg: "the conversation list is empty" });
  await click(item);
  await waitForText(browser, '[data-testid="message-assistant"]', "");
  assert.equal((await browser.$$('[data-testid="message-user"]')).length, 1);
  assert.match(await byTestId(browser, "message-user").getText(), /lighthouse keeper/);
  await byTestId(browser, "reply-stats").waitForExist({ timeout: 5_000, timeoutMsg: "the stored reply lost its stats" });

  // Sending now fails visibly instead of hanging, and the window still answers.
  await byTestId(browser, "composer-input").setValue("Are you there?");
  await click(byTestId(browser, "send-button"));
  const replyError = browser.$('//section[@aria-label="Chat"]//*[@data-testid="error-banner"]');
  await replyError.waitForDisplayed({ timeout: 15_000, timeoutMsg: "sending without a model showed no error" });
  assert.match(await replyError.getText(), /model_load_failed|no_model/);
  await screenshot(browser, "error-missing-chat-model");
  await openView(browser, "documents");
  await openView(browser, "chat");
});
