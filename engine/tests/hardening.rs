//! Issue 12's data-loss holes, each on real databases: names that PostgreSQL would resolve to its catalog,
//! unique keys over nullable columns, keyless partitioned tables, sequences behind an append, connections left
//! in a failed COPY, pages cut by bytes, foreign keys onto the receiver's own tables, cursor literals with
//! `standard_conforming_strings` off, and wrongly typed key filters.

mod common;

use appdata::testing::{ENGINES, TestDb};
use common::*;
use engine::{Db, EngineError, EngineKind, Tables};
use protocol::{PageRequest, Position, RowFilter, Strategy, Value};

fn pg(db: &Db) -> &sqlx::PgPool {
    let Db::Postgres(pool) = db else { panic!("a PostgreSQL test database") };
    pool
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pg(db))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of a table through ordinary pages of `limit` rows, with how many pages it took.
async fn walk(t: &Tables, table: &str, limit: u32) -> (Vec<Vec<Value>>, usize) {
    let (mut rows, mut pages) = (Vec::new(), 0);
    let mut req = PageRequest::first(limit);
    loop {
        let page = t.export_records(table, &req).await.unwrap();
        pages += 1;
        rows.extend(page.page.rows);
        match page.next {
            Some(cursor) => req.position = Position::After(cursor),
            None => return (rows, pages),
        }
    }
}

/// Every page of a table through binary COPY pages of `limit` rows: (rows per page, pages).
async fn walk_binary(t: &Tables, table: &str, limit: u32) -> Vec<(Vec<u8>, usize)> {
    let schema = t.get_schema(table).await.unwrap();
    let mut pages = Vec::new();
    let mut req = PageRequest::first(limit);
    loop {
        let page = t.export_binary_copy_with(&schema, &req).await.unwrap();
        pages.push((page.data, page.rows));
        match page.next {
            Some(cursor) => req.position = Position::After(cursor),
            None => return pages,
        }
    }
}

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<String> {
    let mut out: Vec<String> = rows.drain(..).map(|r| format!("{r:?}")).collect();
    out.sort();
    out
}

/// Item 1: a user table named like a system catalog is counted, read, created, staged into and written as
/// itself — never PostgreSQL's `pg_catalog` relation of that name — on both sides and on every import path.
#[tokio::test]
async fn tables_named_like_system_catalogs_are_the_users_own_on_every_path() {
    let (sender, receiver) = (TestDb::new(EngineKind::Postgres).await, TestDb::new(EngineKind::Postgres).await);
    for name in ["pg_description", "pg_authid"] {
        exec(&sender.db, &format!("CREATE TABLE public.{name} (id integer PRIMARY KEY, note text)")).await;
        exec(&sender.db, &format!("INSERT INTO public.{name} SELECT g, 'row ' || g FROM generate_series(1, 7) g"))
            .await;
    }
    let catalog = |db: &'static str| format!("SELECT count(*) FROM pg_catalog.{db}");
    let before_description = scalar(&receiver.db, &catalog("pg_description")).await;
    let before_authid = scalar(&receiver.db, &catalog("pg_authid")).await;
    let (s, r) = (tables(&sender.db), tables(&receiver.db));

    for name in ["pg_description", "pg_authid"] {
        assert_eq!(s.get_count(name).await.unwrap(), 7, "{name}: the user's table is counted, not the catalog");
        let (rows, _) = walk(&s, name, 3).await;
        assert_eq!(rows.len(), 7, "{name}: the user's rows are served");
        assert_eq!(s.checksum(name).await.unwrap().1, 7);
        let schema = s.get_schema(name).await.unwrap();
        assert_eq!(schema.columns.len(), 2, "{name}: the user's columns, not the catalog's");

        // Create on the receiver, then every import path: direct COPY, staging (rows exist), binary COPY.
        r.create_table(&schema).await.unwrap();
        let first = s.export_records(name, &PageRequest::first(4)).await.unwrap();
        assert_eq!(r.import_records(name, &first.page, Strategy::Skip).await.unwrap().created, 4);
        let again = r.import_records(name, &first.page, Strategy::Overwrite).await.unwrap();
        assert_eq!((again.created, again.updated), (0, 4), "{name}: staged through the receiver's temporary table");
        let plan = r.prepare_binary_copy(name, &schema, Strategy::Skip).await.unwrap().expect("same columns and types");
        for (data, rows) in walk_binary(&s, name, 3).await {
            r.import_binary_copy(&plan, &data, rows, None).await.unwrap().expect("the page imports");
        }
        r.create_constraints_after_data(&schema).await.unwrap();
        assert_eq!(scalar(&receiver.db, &format!("SELECT count(*) FROM public.{name}")).await, 7);
        assert_eq!(walk(&r, name, 100).await.0, walk(&s, name, 100).await.0, "{name}: equal rows");
    }
    assert_eq!(scalar(&receiver.db, &catalog("pg_description")).await, before_description, "the catalog is untouched");
    assert_eq!(scalar(&receiver.db, &catalog("pg_authid")).await, before_authid, "no role was created");
}

