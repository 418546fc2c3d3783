//! Import into PostgreSQL: the page is COPYed into a temporary staging table with the target's exact column
//! types, then one set-based statement applies the strategy and counts exactly (`RETURNING (xmax = 0)`). If
//! the fast path fails (a value that does not fit, a constraint, a key twice in the page), the page is redone
//! in halves under savepoints down to single rows, so every good row lands and every bad one is reported with the
//! database's reason.
//! The whole page is one transaction.

use sqlx::{Connection, PgConnection, PgPool};

use super::careful::Careful;
use crate::error::EngineError;
use crate::plan::ImportPlan;
use appdata::jobs::Checkpoint;
use protocol::ident::quote;
use protocol::page::Page;
use protocol::request::{ImportResult, RowError, Strategy};
use protocol::value::{Value, ValueKind, float_text, hex};

/// The page's staging table, named in the session's own temporary schema (never found through `search_path`).
const STAGE: &str = "pg_temp.dbt_stage";

/// Appends one value in COPY text format; `Err` when the value cannot go into a column of this kind.
fn copy_field(out: &mut Vec<u8>, v: &Value, kind: ValueKind) -> Result<(), String> {
    match (v, kind) {
        (Value::Null, _) => out.extend_from_slice(b"\\N"),
        (Value::Bool(b), _) => out.push(if *b { b't' } else { b'f' }),
        (Value::Int(i), _) => out.extend_from_slice(i.to_string().as_bytes()),
        (Value::Float(f), _) => out.extend_from_slice(float_text(*f).as_bytes()),
        (Value::Bytes(b), ValueKind::Bytes) => {
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex(b).as_bytes());
        }
        (Value::Bytes(b), _) => {
            return Err(format!("{} bytes of binary data cannot go into a non-binary column", b.len()));
        }
        (Value::Text(t), ValueKind::Bytes) => {
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex(t.as_bytes()).as_bytes());
        }
        (Value::Text(t), _) => {
            for &b in t.as_bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
    Ok(())
}

/// The statement that moves staged rows into the target and returns `(created, updated)`.
fn apply_sql(plan: &ImportPlan) -> String {
    let table = &plan.table_sql;
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let cols = cols.join(", ");
    let overriding = if plan.columns.iter().any(|c| c.identity_always) { " OVERRIDING SYSTEM VALUE" } else { "" };
    let insert = format!("INSERT INTO {table} AS tgt ({cols}){overriding} SELECT {cols} FROM {STAGE}");
    let key = plan.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    let body = match plan.strategy {
        Strategy::Append => format!("{insert} RETURNING true AS inserted"),
        Strategy::Skip => format!("{insert} ON CONFLICT ({key}) DO NOTHING RETURNING true AS inserted"),
        Strategy::Overwrite | Strategy::Merge => {
            let sets = plan.assignments(|c| format!("excluded.{}", quote(c)), |c| format!("tgt.{}", quote(c)));
            format!("{insert} ON CONFLICT ({key}) DO UPDATE SET {sets} RETURNING (xmax = 0) AS inserted")
        }
    };
    format!(
        "WITH applied AS ({body}) SELECT count(*) FILTER (WHERE inserted)::int8, count(*) FILTER (WHERE NOT inserted)::int8 FROM applied"
    )
}

async fn copy_into(conn: &mut PgConnection, plan: &ImportPlan, table: &str, data: &[u8]) -> Result<(), sqlx::Error> {
    copy_in(conn, plan, table, data, "").await
}

