// The data the Receive tests move: a PostgreSQL sender with a small bookshop and one big table, and receivers
// that already hold some of it (run after the receiver started: its migrations run at start).

import type { Instance } from "./instance";

export const BIG_EVENTS_ROWS = 200_000;

export interface SenderSeed {
  /** `big_events` (200 000 rows), for the cancel and close tests. Default: true. */
  bigEvents?: boolean;
  /** `labels` (3 rows), for the PostgreSQL → PostgreSQL "different with equal counts" check. Default: false. */
  labels?: boolean;
}

/**
 * The sender (PostgreSQL):
 * - `authors` 50 rows (ids 1..50, 'Author N', 'aN@example.com');
 * - `books` 300 rows, author_id cycling over 1..50, prices with trailing zeros and some NULL, dates, some NULL;
 * - `reviews` 1000 rows, bodies with a newline, quotes and non-ASCII text, some NULL;
 * - `tags` 10 rows; optionally `big_events` and `labels`.
 * Statistics are refreshed so the sender's listed row counts are exact.
 */
export async function seedSender(sender: Instance, options: SenderSeed = {}) {
  if (sender.engine !== "postgres") throw new Error("the sender fixture is PostgreSQL");
  const { bigEvents = true, labels = false } = options;
  await sender.exec(`
    CREATE TABLE authors (id bigint PRIMARY KEY, name text NOT NULL, email text UNIQUE);
    INSERT INTO authors SELECT i, 'Author ' || i, 'a' || i || '@example.com' FROM generate_series(1, 50) i;

    CREATE TABLE books (
      id bigint PRIMARY KEY,
      author_id bigint NOT NULL REFERENCES authors(id),
      title text NOT NULL,
      price numeric(10,2),
      published date
    );
    INSERT INTO books
      SELECT i, (i - 1) % 50 + 1, 'Book ' || i,
             CASE WHEN i % 10 = 7 THEN NULL ELSE (i * 0.25)::numeric(10,2) END,
             CASE WHEN i % 25 = 3 THEN NULL ELSE DATE '2000-01-01' + i * 17 END
      FROM generate_series(1, 300) i;

    CREATE TABLE reviews (
      id bigint PRIMARY KEY,
      book_id bigint NOT NULL REFERENCES books(id),
      stars int NOT NULL,
      body text
    );
    INSERT INTO reviews
      SELECT i, (i - 1) % 300 + 1, i % 5 + 1,
             CASE WHEN i % 9 = 0 THEN NULL ELSE 'Review ' || i || E':\\nit''s “fine” ★' END
      FROM generate_series(1, 1000) i;

    CREATE TABLE tags (id int PRIMARY KEY, label text NOT NULL);
    INSERT INTO tags SELECT i, 'tag ' || i FROM generate_series(1, 10) i;
  `);
  if (bigEvents) {
    await sender.exec(`
      CREATE TABLE big_events (id bigint PRIMARY KEY, payload text NOT NULL);
      INSERT INTO big_events SELECT i, md5(i::text) FROM generate_series(1, ${BIG_EVENTS_ROWS}) i;
    `);
  }
  if (labels) {
    await sender.exec(`
      CREATE TABLE labels (id int PRIMARY KEY, label text);
      INSERT INTO labels VALUES (1, 'red'), (2, 'green'), (3, 'blue');
    `);
  }
  await sender.exec("ANALYZE");
}

/** The sender's tables in the order the Receive page lists them (by name). */
export function senderTables(options: SenderSeed = {}): string[] {
  const { bigEvents = true, labels = false } = options;
  return ["authors", ...(bigEvents ? ["big_events"] : []), "books", ...(labels ? ["labels"] : []), "reviews", "tags"];
}

/**
 * The receiver's own `authors`: ids 1..5 conflict with the sender's (names 'Local N', same emails), id 1000 exists
 * only here. 6 rows.
 */
export async function seedReceiverAuthors(receiver: Instance) {
  const ddl =
    receiver.engine === "sqlite"
      ? "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);"
      : "CREATE TABLE authors (id bigint PRIMARY KEY, name text NOT NULL, email text UNIQUE);";
  await receiver.exec(`
    ${ddl}
    INSERT INTO authors (id, name, email) VALUES
      (1, 'Local 1', 'a1@example.com'), (2, 'Local 2', 'a2@example.com'), (3, 'Local 3', 'a3@example.com'),
      (4, 'Local 4', 'a4@example.com'), (5, 'Local 5', 'a5@example.com'),
      (1000, 'Local only', 'local@example.com');
  `);
}

/** PostgreSQL receivers: `tags` identical to the sender's ("same"), and `labels` with the sender's ids and one
 * different label ("different" with equal counts). */
export async function seedReceiverTagsAndLabels(receiver: Instance) {
  if (receiver.engine !== "postgres") throw new Error("tags/labels receiver seed is for PostgreSQL");
  await receiver.exec(`
    CREATE TABLE tags (id int PRIMARY KEY, label text NOT NULL);
    INSERT INTO tags SELECT i, 'tag ' || i FROM generate_series(1, 10) i;
    CREATE TABLE labels (id int PRIMARY KEY, label text);
    INSERT INTO labels VALUES (1, 'red'), (2, 'GREEN'), (3, 'blue');
    ANALYZE;
  `);
}