/// Item 2: rows whose nullable unique key is NULL are walked (by row id, as a keyless table is) and land,
/// on both engines, and the import says why it appended.
#[tokio::test]
async fn a_unique_constraint_over_a_nullable_column_is_no_key() {
    for kind in ENGINES {
        let (src, dst) = (TestDb::new(kind).await, TestDb::new(kind).await);
        for db in [&src.db, &dst.db] {
            exec(db, "CREATE TABLE people (email TEXT, name TEXT NOT NULL, CONSTRAINT people_email UNIQUE (email))")
                .await;
        }
        exec(
            &src.db,
            "INSERT INTO people VALUES ('a@x', 'A'), (NULL, 'B'), ('c@x', 'C'), (NULL, 'D'), ('e@x', 'E'), (NULL, 'F'), ('g@x', 'G')",
        )
        .await;
        let (s, d) = (tables(&src.db), tables(&dst.db));
        let (rows, pages) = walk(&s, "people", 2).await;
        assert_eq!(rows.len(), 7, "{kind:?}: every row, NULL keys included");
        assert_eq!(pages, 4);
        let page = s.export_records("people", &PageRequest::first(100)).await.unwrap().page;
        let result = d.import_records("people", &page, Strategy::Skip).await.unwrap();
        assert_eq!(result.created, 7, "{kind:?}");
        assert!(
            result
                .notes
                .iter()
                .any(|n| n.contains("allow NULLs") && (kind == EngineKind::Sqlite || n.contains("people_email"))),
            "{kind:?}: the note says why: {:?}",
            result.notes
        );
        assert_eq!(sorted(walk(&d, "people", 3).await.0), sorted(rows));
        // A key filter still finds rows by the unique column.
        let filtered = s
            .export_records(
                "people",
                &PageRequest { filter: RowFilter::Keys(vec![vec![text("c@x")]]), ..PageRequest::first(10) },
            )
            .await
            .unwrap();
        assert_eq!(filtered.page.rows, vec![vec![text("c@x"), text("C")]]);
    }
}

/// Item 2 on SQLite's quirk: a rowid table's non-integer primary key may hold NULLs; such rows are walked too.
#[tokio::test]
async fn sqlite_primary_keys_that_hold_nulls_are_walked_by_rowid() {
    let test = TestDb::new(EngineKind::Sqlite).await;
    exec(&test.db, "CREATE TABLE codes (code TEXT PRIMARY KEY, v INTEGER)").await;
    exec(&test.db, "INSERT INTO codes VALUES ('b', 1), (NULL, 2), ('a', 3), (NULL, 4)").await;
    exec(&test.db, "CREATE TABLE strict_codes (code TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID").await;
    exec(&test.db, "INSERT INTO strict_codes VALUES ('b', 1), ('a', 3)").await;
    let t = tables(&test.db);
    assert_eq!(walk(&t, "codes", 1).await.0.len(), 4);
    assert_eq!(
        walk(&t, "strict_codes", 1).await.0,
        vec![vec![text("a"), int(3)], vec![text("b"), int(1)]],
        "key order"
    );
}

