//! Errors of the engine's table operations.

use appdata::jobs::CheckpointError;
use protocol::ProtocolError;
use store::DbError;

/// What the engine's table operations can refuse or fail with. Messages are fit to show the user; database
/// errors carry the database's own reason.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A table or column name no engine accepts.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidIdentifier { kind: &'static str, name: String, reason: &'static str },
    /// The table is not one this instance lists for transfer (missing, excluded, or the app's own).
    #[error("table not found: {0:?}")]
    TableNotFound(String),
    /// A column named in a request is not in the table.
    #[error("column not found: {table:?}.{column:?}")]
    ColumnNotFound { table: String, column: String },
    /// The request cannot be served as asked; the text names what was wrong.
    #[error("{0}")]
    BadRequest(String),
    /// A page could not be decoded; the text says where.
    #[error("malformed page: {0}")]
    MalformedPage(String),
    /// A value the target column cannot hold.
    #[error("column {column:?}: {reason}")]
    Unrepresentable { column: String, reason: String },
    /// A background job's table moved on since this page was fetched (another worker imported it); the page
    /// was rolled back.
    #[error("job {job}: the table's cursor moved since this page was fetched; the page was not imported")]
    CheckpointMoved { job: i64 },
    /// A broken promise inside the engine (a bug, never the user's input); the text is for the log.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        EngineError::Db(DbError::Query(e))
    }
}

impl From<ProtocolError> for EngineError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::InvalidIdentifier { kind, name, reason } => {
                EngineError::InvalidIdentifier { kind, name, reason }
            }
            ProtocolError::MalformedPage(m) => EngineError::MalformedPage(m),
        }
    }
}

impl From<CheckpointError> for EngineError {
    fn from(e: CheckpointError) -> Self {
        match e {
            CheckpointError::Moved { job } => EngineError::CheckpointMoved { job },
            CheckpointError::Db(e) => EngineError::from(e),
        }
    }
}
