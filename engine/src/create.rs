//! Recreating a sender's table on this database, for either engine, from a schema that arrived over the network.
//! Nothing from that schema is spliced into SQL unchecked: names are quoted, types go through
//! [`protocol::pg_types`], defaults through [`safe_default`], referential actions through a fixed list. What cannot
//! be recreated safely is left out and said in the notes.
//!
//! [`Tables::create_table`] makes columns, NOT NULL, portable defaults, identity, primary key and unique
//! constraints; [`Tables::create_constraints_after_data`] adds foreign keys and secondary indexes once rows are in
//! (SQLite cannot add foreign keys later, so there they are part of the table).

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::postgres::inspect::qualified;
use crate::tables::Tables;
use appdata::constraints::{CONSTRAINTS_ADDED_SQL, EXPECT_CONSTRAINTS_SQL};
use protocol::ident::{ColumnName, TableName, quote_literal};
use protocol::pg_types::{self, PgType};
use protocol::schema::{Column, Dialect, Identity, TableSchema};
use protocol::value::ValueKind;
use store::{Db, on_pool};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateResult {
    /// What was not recreated as the source has it, and why.
    pub notes: Vec<String>,
}

fn pg_type_for_kind(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Bool => "boolean",
        ValueKind::Int => "bigint",
        ValueKind::Float => "double precision",
        ValueKind::Numeric => "numeric",
        ValueKind::Bytes => "bytea",
        ValueKind::Json => "json",
        ValueKind::Uuid => "uuid",
        ValueKind::Date => "date",
        ValueKind::Time => "time",
        ValueKind::Timestamp => "timestamp",
        ValueKind::TimestampTz => "timestamptz",
        ValueKind::Interval => "interval",
        ValueKind::Text | ValueKind::Array | ValueKind::Other => "text",
    }
}

/// SQLite keeps integers, floats and bytes natively; everything else as TEXT, which stores the exact text
/// (a NUMERIC or JSON declared type would let SQLite turn `1.50` into the float 1.5).
fn sqlite_type_for_kind(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Int => "INTEGER",
        ValueKind::Float => "REAL",
        ValueKind::Bool => "BOOLEAN",
        ValueKind::Bytes => "BLOB",
        _ => "TEXT",
    }
}

/// A default expression when it is one of the portable, side-effect-free forms; `None` otherwise.
pub fn safe_default(expr: &str, kind: ValueKind, target: Dialect) -> Option<String> {
    let e = expr.trim();
    let lower = e.to_ascii_lowercase();
    // SQLite writes booleans as 0/1; PostgreSQL wants true/false for a boolean column.
    if kind == ValueKind::Bool && target == Dialect::Postgres && matches!(lower.as_str(), "0" | "1") {
        return Some(if lower == "1" { "true" } else { "false" }.into());
    }
    let number = |s: &str| {
        let s = s.strip_prefix('-').unwrap_or(s);
        !s.is_empty()
            && s.split('.').count() <= 2
            && s.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    // `'text'` or `'text'::type` (PostgreSQL writes literal defaults with a cast).
    let literal = |s: &str| -> Option<String> {
        let (lit, cast) = match s.rfind("'::") {
            Some(i) => (&s[..=i], Some(&s[i + 3..])),
            None => (s, None),
        };
        let inner = lit.strip_prefix('\'')?.strip_suffix('\'')?;
        if inner.replace("''", "").contains('\'') || inner.contains('\0') {
            return None;
        }
        if let Some(cast) = cast {
            pg_types::parse(cast)?;
        }
        Some(quote_literal(&inner.replace("''", "'")))
    };
    let out = match lower.as_str() {
        "true" | "false" => match target {
            Dialect::Postgres => lower.clone(),
            Dialect::Sqlite => {
                if lower == "true" {
                    "1".into()
                } else {
                    "0".into()
                }
            }
        },
        "now()" if target == Dialect::Postgres => "now()".into(),
        "now()" | "current_timestamp" | "transaction_timestamp()" => "CURRENT_TIMESTAMP".into(),
        "current_date" => "CURRENT_DATE".into(),
        "null" => "NULL".into(),
        "gen_random_uuid()" if target == Dialect::Postgres => "gen_random_uuid()".into(),
        _ if number(e) => e.to_owned(),
        _ if number(e.trim_start_matches('(').trim_end_matches(')')) => {
            e.trim_start_matches('(').trim_end_matches(')').to_owned()
        }
        _ => {
            let lit = literal(e)?;
            // Keep PostgreSQL's cast to a built-in type when both sides are PostgreSQL: `'{}'::jsonb` must stay
            // jsonb. A cast to a user type (`'happy'::mood`) is left out: the bare literal takes the column's own
            // type, and a bare type name could resolve to one of pg_catalog's (`regclass`, `regrole`).
            match (target, e.rfind("'::").map(|i| pg_types::parse(&e[i + 3..]))) {
                (Dialect::Postgres, Some(Some(t @ PgType::BuiltIn(_)))) => format!("{lit}::{}", t.sql()),
                (_, Some(None)) => return None,
                _ => lit,
            }
        }
    };
    Some(out)
}

fn fk_action(action: &str) -> Option<&'static str> {
    match action.to_ascii_uppercase().as_str() {
        "CASCADE" => Some("CASCADE"),
        "SET NULL" => Some("SET NULL"),
        "SET DEFAULT" => Some("SET DEFAULT"),
        "RESTRICT" => Some("RESTRICT"),
        "NO ACTION" => Some("NO ACTION"),
        _ => None,
    }
}