/// Item 3: a keyless partitioned table is walked partition by partition: every row once, whatever the page
/// size; partitions are not offered or found on their own; a cursor naming another relation is refused.
#[tokio::test]
async fn keyless_partitioned_tables_lose_no_rows_at_page_boundaries() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(
        &test.db,
        "CREATE TABLE events (at date NOT NULL, note text) PARTITION BY RANGE (at);
         CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
             PARTITION BY RANGE (at);
         CREATE TABLE events_2025_h1 PARTITION OF events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
         CREATE TABLE events_2025_h2 PARTITION OF events_2025 FOR VALUES FROM ('2025-07-01') TO ('2026-01-01');
         CREATE TABLE events_empty PARTITION OF events FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
         INSERT INTO events SELECT date '2024-01-01' + (g % 700), 'n' || g FROM generate_series(1, 1000) g;
         CREATE TABLE victim (secret text); INSERT INTO victim VALUES ('s');",
    )
    .await;
    let t = tables(&test.db);
    let expected: Vec<Vec<Value>> = sqlx::query_as::<_, (String, String)>("SELECT at::text, note FROM events")
        .fetch_all(pg(&test.db))
        .await
        .unwrap()
        .into_iter()
        .map(|(a, n)| vec![text(&a), text(&n)])
        .collect();
    for limit in [1, 7, 333, 1000, 5000] {
        let (rows, _) = walk(&t, "events", limit).await;
        assert_eq!(rows.len(), 1000, "pages of {limit}");
        assert_eq!(sorted(rows), sorted(expected.clone()), "pages of {limit}: each row exactly once");
    }
    assert_eq!(t.checksum("events").await.unwrap().1, 1000);
    let listed: Vec<String> = t.list_tables().await.unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(listed, vec!["events".to_owned(), "victim".to_owned()]);
    for partition in ["events_2024", "events_2025", "events_2025_h1"] {
        assert!(matches!(t.get_count(partition).await, Err(EngineError::TableNotFound(_))), "{partition}");
    }
    let victim_oid = scalar(&test.db, "SELECT 'victim'::regclass::oid::int8").await;
    let hostile = PageRequest {
        position: Position::After(protocol::Cursor(vec![text(&format!("{victim_oid}:(0,0)"))])),
        ..PageRequest::first(10)
    };
    let refused = t.export_records("events", &hostile).await.unwrap_err();
    assert!(refused.to_string().contains("cursor does not match"), "{refused}");
}

/// Item 3's cousin, plain inheritance: a parent's walk and count hold its own rows only (its children are tables
/// of their own, listed and transferred themselves), so no child row is sent twice or shares a parent's ctid.
#[tokio::test]
async fn inheritance_children_are_not_read_through_their_parent() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(
        &test.db,
        "CREATE TABLE parent_keyless (v text); CREATE TABLE child_keyless (extra int) INHERITS (parent_keyless);
         INSERT INTO parent_keyless SELECT 'p' || g FROM generate_series(1, 30) g;
         INSERT INTO child_keyless SELECT 'c' || g, g FROM generate_series(1, 30) g;
         CREATE TABLE parent_keyed (id int PRIMARY KEY, v text); CREATE TABLE child_keyed () INHERITS (parent_keyed);
         INSERT INTO parent_keyed VALUES (1, 'p1'), (2, 'p2'); INSERT INTO child_keyed VALUES (3, 'c3');",
    )
    .await;
    let t = tables(&test.db);
    for limit in [1, 7, 100] {
        let (rows, _) = walk(&t, "parent_keyless", limit).await;
        assert_eq!(sorted(rows), sorted((1..=30).map(|g| vec![text(&format!("p{g}"))]).collect()), "pages of {limit}");
        assert_eq!(walk(&t, "child_keyless", limit).await.0.len(), 30);
    }
    assert_eq!(t.get_count("parent_keyless").await.unwrap(), 30);
    assert_eq!(walk(&t, "parent_keyed", 1).await.0, vec![vec![int(1), text("p1")], vec![int(2), text("p2")]]);
    assert_eq!(t.get_count("parent_keyed").await.unwrap(), 2);
    let binary = walk_binary(&t, "parent_keyed", 1).await;
    assert_eq!(binary.iter().map(|p| p.1).sum::<usize>(), 2);
}

