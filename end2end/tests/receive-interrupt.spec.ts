// The Receive page when a transfer stops half-way (issue #5): cancelled by the receiver, or the sender's page
// closed. A page is one transaction, so the receiver always holds whole pages, and pages go in key order, so it
// holds exactly the first N keys. PostgreSQL sender with big_events (200 000 rows), SQLite receiver.

import type { Instance } from "../support/instance";
import { expect, slowRequests, test, type Pair } from "../support/fixtures";
import { BIG_EVENTS_ROWS } from "../support/seed";

test.describe.configure({ timeout: 120_000 });

const PAGE_ROWS = 1000;

/** Starts the transfer of big_events alone, in pages of 1000 (typed: the default is by bytes), and waits until at least one page landed. */
async function startBigEvents({ receive }: Pair) {
  await receive.bulkTab();
  await expect(receive.row("big_events").locator("td.status")).toHaveText("new", { timeout: 30_000 });
  // The default is empty: pages chosen by bytes. These tests need many small pages.
  await expect(receive.pageRows).toHaveValue("");
  await receive.pageRows.fill(String(PAGE_ROWS));
  await receive.choose({ big_events: "skip" });
  await expect(receive.createMissing).toBeChecked();
  // Keeps the 200 pages from finishing before the test can interrupt them (see slowRequests).
  await slowRequests(receive.page, 50);
  await receive.start();
  await receive.waitForDone("big_events", PAGE_ROWS);
}

/** The receiver holds whole pages only, the first keys in order, and as many rows as its progress row says. */
async function expectWholePages(receiver: Instance, done: number) {
  expect(done % PAGE_ROWS, `rows done (${done}) is whole pages`).toBe(0);
  expect(done).toBeGreaterThanOrEqual(PAGE_ROWS);
  expect(done).toBeLessThan(BIG_EVENTS_ROWS);
  const [[count, min, max]] = await receiver.query("SELECT count(*), min(id), max(id) FROM big_events");
  expect({ count: Number(count), min: Number(min), max: Number(max) }).toEqual({ count: done, min: 1, max: done });
}

test("cancel mid-transfer: whole pages stay, exactly the first keys, as many as the progress shows", async ({
  transferPair,
}) => {
  const pair = await transferPair({ receiver: "sqlite" });
  const { receiver, receive } = pair;
  await startBigEvents(pair);

  await receive.cancelButton.click();
  await receive.expectSummary("Transfer cancelled", 30_000);
  await receive.expectProgress("big_events", { state: "cancelled", errors: 0 });
  const done = await receive.done("big_events");
  await expectWholePages(receiver, done);
  const latest = receive.page.locator("#history tr.history-row").first();
  await expect(latest.locator("td.outcome")).toContainText("cancelled");
  await expect(latest.locator("td.rows")).toHaveText(String(done));
});

test("the sender's page closes mid-transfer: the receiver says the sender ended it, and holds whole pages", async ({
  transferPair,
}) => {
  const pair = await transferPair({ receiver: "sqlite" });
  const { receiver, receive, senderPage } = pair;
  await startBigEvents(pair);

  // The send session outlives its page by --send-grace-secs (1 s for these instances), then ends.
  await senderPage.close();
  await expect(receive.transferError).toBeVisible({ timeout: 15_000 });
  await expect(receive.transferError).toHaveAttribute("role", "alert");
  await expect(receive.transferError).toContainText(/sender/i);
  await expect(receive.transferError).toContainText(/closed|ended/i);
  await receive.expectSummary("Transfer failed", 15_000);
  await receive.expectProgress("big_events", { state: "failed" });
  await expectWholePages(receiver, await receive.done("big_events"));
});
