//! Hostile identifiers work without injection, excluded tables are refused by every operation, and keyset paging
//! over 100k rows returns each row exactly once (keyed tables, and tables without a key via ctid / rowid).

mod common;

use std::collections::HashSet;

use appdata::testing::{ENGINES, TestDb};
use common::*;
use engine::{EngineError, EngineKind, Tables};
use protocol::ident::quote;
use protocol::{Exclusions, PageRequest, Position, RowFilter, Strategy, Value, ValueKind};

const HOSTILE_TABLE: &str = r#"Weird "Table"; DROP TABLE victim; --"#;
const HOSTILE_COLUMNS: [&str; 5] = ["select", "Mixed Case", r#"a"b"#, "naïve 🚀", "x'); DELETE FROM victim; --"];

#[tokio::test]
async fn hostile_identifiers_round_trip_between_engines_without_touching_anything_else() {
    let mut dbs = Vec::new();
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        let cols: Vec<String> = HOSTILE_COLUMNS.iter().map(|c| format!("{} TEXT", quote(c))).collect();
        exec(&test.db, "CREATE TABLE victim (id INTEGER PRIMARY KEY)").await;
        exec(&test.db, "INSERT INTO victim VALUES (1)").await;
        exec(&test.db, &format!("CREATE TABLE {} (id INTEGER PRIMARY KEY, {})", quote(HOSTILE_TABLE), cols.join(", ")))
            .await;
        dbs.push(test);
    }
    let (sqlite, pg) = (tables(&dbs[0].db), tables(&dbs[1].db));
    let mut columns = vec![("id", ValueKind::Int)];
    columns.extend(HOSTILE_COLUMNS.iter().map(|c| (*c, ValueKind::Text)));
    let row: Vec<Value> =
        std::iter::once(int(1)).chain(HOSTILE_COLUMNS.iter().map(|c| text(&format!("v of {c}")))).collect();
    let r =
        sqlite.import_records(HOSTILE_TABLE, &page(&columns, vec![row.clone()]), Strategy::Overwrite).await.unwrap();
    assert_eq!(r.created, 1);

    let exported = sqlite.export_records(HOSTILE_TABLE, &PageRequest::first(10)).await.unwrap();
    let names: Vec<&str> = exported.page.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[1..], HOSTILE_COLUMNS, "column names come back exactly");
    for strategy in [Strategy::Skip, Strategy::Overwrite, Strategy::Merge] {
        pg.import_records(HOSTILE_TABLE, &exported.page, strategy).await.unwrap();
    }
    assert_eq!(all_rows(&pg, HOSTILE_TABLE).await, vec![row]);
    let schema = pg.get_schema(HOSTILE_TABLE).await.unwrap();
    assert_eq!(schema.name, HOSTILE_TABLE);
    for t in [&sqlite, &pg] {
        assert_eq!(t.get_count("victim").await.unwrap(), 1, "nothing injected");
        assert!(t.list_tables().await.unwrap().iter().any(|i| i.name == HOSTILE_TABLE));
    }
}

#[tokio::test]
async fn excluded_and_missing_tables_are_not_found_by_every_operation() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        exec(&test.db, "CREATE TABLE secrets (id INTEGER PRIMARY KEY, v TEXT)").await;
        exec(&test.db, "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, v TEXT)").await;
        exec(&test.db, "CREATE TABLE visible (id INTEGER PRIMARY KEY, v TEXT)").await;
        let t =
            Tables::new(test.db.clone(), Exclusions { names: vec!["secrets".into()], prefixes: vec!["audit_".into()] });
        let listed: Vec<String> = t.list_tables().await.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(listed, vec!["visible"], "{kind:?}");

        let p = page(&[("id", ValueKind::Int)], vec![vec![int(1)]]);
        for name in ["dbt_admins", "dbt_sessions", "_sqlx_migrations", "secrets", "audit_log", "missing", "", "nul\0"] {
            let not_found = |e: EngineError| matches!(e, EngineError::TableNotFound(_));
            assert!(not_found(t.get_schema(name).await.unwrap_err()), "{kind:?} schema {name:?}");
            assert!(not_found(t.get_count(name).await.unwrap_err()), "{kind:?} count {name:?}");
            assert!(
                not_found(t.export_records(name, &PageRequest::first(5)).await.unwrap_err()),
                "{kind:?} export {name:?}"
            );
            assert!(
                not_found(t.import_records(name, &p, Strategy::Skip).await.unwrap_err()),
                "{kind:?} import {name:?}"
            );
            assert!(!t.table_exists(name).await.unwrap(), "{kind:?} exists {name:?}");
        }
        assert!(t.table_exists("visible").await.unwrap());
    }
}

