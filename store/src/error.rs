//! What can go wrong talking to a database.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The `--database-url` is not one we can use; the message says why.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// Could not connect; the inner error carries the driver's reason.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// Creating or upgrading the app's own tables failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other query failure.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}