/// Item 5: after an import — an append above all — every sequence stands past the largest key in the table, so
/// the application's next plain INSERT works, even when the rows already there were inserted with explicit keys.
#[tokio::test]
async fn sequences_stand_past_every_key_in_the_table_after_any_import() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(
        &test.db,
        "CREATE TABLE orders (id serial PRIMARY KEY, note text);
         INSERT INTO orders (id, note) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (40, 'explicit');
         CREATE TABLE tickets (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text);
         INSERT INTO tickets (id, note) VALUES (10, 'x');",
    )
    .await;
    let t = tables(&test.db);
    let columns = [("id", protocol::ValueKind::Int), ("note", protocol::ValueKind::Text)];
    let incoming =
        page(&columns, vec![vec![int(1), text("new 1")], vec![int(2), text("new 2")], vec![int(3), text("new 3")]]);
    let appended = t.import_records("orders", &incoming, Strategy::Append).await.unwrap();
    assert_eq!((appended.created, appended.errors.len()), (3, 0), "{:?}", appended.errors);
    exec(&test.db, "INSERT INTO orders (note) VALUES ('the application')").await;
    assert_eq!(scalar(&test.db, "SELECT max(id)::int8 FROM orders").await, 44, "40, then 41-43 appended, then 44");

    let skipped =
        t.import_records("tickets", &page(&columns, vec![vec![int(2), text("y")]]), Strategy::Skip).await.unwrap();
    assert_eq!(skipped.created, 1);
    exec(&test.db, "INSERT INTO tickets (note) VALUES ('the application')").await;
    assert_eq!(scalar(&test.db, "SELECT count(*) FROM tickets").await, 3);
    assert_eq!(
        scalar(&test.db, "SELECT max(id)::int8 FROM tickets").await,
        11,
        "past 10, the largest key in the table"
    );

    // A default calling a sequence nobody owns (pg_get_serial_sequence does not know it).
    exec(
        &test.db,
        "CREATE SEQUENCE free_seq; CREATE TABLE free (id integer DEFAULT nextval('free_seq') PRIMARY KEY, note text);
         INSERT INTO free VALUES (1, 'a'), (2, 'b');",
    )
    .await;
    let skipped =
        t.import_records("free", &page(&columns, vec![vec![int(5), text("e")]]), Strategy::Skip).await.unwrap();
    assert_eq!(skipped.created, 1);
    exec(&test.db, "INSERT INTO free (note) VALUES ('the application')").await;
    assert_eq!(scalar(&test.db, "SELECT max(id)::int8 FROM free").await, 6);
}

/// The same through a table prepared once (the driver's path): the sequences it resolved at prepare are moved on
/// by every page, owned or not.
#[tokio::test]
async fn prepared_tables_move_their_sequences_with_every_page() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(
        &test.db,
        "CREATE TABLE orders (id serial PRIMARY KEY, note text);
         CREATE SEQUENCE free_seq; CREATE TABLE free (id integer DEFAULT nextval('free_seq') PRIMARY KEY, note text);",
    )
    .await;
    let t = tables(&test.db);
    let columns = [("id", protocol::ValueKind::Int), ("note", protocol::ValueKind::Text)];
    for (table, pages) in [("orders", [7, 30]), ("free", [5, 9])] {
        let schema = t.get_schema(table).await.unwrap();
        let prepared = t.prepare_import(&schema, Strategy::Skip, false).await.unwrap();
        for key in pages {
            let done =
                t.import_prepared(&prepared, &page(&columns, vec![vec![int(key), text("k")]]), None).await.unwrap();
            assert_eq!(done.created, 1);
        }
        exec(&test.db, &format!("INSERT INTO {table} (note) VALUES ('the application')")).await;
        assert_eq!(
            scalar(&test.db, &format!("SELECT max(id)::int8 FROM {table}")).await,
            pages[1] + 1,
            "{table}: past the largest key of the last page"
        );
    }
}