async fn page_through(t: &Tables, table: &str, limit: u32) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut req = PageRequest::first(limit);
    loop {
        let p = t.export_records(table, &req).await.unwrap();
        pages += 1;
        ids.extend(p.page.rows.iter().map(|r| match r[0] {
            Value::Int(i) => i,
            ref other => panic!("{other:?}"),
        }));
        assert_eq!(p.has_more, p.next.is_some());
        match p.next {
            Some(c) => req.position = Position::After(c),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn keyset_paging_over_100k_rows_returns_each_row_exactly_once() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        let fill = |table: &str| match kind {
            EngineKind::Postgres => format!(
                "INSERT INTO {table} SELECT g, md5(g::text) FROM generate_series(1, 100000) g ORDER BY random()"
            ),
            EngineKind::Sqlite => format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) INSERT INTO {table} SELECT i, hex(randomblob(8)) FROM n ORDER BY random()"
            ),
        };
        exec(&test.db, "CREATE TABLE keyed (id INTEGER PRIMARY KEY, v TEXT)").await;
        exec(&test.db, "CREATE TABLE unkeyed (id INTEGER, v TEXT)").await;
        exec(&test.db, &fill("keyed")).await;
        exec(&test.db, &fill("unkeyed")).await;
        let t = tables(&test.db);

        let (ids, pages) = page_through(&t, "keyed", 1000).await;
        assert_eq!(pages, 100, "{kind:?}");
        assert_eq!(ids, (1..=100_000).collect::<Vec<_>>(), "{kind:?}: keyed, in key order, each once");

        let (ids, _) = page_through(&t, "unkeyed", 1000).await;
        assert_eq!(ids.len(), 100_000, "{kind:?}");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 100_000, "{kind:?}: unkeyed (ctid/rowid), each once");

        // Offset paging (compatibility) and the filters.
        let mut req = PageRequest::first(10);
        req.position = Position::Offset(99_995);
        let tail = t.export_records("keyed", &req).await.unwrap();
        assert_eq!(tail.page.rows.len(), 5);
        assert!(!tail.has_more);
        req = PageRequest {
            limit: 1000,
            position: Position::Start,
            filter: RowFilter::KeyRange { from: Some(int(10)), to: Some(int(14)) },
        };
        let range = t.export_records("keyed", &req).await.unwrap();
        assert_eq!(
            range.page.rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            (10..=14).map(int).collect::<Vec<_>>()
        );
        req.filter = RowFilter::Keys(vec![vec![int(7)], vec![int(99_999)], vec![int(123_456)]]);
        let keys = t.export_records("keyed", &req).await.unwrap();
        assert_eq!(keys.page.rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), vec![int(7), int(99_999)]);
        req.filter = RowFilter::KeyRange { from: None, to: None };
        let unkeyed = t.export_records("unkeyed", &req).await.unwrap_err();
        assert!(matches!(unkeyed, EngineError::BadRequest(_)), "{kind:?}: a range needs a key");
    }
}

#[tokio::test]
async fn keys_whose_text_order_differs_from_their_value_order_page_correctly() {
    let test = TestDb::new(EngineKind::Postgres).await;
    exec(&test.db, "CREATE TABLE nk (k numeric PRIMARY KEY, d date NOT NULL)").await;
    exec(&test.db, "INSERT INTO nk SELECT g, DATE '2020-01-01' + g FROM generate_series(1, 25) g").await;
    let t = tables(&test.db);
    let mut seen = Vec::new();
    let mut req = PageRequest::first(4);
    loop {
        let p = t.export_records("nk", &req).await.unwrap();
        seen.extend(p.page.rows.iter().map(|r| r[0].clone()));
        match p.next {
            Some(c) => req.position = Position::After(c),
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).map(|i| text(&i.to_string())).collect::<Vec<_>>(), "numeric order, each once");
}
