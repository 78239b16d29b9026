// ESLint flat config. Besides the usual TypeScript and React-hooks rules it enforces the IPC
// boundary: only ui/src/ipc/ may talk to Rust, so every command has one typed wrapper and the
// components never see an untyped `invoke`. src/ipc/boundary.test.ts checks the same thing with
// a plain text scan, so the rule holds even if someone disables ESLint for a line.
import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

const ipcBoundaryMessage =
  "Talk to Rust only through the typed wrappers in src/ipc/ (see src/ipc/doctor.ts).";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      ecmaVersion: 2022,
      globals: globals.browser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    ignores: ["src/ipc/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [{ group: ["@tauri-apps/*", "@tauri-apps/*/**"], message: ipcBoundaryMessage }],
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name='invoke']",
          message: ipcBoundaryMessage,
        },
        {
          selector: "CallExpression[callee.property.name='invoke']",
          message: ipcBoundaryMessage,
        },
      ],
    },
  },
  {
    files: ["eslint.config.js"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
