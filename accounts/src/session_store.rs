//! A `tower-sessions` store over `dbt_sessions`, on PostgreSQL or SQLite.
//!
//! `tower-sessions-sqlx-store` would do this, but it is built on sqlx 0.8 and would link a second SQLite; the
//! store contract is four small queries, kept here.

use async_trait::async_trait;
use store::Db;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> DbSessionStore {
        DbSessionStore { db }
    }

    /// Deletes expired sessions every `period`, forever; spawn it.
    pub async fn delete_expired_every(self, period: std::time::Duration) {
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            if let Err(e) = self.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
        }
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id until one is free: a collision is astronomically rare, but must not overwrite a session.
        const SQL: &str =
            "INSERT INTO dbt_sessions (id, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        loop {
            let (id, expires) = (record.id.to_string(), record.expiry_date.unix_timestamp());
            let inserted = match &self.db {
                Db::Postgres(p) => sqlx::query(SQL)
                    .bind(&id)
                    .bind(&data)
                    .bind(expires)
                    .execute(p)
                    .await
                    .map_err(backend)?
                    .rows_affected(),
                Db::Sqlite(p) => sqlx::query(SQL)
                    .bind(&id)
                    .bind(&data)
                    .bind(expires)
                    .execute(p)
                    .await
                    .map_err(backend)?
                    .rows_affected(),
            };
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        const SQL: &str = "INSERT INTO dbt_sessions (id, data, expires_at) VALUES ($1, $2, $3) \
                           ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at";
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let (id, expires) = (record.id.to_string(), record.expiry_date.unix_timestamp());
        match &self.db {
            Db::Postgres(p) => sqlx::query(SQL).bind(&id).bind(&data).bind(expires).execute(p).await.map(drop),
            Db::Sqlite(p) => sqlx::query(SQL).bind(&id).bind(&data).bind(expires).execute(p).await.map(drop),
        }
        .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        const SQL: &str = "SELECT data, expires_at FROM dbt_sessions WHERE id = $1 AND expires_at > $2";
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let row: Option<(String, i64)> = match &self.db {
            Db::Postgres(p) => sqlx::query_as(SQL).bind(id.to_string()).bind(now).fetch_optional(p).await,
            Db::Sqlite(p) => sqlx::query_as(SQL).bind(id.to_string()).bind(now).fetch_optional(p).await,
        }
        .map_err(backend)?;
        let Some((data, expires_at)) = row else { return Ok(None) };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        const SQL: &str = "DELETE FROM dbt_sessions WHERE id = $1";
        match &self.db {
            Db::Postgres(p) => sqlx::query(SQL).bind(id.to_string()).execute(p).await.map(drop),
            Db::Sqlite(p) => sqlx::query(SQL).bind(id.to_string()).execute(p).await.map(drop),
        }
        .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        const SQL: &str = "DELETE FROM dbt_sessions WHERE expires_at <= $1";
        let now = OffsetDateTime::now_utc().unix_timestamp();
        match &self.db {
            Db::Postgres(p) => sqlx::query(SQL).bind(now).execute(p).await.map(drop),
            Db::Sqlite(p) => sqlx::query(SQL).bind(now).execute(p).await.map(drop),
        }
        .map_err(backend)
    }
}
