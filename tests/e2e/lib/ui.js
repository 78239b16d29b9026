// Small helpers for finding things in the window and waiting on them. Elements are found by the
// data-testid the UI puts on them; where it has none, by their accessible name (label, aria-label).

import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { OUTPUT } from "./app.js";

/** How long the default models may take to load (both, in parallel with the window). */
export const MODEL_TIMEOUT_MS = 90_000;

/** @param {import("webdriverio").Browser} browser */
export function byTestId(browser, id) {
  return browser.$(`[data-testid="${id}"]`);
}

/** @param {import("webdriverio").Browser} browser */
export function allByTestId(browser, id) {
  return browser.$$(`[data-testid="${id}"]`);
}

/** The input, select or textarea whose <label> says `label`. */
export function fieldByLabel(browser, label) {
  return browser.$(`//*[@id=//label[normalize-space()="${label}"]/@for]`);
}

/** A button by its visible text. */
export function buttonByText(browser, text) {
  return browser.$(`//button[normalize-space()="${text}"]`);
}

/**
 * Clicks an element the way a user would reach it: scrolled into view in its panel first.
 * WebKitWebDriver's own scroll-then-click can click where the element was before a nested
 * scroller (the app's panels) moved it, so the scroll is done first and allowed to paint.
 */
export async function click(element) {
  await element.waitForExist({ timeout: 10_000 });
  await element.execute(
    (node) =>
      new Promise((resolve) => {
        node.scrollIntoView({ block: "nearest", inline: "nearest" });
        requestAnimationFrame(() => requestAnimationFrame(() => resolve()));
      }),
  );
  await element.waitForClickable({ timeout: 10_000 });
  await element.click();
}

export async function openView(browser, view) {
  const nav = byTestId(browser, `nav-${view}`);
  await click(nav);
  await browser.waitUntil(async () => (await nav.getAttribute("aria-current")) === "page", {
    timeout: 10_000,
    timeoutMsg: `the ${view} panel did not open`,
  });
}

/** The badge's state (`data-state`: none, loading, ready, failed) and its visible text. */
export async function badge(browser) {
  const element = byTestId(browser, "provider-badge");
  return {
    state: await element.getAttribute("data-state"),
    text: await visibleText(browser, '[data-testid="provider-badge"]'),
    label: await element.getAttribute("aria-label"),
  };
}

/**
 * The text of the first element matching `selector` as the user reads it (innerText: block
 * elements on their own lines), with runs of white space made one space; null when there is none.
 * WebKitWebDriver's own getText runs block elements together ("Ready" + "CPU" = "ReadyCPU").
 */
export async function visibleText(browser, selector) {
  const text = await browser.execute((css) => document.querySelector(css)?.innerText ?? null, selector);
  return text === null ? null : text.replace(/\s+/g, " ").trim();
}

/** Waits until the chat model is loaded and the badge says where it runs. */
export async function waitForChatModel(browser, timeout = MODEL_TIMEOUT_MS) {
  let last = null;
  await browser.waitUntil(
    async () => {
      last = await badge(browser);
      return last.state === "ready" && !/^(Checking|Loading)/.test(last.text);
    },
    { timeout, interval: 200, timeoutMsg: `the chat model did not load within ${timeout} ms` },
  );
  return last;
}

/**
 * Waits until the embedding model (documents) is loaded too, as the badge's details show it; the
 * details are closed again.
 */
export async function waitForEmbeddingModel(browser, timeout = MODEL_TIMEOUT_MS) {
  const button = byTestId(browser, "provider-badge");
  if ((await button.getAttribute("aria-expanded")) !== "true") await click(button);
  await eventually(
    () => visibleText(browser, '[data-testid="provider-details"]'),
    (text) => text !== null && /Embedding model \S+ · Ready/i.test(text),
    { timeout, message: "the embedding model did not load" },
  );
  await browser.keys("Escape");
  await byTestId(browser, "provider-details").waitForExist({ reverse: true, timeout: 5_000 });
}

/** Waits until the window has painted what the DOM holds, so a screenshot shows it. */
export async function settle(browser) {
  await browser.executeAsync((done) => {
    requestAnimationFrame(() => requestAnimationFrame(() => done()));
  });
  await sleep(250);
}

/** Saves a screenshot of the window as test-output/e2e/<name>.png and returns its path. */
export async function screenshot(browser, name) {
  fs.mkdirSync(OUTPUT, { recursive: true });
  await settle(browser);
  const file = path.join(OUTPUT, `${name}.png`);
  await browser.saveScreenshot(file);
  return file;
}

