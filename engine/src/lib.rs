//! The DB Transfer engine: everything that touches a database and nothing that draws a page or speaks HTTP,
//! so scripts and the CLI can use it alone.
//!
//! - [`db`]: the connection ([`Db`]: PostgreSQL or SQLite), the app's own tables and their migrations;
//! - [`settings`]: the persisted system toggle;
//! - [`tables`]: the table operations — list, schema, count, export, import — over [`postgres`] and [`sqlite`],
//!   one module per engine;
//! - [`ident`], [`value`], [`page`], [`schema`], [`request`], [`plan`], [`exclusions`]: the types they share.
//!
//! The wire protocol and the programmatic client land here next (see `docs/architecture.md`).

pub mod create;
pub mod db;
pub mod error;
pub mod exclusions;
pub mod ident;
pub mod keyset;
pub mod page;
pub mod pg_types;
pub mod plan;
pub mod postgres;
pub mod protocol;
pub mod request;
pub mod schema;
pub mod sender;
pub mod settings;
pub mod sqlite;
pub mod tables;
pub mod value;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Db, EngineKind};
pub use error::{DbError, EngineError};
pub use exclusions::Exclusions;
pub use ident::{ColumnName, TableName};
pub use page::{Page, PageColumn};
pub use request::{Cursor, ExportedPage, ImportResult, PageRequest, Position, RowError, RowFilter, Strategy};
pub use schema::{TableInfo, TableSchema};
pub use tables::Tables;
pub use value::{Value, ValueKind};
