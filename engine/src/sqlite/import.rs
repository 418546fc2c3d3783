//! Import into SQLite: one transaction per page, a prepared statement per strategy. A failing statement aborts
//! only itself in SQLite, so a bad row is reported with SQLite's reason while the rest of the page lands.

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
    for (index, row) in page.rows.iter().enumerate() {
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
