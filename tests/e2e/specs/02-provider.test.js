// The provider badge: where the chat model runs, its details, and a provider switch in Settings
// that survives a restart.
//
// What a switch can show on this kind of machine (AMD CPU, no NPU or GPU): the only execution
// providers are ONNX Runtime's CPU EP and the test-only ggml plugin EP (runtime/test-plugins/, which
// the app does not scan unless Settings' plugin folder points at it). "cpu" and "auto" both end on
// the CPU EP and look the same. Choosing the ggml device does change what the app reports, but
// not the badge's face: the ggml plugin takes a graph whole or not at all, and the default chat
// model's int4 graph uses ops it lacks (MatMulNBits, GroupQueryAttention, ...), so the app tries
// it, falls back to the CPU EP and says why. The badge reads "CPU · 100% of nodes · fallback";
// its details list the ggml attempt and the reason. That is what this test asserts.

import assert from "node:assert/strict";
import path from "node:path";
import { after } from "node:test";

import { App, REPO } from "../lib/app.js";
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
  visibleText,
  waitForEmbeddingModel,
  waitForText,
} from "../lib/ui.js";

const app = new App("provider");
after(() => app.dispose());

const GGML_DIR = path.join(REPO, "runtime/test-plugins/ggml/onnxruntime_ggml/lib");
const PLUGIN_FIELD = "Execution provider plugin folder";

async function openDetails(browser) {
  const button = byTestId(browser, "provider-badge");
  if ((await button.getAttribute("aria-expanded")) !== "true") await click(button);
  await byTestId(browser, "provider-details").waitForDisplayed({ timeout: 5_000, timeoutMsg: "the provider details did not open" });
  return visibleText(browser, '[data-testid="provider-details"]');
}

async function providerOptions(browser) {
  const select = await byTestId(browser, "settings-provider");
  await select.waitForExist({ timeout: 10_000 });
  return browser.execute((element) => [...element.options].map((option) => option.value), select);
}

appTest(app, "the badge shows where the chat model runs, and opens its details", async () => {
  const browser = await app.start();
  const shown = await waitForChatModel(browser);
  await waitForEmbeddingModel(browser);
  const face = await byTestId(browser, "provider-badge").getProperty("textContent");
  assert.match(face, /^CPU\s*100% of nodes$/, `badge text: ${face}`);
  assert.equal(await byTestId(browser, "provider-badge").getAttribute("data-fallback"), "false");
  assert.match(shown.label, /runs on the CPU with CPUExecutionProvider, 100% of nodes/, shown.label);

  const details = await openDetails(browser);
  assert.match(details, /Chat model smollm2-135m-instruct · Ready/i, details);
  assert.match(details, /CPU · CPUExecutionProvider on \S+/, details);
  assert.match(details, /100% of nodes \((\d+) of \1 nodes\)/, details);
  assert.match(details, /Embedding model all-minilm-l6-v2 · Ready/i, details);
  // Auto tried the NPU and the GPU first, and says why it could not use them.
  assert.match(details, /NPU no NPU found on this machine/, details);
  assert.match(details, /GPU no GPU found on this machine/, details);
  assert.doesNotMatch(details, /ggml/, details);
  await screenshot(browser, "provider-badge-details");

  // Esc closes the details again.
  await browser.keys("Escape");
  await byTestId(browser, "provider-details").waitForExist({ reverse: true, timeout: 5_000 });
});

appTest(app, "a provider chosen in Settings is applied, shown in the badge's details, and kept after a restart", async (context) => {
  let browser = app.browser ?? (await app.start());
  await openView(browser, "settings");
  assert.equal(await byTestId(browser, "settings-provider").getValue(), "auto");
  const before = await providerOptions(browser);
  assert.ok(!before.some((value) => value.startsWith("ggml")), `ggml is offered before its folder is set: ${before}`);

  // The plugin folder applies at the next start, and the window says so.
  await fieldByLabel(browser, PLUGIN_FIELD).setValue(GGML_DIR);
  await saveSettings(browser);
  await waitForText(browser, 'ul[aria-label="Notices"]', "takes effect when Onyx is restarted");

  browser = await app.restart();
  await waitForChatModel(browser);
  await openView(browser, "settings");
  const ggml = (await providerOptions(browser)).find((value) => /^ggml#\d+$/.test(value));
  assert.ok(ggml !== undefined, "the ggml device is offered after the restart");

  await byTestId(browser, "settings-provider").selectByAttribute("value", ggml);
  // The chat model reloads on the chosen device: the badge shows it loading, then the result.
  await startRecording(browser, { state: ['[data-testid="provider-badge"]', "data-state"] });
  await saveSettings(browser);
  const log = await recordUntil(browser, (now, log) => now.state === "ready" && log.some((s) => s.state === "loading"), {
    timeout: 60_000,
    message: "the model did not reload",
  });
  const seen = log.map((snapshot) => snapshot.state).filter((state, i, all) => i === 0 || all[i - 1] !== state);
  context.diagnostic(`badge during the switch: ${seen.join(" → ")}`);
  await waitForChatModel(browser);

  // The face says a fallback happened; "auto" on this machine had none (no NPU or GPU exists).
  const face = await badge(browser);
  assert.match(face.text, /^CPU 100% of nodes fallback$/, `badge text: ${face.text}`);
  assert.match(face.label, /It fell back: ggml\S* on .* could not run it \(the EP accepted none of the \d+ nodes\)/, face.label);
  const details = await openDetails(browser);
  // ggml was tried first and refused the graph; the CPU EP runs it, after that fallback.
  assert.match(details, /ggml · \S+.* the EP accepted none of the (\d+) nodes/, details);
  assert.match(details, /CPUExecutionProvider Used after the fallbacks above/, details);
  assert.match(details, /CPU · CPUExecutionProvider on .* 100% of nodes/, details);
  assert.doesNotMatch(details, /no NPU found/, `auto's attempts are gone: ${details}`);
  await screenshot(browser, "provider-details-ggml-fallback");
  await browser.keys("Escape");
  await byTestId(browser, "settings-provider").execute((node) => node.scrollIntoView({ block: "nearest" }));
  await screenshot(browser, "settings-panel");

  // A restart keeps the choice: in the form, and in effect.
  browser = await app.restart();
  await waitForChatModel(browser);
  const afterRestart = await openDetails(browser);
  assert.match(afterRestart, /ggml · \S+.* the EP accepted none of the \d+ nodes/, afterRestart);
  await browser.keys("Escape");
  await openView(browser, "settings");
  assert.equal(await byTestId(browser, "settings-provider").getValue(), ggml);
  assert.equal(await fieldByLabel(browser, PLUGIN_FIELD).getValue(), GGML_DIR);
});
