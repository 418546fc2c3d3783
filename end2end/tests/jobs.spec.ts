// Background jobs (issue #6): "Run on the server" hands the Receive page's sender session to the receiving
// server, which goes on after the tab closes; the Jobs page follows jobs live, starts one with a code, cancels
// and retries. Real instances, real Chromium, rows checked in the receiver's database.

import { expect, test } from "../support/fixtures";
import { BIG_EVENTS_ROWS, seedSender } from "../support/seed";
import { connectionCode, enableTransfers, hydrated } from "../support/ui";

test.describe.configure({ timeout: 180_000 });

const BOOKS = "SELECT id, author_id, title, price, published FROM books ORDER BY id";
const EVENTS = "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM big_events";

test("Run on the server: the job goes on after the tab closes and lands exactly the sender's rows", async ({
  transferPair,
  adminPage,
}) => {
  const { sender, receiver, receive } = await transferPair({ receiver: "postgres" });
  await receive.bulkTab();
  await receive.choose({ big_events: "skip", books: "skip", authors: "skip" });
  await receive.page.locator("#run-on-server").click();
  await expect(receive.page).toHaveURL(/\/admin\/db-transfer\/jobs#job-\d+$/);
  await expect(receive.page.locator("article.job")).toHaveCount(1);
  await receive.page.close();

  // Another tab, later: the job is there and ends on its own; the page follows it without a reload.
  const jobs = await adminPage(receiver);
  await jobs.goto(`${receiver.url}/admin/db-transfer/jobs`);
  await hydrated(jobs);
  const card = jobs.locator("article.job");
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute("data-state", "finished", { timeout: 120_000 });
  const rows = (table: string) => card.locator(`tr.job-table[data-table="${table}"] td.rows`);
  await expect(rows("authors")).toHaveAttribute("data-rows", "50");
  await expect(rows("books")).toHaveAttribute("data-rows", "300");
  await expect(rows("big_events")).toHaveAttribute("data-rows", String(BIG_EVENTS_ROWS));
  // Parents before children, whatever order they were picked in.
  const order = await card.locator("tr.job-table").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-table")));
  expect(order.indexOf("authors"), `${order}`).toBeLessThan(order.indexOf("books"));

  expect(await receiver.query(BOOKS)).toEqual(await sender.query(BOOKS));
  expect(await receiver.query(EVENTS)).toEqual([[String(BIG_EVENTS_ROWS), String(BIG_EVENTS_ROWS), "1", String(BIG_EVENTS_ROWS)]]);
});

test("Jobs page: start with a code, cancel between pages, retry with a new code to the exact end", async ({ spawn, adminPage }) => {
  const [sender, receiver] = await Promise.all([spawn({ engine: "postgres" }), spawn({ engine: "sqlite" })]);
  await seedSender(sender);
  const senderPage = await adminPage(sender);
  await enableTransfers(senderPage, sender.url);

  const page = await adminPage(receiver);
  await page.goto(`${receiver.url}/admin/db-transfer/jobs`);
  await hydrated(page);
  await expect(page.locator("#no-jobs")).toBeVisible();
  await page.locator("details.new-job summary").click();
  const form = page.locator("form#new-job");
  await form.locator("input[name=url]").fill(`127.0.0.1:${sender.port}`);
  await form.locator("input[name=code]").fill(await connectionCode(senderPage, sender.url));
  await form.locator("input[name=tables]").fill("big_events");
  await form.locator("input[name=page-rows]").fill("200");
  await form.locator("button[type=submit]").click();
  await expect(form.locator(".ok")).toContainText("queued");

  const card = page.locator("article.job");
  await expect(card).toHaveAttribute("data-state", "running", { timeout: 30_000 });
  const events = card.locator('tr.job-table[data-table="big_events"] td.rows');
  await expect.poll(async () => Number(await events.getAttribute("data-rows")), { timeout: 30_000 }).toBeGreaterThan(0);
  await card.locator("button.cancel-job").click();
  await expect(card).toHaveAttribute("data-state", "cancelled", { timeout: 30_000 });
  const landed = Number(await events.getAttribute("data-rows"));
  expect(landed).toBeLessThan(BIG_EVENTS_ROWS);
  expect(await receiver.query("SELECT count(*) FROM big_events")).toEqual([[String(landed)]]);

  // A cancelled job forgot its session: retry with a new code; it continues after the last committed page.
  await card.locator("input.retry-code").fill(await connectionCode(senderPage, sender.url));
  await card.locator("button.retry-job").click();
  await expect(card).toHaveAttribute("data-state", "finished", { timeout: 120_000 });
  await expect(events).toHaveAttribute("data-rows", String(BIG_EVENTS_ROWS));
  await expect(card.locator('tr.job-table[data-table="big_events"] td.errors')).toHaveAttribute("data-errors", "0");
  expect(await receiver.query(EVENTS)).toEqual([[String(BIG_EVENTS_ROWS), String(BIG_EVENTS_ROWS), "1", String(BIG_EVENTS_ROWS)]]);
});
