import { expect, test, type Page } from "@playwright/test";
import WebSocket from "ws";
import { ADMIN, PASSWORD } from "../playwright.config";

async function signIn(page: Page) {
  await page.goto("/login");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Username").fill(ADMIN);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/admin/db-transfer");
}

/** A scripted receiver: connects with the code, says hello, and records how its socket closes. */
function receiver(baseURL: string, code: string) {
  const url = baseURL.replace(/^http/, "ws") + "/db-transfer/websocket";
  const ws = new WebSocket(url, ["dbt.v1", `code.${code}`], { headers: { "user-agent": "scripted-receiver/1.0" } });
  const welcomed = new Promise<any>((resolve, reject) => {
    ws.on("open", () =>
      ws.send(JSON.stringify({
        type: "hello", versions: [1],
        receiver: { site_url: "https://receiver.example", project: "Shop", user_name: "Rita", user_email: "rita@example.com" },
      })),
    );
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === "welcome") resolve(m);
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.on("error", reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, welcomed, closed };
}

test("the Send page generates a code, lists a receiver live, and disconnects it for real", async ({ page, baseURL }) => {
  await signIn(page);
  // Transfers on (the overview's toggle, through its server function).
  const on = await page.request.post("/api/set-transfers-enabled", { form: { enabled: "true" } });
  expect(on.status()).toBe(200);

  await page.goto("/admin/db-transfer/send");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("#live-status")).toContainText("Connected");
  await expect(page.locator("#site-url")).toHaveText(baseURL!);
  await expect(page.locator("#no-receivers")).toBeVisible();

  await page.locator("#generate-code").click();
  const code = (await page.locator("#code").textContent())!.trim();
  expect(code).toMatch(/^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/);

  const rita = receiver(baseURL!, code);
  await rita.welcomed;
  const row = page.locator("tr.receiver");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Rita");
  await expect(row).toContainText("rita@example.com");
  await expect(row).toContainText("Shop");
  await expect(row).toContainText("127.0.0.1");
  await expect(row).toContainText("scripted-receiver/1.0");

  // The same code does not admit a second receiver.
  const again = receiver(baseURL!, code);
  await expect(again.welcomed).rejects.toThrow("refused: 409");

  await row.getByRole("button", { name: "Disconnect" }).click();
  expect(await rita.closed).toEqual({ code: 4001, reason: "the sender disconnected this receiver" });
  await expect(page.locator("tr.receiver")).toHaveCount(0);
  await expect(page.locator("#no-receivers")).toBeVisible();
});
