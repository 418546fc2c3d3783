//! What an export is asked for and what an import reports: page requests with keyset cursors and row filters,
//! conflict strategies, and import results.

use serde::{Deserialize, Serialize};

use crate::page::Page;
use crate::value::Value;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    /// The first page.
    Start,
    /// Keyset: rows strictly after this cursor (returned by the previous page). Stable and linear on any size.
    After(Cursor),
    /// Compatibility: skip this many rows of the stable order (quadratic over a whole table; prefer cursors).
    Offset(u64),
}

/// An opaque position in a table's stable order: the key values of the last row sent (primary key, else the
/// unique key), or the row's physical id (`ctid` in PostgreSQL, `rowid` in SQLite) for tables without a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor(pub Vec<Value>);

/// Which rows an export returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RowFilter {
    #[default]
    All,
    /// Single-column keys only: `from <= key <= to`, either bound optional.
    KeyRange { from: Option<Value>, to: Option<Value> },
    /// Rows whose key equals one of these (each a value per key column).
    Keys(Vec<Vec<Value>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub position: Position,
    pub filter: RowFilter,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 100_000;
    /// A page is cut at this many bytes of row data (as encoded, before compression) as well as at its row
    /// limit, whatever the format: wide rows make short pages, never a frame over the receivers' limits.
    /// Advertised to receivers in `capabilities` as `max_page_bytes`.
    pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

    pub fn first(limit: u32) -> PageRequest {
        PageRequest { limit, position: Position::Start, filter: RowFilter::All }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportedPage {
    pub page: Page,
    pub has_more: bool,
    /// Where the next page starts; `None` when this was the last.
    pub next: Option<Cursor>,
}

/// What an import does with a row whose key already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Leave the existing row; count it `skipped`.
    #[default]
    Skip,
    /// Replace every non-key column; count `updated`.
    Overwrite,
    /// Take incoming non-NULL values, keep existing ones where incoming is NULL; count `updated`.
    Merge,
    /// Always insert, with a key the target generates (the source key is dropped).
    Append,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "skip" => Ok(Strategy::Skip),
            "overwrite" => Ok(Strategy::Overwrite),
            "merge" => Ok(Strategy::Merge),
            "append" => Ok(Strategy::Append),
            other => Err(format!("unknown strategy {other:?} (skip, overwrite, merge, append)")),
        }
    }
}

/// One row an import could not write, and why (the database's own reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// `col=value` pairs of the row's key, or `row N` (its position in the page) when the table has no key.
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportResult {
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub errors: Vec<RowError>,
    /// What the import decided on the caller's behalf (e.g. "no primary key or unique constraint: appended").
    pub notes: Vec<String>,
}

impl ImportResult {
    /// Adds another import's counts, refused rows and (new) notes to these: the result of several pages as one.
    pub fn absorb(&mut self, other: ImportResult) {
        self.created += other.created;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.errors.extend(other.errors);
        for n in other.notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
    }
}