/**
 * Starts recording, in the page, every value the elements `spec` names take from now on.
 * `spec` is `{name: [selector, what]}`, where `what` is `"text"` (innerText, white space made
 * one space), `"exists"`, or an attribute name; the last element matching `selector` is read. A
 * MutationObserver takes a snapshot on every change of the DOM, so a state the window shows for
 * one frame is recorded too, however the test is scheduled: nothing depends on how often it looks.
 */
export async function startRecording(browser, spec) {
  await browser.execute((spec) => {
    const snapshot = () => {
      const values = {};
      for (const [name, [selector, what]] of Object.entries(spec)) {
        const all = document.querySelectorAll(selector);
        const element = all.length === 0 ? null : all[all.length - 1];
        if (what === "exists") values[name] = element !== null;
        else if (element === null) values[name] = null;
        else if (what === "text") values[name] = element.innerText.replace(/\s+/g, " ").trim();
        else values[name] = element.getAttribute(what);
      }
      return values;
    };
    const log = [snapshot()];
    let last = JSON.stringify(log[0]);
    const observer = new MutationObserver(() => {
      const now = snapshot();
      const text = JSON.stringify(now);
      if (text !== last) {
        last = text;
        log.push(now);
      }
    });
    observer.observe(document.documentElement, { subtree: true, childList: true, characterData: true, attributes: true });
    window.__onyxRecording?.observer.disconnect();
    window.__onyxRecording = { log, observer };
  }, spec);
}

/**
 * Waits until the latest recorded snapshot satisfies `accept(snapshot, log)`, stops recording
 * and returns every snapshot, in order. Checking for the end is the only repeated look; the
 * states in between were all recorded by the page itself.
 */
export async function recordUntil(browser, accept, { timeout, message }) {
  const log = await eventually(
    () => browser.execute(() => window.__onyxRecording?.log ?? []),
    (log) => log.length > 0 && accept(log[log.length - 1], log),
    { timeout, message },
  );
  await browser.execute(() => window.__onyxRecording?.observer.disconnect());
  return log;
}

/** Polls `read` until `accept` says yes, for at most `timeout` ms; returns the accepted value. */
export async function eventually(read, accept, { timeout, interval = 200, message }) {
  const deadline = Date.now() + timeout;
  let value;
  for (;;) {
    value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${message} (after ${timeout} ms; last value: ${JSON.stringify(value)})`);
    }
    await sleep(interval);
  }
}

/**
 * A node:test test that drives `app`: when it fails, a screenshot of the window at that moment is
 * saved as test-output/e2e/FAILED-<app>-<test>.png (bounded, in case the window hangs).
 */
export function appTest(app, name, fn, options = {}) {
  test(name, options, async (context) => {
    try {
      await fn(context);
    } catch (error) {
      if (app.browser !== null) {
        const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 60);
        await Promise.race([screenshot(app.browser, `FAILED-${app.name}-${slug}`), sleep(15_000)]).catch(() => {});
      }
      throw error;
    }
  });
}

/**
 * Runs `script` in the window (with `args`) until it returns something truthy, and returns that.
 * The DOM is read inside the page, so elements that React replaces meanwhile cannot go stale; a
 * failed call (an element going away mid-command) is retried until the timeout.
 */
export async function waitInPage(browser, script, args, { timeout = 10_000, interval = 100, message }) {
  const deadline = Date.now() + timeout;
  let lastError = null;
  for (;;) {
    try {
      const value = await browser.execute(script, ...args);
      if (value) return value;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${message} (waited ${timeout} ms${lastError === null ? "" : `; last error: ${lastError.message}`})`);
    }
    await sleep(interval);
  }
}

/** Saves the settings form and waits for the panel to say so. */
export async function saveSettings(browser) {
  await click(byTestId(browser, "settings-save"));
  await waitForText(browser, '[data-testid="settings-save-status"]', "Saved");
}

/** Waits until an element matching `selector` contains `text`; returns its text. */
export function waitForText(browser, selector, text, options) {
  return waitInPage(
    browser,
    (css, needle) => {
      for (const element of document.querySelectorAll(css)) {
        if (element.textContent.includes(needle)) return element.textContent;
      }
      return null;
    },
    [selector, text],
    { message: `no ${selector} containing ${JSON.stringify(text)}`, ...options },
  );
}
