// The Receive page, Bulk tab (issue #5): two real instances per test — a PostgreSQL sender seeded with a small
// bookshop, and a receiver — each with its own admin in their own browser; connect with a code from the Send
// page, compare, pick tables and strategies, transfer, and check what landed in the receiver's database.

import { freePort, type Instance } from "../support/instance";
import { expect, test } from "../support/fixtures";
import { seedReceiverAuthors, seedReceiverTagsAndLabels, senderTables } from "../support/seed";
import { connectionCode, enableTransfers, ReceivePage } from "../support/ui";

test.describe.configure({ timeout: 120_000 });

type Rows = (string | null)[][];

/** The receiver's authors after authors went over with overwrite: the sender's 50, and its own row 1000. */
const AUTHORS_AFTER_OVERWRITE: Rows = [
  ...Array.from({ length: 50 }, (_, i) => [String(i + 1), `Author ${i + 1}`, `a${i + 1}@example.com`]),
  ["1000", "Local only", "local@example.com"],
];

/** Numeric text compared as numbers (SQLite keeps PostgreSQL's text, but `12.50` and `12.5` are the same price). */
function priceAsNumber(rows: Rows, column: number): Rows {
  return rows.map((r) => r.map((v, i) => (i === column && v !== null ? String(Number(v)) : v)));
}

async function tableNames(instance: Instance, names: string[]): Promise<string[]> {
  const list = names.map((n) => `'${n}'`).join(", ");
  const sql =
    instance.engine === "sqlite"
      ? `SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN (${list}) ORDER BY name`
      : `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename IN (${list}) ORDER BY 1`;
  return (await instance.query(sql)).map((r) => r[0]!);
}

const BOOKS = "SELECT id, author_id, title, price, published FROM books ORDER BY id";
const REVIEWS = "SELECT id, book_id, stars, body FROM reviews ORDER BY id";

test("PostgreSQL → SQLite: compare, pick three tables with their own strategies, land exactly the sender's rows", async ({
  transferPair,
}) => {
  // The address typed without a scheme and with a trailing slash (transferPair's default).
  const { sender, receiver, receive } = await transferPair({ receiver: "sqlite", seedReceiver: seedReceiverAuthors });

  await receive.bulkTab();
  await receive.expectStatuses({ authors: "different", big_events: "new", books: "new", reviews: "new", tags: "new" });
  await expect(receive.row("authors").locator("td.sender-rows")).toHaveText("50");
  await expect(receive.row("authors").locator("td.local-rows")).toHaveText("6");
  for (const missing of ["big_events", "books", "reviews", "tags"]) {
    await expect(receive.row(missing).locator("td.local-rows"), `${missing} is missing locally`).toHaveText("—");
  }
  await expect(receive.createMissing).toBeChecked();

  await receive.choose({ authors: "overwrite", books: "skip", reviews: "merge" });
  await receive.expectPicked(["authors", "books", "reviews"], senderTables());
  await receive.start();
  await receive.expectSummary("Transfer finished");

  await receive.expectProgress("authors", { state: "done", rows: "50 / 50", created: 45, updated: 5, skipped: 0, errors: 0 });
  await receive.expectProgress("books", { state: "done", rows: "300 / 300", created: 300, updated: 0, errors: 0 });
  await receive.expectProgress("reviews", { state: "done", rows: "1000 / 1000", created: 1000, updated: 0, errors: 0 });
  for (const untouched of ["big_events", "tags"]) {
    await expect(receive.progress(untouched), `${untouched} was not transferred`).toHaveCount(0);
  }

  // Exactly the sender's rows, the receiver's own row 1000 kept.
  expect(await receiver.query("SELECT id, name, email FROM authors ORDER BY id")).toEqual(AUTHORS_AFTER_OVERWRITE);
  const senderBooks = await sender.query(BOOKS);
  const receiverBooks = await receiver.query(BOOKS);
  expect(receiverBooks).toHaveLength(300);
  expect(priceAsNumber(receiverBooks, 3)).toEqual(priceAsNumber(senderBooks, 3));
  // docs/types.md: numeric lands as PostgreSQL's exact text (trailing zeros kept), date as ISO text.
  expect(receiverBooks.slice(0, 4).map((r) => [r[3], r[4]])).toEqual(senderBooks.slice(0, 4).map((r) => [r[3], r[4]]));
  const receiverReviews = await receiver.query(REVIEWS);
  expect(receiverReviews).toHaveLength(1000);
  expect(receiverReviews).toEqual(await sender.query(REVIEWS));
  // Unpicked tables were not created.
  expect(await tableNames(receiver, ["big_events", "tags"])).toEqual([]);
  // The comparison is redone for what was transferred: equal counts now (content is not compared across
  // engines), authors still differ by the receiver's own row.
  await receive.expectStatuses({ authors: "different", big_events: "new", books: "same", reviews: "same", tags: "new" });
  await expect(receive.row("books").locator("td.local-rows")).toHaveText("300");
  // The transfer is in this site's history, counted by its own imports.
  const latest = receive.page.locator("#history tr.history-row").first();
  await expect(latest.locator("td.outcome")).toContainText("finished");
  await expect(latest.locator("td.rows")).toHaveText("1350");
  await expect(latest).toContainText("authors (overwrite), books (skip), reviews (merge)");
  await expect(latest).toContainText(`http://127.0.0.1:${sender.port}`);
});

