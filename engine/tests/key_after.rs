//! The primary key after the data (PostgreSQL → PostgreSQL into a table a transfer created here): while the table
//! is empty its key comes off for binary COPY pages and comes back, identical as `pg_dump --schema-only` prints
//! it, before anything needs it — the constraints after the data, an ordinary page, a refused binary page, the
//! next transfer into the table. A key another table's foreign key references stays on; rows that break the key
//! are an error naming the table.

mod common;

use appdata::testing::TestDb;
use common::*;
use engine::{Db, EngineKind, Tables};
use protocol::{PageRequest, Position, Strategy};

/// The name of `table`'s primary key here, if it has one.
async fn primary_key(db: &Db, table: &str) -> Option<String> {
    let Db::Postgres(p) = db else { unreachable!() };
    sqlx::query_scalar("SELECT conname::text FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'")
        .bind(table)
        .fetch_optional(p)
        .await
        .unwrap()
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    let Db::Postgres(p) = db else { unreachable!() };
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(p).await.unwrap()
}

async fn pair(ddl: &str) -> (TestDb, TestDb) {
    let (source, target) = (TestDb::new(EngineKind::Postgres).await, TestDb::new(EngineKind::Postgres).await);
    exec(&source.db, ddl).await;
    (source, target)
}

/// Binary COPY pages of `limit` rows of `table` from `req` on, into `prepared` (each one must go in): pages,
/// created, skipped.
async fn copy_from(
    from: &Tables,
    to: &Tables,
    prepared: &engine::tables::PreparedImport,
    table: &str,
    mut req: PageRequest,
) -> (usize, u64, u64) {
    let schema = from.get_schema(table).await.unwrap();
    let (mut pages, mut created, mut skipped) = (0, 0, 0);
    loop {
        let page = from.export_binary_copy_with(&schema, &req).await.unwrap();
        let done = to.import_prepared_copy(prepared, &page.data, page.rows, None).await.unwrap().expect("went in");
        assert!(done.errors.is_empty(), "{:?}", done.errors);
        pages += 1;
        created += done.created;
        skipped += done.skipped;
        match page.next {
            Some(c) => req.position = Position::After(c),
            None => return (pages, created, skipped),
        }
    }
}

/// The receiver's whole path for one table missing here: created, prepared for binary COPY pages (the key comes
/// off), every page, the constraints after the data (the key comes back first).
async fn transfer(from: &Tables, to: &Tables, table: &str, limit: u32) -> (usize, u64) {
    let schema = from.get_schema(table).await.unwrap();
    assert!(to.create_table(&schema).await.unwrap().notes.is_empty());
    let prepared = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(prepared.copy.is_ok(), "{:?}", prepared.copy);
    assert!(prepared.key_deferred().await, "{table}: the key comes off");
    assert_eq!(primary_key(to.db(), table).await, None, "{table}");
    let (pages, created, skipped) = copy_from(from, to, &prepared, table, PageRequest::first(limit)).await;
    assert_eq!(skipped, 0);
    assert_eq!(primary_key(to.db(), table).await, None, "{table}: off until the rows are in");
    assert!(to.create_constraints_after_data(&schema).await.unwrap().notes.is_empty());
    (pages, created)
}

const ITEMS: &str = "
CREATE TABLE items (
    id bigserial PRIMARY KEY, n int NOT NULL CHECK (n >= 0), t text, big bigserial,
    parent bigint REFERENCES items (id)
);
CREATE INDEX items_t ON items (t);
INSERT INTO items (n, t, parent) SELECT i, 'item ' || i, CASE WHEN i > 1 THEN i / 2 END FROM generate_series(1, 1000) i;
";

