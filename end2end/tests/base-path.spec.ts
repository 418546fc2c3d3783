import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { ADMIN, BASE_PATH, PASSWORD, PREFIXED_PORT } from "../playwright.config";

// A reverse proxy that serves the instance under BASE_PATH and strips it, as nginx's
// `location /dbt/ { proxy_pass http://app/; }` does.
let proxy: http.Server;
let proxyUrl: string;

test.beforeAll(async () => {
  proxy = http.createServer((req, res) => {
    const url = req.url ?? "/";
    if (!url.startsWith(`${BASE_PATH}/`)) {
      res.writeHead(404).end("outside the mounted prefix");
      return;
    }
    const upstream = http.request(
      { host: "127.0.0.1", port: PREFIXED_PORT, path: url.slice(BASE_PATH.length), method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
});

test("behind a prefix-stripping proxy: sign in, hydrate, call a server function, follow links", async ({ page }) => {
  await page.goto(`${proxyUrl}${BASE_PATH}/admin/db-transfer`);
  expect(new URL(page.url()).pathname).toBe(`${BASE_PATH}/login`);

  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Username").fill(ADMIN);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**${BASE_PATH}/admin/db-transfer`);

  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  await page.locator("#toggle-transfers").click();
  await expect(page.locator("#toggle-result")).toHaveText("Saved: transfers are on.");

  await page.getByRole("link", { name: "Send", exact: true }).click();
  await page.waitForURL(`**${BASE_PATH}/admin/db-transfer/send`);
  await expect(page.getByRole("heading", { name: "Send" })).toBeVisible();
});
