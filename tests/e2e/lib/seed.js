// Writes into the app's own files between runs, as a previous run or another version would have
// left them. Uses python3's sqlite3 module (setup already needs python3; node 20 has no SQLite).

import { spawnSync } from "node:child_process";

const ADD_CONVERSATION = `
import json, sqlite3, sys, time
request = json.load(sys.stdin)
db = sqlite3.connect(request["db"])
version = db.execute("PRAGMA user_version").fetchone()[0]
if version < 1:
    sys.exit(f"{request['db']} has no conversations schema (user_version {version}): start the app on it first")
now = int(time.time() * 1000)
with db:
    conversation = db.execute(
        "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
        (request["title"], now, now),
    ).lastrowid
    for offset, message in enumerate(request["messages"]):
        db.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, ?, ?, ?)",
            (conversation, message["role"], message["content"], now + offset),
        )
db.close()
print(conversation)
`;

/**
 * Adds a conversation with `messages` ({role, content}) to the conversations database at `db`,
 * which the app must have created (its schema is the app's, not this file's). Returns its id.
 */
export function addConversation(db, title, messages) {
  const result = spawnSync("python3", ["-c", ADD_CONVERSATION], {
    input: JSON.stringify({ db, title, messages }),
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.status !== 0) {
    throw new Error(`could not add a conversation to ${db}: ${result.stderr || result.error?.message}`);
  }
  return Number(result.stdout.trim());
}
