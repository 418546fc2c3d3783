//! Import into SQLite: one transaction per page. Rows go in chunks of multi-row statements (`INSERT … VALUES
//! (…), (…) ON CONFLICT …`), counted exactly; a chunk that fails, or that holds a key twice, is redone one row at
//! a time, where a failing statement aborts only itself, so a bad row is reported with SQLite's reason while the
//! rest of the page lands. Parameters are plain `?` in order: numbered ones make sqlx look each name up, which is
//! quadratic in the parameter count.

use std::collections::HashSet;

use sqlx::sqlite::SqliteArguments;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use crate::error::EngineError;
use crate::plan::ImportPlan;
use crate::sqlite::export::push;
use appdata::jobs::Checkpoint;
use protocol::ident::quote;
use protocol::page::Page;
use protocol::request::{ImportResult, RowError, Strategy};
use protocol::value::Value;

/// SQLite allows 32766 parameters per statement; a few hundred rows per statement is past the point of gains.
const MAX_CHUNK_ROWS: usize = 500;

struct Statements {
    /// `INSERT INTO t AS tgt (cols) VALUES (?, …)` without the VALUES rows.
    insert_head: String,
    row_tuple: String,
    /// `ON CONFLICT … DO …` for the strategy (empty for append).
    on_conflict: String,
    /// Per-row overwrite/merge: `UPDATE t SET … WHERE key = …`, parameters: the row's columns, then its key.
    update_one: Option<String>,
}

impl Statements {
    fn new(plan: &ImportPlan) -> Statements {
        let table = quote(&plan.table);
        let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
        let key_list = plan.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
        let on_conflict = match plan.strategy {
            Strategy::Append => String::new(),
            Strategy::Skip => format!(" ON CONFLICT ({key_list}) DO NOTHING"),
            Strategy::Overwrite | Strategy::Merge => format!(
                " ON CONFLICT ({key_list}) DO UPDATE SET {}",
                plan.assignments(|c| format!("excluded.{}", quote(c)), |c| format!("tgt.{}", quote(c)))
            ),
        };
        let update_one = matches!(plan.strategy, Strategy::Overwrite | Strategy::Merge).then(|| {
            // Numbered parameters here: each column's value is referenced by position, a handful per statement.
            let position = |c: &str| plan.columns.iter().position(|pc| pc.name == c).expect("written column") + 1;
            let sets = plan.assignments(|c| format!("?{}", position(c)), quote);
            let key: Vec<String> = plan.key.iter().map(|k| format!("{} = ?{}", quote(k), position(k))).collect();
            format!("UPDATE {table} SET {sets} WHERE {}", key.join(" AND "))
        });
        Statements {
            insert_head: format!("INSERT INTO {table} AS tgt ({}) VALUES ", cols.join(", ")),
            row_tuple: format!("({})", vec!["?"; cols.len()].join(", ")),
            on_conflict,
            update_one,
        }
    }

    fn insert(&self, rows: usize, with_conflict: bool) -> String {
        let mut sql = self.insert_head.clone();
        sql.push_str(&vec![self.row_tuple.as_str(); rows].join(", "));
        if with_conflict {
            sql.push_str(&self.on_conflict);
        }
        sql
    }
}

fn args_of<'a>(plan: &ImportPlan, rows: impl IntoIterator<Item = &'a Vec<Value>>) -> SqliteArguments {
    let mut args = SqliteArguments::default();
    for row in rows {
        for c in &plan.columns {
            push(&mut args, &row[c.page_index]);
        }
    }
    args
}

