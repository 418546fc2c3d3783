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

/// Locks `table`'s row (in the transaction that takes its primary key off) and says whether its key came off
/// before: `None` without a row (constraints not pending), else whether a transfer took the key off once.
/// PostgreSQL only.
pub const LOCK_PENDING_SQL: &str = "SELECT key_taken_off FROM dbt_pending_constraints WHERE table_name = $1 FOR UPDATE";

/// Records, in the transaction that drops it, that `table`'s primary key came off and the statement (`$2`) that
/// puts it back. PostgreSQL only.
pub const KEY_TAKEN_OFF_SQL: &str =
    "UPDATE dbt_pending_constraints SET primary_key_sql = $2, key_taken_off = TRUE WHERE table_name = $1";

/// A table whose constraints after the data are pending: whether a transfer took its primary key off once, and the
/// statement that puts that key back (built from the table before the drop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub key_taken_off: bool,
    pub primary_key_sql: Option<String>,
}

/// `table`'s pending row, `None` when its constraints are not pending.
pub async fn pending(db: &Db, table: &str) -> Result<Option<Pending>, DbError> {
    const SQL: &str = "SELECT key_taken_off, primary_key_sql FROM dbt_pending_constraints WHERE table_name = $1";
    let row: Option<(bool, Option<String>)> =
        on_pool!(db, pool => sqlx::query_as(SQL).bind(table).fetch_optional(pool).await?);
    Ok(row.map(|(key_taken_off, primary_key_sql)| Pending { key_taken_off, primary_key_sql }))
}

/// Whether `table` was created here by a transfer that did not get to add its constraints after the data.
pub async fn constraints_pending(db: &Db, table: &str) -> Result<bool, DbError> {
    const SQL: &str = "SELECT count(*) FROM dbt_pending_constraints WHERE table_name = $1";
    let n: i64 = on_pool!(db, pool => sqlx::query_scalar(SQL).bind(table).fetch_one(pool).await?);
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pending row on both engines: recorded without a stored key, then (PostgreSQL, where keys come off)
    /// with the key taken off and the statement that puts it back; removed with its constraints.
    #[tokio::test]
    async fn a_pending_row_holds_the_key_taken_off_and_its_statement() {
        for kind in crate::testing::ENGINES {
            let t = crate::testing::TestDb::new(kind).await;
            assert_eq!(pending(&t.db, "t").await.unwrap(), None, "{kind:?}");
            on_pool!(&t.db, pool => sqlx::query(EXPECT_CONSTRAINTS_SQL).bind("t").bind(7_i64).execute(pool).await.unwrap().rows_affected());
            let fresh = Pending { key_taken_off: false, primary_key_sql: None };
            assert_eq!(pending(&t.db, "t").await.unwrap(), Some(fresh), "{kind:?}");
            if let Db::Postgres(pool) = &t.db {
                let mut tx = pool.begin().await.unwrap();
                let off: Option<bool> =
                    sqlx::query_scalar(LOCK_PENDING_SQL).bind("t").fetch_optional(&mut *tx).await.unwrap();
                assert_eq!(off, Some(false));
                sqlx::query(KEY_TAKEN_OFF_SQL)
                    .bind("t")
                    .bind("ALTER TABLE t ADD PRIMARY KEY (id)")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                let stored =
                    Pending { key_taken_off: true, primary_key_sql: Some("ALTER TABLE t ADD PRIMARY KEY (id)".into()) };
                assert_eq!(pending(&t.db, "t").await.unwrap(), Some(stored));
            }
            on_pool!(&t.db, pool => sqlx::query(CONSTRAINTS_ADDED_SQL).bind("t").execute(pool).await.unwrap().rows_affected());
            assert!(!constraints_pending(&t.db, "t").await.unwrap(), "{kind:?}");
        }
    }
}
