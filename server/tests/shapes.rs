//! The table shapes that lost or misplaced rows (issue 12), through the transfer path the CLI and background jobs
//! run (`client` against a real sender socket), on every engine pair, at the CLI's default page size:
//! keyed, composite-keyed, keyless, unique-but-nullable, an FK chain, names of system catalogs and hostile
//! names, wide rows (pages cut by bytes), and on PostgreSQL a keyless partitioned table. Exact rows per table.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use appdata::testing::{ENGINES, TestDb};
use client::{Client, ClientOptions, TransferAllOptions};
use engine::{Db, EngineKind, Tables};
use protocol::Strategy;
use support::{TestApp, code, exec, spawn_app};

/// The CLI's default page size (server/src/cli.rs: no `--batch-size`, pages chosen by bytes).
const CLI_BATCH: u32 = 0;
const WIDE_ROWS: usize = 2_500;
const WIDE_BYTES: usize = 8 * 1024;

/// Every row as text (NULL as None), sorted: a multiset comparable across engines.
async fn rows(db: &Db, table: &str, columns: &[&str]) -> Vec<Vec<Option<String>>> {
    use sqlx::Row;
    let select: Vec<String> = columns.iter().map(|c| format!("CAST({} AS TEXT)", protocol::ident::quote(c))).collect();
    // Qualified on PostgreSQL: a bare `pg_description` would be the catalog's.
    let from = match db {
        Db::Postgres(_) => format!("public.{}", protocol::ident::quote(table)),
        Db::Sqlite(_) => protocol::ident::quote(table),
    };
    let sql = format!("SELECT {} FROM {from}", select.join(", "));
    let mut out: Vec<Vec<Option<String>>> = match db {
        Db::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(p)
            .await
            .map(|rs| rs.iter().map(|r| (0..r.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect()),
        Db::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(p)
            .await
            .map(|rs| rs.iter().map(|r| (0..r.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    out.sort();
    out
}

/// A client on a new code of this sender, with room for wide pages in debug builds.
async fn connect(app: &TestApp) -> Client {
    let options = ClientOptions { timeout: Duration::from_secs(60), ..ClientOptions::default() };
    Client::connect(&app.url, &code(app), options).await.unwrap()
}

const HOSTILE: &str = r#"we"ird tä ble; --"#;

/// The fixture: (table, columns) and the statements that make it on either engine.
fn fixture(kind: EngineKind) -> (Vec<(&'static str, Vec<&'static str>)>, String) {
    let h = protocol::ident::quote(HOSTILE);
    // The fixture's own SQL names the catalog-named table exactly (a bare name would be PostgreSQL's catalog).
    let ns = if kind == EngineKind::Postgres { "public" } else { "main" };
    let mut sql = format!(
        r#"CREATE TABLE keyed (id INTEGER PRIMARY KEY, note TEXT);
        CREATE TABLE composite (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, PRIMARY KEY (a, b));
        CREATE TABLE keyless (x INTEGER, y TEXT);
        CREATE TABLE nullable_unique (email TEXT, name TEXT NOT NULL, CONSTRAINT nullable_unique_email UNIQUE (email));
        CREATE TABLE child (id INTEGER PRIMARY KEY, keyed_id INTEGER NOT NULL REFERENCES keyed (id), note TEXT);
        CREATE TABLE {ns}.pg_description (id INTEGER PRIMARY KEY, note TEXT);
        CREATE TABLE {h} (id INTEGER PRIMARY KEY, "select" TEXT, "Mixed Case" TEXT);
        CREATE TABLE wide (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO nullable_unique VALUES ('a@x', 'A'), (NULL, 'B'), ('c@x', 'C'), (NULL, 'D'), ('e@x', 'E'), (NULL, 'F'), ('g@x', 'G');
        INSERT INTO {ns}.pg_description VALUES (1, 'mine'), (2, 'also mine');
        INSERT INTO {h} VALUES (1, 'from', 'x'), (2, NULL, 'y');
        "#
    );
    for i in 1..=60 {
        sql.push_str(&format!("INSERT INTO keyed VALUES ({i}, 'note {i}');"));
    }
    for i in 1..=60 {
        sql.push_str(&format!(
            "INSERT INTO child VALUES ({i}, {}, {});",
            i % 7 + 1,
            if i % 5 == 0 { "NULL".into() } else { format!("'c{i}'") }
        ));
        sql.push_str(&format!("INSERT INTO composite VALUES ({}, 'k{}', 'v{i}');", i % 4, i));
        // Keyless rows repeat: each must arrive as many times as it is there.
        sql.push_str(&format!("INSERT INTO keyless VALUES ({}, 'y{}');", i % 9, i % 3));
    }
    let mut tables = vec![
        ("keyed", vec!["id", "note"]),
        ("composite", vec!["a", "b", "v"]),
        ("keyless", vec!["x", "y"]),
        ("nullable_unique", vec!["email", "name"]),
        ("child", vec!["id", "keyed_id", "note"]),
        ("pg_description", vec!["id", "note"]),
        (HOSTILE, vec!["id", "select", "Mixed Case"]),
        ("wide", vec!["id", "body"]),
    ];
    if kind == EngineKind::Postgres {
        sql.push_str(
            "CREATE TABLE events (at date NOT NULL, note text) PARTITION BY RANGE (at);
             CREATE TABLE events_a PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
             CREATE TABLE events_b PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
             INSERT INTO events SELECT date '2024-01-01' + (g % 700), 'e' || (g % 50) FROM generate_series(1, 45000) g;",
        );
        tables.push(("events", vec!["at", "note"]));
    }
    (tables, sql)
}

async fn fill_wide(db: &Db) {
    let body = "w".repeat(WIDE_BYTES);
    for chunk in (1..=WIDE_ROWS).collect::<Vec<_>>().chunks(250) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i}, '{i}{body}')")).collect();
        exec(db, &format!("INSERT INTO wide VALUES {}", values.join(", "))).await;
    }
}

#[tokio::test]
async fn every_shape_lands_exactly_on_every_engine_pair_at_the_cli_defaults() {
    for from in ENGINES {
        let app = spawn_app(from).await;
        let (tables, sql) = fixture(from);
        exec(&app.instance.db, &sql).await;
        fill_wide(&app.instance.db).await;
        appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
        for to in ENGINES {
            let context = format!("{from:?} -> {to:?}");
            let target = TestDb::new(to).await;
            let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
            let client = connect(&app).await;
            let options = TransferAllOptions {
                tables: None,
                strategies: HashMap::new(),
                default_strategy: Strategy::Skip,
                create_missing_tables: true,
                batch_size: CLI_BATCH,
            };
            let results = client.transfer_all(&local, &options, &|_| {}).await.unwrap();
            let by_name: HashMap<&str, _> = results.iter().map(|(t, r)| (t.as_str(), r)).collect();
            assert_eq!(by_name.len(), tables.len(), "{context}: every table transferred: {:?}", by_name.keys());
            for (table, columns) in &tables {
                let result = by_name[table].as_ref().unwrap_or_else(|e| panic!("{context}: {table}: {e}"));
                assert!(result.errors.is_empty(), "{context}: {table}: {:?}", result.errors);
                let want = rows(&app.instance.db, table, columns).await;
                assert_eq!(result.created as usize, want.len(), "{context}: {table}: created counts what landed");
                assert_eq!(rows(&target.db, table, columns).await, want, "{context}: {table}: exact rows");
            }
            let wide = by_name["wide"].as_ref().unwrap();
            assert!(
                wide.pages >= 3,
                "{context}: 20 MB of rows cut by bytes into pages of at most 8 MiB: {} pages",
                wide.pages
            );
            if to == EngineKind::Postgres {
                let Db::Postgres(pool) = &target.db else { unreachable!() };
                let catalog: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM pg_catalog.pg_description WHERE objoid = 0")
                        .fetch_one(pool)
                        .await
                        .unwrap();
                assert_eq!(catalog, 0, "{context}: nothing written into the catalog");
            }
            client.disconnect().await;
        }
        app.stop().await;
    }
}

/// A binary COPY page that the receiving PostgreSQL refuses (here a CHECK the sender lacks) is redone as ordinary
/// pages — which are cut by bytes differently (uuid and timestamptz weigh more as text) — holding exactly its rows:
/// every other row lands once, the refused one is reported, nothing is skipped or repeated at the cut.
#[tokio::test]
async fn a_refused_binary_page_is_redone_with_exactly_its_rows() {
    let app = spawn_app(EngineKind::Postgres).await;
    let ddl = "CREATE TABLE docs (id uuid PRIMARY KEY, at timestamptz NOT NULL, body text NOT NULL)";
    exec(&app.instance.db, ddl).await;
    exec(
        &app.instance.db,
        "INSERT INTO docs SELECT md5(g::text)::uuid, timestamptz '2026-01-01' + g * interval '1 minute',
                CASE WHEN g = 400 THEN 'refuse me' ELSE repeat('b', 10000) END
         FROM generate_series(1, 2500) g",
    )
    .await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let target = TestDb::new(EngineKind::Postgres).await;
    exec(&target.db, &format!("{}, CHECK (body <> 'refuse me'))", ddl.trim_end_matches(')'))).await;
    let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
    let client = connect(&app).await;
    let options = client::TransferOptions { batch_size: CLI_BATCH, ..client::TransferOptions::default() };
    let result = client.transfer(&local, "docs", &options, &|_| {}).await.unwrap();
    assert_eq!((result.created, result.errors.len()), (2499, 1), "{:?}", result.errors);
    assert!(result.errors[0].reason.contains("check constraint"), "{:?}", result.errors);
    let mut want = rows(&app.instance.db, "docs", &["id", "at", "body"]).await;
    want.retain(|r| r[2].as_deref() != Some("refuse me"));
    assert_eq!(rows(&target.db, "docs", &["id", "at", "body"]).await, want, "every other row exactly once");
    client.disconnect().await;
    app.stop().await;
}