async fn copy_in(
    conn: &mut PgConnection,
    plan: &ImportPlan,
    table: &str,
    data: &[u8],
    options: &str,
) -> Result<(), sqlx::Error> {
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let mut copy = conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN{options}", cols.join(", "))).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

/// A failed run of at most this many rows is redone row by row rather than halved further.
const ROW_BY_ROW_BELOW: usize = 16;

pub async fn import(
    pool: &PgPool,
    plan: &ImportPlan,
    page: &Page,
    checkpoint: Option<&Checkpoint>,
) -> Result<ImportResult, EngineError> {
    let mut result = ImportResult { notes: plan.notes.clone(), ..Default::default() };

    // Encode every row once, into one COPY buffer: a row whose values cannot go into the target is reported and
    // left out. `encoded` remembers where each row's line is, for the row-by-row path.
    let mut all: Vec<u8> = Vec::with_capacity(page.rows.len() * plan.columns.len() * 8);
    let mut encoded: Vec<(usize, std::ops::Range<usize>)> = Vec::with_capacity(page.rows.len());
    'rows: for (index, row) in page.rows.iter().enumerate() {
        let start = all.len();
        for (n, c) in plan.columns.iter().enumerate() {
            if n > 0 {
                all.push(b'\t');
            }
            if let Err(reason) = copy_field(&mut all, &row[c.page_index], c.kind) {
                all.truncate(start);
                result.errors.push(RowError {
                    key: plan.describe_row(row, index),
                    reason: format!("column {:?}: {reason}", c.name),
                });
                continue 'rows;
            }
        }
        all.push(b'\n');
        encoded.push((index, start..all.len()));
    }

    let mut conn = Careful::acquire(pool).await?;
    let imported = import_on(&mut conn, plan, page, &all, &encoded, result, checkpoint).await?;
    conn.release();
    Ok(imported)
}

/// [`import`] on one connection, in one transaction.
async fn import_on(
    conn: &mut PgConnection,
    plan: &ImportPlan,
    page: &Page,
    all: &[u8],
    encoded: &[(usize, std::ops::Range<usize>)],
    mut result: ImportResult,
    checkpoint: Option<&Checkpoint>,
) -> Result<ImportResult, EngineError> {
    let mut tx = conn.begin().await?;
    if plan.strategy == Strategy::Append {
        // The target generates the keys: its sequences must first stand past the keys already there.
        advance_sequences(&mut tx, plan).await?;
    }

    // Fastest path: nothing in the target can conflict, so COPY straight into it. Any surprise (a key twice in
    // the page, a concurrent writer, a bad value) makes the COPY fail, and the page goes the careful way below.
    if !encoded.is_empty() && nothing_can_conflict(&mut tx, plan, page).await? {
        sqlx::query("SAVEPOINT dbt_direct").execute(&mut *tx).await?;
        if copy_into(&mut tx, plan, &plan.table_sql, all).await.is_ok() {
            result.created += encoded.len() as u64;
            advance_sequences(&mut tx, plan).await?;
            if let Some(c) = checkpoint {
                c.write_postgres(&mut tx, &result).await?;
            }
            tx.commit().await?;
            return Ok(result);
        }
        sqlx::query("ROLLBACK TO SAVEPOINT dbt_direct").execute(&mut *tx).await?;
    }

    create_stage(&mut tx, plan).await?;
    let apply = apply_sql(plan);

    // Fast path: the whole page at once.
    sqlx::query("SAVEPOINT dbt_page").execute(&mut *tx).await?;
    let fast = async {
        copy_into(&mut tx, plan, STAGE, all).await?;
        sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(apply.clone())).fetch_one(&mut *tx).await
    }
    .await;
    match fast {
        Ok((created, updated)) => {
            result.created += created as u64;
            result.updated += updated as u64;
            if plan.strategy == Strategy::Skip {
                result.skipped += encoded.len() as u64 - created as u64;
            }
        }
        Err(_) => {
            // Careful path: the page in halves, each under its own savepoint, down to single rows, so the good
            // rows land and each bad one is reported with the database's reason — a few bad rows in a page of
            // 100 000 cost some dozens of statements, not one per row.
            sqlx::query("ROLLBACK TO SAVEPOINT dbt_page").execute(&mut *tx).await?;
            let mut pending: Vec<&[(usize, std::ops::Range<usize>)]> = vec![encoded];
            while let Some(chunk) = pending.pop() {
                let Some(((_, first), (_, last))) = chunk.first().zip(chunk.last()) else { continue };
                sqlx::query("SAVEPOINT dbt_chunk").execute(&mut *tx).await?;
                let attempt = async {
                    sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {STAGE}"))).execute(&mut *tx).await?;
                    // The rows of a chunk are one run of lines: rows left out were never written into `all`.
                    copy_into(&mut tx, plan, STAGE, &all[first.start..last.end]).await?;
                    sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(apply.clone())).fetch_one(&mut *tx).await
                }
                .await;
                match attempt {
                    Ok((created, updated)) => {
                        sqlx::query("RELEASE SAVEPOINT dbt_chunk").execute(&mut *tx).await?;
                        result.created += created as u64;
                        result.updated += updated as u64;
                        if plan.strategy == Strategy::Skip {
                            result.skipped += chunk.len() as u64 - created as u64;
                        }
                    }
                    Err(e) => {
                        sqlx::query("ROLLBACK TO SAVEPOINT dbt_chunk").execute(&mut *tx).await?;
                        if let [(index, _)] = chunk {
                            result.errors.push(RowError {
                                key: plan.describe_row(&page.rows[*index], *index),
                                reason: database_reason(&e),
                            });
                        } else if chunk.len() <= ROW_BY_ROW_BELOW {
                            // Short runs row by row (a page of bad rows costs no more than one by one did);
                            // reversed, as the stack pops the first row first.
                            pending.extend(chunk.chunks(1).rev());
                        } else {
                            // Left half first (popped first): rows land in page order, as one by one would.
                            let (left, right) = chunk.split_at(chunk.len() / 2);
                            pending.push(right);
                            pending.push(left);
                        }
                    }
                }
            }
        }
    }
    advance_sequences(&mut tx, plan).await?;
    if let Some(c) = checkpoint {
        c.write_postgres(&mut tx, &result).await?;
    }
    tx.commit().await?;
    Ok(result)
}

