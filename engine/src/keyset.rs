//! The engine-independent half of an export: turning a [`PageRequest`] into WHERE / ORDER BY / LIMIT for a
//! keyset walk, and turning the rows that come back into an [`ExportedPage`] with the next cursor. Each engine
//! supplies how a column is written, how a parameter is written, and its row-id column.

use crate::error::EngineError;
use protocol::page::{Page, PageColumn};
use protocol::request::{Cursor, ExportedPage, PageRequest, Position, RowFilter};
use protocol::schema::TableSchema;
use protocol::value::Value;

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
    /// The columns the walk is ordered on and its cursor holds ([`TableSchema::walk_key`]); empty: the row id.
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
        // Filters name rows by the table's key, or a unique constraint that may hold NULLs (`k = v` never matches
        // a NULL);
        // the walk's order and cursor need a key without NULLs, else the row id.
        let filter_key: Vec<String> = schema
            .conflict_key()
            .map(|(k, _)| k)
            .or_else(|| schema.unique_constraints.first().map(|u| u.columns.clone()))
            .unwrap_or_default();
        let key: Vec<String> = schema.walk_key().unwrap_or_default();
        let by_row_id = key.is_empty();
        let mut wheres = Vec::new();
        match &req.filter {
            RowFilter::All => {}
            RowFilter::KeyRange { from, to } => {
                let [k] = filter_key.as_slice() else {
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
                if filter_key.is_empty() {
                    return Err(EngineError::BadRequest("a key list needs a table with a key".into()));
                }
                let mut alternatives = Vec::with_capacity(keys.len());
                for values in keys {
                    if values.len() != filter_key.len() {
                        return Err(EngineError::BadRequest(format!(
                            "each key needs {} value(s), one per key column",
                            filter_key.len()
                        )));
                    }
                    let parts: Vec<String> = filter_key
                        .iter()
                        .zip(values)
                        .map(|(c, v)| format!("{} = {}", sp.column(c), sp.param(v, Some(c))))
                        .collect();
                    alternatives.push(format!("({})", parts.join(" AND ")));
                }
                wheres.push(if alternatives.is_empty() {
                    "1 = 0".into()
                } else {
                    format!("({})", alternatives.join(" OR "))
                });
            }
        }
        let mut offset = None;
        match &req.position {
            Position::Start => {}
            Position::Offset(n) => offset = Some(*n),
            Position::After(Cursor(values)) if by_row_id => {
                let [v] = values.as_slice() else {
                    return Err(EngineError::BadRequest(
                        "the cursor does not match the table (row id expected)".into(),
                    ));
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
        Ok(KeysetQuery {
            key,
            by_row_id,
            wheres,
            order,
            limit: req.limit.clamp(1, PageRequest::MAX_LIMIT) as i64,
            offset,
        })
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

    /// Where the rows of this query are gathered as they are read.
    pub fn collector(&self) -> Collected {
        Collected::new(self.limit as usize)
    }

    /// The page from the collected rows, with the cursor of the next when more follow.
    pub fn finish(&self, schema: &TableSchema, collected: Collected) -> ExportedPage {
        let (rows, mut row_ids, has_more) = collected.into_parts();
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
        ExportedPage { page: Page { columns: page_columns(schema), rows }, has_more: has_more && next.is_some(), next }
    }
}

/// A page's column header for rows of this table, in schema order.
pub fn page_columns(schema: &TableSchema) -> Vec<PageColumn> {
    schema
        .columns
        .iter()
        .map(|c| PageColumn { name: c.name.clone(), kind: c.kind, source_type: c.data_type.clone() })
        .collect()
}

/// The rows of a page as they are read: at most the request's limit, and at most
/// [`PageRequest::MAX_PAGE_BYTES`] of values (a row alone may be larger; it then is a page of its own).
pub struct Collected {
    rows: Vec<Vec<Value>>,
    row_ids: Vec<Value>,
    bytes: usize,
    limit: usize,
    has_more: bool,
}

impl Collected {
    /// Gathers at most `limit` rows.
    pub fn new(limit: usize) -> Collected {
        Collected { rows: Vec::new(), row_ids: Vec::new(), bytes: 0, limit: limit.max(1), has_more: false }
    }

    /// The rows, their row ids (row-id walks), and whether more follow.
    pub fn into_parts(self) -> (Vec<Vec<Value>>, Vec<Value>, bool) {
        (self.rows, self.row_ids, self.has_more)
    }

    /// Takes the next row read (with its row id on row-id walks); `false` once the page is full, and the row
    /// was not taken: it starts the next page. Stop reading then.
    pub fn push(&mut self, row: Vec<Value>, row_id: Option<Value>) -> bool {
        let size: usize = row.iter().map(value_bytes).sum();
        if self.rows.len() == self.limit || (!self.rows.is_empty() && self.bytes + size > PageRequest::MAX_PAGE_BYTES) {
            self.has_more = true;
            return false;
        }
        self.bytes += size;
        self.rows.push(row);
        self.row_ids.extend(row_id);
        true
    }
}

/// About what a value takes in the page encoding.
fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 2,
        Value::Int(_) | Value::Float(_) => 9,
        Value::Text(t) => 5 + t.len(),
        Value::Bytes(b) => 5 + b.len(),
    }
}
