// The Receive page with tables of every key shape (issue #12, items 4 and 10): PostgreSQL → PostgreSQL in the
// browser asks for binary COPY pages only for what the sender can walk so, falls back to ordinary pages when the
// sender refuses them, and counts every page from what this site's import reported, never from the sender's
// page header. Real instances, real Chromium, rows checked in the receiver's database.

import { expect, test } from "../support/fixtures";
import type { Instance } from "../support/instance";
import { startRelay, type Relay, type RelayOptions } from "../support/proxy";
import { connectionCode, enableTransfers, ReceivePage } from "../support/ui";

test.describe.configure({ timeout: 120_000 });

/** Rows per page: every table takes several pages. */
const PAGE_ROWS = 100;

/**
 * One table of each shape, each over several pages:
 * - `keyed`: a bigint primary key, 450 rows;
 * - `composite_keyed`: a (varchar, int) primary key, 3 × 130 = 390 rows;
 * - `dated`: a date primary key (binary COPY pages do not walk dates), 250 rows;
 * - `keyless`: no key at all, 330 rows of which only 280 are distinct (duplicates must land as often as sent);
 * - `nullable_unique`: UNIQUE over a nullable column, 260 rows, 52 of them with that column NULL.
 */
const SHAPES: Record<string, { rows: number; select: string; check: string; expected: string[] }> = {
  keyed: {
    rows: 450,
    select: "SELECT id, label FROM keyed ORDER BY id",
    check: "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM keyed",
    expected: ["450", "450", "1", "450"],
  },
  composite_keyed: {
    rows: 390,
    select: "SELECT region, seq, qty FROM composite_keyed ORDER BY region, seq",
    check: "SELECT count(*), count(DISTINCT region || '/' || seq), sum(qty) FROM composite_keyed",
    expected: ["390", "390", String(3 * 3 * ((130 * 131) / 2))],
  },
  dated: {
    rows: 250,
    select: "SELECT day, visits FROM dated ORDER BY day",
    check: "SELECT count(*), min(day), max(day) FROM dated",
    expected: ["250", "2020-01-01", "2020-09-06"],
  },
  keyless: {
    rows: 330,
    select: "SELECT note, n FROM keyless ORDER BY n, note",
    check: "SELECT count(*), count(DISTINCT note || '/' || n) FROM keyless",
    expected: ["330", "280"],
  },
  nullable_unique: {
    rows: 260,
    select: "SELECT code, label FROM nullable_unique ORDER BY code NULLS FIRST, label",
    check: "SELECT count(*), count(code), count(*) - count(code) FROM nullable_unique",
    expected: ["260", "208", "52"],
  },
};
const TABLES = Object.keys(SHAPES).sort();

async function seedShapes(sender: Instance) {
  await sender.exec(`
    CREATE TABLE keyed (id bigint PRIMARY KEY, label text NOT NULL);
    INSERT INTO keyed SELECT i, 'keyed ' || i FROM generate_series(1, 450) i;

    CREATE TABLE composite_keyed (region varchar(20), seq int, qty int NOT NULL, PRIMARY KEY (region, seq));
    INSERT INTO composite_keyed
      SELECT r, s, s * 3 FROM unnest(ARRAY['east', 'north', 'west']) r, generate_series(1, 130) s;

    CREATE TABLE dated (day date PRIMARY KEY, visits int NOT NULL);
    INSERT INTO dated SELECT DATE '2020-01-01' + i, i * 7 FROM generate_series(0, 249) i;

    CREATE TABLE keyless (note text, n int);
    INSERT INTO keyless SELECT 'note ' || (i % 280), i % 280 FROM generate_series(1, 330) i;

    CREATE TABLE nullable_unique (code text UNIQUE, label text NOT NULL);
    INSERT INTO nullable_unique
      SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 'c' || lpad(i::text, 4, '0') END, 'row ' || i
      FROM generate_series(1, 260) i;
    ANALYZE;
  `);
}

/** A PostgreSQL sender seeded with the shapes and a receiver of `engine`, its Receive page connected, through a
 * misbehaving relay when `relay` options are given. */