fn quoted_list(names: &[String]) -> Result<String, EngineError> {
    let quoted = names.iter().map(|n| ColumnName::parse(n).map(|c| c.quoted())).collect::<Result<Vec<_>, _>>()?;
    Ok(quoted.join(", "))
}

impl Tables {
    /// Creates `schema`'s table here. Refuses names that are excluded or exist already.
    pub async fn create_table(&self, schema: &TableSchema) -> Result<CreateResult, EngineError> {
        let table = TableName::parse(&schema.name)?;
        if self.exclusions().is_excluded(table.as_str()) {
            return Err(EngineError::BadRequest(format!(
                "table {:?} is excluded here and cannot be created",
                schema.name
            )));
        }
        if self.table_exists(table.as_str()).await? {
            return Err(EngineError::BadRequest(format!("table {:?} already exists", schema.name)));
        }
        self.refuse_excluded_references(schema)?;
        let target = match self.db() {
            Db::Postgres(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        };
        // Where the new table (and its enum types) go on PostgreSQL; every name below is qualified with it.
        let namespace = self.namespace().await?;
        let mut notes = Vec::new();
        let mut enums: Vec<(String, Vec<String>)> = Vec::new();
        let mut defs = Vec::new();
        for c in &schema.columns {
            let name = ColumnName::parse(&c.name)?;
            let ty = match target {
                Dialect::Postgres => {
                    self.pg_column_type(schema, c, namespace.as_deref().unwrap_or_default(), &mut enums, &mut notes)?
                }
                Dialect::Sqlite => sqlite_type_for_kind(c.kind).to_owned(),
            };
            let mut def = format!("{} {ty}", name.quoted());
            let integer = c.kind == ValueKind::Int;
            match (&c.identity, target) {
                (Some(Identity::Always), Dialect::Postgres) if integer => def.push_str(" GENERATED ALWAYS AS IDENTITY"),
                (Some(_), Dialect::Postgres) if integer => def.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
                _ => {
                    if let Some(d) = c.default.as_deref() {
                        match safe_default(d, c.kind, target) {
                            Some(sql) => def.push_str(&format!(" DEFAULT {sql}")),
                            None => notes.push(format!("column {:?}: default {d:?} not recreated", c.name)),
                        }
                    }
                }
            }
            if c.generated.is_some() {
                notes.push(format!(
                    "column {:?}: generated in the source, a plain column here (values are copied)",
                    c.name
                ));
            }
            if !c.nullable {
                def.push_str(" NOT NULL");
            }
            defs.push(def);
        }
        if !schema.primary_key.is_empty() {
            defs.push(format!("PRIMARY KEY ({})", quoted_list(&schema.primary_key)?));
        }
        for u in &schema.unique_constraints {
            defs.push(format!(
                "CONSTRAINT {} UNIQUE ({})",
                ColumnName::parse(&u.name)?.quoted(),
                quoted_list(&u.columns)?
            ));
        }
        if target == Dialect::Sqlite {
            for fk in &schema.foreign_keys {
                defs.push(self.fk_clause(fk, None)?);
            }
        }

        match (self.db(), namespace) {
            (Db::Postgres(pool), Some(namespace)) => {
                let mut tx = pool.begin().await?;
                for (name, labels) in &enums {
                    let exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                         WHERE n.nspname = $1 AND t.typname = $2)",
                    )
                    .bind(&namespace)
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
                    if !exists {
                        let labels: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
                        let sql =
                            format!("CREATE TYPE {} AS ENUM ({})", qualified(&namespace, name), labels.join(", "));
                        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                    }
                }
                let sql = format!("CREATE TABLE {} ({})", qualified(&namespace, table.as_str()), defs.join(", "));
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                sqlx::query(EXPECT_CONSTRAINTS_SQL)
                    .bind(table.as_str())
                    .bind(store::unix_now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            (Db::Postgres(_), None) => return Err(EngineError::Internal("PostgreSQL without a namespace".into())),
            (Db::Sqlite(pool), _) => {
                let mut tx = pool.begin().await?;
                let sql = format!("CREATE TABLE {} ({})", table.quoted(), defs.join(", "));
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                sqlx::query(EXPECT_CONSTRAINTS_SQL)
                    .bind(table.as_str())
                    .bind(store::unix_now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(CreateResult { notes })
    }

    /// Adds the foreign keys (PostgreSQL) and secondary indexes of `schema` to the table, after its rows are in —
    /// when [`Tables::create_table`] made it and they are still pending (the transfer that created it may have
    /// been killed since: any later transfer into it, from any path, finishes it). Otherwise nothing: a table
    /// this side had before never gets a sender's constraints.
    pub async fn create_constraints_after_data(&self, schema: &TableSchema) -> Result<CreateResult, EngineError> {
        let table = TableName::parse(&schema.name)?;
        if !self.table_exists(table.as_str()).await? {
            return Err(EngineError::TableNotFound(schema.name.clone()));
        }
        if !appdata::constraints::constraints_pending(self.db(), table.as_str()).await? {
            return Ok(CreateResult::default());
        }
        self.refuse_excluded_references(schema)?;
        let namespace = self.namespace().await?;
        let table_sql = match &namespace {
            Some(ns) => qualified(ns, table.as_str()),
            None => table.quoted(),
        };
        let mut notes = Vec::new();
        let mut statements = Vec::new();
        // Idempotent and all-or-nothing: a background job that stops halfway, or runs this step twice after a
        // restart, ends with each constraint once.
        if let Db::Postgres(pool) = self.db() {
            for fk in &schema.foreign_keys {
                let name = ColumnName::parse(&fk.name)?;
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
                )
                .bind(&table_sql)
                .bind(name.as_str())
                .fetch_one(pool)
                .await?;
                if exists {
                    continue;
                }
                statements.push(format!(
                    "ALTER TABLE {table_sql} ADD CONSTRAINT {} {}",
                    name.quoted(),
                    self.fk_clause(fk, namespace.as_deref())?
                ));
            }
        }
        for index in &schema.indexes {
            if index.columns.is_empty() {
                notes.push(format!("index {:?} is on expressions: not recreated", index.name));
                continue;
            }
            statements.push(format!(
                "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
                if index.unique { "UNIQUE " } else { "" },
                ColumnName::parse(&index.name)?.quoted(),
                table_sql,
                quoted_list(&index.columns)?
            ));
        }
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for sql in statements {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
            sqlx::query(CONSTRAINTS_ADDED_SQL).bind(table.as_str()).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(CreateResult { notes })
    }

    /// The PostgreSQL schema new objects go into (`None` on SQLite).
    async fn namespace(&self) -> Result<Option<String>, EngineError> {
        match self.db() {
            Db::Postgres(pool) => Ok(Some(crate::postgres::inspect::current_namespace(pool).await?)),
            Db::Sqlite(_) => Ok(None),
        }
    }

    /// A sender's schema whose foreign keys point at a table this side never transfers (the app's own `dbt_*`,
    /// or an excluded one) is refused by name, before anything is created.
    fn refuse_excluded_references(&self, schema: &TableSchema) -> Result<(), EngineError> {
        match schema.foreign_keys.iter().find(|fk| self.exclusions().is_excluded(&fk.ref_table)) {
            Some(fk) => Err(EngineError::BadRequest(format!(
                "table {:?}: foreign key {:?} references {:?}, a table that is excluded here; nothing was created",
                schema.name, fk.name, fk.ref_table
            ))),
            None => Ok(()),
        }
    }

    /// `FOREIGN KEY (…) REFERENCES …`, the referenced table qualified with `namespace` on PostgreSQL.
    fn fk_clause(&self, fk: &protocol::schema::ForeignKey, namespace: Option<&str>) -> Result<String, EngineError> {
        let action =
            |a: &str| fk_action(a).ok_or_else(|| EngineError::BadRequest(format!("unknown referential action {a:?}")));
        let ref_columns = if fk.ref_columns.iter().any(|c| c.is_empty()) {
            String::new()
        } else {
            format!(" ({})", quoted_list(&fk.ref_columns)?)
        };
        Ok(format!(
            "FOREIGN KEY ({}) REFERENCES {}{ref_columns} ON UPDATE {} ON DELETE {}",
            quoted_list(&fk.columns)?,
            match namespace {
                Some(ns) => qualified(ns, TableName::parse(&fk.ref_table)?.as_str()),
                None => TableName::parse(&fk.ref_table)?.quoted(),
            },
            action(&fk.on_update)?,
            action(&fk.on_delete)?
        ))
    }

    /// The PostgreSQL type for a column: the source's own when it is PostgreSQL and parses as safe, the domain's
    /// base type for domains, an enum created alongside, else the kind's portable type.
    fn pg_column_type(
        &self,
        schema: &TableSchema,
        c: &Column,
        namespace: &str,
        enums: &mut Vec<(String, Vec<String>)>,
        notes: &mut Vec<String>,
    ) -> Result<String, EngineError> {
        if schema.dialect == Dialect::Sqlite {
            return Ok(pg_type_for_kind(c.kind).to_owned());
        }
        let declared = c.domain_base.as_deref().unwrap_or(&c.data_type);
        if c.domain_base.is_some() {
            notes.push(format!("column {:?}: domain {} resolved to {declared}", c.name, c.data_type));
        }
        match pg_types::parse(declared) {
            Some(t @ PgType::BuiltIn(_)) => Ok(t.sql()),
            Some(t @ PgType::User { .. }) if !c.enum_labels.is_empty() => {
                let PgType::User { name, array_dims } = &t else { unreachable!() };
                if c.enum_labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.contains('\0')) {
                    return Err(EngineError::BadRequest(format!("column {:?}: invalid enum label", c.name)));
                }
                if !enums.iter().any(|(n, _)| n == name) {
                    enums.push((name.clone(), c.enum_labels.clone()));
                }
                // Qualified: a bare type name would be looked up in pg_catalog first.
                Ok(format!("{}{}", qualified(namespace, name), "[]".repeat(*array_dims)))
            }
            _ => Err(EngineError::BadRequest(format!(
                "column {:?}: type {:?} cannot be recreated here",
                c.name,
                declared.chars().take(80).collect::<String>()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_default;
    use protocol::schema::Dialect::{Postgres, Sqlite};
    use protocol::value::ValueKind::{Bool, Int, Json, Text};

    #[test]
    fn portable_defaults_translate_and_the_rest_is_dropped() {
        assert_eq!(safe_default("0", Int, Sqlite).as_deref(), Some("0"));
        assert_eq!(safe_default("-1.50", Int, Postgres).as_deref(), Some("-1.50"));
        assert_eq!(safe_default("true", Bool, Sqlite).as_deref(), Some("1"));
        assert_eq!(safe_default("1", Bool, Postgres).as_deref(), Some("true"));
        assert_eq!(safe_default("now()", Int, Sqlite).as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(safe_default("'it''s'::text", Text, Postgres).as_deref(), Some("'it''s'::text"));
        assert_eq!(safe_default("'{}'::jsonb", Json, Sqlite).as_deref(), Some("'{}'"));
        assert_eq!(safe_default("'happy'::mood", Text, Postgres).as_deref(), Some("'happy'"), "no bare user type name");
        assert_eq!(safe_default("'t'::regclass", Text, Postgres).as_deref(), Some("'t'"));
        for hostile in [
            "1); DROP TABLE x; --",
            "'a'); DROP TABLE x; --'",
            "'x'::text; DROP TABLE y",
            "pg_sleep(10)",
            "nextval('s'::regclass)",
            "'a' || 'b'",
        ] {
            assert_eq!(safe_default(hostile, Text, Postgres), None, "{hostile}");
        }
    }
}