/// The staging table for one page: the plan's columns with the target's exact types, dropped at commit.
async fn create_stage(conn: &mut PgConnection, plan: &ImportPlan) -> Result<(), sqlx::Error> {
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let sql = format!(
        "CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
        cols.join(", "),
        plan.table_sql
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

/// True when no existing row can share a key with the page: append (no key to share, and identity columns
/// generate new ones), or a single integer key whose page range [min, max] holds no row yet — the usual case
/// when a transfer fills a table in key order. One index probe.
async fn nothing_can_conflict(conn: &mut PgConnection, plan: &ImportPlan, page: &Page) -> Result<bool, EngineError> {
    let mut bounds: Option<(i64, i64)> = None;
    if let Some(column) = int_key(plan) {
        for row in &page.rows {
            let Value::Int(k) = row[column.page_index] else { return Ok(false) };
            bounds = Some(bounds.map_or((k, k), |(lo, hi)| (lo.min(k), hi.max(k))));
        }
    }
    nothing_can_conflict_within(conn, plan, bounds).await
}

/// The plan's single integer key column, when it has one that a page's range can be probed by.
fn int_key(plan: &ImportPlan) -> Option<&crate::plan::PlannedColumn> {
    let [key] = plan.key.as_slice() else { return None };
    plan.columns.iter().find(|c| &c.name == key).filter(|c| c.kind == ValueKind::Int && !c.identity_always)
}

/// [`nothing_can_conflict`] for a page whose integer keys lie in `bounds`.
async fn nothing_can_conflict_within(
    conn: &mut PgConnection,
    plan: &ImportPlan,
    bounds: Option<(i64, i64)>,
) -> Result<bool, EngineError> {
    if plan.strategy == Strategy::Append {
        return Ok(plan.columns.iter().all(|c| !c.identity_always));
    }
    let (Some(column), Some((lo, hi))) = (int_key(plan), bounds) else { return Ok(false) };
    let key = &column.name;
    let sql =
        format!("SELECT NOT EXISTS (SELECT 1 FROM {} WHERE {k} >= $1 AND {k} <= $2)", plan.table_sql, k = quote(key));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(lo).bind(hi).fetch_one(&mut *conn).await?)
}

/// Imports a page that arrived as PostgreSQL binary COPY bytes of exactly the plan's columns, in order, with
/// the target's own types (the caller checked): straight into the table when nothing can conflict, else
/// through the staging table and the strategy's statement. `Ok(None)` when PostgreSQL refused the bytes or a
/// row: nothing was written, and the caller redoes the page the careful way (row by row, with reasons).
pub async fn import_binary_copy(
    pool: &PgPool,
    plan: &ImportPlan,
    data: &[u8],
    rows: usize,
    checkpoint: Option<&Checkpoint>,
) -> Result<Option<ImportResult>, EngineError> {
    import_binary_copy_keyed(pool, plan, data, rows, checkpoint, false).await
}

/// [`import_binary_copy`] into a table whose primary key may be off (`key_off`: a prepared import took it off
/// while the table was empty, see [`crate::Tables::prepare_import`]). Then the page goes straight into the table
/// with no probe — the sender's keyset walk gives each key once, and without the key's index the probe would read
/// the whole table — and the sequences move past the page's own largest values, read from its bytes, for the
/// same reason (`max()` over the table would read every row for each page).
pub(crate) async fn import_binary_copy_keyed(
    pool: &PgPool,
    plan: &ImportPlan,
    data: &[u8],
    rows: usize,
    checkpoint: Option<&Checkpoint>,
    key_off: bool,
) -> Result<Option<ImportResult>, EngineError> {
    use super::binary_copy;
    let tuples = binary_copy::scan(data, plan.columns.len()).map_err(EngineError::MalformedPage)?;
    if tuples.starts.len() != rows || plan.columns.iter().enumerate().any(|(i, c)| c.page_index != i) {
        return Err(EngineError::MalformedPage(format!(
            "the page header says {rows} rows, the COPY data holds {}",
            tuples.starts.len()
        )));
    }
    let mut conn = Careful::acquire(pool).await?;
    let imported = if key_off {
        let maxima = sequence_maxima(plan, data, &tuples.starts);
        import_binary_copy_on(&mut conn, plan, data, rows, Conflicts::None(&maxima), checkpoint).await?
    } else {
        let bounds = key_bounds(plan, data, &tuples.starts);
        import_binary_copy_on(&mut conn, plan, data, rows, Conflicts::Probe(bounds), checkpoint).await?
    };
    if imported.is_some() {
        // A refused COPY's connection is closed rather than trusted to be clean again.
        conn.release();
    }
    Ok(imported)
}

/// How a binary COPY page finds out whether it may go straight into the table.
enum Conflicts<'a> {
    /// Probe the table for keys in the page's integer key range, when it has one.
    Probe(Option<(i64, i64)>),
    /// The table's key is off: nothing can conflict; the sequences move to these page maxima.
    None(&'a [(String, i64)]),
}

/// The smallest and largest integer key of a binary COPY page: pages come in key order, so the first and last
/// tuples bound them. `None` without a single integer key.
fn key_bounds(plan: &ImportPlan, data: &[u8], starts: &[usize]) -> Option<(i64, i64)> {
    use super::binary_copy;
    int_key(plan).and_then(|column| {
        let index = plan.columns.iter().position(|c| c.name == column.name)?;
        let key = |start: usize| {
            binary_copy::field(data, start, index).and_then(|b| binary_copy::key_value(b, &column.data_type))
        };
        match (key(*starts.first()?), key(*starts.last()?)) {
            (Some(Value::Int(a)), Some(Value::Int(b))) => Some((a.min(b), a.max(b))),
            _ => None,
        }
    })
}

/// The largest value of each of the plan's sequence columns in a binary COPY page, as `(column, value)`: what
/// the sequences must stand past once the page is in, when the page's rows are all the table holds beyond what
/// earlier pages brought (a table that was empty when its key came off).
fn sequence_maxima(plan: &ImportPlan, data: &[u8], starts: &[usize]) -> Vec<(String, i64)> {
    use super::binary_copy;
    plan.sequence_columns
        .iter()
        .filter_map(|name| {
            let index = plan.columns.iter().position(|c| &c.name == name)?;
            // Read by the field's width, not the type's name: a sequence column is an integer of some width
            // whatever its type is called (binary COPY sends a domain over one as the integer).
            let max = starts
                .iter()
                .filter_map(|&start| binary_copy::field(data, start, index).and_then(integer_field))
                .max()?;
            Some((name.clone(), max))
        })
        .collect()
}

/// A binary COPY field of an integer column (smallint, integer, bigint, or a domain over one), by its width.
fn integer_field(bytes: &[u8]) -> Option<i64> {
    Some(match bytes.len() {
        2 => i16::from_be_bytes(bytes.try_into().ok()?).into(),
        4 => i32::from_be_bytes(bytes.try_into().ok()?).into(),
        8 => i64::from_be_bytes(bytes.try_into().ok()?),
        _ => return None,
    })
}

/// [`import_binary_copy`] on one connection, in one transaction.
async fn import_binary_copy_on(
    conn: &mut PgConnection,
    plan: &ImportPlan,
    data: &[u8],
    rows: usize,
    conflicts: Conflicts<'_>,
    checkpoint: Option<&Checkpoint>,
) -> Result<Option<ImportResult>, EngineError> {
    let mut result = ImportResult { notes: plan.notes.clone(), ..Default::default() };
    let mut tx = conn.begin().await?;
    if rows == 0 {
        if let Some(c) = checkpoint {
            c.write_postgres(&mut tx, &result).await?;
        }
        tx.commit().await?;
        return Ok(Some(result));
    }
    if plan.strategy == Strategy::Append {
        advance_sequences(&mut tx, plan).await?;
    }
    let direct = match &conflicts {
        Conflicts::Probe(bounds) => nothing_can_conflict_within(&mut tx, plan, *bounds).await?,
        Conflicts::None(_) => true,
    };
    let written = if direct {
        match copy_in(&mut tx, plan, &plan.table_sql, data, " (FORMAT binary)").await {
            Ok(()) => {
                result.created = rows as u64;
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "binary COPY into the table refused; the page goes the careful way");
                false
            }
        }
    } else {
        create_stage(&mut tx, plan).await?;
        let staged = async {
            copy_in(&mut tx, plan, STAGE, data, " (FORMAT binary)").await?;
            sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(apply_sql(plan))).fetch_one(&mut *tx).await
        }
        .await;
        match staged {
            Ok((created, updated)) => {
                result.created = created as u64;
                result.updated = updated as u64;
                if plan.strategy == Strategy::Skip {
                    result.skipped = rows as u64 - created as u64;
                }
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "binary COPY page refused; the page goes the careful way");
                false
            }
        }
    };
    if !written {
        return Ok(None);
    }
    match conflicts {
        Conflicts::Probe(_) => advance_sequences(&mut tx, plan).await?,
        Conflicts::None(maxima) => advance_sequences_to(&mut tx, plan, maxima).await?,
    }
    if let Some(c) = checkpoint {
        c.write_postgres(&mut tx, &result).await?;
    }
    tx.commit().await?;
    Ok(Some(result))
}

