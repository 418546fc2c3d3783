//! The connection to one database — PostgreSQL or SQLite — that the app's own data (`appdata`) and the user's
//! tables (`engine`) are both read through. The app's own tables and their migrations are `appdata`'s.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use error::DbError;
pub use protocol::exclusions::APP_TABLE_PREFIX;

mod error;

/// Seconds since the Unix epoch, as the app's own tables store times.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Runs the same sqlx expression on whichever pool `db` holds (the app's own tables read alike on both engines).
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Postgres($pool) => $body,
            $crate::Db::Sqlite($pool) => $body,
        }
    };
}

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Postgres,
    Sqlite,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Postgres => "PostgreSQL",
            EngineKind::Sqlite => "SQLite",
        }
    }
}

/// The engine's name on the wire.
impl From<EngineKind> for protocol::messages::EngineId {
    fn from(kind: EngineKind) -> protocol::messages::EngineId {
        use protocol::messages::EngineId;
        match kind {
            EngineKind::Postgres => EngineId::Postgres,
            EngineKind::Sqlite => EngineId::Sqlite,
        }
    }
}

/// A pool on one database. One variant per engine: callers match where SQL differs.
#[derive(Debug, Clone)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Db {
    /// Connects to `postgres://…`/`postgresql://…` or `sqlite://path` (`sqlite:path`). A SQLite file and its
    /// parent directory are created when missing, so the embedded default needs no set-up.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Fixed output formats, so values leave as the same text on every server and read back unchanged.
            let options = PgConnectOptions::from_str(url).map_err(|e| DbError::InvalidUrl(e.to_string()))?.options([
                ("DateStyle", "ISO, YMD"),
                ("IntervalStyle", "postgres"),
                ("TimeZone", "UTC"),
                ("extra_float_digits", "1"),
                ("bytea_output", "hex"),
            ]);
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .foreign_keys(true)
                // WAL lets the pages being read for a transfer coexist with the app's own writes.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10));
            let path = options.get_filename();
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| DbError::InvalidUrl(format!("cannot create {}: {e}", parent.display())))?;
            }
            let pool =
                SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(DbError::Connect)?;
            Ok(Db::Sqlite(pool))
        } else {
            Err(DbError::InvalidUrl(format!("{:?} is neither postgres://… nor sqlite://…", redact(url))))
        }
    }

    pub fn engine(&self) -> EngineKind {
        match self {
            Db::Postgres(_) => EngineKind::Postgres,
            Db::Sqlite(_) => EngineKind::Sqlite,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Postgres(pool) => pool.close().await,
            Db::Sqlite(pool) => pool.close().await,
        }
    }
}

/// A database URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact("postgres://bob:s3cret@db:5432/x"), "postgres://bob:***@db:5432/x");
        assert_eq!(redact("postgres://bob@db/x"), "postgres://bob@db/x");
        assert_eq!(redact("sqlite://data/a.sqlite"), "sqlite://data/a.sqlite");
    }
}
