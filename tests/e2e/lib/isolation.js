// What the tests must leave alone: the user's real app folders, and no processes behind them.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** The app's identifier (tauri.conf.json), the name of its folders. */
export const IDENTIFIER = "dev.onyx.desktop";

/** The folders the app would use without the tests' XDG_* overrides. */
export function realFolders() {
  const home = os.homedir();
  return [
    path.join(process.env.XDG_DATA_HOME || path.join(home, ".local/share"), IDENTIFIER),
    path.join(process.env.XDG_CONFIG_HOME || path.join(home, ".config"), IDENTIFIER),
    path.join(process.env.XDG_CACHE_HOME || path.join(home, ".cache"), IDENTIFIER),
  ];
}

function walk(dir, base, entries) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.sort()) {
    const full = path.join(dir, name);
    let stat;
    try {
      stat = fs.lstatSync(full);
    } catch {
      continue;
    }
    const relative = path.relative(base, full);
    entries[relative] = stat.isDirectory() ? "dir" : `${stat.size} bytes, modified ${Math.round(stat.mtimeMs)}`;
    if (stat.isDirectory()) walk(full, base, entries);
  }
}

/** For each real folder: null when it does not exist, else every entry with its size and time. */
export function snapshotRealFolders() {
  const snapshot = {};
  for (const folder of realFolders()) {
    if (!fs.existsSync(folder)) {
      snapshot[folder] = null;
    } else {
      const entries = {};
      walk(folder, folder, entries);
      snapshot[folder] = entries;
    }
  }
  return snapshot;
}

/** The differences between two snapshots, one line each. */
export function compareSnapshots(before, after) {
  const changes = [];
  for (const folder of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = before[folder] ?? null;
    const is = after[folder] ?? null;
    if (was === null && is !== null) {
      changes.push(`${folder} was created`);
      continue;
    }
    if (was !== null && is === null) {
      changes.push(`${folder} was removed`);
      continue;
    }
    if (was === null || is === null) continue;
    for (const entry of new Set([...Object.keys(was), ...Object.keys(is)])) {
      if (was[entry] !== is[entry]) {
        changes.push(`${path.join(folder, entry)}: ${was[entry] ?? "absent"} -> ${is[entry] ?? "absent"}`);
      }
    }
  }
  return changes;
}

/** The environment variable that marks every process a test starts (tauri-driver and its children). */
export const TAG_VARIABLE = "ONYX_E2E_APP_TAG";

/** Live processes whose environment carries this run's tag. */
export function processesTagged(runId) {
  const needle = `${TAG_VARIABLE}=${runId}`;
  const found = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (!environ.includes(needle)) continue;
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return found;
}
