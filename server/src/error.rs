//! Errors that stop the server or a CLI command; printed to the operator, never sent to a browser.

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Db(#[from] engine::DbError),
    #[error(transparent)]
    Accounts(#[from] accounts::AccountsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("{0}")]
    Config(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
