//! Recreating a sender's table on this database, for either engine, from a schema that arrived over the network.
//! Nothing from that schema is spliced into SQL unchecked: names are quoted, types go through
//! [`protocol::pg_types`] (PostgreSQL) or [`sqlguard::sqlite_type`] (SQLite), and every expression text (defaults,
//! generated columns, CHECKs, index definitions, partition keys and bounds) through [`sqlguard`], which parses it
//! against an allow-list and re-renders it; referential actions come from a fixed list. What cannot be recreated
//! safely is left out and said in the notes, by name (`column "a": default not recreated: function pg_sleep is not
//! allowed`).
//!
//! Between two databases of the same engine the table is the sender's: PostgreSQL keeps serial columns serial
//! (their own sequence, owned by the column, moved past the data by every import), identity as identity with its
//! sequence options, defaults, generated columns, comments, partitions with their bounds; SQLite keeps declared
//! types, defaults, CHECKs, `AUTOINCREMENT`, `WITHOUT ROWID` and `STRICT`. Across engines no expression text
//! crosses: the portable mapping of `docs/types.md` and [`safe_default`] apply.
//!
//! [`Tables::create_table`] makes the table (and, on PostgreSQL, its sequences, enum types and partitions);
//! [`Tables::create_constraints_after_data`] adds foreign keys, CHECK constraints (PostgreSQL) and secondary
//! indexes once rows are in (SQLite cannot add foreign keys or CHECKs later, so there they are part of the table).
//! On PostgreSQL the primary key is made with the table, taken off while binary COPY pages fill it and added back
//! before anything needs it ([`crate::Tables::prepare_import`]); SQLite cannot add a primary key later.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::postgres::inspect::qualified;
use crate::tables::Tables;
use appdata::constraints::{CONSTRAINTS_ADDED_SQL, EXPECT_CONSTRAINTS_SQL};
use protocol::ident::{ColumnName, TableName, quote_literal};
use protocol::pg_types::{self, PgType};
use protocol::schema::{Column, ConstraintOptions, Dialect, Identity, Sequence, TableSchema};
use protocol::value::ValueKind;
use store::{Db, on_pool};

/// What creating a table would run here, in order (see [`Tables::create_table_ddl`]), and its notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ddl {
    pub statements: Vec<String>,
    /// What would not be recreated as the source has it, and why.
    pub notes: Vec<String>,
}

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
        let text = inner.replace("''", "'");
        Some(if target == Dialect::Postgres { pg_literal(&text) } else { quote_literal(&text) })
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

/// The longest comment recreated, in bytes; a longer one is listed in the notes.
pub const MAX_COMMENT_BYTES: usize = 16 * 1024;
/// The most CHECK constraints recreated per table; the rest are listed in the notes.
pub const MAX_CHECKS: usize = 256;
/// The most partitions created per table; the rest are listed in the notes.
pub const MAX_PARTITIONS: usize = 1024;
/// The most secondary indexes, foreign keys or unique constraints a created table takes from a sender; each is a
/// statement (an index scans the table), so a schema cannot queue an unbounded number of them.
pub const MAX_TABLE_OBJECTS: usize = 256;
/// The most labels of one enum type a created column takes.
pub const MAX_ENUM_LABELS: usize = 1024;

const PG: sqlguard::Dialect = sqlguard::Dialect::Postgres;
const LITE: sqlguard::Dialect = sqlguard::Dialect::Sqlite;

/// Why one piece of a sender's structure is left out (said in the notes), or a database error that stops all.
enum Skip {
    Refused(String),
    Failed(EngineError),
}

impl From<sqlguard::Refusal> for Skip {
    fn from(r: sqlguard::Refusal) -> Self {
        Skip::Refused(r.to_string())
    }
}

impl From<sqlx::Error> for Skip {
    fn from(e: sqlx::Error) -> Self {
        Skip::Failed(e.into())
    }
}

impl From<protocol::ProtocolError> for Skip {
    fn from(e: protocol::ProtocolError) -> Self {
        Skip::Refused(e.to_string())
    }
}

/// `Ok(Some(x))` when made, `Ok(None)` with the reason in `notes` when refused, `Err` on a database error.
fn noted<T>(
    r: Result<T, Skip>,
    notes: &mut Vec<String>,
    what: impl FnOnce(&str) -> String,
) -> Result<Option<T>, EngineError> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(Skip::Refused(why)) => {
            notes.push(what(&why));
            Ok(None)
        }
        Err(Skip::Failed(e)) => Err(e),
    }
}

/// The sender's options of constraint `name` (between PostgreSQL databases; none otherwise).
fn constraint_options<'a>(schema: &'a TableSchema, name: &str, exact: bool) -> Option<&'a ConstraintOptions> {
    schema.constraint_options.iter().find(|o| exact && o.name == name)
}

/// ` DEFERRABLE [INITIALLY DEFERRED]` when the constraint is.
fn deferrable_clause(options: Option<&ConstraintOptions>) -> &'static str {
    match options {
        Some(o) if o.deferrable && o.initially_deferred => " DEFERRABLE INITIALLY DEFERRED",
        Some(o) if o.deferrable => " DEFERRABLE",
        _ => "",
    }
}

/// `PRIMARY KEY (…)` / `UNIQUE [NULLS NOT DISTINCT] (…)` with the constraint's `INCLUDE` and deferrability.
fn key_clause(kind: &str, columns: &[String], options: Option<&ConstraintOptions>) -> Result<String, EngineError> {
    let mut sql = kind.to_owned();
    if options.is_some_and(|o| o.nulls_not_distinct) && kind == "UNIQUE" {
        sql.push_str(" NULLS NOT DISTINCT");
    }
    sql.push_str(&format!(" ({})", quoted_list(columns)?));
    if let Some(o) = options.filter(|o| !o.include.is_empty()) {
        sql.push_str(&format!(" INCLUDE ({})", quoted_list(&o.include)?));
    }
    sql.push_str(deferrable_clause(options));
    Ok(sql)
}

/// Table storage parameters a sender's table may carry (`toast.` versions of the autovacuum ones too).
const STORAGE_PARAMETERS: &[&str] = &[
    "fillfactor",
    "toast_tuple_target",
    "parallel_workers",
    "autovacuum_enabled",
    "vacuum_index_cleanup",
    "vacuum_truncate",
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
    "autovacuum_vacuum_cost_delay",
    "autovacuum_vacuum_cost_limit",
    "autovacuum_freeze_min_age",
    "autovacuum_freeze_max_age",
    "autovacuum_freeze_table_age",
    "autovacuum_multixact_freeze_min_age",
    "autovacuum_multixact_freeze_max_age",
    "autovacuum_multixact_freeze_table_age",
    "log_autovacuum_min_duration",
];

