//! The app's own data, in `dbt_*` tables next to the user's: their migrations (one set per engine), the system
//! setting, the transfer history, background jobs' records and tables whose constraints are still to come.
//! Admins and sessions are the `accounts` crate's.
//!
//! - [`settings`]: the persisted system toggle;
//! - [`history`]: `dbt_transfers`, counted page by page through [`jobs::Checkpoint`];
//! - [`jobs`]: `dbt_jobs` / `dbt_job_tables` and the checkpoint written in each page's transaction;
//! - [`constraints`]: tables whose constraints after the data are still to come (`dbt_pending_constraints`);
//! - [`testing`] (feature `testing`): throwaway databases for tests in every crate.

pub mod constraints;
pub mod history;
pub mod jobs;
pub mod settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use protocol::history::UnknownValue;
use store::{Db, DbError};

/// Creates or upgrades the app's own tables (one migration set per engine).
pub async fn migrate(db: &Db) -> Result<(), DbError> {
    match db {
        Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
    }
    Ok(())
}

/// Connects and brings the app's own tables up to date.
pub async fn connect(url: &str) -> Result<Db, DbError> {
    let db = Db::connect(url).await?;
    migrate(&db).await?;
    Ok(db)
}

/// A column of a [`protocol`] text enum (`Outcome`, `JobState`, …) in a `FromRow` struct: read as TEXT and parsed,
/// so a string that names no value fails the row with an error naming it. (The enums live in the WASM-safe
/// protocol crate, which knows nothing of sqlx.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored<T>(pub T);

impl<T, DB: sqlx::Database> sqlx::Type<DB> for Stored<T>
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, T, DB: sqlx::Database> sqlx::Decode<'r, DB> for Stored<T>
where
    T: TryFrom<String, Error = UnknownValue>,
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Stored(T::try_from(<String as sqlx::Decode<'r, DB>>::decode(value)?)?))
    }
}
