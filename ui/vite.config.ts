/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The app is served to the Tauri webview, never to a browser on the network: a fixed port that
// matches `devUrl` in src-tauri/tauri.conf.json, loopback only, and no fallback port that Tauri
// would not know about.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    host: "127.0.0.1",
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.40+ (Debian 12), WebView2 and WKWebView all run ES2022.
    target: "es2022",
    // Inline assets would need `data:` in the CSP; keep every asset a file.
    assetsInlineLimit: 0,
    // The bundle is read from the app's own files, never downloaded, so one ~650 kB chunk (React,
    // the Markdown pipeline and highlight.js's common languages) costs nothing worth splitting.
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    // Mocked IPC modules are shared by a file's tests; each test counts its own calls.
    clearMocks: true,
  },
});