/// The database's own message (and detail), without driver noise.
pub(crate) fn database_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let mut reason = db.message().to_owned();
            // COPY names the column of a value that does not parse only in its context line:
            // `COPY dbt_stage, line 1, column balance: "lots"`.
            if let Some(column) = pg.and_then(|p| p.r#where()).and_then(|w| w.split(", column ").nth(1)) {
                let column = column.split(':').next().unwrap_or(column);
                reason = format!("column {column}: {reason}");
            }
            if let Some(detail) = pg.and_then(|p| p.detail()) {
                reason.push_str(&format!(" ({detail})"));
            }
            reason
        }
        other => other.to_string(),
    }
}

/// The plan's sequences, as prepared, or looked up now for a plan made without them.
async fn plan_sequences<'p>(
    conn: &mut PgConnection,
    plan: &'p ImportPlan,
) -> Result<std::borrow::Cow<'p, [(String, String)]>, EngineError> {
    Ok(match &plan.sequences {
        Some(resolved) => std::borrow::Cow::Borrowed(resolved.as_slice()),
        None => std::borrow::Cow::Owned(sequences_on(conn, plan).await?),
    })
}

/// Moves every sequence or identity behind an integer column of the table past the column's largest value in
/// the table (not only past the imported ones), so the application's next insert — and an append's generated
/// keys — never collide with a key already there.
async fn advance_sequences(conn: &mut PgConnection, plan: &ImportPlan) -> Result<(), EngineError> {
    let sequences = plan_sequences(&mut *conn, plan).await?;
    for (column, sequence) in sequences.iter() {
        let sql = format!(
            "SELECT setval($1::regclass, x.m) FROM (SELECT max({col})::int8 AS m FROM {table}) x \
             WHERE x.m IS NOT NULL AND x.m > COALESCE(pg_sequence_last_value($1::regclass), 0)",
            col = quote(column),
            table = plan.table_sql
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(sequence).execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`advance_sequences`] with each column's largest value given (`maxima`, as `(column, value)`) rather than read
/// from the table: for a table whose key is off, where reading it would scan every row.
async fn advance_sequences_to(
    conn: &mut PgConnection,
    plan: &ImportPlan,
    maxima: &[(String, i64)],
) -> Result<(), EngineError> {
    if maxima.is_empty() {
        return Ok(());
    }
    let sequences = plan_sequences(&mut *conn, plan).await?;
    for (column, sequence) in sequences.iter() {
        let Some((_, max)) = maxima.iter().find(|(c, _)| c == column) else { continue };
        sqlx::query("SELECT setval($1::regclass, $2) WHERE $2 > COALESCE(pg_sequence_last_value($1::regclass), 0)")
            .bind(sequence)
            .bind(max)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The sequence behind each of the plan's sequence columns that has one: the sequence owned by the column, else
/// the one its default calls (`DEFAULT nextval('s')` with a sequence nobody owns: pg_get_serial_sequence does not
/// see it, the default's dependency does). Read once per table ([`crate::Tables::prepare_import`]).
pub async fn resolve_sequences(pool: &PgPool, plan: &ImportPlan) -> Result<Vec<(String, String)>, EngineError> {
    let mut conn = pool.acquire().await?;
    sequences_on(&mut conn, plan).await
}

async fn sequences_on(conn: &mut PgConnection, plan: &ImportPlan) -> Result<Vec<(String, String)>, EngineError> {
    // Only columns the inspector saw a sequence or identity behind: max() over any other column would scan the
    // whole table once per page.
    const SQL: &str = "SELECT COALESCE(pg_get_serial_sequence($1, $2), \
           (SELECT d.refobjid::regclass::text FROM pg_attrdef ad \
            JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum \
            JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid \
             AND d.refclassid = 'pg_class'::regclass \
            JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' \
            WHERE ad.adrelid = to_regclass($1) AND a.attname = $2 LIMIT 1))";
    let mut found = Vec::new();
    for column in &plan.sequence_columns {
        let sequence: Option<String> =
            sqlx::query_scalar(SQL).bind(&plan.table_sql).bind(column).fetch_one(&mut *conn).await?;
        if let Some(sequence) = sequence {
            found.push((column.clone(), sequence));
        }
    }
    Ok(found)
}