/// `name='value'` for one of the sender's `reloptions` (`fillfactor=70`): a parameter of the allow-list and a
/// value of letters, digits, `.`, `-` and `_` only.
fn storage_parameter(option: &str) -> Result<String, Skip> {
    let shown: String = option.chars().take(80).collect();
    let (name, value) = option.split_once('=').ok_or_else(|| Skip::Refused(format!("{shown:?} is not name=value")))?;
    let base =
        name.strip_prefix("toast.").filter(|b| b.contains("autovacuum") || b.starts_with("vacuum_")).unwrap_or(name);
    if !STORAGE_PARAMETERS.contains(&base) {
        return Err(Skip::Refused(format!("storage parameter {shown:?} is not allowed")));
    }
    if value.is_empty()
        || value.len() > 32
        || !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(Skip::Refused(format!("storage parameter {shown:?} has a value that is not allowed")));
    }
    Ok(format!("{name}='{value}'"))
}

/// Runs one statement of a creation and records it.
async fn run_pg(conn: &mut sqlx::PgConnection, sql: String, ran: &mut Vec<String>) -> Result<(), EngineError> {
    sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(conn).await?;
    ran.push(sql);
    Ok(())
}

/// Runs one after-data statement of a preview under a savepoint: `Some(reason)` when this database refuses it
/// (a foreign key to a table not here yet, an operator class of an extension not installed), as the real step
/// would name it in its notes instead of failing. The same statements on both engines' connections.
macro_rules! try_in_savepoint {
    ($conn:expr, $sql:expr) => {{
        sqlx::query("SAVEPOINT dbt_preview").execute(&mut *$conn).await?;
        match sqlx::query(sqlx::AssertSqlSafe($sql.to_owned())).execute(&mut *$conn).await {
            Ok(_) => {
                sqlx::query("RELEASE SAVEPOINT dbt_preview").execute(&mut *$conn).await?;
                None
            }
            Err(sqlx::Error::Database(e)) => {
                sqlx::query("ROLLBACK TO SAVEPOINT dbt_preview").execute(&mut *$conn).await?;
                sqlx::query("RELEASE SAVEPOINT dbt_preview").execute(&mut *$conn).await?;
                Some(e.message().to_owned())
            }
            Err(e) => return Err(e.into()),
        }
    }};
}

async fn constraint_exists(conn: &mut sqlx::PgConnection, table_sql: &str, name: &str) -> Result<bool, EngineError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
    )
    .bind(table_sql)
    .bind(name)
    .fetch_one(conn)
    .await?)
}

/// `[CONSTRAINT name] PRIMARY KEY (…) [INCLUDE (…)] [DEFERRABLE …]` of `schema`'s primary key (its name and
/// options only between PostgreSQL databases), `None` without one.
fn primary_key_clause(schema: &TableSchema) -> Result<Option<String>, EngineError> {
    if schema.primary_key.is_empty() {
        return Ok(None);
    }
    let exact = schema.dialect == Dialect::Postgres;
    let name = schema.primary_key_name.as_deref().filter(|_| exact);
    let options = name.and_then(|n| constraint_options(schema, n, exact));
    let key = key_clause("PRIMARY KEY", &schema.primary_key, options)?;
    Ok(Some(match name {
        Some(n) => format!("CONSTRAINT {} {key}", ColumnName::parse(n)?.quoted()),
        None => key,
    }))
}

// The primary key after the data. A table a transfer creates here is made with its primary key, so a table that
// exists is never without it for long; but COPY into a table with the key maintains its index row by row, and
// building it once over all the rows (as `pg_dump | psql` does) is much faster. So while such a table is still
// empty, `Tables::prepare_import` takes the key off for binary COPY pages — once in the table's life: the drop
// and the statement that puts the key back (built from this table, before the drop) are recorded together in
// its `dbt_pending_constraints` row — and the key comes back, from that statement, before anything needs it: an
// ordinary page (matched on the key), a refused binary page, the constraints after the data (first of them, and
// those of a table whose foreign key references it), or the next transfer into the table, whatever its sender.

/// The name of the primary key a prepared import may take off `local` (this side's table) for binary COPY pages
/// of `sender`'s table: both are PostgreSQL tables whose primary keys have the same columns, name and options.
/// `None`: keep the key.
pub(crate) fn deferrable_primary_key<'a>(local: &'a TableSchema, sender: &TableSchema) -> Option<&'a str> {
    let name = local.primary_key_name.as_deref()?;
    let options = |s: &TableSchema| s.constraint_options.iter().find(|o| o.name == name).cloned();
    (local.dialect == Dialect::Postgres
        && sender.dialect == Dialect::Postgres
        && !local.primary_key.is_empty()
        && local.primary_key == sender.primary_key
        && sender.primary_key_name.as_deref() == Some(name)
        && options(local) == options(sender))
    .then_some(name)
}

/// Whether `table_sql` has a primary key here.
pub(crate) async fn has_primary_key(conn: &mut sqlx::PgConnection, table_sql: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p')")
        .bind(table_sql)
        .fetch_one(conn)
        .await
}

