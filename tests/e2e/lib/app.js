// Starting and stopping the real app for a test.
//
// One `App` is one app data folder (a fresh XDG_DATA_HOME, so the user's real
// ~/.local/share/dev.onyx.desktop is never touched) and, while it runs, one tauri-driver. tauri-driver
// starts WebKitWebDriver, which starts target/debug/onyx-app when a WebDriver session is created;
// the three inherit the environment given to tauri-driver, which is how the app gets its data
// folder, the display and the repository's runtime/ and models/. Quitting deletes the session
// (the app exits), then ends tauri-driver's process group; `restart()` starts all of it again on
// the same data folder, as a user reopening the app.
//
// Every wait is bounded. Processes are started in their own process group and ended by that
// group's id, on a normal stop, when the test process exits, and on SIGINT/SIGTERM.
//
// Tests run as root in CI, and root reads every file whatever its mode. A test about files the
// user cannot read starts its app with `{ honourFilePermissions: true }`: as root, the drivers and
// the app then run without the two capabilities that override file modes (CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH, dropped from the bounding set by util-linux's setpriv), so a folder with
// mode 000 is unreadable to the app as it would be to any user.
//
// For debugging: ONYX_E2E_APP runs another binary (a wrapper script, say) in place of
// target/debug/onyx-app, TAURI_DRIVER another tauri-driver, ONYX_E2E_KEEP=1 keeps the temp folders.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

import { remote } from "webdriverio";

import { TAG_VARIABLE } from "./isolation.js";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const APP_BINARY = process.env.ONYX_E2E_APP ?? path.join(REPO, "target/debug/onyx-app");
export const OUTPUT = process.env.ONYX_E2E_OUTPUT ?? path.join(REPO, "test-output/e2e");
export const TAURI_DRIVER = process.env.TAURI_DRIVER ?? findTauriDriver();
const NATIVE_DRIVER = "/usr/bin/WebKitWebDriver";

/** Longest wait for the window to answer after the app was started. */
const SESSION_TIMEOUT_MS = 60_000;
/** Longest wait for the app and its drivers to exit after a quit. */
const EXIT_TIMEOUT_MS = 15_000;

function findTauriDriver() {
  const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo");
  const inCargo = path.join(cargoHome, "bin/tauri-driver");
  return fs.existsSync(inCargo) ? inCargo : "tauri-driver";
}

// --- Process groups ------------------------------------------------------------------------------

/** The process groups this test process started and has not ended yet. */
const groups = new Set();

/** The ids of the live processes in process group `pgid` (from /proc), with their commands. */
function groupMembers(pgid) {
  const members = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command (which is in parentheses and may hold spaces).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const state = fields[0];
      const group = Number(fields[2]);
      if (group === pgid && state !== "Z") {
        members.push({ pid: Number(entry), command: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) });
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return members;
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

async function endGroup(pgid, timeoutMs = EXIT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  signalGroup(pgid, "SIGTERM");
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) {
      signalGroup(pgid, "SIGKILL");
      await sleep(200);
      break;
    }
    await sleep(100);
  }
  groups.delete(pgid);
  const left = groupMembers(pgid);
  if (left.length > 0) {
    throw new Error(`processes left after SIGKILL: ${left.map((m) => `${m.pid} ${m.command}`).join(", ")}`);
  }
}

function killAllNow() {
  for (const pgid of groups) {
    signalGroup(pgid, "SIGKILL");
  }
  groups.clear();
}

process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killAllNow();
    process.exit(1);
  });
}

// --- Helpers -------------------------------------------------------------------------------------

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs, isAlive) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (!isAlive()) throw new Error(`tauri-driver exited before port ${port} was open`);
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A fresh temporary folder, removed by `removeTemp` (kept when ONYX_E2E_KEEP=1). */
export function makeTemp(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `onyx-e2e-${label}-`));
}

