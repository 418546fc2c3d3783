//! The PostgreSQL → PostgreSQL fast path: pages as binary COPY bytes, exported with the same keyset walk and
//! cursors as ordinary pages, imported into a target with the same column types byte-exactly; a refused row
//! leaves nothing behind (the caller redoes the page the careful way); mismatched targets are not prepared;
//! hostile bytes are refused.

mod common;

use appdata::testing::TestDb;
use common::*;
use engine::{EngineKind, Tables};
use protocol::{PageRequest, Position, Strategy};

const DDL: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE events (
  id bigint PRIMARY KEY, n integer, f double precision, t text, ts timestamptz, num numeric(12,2), jb jsonb,
  ok boolean, u uuid, b bytea, iv interval, arr int[], e mood, m money, d date
);
"#;

const ROWS: &str = r#"
INSERT INTO events
SELECT i, i % 1000 - 500, i / 7.0, CASE WHEN i % 11 = 0 THEN NULL ELSE 'event ' || i || E' \t\n "quoted" é' END,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 second', (i * 0.25)::numeric(12,2),
       jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i % 3)), i % 2 = 0,
       md5(i::text)::uuid, decode(lpad(to_hex(i), 8, '0'), 'hex'), make_interval(days => i % 40, secs => i / 3.0),
       ARRAY[i, NULL, -i], (ARRAY['sad', 'ok', 'happy'])[i % 3 + 1]::mood, (i * 1.5)::numeric::money,
       DATE '2000-01-01' + i
FROM generate_series(1, 2500) AS i;
INSERT INTO events (id) VALUES (9223372036854775807);
"#;

