import { defineConfig } from "@playwright/test";

// One real server on a SQLite file of its own, started fresh for every run by Playwright.
const port = Number(process.env.E2E_PORT ?? 3456);
/** A second instance, mounted under BASE_PATH behind a prefix-stripping proxy that the tests start. */
export const PREFIXED_PORT = port + 1;
export const BASE_PATH = "/dbt";
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
  webServer: [
    server(port, "e2e", []),
    server(PREFIXED_PORT, "e2e-prefixed", ["--base-path", BASE_PATH]),
  ],
});

/** One real instance on a fresh SQLite file under target/. */
function server(listen: number, name: string, extra: string[]) {
  return {
    command:
      `rm -rf ../target/${name} && ../target/debug/db-transfer serve --addr 127.0.0.1:${listen} ` +
      `--database-url sqlite://../target/${name}/db.sqlite --site-root ../target/site ${extra.join(" ")}`,
    url: `http://127.0.0.1:${listen}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    env: { DBT_ADMIN_USERNAME: ADMIN, DBT_ADMIN_PASSWORD: PASSWORD, RUST_LOG: "info" },
  };
}
