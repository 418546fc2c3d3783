//! Admin accounts and their sessions, stored in the app's own database.
//!
//! - [`username`] and [`password`]: validated newtypes and argon2 hashing;
//! - [`admins`]: creating admins and checking a login;
//! - [`session_store`]: a `tower-sessions` store over `dbt_sessions` (PostgreSQL or SQLite);
//! - [`limiter`]: counts failed attempts per client (logins; later, connection codes).

pub mod admins;
pub mod error;
pub mod limiter;
pub mod password;
pub mod session_store;
pub mod username;

pub use admins::Admin;
pub use error::AccountsError;
pub use limiter::FailureLimiter;
pub use password::Password;
pub use session_store::DbSessionStore;
pub use username::Username;
