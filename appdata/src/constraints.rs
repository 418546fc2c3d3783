//! Tables a transfer created here whose constraints after the data (foreign keys, secondary indexes) are still
//! to come, in `dbt_pending_constraints`: whatever ends that transfer early, the next one into the table adds them.
//! Only such a table has its primary key taken off while its first rows go in (binary COPY into the empty table
//! builds the key's index once, after the rows, rather than row by row): a pending table without its key gets it
//! back before anything else — the next page that needs it, the constraints after the data, the next transfer.

use store::{Db, DbError, on_pool};

/// Recorded with a table a transfer creates here, in the same transaction (`Tables::create_table`): its
/// constraints after the data (foreign keys, secondary indexes) are still to come, so whatever ends that
/// transfer early, the next one into the table adds them.
pub const EXPECT_CONSTRAINTS_SQL: &str =
    "INSERT INTO dbt_pending_constraints (table_name, since) VALUES ($1, $2) ON CONFLICT (table_name) DO NOTHING";

/// Removed in the transaction that adds those constraints (`Tables::create_constraints_after_data`), once the
/// primary key is back too (it is added first, in a transaction of its own).
pub const CONSTRAINTS_ADDED_SQL: &str = "DELETE FROM dbt_pending_constraints WHERE table_name = $1";

/// Whether `table` was created here by a transfer that did not get to add its constraints after the data.
pub async fn constraints_pending(db: &Db, table: &str) -> Result<bool, DbError> {
    const SQL: &str = "SELECT count(*) FROM dbt_pending_constraints WHERE table_name = $1";
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(SQL).bind(table).fetch_one(pool).await?);
    Ok(n > 0)
}
