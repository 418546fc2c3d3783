//! The engine-independent half of an export: turning a [`PageRequest`] into WHERE / ORDER BY / LIMIT for a
//! keyset walk, and turning the rows that come back into an [`ExportedPage`] with the next cursor. Each engine
//! supplies how a column is written, how a parameter is written, and its row-id column.

use crate::error::EngineError;
use crate::page::{Page, PageColumn};
use crate::request::{Cursor, ExportedPage, PageRequest, Position, RowFilter};
use crate::schema::TableSchema;
use crate::value::Value;

/// How an engine spells the pieces of an export query.
pub trait Spelling {
    /// A column reference (qualified where bare names would mean output columns).
    fn column(&self, name: &str) -> String;
    /// The physical row id, for tables without a key (`ctid`, `rowid`).
    fn row_id(&self) -> String;
    /// A parameter compared with `column` (None: the row id), pushed in the order it appears in the SQL.
    fn param(&mut self, value: &Value, column: Option<&str>) -> String;
}

/// WHERE conditions, ORDER BY terms and paging of one export request.
pub struct KeysetQuery {
    pub key: Vec<String>,
    pub by_row_id: bool,
    pub wheres: Vec<String>,
    pub order: Vec<String>,
    /// Rows to return; one more is fetched to learn whether more follow.
    pub limit: i64,
    pub offset: Option<u64>,
}

impl KeysetQuery {
    pub fn build(schema: &TableSchema, req: &PageRequest, sp: &mut impl Spelling) -> Result<KeysetQuery, EngineError> {
        let key: Vec<String> = schema.conflict_key().map(|(k, _)| k).unwrap_or_default();
        let by_row_id = key.is_empty();
        let mut wheres = Vec::new();
        match &req.filter {
            RowFilter::All => {}
            RowFilter::KeyRange { from, to } => {
                let [k] = key.as_slice() else {
                    return Err(EngineError::BadRequest("a key range needs a table with a single-column key".into()));
                };
                if let Some(from) = from {
                    wheres.push(format!("{} >= {}", sp.column(k), sp.param(from, Some(k))));
                }
                if let Some(to) = to {
                    wheres.push(format!("{} <= {}", sp.column(k), sp.param(to, Some(k))));
                }
            }
            RowFilter::Keys(keys) => {
                if by_row_id {
                    return Err(EngineError::BadRequest("a key list needs a table with a key".into()));
                }
                let mut alternatives = Vec::with_capacity(keys.len());
                for values in keys {
                    if values.len() != key.len() {
                        return Err(EngineError::BadRequest(format!(
                            "each key needs {} value(s), one per key column",
                            key.len()
                        )));
                    }
                    let parts: Vec<String> =
                        key.iter().zip(values).map(|(c, v)| format!("{} = {}", sp.column(c), sp.param(v, Some(c)))).collect();
                    alternatives.push(format!("({})", parts.join(" AND ")));
                }
                wheres.push(if alternatives.is_empty() { "1 = 0".into() } else { format!("({})", alternatives.join(" OR ")) });
            }
        }
        let mut offset = None;
        match &req.position {
            Position::Start => {}
            Position::Offset(n) => offset = Some(*n),
            Position::After(Cursor(values)) if by_row_id => {
                let [v] = values.as_slice() else {
                    return Err(EngineError::BadRequest("the cursor does not match the table (row id expected)".into()));
                };
                wheres.push(format!("{} > {}", sp.row_id(), sp.param(v, None)));
            }
            Position::After(Cursor(values)) => {
                if values.len() != key.len() {
                    return Err(EngineError::BadRequest("the cursor does not match the table's key".into()));
                }
                let lhs: Vec<String> = key.iter().map(|c| sp.column(c)).collect();
                let rhs: Vec<String> = key.iter().zip(values).map(|(c, v)| sp.param(v, Some(c))).collect();
                wheres.push(format!("({}) > ({})", lhs.join(", "), rhs.join(", ")));
            }
        }
        let order = if by_row_id { vec![sp.row_id()] } else { key.iter().map(|c| sp.column(c)).collect() };
        Ok(KeysetQuery { key, by_row_id, wheres, order, limit: req.limit.clamp(1, PageRequest::MAX_LIMIT) as i64, offset })
    }

    /// `SELECT {select} FROM {table} {alias} WHERE … ORDER BY … LIMIT limit+1 [OFFSET n]`.
    pub fn sql(&self, select: &[String], from: &str) -> String {
        let mut sql = format!("SELECT {} FROM {from}", select.join(", "));
        if !self.wheres.is_empty() {
            sql.push_str(&format!(" WHERE {}", self.wheres.join(" AND ")));
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT {}", self.order.join(", "), self.limit + 1));
        if let Some(n) = self.offset {
            sql.push_str(&format!(" OFFSET {n}"));
        }
        sql
    }

    /// The page from the fetched rows (at most limit+1) and, for row-id walks, each row's id.
    pub fn finish(&self, schema: &TableSchema, mut rows: Vec<Vec<Value>>, mut row_ids: Vec<Value>) -> ExportedPage {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        row_ids.truncate(self.limit as usize);
        let next = match rows.last() {
            Some(_) if has_more && self.by_row_id => row_ids.pop().map(|id| Cursor(vec![id])),
            Some(last) if has_more => Some(Cursor(
                self.key
                    .iter()
                    .map(|k| last[schema.columns.iter().position(|c| &c.name == k).expect("key columns exist")].clone())
                    .collect(),
            )),
            _ => None,
        };
        let columns = schema
            .columns
            .iter()
            .map(|c| PageColumn { name: c.name.clone(), kind: c.kind, source_type: c.data_type.clone() })
            .collect();
        ExportedPage { page: Page { columns, rows }, has_more, next }
    }
}
