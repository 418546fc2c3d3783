//! The DB Transfer engine: everything that touches a database and nothing that draws a page or speaks HTTP,
//! so scripts and the CLI can use it alone.
//!
//! Today it holds the connection to the app's database ([`Db`]), the app's own tables and their migrations,
//! and the persisted system toggle ([`settings`]). Inspect, export, import, the wire protocol and the client
//! land here next (see `docs/architecture.md`).

pub mod db;
pub mod error;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Db, EngineKind};
pub use error::DbError;