#[tokio::test]
async fn a_created_table_gets_its_key_back_as_pg_dump_prints_the_senders() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    assert_eq!(transfer(&from, &to, "items", 300).await, (4, 1000));
    assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"));
    assert_eq!(schema_dump(&target.url, "items"), schema_dump(&source.url, "items"));
    assert_eq!(pg_fingerprint(&target.db, "items").await, pg_fingerprint(&source.db, "items").await);
    assert!(!appdata::constraints::constraints_pending(&target.db, "items").await.unwrap());
    // The sequences stand past the data, read from the pages while the key was off.
    for sql in ["SELECT nextval('items_id_seq')", "SELECT nextval('items_big_seq')"] {
        assert_eq!(scalar(&target.db, sql).await, 1001, "{sql}");
    }
    // The key works again: a second walk skips every row, probing by the key.
    let schema = from.get_schema("items").await.unwrap();
    let again = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(!again.key_deferred().await, "a table with rows keeps its key");
    assert_eq!(copy_from(&from, &to, &again, "items", PageRequest::first(400)).await, (3, 0, 1000));
}

#[tokio::test]
async fn a_composite_key_with_its_name_and_options_comes_back_identical() {
    let (source, target) = pair(
        "CREATE TABLE pairs (a int, b text, v text,
                             CONSTRAINT pairs_key PRIMARY KEY (a, b) DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO pairs SELECT i / 10, 'b' || (i % 10), 'v' || i FROM generate_series(1, 777) i;",
    )
    .await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    assert_eq!(transfer(&from, &to, "pairs", 100).await, (8, 777));
    assert_eq!(primary_key(&target.db, "pairs").await.as_deref(), Some("pairs_key"));
    let dump = schema_dump(&source.url, "pairs");
    assert!(dump.contains("ADD CONSTRAINT pairs_key PRIMARY KEY (a, b) DEFERRABLE INITIALLY DEFERRED;"), "{dump}");
    assert_eq!(schema_dump(&target.url, "pairs"), dump);
    assert_eq!(pg_fingerprint(&target.db, "pairs").await, pg_fingerprint(&source.db, "pairs").await);
}

#[tokio::test]
async fn a_partitioned_tables_key_comes_back_on_every_partition() {
    let (source, target) = pair(
        "CREATE TABLE m (region text, id int, v text, CONSTRAINT m_key PRIMARY KEY (region, id)) PARTITION BY LIST (region);
         CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu');
         CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us');
         CREATE TABLE m_asia PARTITION OF m FOR VALUES IN ('asia') PARTITION BY HASH (id);
         CREATE TABLE m_asia_0 PARTITION OF m_asia FOR VALUES WITH (MODULUS 2, REMAINDER 0);
         CREATE TABLE m_asia_1 PARTITION OF m_asia FOR VALUES WITH (MODULUS 2, REMAINDER 1);
         INSERT INTO m SELECT (ARRAY['eu', 'us', 'asia'])[i % 3 + 1], i, 'v' || i FROM generate_series(1, 900) i;",
    )
    .await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    assert_eq!(transfer(&from, &to, "m", 250).await, (4, 900));
    let dump = schema_dump(&source.url, "m*");
    assert!(dump.contains("ALTER INDEX public.m_asia_pkey ATTACH PARTITION public.m_asia_0_pkey;"), "{dump}");
    assert_eq!(schema_dump(&target.url, "m*"), dump);
    assert_eq!(pg_fingerprint(&target.db, "m").await, pg_fingerprint(&source.db, "m").await);
}

