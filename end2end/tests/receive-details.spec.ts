// The Receive page, Details tab (issue #5): previews with row filters and pages, creating a table that is missing
// locally, and transferring one table with a filter. PostgreSQL sender, SQLite receiver.

import { expect, test } from "../support/fixtures";
import { seedReceiverAuthors } from "../support/seed";
import { range } from "../support/ui";

test.describe.configure({ timeout: 120_000 });

test("preview: all rows page by page, a key range, and a list of keys", async ({ transferPair }) => {
  const { receive } = await transferPair({ receiver: "sqlite", seed: { bigEvents: false } });

  await receive.details("books");
  await expect(receive.filterKind).toHaveValue("all");
  await expect(receive.previewRows).toHaveValue("20");

  await receive.preview({ kind: "all" }, range(1, 20));
  await expect(receive.previewPage).toHaveText("Page 1");
  await receive.previewNext.click();
  await receive.expectPreviewKeys(range(21, 40));
  await expect(receive.previewPage).toHaveText("Page 2");
  await receive.previewPrev.click();
  await receive.expectPreviewKeys(range(1, 20));
  await expect(receive.previewPage).toHaveText("Page 1");

  await receive.preview({ kind: "key_range", from: 100, to: 104 }, range(100, 104));
  await receive.preview({ kind: "keys", keys: [7, 9, 250] }, [7, 9, 250]);
});

test("a table missing locally is created empty with the sender's columns, and the comparison sees it", async ({
  transferPair,
}) => {
  const { receiver, receive } = await transferPair({ receiver: "sqlite", seed: { bigEvents: false } });

  await receive.details("reviews");
  await expect(receive.localMissing).toBeVisible();
  // Every column is missing on the local side.
  await expect(receive.columnRows).toHaveCount(4);
  for (const column of ["id", "book_id", "stars", "body"]) {
    await expect(receive.columnRow(column), `column ${column}`).toHaveClass(/(^|\s)differs(\s|$)/);
  }

  // The structure view shows what creating it will run, before it runs.
  await expect(receive.structure).toContainText('CREATE TABLE "reviews"');
  await expect(receive.structure).toContainText('"stars"');

  await receive.createTableButton.click();
  await expect(receive.createResult).toContainText("Created");
  await expect(receive.localMissing).toBeHidden();
  await expect(receive.structure).toBeHidden();

  // docs/types.md: bigint and integer become INTEGER, text stays TEXT.
  expect(await receiver.query("SELECT name, type FROM pragma_table_info('reviews') ORDER BY cid")).toEqual([
    ["id", "INTEGER"],
    ["book_id", "INTEGER"],
    ["stars", "INTEGER"],
    ["body", "TEXT"],
  ]);
  expect(await receiver.query("SELECT count(*) FROM reviews")).toEqual([["0"]]);

  // The comparison refreshes on its own: reviews exists locally now, empty.
  await receive.bulkTab();
  await expect(receive.row("reviews").locator("td.local-rows")).toHaveText("0", { timeout: 30_000 });
  await expect(receive.row("reviews").locator("td.status")).toHaveText("different", { timeout: 30_000 });
});

test("one table with a key-range filter: only those rows land, the missing table is created", async ({ transferPair }) => {
  const { sender, receiver, receive } = await transferPair({
    receiver: "sqlite",
    seed: { bigEvents: false },
    seedReceiver: seedReceiverAuthors,
  });

  // books references authors, and SQLite checks foreign keys on write: the authors go first (skip keeps the
  // receiver's own five).
  await receive.bulkTab();
  await receive.expectStatuses({ authors: "different", books: "new", reviews: "new", tags: "new" });
  await receive.choose({ authors: "skip" });
  await receive.start();
  await receive.expectSummary("Transfer finished");
  await receive.expectProgress("authors", { state: "done", created: 45, updated: 0, skipped: 5, errors: 0 });

  await receive.details("books");
  await expect(receive.localMissing).toBeVisible();
  await receive.preview({ kind: "key_range", from: 10, to: 19 }, range(10, 19));
  await receive.detailStrategy.selectOption("skip");
  await receive.transferOneButton.click();
  // The summary of the authors' transfer may still read "finished": wait for books' own row first.
  await expect(receive.progress("books").locator("td.state")).toHaveText("done", { timeout: 60_000 });
  await receive.expectSummary("Transfer finished");
  await receive.expectProgress("books", { state: "done", created: 10, updated: 0, skipped: 0, errors: 0 });

  const books = "SELECT id, author_id, title FROM books ORDER BY id";
  expect(await receiver.query(books)).toEqual(
    await sender.query("SELECT id, author_id, title FROM books WHERE id BETWEEN 10 AND 19 ORDER BY id"),
  );
  expect((await receiver.query("SELECT id FROM books ORDER BY id")).map((r) => Number(r[0]))).toEqual(range(10, 19));
  // Skip kept the receiver's own authors.
  expect(await receiver.query("SELECT count(*) FROM authors")).toEqual([["51"]]);
  expect(await receiver.query("SELECT id, name FROM authors WHERE id <= 5 OR id = 1000 ORDER BY id")).toEqual([
    ["1", "Local 1"], ["2", "Local 2"], ["3", "Local 3"], ["4", "Local 4"], ["5", "Local 5"], ["1000", "Local only"],
  ]);
});
