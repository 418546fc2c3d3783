//! Transfer history in `dbt_transfers`: who pulled what from which sender, with which strategies, how many rows
//! landed and how it ended. Counts come from this site's own import results, page by page, never from what a
//! browser claims.

use serde::{Deserialize, Serialize};

#[cfg(feature = "db")]
use crate::db::{on_pool, unix_now};
use crate::request::Strategy;
#[cfg(feature = "db")]
use crate::{Db, DbError, request::ImportResult};

/// How a transfer reached this site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Relayed by an admin's browser (the Receive page).
    Browser,
    /// `db-transfer pull`.
    Cli,
    /// A background job on this site's server.
    Background,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableStrategy {
    pub table: String,
    pub strategy: Strategy,
}

/// One transfer as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord {
    pub id: i64,
    pub admin: String,
    pub channel: String,
    pub sender: String,
    pub tables: Vec<TableStrategy>,
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub errors: i64,
    /// `running`, `finished`, `incomplete`, `cancelled` or `failed`.
    pub outcome: String,
    pub message: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// The ways a transfer ends.
pub const OUTCOMES: &[&str] = &["finished", "incomplete", "cancelled", "failed"];

#[cfg(feature = "db")]
/// Starts a record; the id goes with every page of the transfer.
pub async fn begin(
    db: &Db,
    admin: &str,
    channel: Channel,
    sender: &str,
    tables: &[TableStrategy],
) -> Result<i64, DbError> {
    const SQL: &str = "INSERT INTO dbt_transfers (admin, channel, sender, tables, started_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $5) RETURNING id";
    let channel = serde_json::to_value(channel).expect("channels serialize");
    let tables = serde_json::to_string(tables).expect("tables serialize");
    let (admin, sender): (String, String) = (admin.chars().take(200).collect(), sender.chars().take(500).collect());
    let id = on_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(&admin).bind(channel.as_str()).bind(&sender).bind(&tables).bind(unix_now())
        .fetch_one(pool).await?);
    Ok(id)
}

/// Whether `id` is a running transfer of `admin` (pages may be imported for it).
#[cfg(feature = "db")]
pub async fn is_running(db: &Db, id: i64, admin: &str) -> Result<bool, DbError> {
    const SQL: &str = "SELECT count(*) FROM dbt_transfers WHERE id = $1 AND admin = $2 AND outcome = 'running'";
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(SQL).bind(id).bind(admin).fetch_one(pool).await?);
    Ok(n == 1)
}

#[cfg(feature = "db")]
/// Adds one imported page's counts to a running transfer of `admin`; false when there is no such transfer.
pub async fn add_page(db: &Db, id: i64, admin: &str, rows: u64, result: &ImportResult) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_transfers SET rows_done = rows_done + $3, created = created + $4, \
                       updated = updated + $5, skipped = skipped + $6, errors = errors + $7, updated_at = $8 \
                       WHERE id = $1 AND admin = $2 AND outcome = 'running'";
    let n = |v: u64| v.min(i64::MAX as u64) as i64;
    let done = on_pool!(db, pool => sqlx::query(SQL)
        .bind(id).bind(admin).bind(n(rows)).bind(n(result.created)).bind(n(result.updated)).bind(n(result.skipped))
        .bind(n(result.errors.len() as u64)).bind(unix_now())
        .execute(pool).await?.rows_affected());
    Ok(done == 1)
}

#[cfg(feature = "db")]
/// Ends a running transfer of `admin` with one of [`OUTCOMES`]; false when there is no such transfer.
pub async fn finish(db: &Db, id: i64, admin: &str, outcome: &str, message: Option<&str>) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_transfers SET outcome = $3, message = $4, finished_at = $5, updated_at = $5 \
                       WHERE id = $1 AND admin = $2 AND outcome = 'running'";
    if !OUTCOMES.contains(&outcome) {
        return Ok(false);
    }
    let message: Option<String> = message.map(|m| m.chars().take(2000).collect());
    let done = on_pool!(db, pool => sqlx::query(SQL)
        .bind(id).bind(admin).bind(outcome).bind(&message).bind(unix_now())
        .execute(pool).await?.rows_affected());
    Ok(done == 1)
}

#[cfg(feature = "db")]
/// The latest transfers, newest first.
pub async fn list(db: &Db, limit: u32) -> Result<Vec<TransferRecord>, DbError> {
    const SQL: &str = "SELECT id, admin, channel, sender, tables, rows_done, created, updated, skipped, errors, outcome, \
                       message, started_at, updated_at, finished_at FROM dbt_transfers ORDER BY id DESC LIMIT $1";
    type Row =
        (i64, String, String, String, String, i64, i64, i64, i64, i64, String, Option<String>, i64, i64, Option<i64>);
    let rows: Vec<Row> = on_pool!(db, pool => sqlx::query_as(SQL).bind(i64::from(limit)).fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .map(|r| TransferRecord {
            id: r.0,
            admin: r.1,
            channel: r.2,
            sender: r.3,
            tables: serde_json::from_str(&r.4).unwrap_or_default(),
            rows: r.5,
            created: r.6,
            updated: r.7,
            skipped: r.8,
            errors: r.9,
            outcome: r.10,
            message: r.11,
            started_at: r.12,
            updated_at: r.13,
            finished_at: r.14,
        })
        .collect())
}

/// Recorded with a table a transfer creates here, in the same transaction (`Tables::create_table`): its
/// constraints after the data (foreign keys, secondary indexes) are still to come, so whatever ends that
/// transfer early, the next one into the table adds them.
#[cfg(feature = "db")]
pub(crate) const EXPECT_CONSTRAINTS_SQL: &str =
    "INSERT INTO dbt_pending_constraints (table_name, since) VALUES ($1, $2) ON CONFLICT (table_name) DO NOTHING";

/// Removed in the transaction that adds those constraints (`Tables::create_constraints_after_data`).
#[cfg(feature = "db")]
pub(crate) const CONSTRAINTS_ADDED_SQL: &str = "DELETE FROM dbt_pending_constraints WHERE table_name = $1";

/// Whether `table` was created here by a transfer that did not get to add its constraints after the data.
#[cfg(feature = "db")]
pub async fn constraints_pending(db: &Db, table: &str) -> Result<bool, DbError> {
    const SQL: &str = "SELECT count(*) FROM dbt_pending_constraints WHERE table_name = $1";
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(SQL).bind(table).fetch_one(pool).await?);
    Ok(n > 0)
}