/// A transfer stopped after its first page (no constraints after the data): the next one into the table finds
/// it without its key and puts the key back before any page, so skip matches rows on it exactly.
#[tokio::test]
async fn a_stopped_transfers_table_gets_its_key_back_before_the_next_transfers_first_page() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    to.create_table(&schema).await.unwrap();
    let first = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(first.key_deferred().await);
    let page = from.export_binary_copy_with(&schema, &PageRequest::first(300)).await.unwrap();
    let done = to.import_prepared_copy(&first, &page.data, page.rows, None).await.unwrap().unwrap();
    assert_eq!((done.created, done.skipped), (300, 0));
    drop(first);
    assert_eq!(primary_key(&target.db, "items").await, None, "stopped: still off");

    let second = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"), "back before any page");
    assert!(!second.key_deferred().await, "a table with rows keeps its key");
    // A page over the first one's keys and past them: the first 300 skipped, exactly, as binary COPY and as an
    // ordinary page.
    let page = from.export_binary_copy_with(&schema, &PageRequest::first(500)).await.unwrap();
    let done = to.import_prepared_copy(&second, &page.data, page.rows, None).await.unwrap().unwrap();
    assert_eq!((done.created, done.skipped, done.updated), (200, 300, 0));
    let ordinary = from.export_records("items", &PageRequest::first(600)).await.unwrap();
    let done = to.import_prepared(&second, &ordinary.page, None).await.unwrap();
    assert_eq!((done.created, done.skipped, done.updated), (100, 500, 0));
    let rest = PageRequest { position: Position::After(ordinary.next.unwrap()), ..PageRequest::first(300) };
    assert_eq!(copy_from(&from, &to, &second, "items", rest).await, (2, 400, 0));
    to.create_constraints_after_data(&schema).await.unwrap();
    assert_eq!(schema_dump(&target.url, "items"), schema_dump(&source.url, "items"));
    assert_eq!(pg_fingerprint(&target.db, "items").await, pg_fingerprint(&source.db, "items").await);
}

/// A binary COPY page the table refuses while its key is off brings the key back; the page's rows, redone as
/// ordinary pages from the same cursor (as the driver does), land exactly once, and the walk goes on.
#[tokio::test]
async fn a_refused_page_brings_the_key_back_and_its_redo_lands_every_row() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    to.create_table(&schema).await.unwrap();
    let prepared = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(prepared.key_deferred().await);
    let first = from.export_binary_copy_with(&schema, &PageRequest::first(250)).await.unwrap();
    assert_eq!(to.import_prepared_copy(&prepared, &first.data, first.rows, None).await.unwrap().unwrap().created, 250);

    // The second page holds a row the table refuses for now: nothing of it is written, and the key is back.
    exec(&target.db, "ALTER TABLE items ADD CONSTRAINT not_now CHECK (n <> 400)").await;
    let at = PageRequest { position: Position::After(first.next.clone().unwrap()), ..PageRequest::first(250) };
    let second = from.export_binary_copy_with(&schema, &at).await.unwrap();
    assert_eq!(to.import_prepared_copy(&prepared, &second.data, second.rows, None).await.unwrap(), None);
    assert_eq!(scalar(&target.db, "SELECT count(*) FROM items").await, 250);
    assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"));
    assert!(!prepared.key_deferred().await);
    exec(&target.db, "ALTER TABLE items DROP CONSTRAINT not_now").await;

    // The redo: ordinary pages (of another size) from the refused page's cursor, then binary pages again.
    let mut req = PageRequest { position: at.position.clone(), ..PageRequest::first(100) };
    let mut redone = 0;
    while redone < second.rows as u64 {
        let page = from.export_records("items", &req).await.unwrap();
        let done = to.import_prepared(&prepared, &page.page, None).await.unwrap();
        assert_eq!((done.skipped, done.errors.len()), (0, 0));
        redone += done.created;
        req.position = Position::After(page.next.unwrap());
    }
    assert_eq!(redone, 300, "three ordinary pages of 100 for a refused page of 250");
    let rest = PageRequest { position: req.position, ..PageRequest::first(250) };
    assert_eq!(copy_from(&from, &to, &prepared, "items", rest).await, (2, 450, 0));
    to.create_constraints_after_data(&schema).await.unwrap();
    assert_eq!(schema_dump(&target.url, "items"), schema_dump(&source.url, "items"));
    assert_eq!(pg_fingerprint(&target.db, "items").await, pg_fingerprint(&source.db, "items").await);
}

