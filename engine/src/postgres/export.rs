//! Keyset export from PostgreSQL: `WHERE (key) > (cursor) ORDER BY key LIMIT n`, linear on any table size; tables
//! without a key are walked in `ctid` order (a TID range scan on PostgreSQL 14+; stable while the table is not
//! updated during the export, which is documented).

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::EngineError;
use crate::keyset::{KeysetQuery, Spelling};
use protocol::ident::quote;
use protocol::request::{ExportedPage, PageRequest};
use protocol::schema::TableSchema;
use protocol::value::{Value, ValueKind};

/// The text a value has as a bound parameter that SQL then casts to the column type.
pub fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bytes(b) => Some(format!("\\x{}", protocol::value::hex(b))),
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
pub(super) fn select_expr(name: &str, kind: ValueKind) -> String {
    let q = format!("src.{}", quote(name));
    match kind {
        ValueKind::Bool => format!("{q}::bool"),
        ValueKind::Int => format!("{q}::int8"),
        ValueKind::Float => format!("{q}::float8"),
        ValueKind::Bytes => format!("{q}::bytea"),
        _ => format!("{q}::text"),
    }
}

pub(super) fn decode(row: &PgRow, i: usize, kind: ValueKind) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        ValueKind::Bool => row.try_get::<Option<bool>, _>(i)?.map_or(Value::Null, Value::Bool),
        ValueKind::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
        ValueKind::Float => row.try_get::<Option<f64>, _>(i)?.map_or(Value::Null, Value::Float),
        ValueKind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Value::Null, Value::Bytes),
        _ => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
    })
}

pub async fn export(pool: &PgPool, schema: &TableSchema, req: &PageRequest) -> Result<ExportedPage, EngineError> {
    use futures_util::TryStreamExt;
    if schema.walk_key().is_none() && schema.local.as_ref().is_some_and(|l| l.partitioned) {
        return super::partitions::export(pool, schema, req).await;
    }
    let mut spelling = PgSpelling { schema, params: Vec::new() };
    let query = KeysetQuery::build(schema, req, &mut spelling)?;
    let mut select: Vec<String> = schema.columns.iter().map(|c| select_expr(&c.name, c.kind)).collect();
    if query.by_row_id {
        select.push("src.ctid::text".into());
    }
    let sql = query.sql(&select, &format!("{} AS src", super::inspect::rows_sql(schema)?));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in spelling.params {
        q = q.bind(p);
    }
    let ncols = schema.columns.len();
    let mut page = query.collector();
    let mut fetched = q.fetch(pool);
    while let Some(row) = fetched.try_next().await.map_err(|e| request_value_error(e, schema))? {
        let values =
            schema.columns.iter().enumerate().map(|(i, c)| decode(&row, i, c.kind)).collect::<Result<Vec<_>, _>>()?;
        let row_id = if query.by_row_id { Some(Value::Text(row.try_get::<String, _>(ncols)?)) } else { None };
        if !page.push(values, row_id) {
            break;
        }
    }
    Ok(query.finish(schema, page))
}

/// A value of the request (a cursor, a key range, a key list) that the key column's type cannot take is the
/// caller's mistake, said with the column and PostgreSQL's reason — not an internal error.
pub(super) fn request_value_error(e: sqlx::Error, schema: &TableSchema) -> EngineError {
    match &e {
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
            let key = schema.conflict_key().map(|(k, _)| k).unwrap_or_default();
            EngineError::BadRequest(format!(
                "a key value in the request does not fit key column(s) {key:?} of table {:?}: {}",
                schema.name,
                db.message()
            ))
        }
        _ => e.into(),
    }
}

/// One page as PostgreSQL binary COPY bytes (the PostgreSQL → PostgreSQL fast path).
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryCopyPage {
    /// `COPY … (FORMAT binary)` output of the page's rows, every column of the schema in schema order.
    pub data: Vec<u8>,
    pub rows: usize,
    pub has_more: bool,
    pub next: Option<protocol::request::Cursor>,
}

/// Parameters written into the SQL as literals: COPY takes no bind parameters. Values are cursor values (from
/// the network), written as escape strings `E'…'` with backslashes and quotes doubled — read the same whatever
/// `standard_conforming_strings` says (a plain `'…'` would let a backslash escape the closing quote when it is
/// off) — NUL was refused before, and the column type (from the local catalog) casts them, so a bad value is a
/// type error, never SQL.
struct LiteralSpelling<'a> {
    schema: &'a TableSchema,
}

impl Spelling for LiteralSpelling<'_> {
    fn column(&self, name: &str) -> String {
        format!("src.{}", quote(name))
    }
    fn row_id(&self) -> String {
        "src.ctid".into()
    }
    fn param(&mut self, value: &Value, column: Option<&str>) -> String {
        let ty = column.and_then(|c| self.schema.column(c)).map_or("text", |c| c.data_type.as_str());
        match param_text(value) {
            None => format!("CAST(NULL AS {ty})"),
            Some(t) => format!("CAST(E'{}' AS {ty})", t.replace('\\', "\\\\").replace('\'', "''")),
        }
    }
}

