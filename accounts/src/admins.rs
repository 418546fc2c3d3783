//! Admin accounts in `dbt_admins`: create one, count them, check a login.

use store::Db;

use crate::password::{Password, verify_in};
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
        hashing(move |_| p.hash()).await?
    };
    let now = unix_now();
    const SQL: &str = "INSERT INTO dbt_admins (username, password_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (username) DO NOTHING RETURNING id";
    let id: Option<i64> = match db {
        Db::Postgres(p) => {
            sqlx::query_scalar(SQL).bind(username.as_str()).bind(&hash).bind(now).fetch_optional(p).await?
        }
        Db::Sqlite(p) => {
            sqlx::query_scalar(SQL).bind(username.as_str()).bind(&hash).bind(now).fetch_optional(p).await?
        }
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
    let candidate = password.to_owned();
    let id = row.as_ref().map(|(id, _)| *id);
    let ok = hashing(move |memory| {
        let stored = match &row {
            Some((_, stored)) => stored,
            None => DUMMY_HASH.get_or_init(|| Password::generate().hash().unwrap_or_default()),
        };
        Ok(verify_in(&candidate, stored, memory) && row.is_some())
    })
    .await?;
    Ok(id.filter(|_| ok).map(|id| Admin { id, username: username.as_str().to_owned() }))
}

/// How many argon2 runs go at once, server-wide: each takes about 19 MiB and a core for tens of milliseconds,
/// so a burst of sign-ins queues for a turn instead of taking memory per request. Hashing is CPU-bound:
/// more runs than cores would add memory, not throughput.
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4)
}

/// Runs an argon2 computation on a blocking thread once one of the [`max_concurrent_hashes`] turns is free,
/// with that turn's working memory (allocated once, reused by every later verification). The turn is held by
/// the blocking task itself, so a request abandoned while its hash runs frees nothing early.
async fn hashing<T: Send + 'static>(
    f: impl FnOnce(&mut Vec<argon2::Block>) -> Result<T, AccountsError> + Send + 'static,
) -> Result<T, AccountsError> {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    static MEMORY: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());
    let turn = TURNS
        .get_or_init(|| tokio::sync::Semaphore::new(max_concurrent_hashes()))
        .acquire()
        .await
        .map_err(|e| AccountsError::Hash(e.to_string()))?;
    let memories = || MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        // At most one buffer per turn exists: each is taken by a turn and put back when its hash is done.
        let mut memory = memories().pop().unwrap_or_default();
        let result = f(&mut memory);
        memories().push(memory);
        result
    })
    .await
    .map_err(|e| AccountsError::Hash(e.to_string()))?
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
