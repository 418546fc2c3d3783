//! Errors of the accounts layer; each variant's message is fit to show the admin who caused it.

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("invalid username: {0}")]
    InvalidUsername(&'static str),
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
    #[error("an admin named {0:?} already exists")]
    AdminExists(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] store::DbError),
}

impl From<sqlx::Error> for AccountsError {
    fn from(e: sqlx::Error) -> Self {
        AccountsError::Db(e.into())
    }
}