/// Every row as PostgreSQL's own text, in key order.
async fn text_rows(db: &engine::Db, table: &str) -> Vec<String> {
    let engine::Db::Postgres(pool) = db else { unreachable!() };
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT r::text FROM {table} AS r ORDER BY 1")))
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn pair() -> (TestDb, TestDb) {
    let (source, target) = (TestDb::new(EngineKind::Postgres).await, TestDb::new(EngineKind::Postgres).await);
    exec(&source.db, DDL).await;
    exec(&source.db, ROWS).await;
    exec(&target.db, DDL).await;
    (source, target)
}

/// Walks the whole table as binary COPY pages of `limit` rows into `target` with `strategy`.
async fn copy_all(from: &Tables, to: &Tables, table: &str, limit: u32, strategy: Strategy) -> (usize, u64, u64, u64) {
    let schema = from.get_schema(table).await.unwrap();
    let plan = to.prepare_binary_copy(table, &schema, strategy).await.unwrap().expect("same types: prepared");
    let (mut pages, mut created, mut updated, mut skipped) = (0, 0, 0, 0);
    let mut req = PageRequest::first(limit);
    loop {
        let page = from.export_binary_copy(table, &req).await.unwrap();
        let ordinary = from.export_records(table, &req).await.unwrap();
        assert_eq!(
            (page.rows, page.has_more, &page.next),
            (ordinary.page.rows.len(), ordinary.has_more, &ordinary.next),
            "same walk"
        );
        let done = to.import_binary_copy(&plan, &page.data, page.rows, None).await.unwrap().expect("imported");
        pages += 1;
        created += done.created;
        updated += done.updated;
        skipped += done.skipped;
        match page.next {
            Some(c) => req.position = Position::After(c),
            None => return (pages, created, updated, skipped),
        }
    }
}

#[tokio::test]
async fn binary_copy_pages_walk_like_ordinary_ones_and_land_byte_exact() {
    let (source, target) = pair().await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    assert_eq!(copy_all(&from, &to, "events", 1000, Strategy::Skip).await, (3, 2501, 0, 0));
    assert_eq!(text_rows(&target.db, "events").await, text_rows(&source.db, "events").await);
    assert_eq!(to.checksum("events").await.unwrap(), from.checksum("events").await.unwrap());

    // Into the full table: skip skips every row, overwrite updates every row, through the staging table.
    assert_eq!(copy_all(&from, &to, "events", 700, Strategy::Skip).await, (4, 0, 0, 2501));
    exec(&target.db, "UPDATE events SET t = 'changed' WHERE id <= 10; DELETE FROM events WHERE id > 2400").await;
    let (_, created, updated, _) = copy_all(&from, &to, "events", 700, Strategy::Overwrite).await;
    assert_eq!((created, updated), (101, 2400));
    assert_eq!(text_rows(&target.db, "events").await, text_rows(&source.db, "events").await);
}

#[tokio::test]
async fn text_and_uuid_keys_give_the_same_cursors_as_ordinary_pages() {
    let source = TestDb::new(EngineKind::Postgres).await;
    exec(
        &source.db,
        "CREATE TABLE words (w varchar(40) PRIMARY KEY, n int);
         INSERT INTO words SELECT 'wörd ''' || i, i FROM generate_series(1, 95) i;
         CREATE TABLE things (u uuid PRIMARY KEY, n int);
         INSERT INTO things SELECT md5(i::text)::uuid, i FROM generate_series(1, 95) i;",
    )
    .await;
    let t = tables(&source.db);
    for table in ["words", "things"] {
        let mut req = PageRequest::first(10);
        let mut total = 0;
        loop {
            let copy = t.export_binary_copy(table, &req).await.unwrap();
            let ordinary = t.export_records(table, &req).await.unwrap();
            assert_eq!((copy.rows, &copy.next), (ordinary.page.rows.len(), &ordinary.next), "{table}");
            total += copy.rows;
            match copy.next {
                Some(c) => req.position = Position::After(c),
                None => break,
            }
        }
        assert_eq!(total, 95, "{table}");
    }
}

#[tokio::test]
async fn a_refused_row_writes_nothing_and_mismatched_targets_are_not_prepared() {
    let (source, target) = pair().await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    exec(&target.db, "ALTER TABLE events ADD CONSTRAINT small CHECK (n < 400)").await;
    let schema = from.get_schema("events").await.unwrap();
    let plan = to.prepare_binary_copy("events", &schema, Strategy::Skip).await.unwrap().unwrap();
    let page = from.export_binary_copy("events", &PageRequest::first(1000)).await.unwrap();
    assert_eq!(to.import_binary_copy(&plan, &page.data, page.rows, None).await.unwrap(), None, "refused whole");
    assert_eq!(to.get_count("events").await.unwrap(), 0);

    // Hostile bytes: refused before PostgreSQL sees them.
    let mut lying = page.data.clone();
    lying.truncate(lying.len() - 3);
    assert!(to.import_binary_copy(&plan, &lying, page.rows, None).await.is_err());
    assert!(to.import_binary_copy(&plan, &page.data, page.rows + 1, None).await.is_err(), "row count must match");

    // Another column order is fine (COPY names the columns); another type, or SQLite, means ordinary pages.
    exec(
        &target.db,
        "CREATE TABLE narrow (id int PRIMARY KEY, n integer); CREATE TABLE swapped (n integer, id bigint PRIMARY KEY)",
    )
    .await;
    exec(&source.db, "CREATE TABLE narrow (id bigint PRIMARY KEY, n integer); CREATE TABLE swapped (id bigint PRIMARY KEY, n integer);
                      INSERT INTO swapped SELECT g, -g FROM generate_series(1, 10) g").await;
    let schema = from.get_schema("narrow").await.unwrap();
    let why = to.prepare_binary_copy("narrow", &schema, Strategy::Skip).await.unwrap().unwrap_err();
    assert_eq!(why, "column \"id\" is integer here, bigint on the sender");
    assert_eq!(copy_all(&from, &to, "swapped", 4, Strategy::Skip).await, (3, 10, 0, 0));
    assert_eq!(text_rows(&target.db, "swapped").await[0], "(-1,1)");
    let lite = TestDb::new(EngineKind::Sqlite).await;
    exec(&lite.db, "CREATE TABLE narrow (id INTEGER PRIMARY KEY, n INTEGER)").await;
    let schema = from.get_schema("narrow").await.unwrap();
    assert!(tables(&lite.db).prepare_binary_copy("narrow", &schema, Strategy::Skip).await.unwrap().is_err());
    assert!(
        tables(&lite.db).export_binary_copy("narrow", &PageRequest::first(10)).await.is_err(),
        "only PostgreSQL serves them"
    );

    // Tables without a key, or with keys of other types, are refused by the sender with the reason.
    exec(&source.db, "CREATE TABLE keyless (n int); CREATE TABLE dated (d date PRIMARY KEY)").await;
    let e = from.export_binary_copy("keyless", &PageRequest::first(10)).await.unwrap_err().to_string();
    assert!(e.contains("no key"), "{e}");
    let e = from.export_binary_copy("dated", &PageRequest::first(10)).await.unwrap_err().to_string();
    assert!(e.contains("binary COPY pages need integer, text or uuid keys"), "{e}");
}
