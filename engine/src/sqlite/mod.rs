//! The SQLite implementation of the engine's table operations: inspection through the `pragma_*` table
//! functions, keyset export (key, else `rowid`), and import one transaction per page with prepared statements.

pub mod export;
pub mod import;
pub mod inspect;
