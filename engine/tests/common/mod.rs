//! Helpers shared by the engine's integration tests.

#![allow(dead_code)]

use engine::{Db, Tables};
use protocol::{Exclusions, Page, PageColumn, PageRequest, Position, Value, ValueKind};

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
