//! The database engines: one implementation per engine (PostgreSQL, SQLite) behind one interface, [`Tables`] —
//! list, schema, count, export, import (prepared once per table), create — with nothing that draws a page or
//! speaks HTTP. The vocabulary they share with the browser and the wire is the `protocol` crate's; the connection
//! is `store`'s; the app's own records written inside an import's transaction are `appdata`'s.
//!
//! - [`tables`]: the operations, over [`postgres`] and [`sqlite`];
//! - [`plan`], [`keyset`]: the import plan and the keyset page query, each engine its spelling;
//! - [`create`]: creating a missing table from a sender's schema, constraints after the data;
//! - [`compress`]: pages and binary COPY bytes as they travel (zstd);
//! - [`error`]: [`EngineError`], what the operations refuse or fail with.

pub mod compress;
pub mod create;
pub mod error;
pub mod keyset;
pub mod plan;
pub mod postgres;
pub mod sqlite;
pub mod tables;

pub use error::EngineError;
pub use protocol::{TableName, TableSchema};
pub use store::{Db, DbError, EngineKind};
pub use tables::Tables;
