//! What the programmatic client can fail with: each variant is a distinct situation a script may react to
//! (ask for a new code, retry later, create the table, report the rows).

use engine::EngineError;
use protocol::messages::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The sender URL cannot be used (the text says why).
    #[error("invalid sender URL: {0}")]
    InvalidUrl(String),
    /// No connection within the timeout.
    #[error("no connection to the sender within {0} s")]
    ConnectTimeout(u64),
    /// Nothing answered at the address, or not as a DB Transfer sender.
    #[error("cannot reach the sender: {0}")]
    Unreachable(String),
    /// The sender does not know this code.
    #[error("invalid connection code")]
    InvalidCode,
    /// The code already admitted a receiver.
    #[error("this connection code was already used; ask the sender for a new one")]
    CodeUsed,
    /// The code expired, or the sender's Send page closed.
    #[error("{0}")]
    CodeExpired(String),
    /// The sender switched transfers off.
    #[error("transfers are switched off on the sender")]
    TransfersOff,
    /// Too many wrong codes from this address.
    #[error("{0}")]
    RateLimited(String),
    /// Any other refusal of the connection, with the sender's status and words.
    #[error("the sender refused the connection ({status}): {message}")]
    Refused { status: u16, message: String },
    /// The sender and this client share no protocol version.
    #[error("protocol version mismatch: {0}")]
    VersionMismatch(String),
    /// The connection ended: stopped by the sender (`stopped`) or dropped.
    #[error("disconnected from the sender: {reason}")]
    Disconnected { reason: String, stopped: bool },
    /// The sender has no such table (or does not offer it).
    #[error("the sender has no table {0:?}")]
    TableNotFound(String),
    /// The table is not here and creating missing tables was not asked for.
    #[error("table {:?} does not exist here (create missing tables is off)", .0.as_str())]
    MissingLocally(protocol::TableName),
    /// A table name no engine accepts (given to the client, or sent by the sender).
    #[error("{0}")]
    InvalidName(#[from] protocol::ProtocolError),
    /// The sender answered a request with an error.
    #[error("the sender answered {code:?}: {message}")]
    Remote { code: ErrorCode, message: String },
    /// No answer to a request within the timeout.
    #[error("the sender did not answer within {0} s")]
    Timeout(u64),
    /// The sender sent something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A background job was cancelled between two pages (everything before is committed).
    #[error("cancelled")]
    Cancelled,
    /// Writing here failed (the local database's reason).
    #[error("import failed: {0}")]
    Import(#[from] EngineError),
}

impl ClientError {
    /// Whether reconnecting with the resume token may help (the connection dropped; the sender did not stop us).
    pub fn is_resumable(&self) -> bool {
        matches!(self, ClientError::Disconnected { stopped: false, .. } | ClientError::Timeout(_))
    }
}