/// A key another table's foreign key references here stays on (dropping it would take the foreign key along).
#[tokio::test]
async fn a_key_a_foreign_key_references_is_not_taken_off() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    to.create_table(&schema).await.unwrap();
    exec(&target.db, "CREATE TABLE orders (id int PRIMARY KEY, item bigint REFERENCES items (id))").await;
    let prepared = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(prepared.copy.is_ok());
    assert!(!prepared.key_deferred().await);
    assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"));
    assert_eq!(copy_from(&from, &to, &prepared, "items", PageRequest::first(300)).await, (4, 1000, 0));
    to.create_constraints_after_data(&schema).await.unwrap();
    assert_eq!(schema_dump(&target.url, "items"), schema_dump(&source.url, "items"));
    assert_eq!(pg_fingerprint(&target.db, "items").await, pg_fingerprint(&source.db, "items").await);
}

/// A sender that sends a key twice while the key is off: the key cannot come back, which is an error naming the
/// table and PostgreSQL's reason; the table's constraints stay pending, nothing is silently left out.
#[tokio::test]
async fn rows_that_break_the_key_are_an_error_naming_the_table() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    to.create_table(&schema).await.unwrap();
    let prepared = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    let page = from.export_binary_copy_with(&schema, &PageRequest::first(10)).await.unwrap();
    for _ in 0..2 {
        to.import_prepared_copy(&prepared, &page.data, page.rows, None).await.unwrap().unwrap();
    }
    let e = to.create_constraints_after_data(&schema).await.unwrap_err().to_string();
    assert!(e.starts_with(r#"table "items": its primary key could not be put back after its rows"#), "{e}");
    assert!(e.contains("rows share a key (Key (id)=(") && e.contains(") is duplicated)"), "{e}");
    assert!(e.ends_with("delete the duplicated rows or drop the table, then transfer again"), "{e}");
    assert!(appdata::constraints::constraints_pending(&target.db, "items").await.unwrap());
    assert_eq!(primary_key(&target.db, "items").await, None);
    // The next transfer into it says the same before it writes anything.
    let e = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap_err().to_string();
    assert!(e.contains("is duplicated"), "{e}");
    assert_eq!(scalar(&target.db, "SELECT count(*) FROM items").await, 20);
}

#[tokio::test]
async fn a_key_with_include_columns_keeps_them_out_of_the_key() {
    // INCLUDE columns are stored in the key's index but are no key columns: read as key columns, the copy's key
    // became (a, b, v) INCLUDE (v), which matched no sender key and was never taken off.
    let (source, target) = pair(
        "CREATE TABLE covered (a int, b int, v text, PRIMARY KEY (a, b) INCLUDE (v));
         INSERT INTO covered SELECT i / 7, i % 7, 'v' || i FROM generate_series(1, 500) i;",
    )
    .await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    assert_eq!(from.get_schema("covered").await.unwrap().primary_key, ["a", "b"]);
    assert_eq!(transfer(&from, &to, "covered", 200).await, (3, 500));
    let dump = schema_dump(&source.url, "covered");
    assert!(dump.contains("PRIMARY KEY (a, b) INCLUDE (v);"), "{dump}");
    assert_eq!(schema_dump(&target.url, "covered"), dump);
    assert_eq!(pg_fingerprint(&target.db, "covered").await, pg_fingerprint(&source.db, "covered").await);
}

/// Two imports prepared into the same empty table: the first takes the key off (recorded with the table's
/// pending row, with the statement that puts it back); the second puts it back and never takes it off again, so
/// both match rows on it: overlapping pages skip exactly what is there, nothing lands twice.
#[tokio::test]
async fn two_prepares_of_one_empty_table_take_the_key_off_once() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    to.create_table(&schema).await.unwrap();
    let first = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(first.key_deferred().await);
    let pending = appdata::constraints::pending(&target.db, "items").await.unwrap().unwrap();
    assert!(pending.key_taken_off);
    assert_eq!(
        pending.primary_key_sql.as_deref(),
        Some(r#"ALTER TABLE "public"."items" ADD CONSTRAINT "items_pkey" PRIMARY KEY (id)"#)
    );
    let page = from.export_binary_copy_with(&schema, &PageRequest::first(300)).await.unwrap();
    let done = to.import_prepared_copy(&first, &page.data, page.rows, None).await.unwrap().unwrap();
    assert_eq!((done.created, done.skipped), (300, 0));

    // The second: the key comes back, from the stored statement, and stays on.
    let second = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(!second.key_deferred().await);
    assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"));
    // The first finds the key back on: its pages are probed again, the same page again is skipped, exactly.
    let done = to.import_prepared_copy(&first, &page.data, page.rows, None).await.unwrap().unwrap();
    assert_eq!((done.created, done.skipped), (0, 300));
    assert!(!first.key_deferred().await);
    assert_eq!(copy_from(&from, &to, &second, "items", PageRequest::first(400)).await, (3, 700, 300));
    assert_eq!(copy_from(&from, &to, &first, "items", PageRequest::first(250)).await, (4, 0, 1000));
    assert_eq!(scalar(&target.db, "SELECT count(*) FROM items").await, 1000);

    // A third, once the table is empty again: the key came off once, it stays on.
    to.create_constraints_after_data(&schema).await.unwrap();
    let (_, again) = pair(ITEMS).await;
    let to = tables(&again.db);
    to.create_table(&schema).await.unwrap();
    let a = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(a.key_deferred().await);
    let b = to.prepare_import(&schema, Strategy::Merge, true).await.unwrap();
    assert!(!b.key_deferred().await);
    exec(&again.db, "ALTER TABLE items DROP CONSTRAINT items_pkey").await;
    exec(&again.db, "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY (id)").await;
    let c = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    assert!(!c.key_deferred().await, "emptied and back on: the key came off once, it stays on");
    assert_eq!(primary_key(&again.db, "items").await.as_deref(), Some("items_pkey"));
    // The first's pages find it on: probed, and a page twice is skipped the second time.
    let page = from.export_binary_copy_with(&schema, &PageRequest::first(100)).await.unwrap();
    for expected in [(100, 0), (0, 100)] {
        let done = to.import_prepared_copy(&a, &page.data, page.rows, None).await.unwrap().unwrap();
        assert_eq!((done.created, done.skipped), expected);
    }
    assert_eq!(scalar(&again.db, "SELECT count(*) FROM items").await, 100);
}

/// The stored key comes back whatever the next transfer's sender says: one without a key (the next prepare puts
/// it back before any page), and the constraints after the data asked with a keyless schema (the key first, the
/// pending row removed only then).
#[tokio::test]
async fn a_keyless_next_sender_still_gets_the_stored_key_back() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    let mut keyless = schema.clone();
    keyless.primary_key.clear();
    keyless.primary_key_name = None;
    for run in ["prepare", "finish"] {
        exec(&target.db, "DROP TABLE IF EXISTS items; DELETE FROM dbt_pending_constraints").await;
        to.create_table(&schema).await.unwrap();
        let first = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
        assert!(first.key_deferred().await);
        let page = from.export_binary_copy_with(&schema, &PageRequest::first(300)).await.unwrap();
        to.import_prepared_copy(&first, &page.data, page.rows, None).await.unwrap().unwrap();
        drop(first);
        assert_eq!(primary_key(&target.db, "items").await, None, "{run}");
        if run == "prepare" {
            let next = to.prepare_import(&keyless, Strategy::Skip, false).await.unwrap();
            assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"), "{run}");
            let ordinary = from.export_records("items", &PageRequest::first(500)).await.unwrap();
            let done = to.import_prepared(&next, &ordinary.page, None).await.unwrap();
            assert_eq!((done.created, done.skipped), (200, 300));
        }
        to.create_constraints_after_data(&keyless).await.unwrap();
        assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"), "{run}");
        assert!(!appdata::constraints::constraints_pending(&target.db, "items").await.unwrap(), "{run}");
    }
}

