//! Transfer history in `dbt_transfers`: who pulled what from which sender, with which strategies, how many rows
//! landed and how it ended. Counts come from this site's own import results, page by page (through
//! [`crate::jobs::Checkpoint`] in each page's transaction), never from what a browser claims. The types as they are
//! shown are [`protocol::history`]'s.

pub use protocol::history::*;
use protocol::request::ImportResult;
use store::{Db, DbError, on_pool, unix_now};

/// A `dbt_transfers` row as [`list`] reads it.
#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    admin: String,
    channel: crate::Stored<Channel>,
    sender: String,
    /// JSON: the [`TableStrategy`] list.
    tables: String,
    rows_done: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    errors: i64,
    outcome: crate::Stored<TransferState>,
    message: Option<String>,
    started_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

impl From<RecordRow> for TransferRecord {
    fn from(r: RecordRow) -> TransferRecord {
        TransferRecord {
            id: r.id,
            admin: r.admin,
            channel: r.channel.0,
            sender: r.sender,
            tables: serde_json::from_str(&r.tables).unwrap_or_default(),
            rows: r.rows_done,
            created: r.created,
            updated: r.updated,
            skipped: r.skipped,
            errors: r.errors,
            outcome: r.outcome.0,
            message: r.message,
            started_at: r.started_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

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
    let tables = serde_json::to_string(tables).expect("tables serialize");
    let (admin, sender): (String, String) = (admin.chars().take(200).collect(), sender.chars().take(500).collect());
    let id = on_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(&admin).bind(channel.as_str()).bind(&sender).bind(&tables).bind(unix_now())
        .fetch_one(pool).await?);
    Ok(id)
}

/// Whether `id` is a running transfer of `admin` (pages may be imported for it).
pub async fn is_running(db: &Db, id: i64, admin: &str) -> Result<bool, DbError> {
    const SQL: &str = "SELECT count(*) FROM dbt_transfers WHERE id = $1 AND admin = $2 AND outcome = 'running'";
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(SQL).bind(id).bind(admin).fetch_one(pool).await?);
    Ok(n == 1)
}

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

/// Ends a running transfer of `admin` with `outcome`; false when there is no such transfer (or `outcome` is a
/// string that names none: callers pass an [`Outcome`]; the string form is only for callers not yet switched).
pub async fn finish(db: &Db, id: i64, admin: &str, outcome: Outcome, message: Option<&str>) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_transfers SET outcome = $3, message = $4, finished_at = $5, updated_at = $5 \
                       WHERE id = $1 AND admin = $2 AND outcome = 'running'";
    let message: Option<String> = message.map(|m| m.chars().take(2000).collect());
    let done = on_pool!(db, pool => sqlx::query(SQL)
        .bind(id).bind(admin).bind(TransferState::from(outcome).as_str()).bind(&message).bind(unix_now())
        .execute(pool).await?.rows_affected());
    Ok(done == 1)
}

/// The latest transfers, newest first.
pub async fn list(db: &Db, limit: u32) -> Result<Vec<TransferRecord>, DbError> {
    const SQL: &str = "SELECT id, admin, channel, sender, tables, rows_done, created, updated, skipped, errors, outcome, \
                       message, started_at, updated_at, finished_at FROM dbt_transfers ORDER BY id DESC LIMIT $1";
    let rows: Vec<RecordRow> = on_pool!(db, pool => sqlx::query_as(SQL).bind(i64::from(limit)).fetch_all(pool).await?);
    Ok(rows.into_iter().map(TransferRecord::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored and read back through a row on both engines, as the TEXT the columns hold; a stored string that
    /// names no value is an error naming it.
    #[tokio::test]
    async fn text_enums_are_stored_and_read_as_text_on_both_engines() {
        #[derive(sqlx::FromRow)]
        struct Row {
            text: String,
            back: crate::Stored<TransferState>,
        }
        for kind in crate::testing::ENGINES {
            let t = crate::testing::TestDb::new(kind).await;
            for &o in TransferState::ALL {
                let row: Row = on_pool!(&t.db, pool =>
                    sqlx::query_as("SELECT $1 AS text, $2 AS back").bind(o.as_str()).bind(o.as_str())
                        .fetch_one(pool).await.unwrap());
                assert_eq!((row.text.as_str(), row.back.0), (o.as_str(), o), "{kind:?}");
            }
            let wrong: Result<Row, _> = on_pool!(&t.db, pool =>
                sqlx::query_as("SELECT 'x' AS text, 'exploded' AS back").fetch_one(pool).await);
            let error = wrong.err().expect("an unknown state is refused").to_string();
            assert!(error.contains("unknown TransferState \"exploded\""), "{kind:?}: {error}");
        }
    }
}
