// A reply that contains HTML (<script>, <img onerror>) is shown as text and never runs.
//
// How the HTML gets into a reply: a small model cannot be made to say a given string reliably, and
// the question is not what the model says but what the window does with any reply it shows. Every
// reply the window shows comes from the app's conversations database (a stored reply is loaded
// from it, and a streamed one is rendered by the same Markdown component). So the test writes an
// assistant message into that database, the app's own file in the test's data folder, whose schema
// the app created on its first start, then starts the app again and opens the conversation: the
// real load path (conversation_messages) and the real renderer, deterministically.
//
// The app's Content-Security-Policy (script-src 'self') would block an inline <script> or onerror
// handler even if the markup reached the DOM, so `window.__pwned` staying undefined proves little
// on its own. The test therefore checks the DOM itself (no script, img or on* attribute came from
// the message; the markup is shown literally as text) and that the page reported no CSP violation
// (a violation would mean the markup did reach the DOM and only the CSP stopped it).

import assert from "node:assert/strict";
import path from "node:path";
import { after } from "node:test";

import { App } from "../lib/app.js";
import { addConversation } from "../lib/seed.js";
import { appTest, click, screenshot, waitForText } from "../lib/ui.js";

const app = new App("unsafe-html");
after(() => app.dispose());

const SCRIPT = "<script>window.__pwned=1</script>";
const IMAGE = '<img src=x onerror="window.__pwned=2">';
const REPLY = [
  "Here is the snippet you asked for:",
  "",
  SCRIPT,
  "",
  IMAGE,
  "",
  `Inline too: <img src=x onerror="window.__pwned=3"> and <svg onload="window.__pwned=4"></svg>, a [link](javascript:window.__pwned=5) and an image ![diagram](x).`,
].join("\n");
const QUESTION = '<b>Show me</b> some HTML <img src=x onerror="window.__pwned=6">';

appTest(app, "HTML in a stored reply is shown as text and runs nothing", async () => {
  // First start: the app creates its conversations database.
  let browser = await app.start();
  await app.stop();
  addConversation(path.join(app.dataDir, "conversations.sqlite"), "Unsafe HTML", [
    { role: "user", content: QUESTION },
    { role: "assistant", content: REPLY },
  ]);

  browser = await app.start();
  // Scripts run by WebDriver see the page's own globals (the Tauri bridge), so they would see
  // window.__pwned too. Then listen for CSP violations before the reply is rendered.
  const pageWorld = await browser.execute(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
    });
    return typeof window.__TAURI_INTERNALS__;
  });
  assert.equal(pageWorld, "object", "WebDriver scripts do not run in the page's world");

  const item = browser.$('//button[contains(@class, "conversation-open")][normalize-space()="Unsafe HTML"]');
  await item.waitForExist({ timeout: 10_000, timeoutMsg: "the seeded conversation is not listed" });
  await click(item);
  await waitForText(browser, '[data-testid="message-assistant"]', "Here is the snippet");
  // Let anything the messages could have started finish: every image loads or fails (its
  // onerror would have run by then), and two frames pass (scripts and handlers inserted with the
  // messages have run). Waiting on those events, not on a clock, gives them every chance to run.
  await browser.executeAsync((done) => {
    const pending = [...document.images]
      .filter((image) => !image.complete)
      .map((image) => new Promise((settled) => {
        image.addEventListener("load", settled, { once: true });
        image.addEventListener("error", settled, { once: true });
      }));
    Promise.all(pending).then(() => requestAnimationFrame(() => requestAnimationFrame(() => done())));
  });

  const page = await browser.execute(() => {
    // What the messages' text became (the reply's Markdown, the question's paragraph); the
    // buttons around them have the app's own icons.
    const messages = [
      ...document.querySelectorAll('[data-testid="message-assistant"] .markdown, [data-testid="message-user"] .message-text'),
    ];
    const inside = (selector) => messages.flatMap((message) => [...message.querySelectorAll(selector)]);
    return {
      pwned: typeof window.__pwned,
      violations: window.__cspViolations,
      dangerous: inside("script, img, svg, iframe, object, embed").map((element) => element.outerHTML),
      handlers: inside("*").flatMap((element) =>
        [...element.attributes].filter((attribute) => attribute.name.startsWith("on")).map((attribute) => attribute.name),
      ),
      javascriptLinks: inside("a").filter((link) => (link.getAttribute("href") ?? "").trim().toLowerCase().startsWith("javascript:")).length,
      rendered: messages.length,
      replyText: document.querySelector('[data-testid="message-assistant"] .markdown').textContent,
      questionText: document.querySelector('[data-testid="message-user"]').textContent,
    };
  });

  assert.equal(page.rendered, 2, "the two messages' text was not found");
  assert.equal(page.pwned, "undefined", "a script from the message ran");
  assert.deepEqual(page.violations, [], "markup from the message reached the page (the CSP blocked it)");
  assert.deepEqual(page.dangerous, [], "elements created from the message's markup");
  assert.deepEqual(page.handlers, [], "event handler attributes from the message");
  assert.equal(page.javascriptLinks, 0, "a javascript: link was kept");
  // The markup is shown as the text it is.
  assert.ok(page.replyText.includes(SCRIPT), `the <script> tag is not shown as text: ${page.replyText}`);
  assert.ok(page.replyText.includes(IMAGE), `the <img> tag is not shown as text: ${page.replyText}`);
  assert.ok(page.replyText.includes("[image: diagram]"), `the Markdown image is not shown as text: ${page.replyText}`);
  assert.equal(page.questionText, QUESTION, "the user's message is not shown as typed");

  await screenshot(browser, "unsafe-html-inert");
});
