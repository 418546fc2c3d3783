//! SQL text from a sender, validated before it is ever run (issue #14).
//!
//! Default expressions, CHECK expressions, generated-column expressions, index definitions and type names arrive
//! as SQL text from the sending database, which may be hostile. Nothing here splices that text: it is tokenized
//! (comments, `;`, placeholders and `U&` escapes refused outright), bounded ([`MAX_LEN`] bytes, [`MAX_DEPTH`]
//! levels, also as sqlparser's recursion limit), parsed with `sqlparser`, walked against an allow-list of node
//! kinds, operators and functions, and **re-rendered from the tree** (identifiers and literals re-quoted). The
//! re-rendered text must parse back to the same text, or it is refused too. Whatever is refused comes back as a
//! [`Refusal`] that names it (`function pg_sleep is not allowed`).
//!
//! # Entry points
//! - [`expression`] (a column default) and [`generated`] (a generated column's expression) → [`Expr`];
//!   [`check`] (`CHECK (…) [NO INHERIT] [NOT VALID]`) → [`Check`];
//! - [`index`] (`pg_get_indexdef()` / SQLite `sqlite_master.sql`) → [`IndexDef`], rendered by the caller for its
//!   own index and table names with [`IndexDef::render`];
//! - [`partition_key`] (`pg_get_partkeydef()`) and [`partition_bound`] (`pg_get_expr(relpartbound, oid)`);
//! - [`sqlite_table`]: the CHECKs, `AUTOINCREMENT` column, `WITHOUT ROWID` and `STRICT` of a SQLite
//!   `CREATE TABLE` text;
//! - [`pg_type`] (`format_type()`, cast targets) and [`sqlite_type`] (declared types) → [`TypeName`];
//! - [`quote_ident`] for the caller's own names.
//!
//! # What is accepted in expressions
//! - Literals: numbers, strings (`'…'`, PostgreSQL `E'…'`), booleans, `NULL`, SQLite blobs `X'…'`; typed
//!   strings (`date '…'`) and casts (`CAST(x AS t)`, PostgreSQL `x::t`) to validated type names
//!   ([`pg_type`]/[`sqlite_type`]); casts to `reg*` types only where noted below.
//! - Column references: unqualified identifiers, quoted or not (reported by [`Expr::columns`]).
//! - Operators: `+ - * / %`, `||`, comparisons, `AND OR NOT`, `IS [NOT] NULL/TRUE/FALSE/UNKNOWN`,
//!   `IS [NOT] DISTINCT FROM`, `[NOT] IN (list)`, `[NOT] BETWEEN`, `[NOT] LIKE … [ESCAPE …]`, `->`, `->>`;
//!   PostgreSQL also `ILIKE`, `~~ ~~* !~~ !~~*`, `~ ~* !~ !~*`, `^`, `^@`, `#> #>> @> <@ ? ?& ?| @@ &&`,
//!   `op ANY/SOME/ALL (…)`, `ARRAY[…]`, `AT TIME ZONE`, `EXTRACT(field FROM …)`, `COLLATE name`; SQLite also
//!   `GLOB`, `IS`, `IS NOT`.
//! - `CASE`, `SUBSTRING(… FROM … FOR …)`, `TRIM(…)`, and the functions of the allow-list (`functions.rs`:
//!   date/time, text, numeric, conditional — `coalesce`, `nullif`, `greatest`, `least` — uuid, json and
//!   text-search built-ins), by bare name or PostgreSQL `pg_catalog.name`; a quoted name only in lower case
//!   (PostgreSQL's `"left"(…)`).
//! - `nextval` only in a default ([`expression`]), with one string literal (optionally `::regclass`) naming a sequence, reported by
//!   [`Expr::sequences`] and replaceable with [`Expr::with_sequences`]; `to_tsvector` and the `to_tsquery`
//!   family take their configuration only as a string literal (optionally `::regconfig`).
//!
//! # Where a function may stand
//! - `nextval` (a side effect: sequence increments survive a rollback) only in a default, never in a CHECK, a
//!   generated column, an index, a partition key or a partition bound (evaluated once at CREATE);
//! - volatile functions (`random`, `randomblob`, `gen_random_uuid`, `uuid_generate_*`, `uuidv4`, `uuidv7`,
//!   `clock_timestamp`) only in a default;
//! - clock and session functions (`now`, `current_timestamp`, `current_user`, …) also in a CHECK and a partition
//!   bound, not in a generated column, an index or a partition key;
//! - refused as `function nextval is not allowed in a CHECK constraint` (`… in a partition bound`, `… in an
//!   index`, `… in a partition key`, `… in a generated column`).
//!
//! # Bounded output
//! - Output-growing functions (`hex`, `quote`, `replace`, `encode`, `concat`, `concat_ws`, `translate`,
//!   `to_char`, `array_to_string`, the JSON builders, …; `functions::GROWING`) may not stand anywhere inside
//!   another one's arguments (`function hex nested in hex is not allowed (its output could grow without
//!   bound)`), so a short text cannot nest them into gigabytes per row;
//! - `replace`'s and `array_to_string`'s arguments after the first may not reference a column (a value
//!   multiplied by itself);
//! - `randomblob(N)` only with an integer literal N ≤ 1048576; `repeat`, `lpad`, `rpad`, `zeroblob` are not on
//!   the allow-list.
//!
//! Everything else is refused: other functions (`pg_sleep`, `dblink`, `set_config`, `pg_read_file`,
//! `lo_import`, …, also quoted or schema-qualified), subqueries and `EXISTS`, qualified column names, aggregates'
//! clauses, window functions, placeholders, dollar-quoted strings, subscripts, row constructors, `INTERVAL '…'`
//! syntax (PostgreSQL prints `'…'::interval`), casts to `reg*` types however written (`pg_catalog.regclass`,
//! `"regprocedure"`, `regclass[]`) outside the two exceptions above, and any other node kind.

mod expr;
mod functions;
mod ident;
mod index;
mod lex;
mod partition;
mod refusal;
mod sqlite_table;
mod types;

pub use expr::{Check, Expr, SequenceName, check, expression, generated};
pub use ident::{Ident, QualifiedName, quote_ident};
pub use index::{IndexDef, IndexKey, IndexMethod, KeyPart, NullsOrder, SortOrder, index};
pub use partition::{BoundValue, PartitionBound, PartitionKey, PartitionStrategy, partition_bound, partition_key};
pub use refusal::Refusal;
pub use sqlite_table::{MAX_TABLE_LEN, SqliteCheck, SqliteTable, sqlite_checks, sqlite_table};
pub use types::{TypeName, pg_type, sqlite_type};

/// The SQL dialect the text was written in (and will be rendered for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// The longest text accepted, in bytes, checked before tokenizing.
pub const MAX_LEN: usize = 8 * 1024;

/// The deepest nesting accepted: brackets in the raw text, sqlparser's recursion limit, and the expression tree.
pub const MAX_DEPTH: usize = 64;