pub async fn import(
    pool: &SqlitePool,
    plan: &ImportPlan,
    page: &Page,
    checkpoint: Option<&Checkpoint>,
) -> Result<ImportResult, EngineError> {
    let mut result = ImportResult { notes: plan.notes.clone(), ..Default::default() };
    let statements = Statements::new(plan);
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let chunk_rows = (32_000 / plan.columns.len().max(1)).clamp(1, MAX_CHUNK_ROWS);
    for (chunk_no, chunk) in page.rows.chunks(chunk_rows).enumerate() {
        match import_chunk(&mut tx, plan, &statements, chunk).await? {
            Some((created, updated, skipped)) => {
                result.created += created;
                result.updated += updated;
                result.skipped += skipped;
            }
            // Row by row now, before the next chunk: rows land in page order (a key twice lands in the order the
            // page has it), the good ones kept and each bad one reported.
            None => {
                for index in chunk_no * chunk_rows..chunk_no * chunk_rows + chunk.len() {
                    let row = &page.rows[index];
                    let outcome: Result<(), sqlx::Error> = async {
                        let run = |sql: String| sqlx::query_with(sqlx::AssertSqlSafe(sql), args_of(plan, [row]));
                        match plan.strategy {
                            Strategy::Append => {
                                run(statements.insert(1, false)).execute(&mut *tx).await?;
                                result.created += 1;
                            }
                            Strategy::Skip => {
                                if run(statements.insert(1, true)).execute(&mut *tx).await?.rows_affected() == 1 {
                                    result.created += 1;
                                } else {
                                    result.skipped += 1;
                                }
                            }
                            Strategy::Overwrite | Strategy::Merge => {
                                let update =
                                    statements.update_one.clone().expect("update statement for overwrite/merge");
                                if run(update).execute(&mut *tx).await?.rows_affected() >= 1 {
                                    result.updated += 1;
                                } else {
                                    run(statements.insert(1, false)).execute(&mut *tx).await?;
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
            }
        }
    }
    if let Some(c) = checkpoint {
        c.write_sqlite(&mut tx, &result).await?;
    }
    tx.commit().await?;
    Ok(result)
}

/// One multi-row statement for `rows`, under a savepoint: `Some((created, updated, skipped))`, or `None` when the
/// chunk must go row by row (a statement failed, or a key appears twice so counts would be ambiguous).
async fn import_chunk(
    conn: &mut SqliteConnection,
    plan: &ImportPlan,
    statements: &Statements,
    rows: &[Vec<Value>],
) -> Result<Option<(u64, u64, u64)>, EngineError> {
    let key_positions: Vec<usize> = plan
        .key
        .iter()
        .map(|k| plan.columns.iter().find(|c| &c.name == k).expect("key columns are written").page_index)
        .collect();
    if !key_positions.is_empty() {
        let mut seen = HashSet::with_capacity(rows.len());
        for row in rows {
            let key: Vec<String> = key_positions.iter().map(|i| format!("{:?}", row[*i])).collect();
            if !seen.insert(key) {
                return Ok(None);
            }
        }
    }
    sqlx::query("SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
    let outcome: Result<(u64, u64, u64), sqlx::Error> = async {
        // For overwrite and merge, how many of the chunk's keys exist decides created versus updated.
        let existing = if matches!(plan.strategy, Strategy::Overwrite | Strategy::Merge) {
            let tuple = format!("({})", vec!["?"; key_positions.len()].join(", "));
            let probe = format!(
                "SELECT count(*) FROM {} WHERE ({}) IN (VALUES {})",
                quote(&plan.table),
                plan.key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", "),
                vec![tuple.as_str(); rows.len()].join(", ")
            );
            let mut args = SqliteArguments::default();
            for row in rows {
                for i in &key_positions {
                    push(&mut args, &row[*i]);
                }
            }
            sqlx::query_scalar_with::<_, i64, _>(sqlx::AssertSqlSafe(probe), args).fetch_one(&mut *conn).await? as u64
        } else {
            0
        };
        let sql = statements.insert(rows.len(), true);
        let changed =
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args_of(plan, rows)).execute(&mut *conn).await?.rows_affected();
        let n = rows.len() as u64;
        Ok(match plan.strategy {
            Strategy::Append => (changed, 0, 0),
            Strategy::Skip => (changed, 0, n - changed),
            Strategy::Overwrite | Strategy::Merge => (n - existing, existing, 0),
        })
    }
    .await;
    let kept = outcome.is_ok();
    if !kept {
        sqlx::query("ROLLBACK TO SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
    }
    sqlx::query("RELEASE SAVEPOINT dbt_chunk").execute(&mut *conn).await?;
    Ok(outcome.ok())
}
