// Runs the end-to-end tests: `make e2e` (or `npm --prefix tests/e2e test` once the app is built).
//
// 1. Checks that the app binary and the drivers are there (scripts/setup.sh installs them).
// 2. Empties test-output/e2e/ (screenshots and one log per test file go there).
// 3. Records what the user's real app folders (~/.local/share/dev.onyx.desktop and the config and
//    cache ones) hold, for the last spec, which checks that the tests wrote nothing there.
// 4. Starts Xvfb on a free display (-displayfd) for the whole run.
// 5. Runs the specs with node's test runner, one file at a time, in file-name order. Each file
//    starts its own app(s), each in a fresh temporary XDG_DATA_HOME (lib/app.js).
// 6. Stops Xvfb and ends any process still tagged with this run's id (there should be none; the
//    last spec fails if there are). The whole run is bounded by RUN_TIMEOUT_MS.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

import { APP_BINARY, OUTPUT, REPO, TAURI_DRIVER } from "./lib/app.js";
import { processesTagged, snapshotRealFolders } from "./lib/isolation.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The whole run, app builds excluded; a hung app fails the run instead of hanging CI. */
const RUN_TIMEOUT_MS = 20 * 60_000;
/** One test; each waits for its own steps with shorter timeouts first. */
const TEST_TIMEOUT_MS = 4 * 60_000;

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exit(1);
}

function onPath(command) {
  return (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && fs.existsSync(path.join(dir, command)));
}

// --- 1. Preflight ---------------------------------------------------------------------------------
if (!fs.existsSync(APP_BINARY)) {
  fail(`${path.relative(REPO, APP_BINARY)} is missing: build it with \`make e2e\` (or cargo build -p onyx-app)`);
}
if (!fs.existsSync(path.join(REPO, "ui/dist/index.html"))) {
  fail("ui/dist is missing: the app embeds it; run `make e2e`, which builds the UI first");
}
for (const [tool, found] of [
  ["tauri-driver", TAURI_DRIVER.includes("/") ? fs.existsSync(TAURI_DRIVER) : onPath(TAURI_DRIVER)],
  ["WebKitWebDriver", fs.existsSync("/usr/bin/WebKitWebDriver")],
  ["Xvfb", onPath("Xvfb")],
  ["python3", onPath("python3")],
]) {
  if (!found) fail(`${tool} is missing: run scripts/setup.sh`);
}

// --- 2. Output folder -----------------------------------------------------------------------------
fs.rmSync(OUTPUT, { recursive: true, force: true });
fs.mkdirSync(path.join(OUTPUT, "logs"), { recursive: true });

// --- 3. The real app folders, before ---------------------------------------------------------------
const runId = randomUUID();
const snapshotFile = path.join(OUTPUT, "logs", "real-folders-before.json");
fs.writeFileSync(snapshotFile, JSON.stringify(snapshotRealFolders(), null, 1));

// --- 4. Xvfb --------------------------------------------------------------------------------------
const children = [];
function stopAll(signal) {
  for (const child of children) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Gone already.
    }
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopAll("SIGTERM");
    setTimeout(() => {
      stopAll("SIGKILL");
      process.exit(1);
    }, 3000).unref();
  });
}

const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1400x900x24", "-nolisten", "tcp", "-nolock"], {
  detached: true,
  stdio: ["ignore", "ignore", fs.openSync(path.join(OUTPUT, "logs", "xvfb.log"), "w"), "pipe"],
});
children.push(xvfb);
const display = await Promise.race([
  new Promise((resolve) => {
    let text = "";
    xvfb.stdio[3].on("data", (chunk) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(`:${text.trim()}`);
    });
  }),
  new Promise((resolve) => xvfb.once("exit", () => resolve(null))),
  sleep(15_000).then(() => null),
]);
if (display === null) {
  stopAll("SIGKILL");
  fail("Xvfb did not start (see test-output/e2e/logs/xvfb.log)");
}

// --- 5. The specs ---------------------------------------------------------------------------------
const specs = fs
  .readdirSync(path.join(HERE, "specs"))
  .filter((name) => name.endsWith(".test.js"))
  .sort()
  .map((name) => path.join("specs", name));
const only = process.argv.slice(2);
const selected = only.length === 0 ? specs : specs.filter((spec) => only.some((part) => spec.includes(part)));

const started = Date.now();
const runner = spawn(
  process.execPath,
  [
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    "--test-force-exit",
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...selected,
  ],
  {
    cwd: HERE,
    detached: true,
    stdio: "inherit",
    env: {
      ...process.env,
      DISPLAY: display,
      ONYX_E2E_OUTPUT: OUTPUT,
      ONYX_E2E_RUN_ID: runId,
      ONYX_E2E_REAL_BEFORE: snapshotFile,
    },
  },
);
children.push(runner);
let timedOut = false;
const watchdog = setTimeout(() => {
  timedOut = true;
  console.error(`e2e: the run took over ${RUN_TIMEOUT_MS / 60_000} minutes; stopping it`);
  stopAll("SIGTERM");
  setTimeout(() => stopAll("SIGKILL"), 10_000).unref();
}, RUN_TIMEOUT_MS);
const code = await new Promise((resolve) => runner.once("exit", (status, signal) => resolve(status ?? (signal ? 1 : 0))));
clearTimeout(watchdog);

// --- 6. Clean up ----------------------------------------------------------------------------------
try {
  process.kill(-xvfb.pid, "SIGTERM");
} catch {
  // Gone already.
}
const deadline = Date.now() + 5000;
while (xvfb.exitCode === null && xvfb.signalCode === null && Date.now() < deadline) await sleep(50);
if (xvfb.exitCode === null && xvfb.signalCode === null) stopAll("SIGKILL");
const leftovers = processesTagged(runId);
for (const { pid } of leftovers) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

if (timedOut || leftovers.length > 0) {
  if (leftovers.length > 0) {
    console.error(`e2e: ended ${leftovers.length} process(es) left running: ${leftovers.map((p) => p.command).join(", ")}`);
  }
  process.exit(1);
}
// Nothing is printed after the runner's own summary when all went well, so it closes the output.
if (code !== 0) console.error(`e2e: failed after ${Math.round((Date.now() - started) / 1000)} s; screenshots and logs in ${path.relative(REPO, OUTPUT)}/`);
process.exit(code);
