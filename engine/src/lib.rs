//! The DB Transfer engine: everything that touches a database and nothing that draws a page or speaks HTTP,
//! so scripts and the CLI can use it alone.
//!
//! - [`db`]: the connection ([`Db`]: PostgreSQL or SQLite), the app's own tables and their migrations;
//! - [`settings`]: the persisted system toggle;
//! - [`tables`]: the table operations — list, schema, count, export, import — over [`postgres`] and [`sqlite`],
//!   one module per engine;
//! - [`ident`], [`value`], [`page`], [`schema`], [`request`], [`plan`], [`exclusions`]: the types they share.
//!
//! - [`client`] (feature `client`, default): the programmatic receiver — connect with a code, list, fetch,
//!   transfer into a local [`Tables`];
//! - [`history`], [`jobs`]: the transfer history and background jobs' own records;
//! - [`order`], [`address`], [`protocol`]: foreign-key order, sender URLs, the wire protocol;
//! - [`transfer`]: the one transfer driver (the browser, the CLI and jobs all run it), over a page source and a
//!   page sink; [`sink`]: the local database as a sink.
//!
//! Without the default features only the shared vocabulary is built (values, pages, schemas, protocol), for the
//! browser's WASM.

pub mod address;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "db")]
pub mod create;
#[cfg(feature = "db")]
pub mod db;
pub mod demux;
pub mod error;
pub mod exclusions;
pub mod history;
pub mod ident;
pub mod jobs;
#[cfg(feature = "db")]
pub mod keyset;
pub mod order;
pub mod page;
pub mod pg_copy;
pub mod pg_types;
#[cfg(feature = "db")]
pub mod plan;
#[cfg(feature = "db")]
pub mod postgres;
pub mod protocol;
pub mod request;
pub mod schema;
#[cfg(feature = "db")]
pub mod sender;
#[cfg(feature = "db")]
pub mod settings;
#[cfg(feature = "db")]
pub mod sink;
#[cfg(feature = "db")]
pub mod sqlite;
#[cfg(feature = "db")]
pub mod tables;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transfer;
pub mod value;
#[cfg(feature = "db")]
pub use db::{Db, EngineKind};
#[cfg(feature = "db")]
pub use error::DbError;
pub use error::EngineError;
pub use exclusions::Exclusions;
pub use ident::{ColumnName, TableName};
pub use page::{Page, PageColumn};
pub use request::{Cursor, ExportedPage, ImportResult, PageRequest, Position, RowError, RowFilter, Strategy};
pub use schema::{TableInfo, TableSchema};
#[cfg(feature = "db")]
pub use tables::Tables;
pub use value::{Value, ValueKind};
