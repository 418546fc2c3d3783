//! Keyset export from PostgreSQL: `WHERE (key) > (cursor) ORDER BY key LIMIT n`, linear on any table size; tables
//! without a key are walked in `ctid` order (a TID range scan on PostgreSQL 14+; stable while the table is not
//! updated during the export, which is documented).

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::EngineError;
use crate::ident::quote;
use crate::page::{Page, PageColumn};
use crate::request::{Cursor, ExportedPage, PageRequest, Position, RowFilter};
use crate::schema::TableSchema;
use crate::value::{Value, ValueKind};

/// The text a value has as a bound parameter that SQL then casts to the column type.
pub fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bytes(b) => Some(format!("\\x{}", crate::value::hex(b))),
        other => Some(other.display()),
    }
}

fn qualified(column: &str) -> String {
    format!("src.{}", quote(column))
}

/// How a column is selected so it decodes straight into its [`Value`].
fn select_expr(name: &str, kind: ValueKind) -> String {
    let q = format!("src.{}", quote(name));
    match kind {
        ValueKind::Bool => format!("{q}::bool"),
        ValueKind::Int => format!("{q}::int8"),
        ValueKind::Float => format!("{q}::float8"),
        ValueKind::Bytes => format!("{q}::bytea"),
        _ => format!("{q}::text"),
    }
}

fn decode(row: &PgRow, i: usize, kind: ValueKind) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        ValueKind::Bool => row.try_get::<Option<bool>, _>(i)?.map_or(Value::Null, Value::Bool),
        ValueKind::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
        ValueKind::Float => row.try_get::<Option<f64>, _>(i)?.map_or(Value::Null, Value::Float),
        ValueKind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Value::Null, Value::Bytes),
        _ => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
    })
}

pub async fn export(pool: &PgPool, schema: &TableSchema, req: &PageRequest) -> Result<ExportedPage, EngineError> {
    let key_cols: Vec<String> = schema.conflict_key().map(|(k, _)| k).unwrap_or_default();
    let use_ctid = key_cols.is_empty();
    let col_type = |name: &str| schema.column(name).map(|c| c.data_type.clone()).unwrap_or_else(|| "text".into());

    let mut params: Vec<Option<String>> = Vec::new();
    let mut bind = |v: Option<String>, ty: &str| {
        params.push(v);
        format!("CAST(${} AS {ty})", params.len())
    };

    let mut select: Vec<String> = schema.columns.iter().map(|c| select_expr(&c.name, c.kind)).collect();
    if use_ctid {
        select.push("src.ctid::text".into());
    }
    let mut wheres: Vec<String> = Vec::new();
    match &req.filter {
        RowFilter::All => {}
        RowFilter::KeyRange { from, to } => {
            let [k] = key_cols.as_slice() else {
                return Err(EngineError::BadRequest("a key range needs a table with a single-column key".into()));
            };
            if let Some(from) = from {
                wheres.push(format!("{} >= {}", qualified(k), bind(param_text(from), &col_type(k))));
            }
            if let Some(to) = to {
                wheres.push(format!("{} <= {}", qualified(k), bind(param_text(to), &col_type(k))));
            }
        }
        RowFilter::Keys(keys) => {
            if key_cols.is_empty() {
                return Err(EngineError::BadRequest("a key list needs a table with a key".into()));
            }
            if keys.is_empty() {
                wheres.push("false".into());
            }
            let mut alternatives = Vec::new();
            for k in keys {
                if k.len() != key_cols.len() {
                    return Err(EngineError::BadRequest(format!(
                        "each key needs {} value(s), one per key column",
                        key_cols.len()
                    )));
                }
                let parts: Vec<String> = key_cols
                    .iter()
                    .zip(k)
                    .map(|(c, v)| format!("{} = {}", qualified(c), bind(param_text(v), &col_type(c))))
                    .collect();
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
        Position::After(Cursor(values)) if use_ctid => {
            let [v] = values.as_slice() else { return Err(EngineError::BadRequest("bad cursor".into())) };
            wheres.push(format!("src.ctid > {}", bind(param_text(v), "tid")));
        }
        Position::After(Cursor(values)) => {
            if values.len() != key_cols.len() {
                return Err(EngineError::BadRequest("the cursor does not match the table's key".into()));
            }
            let lhs: Vec<String> = key_cols.iter().map(|c| qualified(c)).collect();
            let rhs: Vec<String> = key_cols.iter().zip(values).map(|(c, v)| bind(param_text(v), &col_type(c))).collect();
            wheres.push(format!("({}) > ({})", lhs.join(", "), rhs.join(", ")));
        }
    }
    // Qualified: a bare name in ORDER BY would mean the *output* column, which is cast to text for some types
    // and would sort differently from the key comparison in WHERE.
    let order: Vec<String> =
        if use_ctid { vec!["src.ctid".into()] } else { key_cols.iter().map(|c| qualified(c)).collect() };
    let limit = req.limit.clamp(1, PageRequest::MAX_LIMIT) as i64;
    let mut sql = format!("SELECT {} FROM {} AS src", select.join(", "), quote(&schema.name));
    if !wheres.is_empty() {
        sql.push_str(&format!(" WHERE {}", wheres.join(" AND ")));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {}", order.join(", "), limit + 1));
    if let Some(n) = offset {
        sql.push_str(&format!(" OFFSET {n}"));
    }

    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in params {
        query = query.bind(p);
    }
    let rows = query.fetch_all(pool).await?;
    let has_more = rows.len() as i64 > limit;
    let ncols = schema.columns.len();
    let mut out_rows = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last_ctid = None;
    for row in rows.iter().take(limit as usize) {
        let mut values = Vec::with_capacity(ncols);
        for (i, c) in schema.columns.iter().enumerate() {
            values.push(decode(row, i, c.kind)?);
        }
        if use_ctid {
            last_ctid = Some(Value::Text(row.try_get::<String, _>(ncols)?));
        }
        out_rows.push(values);
    }
    let next = if has_more {
        Some(Cursor(if use_ctid {
            vec![last_ctid.expect("a page with more has rows")]
        } else {
            let last = out_rows.last().expect("a page with more has rows");
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
