//! Keyset export from PostgreSQL: `WHERE (key) > (cursor) ORDER BY key LIMIT n`, linear on any table size; tables
//! without a key are walked in `ctid` order (a TID range scan on PostgreSQL 14+; stable while the table is not
//! updated during the export, which is documented).

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::EngineError;
use crate::ident::quote;
use crate::keyset::{KeysetQuery, Spelling};
use crate::request::{ExportedPage, PageRequest};
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

/// Columns qualified by the `src` alias: a bare name in ORDER BY would mean the *output* column, which is cast to
/// text for some types and would sort differently from the key comparison in WHERE. Parameters travel as text
/// cast to the column's own type (from the local catalog, never from the request).
struct PgSpelling<'a> {
    schema: &'a TableSchema,
    params: Vec<Option<String>>,
}

impl Spelling for PgSpelling<'_> {
    fn column(&self, name: &str) -> String {
        format!("src.{}", quote(name))
    }
    fn row_id(&self) -> String {
        "src.ctid".into()
    }
    fn param(&mut self, value: &Value, column: Option<&str>) -> String {
        self.params.push(param_text(value));
        let ty = match column {
            Some(c) => self.schema.column(c).map_or("text", |c| c.data_type.as_str()),
            None => "tid",
        };
        format!("CAST(${} AS {ty})", self.params.len())
    }
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
    let mut spelling = PgSpelling { schema, params: Vec::new() };
    let query = KeysetQuery::build(schema, req, &mut spelling)?;
    let mut select: Vec<String> = schema.columns.iter().map(|c| select_expr(&c.name, c.kind)).collect();
    if query.by_row_id {
        select.push("src.ctid::text".into());
    }
    let sql = query.sql(&select, &format!("{} AS src", quote(&schema.name)));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in spelling.params {
        q = q.bind(p);
    }
    let fetched = q.fetch_all(pool).await?;
    let ncols = schema.columns.len();
    let (mut rows, mut row_ids) = (Vec::with_capacity(fetched.len()), Vec::new());
    for row in &fetched {
        rows.push(schema.columns.iter().enumerate().map(|(i, c)| decode(row, i, c.kind)).collect::<Result<Vec<_>, _>>()?);
        if query.by_row_id {
            row_ids.push(Value::Text(row.try_get::<String, _>(ncols)?));
        }
    }
    Ok(query.finish(schema, rows, row_ids))
}
