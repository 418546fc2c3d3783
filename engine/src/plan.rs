//! How a page maps onto a target table for an import, decided once per page and shared by both engines:
//! which page columns go where, the key rows are matched on, and the strategy actually applied.

use crate::error::EngineError;
use protocol::ident::quote;
use protocol::page::Page;
use protocol::request::Strategy;
use protocol::schema::{Identity, TableSchema};
use protocol::value::{Value, ValueKind};

#[derive(Debug, Clone)]
pub struct PlannedColumn {
    pub name: String,
    /// Where the column's values are in each page row.
    pub page_index: usize,
    /// The target column's kind and declared type.
    pub kind: ValueKind,
    pub data_type: String,
    pub identity_always: bool,
    /// Backed by a sequence or identity (or a rowid), which must move past imported values.
    pub generated_key: bool,
}

#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// The table's name, for messages.
    pub table: String,
    /// The table as this database's SQL names it: schema-qualified on PostgreSQL, quoted on SQLite.
    pub table_sql: String,
    /// Integer columns of the table backed by a sequence or identity (written or not): each must stand past
    /// the largest value in the table after an import, and before an append lets the target generate keys.
    pub sequence_columns: Vec<String>,
    /// The sequence behind each of `sequence_columns` that has one, as `(column, sequence)`, resolved once per
    /// table by [`crate::Tables::prepare_import`] (PostgreSQL); `None`: looked up with each page.
    pub sequences: Option<Vec<(String, String)>>,
    pub strategy: Strategy,
    /// Columns rows are matched on (empty for append).
    pub key: Vec<String>,
    /// Columns written, in order.
    pub columns: Vec<PlannedColumn>,
    /// Page positions of the columns that identify a row in error reports.
    pub report_key: Vec<(String, usize)>,
    pub notes: Vec<String>,
}

impl ImportPlan {
    pub fn build(schema: &TableSchema, page: &Page, requested: Strategy) -> Result<ImportPlan, EngineError> {
        let mut notes = Vec::new();
        let mut columns = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, pc) in page.columns.iter().enumerate() {
            let target = schema
                .column(&pc.name)
                .ok_or_else(|| EngineError::ColumnNotFound { table: schema.name.clone(), column: pc.name.clone() })?;
            if !seen.insert(pc.name.as_str()) {
                return Err(EngineError::BadRequest(format!("column {:?} appears twice in the page", pc.name)));
            }
            if target.generated.is_some() {
                notes.push(format!("column {:?} is generated: the target computes it", pc.name));
                continue;
            }
            columns.push(PlannedColumn {
                name: pc.name.clone(),
                page_index: i,
                kind: target.kind,
                data_type: target.data_type.clone(),
                identity_always: target.identity == Some(Identity::Always),
                generated_key: target.identity.is_some(),
            });
        }

        let page_index = |name: &str| page.columns.iter().position(|c| c.name == name);
        let report_key: Vec<(String, usize)> = schema
            .conflict_key()
            .map(|(cols, _)| cols)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| page_index(&c).map(|i| (c, i)))
            .collect();

        let mut strategy = requested;
        let mut key = Vec::new();
        if strategy != Strategy::Append {
            match schema.conflict_key() {
                None => {
                    let nullable: Vec<&str> = schema.nullable_unique_constraints().map(|u| u.name.as_str()).collect();
                    notes.push(if nullable.is_empty() {
                        format!("table {:?} has no primary key or unique constraint: rows were appended", schema.name)
                    } else {
                        format!(
                            "table {:?} has no primary key, and its unique constraint(s) {nullable:?} allow NULLs, so \
                             they are no key: rows were appended",
                            schema.name
                        )
                    });
                    strategy = Strategy::Append;
                }
                Some((cols, source)) => {
                    if let Some(missing) = cols.iter().find(|c| !columns.iter().any(|pc| &pc.name == *c)) {
                        return Err(EngineError::BadRequest(format!(
                            "the page lacks key column {missing:?} of table {:?}",
                            schema.name
                        )));
                    }
                    if let protocol::schema::KeySource::Unique(name) = source {
                        notes.push(format!("no primary key: rows matched on unique constraint {name:?}"));
                    }
                    key = cols;
                }
            }
        }
        if strategy == Strategy::Append && !schema.primary_key.is_empty() {
            for pk in &schema.primary_key {
                let col = schema.column(pk).expect("primary key columns exist");
                if col.identity.is_none() && col.default.is_none() {
                    return Err(EngineError::BadRequest(format!(
                        "append into {:?} needs a key the target generates, but key column {pk:?} has no identity, \
                         sequence or default",
                        schema.name
                    )));
                }
            }
            columns.retain(|c| !schema.primary_key.contains(&c.name));
            if columns.is_empty() {
                return Err(EngineError::BadRequest(format!(
                    "append into {:?} would write no column besides the generated key",
                    schema.name
                )));
            }
        }
        let table_sql = match schema.dialect {
            protocol::schema::Dialect::Postgres => crate::postgres::inspect::table_sql(schema)?,
            protocol::schema::Dialect::Sqlite => quote(&schema.name),
        };
        let sequence_columns = schema
            .columns
            .iter()
            .filter(|c| c.kind == ValueKind::Int && c.identity.is_some() && c.generated.is_none())
            .map(|c| c.name.clone())
            .collect();
        Ok(ImportPlan {
            table: schema.name.clone(),
            table_sql,
            sequence_columns,
            sequences: None,
            strategy,
            key,
            columns,
            report_key,
            notes,
        })
    }

    /// The SET list of an overwrite or merge: every non-key column takes `incoming(column)`; merge keeps
    /// `existing(column)` where the incoming value is NULL. A table of key columns only "replaces" its keys, so
    /// a matched row still counts as updated.
    pub fn assignments(&self, incoming: impl Fn(&str) -> String, existing: impl Fn(&str) -> String) -> String {
        let non_key: Vec<&str> =
            self.columns.iter().map(|c| c.name.as_str()).filter(|c| !self.key.iter().any(|k| k == c)).collect();
        let targets: Vec<&str> =
            if non_key.is_empty() { self.key.iter().map(String::as_str).collect() } else { non_key };
        targets
            .iter()
            .map(|c| match self.strategy {
                Strategy::Merge if !self.key.iter().any(|k| k == c) => {
                    format!("{} = COALESCE({}, {})", quote(c), incoming(c), existing(c))
                }
                _ => format!("{} = {}", quote(c), incoming(c)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `id=5, lang=en` for a row (or `row N`), for error reports.
    pub fn describe_row(&self, row: &[Value], index: usize) -> String {
        if self.report_key.is_empty() {
            return format!("row {}", index + 1);
        }
        self.report_key.iter().map(|(name, i)| format!("{name}={}", row[*i].display())).collect::<Vec<_>>().join(", ")
    }
}
