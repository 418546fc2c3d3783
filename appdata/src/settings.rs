//! Persisted system settings of one instance, stored in `dbt_settings`.
//!
//! The one setting today is the system toggle: while it is off (the default on a new install) the sender
//! refuses every receiver.

use store::{Db, DbError};

const TRANSFERS_ENABLED: &str = "transfers_enabled";

/// Whether this instance serves receivers. Off until an admin turns it on.
pub async fn transfers_enabled(db: &Db) -> Result<bool, DbError> {
    Ok(get(db, TRANSFERS_ENABLED).await?.as_deref() == Some("true"))
}

pub async fn set_transfers_enabled(db: &Db, enabled: bool) -> Result<(), DbError> {
    set(db, TRANSFERS_ENABLED, if enabled { "true" } else { "false" }).await
}

async fn get(db: &Db, key: &str) -> Result<Option<String>, DbError> {
    const SQL: &str = "SELECT value FROM dbt_settings WHERE key = $1";
    Ok(match db {
        Db::Postgres(pool) => sqlx::query_scalar(SQL).bind(key).fetch_optional(pool).await?,
        Db::Sqlite(pool) => sqlx::query_scalar(SQL).bind(key).fetch_optional(pool).await?,
    })
}

async fn set(db: &Db, key: &str, value: &str) -> Result<(), DbError> {
    const SQL: &str = "INSERT INTO dbt_settings (key, value) VALUES ($1, $2) \
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    match db {
        Db::Postgres(pool) => {
            sqlx::query(SQL).bind(key).bind(value).execute(pool).await?;
        }
        Db::Sqlite(pool) => {
            sqlx::query(SQL).bind(key).bind(value).execute(pool).await?;
        }
    }
    Ok(())
}
