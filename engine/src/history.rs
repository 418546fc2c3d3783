//! Transfer history in `dbt_transfers`: who pulled what from which sender, with which strategies, how many rows
//! landed and how it ended. Counts come from this site's own import results, page by page, never from what a
//! browser claims.

use serde::{Deserialize, Serialize};

#[cfg(feature = "db")]
use crate::db::{on_pool, unix_now};
use crate::request::Strategy;
#[cfg(feature = "db")]
use crate::{Db, DbError, request::ImportResult};

/// A fieldless enum kept in a TEXT column as fixed strings and serialized (serde) as the same strings: one list
/// of variant ⇄ string gives `as_str`, `Display`, `FromStr`/`TryFrom<&str>`, serde and, with the `db` feature,
/// sqlx's `Type`/`Encode`/`Decode` on both engines (bound and read as text, so the columns stay TEXT).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and serialized) string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::history::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::history::UnknownValue::new(stringify!($name), s)),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::history::UnknownValue;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        #[cfg(feature = "db")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        #[cfg(feature = "db")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "db")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&'r str as sqlx::Decode<'r, DB>>::decode(value)?.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use text_enum;

/// A string that is none of a [`text_enum!`]'s values (read from a column or given by a caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// The enum's name (`Outcome`, `JobState`, …).
    pub kind: &'static str,
    /// The value, cut to 40 characters.
    pub value: String,
}

impl UnknownValue {
    pub fn new(kind: &'static str, value: &str) -> UnknownValue {
        UnknownValue { kind, value: value.chars().take(40).collect() }
    }
}

text_enum! {
    /// How a transfer reached this site.
    pub enum Channel {
        /// Relayed by an admin's browser (the Receive page).
        Browser = "browser",
        /// `db-transfer pull`.
        Cli = "cli",
        /// A background job on this site's server.
        Background = "background",
    }
}

text_enum! {
    /// The ways a transfer ends.
    pub enum Outcome {
        /// Every table landed whole.
        Finished = "finished",
        /// Ran to the end, but some tables or rows were refused.
        Incomplete = "incomplete",
        Cancelled = "cancelled",
        Failed = "failed",
    }
}

text_enum! {
    /// How a recorded transfer stands: running, or ended with one of the [`Outcome`]s (the same strings).
    pub enum TransferState {
        Running = "running",
        Finished = "finished",
        Incomplete = "incomplete",
        Cancelled = "cancelled",
        Failed = "failed",
    }
}

impl From<Outcome> for TransferState {
    fn from(outcome: Outcome) -> TransferState {
        match outcome {
            Outcome::Finished => TransferState::Finished,
            Outcome::Incomplete => TransferState::Incomplete,
            Outcome::Cancelled => TransferState::Cancelled,
            Outcome::Failed => TransferState::Failed,
        }
    }
}

impl TransferState {
    /// How it ended; `None` while it runs.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            TransferState::Running => None,
            TransferState::Finished => Some(Outcome::Finished),
            TransferState::Incomplete => Some(Outcome::Incomplete),
            TransferState::Cancelled => Some(Outcome::Cancelled),
            TransferState::Failed => Some(Outcome::Failed),
        }
    }
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
    pub channel: Channel,
    pub sender: String,
    pub tables: Vec<TableStrategy>,
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub errors: i64,
    pub outcome: TransferState,
    pub message: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// A `dbt_transfers` row as [`list`] reads it.
#[cfg(feature = "db")]
#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    admin: String,
    channel: Channel,
    sender: String,
    /// JSON: the [`TableStrategy`] list.
    tables: String,
    rows_done: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    errors: i64,
    outcome: TransferState,
    message: Option<String>,
    started_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

