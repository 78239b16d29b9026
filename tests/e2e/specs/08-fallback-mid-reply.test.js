// A provider that fails in the middle of a reply: the reply moves to the CPU and finishes, and the
// badge follows live, while the reply is still streaming.
//
// This machine has no NPU, so the failing provider is the test-only ggml plugin EP (see
// 02-provider), which runs the static-shape "npu" graphs of a chat package whole. The failure is
// the engine's own fault injection, switched on for this app only by
// ONYX_FAULT_DECODE_FAILURE_AFTER (src-tauri/src/models/mod.rs): the chat model's decoder fails
// after a few steps as a crashing NPU driver would, and the engine rebuilds the cache on the CPU.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
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
  visibleText,
  waitForChatModel,
} from "../lib/ui.js";

// The prefill and five tokens on the plugin, then the failure.
const app = new App("fallback-mid-reply", { env: { ONYX_FAULT_DECODE_FAILURE_AFTER: "6" } });
after(() => app.dispose());

const GGML_DIR = path.join(REPO, "runtime/test-plugins/ggml/onnxruntime_ggml/lib");
const SOURCE = path.join(REPO, "models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
const ONYX = path.join(REPO, "target/debug/onyx");
const MODEL = "smollm2-npu-fp32";
const QUESTION = "What is the capital of France?";

/** The chat package with only the static "npu" graphs, in fp32 (what the ggml EP runs whole). */
function convertNpuPackage() {
  const out = path.join(app.dataDir, "models", MODEL);
  const result = spawnSync(ONYX, ["convert", SOURCE, "-o", out, "--target", "npu", "--quant", "fp32"], {
    encoding: "utf8",
    timeout: 180_000,
  });
  assert.equal(result.status, 0, `onyx convert failed: ${result.stderr || result.error?.message}`);
}

appTest(app, "a provider failing mid-reply moves the reply to the CPU, and the badge follows while it streams", async (context) => {
  assert.ok(fs.existsSync(SOURCE), `${SOURCE} is missing: run scripts/setup.sh`);
  fs.mkdirSync(app.dataDir, { recursive: true });
  convertNpuPackage();

  // The plugin folder applies at the next start; a short, greedy reply keeps the test quick.
  let browser = await app.start();
  await waitForChatModel(browser);
  await openView(browser, "settings");
  await fieldByLabel(browser, "Execution provider plugin folder").setValue(GGML_DIR);
  await fieldByLabel(browser, "Temperature").setValue("0");
  await fieldByLabel(browser, "Max tokens").setValue("24");
  await saveSettings(browser);
  browser = await app.restart();
  await waitForChatModel(browser);

  // The npu package on the ggml device.
  await openView(browser, "settings");
  await fieldByLabel(browser, "Chat model").selectByAttribute("value", MODEL);
  const provider = byTestId(browser, "settings-provider");
  const ggml = await browser.execute(
    (select) => [...select.options].map((option) => option.value).find((value) => /^ggml#\d+$/.test(value)),
    await provider,
  );
  assert.ok(ggml !== undefined, "the ggml device is not offered");
  await provider.selectByAttribute("value", ggml);
  await saveSettings(browser);
  await browser.waitUntil(async () => /ggml/.test((await badge(browser)).text), {
    timeout: 120_000,
    interval: 200,
    timeoutMsg: "the chat model did not load on the ggml device",
  });
  const before = await badge(browser);
  assert.match(before.text, /^CPU ggml · 100%$/, JSON.stringify(before));
  assert.equal(await byTestId(browser, "provider-badge").getAttribute("data-fallback"), "false");

  // Send, and watch the badge while the reply streams.
  await openView(browser, "chat");
  await byTestId(browser, "composer-input").setValue(QUESTION);
  await startRecording(browser, {
    badge: ['[data-testid="provider-badge"]', "text"],
    streaming: ['[data-testid="streaming"]', "exists"],
    stats: ['[data-testid="reply-stats"]', "exists"],
  });
  await click(byTestId(browser, "send-button"));
  const log = await recordUntil(browser, (now) => now.stats && !now.streaming, {
    timeout: 120_000,
    message: "the reply did not finish",
  });
  const seen = log.map((snapshot) => snapshot.badge).filter((text, i, all) => i === 0 || all[i - 1] !== text);
  const movedWhileStreaming = log.some((snapshot) => snapshot.streaming && /fallback/.test(snapshot.badge ?? ""));
  context.diagnostic(`badge during the reply: ${seen.join(" → ")}`);
  assert.ok(movedWhileStreaming, `the badge did not show the fallback while the reply streamed: ${seen.join(" → ")}`);
  assert.deepEqual(seen, [before.text, "CPU 100% of nodes fallback"]);

  // The reply finished on the CPU, says so, and is the model's real answer.
  const reply = await visibleText(browser, '[data-testid="message-assistant"]');
  assert.match(reply, /Paris/, reply);
  assert.match(reply, /injected failure/, `the reply notes the switch: ${reply}`);
  const after = await badge(browser);
  assert.match(after.text, /^CPU 100% of nodes fallback$/, JSON.stringify(after));
  assert.match(after.label, /It fell back after a failure during a reply: .*injected failure/, after.label);
  const stats = await visibleText(browser, '[data-testid="reply-stats"]');
  assert.match(stats, /\bCPU \([^)]+\)/, stats);
  assert.doesNotMatch(stats, /ggml/, stats);
  await click(byTestId(browser, "provider-badge"));
  await byTestId(browser, "provider-details").waitForDisplayed({ timeout: 5_000 });
  const details = await visibleText(browser, '[data-testid="provider-details"]');
  assert.match(details, new RegExp(`Chat model ${MODEL} · Ready`, "i"), details);
  assert.match(details, /Moved here after a failure during a reply: .*injected failure/, details);
  await screenshot(browser, "provider-fallback-mid-reply");
  await browser.keys("Escape");
});
