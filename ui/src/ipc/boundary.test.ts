// @vitest-environment node
// Pins the IPC boundary with a plain text scan, independent of ESLint: outside src/ipc/ no file
// may call `invoke(` or import from `@tauri-apps/*` (the API or a plugin). Every command then has
// exactly one typed wrapper, and renaming a command is a change in one folder.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const srcDir = fileURLToPath(new URL("..", import.meta.url));
const ipcDir = join(srcDir, "ipc");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return sourceFiles(path);
    }
    return /\.(ts|tsx|js|jsx)$/.test(entry.name) ? [path] : [];
  });
}

describe("IPC boundary", () => {
  const outsideIpc = sourceFiles(srcDir).filter((path) => !path.startsWith(ipcDir + sep));

  it("finds the front-end sources it is meant to guard", () => {
    expect(outsideIpc.some((path) => path.endsWith("App.tsx"))).toBe(true);
  });

  it.each(outsideIpc.map((path) => [relative(srcDir, path), path]))(
    "%s does not call invoke( or import @tauri-apps/*",
    (_name, path) => {
      const text = readFileSync(path, "utf8");
      expect(text).not.toMatch(/\binvoke\s*\(/);
      expect(text).not.toMatch(/["']@tauri-apps\//);
    },
  );
});