/// Item 6: a COPY that fails (out: a cursor the key type refuses; in: bytes PostgreSQL refuses) or is dropped
/// midway leaves no
/// broken connection in the pool: afterwards every pooled connection answers, many times over.
#[tokio::test]
async fn a_failed_copy_never_poisons_the_pool() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(
        &test.db,
        "CREATE TABLE t (id integer PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g",
    )
    .await;
    let t = tables(&test.db);
    let schema = t.get_schema("t").await.unwrap();
    let plan = t.prepare_binary_copy("t", &schema, Strategy::Overwrite).await.unwrap().unwrap();
    let good = t.export_binary_copy_with(&schema, &PageRequest::first(10)).await.unwrap();
    // A structurally valid stream whose integer field has 3 bytes: PostgreSQL refuses it mid-COPY.
    let mut bad = good.data.clone();
    let tuple = 19 + 2;
    bad[tuple..tuple + 4].copy_from_slice(&3i32.to_be_bytes());
    bad.remove(tuple + 4);
    for round in 0..5 {
        let wrong = PageRequest {
            position: Position::After(protocol::Cursor(vec![text("not a number")])),
            ..PageRequest::first(100)
        };
        assert!(t.export_binary_copy_with(&schema, &wrong).await.is_err(), "round {round}");
        assert_eq!(
            t.import_binary_copy(&plan, &bad, 10, None).await.unwrap(),
            None,
            "round {round}: refused, nothing written"
        );
        // A COPY whose future is dropped midway (a receiver gone, a socket stopped): cut at 0, 1, 2… ms.
        for ms in 0..12 {
            let whole = PageRequest::first(100_000);
            let cut =
                tokio::time::timeout(std::time::Duration::from_millis(ms), t.export_binary_copy_with(&schema, &whole))
                    .await;
            if let Ok(page) = cut {
                assert_eq!(page.unwrap().rows, 5000);
            }
        }
        // Every connection the pool holds works, for every kind of statement the engine uses.
        let pool = pg(&test.db);
        let mut held = Vec::new();
        for _ in 0..pool.options().get_max_connections() {
            held.push(pool.acquire().await.unwrap());
        }
        for conn in held.iter_mut() {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut **conn).await.unwrap();
            assert_eq!(n, 5000);
        }
        drop(held);
        assert_eq!(t.get_count("t").await.unwrap(), 5000);
        assert_eq!(walk_binary(&t, "t", 2000).await.iter().map(|p| p.1).sum::<usize>(), 5000);
    }
}

/// Item 8: pages are cut by bytes as well as rows, on both formats: a table of wide rows transfers with the
/// default page size, every page under the byte budget.
#[tokio::test]
async fn wide_rows_make_short_pages_never_oversized_ones() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        exec(&test.db, "CREATE TABLE wide (id INTEGER PRIMARY KEY, body TEXT)").await;
        let body = "w".repeat(1 << 20);
        let t = tables(&test.db);
        let columns = [("id", protocol::ValueKind::Int), ("body", protocol::ValueKind::Text)];
        let rows: Vec<Vec<Value>> = (1..=20).map(|i| vec![int(i), text(&body)]).collect();
        assert_eq!(t.import_records("wide", &page(&columns, rows), Strategy::Skip).await.unwrap().created, 20);
        let mut req = PageRequest::first(20_000);
        let (mut seen, mut pages) = (0, 0);
        loop {
            let exported = t.export_records("wide", &req).await.unwrap();
            assert!(
                exported.page.encode().len() <= PageRequest::MAX_PAGE_BYTES,
                "{kind:?}: page {pages} within budget"
            );
            seen += exported.page.rows.len();
            pages += 1;
            match exported.next {
                Some(c) => req.position = Position::After(c),
                None => break,
            }
        }
        assert_eq!(seen, 20, "{kind:?}");
        assert!(pages >= 3, "{kind:?}: 20 MiB cut into pages of at most 8 MiB, got {pages}");
        if kind == EngineKind::Postgres {
            let binary = walk_binary(&t, "wide", 20_000).await;
            assert_eq!(binary.iter().map(|p| p.1).sum::<usize>(), 20);
            assert!(binary.len() >= 3 && binary.iter().all(|p| p.0.len() <= PageRequest::MAX_PAGE_BYTES + 64));
        }
    }
}

