import { defineConfig } from "@playwright/test";

// One real server on a SQLite file of its own, started fresh for every run by Playwright.
const port = Number(process.env.E2E_PORT ?? 3456);
export const ADMIN = "admin";
export const PASSWORD = "e2e password 12345";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium; Playwright never downloads a browser here.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    },
  },
  webServer: {
    command:
      `rm -rf ../target/e2e && ../target/debug/db-transfer serve --addr 127.0.0.1:${port} ` +
      `--database-url sqlite://../target/e2e/e2e.sqlite --site-root ../target/site`,
    url: `http://127.0.0.1:${port}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    env: { DBT_ADMIN_USERNAME: ADMIN, DBT_ADMIN_PASSWORD: PASSWORD, RUST_LOG: "info" },
  },
});
