//! Keyless partitioned tables. A `ctid` is unique only within one partition, so the parent cannot be walked by
//! `ctid` (rows of different partitions share them, and a page boundary would lose some). Such a table is
//! walked leaf partition by leaf partition (in oid order), each by `ctid` with a TID range scan; the cursor is
//! one text value `leaf-oid:ctid`, and a cursor naming a relation that is not a leaf of this table is refused.
//! Partitions themselves are never offered or found by name: they are reached through their parent only.

use futures_util::TryStreamExt;
use sqlx::{PgPool, Row};

use super::export::{decode, request_value_error, select_expr};
use super::inspect::{qualified, table_sql};
use crate::error::EngineError;
use crate::keyset::{Collected, page_columns};
use protocol::page::Page;
use protocol::request::{Cursor, ExportedPage, PageRequest, Position, RowFilter};
use protocol::schema::TableSchema;
use protocol::value::Value;

struct Leaf {
    oid: i64,
    sql: String,
}

/// The table's leaf partitions with rows of their own, in the walk's order.
async fn leaves(pool: &PgPool, schema: &TableSchema) -> Result<Vec<Leaf>, EngineError> {
    let rows = sqlx::query(
        "SELECT c.oid::int8 AS oid, n.nspname::text AS namespace, c.relname::text AS name, c.relkind = 'r' AS ordinary
         FROM pg_partition_tree(to_regclass($1)) t
         JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE t.isleaf
         ORDER BY c.oid",
    )
    .bind(table_sql(schema)?)
    .fetch_all(pool)
    .await?;
    let mut leaves = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.get("name");
        if !r.get::<bool, _>("ordinary") {
            // A foreign table's rows have no ctid to walk by: refused rather than left out silently.
            return Err(EngineError::BadRequest(format!(
                "table {:?} has no key and its partition {name:?} is not an ordinary table: it cannot be walked",
                schema.name
            )));
        }
        leaves.push(Leaf { oid: r.get("oid"), sql: qualified(&r.get::<String, _>("namespace"), &name) });
    }
    Ok(leaves)
}

fn bad_cursor() -> EngineError {
    EngineError::BadRequest("the cursor does not match the table (a partition's row id expected)".into())
}

pub async fn export(pool: &PgPool, schema: &TableSchema, req: &PageRequest) -> Result<ExportedPage, EngineError> {
    if req.filter != RowFilter::All {
        return Err(EngineError::BadRequest(format!(
            "table {:?} has no key: rows can only be read in full",
            schema.name
        )));
    }
    let limit = req.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let mut select: Vec<String> = schema.columns.iter().map(|c| select_expr(&c.name, c.kind)).collect();
    select.push("src.tableoid::int8".into());
    select.push("src.ctid::text".into());
    let ncols = schema.columns.len();
    let mut page = Collected::new(limit);
    let read = |row: &sqlx::postgres::PgRow| -> Result<(Vec<Value>, Value), EngineError> {
        let values =
            schema.columns.iter().enumerate().map(|(i, c)| decode(row, i, c.kind)).collect::<Result<Vec<_>, _>>()?;
        let id = format!("{}:{}", row.try_get::<i64, _>(ncols)?, row.try_get::<String, _>(ncols + 1)?);
        Ok((values, Value::Text(id)))
    };

    if let Position::Offset(skip) = req.position {
        // The same order as the walk: leaves by oid, rows by ctid.
        let sql = format!(
            "SELECT {} FROM {} AS src ORDER BY src.tableoid, src.ctid LIMIT {} OFFSET {skip}",
            select.join(", "),
            table_sql(schema)?,
            limit + 1
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            let (values, id) = read(&row)?;
            if !page.push(values, Some(id)) {
                break;
            }
        }
        return Ok(finish(schema, page));
    }

    let leaves = leaves(pool, schema).await?;
    let (mut index, mut after) = (0, None);
    if let Position::After(Cursor(values)) = &req.position {
        let [Value::Text(id)] = values.as_slice() else { return Err(bad_cursor()) };
        let (oid, ctid) = id.split_once(':').ok_or_else(bad_cursor)?;
        let oid: i64 = oid.parse().map_err(|_| bad_cursor())?;
        index = leaves.iter().position(|l| l.oid == oid).ok_or_else(bad_cursor)?;
        after = Some(ctid.to_owned());
    }
    'leaves: for leaf in &leaves[index..] {
        let condition = if after.is_some() { "WHERE src.ctid > CAST($1 AS tid)" } else { "" };
        let sql = format!(
            "SELECT {} FROM ONLY {} AS src {condition} ORDER BY src.ctid LIMIT {}",
            select.join(", "),
            leaf.sql,
            limit + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(ctid) = after.take() {
            query = query.bind(ctid);
        }
        let mut rows = query.fetch(pool);
        while let Some(row) = rows.try_next().await.map_err(|e| request_value_error(e, schema))? {
            let (values, id) = read(&row)?;
            if !page.push(values, Some(id)) {
                break 'leaves;
            }
        }
    }
    Ok(finish(schema, page))
}

fn finish(schema: &TableSchema, page: Collected) -> ExportedPage {
    let (rows, mut row_ids, has_more) = page.into_parts();
    let next = if has_more { row_ids.pop().map(|id| Cursor(vec![id])) } else { None };
    ExportedPage { page: Page { columns: page_columns(schema), rows }, has_more: next.is_some(), next }
}