/// Takes primary key `name` off `table_sql` (table `table`, whose constraints are pending) when the table is
/// empty, no foreign key here references it or a table under it (the drop would need CASCADE), and its key never
/// came off before (its pending row says so, even if the key is back since): in one transaction under the
/// table's lock and its pending row's, which records the drop and the statement that puts the key back, built
/// from this table before the drop. Answers that statement when it dropped the key. A lock held elsewhere for
/// more than a moment (a long read), or a drop this database refuses (a view that depends on the key), leaves
/// the key on, as before.
pub(crate) async fn drop_primary_key_while_empty(
    pool: &sqlx::PgPool,
    table: &str,
    table_sql: &str,
    name: &str,
) -> Result<Option<String>, EngineError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL lock_timeout = '2s'").execute(&mut *tx).await?;
    let lock = format!("LOCK TABLE {table_sql} IN ACCESS EXCLUSIVE MODE");
    match sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) => {
            tracing::debug!(table = table_sql, error = %e.message(), "the primary key stays: the table is busy");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    let taken_off: Option<bool> =
        sqlx::query_scalar(appdata::constraints::LOCK_PENDING_SQL).bind(table).fetch_optional(&mut *tx).await?;
    if taken_off != Some(false) {
        // Not pending any more, or its key came off once already (another transfer's, maybe still going).
        return Ok(None);
    }
    let sql = format!(
        "WITH RECURSIVE tree(oid) AS (SELECT to_regclass($1)::oid \
           UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid) \
         SELECT NOT EXISTS (SELECT 1 FROM {table_sql}), \
                EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid IN (SELECT oid FROM tree)), \
                (SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                  WHERE conrelid = to_regclass($1) AND contype = 'p' AND conname = $2)"
    );
    let (empty, referenced, definition): (bool, bool, Option<String>) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(table_sql).bind(name).fetch_one(&mut *tx).await?;
    let Some(definition) = definition.filter(|_| empty && !referenced) else { return Ok(None) };
    let quoted = ColumnName::parse(name)?.quoted();
    let add = format!("ALTER TABLE {table_sql} ADD CONSTRAINT {quoted} {definition}");
    sqlx::query(appdata::constraints::KEY_TAKEN_OFF_SQL).bind(table).bind(&add).execute(&mut *tx).await?;
    let drop = format!("ALTER TABLE {table_sql} DROP CONSTRAINT {quoted}");
    match sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut *tx).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Some(add))
        }
        Err(sqlx::Error::Database(e)) => {
            tracing::debug!(table = table_sql, error = %e.message(), "the primary key stays: it cannot be dropped");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Puts back the primary key a transfer took off `table` (`table_sql` here), from the statement stored with the
/// drop, when its constraints are pending with a stored key and the table lacks its key (whatever the sender of
/// the transfer that asks). Answers whether it added the key; see [`add_primary_key`] for its errors.
pub(crate) async fn restore_stored_primary_key(
    db: &Db,
    pool: &sqlx::PgPool,
    table: &str,
    table_sql: &str,
) -> Result<bool, EngineError> {
    let Some(add) = appdata::constraints::pending(db, table).await?.and_then(|p| p.primary_key_sql) else {
        return Ok(false);
    };
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(table_sql).fetch_one(pool).await?;
    if !exists {
        return Ok(false);
    }
    add_primary_key(pool, table, table_sql, &add).await
}

/// Runs `add` (the statement stored when the key came off) unless `table_sql` has a primary key already (another
/// page, or another transfer into the table, added it first), in its own transaction under the table's lock,
/// waiting at most a few seconds for that lock. Answers whether it added the key. A session that holds the table
/// (a transaction left open) is an error naming the table; so are rows that break the key (a sender that sent
/// one key twice), with the duplicated key and the way out: the rows stay, without the key, and the table's
/// constraints stay pending, so the next transfer into it tries again.
pub(crate) async fn add_primary_key(
    pool: &sqlx::PgPool,
    table: &str,
    table_sql: &str,
    add: &str,
) -> Result<bool, EngineError> {
    // The usual case, the key there, without taking the table's lock; then again under it.
    if has_primary_key(&mut *pool.acquire().await?, table_sql).await? {
        return Ok(false);
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
    // Building the key's index over many rows may take long: no statement timeout for it.
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await?;
    let refused = |e: sqlx::Error| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03") => EngineError::BadRequest(format!(
            "table {table:?} is in use by another session: its primary key could not be put back; try again"
        )),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .map(|d| d.trim_end_matches('.').to_owned());
            let rows = match detail {
                Some(d) => format!("rows share a key ({d})"),
                None => "rows share a key".to_owned(),
            };
            EngineError::BadRequest(format!(
                "table {table:?}: its primary key could not be put back after its rows: {rows}; the rows are in \
                 without it: delete the duplicated rows or drop the table, then transfer again"
            ))
        }
        sqlx::Error::Database(_) => EngineError::BadRequest(format!(
            "table {table:?}: its primary key could not be put back after its rows: {}; the rows are in without \
             it, and the next transfer into the table tries again",
            crate::postgres::import::database_reason(&e)
        )),
        _ => e.into(),
    };
    let lock = format!("LOCK TABLE {table_sql} IN ACCESS EXCLUSIVE MODE");
    sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await.map_err(refused)?;
    if has_primary_key(&mut tx, table_sql).await? {
        tx.commit().await?;
        return Ok(false);
    }
    sqlx::query(sqlx::AssertSqlSafe(add.to_owned())).execute(&mut *tx).await.map_err(refused)?;
    tx.commit().await?;
    Ok(true)
}

/// A comment's text as a SQL literal, refused when too long or holding NUL.
fn comment_literal(text: &str) -> Result<String, Skip> {
    if text.len() > MAX_COMMENT_BYTES {
        return Err(Skip::Refused(format!("{} bytes, over the limit of {MAX_COMMENT_BYTES}", text.len())));
    }
    if text.contains('\0') {
        return Err(Skip::Refused("it holds a NUL character".into()));
    }
    Ok(pg_literal(text))
}

/// A PostgreSQL string literal meaning `text` whatever `standard_conforming_strings` is: `E'…'` with backslashes
/// doubled when there is one (a plain `'…'` would let a backslash escape the closing quote when it is off).
fn pg_literal(text: &str) -> String {
    if text.contains('\\') { format!("E{}", quote_literal(&text.replace('\\', "\\\\"))) } else { quote_literal(text) }
}

