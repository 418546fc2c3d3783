import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The benchmark harness (./scripts/bench): its own directory, no fixed servers, one long test.
export default defineConfig({
  ...base,
  testDir: "./bench",
  webServer: undefined,
  timeout: 6 * 60 * 60 * 1000,
  reporter: [["list"]],
  // No trace: recording one keeps a copy of every relayed page's request body and WebSocket frame (tens of MB of
  // JSON through the test process), CPU the transfer would otherwise have (BENCH_TRACE=1 keeps the default).
  use: process.env.BENCH_TRACE ? base.use : { ...base.use, trace: "off" },
});
