// Runs last (run.mjs runs the specs in file-name order, one at a time). Every app above ran in a
// temporary XDG_DATA_HOME; this checks that none of them wrote into the user's real app folders
// (~/.local/share/dev.onyx.desktop and the config and cache ones), and that every process the
// tests started has ended.

import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

import { compareSnapshots, processesTagged, snapshotRealFolders } from "../lib/isolation.js";

test("the tests wrote nothing into the real app data folders", () => {
  const beforeFile = process.env.ONYX_E2E_REAL_BEFORE;
  assert.ok(beforeFile !== undefined && fs.existsSync(beforeFile), "run the e2e with `make e2e` (run.mjs records the folders first)");
  const before = JSON.parse(fs.readFileSync(beforeFile, "utf8"));
  const changes = compareSnapshots(before, snapshotRealFolders());
  assert.deepEqual(changes, [], `the real app folders changed during the run:\n${changes.join("\n")}`);
});

test("no app, tauri-driver or WebKitWebDriver process is left running", () => {
  const runId = process.env.ONYX_E2E_RUN_ID;
  assert.ok(runId !== undefined, "run the e2e with `make e2e`");
  assert.deepEqual(processesTagged(runId), []);
});
