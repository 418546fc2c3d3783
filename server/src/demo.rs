//! `db-transfer demo`: a sender and a receiver on SQLite files, so a transfer can be tried with no set-up.
//! The sender gets a small blog (users, posts, comments); the receiver starts empty; both have the same admin
//! and transfers switched on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use accounts::Password;
use clap::Args;
use engine::Db;

use crate::{Instance, ServeConfig, ServerError};

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory for the two SQLite files and the demo admin's password.
    #[arg(long, env = "DBT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub sender_addr: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:3100")]
    pub receiver_addr: SocketAddr,
    /// Where the built site (`pkg/`) lives.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

pub const DEMO_ADMIN: &str = "admin";

/// The running pair and how to sign in to it.
pub struct Demo {
    pub sender: Instance,
    pub receiver: Instance,
    pub password: String,
}

pub async fn start(args: &DemoArgs) -> Result<Demo, ServerError> {
    std::fs::create_dir_all(&args.data_dir)?;
    let password = demo_password(&args.data_dir)?;
    // Both run on one host, so each gets its own cookie: one browser stays signed in to both.
    let config = |file: &str, addr, role: &str| {
        let mut c = ServeConfig::with_database(sqlite_url(&args.data_dir.join(file)), addr);
        c.session_cookie = format!("dbt_session_{role}");
        c.project = format!("Demo {role}");
        c.admin_username = Some(DEMO_ADMIN.into());
        c.admin_password = Some(password.clone());
        c.site_root = args.site_root.clone();
        c
    };
    let sender = Instance::start(&config("sender.sqlite", args.sender_addr, "sender")).await?;
    let receiver = Instance::start(&config("receiver.sqlite", args.receiver_addr, "receiver")).await?;
    seed_sender(&sender.db).await?;
    for db in [&sender.db, &receiver.db] {
        appdata::settings::set_transfers_enabled(db, true).await?;
    }
    Ok(Demo { sender, receiver, password })
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The demo admin's password: made once, kept in the data directory (mode 0600) so restarts reuse it.
fn demo_password(data_dir: &Path) -> Result<String, ServerError> {
    let file = data_dir.join("demo-admin-password");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        let existing = existing.trim().to_owned();
        if Password::parse(&existing).is_ok() {
            return Ok(existing);
        }
    }
    let fresh = Password::generate().expose().to_owned();
    std::fs::write(&file, format!("{fresh}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(fresh)
}

/// Creates and fills the blog tables, once.
async fn seed_sender(db: &Db) -> Result<(), ServerError> {
    let Db::Sqlite(pool) = db else { return Err(ServerError::Config("the demo sender is SQLite".into())) };
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'")
        .fetch_one(pool)
        .await
        .map_err(engine::DbError::from)?;
    if exists == 0 {
        let mut tx = pool.begin().await.map_err(engine::DbError::from)?;
        sqlx::raw_sql(include_str!("demo_seed.sql")).execute(&mut *tx).await.map_err(engine::DbError::from)?;
        tx.commit().await.map_err(engine::DbError::from)?;
        tracing::info!("seeded the demo sender with users, posts and comments");
    }
    Ok(())
}
