//! Helpers shared by the engine's integration tests.

#![allow(dead_code)]

use engine::{Db, Tables};
use protocol::{Exclusions, Page, PageColumn, PageRequest, Position, RowError, Strategy, Value, ValueKind};

pub use appdata::testing::exec;

pub fn tables(db: &Db) -> Tables {
    Tables::new(db.clone(), Exclusions::default())
}

/// Every row of a table, in key order, via the keyset export.
pub async fn all_rows(t: &Tables, table: &str) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    let mut req = PageRequest::first(1000);
    loop {
        let page = t.export_records(table, &req).await.unwrap();
        rows.extend(page.page.rows);
        match page.next {
            Some(cursor) => req.position = Position::After(cursor),
            None => return rows,
        }
    }
}

pub fn page(columns: &[(&str, ValueKind)], rows: Vec<Vec<Value>>) -> Page {
    Page {
        columns: columns
            .iter()
            .map(|(n, k)| PageColumn { name: (*n).into(), kind: *k, source_type: String::new() })
            .collect(),
        rows,
    }
}

pub fn int(i: i64) -> Value {
    Value::Int(i)
}
pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}
pub const NULL: Value = Value::Null;

/// Walks `table` on `from` in pages of `page_rows` and imports each into `to` (skip): rows created and every
/// refused row.
pub async fn copy_pages(from: &Tables, to: &Tables, table: &str, page_rows: u32) -> (u64, Vec<RowError>) {
    let mut req = PageRequest::first(page_rows);
    let (mut created, mut errors) = (0, Vec::new());
    loop {
        let p = from.export_records(table, &req).await.unwrap();
        let r = to.import_records(table, &p.page, Strategy::Skip).await.unwrap();
        created += r.created;
        errors.extend(r.errors);
        match p.next {
            Some(c) => req.position = Position::After(c),
            None => return (created, errors),
        }
    }
}

/// A PostgreSQL table's row count and a digest of all its rows as text: equal on two databases when they hold
/// the same rows.
pub async fn pg_fingerprint(db: &Db, table: &str) -> (i64, String) {
    let Db::Postgres(p) = db else { unreachable!() };
    let sql = format!(
        "SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM {} t",
        protocol::ident::quote(table)
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(p).await.unwrap()
}

/// `pg_dump --schema-only` of the tables matching `pattern`, without its header noise (comments, `SET`s, the
/// random `\restrict` key): how a created table is compared with the sender's.
pub fn schema_dump(url: &str, pattern: &str) -> String {
    let out = std::process::Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges", "-t", pattern, "-d", url])
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with("--")
                || l.starts_with("SET ")
                || l.starts_with("SELECT pg_catalog.set_config")
                || l.starts_with("\\restrict")
                || l.starts_with("\\unrestrict"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