/// Whether [`export_binary_copy`] can serve this table; the text says why not. The receivers check the same
/// rule before they ask.
pub use protocol::pg_copy::refusal as binary_copy_refusal;

/// The page as binary COPY: `COPY (SELECT … ORDER BY key LIMIT n+1) TO STDOUT (FORMAT binary)`, cut to n tuples,
/// the next cursor read from the last one's key fields.
pub async fn export_binary_copy(
    pool: &PgPool,
    schema: &TableSchema,
    req: &PageRequest,
) -> Result<BinaryCopyPage, EngineError> {
    use super::binary_copy;

    if let Some(why) = binary_copy_refusal(schema) {
        return Err(EngineError::BadRequest(why));
    }
    if req.filter != protocol::request::RowFilter::All || matches!(req.position, protocol::request::Position::Offset(_))
    {
        return Err(EngineError::BadRequest(
            "binary COPY pages walk the whole table by cursor (no filter, no offset)".into(),
        ));
    }
    if let protocol::request::Position::After(cursor) = &req.position
        && cursor.0.iter().any(|v| matches!(v, Value::Text(t) if t.contains('\0')))
    {
        return Err(EngineError::BadRequest("a cursor value contains a NUL character".into()));
    }
    let query = KeysetQuery::build(schema, req, &mut LiteralSpelling { schema })?;
    let select: Vec<String> = schema.columns.iter().map(|c| format!("src.{}", quote(&c.name))).collect();
    let sql = format!(
        "COPY ({}) TO STDOUT (FORMAT binary)",
        query.sql(&select, &format!("{} AS src", super::inspect::rows_sql(schema)?))
    );
    let mut conn = super::careful::Careful::acquire(pool).await?;
    let (data, cut) = read_copy_page(&mut conn, &sql, schema).await?;
    if !cut {
        // A COPY left unfinished at the byte budget leaves its connection unusable: that one is closed.
        conn.release();
    }
    let tuples = binary_copy::scan(&data, schema.columns.len())
        .map_err(|e| EngineError::BadRequest(format!("COPY output: {e}")))?;
    let limit = query.limit as usize;
    let has_more = cut || tuples.starts.len() > limit;
    let rows = tuples.starts.len().min(limit);
    let next = match rows.checked_sub(1) {
        Some(last) if has_more => {
            let mut values = Vec::with_capacity(query.key.len());
            for k in &query.key {
                let index = schema.columns.iter().position(|c| &c.name == k).expect("key columns exist");
                let ty = &schema.columns[index].data_type;
                let value = binary_copy::field(&data, tuples.starts[last], index)
                    .and_then(|b| binary_copy::key_value(b, ty))
                    .ok_or_else(|| {
                        EngineError::BadRequest(format!("key column {k:?} of the last row could not be read"))
                    })?;
                values.push(value);
            }
            Some(protocol::request::Cursor(values))
        }
        _ => None,
    };
    let data = binary_copy::truncate(data, &tuples, rows);
    Ok(BinaryCopyPage { data, rows, has_more, next })
}

/// Reads a `COPY … TO STDOUT (FORMAT binary)` page, stopping once it holds whole tuples past
/// [`PageRequest::MAX_PAGE_BYTES`]: the stream comes back cut after the last whole tuple within the budget (at
/// least one), with its trailer, and `true` (the COPY was abandoned midway: the caller closes the connection).
async fn read_copy_page(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    schema: &TableSchema,
) -> Result<(Vec<u8>, bool), EngineError> {
    use futures_util::TryStreamExt;
    let budget = PageRequest::MAX_PAGE_BYTES;
    let mut data = Vec::new();
    let mut stream = conn.copy_out_raw(sql).await.map_err(|e| request_value_error(e, schema))?;
    while let Some(chunk) = stream.try_next().await.map_err(|e| request_value_error(e, schema))? {
        data.extend_from_slice(&chunk);
        if data.len() > budget
            && let Some(end) = whole_tuples_end(&data, budget)
        {
            data.truncate(end);
            data.extend_from_slice(&[0xff, 0xff]);
            return Ok((data, true));
        }
    }
    Ok((data, false))
}

/// Where the last whole tuple of a (possibly unfinished) binary COPY stream that ends within `budget` bytes ends
/// — or the first tuple's end when that one alone is larger; `None` while not even one tuple is whole. Layout
/// in [`super::binary_copy`].
fn whole_tuples_end(data: &[u8], budget: usize) -> Option<usize> {
    let be32 = |at: usize| data.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let mut at = 19 + usize::try_from(be32(15)?).ok()?;
    let mut end = None;
    loop {
        let count = i16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?);
        if count < 0 {
            return end;
        }
        let mut next = at + 2;
        for _ in 0..count {
            let len = be32(next)?;
            next += 4 + usize::try_from(len).unwrap_or(0);
        }
        if next > data.len() || (next > budget && end.is_some()) {
            return end;
        }
        end = Some(next);
        at = next;
    }
}
