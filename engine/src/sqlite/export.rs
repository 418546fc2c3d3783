//! Keyset export from SQLite: by the key (primary, else unique), else by `rowid`. Each cell is read with the
//! storage class it actually has, so nothing is coerced on the way out.

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row, SqlitePool, TypeInfo, ValueRef};

use crate::error::EngineError;
use crate::keyset::{KeysetQuery, Spelling};
use protocol::ident::quote;
use protocol::request::{ExportedPage, PageRequest};
use protocol::schema::TableSchema;
use protocol::value::{Value, ValueKind};

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

/// Appends a value with the storage class that keeps it exact.
pub fn push(args: &mut SqliteArguments, v: &Value) {
    let added = match v {
        Value::Null => args.add(None::<String>),
        Value::Bool(b) => args.add(i64::from(*b)),
        Value::Int(i) => args.add(*i),
        Value::Float(f) => args.add(*f),
        Value::Text(t) => args.add(t.clone()),
        Value::Bytes(b) => args.add(b.clone()),
    };
    added.expect("SQLite accepts every value kind");
}

/// Parameters are written into the SQL in the order they are pushed, so plain `?` suffices (numbered `$N` makes
/// sqlx look every name up, quadratic for a long key list).
struct SqliteSpelling {
    args: SqliteArguments,
}

impl Spelling for SqliteSpelling {
    fn column(&self, name: &str) -> String {
        quote(name)
    }
    fn row_id(&self) -> String {
        "rowid".into()
    }
    fn param(&mut self, value: &Value, _column: Option<&str>) -> String {
        push(&mut self.args, value);
        "?".into()
    }
}

pub async fn export(pool: &SqlitePool, schema: &TableSchema, req: &PageRequest) -> Result<ExportedPage, EngineError> {
    use futures_util::TryStreamExt;
    let mut spelling = SqliteSpelling { args: SqliteArguments::default() };
    let query = KeysetQuery::build(schema, req, &mut spelling)?;
    let mut select: Vec<String> = schema.columns.iter().map(|c| quote(&c.name)).collect();
    if query.by_row_id {
        select.push("rowid".into());
    }
    let sql = query.sql(&select, &quote(&schema.name));
    let ncols = schema.columns.len();
    let mut page = query.collector();
    let mut fetched = sqlx::query_with(sqlx::AssertSqlSafe(sql), spelling.args).fetch(pool);
    while let Some(row) = fetched.try_next().await? {
        let values =
            schema.columns.iter().enumerate().map(|(i, c)| decode(&row, i, c.kind)).collect::<Result<Vec<_>, _>>()?;
        let row_id = if query.by_row_id { Some(Value::Int(row.try_get::<i64, _>(ncols)?)) } else { None };
        if !page.push(values, row_id) {
            break;
        }
    }
    drop(fetched);
    Ok(query.finish(schema, page))
}
