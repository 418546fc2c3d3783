//! Keyset export from SQLite: by the key (primary, else unique), else by `rowid`. Each cell is read with the
//! storage class it actually has, so nothing is coerced on the way out.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool, TypeInfo, ValueRef};

use crate::error::EngineError;
use crate::ident::quote;
use crate::page::{Page, PageColumn};
use crate::request::{Cursor, ExportedPage, PageRequest, Position, RowFilter};
use crate::schema::TableSchema;
use crate::value::{Value, ValueKind};

fn decode(row: &SqliteRow, i: usize, kind: ValueKind) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match class.as_str() {
        "INTEGER" => {
            let n: i64 = row.try_get_unchecked(i)?;
            match (kind, n) {
                (ValueKind::Bool, 0) => Value::Bool(false),
                (ValueKind::Bool, 1) => Value::Bool(true),
                _ => Value::Int(n),
            }
        }
        "REAL" => Value::Float(row.try_get_unchecked(i)?),
        "BLOB" => Value::Bytes(row.try_get_unchecked(i)?),
        _ => Value::Text(row.try_get_unchecked(i)?),
    })
}

/// Binds a value with the storage class that keeps it exact.
pub fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    v: &Value,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    match v {
        Value::Null => q.bind(None::<String>),
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::Int(i) => q.bind(*i),
        Value::Float(f) => q.bind(*f),
        Value::Text(t) => q.bind(t.clone()),
        Value::Bytes(b) => q.bind(b.clone()),
    }
}

pub async fn export(pool: &SqlitePool, schema: &TableSchema, req: &PageRequest) -> Result<ExportedPage, EngineError> {
    let key_cols: Vec<String> = schema.conflict_key().map(|(k, _)| k).unwrap_or_default();
    let use_rowid = key_cols.is_empty();
    let mut params: Vec<Value> = Vec::new();
    // Parameters are written into the SQL in the order they are pushed, so plain `?` suffices (numbered `$N`
    // makes sqlx look every name up, quadratic for a long key list).
    let mut ph = |v: &Value| {
        params.push(v.clone());
        "?".to_owned()
    };
    let mut select: Vec<String> = schema.columns.iter().map(|c| quote(&c.name)).collect();
    if use_rowid {
        select.push("rowid".into());
    }
    let mut wheres = Vec::new();
    match &req.filter {
        RowFilter::All => {}
        RowFilter::KeyRange { from, to } => {
            let [k] = key_cols.as_slice() else {
                return Err(EngineError::BadRequest("a key range needs a table with a single-column key".into()));
            };
            if let Some(from) = from {
                wheres.push(format!("{} >= {}", quote(k), ph(from)));
            }
            if let Some(to) = to {
                wheres.push(format!("{} <= {}", quote(k), ph(to)));
            }
        }
        RowFilter::Keys(keys) => {
            if key_cols.is_empty() {
                return Err(EngineError::BadRequest("a key list needs a table with a key".into()));
            }
            if keys.is_empty() {
                wheres.push("0".into());
            }
            let mut alternatives = Vec::new();
            for k in keys {
                if k.len() != key_cols.len() {
                    return Err(EngineError::BadRequest(format!(
                        "each key needs {} value(s), one per key column",
                        key_cols.len()
                    )));
                }
                let parts: Vec<String> = key_cols.iter().zip(k).map(|(c, v)| format!("{} = {}", quote(c), ph(v))).collect();
                alternatives.push(format!("({})", parts.join(" AND ")));
            }
            if !alternatives.is_empty() {
                wheres.push(format!("({})", alternatives.join(" OR ")));
            }
        }
    }
    let mut offset = None;
    match &req.position {
        Position::Start => {}
        Position::Offset(n) => offset = Some(*n),
        Position::After(Cursor(values)) if use_rowid => {
            let [v] = values.as_slice() else { return Err(EngineError::BadRequest("bad cursor".into())) };
            wheres.push(format!("rowid > {}", ph(v)));
        }
        Position::After(Cursor(values)) => {
            if values.len() != key_cols.len() {
                return Err(EngineError::BadRequest("the cursor does not match the table's key".into()));
            }
            let lhs: Vec<String> = key_cols.iter().map(|c| quote(c)).collect();
            let rhs: Vec<String> = values.iter().map(&mut ph).collect();
            wheres.push(format!("({}) > ({})", lhs.join(", "), rhs.join(", ")));
        }
    }
    let order: Vec<String> = if use_rowid { vec!["rowid".into()] } else { key_cols.iter().map(|c| quote(c)).collect() };
    let limit = req.limit.clamp(1, PageRequest::MAX_LIMIT) as i64;
    let mut sql = format!("SELECT {} FROM {}", select.join(", "), quote(&schema.name));
    if !wheres.is_empty() {
        sql.push_str(&format!(" WHERE {}", wheres.join(" AND ")));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {}", order.join(", "), limit + 1));
    if let Some(n) = offset {
        sql.push_str(&format!(" OFFSET {n}"));
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &params {
        query = bind(query, p);
    }
    let rows = query.fetch_all(pool).await?;
    let has_more = rows.len() as i64 > limit;
    let ncols = schema.columns.len();
    let mut out_rows = Vec::with_capacity(rows.len());
    let mut last_rowid = None;
    for row in rows.iter().take(limit as usize) {
        let mut values = Vec::with_capacity(ncols);
        for (i, c) in schema.columns.iter().enumerate() {
            values.push(decode(row, i, c.kind)?);
        }
        if use_rowid {
            last_rowid = Some(Value::Int(row.try_get::<i64, _>(ncols)?));
        }
        out_rows.push(values);
    }
    let next = if has_more {
        Some(Cursor(if use_rowid {
            vec![last_rowid.expect("rows")]
        } else {
            let last = out_rows.last().expect("rows");
            key_cols.iter().map(|k| last[schema.columns.iter().position(|c| &c.name == k).unwrap()].clone()).collect()
        }))
    } else {
        None
    };
    let columns = schema
        .columns
        .iter()
        .map(|c| PageColumn { name: c.name.clone(), kind: c.kind, source_type: c.data_type.clone() })
        .collect();
    Ok(ExportedPage { page: Page { columns, rows: out_rows }, has_more, next })
}
