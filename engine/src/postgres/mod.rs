//! The PostgreSQL implementation of the engine's table operations: inspection from the catalogs, keyset export,
//! and COPY-based import with set-based strategies. Tables are those of the connection's `current_schema()`.

pub mod binary_copy;
pub mod careful;
pub mod export;
pub mod import;
pub mod inspect;
pub mod partitions;
