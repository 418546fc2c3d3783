//! Import into PostgreSQL: the page is COPYed into a temporary staging table with the target's exact column
//! types, then one set-based statement applies the strategy and counts exactly (`RETURNING (xmax = 0)`). If
//! the fast path fails (a value that does not fit, a constraint, a key twice in the page), the page is redone
//! row by row under savepoints, so every good row lands and every bad one is reported with the database's reason.
//! The whole page is one transaction.

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::EngineError;
use crate::ident::quote;
use crate::jobs::Checkpoint;
use crate::page::Page;
use crate::plan::ImportPlan;
use crate::request::{ImportResult, RowError, Strategy};
use crate::value::{float_text, hex, Value, ValueKind};

const STAGE: &str = "dbt_stage";

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
    let table = quote(&plan.table);
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
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let mut copy = conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", cols.join(", "))).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

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
                result.errors.push(RowError { key: plan.describe_row(row, index), reason: format!("column {:?}: {reason}", c.name) });
                continue 'rows;
            }
        }
        all.push(b'\n');
        encoded.push((index, start..all.len()));
    }

    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;

    // Fastest path: nothing in the target can conflict, so COPY straight into it. Any surprise (a key twice in
    // the page, a concurrent writer, a bad value) makes the COPY fail, and the page goes the careful way below.
    if !encoded.is_empty() && nothing_can_conflict(&mut tx, plan, page).await? {
        sqlx::query("SAVEPOINT dbt_direct").execute(&mut *tx).await?;
        if copy_into(&mut tx, plan, &quote(&plan.table), &all).await.is_ok() {
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

    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
        cols.join(", "),
        quote(&plan.table)
    )))
    .execute(&mut *tx)
    .await?;
    let apply = apply_sql(plan);

    // Fast path: the whole page at once.
    sqlx::query("SAVEPOINT dbt_page").execute(&mut *tx).await?;
    let fast = async {
        copy_into(&mut tx, plan, STAGE, &all).await?;
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
            // Slow path: one row at a time, each under its own savepoint, to keep the good ones.
            sqlx::query("ROLLBACK TO SAVEPOINT dbt_page").execute(&mut *tx).await?;
            for (index, span) in &encoded {
                sqlx::query("SAVEPOINT dbt_row").execute(&mut *tx).await?;
                let one = async {
                    sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {STAGE}"))).execute(&mut *tx).await?;
                    copy_into(&mut tx, plan, STAGE, &all[span.clone()]).await?;
                    sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(apply.clone())).fetch_one(&mut *tx).await
                }
                .await;
                match one {
                    Ok((created, updated)) => {
                        sqlx::query("RELEASE SAVEPOINT dbt_row").execute(&mut *tx).await?;
                        result.created += created as u64;
                        result.updated += updated as u64;
                        if plan.strategy == Strategy::Skip && created == 0 {
                            result.skipped += 1;
                        }
                    }
                    Err(e) => {
                        sqlx::query("ROLLBACK TO SAVEPOINT dbt_row").execute(&mut *tx).await?;
                        result.errors.push(RowError {
                            key: plan.describe_row(&page.rows[*index], *index),
                            reason: database_reason(&e),
                        });
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

/// True when no existing row can share a key with the page: append (no key to share, and identity columns
/// generate new ones), or a single integer key whose page range [min, max] holds no row yet — the usual case
/// when a transfer fills a table in key order. One index probe.
async fn nothing_can_conflict(conn: &mut PgConnection, plan: &ImportPlan, page: &Page) -> Result<bool, EngineError> {
    if plan.strategy == Strategy::Append {
        return Ok(plan.columns.iter().all(|c| !c.identity_always));
    }
    let [key] = plan.key.as_slice() else { return Ok(false) };
    let Some(column) = plan.columns.iter().find(|c| &c.name == key) else { return Ok(false) };
    if column.kind != ValueKind::Int || column.identity_always {
        return Ok(false);
    }
    let mut bounds: Option<(i64, i64)> = None;
    for row in &page.rows {
        let Value::Int(k) = row[column.page_index] else { return Ok(false) };
        bounds = Some(bounds.map_or((k, k), |(lo, hi)| (lo.min(k), hi.max(k))));
    }
    let Some((lo, hi)) = bounds else { return Ok(false) };
    let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {} WHERE {k} >= $1 AND {k} <= $2)", quote(&plan.table), k = quote(key));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(lo).bind(hi).fetch_one(&mut *conn).await?)
}

/// The database's own message (and detail), without driver noise.
fn database_reason(e: &sqlx::Error) -> String {
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

/// Moves every sequence or identity behind an integer column of the written columns past the column's maximum,
/// so the application's next insert does not collide with an imported key.
async fn advance_sequences(conn: &mut PgConnection, plan: &ImportPlan) -> Result<(), EngineError> {
    // Only columns the inspector saw a sequence or identity behind: max() over any other column would scan the
    // whole table once per page.
    for c in plan.columns.iter().filter(|c| c.kind == ValueKind::Int && c.generated_key) {
        let sql = format!(
            "SELECT setval(x.s, x.m) FROM (SELECT pg_get_serial_sequence($1, $2) AS s, \
             (SELECT max({col})::int8 FROM {table}) AS m) x \
             WHERE x.s IS NOT NULL AND x.m IS NOT NULL AND x.m > COALESCE(pg_sequence_last_value(x.s::regclass), 0)",
            col = quote(&c.name),
            table = quote(&plan.table)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(quote(&plan.table)).bind(&c.name).execute(&mut *conn).await?;
    }
    Ok(())
}
