//! Admin accounts in `dbt_admins`: create one, count them, check a login.

use engine::Db;

use crate::password::{verify, Password};
use crate::{AccountsError, Username};

/// A signed-in admin, as kept in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub username: String,
}

/// Creates an admin. Hashing runs on a blocking thread.
pub async fn create_admin(db: &Db, username: &Username, password: &Password) -> Result<Admin, AccountsError> {
    let hash = {
        let p = Password::parse(password.expose())?;
        tokio_blocking(move || p.hash()).await?
    };
    let now = unix_now();
    const SQL: &str =
        "INSERT INTO dbt_admins (username, password_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (username) DO NOTHING RETURNING id";
    let id: Option<i64> = match db {
        Db::Postgres(p) => sqlx::query_scalar(SQL).bind(username.as_str()).bind(&hash).bind(now).fetch_optional(p).await?,
        Db::Sqlite(p) => sqlx::query_scalar(SQL).bind(username.as_str()).bind(&hash).bind(now).fetch_optional(p).await?,
    };
    match id {
        Some(id) => Ok(Admin { id, username: username.as_str().to_owned() }),
        None => Err(AccountsError::AdminExists(username.as_str().to_owned())),
    }
}

pub async fn count_admins(db: &Db) -> Result<i64, AccountsError> {
    const SQL: &str = "SELECT count(*) FROM dbt_admins";
    Ok(match db {
        Db::Postgres(p) => sqlx::query_scalar(SQL).fetch_one(p).await?,
        Db::Sqlite(p) => sqlx::query_scalar(SQL).fetch_one(p).await?,
    })
}

/// The admin whose name and password these are, or `None`. An unknown name costs the same hash verification
/// as a wrong password, so response time does not reveal which names exist.
pub async fn check_login(db: &Db, username: &str, password: &str) -> Result<Option<Admin>, AccountsError> {
    // A hash of a random password: verifying against it always fails, in the same time as a real one.
    static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

    let Ok(username) = Username::parse(username) else { return Ok(None) };
    const SQL: &str = "SELECT id, password_hash FROM dbt_admins WHERE username = $1";
    let row: Option<(i64, String)> = match db {
        Db::Postgres(p) => sqlx::query_as(SQL).bind(username.as_str()).fetch_optional(p).await?,
        Db::Sqlite(p) => sqlx::query_as(SQL).bind(username.as_str()).fetch_optional(p).await?,
    };
    let (id, stored) = match row {
        Some(row) => row,
        None => {
            let dummy = DUMMY_HASH.get_or_init(|| Password::generate().hash().unwrap_or_default()).clone();
            (-1, dummy)
        }
    };
    let candidate = password.to_owned();
    let ok = tokio_blocking(move || Ok(verify(&candidate, &stored))).await?;
    Ok((ok && id >= 0).then(|| Admin { id, username: username.as_str().to_owned() }))
}

async fn tokio_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AccountsError> + Send + 'static,
) -> Result<T, AccountsError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AccountsError::Hash(e.to_string()))?
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