/// A session that holds the table (a transaction left open after reading it) while the key must come back: an
/// error naming the table within seconds, not a page that hangs; once that session ends, it comes back.
#[tokio::test]
async fn a_table_held_by_another_session_is_an_error_not_a_hang() {
    let (source, target) = pair(ITEMS).await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let schema = from.get_schema("items").await.unwrap();
    to.create_table(&schema).await.unwrap();
    let prepared = to.prepare_import(&schema, Strategy::Skip, true).await.unwrap();
    let page = from.export_binary_copy_with(&schema, &PageRequest::first(300)).await.unwrap();
    to.import_prepared_copy(&prepared, &page.data, page.rows, None).await.unwrap().unwrap();
    let Db::Postgres(pool) = &target.db else { unreachable!() };
    let mut idle = pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM items").execute(&mut *idle).await.unwrap();
    let expected = r#"table "items" is in use by another session: its primary key could not be put back; try again"#;
    let started = std::time::Instant::now();
    let ordinary = from.export_records("items", &PageRequest::first(400)).await.unwrap();
    let e = to.import_prepared(&prepared, &ordinary.page, None).await.unwrap_err().to_string();
    assert!(e.contains(expected), "{e}");
    let e = to.create_constraints_after_data(&schema).await.unwrap_err().to_string();
    assert!(e.contains(expected), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(appdata::constraints::constraints_pending(&target.db, "items").await.unwrap());
    idle.rollback().await.unwrap();
    let done = to.import_prepared(&prepared, &ordinary.page, None).await.unwrap();
    assert_eq!((done.created, done.skipped), (100, 300));
    assert_eq!(primary_key(&target.db, "items").await.as_deref(), Some("items_pkey"));
}

/// A parent whose transfer stopped with its key off, then a child that references it created and finished: the
/// parent's key comes back first, from its stored statement, and the child's foreign key is made.
#[tokio::test]
async fn a_childs_foreign_key_puts_its_parents_key_back_first() {
    let (source, target) = pair(
        "CREATE TABLE parents (id bigint PRIMARY KEY, v text);
         CREATE TABLE kids (id int PRIMARY KEY, parent bigint NOT NULL REFERENCES parents (id));
         INSERT INTO parents SELECT i, 'p' || i FROM generate_series(1, 100) i;
         INSERT INTO kids SELECT i, i % 100 + 1 FROM generate_series(1, 250) i;",
    )
    .await;
    let (from, to) = (tables(&source.db), tables(&target.db));
    let parents = from.get_schema("parents").await.unwrap();
    to.create_table(&parents).await.unwrap();
    let prepared = to.prepare_import(&parents, Strategy::Skip, true).await.unwrap();
    assert!(prepared.key_deferred().await);
    let page = from.export_binary_copy_with(&parents, &PageRequest::first(100)).await.unwrap();
    assert_eq!(to.import_prepared_copy(&prepared, &page.data, page.rows, None).await.unwrap().unwrap().created, 100);
    drop(prepared);
    assert_eq!(primary_key(&target.db, "parents").await, None);

    assert_eq!(transfer(&from, &to, "kids", 100).await, (3, 250));
    assert_eq!(primary_key(&target.db, "parents").await.as_deref(), Some("parents_pkey"));
    let fks =
        scalar(&target.db, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'kids'::regclass AND contype = 'f'");
    assert_eq!(fks.await, 1);
    assert_eq!(schema_dump(&target.url, "kids"), schema_dump(&source.url, "kids"));
    to.create_constraints_after_data(&parents).await.unwrap();
    assert_eq!(schema_dump(&target.url, "parents"), schema_dump(&source.url, "parents"));
    assert_eq!(pg_fingerprint(&target.db, "kids").await, pg_fingerprint(&source.db, "kids").await);
}