#[cfg(feature = "db")]
impl From<RecordRow> for TransferRecord {
    fn from(r: RecordRow) -> TransferRecord {
        TransferRecord {
            id: r.id,
            admin: r.admin,
            channel: r.channel,
            sender: r.sender,
            tables: serde_json::from_str(&r.tables).unwrap_or_default(),
            rows: r.rows_done,
            created: r.created,
            updated: r.updated,
            skipped: r.skipped,
            errors: r.errors,
            outcome: r.outcome,
            message: r.message,
            started_at: r.started_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

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
    let tables = serde_json::to_string(tables).expect("tables serialize");
    let (admin, sender): (String, String) = (admin.chars().take(200).collect(), sender.chars().take(500).collect());
    let id = on_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(&admin).bind(channel).bind(&sender).bind(&tables).bind(unix_now())
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

/// Ends a running transfer of `admin` with `outcome`; false when there is no such transfer (or `outcome` is a
/// string that names none: callers pass an [`Outcome`]; the string form is only for callers not yet switched).
#[cfg(feature = "db")]
pub async fn finish(db: &Db, id: i64, admin: &str, outcome: Outcome, message: Option<&str>) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_transfers SET outcome = $3, message = $4, finished_at = $5, updated_at = $5 \
                       WHERE id = $1 AND admin = $2 AND outcome = 'running'";
    let message: Option<String> = message.map(|m| m.chars().take(2000).collect());
    let done = on_pool!(db, pool => sqlx::query(SQL)
        .bind(id).bind(admin).bind(TransferState::from(outcome)).bind(&message).bind(unix_now())
        .execute(pool).await?.rows_affected());
    Ok(done == 1)
}

/// The latest transfers, newest first.
#[cfg(feature = "db")]
pub async fn list(db: &Db, limit: u32) -> Result<Vec<TransferRecord>, DbError> {
    const SQL: &str = "SELECT id, admin, channel, sender, tables, rows_done, created, updated, skipped, errors, outcome, \
                       message, started_at, updated_at, finished_at FROM dbt_transfers ORDER BY id DESC LIMIT $1";
    let rows: Vec<RecordRow> = on_pool!(db, pool => sqlx::query_as(SQL).bind(i64::from(limit)).fetch_all(pool).await?);
    Ok(rows.into_iter().map(TransferRecord::from).collect())
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every variant of a text enum reads back from its stored string and from its serde form, which is the same
    /// string; anything else is refused, naming the value.
    pub(crate) fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, expected: &[&str])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::str::FromStr<Err = UnknownValue> + Serialize,
        T: for<'de> Deserialize<'de>,
    {
        let stored: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
        assert_eq!(stored, expected);
        for &v in all {
            assert_eq!(as_str(v).parse::<T>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(as_str(v)));
            assert_eq!(serde_json::from_value::<T>(serde_json::json!(as_str(v))).unwrap(), v);
        }
        let refused = "exploded".parse::<T>().unwrap_err();
        assert_eq!(refused.value, "exploded");
        let error = serde_json::from_value::<T>(serde_json::json!("exploded")).unwrap_err().to_string();
        assert!(error.contains("unknown variant `exploded`"), "{error}");
    }

    #[test]
    fn outcomes_channels_and_transfer_states_round_trip_through_their_strings() {
        round_trips(Outcome::ALL, Outcome::as_str, &["finished", "incomplete", "cancelled", "failed"]);
        round_trips(Channel::ALL, Channel::as_str, &["browser", "cli", "background"]);
        round_trips(
            TransferState::ALL,
            TransferState::as_str,
            &["running", "finished", "incomplete", "cancelled", "failed"],
        );
        for &o in Outcome::ALL {
            assert_eq!(TransferState::from(o).as_str(), o.as_str());
            assert_eq!(TransferState::from(o).outcome(), Some(o));
        }
        assert_eq!(TransferState::Running.outcome(), None);
        assert_eq!("Finished".parse::<Outcome>().unwrap_err().to_string(), "unknown Outcome \"Finished\"");
    }

    /// Bound and read back through sqlx on both engines, as the TEXT the columns hold.
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn text_enums_bind_and_read_as_text_on_both_engines() {
        for kind in crate::testing::ENGINES {
            let t = crate::testing::TestDb::new(kind).await;
            for &o in TransferState::ALL {
                let (text, back): (String, TransferState) = on_pool!(&t.db, pool =>
                    sqlx::query_as("SELECT $1, $2").bind(o).bind(o).fetch_one(pool).await.unwrap());
                assert_eq!((text.as_str(), back), (o.as_str(), o), "{kind:?}");
            }
            let wrong: Result<(TransferState,), _> = on_pool!(&t.db, pool =>
                sqlx::query_as("SELECT 'exploded'").fetch_one(pool).await);
            let error = wrong.unwrap_err().to_string();
            assert!(error.contains("unknown TransferState \"exploded\""), "{kind:?}: {error}");
        }
    }
}
