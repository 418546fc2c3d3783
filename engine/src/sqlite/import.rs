//! Import into SQLite: one transaction per page. Rows go in chunks of multi-row statements (`INSERT … VALUES
//! (…), (…) ON CONFLICT …`), counted exactly; a chunk that fails, or that holds a key twice, is redone one row at
//! a time, where a failing statement aborts only itself, so a bad row is reported with SQLite's reason while the
//! rest of the page lands.

use sqlx::{Connection, SqlitePool};

use crate::error::EngineError;
use crate::ident::quote;
use crate::page::Page;
use crate::plan::ImportPlan;
use crate::request::{ImportResult, RowError, Strategy};
use crate::sqlite::export::bind;
use crate::value::Value;

pub async fn import(pool: &SqlitePool, plan: &ImportPlan, page: &Page) -> Result<ImportResult, EngineError> {
    let mut result = ImportResult { notes: plan.notes.clone(), ..Default::default() };
    let table = quote(&plan.table);
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
    let insert = format!("INSERT INTO {table} ({}) VALUES ({})", cols.join(", "), placeholders.join(", "));
    let key_cond: Vec<String> = plan
        .key
        .iter()
        .map(|k| {
            let pos = plan.columns.iter().position(|c| &c.name == k).expect("key columns are written") + 1;
            format!("{} = ${pos}", quote(k))
        })
        .collect();
    let non_key: Vec<(usize, &str)> = plan
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !plan.key.contains(&c.name))
        .map(|(i, c)| (i + 1, c.name.as_str()))
        .collect();
    let update = match plan.strategy {
        Strategy::Overwrite | Strategy::Merge => {
            let sets: Vec<String> = if non_key.is_empty() {
                plan.key.iter().map(|k| format!("{0} = {0}", quote(k))).collect()
            } else if plan.strategy == Strategy::Overwrite {
                non_key.iter().map(|(i, c)| format!("{} = ${i}", quote(c))).collect()
            } else {
                non_key.iter().map(|(i, c)| format!("{0} = COALESCE(${i}, {0})", quote(c))).collect()
            };
            Some(format!("UPDATE {table} SET {} WHERE {}", sets.join(", "), key_cond.join(" AND ")))
        }
        _ => None,
    };
    let skip_insert = format!("{insert} ON CONFLICT ({}) DO NOTHING", plan.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", "));

    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    // SQLite allows 32766 parameters per statement; a few hundred rows per statement is past the point of gains.
    let chunk_rows = (32_000 / plan.columns.len().max(1)).clamp(1, 500);
    let mut slow_rows: Vec<usize> = Vec::new();
    for (chunk_no, chunk) in page.rows.chunks(chunk_rows).enumerate() {
        let first = chunk_no * chunk_rows;
        match import_chunk(&mut tx, plan, chunk).await? {
            Some((created, updated, skipped)) => {
                result.created += created;
                result.updated += updated;
                result.skipped += skipped;
            }
            None => slow_rows.extend(first..first + chunk.len()),
        }
    }
    for index in slow_rows {
        let row = &page.rows[index];
        let values: Vec<&Value> = plan.columns.iter().map(|c| &row[c.page_index]).collect();
        let run = |sql: &str| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for v in &values {
                q = bind(q, v);
            }
            q
        };
        let outcome: Result<(), sqlx::Error> = async {
            match plan.strategy {
                Strategy::Append => {
                    run(&insert).execute(&mut *tx).await?;
                    result.created += 1;
                }
                Strategy::Skip => {
                    if run(&skip_insert).execute(&mut *tx).await?.rows_affected() == 1 {
                        result.created += 1;
                    } else {
                        result.skipped += 1;
                    }
                }
                Strategy::Overwrite | Strategy::Merge => {
                    let sql = update.as_deref().expect("update statement for overwrite/merge");
                    if run(sql).execute(&mut *tx).await?.rows_affected() >= 1 {
                        result.updated += 1;
                    } else {
                        run(&insert).execute(&mut *tx).await?;
                        result.created += 1;
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            let reason = match &e {
                sqlx::Error::Database(db) => db.message().to_owned(),
                other => other.to_string(),
            };
            result.errors.push(RowError { key: plan.describe_row(row, index), reason });
        }
    }
    tx.commit().await?;
    Ok(result)
}

/// One multi-row statement for `rows`, under a savepoint: `Some((created, updated, skipped))`, or `None` when the
/// chunk must go row by row (a statement failed, or a key appears twice so counts would be ambiguous).
async fn import_chunk(
    conn: &mut sqlx::SqliteConnection,
    plan: &ImportPlan,
    rows: &[Vec<Value>],
) -> Result<Option<(u64, u64, u64)>, EngineError> {
    let key_positions: Vec<usize> = plan
        .key
        .iter()
        .map(|k| plan.columns.iter().find(|c| &c.name == k).expect("key columns are written").page_index)
        .collect();
    if !key_positions.is_empty() {
        let mut seen = std::collections::HashSet::with_capacity(rows.len());
        for row in rows {
            let key: Vec<String> = key_positions.iter().map(|i| format!("{:?}", row[*i])).collect();
            if !seen.insert(key) {
                return Ok(None);
            }
        }
    }
    let table = quote(&plan.table);
    let ncols = plan.columns.len();
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let values: Vec<String> = (0..rows.len())
        // Plain `?`: with numbered `$N` sqlx looks each name up, quadratic in the parameter count.
        .map(|_| format!("({})", vec!["?"; ncols].join(", ")))
        .collect();
    let key_list = plan.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    let non_key: Vec<&str> =
        plan.columns.iter().map(|c| c.name.as_str()).filter(|c| !plan.key.iter().any(|k| k == c)).collect();
    let mut sql = format!("INSERT INTO {table} AS tgt ({}) VALUES {}", cols.join(", "), values.join(", "));
    match plan.strategy {
        Strategy::Append => {}
        Strategy::Skip => sql.push_str(&format!(" ON CONFLICT ({key_list}) DO NOTHING")),
        Strategy::Overwrite | Strategy::Merge => {
            let sets: Vec<String> = if non_key.is_empty() {
                plan.key.iter().map(|k| format!("{0} = excluded.{0}", quote(k))).collect()
            } else if plan.strategy == Strategy::Overwrite {
                non_key.iter().map(|c| format!("{0} = excluded.{0}", quote(c))).collect()
            } else {
                non_key.iter().map(|c| format!("{0} = COALESCE(excluded.{0}, tgt.{0})", quote(c))).collect()
            };
            sql.push_str(&format!(" ON CONFLICT ({key_list}) DO UPDATE SET {}", sets.join(", ")));
        }
    }

    sqlx::query("SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
    let outcome: Result<(u64, u64, u64), sqlx::Error> = async {
        // For overwrite and merge, how many of the chunk's keys exist decides created versus updated.
        let existing = if matches!(plan.strategy, Strategy::Overwrite | Strategy::Merge) {
            let tuple = |_| format!("({})", vec!["?"; key_positions.len()].join(", "));
            let probe = format!(
                "SELECT count(*) FROM {table} WHERE ({key_list}) IN (VALUES {})",
                (0..rows.len()).map(tuple).collect::<Vec<_>>().join(", ")
            );
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(probe));
            for row in rows {
                for i in &key_positions {
                    q = bind_scalar(q, &row[*i]);
                }
            }
            q.fetch_one(&mut *conn).await? as u64
        } else {
            0
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in rows {
            for c in &plan.columns {
                q = bind(q, &row[c.page_index]);
            }
        }
        let changed = q.execute(&mut *conn).await?.rows_affected();
        let n = rows.len() as u64;
        Ok(match plan.strategy {
            Strategy::Append => (changed, 0, 0),
            Strategy::Skip => (changed, 0, n - changed),
            Strategy::Overwrite | Strategy::Merge => (n - existing, existing, 0),
        })
    }
    .await;
    match outcome {
        Ok(counts) => {
            sqlx::query("RELEASE SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
            Ok(Some(counts))
        }
        Err(_) => {
            sqlx::query("ROLLBACK TO SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
            sqlx::query("RELEASE SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
            Ok(None)
        }
    }
}

fn bind_scalar<'q>(
    q: sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments>,
    v: &Value,
) -> sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments> {
    match v {
        Value::Null => q.bind(None::<String>),
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::Int(i) => q.bind(*i),
        Value::Float(f) => q.bind(*f),
        Value::Text(t) => q.bind(t.clone()),
        Value::Bytes(b) => q.bind(b.clone()),
    }
}
