//! DB Transfer's shared vocabulary: everything the browser, the sender, the CLI and background jobs must agree
//! on, with no I/O and no cargo features, so the browser's WASM builds the very same code.
//!
//! - [`value`], [`page`], [`schema`], [`ident`], [`request`]: values, the page encoding (hostile decoding),
//!   table schemas, validated names, page requests and import results;
//! - [`messages`]: every wire message and typed reply (capabilities, checksums, refusals, close kinds, error
//!   codes), connection codes;
//! - [`address`]: sender URLs; [`order`]: foreign-key order; [`exclusions`]: tables never offered;
//! - [`demux`]: the one routing of replies to requests; [`transfer`]: the one transfer driver, over a page
//!   source and a page sink;
//! - [`history`], [`jobs`]: the transfer history and background jobs as they are shown (stored by `appdata`);
//! - [`pg_copy`], [`pg_types`]: PostgreSQL binary COPY framing and type names, shared by sender and receiver.

pub mod address;
pub mod code;
pub mod demux;
pub mod error;
pub mod exclusions;
pub mod history;
pub mod ident;
pub mod jobs;
pub mod messages;
pub mod order;
pub mod page;
pub mod pg_copy;
pub mod pg_types;
pub mod request;
pub mod schema;
pub mod transfer;
pub mod value;

pub use code::ConnectionCode;
pub use error::ProtocolError;
pub use exclusions::Exclusions;
pub use ident::{ColumnName, TableName};
pub use page::{Page, PageColumn};
pub use request::{Cursor, ExportedPage, ImportResult, PageRequest, Position, RowError, RowFilter, Strategy};
pub use schema::{TableInfo, TableSchema};
pub use value::{Value, ValueKind};
