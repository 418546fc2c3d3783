import { expect, test, type Page } from "@playwright/test";
import { ADMIN, PASSWORD } from "../playwright.config";

/** The page's WASM has hydrated: only then do clicks run client code. */
async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

async function signIn(page: Page, password = PASSWORD) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(ADMIN);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("an anonymous visit is sent to the sign-in page", async ({ page }) => {
  const response = await page.goto("/admin/db-transfer");
  expect(new URL(page.url()).pathname).toBe("/login");
  expect(new URL(page.url()).searchParams.get("next")).toBe("/admin/db-transfer");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
});

test("a wrong password is refused with a clear message", async ({ page }) => {
  await signIn(page, "not the password");
  await expect(page.getByRole("alert")).toHaveText("wrong username or password");
  expect(new URL(page.url()).pathname).toBe("/login");
});

test("an admin signs in, sees the SSR overview, and a click calls a server function", async ({ page }) => {
  await signIn(page);
  await page.waitForURL("**/admin/db-transfer");

  // The first load is rendered by the server: the HTML itself carries the status, before any WASM runs.
  const ssr = await page.request.get("/admin/db-transfer");
  const html = await ssr.text();
  expect(html).toContain('id="transfers-state"');
  expect(html).toContain("Off: every receiver is refused");
  expect(html).toContain('data-hydrated="false"');

  await page.goto("/admin/db-transfer");
  await hydrated(page);
  await expect(page.locator("#admin-name")).toHaveText(ADMIN);
  await expect(page.locator("#engine")).toHaveText("SQLite");
  await expect(page.locator("#transfers-state")).toContainText("Off");

  // Hydrated: the click runs in the browser and calls the set-transfers-enabled server function.
  await page.locator("#toggle-transfers").click();
  await expect(page.locator("#toggle-result")).toHaveText("Saved: transfers are on.");
  await expect(page.locator("#transfers-state")).toContainText("On");

  // The server kept it.
  await page.reload();
  await expect(page.locator("#transfers-state")).toContainText("On");
  await hydrated(page);
  await page.locator("#toggle-transfers").click();
  await expect(page.locator("#toggle-result")).toHaveText("Saved: transfers are off.");

  // Sign out: the session is gone.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL("**/login");
  await page.goto("/admin/db-transfer/send");
  expect(new URL(page.url()).pathname).toBe("/login");
});
