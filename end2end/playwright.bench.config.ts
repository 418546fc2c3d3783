import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The benchmark harness (./scripts/bench): its own directory, no fixed servers, one long test.
export default defineConfig({
  ...base,
  testDir: "./bench",
  webServer: undefined,
  timeout: 6 * 60 * 60 * 1000,
  reporter: [["list"]],
});