test("PostgreSQL → PostgreSQL: identical tables are 'same', equal counts with other content 'different', and overwrite makes them equal", async ({
  transferPair,
}) => {
  const tables = senderTables({ labels: true });
  const { sender, receiver, receive } = await transferPair({
    receiver: "postgres",
    seed: { labels: true },
    seedReceiver: async (r) => {
      await seedReceiverAuthors(r);
      await seedReceiverTagsAndLabels(r);
    },
  });

  await receive.bulkTab();
  await receive.expectStatuses({
    authors: "different",
    big_events: "new",
    books: "new",
    labels: "different",
    reviews: "new",
    tags: "same",
  });
  await expect(receive.row("labels").locator("td.sender-rows")).toHaveText("3");
  await expect(receive.row("labels").locator("td.local-rows")).toHaveText("3");

  // The selection buttons and the default strategy.
  await receive.page.locator("#select-changed").click();
  await receive.expectPicked(tables.filter((t) => t !== "tags"), tables);
  await receive.page.locator("#select-all").click();
  await receive.expectPicked(tables, tables);
  await receive.page.locator("#select-none").click();
  await receive.expectPicked([], tables);
  await receive.defaultStrategy.selectOption("merge");
  for (const t of tables) await expect(receive.strategy(t), `strategy of ${t}`).toHaveValue("merge");

  // Same columns on both sides: nothing differs in the schema comparison.
  await receive.details("authors");
  await expect(receive.columnRows).toHaveCount(3);
  await expect(receive.schemaCompare.locator("tr.column-row.differs")).toHaveCount(0);
  await expect(receive.localMissing).toBeHidden();
  await receive.bulkTab();

  await receive.choose({ authors: "overwrite", books: "skip", reviews: "merge", labels: "overwrite" });
  await receive.expectPicked(["authors", "books", "labels", "reviews"], tables);
  await receive.start();
  await receive.expectSummary("Transfer finished");

  await receive.expectProgress("authors", { state: "done", created: 45, updated: 5, skipped: 0, errors: 0 });
  await receive.expectProgress("books", { state: "done", created: 300, updated: 0, errors: 0 });
  await receive.expectProgress("reviews", { state: "done", created: 1000, updated: 0, errors: 0 });
  await receive.expectProgress("labels", { state: "done", rows: "3 / 3", created: 0, updated: 3, errors: 0 });

  // PostgreSQL → PostgreSQL is exact: every value's text is equal.
  expect(await receiver.query("SELECT id, name, email FROM authors ORDER BY id")).toEqual(AUTHORS_AFTER_OVERWRITE);
  expect(await receiver.query(BOOKS)).toEqual(await sender.query(BOOKS));
  expect(await receiver.query(REVIEWS)).toEqual(await sender.query(REVIEWS));
  const labels = "SELECT id, label FROM labels ORDER BY id";
  expect(await receiver.query(labels)).toEqual([["1", "red"], ["2", "green"], ["3", "blue"]]);
  expect(await receiver.query(labels)).toEqual(await sender.query(labels));
  const tags = "SELECT id, label FROM tags ORDER BY id";
  expect(await receiver.query(tags)).toEqual(await sender.query(tags));
  // The created tables got their foreign keys after the data (architecture.md: constraints after data).
  expect(
    await receiver.query(
      "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE 'dbt\\_%' ORDER BY 1",
    ),
  ).toEqual([["books", "authors"], ["reviews", "books"]]);
  expect(await tableNames(receiver, ["big_events"])).toEqual([]);
});

test("connecting: a wrong code, an unreachable site and a used code are refused with a clear message", async ({
  spawn,
  adminPage,
}) => {
  const [sender, receiver] = await Promise.all([spawn({ engine: "postgres" }), spawn({ engine: "sqlite" })]);
  const senderPage = await adminPage(sender);
  await enableTransfers(senderPage, sender.url);
  const code = await connectionCode(senderPage, sender.url);
  const receive = new ReceivePage(await adminPage(receiver), receiver.url);
  await receive.goto();

  // A well-formed code the sender never issued (the alphabet has no 0, 1, I, L or O).
  const wrong = code === "ZZZZ2222" ? "YYYY3333" : "ZZZZ2222";
  await receive.submit(`http://127.0.0.1:${sender.port}`, wrong);
  await expect(receive.connectError).toContainText("invalid connection code");
  await expect(receive.connectError).toHaveAttribute("role", "alert");
  await expect(receive.status).not.toContainText("Connected to");

  // Nobody listens on this port.
  await receive.submit(`127.0.0.1:${await freePort()}`, code);
  await expect(receive.connectError).toContainText("Cannot reach", { timeout: 15_000 });

  // The right code, the address with its scheme: connected, and the sender sees the receiver.
  await receive.connect(`http://127.0.0.1:${sender.port}`, code);
  await expect(senderPage.locator("tr.receiver")).toHaveCount(1);

  // The receiver introduced itself with this site's admin and project.
  await expect(senderPage.locator("tr.receiver")).toContainText("admin");
  await expect(senderPage.locator("tr.receiver")).toContainText("DB Transfer");

  await receive.disconnectButton.click();
  await expect(receive.status).not.toContainText("Connected to");
  // The socket really closed: the sender sees the receiver gone (it may come back with its resume token).
  await expect(senderPage.locator("tr.receiver")).toContainText("dropped");

  // Each code admits one receiver.
  await receive.submit(`http://127.0.0.1:${sender.port}/`, code);
  await expect(receive.connectError).toContainText("already used");
  await expect(receive.status).not.toContainText("Connected to");
});