/// Item 9: a sender schema whose foreign key points at the receiver's own tables (or an excluded one) is
/// refused by name, and nothing is created.
#[tokio::test]
async fn foreign_keys_onto_the_receivers_own_tables_are_refused_by_name() {
    for kind in ENGINES {
        let (src, dst) = (TestDb::new(kind).await, TestDb::new(kind).await);
        exec(&src.db, "CREATE TABLE dbt_admins_copy (id INTEGER PRIMARY KEY)").await;
        exec(&src.db, "CREATE TABLE sneaky (id INTEGER PRIMARY KEY, admin INTEGER REFERENCES dbt_admins_copy (id))")
            .await;
        let mut schema = tables(&src.db).get_schema("sneaky").await.unwrap();
        schema.foreign_keys[0].ref_table = "dbt_admins".into();
        let d = tables(&dst.db);
        let refused = d.create_table(&schema).await.unwrap_err().to_string();
        assert!(refused.contains("\"dbt_admins\"") && refused.contains("excluded"), "{kind:?}: {refused}");
        assert!(!d.table_exists("sneaky").await.unwrap(), "{kind:?}: nothing created");
    }
}

/// Item 13: binary COPY cursors (written into the COPY's SQL as literals) hold backslashes and quotes exactly,
/// also on a database whose `standard_conforming_strings` is off.
#[tokio::test]
async fn cursor_literals_hold_with_standard_conforming_strings_off() {
    let test = TestDb::new(EngineKind::Postgres).await;
    let name = test.url.rsplit('/').next().unwrap().to_owned();
    exec(&test.db, &format!("ALTER DATABASE \"{name}\" SET standard_conforming_strings = off")).await;
    let db = Db::connect(&test.url).await.unwrap();
    exec(&db, "CREATE TABLE k (code text PRIMARY KEY, n integer)").await;
    let codes = [r"a\", r"a\'", r"b'; DROP TABLE k; --", r"c\\", "d''", r"e\x41"];
    let t = tables(&db);
    let columns = [("code", protocol::ValueKind::Text), ("n", protocol::ValueKind::Int)];
    let rows: Vec<Vec<Value>> = codes.iter().enumerate().map(|(i, c)| vec![text(c), int(i as i64)]).collect();
    assert_eq!(t.import_records("k", &page(&columns, rows), Strategy::Skip).await.unwrap().created, 6);
    let binary = walk_binary(&t, "k", 1).await;
    assert_eq!(binary.iter().map(|p| p.1).sum::<usize>(), 6, "one row per page, each cursor read back exactly");
    assert_eq!(t.get_count("k").await.unwrap(), 6);
    db.close().await;
}

/// Item 17: a key filter value of the wrong type is the caller's mistake, named with the column.
#[tokio::test]
async fn a_wrongly_typed_key_filter_is_a_bad_request_naming_the_column() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(&test.db, "CREATE TABLE items (item_id integer PRIMARY KEY, v text); INSERT INTO items VALUES (1, 'a')").await;
    let t = tables(&test.db);
    for filter in [RowFilter::KeyRange { from: Some(text("abc")), to: None }, RowFilter::Keys(vec![vec![text("1.5x")]])]
    {
        let e = t.export_records("items", &PageRequest { filter, ..PageRequest::first(10) }).await.unwrap_err();
        assert!(matches!(e, EngineError::BadRequest(_)) && e.to_string().contains("item_id"), "{e:?}");
    }
    let ok = t
        .export_records(
            "items",
            &PageRequest { filter: RowFilter::KeyRange { from: Some(int(1)), to: None }, ..PageRequest::first(10) },
        )
        .await
        .unwrap();
    assert_eq!(ok.page.rows.len(), 1);
}