async function shapesPair(
  spawn: (o: { engine: "postgres" | "sqlite" }) => Promise<Instance>,
  adminPage: (i: Instance) => Promise<import("@playwright/test").Page>,
  engine: "postgres" | "sqlite",
  relayOptions?: RelayOptions,
): Promise<{ sender: Instance; receiver: Instance; receive: ReceivePage; relay?: Relay }> {
  const [sender, receiver] = await Promise.all([spawn({ engine: "postgres" }), spawn({ engine })]);
  await seedShapes(sender);
  const relay = relayOptions ? await startRelay(sender, relayOptions) : undefined;
  const senderPage = await adminPage(sender);
  await enableTransfers(senderPage, sender.url);
  const code = await connectionCode(senderPage, sender.url);
  const receive = new ReceivePage(await adminPage(receiver), receiver.url);
  await receive.goto();
  await receive.connect(relay?.address ?? `127.0.0.1:${sender.port}/`, code);
  await receive.bulkTab();
  await receive.expectStatuses(Object.fromEntries(TABLES.map((t) => [t, "new" as const])));
  await receive.pageRows.fill(String(PAGE_ROWS));
  await receive.pageRows.blur();
  return { sender, receiver, receive, relay };
}

/** Every table is done with all its rows created, and holds exactly the sender's rows. */
async function expectEveryRowLanded(sender: Instance, receiver: Instance, receive: ReceivePage, tables: string[]) {
  for (const table of tables) {
    const { rows } = SHAPES[table];
    await receive.expectProgress(table, { state: "done", rows: `${rows} / ${rows}`, created: rows, updated: 0, skipped: 0, errors: 0 });
  }
  for (const table of tables) {
    const { select, check, expected } = SHAPES[table];
    expect(await receiver.query(check), `counts of ${table}`).toEqual([expected]);
    expect(await receiver.query(select), `rows of ${table}`).toEqual(await sender.query(select));
  }
}

/** Waits for the transfer's end and expects it finished; otherwise says what the page showed (the error and
 * every table's progress row). */
async function expectFinished(receive: ReceivePage) {
  await expect(receive.summary).toContainText(/Transfer (finished|incomplete|cancelled|failed)/, { timeout: 90_000 });
  const summary = (await receive.summary.textContent()) ?? "";
  if (!summary.includes("Transfer finished")) {
    const error = (await receive.transferError.count()) ? await receive.transferError.textContent() : "none";
    const rows = await receive.page.locator("table#progress tr.progress-row").allInnerTexts();
    throw new Error(`${summary}\n  error: ${error}\n  progress:\n    ${rows.map((r) => r.replace(/\s+/g, " ")).join("\n    ")}`);
  }
}

function notes(receive: ReceivePage) {
  return receive.summary.locator("ul.notes li");
}

test("PostgreSQL → PostgreSQL: keyed, composite-keyed, date-keyed, keyless and unique-but-nullable tables in one transfer, every row lands", async ({
  spawn,
  adminPage,
}) => {
  const { sender, receiver, receive } = await shapesPair(spawn, adminPage, "postgres");
  await receive.choose(Object.fromEntries(TABLES.map((t) => [t, "skip" as const])));
  await receive.start();
  await expectFinished(receive);
  await expect(receive.summary).toContainText(`${1680} rows`);
  for (const table of TABLES) {
    await expect(receive.progress(table).locator("td.state"), `state of ${table}`).not.toHaveText(/cancelled|failed/);
  }
  await expectEveryRowLanded(sender, receiver, receive, TABLES);

  // Binary COPY where the sender walks the table so, ordinary pages (and why) for the others.
  await expect(notes(receive)).toContainText([
    "composite_keyed: pages travelled as PostgreSQL binary COPY",
    'dated: ordinary pages: key column "day" is date; binary COPY pages need integer, text or uuid keys',
    "keyed: pages travelled as PostgreSQL binary COPY",
    'keyless: ordinary pages: table "keyless" has no key',
  ]);
  await expect(notes(receive).filter({ hasText: /^keyless: pages travelled as/ })).toHaveCount(0);
  await expect(notes(receive).filter({ hasText: /^dated: pages travelled as/ })).toHaveCount(0);

  // The history counts what the imports reported.
  const latest = receive.page.locator("#history tr.history-row").first();
  await expect(latest.locator("td.outcome")).toContainText("finished");
  await expect(latest.locator("td.rows")).toHaveText("1680");
});