/// `[AS type] START WITH … INCREMENT BY … MINVALUE … MAXVALUE … CACHE … [NO] CYCLE` for a sender's sequence,
/// refused when the numbers are not a sequence PostgreSQL could have.
fn sequence_options(seq: &Sequence, with_type: bool) -> Result<String, Skip> {
    let ty = match seq.data_type.as_str() {
        t @ ("smallint" | "integer" | "bigint") => t,
        other => {
            return Err(Skip::Refused(format!(
                "sequence {:?} has type {:?}",
                seq.name,
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    if seq.increment == 0 || seq.cache < 1 || seq.min > seq.max || seq.start < seq.min || seq.start > seq.max {
        return Err(Skip::Refused(format!("sequence {:?} has options out of range", seq.name)));
    }
    Ok(format!(
        "{}START WITH {} INCREMENT BY {} MINVALUE {} MAXVALUE {} CACHE {}{}",
        if with_type { format!("AS {ty} ") } else { String::new() },
        seq.start,
        seq.increment,
        seq.min,
        seq.max,
        seq.cache,
        if seq.cycle { " CYCLE" } else { " NO CYCLE" }
    ))
}

/// The relation kind of `name` in `namespace` (`S` a sequence, `r` a table, …), if one is there.
async fn relkind(conn: &mut sqlx::PgConnection, namespace: &str, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(namespace)
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// A sender's schema with more of something than a table here is given, refused by name before anything is
/// planned (the schema is hostile: counts bound the statements a creation or its preview runs).
fn refuse_oversized(schema: &TableSchema) -> Result<(), EngineError> {
    let too_many = |what: &str, n: usize, max: usize| {
        EngineError::BadRequest(format!("table {:?}: {n} {what}, at most {max} are accepted", schema.name))
    };
    if schema.columns.len() > protocol::page::MAX_COLUMNS {
        return Err(too_many("columns", schema.columns.len(), protocol::page::MAX_COLUMNS));
    }
    for (what, n) in [
        ("indexes", schema.indexes.len()),
        ("foreign keys", schema.foreign_keys.len()),
        ("unique constraints", schema.unique_constraints.len()),
    ] {
        if n > MAX_TABLE_OBJECTS {
            return Err(too_many(what, n, MAX_TABLE_OBJECTS));
        }
    }
    if let Some(c) = schema.columns.iter().find(|c| c.enum_labels.len() > MAX_ENUM_LABELS) {
        return Err(too_many(
            &format!("labels in the type of column {:?}", c.name),
            c.enum_labels.len(),
            MAX_ENUM_LABELS,
        ));
    }
    Ok(())
}

/// Whether a column here owns the sequence `namespace.name` (serial or identity: `pg_depend` deptype `a`/`i`).
async fn sequence_owned(conn: &mut sqlx::PgConnection, namespace: &str, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class c ON c.oid = d.objid          JOIN pg_namespace n ON n.oid = c.relnamespace          WHERE d.classid = 'pg_class'::regclass AND n.nspname = $1 AND c.relname = $2 AND d.deptype IN ('a', 'i'))",
    )
    .bind(namespace)
    .bind(name)
    .fetch_one(conn)
    .await
}

/// The sender's name for a new sequence when it is free here, else the first free `name_N`.
async fn free_sequence_name(
    conn: &mut sqlx::PgConnection,
    namespace: &str,
    wanted: &str,
    reserved: &mut Vec<String>,
) -> Result<String, Skip> {
    TableName::parse(wanted)?;
    for i in 0..100u32 {
        let candidate = if i == 0 {
            wanted.to_owned()
        } else {
            let suffix = format!("_{i}");
            let mut base = wanted.to_owned();
            while base.len() + suffix.len() > protocol::ident::MAX_IDENT_BYTES {
                base.pop();
            }
            base + &suffix
        };
        if reserved.contains(&candidate) || relkind(conn, namespace, &candidate).await?.is_some() {
            continue;
        }
        reserved.push(candidate.clone());
        return Ok(candidate);
    }
    Err(Skip::Refused(format!("no free name for sequence {wanted:?}")))
}

/// What a PostgreSQL → PostgreSQL creation gathers before it runs: statements around `CREATE TABLE` and the
/// names it takes.
struct PgPlan<'a> {
    namespace: &'a str,
    table_sql: String,
    /// Enum types created with the table.
    enums: Vec<(String, Vec<String>)>,
    /// Sequence names taken by this creation.
    reserved: Vec<String>,
    /// `CREATE SEQUENCE …`, before the table.
    before: Vec<String>,
    /// `ALTER SEQUENCE … OWNED BY`, partitions, comments, after it.
    after: Vec<String>,
    notes: Vec<String>,
}

impl PgPlan<'_> {
    /// `expr` with each cast to a user type qualified with this side's namespace (a bare name would be looked
    /// up in `pg_catalog` first); refused when the type is neither created here nor present.
    async fn qualify_casts(&self, conn: &mut sqlx::PgConnection, expr: sqlguard::Expr) -> Result<sqlguard::Expr, Skip> {
        let mut map: Vec<(sqlguard::TypeName, sqlguard::TypeName)> = Vec::new();
        for t in expr.cast_types() {
            match pg_types::parse(t.as_str()) {
                Some(PgType::BuiltIn(_)) => {}
                Some(PgType::User { name, array_dims }) => {
                    let known = self.enums.iter().any(|(n, _)| *n == name)
                        || sqlx::query_scalar::<_, bool>(
                            "SELECT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                             WHERE n.nspname = $1 AND t.typname = $2)",
                        )
                        .bind(self.namespace)
                        .bind(&name)
                        .fetch_one(&mut *conn)
                        .await?;
                    if !known {
                        return Err(Skip::Refused(format!("type {name:?} does not exist here")));
                    }
                    let q =
                        sqlguard::pg_type(&format!("{}{}", qualified(self.namespace, &name), "[]".repeat(array_dims)))?;
                    map.push((t.clone(), q));
                }
                None => return Err(Skip::Refused(format!("type {t} cannot be recreated here"))),
            }
        }
        if map.is_empty() {
            return Ok(expr);
        }
        Ok(expr.with_cast_types(|t| {
            map.iter().find(|(from, _)| from == t).map_or_else(|| t.clone(), |(_, to)| to.clone())
        })?)
    }

    /// The `DEFAULT` clause of a PostgreSQL column from a PostgreSQL sender: validated, each `nextval` sequence
    /// made here (the column's own, owned by it as on the sender, or a shared one, created if missing) and
    /// named in this namespace, casts qualified.
    async fn default_clause(
        &mut self,
        conn: &mut sqlx::PgConnection,
        c: &Column,
        column_sql: &str,
        text: &str,
    ) -> Result<String, Skip> {
        let expr = sqlguard::expression(PG, text)?;
        let mut renamed: Vec<(sqlguard::SequenceName, sqlguard::SequenceName)> = Vec::new();
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut notes = Vec::new();
        for s in expr.sequences() {
            if renamed.iter().any(|(from, _)| from == s) {
                continue;
            }
            let owned = c.sequence.as_ref().filter(|o| c.identity == Some(Identity::Serial) && o.name == s.name);
            let name = if let Some(seq) = owned {
                let options = sequence_options(seq, true)?;
                let name = free_sequence_name(conn, self.namespace, &seq.name, &mut self.reserved).await?;
                if name != seq.name {
                    notes.push(format!(
                        "column {:?}: a relation called {:?} exists here: its sequence is {name:?}",
                        c.name, seq.name
                    ));
                }
                let sql = qualified(self.namespace, &name);
                before.push(format!("CREATE SEQUENCE {sql} {options}"));
                after.push(format!("ALTER SEQUENCE {sql} OWNED BY {}.{column_sql}", self.table_sql));
                name
            } else {
                TableName::parse(&s.name)?;
                if s.name.starts_with(protocol::exclusions::APP_TABLE_PREFIX) {
                    return Err(Skip::Refused(format!("sequence {:?} is this app's own", s.name)));
                }
                match relkind(conn, self.namespace, &s.name).await? {
                    // A sequence here already is shared only when no column owns it: the import moves the
                    // sequences a table's defaults call past its keys, and a sender must not move another
                    // table's (or an identity's) that way.
                    Some(k) if k == "S" => {
                        if sequence_owned(conn, self.namespace, &s.name).await? {
                            return Err(Skip::Refused(format!(
                                "sequence {:?} here belongs to another table's column",
                                s.name
                            )));
                        }
                    }
                    Some(_) => {
                        return Err(Skip::Refused(format!("{:?} exists here and is not a sequence", s.name)));
                    }
                    None if self.reserved.contains(&s.name) => {}
                    None => {
                        self.reserved.push(s.name.clone());
                        before.push(format!("CREATE SEQUENCE {}", qualified(self.namespace, &s.name)));
                        notes.push(format!(
                            "column {:?}: sequence {:?} created here, owned by no column (as on the sender)",
                            c.name, s.name
                        ));
                    }
                }
                s.name.clone()
            };
            renamed.push((s.clone(), sqlguard::SequenceName { schema: Some(self.namespace.to_owned()), name }));
        }
        let expr = if renamed.is_empty() {
            expr
        } else {
            expr.with_sequences(|s| {
                renamed.iter().find(|(from, _)| from == s).map_or_else(|| s.clone(), |(_, to)| to.clone())
            })?
        };
        let expr = self.qualify_casts(conn, expr).await?;
        self.before.extend(before);
        self.after.extend(after);
        self.notes.extend(notes);
        Ok(expr.default_clause())
    }
}

impl Tables {
    /// Creates `schema`'s table here. Refuses names that are excluded or exist already.
    pub async fn create_table(&self, schema: &TableSchema) -> Result<CreateResult, EngineError> {
        let table = self.creatable(schema).await?;
        match self.db() {
            Db::Postgres(pool) => self.create_postgres(pool, schema, &table, true).await,
            Db::Sqlite(pool) => self.create_sqlite(pool, schema, &table, true).await,
        }
        .map(|ddl| CreateResult { notes: ddl.notes })
    }

    /// The statements [`Tables::create_table`] and then [`Tables::create_constraints_after_data`] would run here
    /// for `schema`, in order, with their notes: shown before anything runs (the Details tab's structure view,
    /// `db-transfer schema --ddl`). They are run inside a transaction that is rolled back, so they are checked by
    /// this very database and nothing is kept. Refused like `create_table` (excluded, existing).
    pub async fn create_table_ddl(&self, schema: &TableSchema) -> Result<Ddl, EngineError> {
        let table = self.creatable(schema).await?;
        match self.db() {
            Db::Postgres(pool) => self.create_postgres(pool, schema, &table, false).await,
            Db::Sqlite(pool) => self.create_sqlite(pool, schema, &table, false).await,
        }
    }

    /// The table's name when `schema` may be created here: not excluded, not there yet, referencing no excluded
    /// table.
    async fn creatable(&self, schema: &TableSchema) -> Result<TableName, EngineError> {
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
        refuse_oversized(schema)?;
        self.refuse_excluded_references(schema)?;
        Ok(table)
    }

    async fn create_postgres(
        &self,
        pool: &sqlx::PgPool,
        schema: &TableSchema,
        table: &TableName,
        commit: bool,
    ) -> Result<Ddl, EngineError> {
        let namespace = crate::postgres::inspect::current_namespace(pool).await?;
        let mut ran = Vec::new();
        // Expression texts are used only between two PostgreSQL databases.
        let exact = schema.dialect == Dialect::Postgres;
        let mut plan = PgPlan {
            namespace: &namespace,
            table_sql: qualified(&namespace, table.as_str()),
            enums: Vec::new(),
            reserved: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            notes: Vec::new(),
        };
        let mut types = Vec::with_capacity(schema.columns.len());
        for c in &schema.columns {
            types.push(self.pg_column_type(schema, c, &namespace, &mut plan.enums, &mut plan.notes)?);
        }
        let mut tx = pool.begin().await?;
        if !commit {
            // A preview holds its locks (a foreign key's target table) only briefly and gives up rather than wait.
            sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
            sqlx::query("SET LOCAL statement_timeout = '60s'").execute(&mut *tx).await?;
        }
        for (name, labels) in &plan.enums {
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = $1 AND t.typname = $2)",
            )
            .bind(&namespace)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
            if !exists {
                let labels: Vec<String> = labels.iter().map(|l| pg_literal(l)).collect();
                let sql = format!("CREATE TYPE {} AS ENUM ({})", qualified(&namespace, name), labels.join(", "));
                run_pg(&mut tx, sql, &mut ran).await?;
            }
        }

        let mut defs = Vec::new();
        for (c, ty) in schema.columns.iter().zip(types) {
            let name = ColumnName::parse(&c.name)?;
            let mut def = format!("{} {ty}", name.quoted());
            if exact && let Some(collation) = &c.collation {
                // A quoted name, looked up as PostgreSQL does (on the search path, pg_catalog first); one this database lacks
                // (or has only outside the search path, where the unqualified name would not find it) is noted.
                let found = async {
                    let n = ColumnName::parse(collation)?;
                    let exists: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = $1 AND pg_collation_is_visible(oid)
                           AND collencoding IN (-1, pg_char_to_encoding(getdatabaseencoding())))",
                    )
                    .bind(n.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    if exists {
                        Ok(n)
                    } else {
                        Err(Skip::Refused(format!("collation {collation:?} does not exist here")))
                    }
                }
                .await;
                if let Some(n) =
                    noted(found, &mut plan.notes, |why| format!("column {:?}: collation not recreated: {why}", c.name))?
                {
                    def.push_str(&format!(" COLLATE {}", n.quoted()));
                }
            }
            let integer = c.kind == ValueKind::Int;
            match (&c.identity, exact) {
                (Some(Identity::Always | Identity::ByDefault), true) if integer => {
                    let always = c.identity == Some(Identity::Always);
                    def.push_str(if always {
                        " GENERATED ALWAYS AS IDENTITY"
                    } else {
                        " GENERATED BY DEFAULT AS IDENTITY"
                    });
                    if let Some(seq) = &c.sequence {
                        let options = async {
                            let options = sequence_options(seq, false)?;
                            let name = free_sequence_name(&mut tx, &namespace, &seq.name, &mut plan.reserved).await?;
                            Ok::<_, Skip>((
                                name.clone(),
                                format!(" (SEQUENCE NAME {} {options})", qualified(&namespace, &name)),
                            ))
                        }
                        .await;
                        let options = options.map(|(name, sql)| {
                            if name != seq.name {
                                plan.notes.push(format!(
                                    "column {:?}: a relation called {:?} exists here: its sequence is {name:?}",
                                    c.name, seq.name
                                ));
                            }
                            sql
                        });
                        if let Some(o) = noted(options, &mut plan.notes, |why| {
                            format!("column {:?}: identity sequence options not kept: {why}", c.name)
                        })? {
                            def.push_str(&o);
                        }
                    }
                }
                (Some(_), false) if integer => def.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
                (_, true) if c.generated.is_some() => {
                    let text = c.generated.as_deref().unwrap_or_default();
                    let expr = async {
                        let e = sqlguard::generated(PG, text)?;
                        plan.qualify_casts(&mut tx, e).await
                    }
                    .await;
                    if let Some(e) = noted(expr, &mut plan.notes, |why| {
                        format!(
                            "column {:?}: generation expression not recreated: {why}; a plain column here (values are copied)",
                            c.name
                        )
                    })? {
                        def.push_str(&format!(" GENERATED ALWAYS AS ({e}) STORED"));
                    }
                }
                (_, true) => {
                    if let Some(d) = c.default.as_deref() {
                        let clause = plan.default_clause(&mut tx, c, &name.quoted(), d).await;
                        if let Some(clause) = noted(clause, &mut plan.notes, |why| {
                            format!("column {:?}: default not recreated: {why}", c.name)
                        })? {
                            def.push_str(&format!(" DEFAULT {clause}"));
                        }
                    }
                }
                (_, false) => {
                    if let Some(d) = c.default.as_deref() {
                        match safe_default(d, c.kind, Dialect::Postgres) {
                            Some(sql) => def.push_str(&format!(" DEFAULT {sql}")),
                            None => plan.notes.push(format!("column {:?}: default {d:?} not recreated", c.name)),
                        }
                    }
                }
            }
            if c.generated.is_some() && !exact {
                plan.notes.push(format!(
                    "column {:?}: generated in the source, a plain column here (values are copied)",
                    c.name
                ));
            }
            if !c.nullable {
                def.push_str(" NOT NULL");
            }
            if exact
                && let Some(text) = &c.comment
                && let Some(lit) = noted(comment_literal(text), &mut plan.notes, |why| {
                    format!("column {:?}: comment not recreated: {why}", c.name)
                })?
            {
                plan.after.push(format!("COMMENT ON COLUMN {}.{} IS {lit}", plan.table_sql, name.quoted()));
            }
            defs.push(def);
        }
        if let Some(key) = primary_key_clause(schema)? {
            defs.push(key);
        }
        for u in &schema.unique_constraints {
            defs.push(format!(
                "CONSTRAINT {} {}",
                ColumnName::parse(&u.name)?.quoted(),
                key_clause("UNIQUE", &u.columns, constraint_options(schema, &u.name, exact))?
            ));
        }
        let partition_by = if exact { self.pg_partitions(&mut tx, schema, &mut plan).await? } else { String::new() };
        if exact
            && let Some(text) = &schema.comment
            && let Some(lit) = noted(comment_literal(text), &mut plan.notes, |why| {
                format!("table {:?}: comment not recreated: {why}", schema.name)
            })?
        {
            plan.after.push(format!("COMMENT ON TABLE {} IS {lit}", plan.table_sql));
        }

        let mut with = Vec::new();
        for option in schema.storage.iter().filter(|_| exact) {
            if let Some(p) = noted(storage_parameter(option), &mut plan.notes, |why| {
                format!("table {:?}: not recreated: {why}", schema.name)
            })? {
                with.push(p);
            }
        }
        let with = if with.is_empty() { String::new() } else { format!(" WITH ({})", with.join(", ")) };
        let create = format!(
            "CREATE {}TABLE {} ({}){partition_by}{with}",
            if exact && schema.unlogged { "UNLOGGED " } else { "" },
            plan.table_sql,
            defs.join(", ")
        );
        let mut notes = std::mem::take(&mut plan.notes);
        for sql in plan.before.into_iter().chain([create]).chain(plan.after) {
            run_pg(&mut tx, sql, &mut ran).await?;
        }
        if commit {
            sqlx::query(EXPECT_CONSTRAINTS_SQL).bind(table.as_str()).bind(store::unix_now()).execute(&mut *tx).await?;
            tx.commit().await?;
        } else {
            let (after, after_notes) =
                self.after_data_statements(Some(&mut tx), schema, table, Some(&namespace)).await?;
            notes.extend(after_notes);
            for (what, sql) in after {
                if let Some(why) = try_in_savepoint!(tx, &sql) {
                    notes.push(format!("{what} would not be recreated now: {why}"));
                }
                ran.push(sql);
            }
            tx.rollback().await?;
        }
        Ok(Ddl { statements: ran, notes })
    }

    /// ` PARTITION BY …` for a partitioned sender table (empty otherwise or when its key is refused), with each
    /// partition's `CREATE TABLE … PARTITION OF … FOR VALUES …` queued after the table. A partition whose name is
    /// taken or excluded here refuses the whole table; one whose bound is refused is left out, named in the
    /// notes (its rows then fail to import, each reported).
    async fn pg_partitions(
        &self,
        conn: &mut sqlx::PgConnection,
        schema: &TableSchema,
        plan: &mut PgPlan<'_>,
    ) -> Result<String, EngineError> {
        let Some(key) = &schema.partition_key else { return Ok(String::new()) };
        let key = match sqlguard::partition_key(key) {
            Ok(k) => k,
            Err(r) => {
                plan.notes.push(format!(
                    "table {:?}: partition key not recreated: {r}; a plain table here, without partitions",
                    schema.name
                ));
                return Ok(String::new());
            }
        };
        let mut made = vec![schema.name.clone()];
        for (i, p) in schema.partitions.iter().enumerate() {
            if i == MAX_PARTITIONS {
                plan.notes.push(format!(
                    "table {:?}: {} partitions, only the first {MAX_PARTITIONS} created",
                    schema.name,
                    schema.partitions.len()
                ));
                break;
            }
            let name = TableName::parse(&p.name)?;
            if self.exclusions().is_excluded(name.as_str()) {
                return Err(EngineError::BadRequest(format!(
                    "table {:?}: partition {:?} is excluded here; nothing was created",
                    schema.name, p.name
                )));
            }
            if relkind(conn, plan.namespace, name.as_str()).await?.is_some() || made.contains(&p.name) {
                return Err(EngineError::BadRequest(format!(
                    "table {:?}: partition {:?} already exists here; nothing was created",
                    schema.name, p.name
                )));
            }
            if !made.contains(&p.parent) {
                plan.notes
                    .push(format!("partition {:?} not created: its parent {:?} was not created", p.name, p.parent));
                continue;
            }
            let bound = match sqlguard::partition_bound(&p.bound) {
                Ok(b) => b,
                Err(r) => {
                    plan.notes.push(format!("partition {:?} not created: its bound is refused: {r}", p.name));
                    continue;
                }
            };
            let sub = match &p.partition_key {
                None => String::new(),
                Some(k) => match sqlguard::partition_key(k) {
                    Ok(k) => format!(" PARTITION BY {k}"),
                    Err(r) => {
                        plan.notes
                            .push(format!("partition {:?} not created: its partition key is refused: {r}", p.name));
                        continue;
                    }
                },
            };
            plan.after.push(format!(
                "CREATE TABLE {} PARTITION OF {} {bound}{sub}",
                qualified(plan.namespace, name.as_str()),
                qualified(plan.namespace, TableName::parse(&p.parent)?.as_str())
            ));
            made.push(p.name.clone());
        }
        Ok(format!(" PARTITION BY {key}"))
    }

    async fn create_sqlite(
        &self,
        pool: &sqlx::SqlitePool,
        schema: &TableSchema,
        table: &TableName,
        commit: bool,
    ) -> Result<Ddl, EngineError> {
        let exact = schema.dialect == Dialect::Sqlite;
        let mut notes = Vec::new();
        let parsed = match schema.definition.as_deref().filter(|_| exact).map(sqlguard::sqlite_table) {
            Some(Ok(t)) => Some(t),
            Some(Err(r)) => {
                notes.push(format!(
                    "table {:?}: CHECKs, AUTOINCREMENT, WITHOUT ROWID and STRICT not recreated: {r}",
                    schema.name
                ));
                None
            }
            None => None,
        };
        let without_rowid = parsed.as_ref().is_some_and(|t| t.without_rowid);
        // AUTOINCREMENT is only for the one INTEGER column that is the whole primary key: a sender's definition
        // naming another column would replace the key (or fail), so it is kept only when the schema agrees.
        let autoincrement = parsed.as_ref().and_then(|t| t.autoincrement.as_ref()).map(|c| c.value().to_owned());
        let autoincrement = match autoincrement {
            Some(col)
                if schema.primary_key == [col.clone()]
                    && schema.column(&col).is_some_and(|c| c.data_type.trim().eq_ignore_ascii_case("INTEGER")) =>
            {
                Some(col)
            }
            Some(col) => {
                notes.push(format!(
                    "table {:?}: AUTOINCREMENT on {col:?} not recreated: it is not the table's one INTEGER primary key",
                    schema.name
                ));
                None
            }
            None => None,
        };
        let checks = parsed.as_ref().map(|t| t.checks.as_slice()).unwrap_or_default();
        let check_sql = |c: &sqlguard::SqliteCheck| match &c.name {
            Some(n) => format!("CONSTRAINT {n} {}", c.check),
            None => c.check.to_string(),
        };
        let mut defs = Vec::new();
        for c in &schema.columns {
            let name = ColumnName::parse(&c.name)?;
            let ty = if !exact {
                sqlite_type_for_kind(c.kind).to_owned()
            } else if c.data_type.trim().is_empty() {
                String::new()
            } else {
                match sqlguard::sqlite_type(&c.data_type) {
                    Ok(t) => t.to_string(),
                    Err(r) => {
                        let portable = sqlite_type_for_kind(c.kind);
                        notes.push(format!("column {:?}: declared type not kept ({r}): {portable} here", c.name));
                        portable.to_owned()
                    }
                }
            };
            let mut def = name.quoted();
            if !ty.is_empty() {
                def.push(' ');
                def.push_str(&ty);
            }
            let autoinc = autoincrement.as_deref() == Some(c.name.as_str());
            if autoinc {
                def.push_str(" PRIMARY KEY AUTOINCREMENT");
            }
            if let Some(d) = c.default.as_deref() {
                let clause = if exact {
                    sqlguard::expression(LITE, d).map(|e| e.default_clause()).map_err(|r| format!(": {r}"))
                } else {
                    safe_default(d, c.kind, Dialect::Sqlite).ok_or_else(String::new)
                };
                match clause {
                    Ok(sql) => def.push_str(&format!(" DEFAULT {sql}")),
                    Err(why) => notes.push(format!("column {:?}: default {d:?} not recreated{why}", c.name)),
                }
            }
            if c.generated.is_some() {
                notes.push(format!(
                    "column {:?}: generated in the source, a plain column here (values are copied)",
                    c.name
                ));
            }
            // A rowid alias is NOT NULL without saying so (and reads back so); a WITHOUT ROWID table's key reads
            // back NOT NULL too and is written so.
            let implied = exact && c.identity == Some(Identity::Serial);
            if !c.nullable && !implied {
                def.push_str(" NOT NULL");
            }
            for chk in checks.iter().filter(|k| k.column.as_ref().is_some_and(|col| col.value() == c.name)) {
                def.push(' ');
                def.push_str(&check_sql(chk));
            }
            defs.push(def);
        }
        if !schema.primary_key.is_empty() && autoincrement.is_none() {
            defs.push(format!("PRIMARY KEY ({})", quoted_list(&schema.primary_key)?));
        }
        for u in &schema.unique_constraints {
            // SQLite names a UNIQUE constraint's index itself (`sqlite_autoindex_…`): no name to repeat.
            if exact && u.name.starts_with("sqlite_autoindex_") {
                defs.push(format!("UNIQUE ({})", quoted_list(&u.columns)?));
            } else {
                defs.push(format!(
                    "CONSTRAINT {} UNIQUE ({})",
                    ColumnName::parse(&u.name)?.quoted(),
                    quoted_list(&u.columns)?
                ));
            }
        }
        for fk in &schema.foreign_keys {
            defs.push(self.fk_clause(fk, None)?);
        }
        for chk in checks.iter().filter(|k| k.column.is_none()) {
            defs.push(check_sql(chk));
        }
        let mut options = Vec::new();
        if without_rowid {
            options.push("WITHOUT ROWID");
        }
        if parsed.as_ref().is_some_and(|t| t.strict) {
            options.push("STRICT");
        }
        let options = if options.is_empty() { String::new() } else { format!(" {}", options.join(", ")) };
        let mut tx = pool.begin().await?;
        let sql = format!("CREATE TABLE {} ({}){options}", table.quoted(), defs.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut *tx).await?;
        let mut statements = vec![sql];
        if commit {
            sqlx::query(EXPECT_CONSTRAINTS_SQL).bind(table.as_str()).bind(store::unix_now()).execute(&mut *tx).await?;
            tx.commit().await?;
        } else {
            let (after, after_notes) = self.after_data_statements(None, schema, table, None).await?;
            notes.extend(after_notes);
            for (what, sql) in after {
                if let Some(why) = try_in_savepoint!(tx, &sql) {
                    notes.push(format!("{what} would not be recreated now: {why}"));
                }
                statements.push(sql);
            }
            tx.rollback().await?;
        }
        Ok(Ddl { statements, notes })
    }

    /// Adds the foreign keys and CHECK constraints (PostgreSQL) and secondary indexes of `schema` to the table,
    /// after its rows are in — when [`Tables::create_table`] made it and they are still pending (the transfer that
    /// created it may have been killed since: any later transfer into it, from any path, finishes it). Otherwise
    /// nothing: a table this side had before never gets a sender's constraints. On PostgreSQL the primary key
    /// comes first when the import took it off for the rows ([`crate::Tables::prepare_import`]); rows that break
    /// it are an error naming the table, and the constraints stay pending.
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
        // The primary key first, if an import took it off for the rows (from the statement stored then): a
        // foreign key of the table to itself needs it. Then the keys of the tables its foreign keys reference
        // that are still without theirs (a transfer into them that stopped early): a foreign key needs them too.
        if let (Db::Postgres(pool), Some(ns)) = (self.db(), namespace.as_deref()) {
            restore_stored_primary_key(self.db(), pool, table.as_str(), &qualified(ns, table.as_str())).await?;
            for fk in &schema.foreign_keys {
                let parent = TableName::parse(&fk.ref_table)?;
                if parent.as_str() != table.as_str() {
                    let parent_sql = qualified(ns, parent.as_str());
                    restore_stored_primary_key(self.db(), pool, parent.as_str(), &parent_sql).await?;
                }
            }
        }
        // Idempotent and all-or-nothing: a background job that stops halfway, or runs this step twice after a
        // restart, ends with each constraint once.
        let (statements, notes) = match self.db() {
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                self.after_data_statements(Some(&mut conn), schema, &table, namespace.as_deref()).await?
            }
            Db::Sqlite(_) => self.after_data_statements(None, schema, &table, None).await?,
        };
        let mut notes = notes;
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            for (what, sql) in statements {
                // One this database refuses (an operator class of an extension not installed here, rows that
                // break a foreign key) is named in the notes; the others are still made.
                let mut savepoint = sqlx::Acquire::begin(&mut tx).await?;
                match sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *savepoint).await {
                    Ok(_) => savepoint.commit().await?,
                    Err(sqlx::Error::Database(e)) => {
                        savepoint.rollback().await?;
                        notes.push(format!("{what} not recreated: {}", e.message()));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            sqlx::query(CONSTRAINTS_ADDED_SQL).bind(table.as_str()).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(CreateResult { notes })
    }

    /// The statements that add `schema`'s foreign keys and CHECKs (PostgreSQL, over `pg`) and secondary indexes
    /// to `table`, leaving out constraints it has already, with the notes on what is refused.
    async fn after_data_statements(
        &self,
        pg: Option<&mut sqlx::PgConnection>,
        schema: &TableSchema,
        table: &TableName,
        namespace: Option<&str>,
    ) -> Result<(Vec<(String, String)>, Vec<String>), EngineError> {
        let table_sql = match namespace {
            Some(ns) => qualified(ns, table.as_str()),
            None => table.quoted(),
        };
        let mut notes = Vec::new();
        let mut statements = Vec::new();
        let mut pg = pg;
        if let (Some(conn), Some(ns)) = (pg.as_deref_mut(), namespace) {
            for fk in &schema.foreign_keys {
                let name = ColumnName::parse(&fk.name)?;
                if constraint_exists(conn, &table_sql, name.as_str()).await? {
                    continue;
                }
                statements.push((
                    format!("foreign key {:?}", fk.name),
                    format!(
                        "ALTER TABLE {table_sql} ADD CONSTRAINT {} {}{}",
                        name.quoted(),
                        self.fk_clause(fk, namespace)?,
                        deferrable_clause(constraint_options(schema, &fk.name, schema.dialect == Dialect::Postgres))
                    ),
                ));
            }
            if schema.dialect == Dialect::Postgres {
                let plan = PgPlan {
                    namespace: ns,
                    table_sql: table_sql.clone(),
                    enums: Vec::new(),
                    reserved: Vec::new(),
                    before: Vec::new(),
                    after: Vec::new(),
                    notes: Vec::new(),
                };
                for (i, chk) in schema.checks.iter().enumerate() {
                    if i == MAX_CHECKS {
                        notes.push(format!(
                            "table {:?}: {} CHECK constraints, only the first {MAX_CHECKS} recreated",
                            schema.name,
                            schema.checks.len()
                        ));
                        break;
                    }
                    let made = async {
                        if chk.definition.trim_start().to_ascii_uppercase().starts_with("EXCLUDE") {
                            return Err(Skip::Refused("exclusion constraints are not recreated".into()));
                        }
                        let name = ColumnName::parse(&chk.name)?;
                        let check = sqlguard::check(PG, &chk.definition)?;
                        let expr = plan.qualify_casts(conn, check.expr.clone()).await?;
                        Ok::<_, Skip>((name, sqlguard::Check { expr, ..check }))
                    }
                    .await;
                    let Some((name, check)) =
                        noted(made, &mut notes, |why| format!("constraint {:?} not recreated: {why}", chk.name))?
                    else {
                        continue;
                    };
                    if constraint_exists(conn, &table_sql, name.as_str()).await? {
                        continue;
                    }
                    statements.push((
                        format!("constraint {:?}", chk.name),
                        format!("ALTER TABLE {table_sql} ADD CONSTRAINT {} {check}", name.quoted()),
                    ));
                }
            }
        }
        let exact = matches!(
            (self.db(), schema.dialect),
            (Db::Postgres(_), Dialect::Postgres) | (Db::Sqlite(_), Dialect::Sqlite)
        );
        for index in &schema.indexes {
            // `IF NOT EXISTS` keeps an index this table has already (a resumed step); a name some other relation
            // holds here would be skipped with only a server NOTICE: named in the notes instead.
            if let Some(holder) = self.index_name_holder(pg.as_deref_mut(), namespace, &index.name, table).await? {
                notes.push(format!("index {:?} not recreated: the name is taken here by {holder}", index.name));
                continue;
            }
            if exact && !index.definition.is_empty() {
                let dialect = if schema.dialect == Dialect::Postgres { PG } else { LITE };
                let sql = sqlguard::index(dialect, &index.definition).and_then(|mut def| {
                    def.if_not_exists = true;
                    // On a partitioned table the index is made on every partition too, as the sender's is.
                    def.only = false;
                    def.render(&index.name, namespace, table.as_str())
                });
                match sql {
                    Ok(sql) => statements.push((format!("index {:?}", index.name), sql)),
                    Err(r) => notes.push(format!("index {:?} not recreated: {r}", index.name)),
                }
                continue;
            }
            if index.columns.is_empty() {
                notes.push(format!("index {:?} is on expressions: not recreated", index.name));
                continue;
            }
            statements.push((
                format!("index {:?}", index.name),
                format!(
                    "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
                    if index.unique { "UNIQUE " } else { "" },
                    ColumnName::parse(&index.name)?.quoted(),
                    table_sql,
                    quoted_list(&index.columns)?
                ),
            ));
        }
        Ok((statements, notes))
    }

    /// What holds the name `name` here when it is not an index of `table` (which `IF NOT EXISTS` would keep):
    /// "table \"x\"", "index \"y\" of table \"z\""…; `None` when the name is free or is `table`'s own index.
    async fn index_name_holder(
        &self,
        pg: Option<&mut sqlx::PgConnection>,
        namespace: Option<&str>,
        name: &str,
        table: &TableName,
    ) -> Result<Option<String>, EngineError> {
        let found: Option<(String, String)> = match (pg, namespace, self.db()) {
            (Some(conn), Some(ns), _) => {
                sqlx::query_as(
                    "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                              WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index'
                              WHEN 'I' THEN 'index' WHEN 'f' THEN 'foreign table' ELSE 'relation' END,
                            COALESCE(t.relname::text, '')
                     FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     LEFT JOIN pg_index i ON i.indexrelid = c.oid
                     LEFT JOIN pg_class t ON t.oid = i.indrelid
                     WHERE n.nspname = $1 AND c.relname = $2",
                )
                .bind(ns)
                .bind(name)
                .fetch_optional(conn)
                .await?
            }
            (_, _, Db::Sqlite(pool)) => {
                sqlx::query_as("SELECT type, tbl_name FROM sqlite_master WHERE name = ?1 COLLATE NOCASE")
                    .bind(name)
                    .fetch_optional(pool)
                    .await?
            }
            _ => None,
        };
        // SQLite's names are case-insensitive.
        let own = |of: &str| match self.db() {
            Db::Sqlite(_) => of.eq_ignore_ascii_case(table.as_str()),
            Db::Postgres(_) => of == table.as_str(),
        };
        Ok(found.and_then(|(kind, of)| match kind.as_str() {
            "index" if own(&of) => None,
            "index" => Some(format!("index {name:?} of table {of:?}")),
            _ => Some(format!("{kind} {name:?}")),
        }))
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
        // A backslash never escapes the closing quote, whatever standard_conforming_strings says.
        assert_eq!(safe_default(r"'a\'", Text, Postgres).as_deref(), Some(r"E'a\\'"));
        assert_eq!(safe_default(r"'a\'", Text, Sqlite).as_deref(), Some(r"'a\'"));
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