export function removeTemp(dir) {
  if (process.env.ONYX_E2E_KEEP !== "1") {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// --- The app -------------------------------------------------------------------------------------

export class App {
  /**
   * @param {string} name  names the log file and the temp folder
   * @param {{ honourFilePermissions?: boolean, env?: Record<string, string> }} [options]
   *   `honourFilePermissions`: see the top of this file; `env`: more variables for the app
   */
  constructor(name, { honourFilePermissions = false, env = {} } = {}) {
    this.name = name;
    this.honourFilePermissions = honourFilePermissions;
    this.extraEnv = env;
    this.root = makeTemp(name);
    /** Where the app keeps its files for this test: $XDG_DATA_HOME/<identifier>. */
    this.dataDir = path.join(this.root, "data/dev.onyx.desktop");
    fs.mkdirSync(path.join(OUTPUT, "logs"), { recursive: true });
    this.logPath = path.join(OUTPUT, "logs", `${name}.log`);
    fs.writeFileSync(this.logPath, "");
    this.launches = 0;
    /** @type {import("webdriverio").Browser | null} */
    this.browser = null;
    this.driver = null;
  }

  /** The environment of tauri-driver, WebKitWebDriver and the app. */
  env() {
    const env = { ...process.env };
    delete env.ORT_DYLIB_PATH;
    const runtimeDir = path.join(this.root, "xdg-runtime");
    fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    return {
      ...env,
      // Marks every process of this run, so the run can check that none is left behind.
      [TAG_VARIABLE]: process.env.ONYX_E2E_RUN_ID ?? "manual",
      XDG_DATA_HOME: path.join(this.root, "data"),
      XDG_CONFIG_HOME: path.join(this.root, "config"),
      XDG_CACHE_HOME: path.join(this.root, "cache"),
      XDG_RUNTIME_DIR: runtimeDir,
      // The repository's runtime/ and models/, as setup made them (the app would also find them
      // from its own path, target/debug/onyx-app; said here so the test does not depend on that).
      ONYX_RUNTIME: path.join(REPO, "runtime"),
      ONYX_MODELS: path.join(REPO, "models"),
      // No accessibility bus under Xvfb: without this GTK waits for one and warns.
      NO_AT_BRIDGE: "1",
      ...this.extraEnv,
    };
  }

  /** Starts tauri-driver and the app, and waits for the window to answer. */
  async start() {
    if (this.browser !== null) throw new Error(`${this.name}: already running`);
    if (process.env.DISPLAY === undefined) throw new Error("DISPLAY is not set: run the e2e with `make e2e` (it starts Xvfb)");
    this.launches += 1;
    fs.mkdirSync(this.dataDir, { recursive: true });
    const log = fs.openSync(this.logPath, "a");
    fs.writeSync(log, `\n===== launch ${this.launches} (${new Date().toISOString()})\n`);
    const port = await freePort();
    let nativePort = await freePort();
    while (nativePort === port) nativePort = await freePort();
    let command = [TAURI_DRIVER, "--port", String(port), "--native-port", String(nativePort), "--native-driver", NATIVE_DRIVER];
    if (this.honourFilePermissions && process.getuid?.() === 0) {
      // setpriv execs the driver in its own place, so the process group stays the driver's.
      command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", ...command];
    }
    const driver = spawn(command[0], command.slice(1), {
      cwd: REPO,
      env: this.env(),
      detached: true,
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const exited = new Promise((resolve) => driver.once("exit", resolve));
    let alive = true;
    void exited.then(() => {
      alive = false;
    });
    driver.once("error", () => {
      alive = false;
    });
    if (driver.pid === undefined) throw new Error(`cannot start ${TAURI_DRIVER} (run scripts/setup.sh)`);
    groups.add(driver.pid);
    this.driver = driver;
    try {
      // tauri-driver listens at once and forwards to WebKitWebDriver, which takes a moment longer.
      await waitForPort(port, 10_000, () => alive);
      await waitForPort(nativePort, 10_000, () => alive);
      this.browser = await remote({
        hostname: "127.0.0.1",
        port,
        logLevel: "error",
        connectionRetryTimeout: SESSION_TIMEOUT_MS,
        connectionRetryCount: 0,
        waitforTimeout: 30_000,
        capabilities: {
          "tauri:options": { application: APP_BINARY },
          // WebKitWebDriver speaks classic WebDriver; no BiDi socket.
          "wdio:enforceWebDriverClassic": true,
        },
      });
      // The window is up when the React app has drawn its shell.
      await this.browser.$('[data-testid="provider-badge"]').waitForExist({
        timeout: SESSION_TIMEOUT_MS,
        timeoutMsg: `${this.name}: the window did not show the app within ${SESSION_TIMEOUT_MS} ms (see ${this.logPath})`,
      });
    } catch (error) {
      await this.stop().catch(() => {});
      throw error;
    }
    return this.browser;
  }

  /** The app's process id, found in tauri-driver's process group. */
  appPid() {
    if (this.driver === null) return null;
    const app = groupMembers(this.driver.pid).find((m) => m.command.startsWith("onyx-app"));
    return app?.pid ?? null;
  }

  /** Quits the app (ends the WebDriver session, which closes it), then the drivers. */
  async stop() {
    const browser = this.browser;
    const driver = this.driver;
    this.browser = null;
    this.driver = null;
    if (driver === null) return;
    const stopping = Date.now();
    if (browser !== null) {
      const appPid = this.appPid();
      await Promise.race([browser.deleteSession().catch(() => {}), sleep(EXIT_TIMEOUT_MS)]);
      // Let the app finish on its own (it saves nothing on exit, but it may be mid-write).
      const deadline = Date.now() + EXIT_TIMEOUT_MS;
      while (appPid !== null && fs.existsSync(`/proc/${appPid}`) && Date.now() < deadline) {
        const state = fs.readFileSync(`/proc/${appPid}/stat`, "utf8").split(") ")[1]?.[0];
        if (state === "Z") break;
        await sleep(100);
      }
    }
    const ended = Date.now();
    await endGroup(driver.pid);
    this.note(`stopped: app exited ${ended - stopping} ms after the quit, drivers ${Date.now() - ended} ms later`);
  }

  /** Adds a line to this app's log. */
  note(line) {
    fs.appendFileSync(this.logPath, `[e2e] ${line}\n`);
  }

  /** Quits and starts the app again on the same data folder. */
  async restart() {
    await this.stop();
    return this.start();
  }

  /** Stops everything and removes the temp folder. */
  async dispose() {
    await this.stop();
    removeTemp(this.root);
  }
}