test("PostgreSQL → PostgreSQL: a sender that refuses binary COPY pages, from the first page or midway, gets ordinary pages for that table and every row lands", async ({
  spawn,
  adminPage,
}) => {
  const refuse = ["keyed", "composite_keyed"];
  let compositeCopyPages = 0;
  const { sender, receiver, receive, relay } = await shapesPair(spawn, adminPage, "postgres", {
    // keyed from its first page on, composite_keyed from its third (two binary COPY pages went in before).
    refuseFetch: (f) => {
      if (f.format !== "pg_copy") return undefined;
      if (f.table === "keyed") return "binary COPY pages are switched off for keyed";
      if (f.table === "composite_keyed" && f.cursor !== null && compositeCopyPages++ >= 1) {
        return "binary COPY pages are switched off for composite_keyed";
      }
      return undefined;
    },
  });
  await receive.choose(Object.fromEntries(refuse.map((t) => [t, "skip" as const])));
  await receive.start();
  await expectFinished(receive);
  await expectEveryRowLanded(sender, receiver, receive, refuse);
  // Each table was refused once; ordinary pages from then on.
  expect(relay!.refused.map((f) => [f.table, f.cursor === null])).toEqual([
    ["composite_keyed", false],
    ["keyed", true],
  ]);
  await expect(notes(receive)).toContainText([
    "composite_keyed: the sender refused binary COPY pages (The sender answered: binary COPY pages are switched off for composite_keyed): ordinary pages from there on",
    "composite_keyed: pages travelled as PostgreSQL binary COPY",
    "keyed: the sender refused binary COPY pages (The sender answered: binary COPY pages are switched off for keyed): ordinary pages from there on",
  ]);
  await expect(notes(receive).filter({ hasText: /^keyed: pages travelled as/ })).toHaveCount(0);
});

test("a page whose header claims other rows than it holds is refused, naming both counts, and nothing of it lands", async ({
  spawn,
  adminPage,
}) => {
  // Every page header claims ten times its rows (plus one); the pages themselves are the sender's real ones. The
  // CLI refuses such a sender the same way (one driver): counts never rest on the sender's word.
  const tables = ["keyed", "keyless"];
  const { receiver, receive } = await shapesPair(spawn, adminPage, "sqlite", { pageRows: (rows) => rows * 10 + 1 });
  await receive.choose(Object.fromEntries(tables.map((t) => [t, "skip" as const])));
  await receive.start();
  await receive.expectSummary("Transfer failed", 90_000);
  await expect(receive.transferError).toContainText(/the relayed page was refused: the header said \d+ rows, the page holds \d+/);
  for (const t of tables) {
    await receive.expectProgress(t, { state: "failed" });
    const [[count]] = await receiver.query(`SELECT count(*) FROM ${t}`);
    expect(Number(count), `${t}: nothing of a lying page lands`).toBe(0);
  }
  const latest = receive.page.locator("#history tr.history-row").first();
  await expect(latest.locator("td.rows")).toHaveText("0");
});

test("PostgreSQL → PostgreSQL at the page's default size: a binary COPY page this site's PostgreSQL refuses is redone with exactly its rows", async ({
  spawn,
  adminPage,
}) => {
  // Wide rows cut pages by bytes, and a uuid or timestamptz weighs more as an ordinary page's text than as binary
  // COPY, so the ordinary pages that redo a refused binary page hold fewer rows: all of them must be fetched.
  const [sender, receiver] = await Promise.all([spawn({ engine: "postgres" }), spawn({ engine: "postgres" })]);
  const ddl = "CREATE TABLE docs (id uuid PRIMARY KEY, at timestamptz NOT NULL, body text NOT NULL";
  await sender.exec(`${ddl});
    INSERT INTO docs SELECT md5(g::text)::uuid, timestamptz '2026-01-01' + g * interval '1 minute',
      CASE WHEN g = 400 THEN 'refuse me' ELSE repeat('b', 10000) END FROM generate_series(1, 2500) g;`);
  await receiver.exec(`${ddl}, CHECK (body <> 'refuse me'));`);
  const senderPage = await adminPage(sender);
  await enableTransfers(senderPage, sender.url);
  const code = await connectionCode(senderPage, sender.url);
  const receive = new ReceivePage(await adminPage(receiver), receiver.url);
  await receive.goto();
  await receive.connect(`127.0.0.1:${sender.port}/`, code);
  await receive.bulkTab();
  await receive.choose({ docs: "skip" });
  await receive.start();
  await expect(receive.summary).toContainText(/Transfer (finished|incomplete)/, { timeout: 90_000 });
  await receive.expectProgress("docs", { state: "done", rows: "2500 / 2500", created: 2499, updated: 0, skipped: 0, errors: 1 });
  const fingerprint = "SELECT count(*), md5(string_agg(id::text || at::text || body, ',' ORDER BY id)) FROM docs WHERE body <> 'refuse me'";
  expect(await receiver.query(fingerprint)).toEqual(await sender.query(fingerprint));
});
