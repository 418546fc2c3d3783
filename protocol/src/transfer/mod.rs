//! The one transfer driver: how tables go from a sender to where their rows land, written once for the browser,
//! the CLI and background jobs (the way [`crate::demux`] is the one routing of replies). No I/O of its own: it
//! runs over three small interfaces, each side bringing its own.
//!
//! - [`PageSource`]: the sender — schemas, counts and pages as they travel (the client's tokio-tungstenite
//!   socket, the browser's gloo-net WebSocket);
//! - [`PageSink`]: where rows land — a table prepared once ([`PageSink::prepare`], a handle every page refers
//!   to), pages imported (each in one transaction with its counts), constraints after the data (the local
//!   database for the CLI and jobs; the browser's own server, through its server functions);
//! - [`Observer`]: progress, the clock and "stop after this page" (a terminal bar, the Receive page, a job's
//!   record).
//!
//! Everything a transfer decides lives in [`driver`]: the schemas first and foreign-key order, creating a missing
//! table, binary COPY when both sides can (and ordinary pages when the sender or the receiving database refuses),
//! the next page fetched while the last is imported (and, for a sink that takes it, sent while the last is still
//! being written: [`PageSink::in_flight`]), a refused binary page redone as ordinary pages holding
//! exactly its rows, counting what the imports report, resuming after the last committed page, constraints after
//! the data, cancel.
//!
//! The futures of these traits are not `Send` in the browser (single-threaded WASM); on the server they are, for
//! the concrete source and sink, so a job's transfer can run on any worker thread.

pub mod driver;

use serde::{Deserialize, Serialize};

use crate::ident::TableName;
use crate::messages::{PageFormat, WireFilter};
use crate::request::{ImportResult, RowError, Strategy};
use crate::schema::TableSchema;

pub use driver::{transfer_table, transfer_tables};

/// The checkpoint cursor of a table whose last page is committed. Real cursors are hex and never start with `!`.
pub const END_CURSOR: &str = "!end";

/// Rows asked for per page when the caller leaves it to the transfer: as many as the protocol allows, so the
/// sender's byte budget ([`crate::PageRequest::MAX_PAGE_BYTES`]) decides the page size — narrow tables get long
/// pages (few round trips, few transactions), wide tables short ones (bounded memory on every side).
pub const AUTO_PAGE_ROWS: u32 = crate::PageRequest::MAX_LIMIT;

/// Rows of a walk's first page at the automatic size; each next page asks four times as many, up to
/// [`AUTO_PAGE_ROWS`] (the driver's `page_limit`).
pub const FIRST_PAGE_ROWS: u32 = 2000;

/// A page as it travels: the header's facts and the compressed bytes, untouched (the sink decodes it, as hostile
/// input).
#[derive(Debug, Clone, PartialEq)]
pub struct RawPage {
    /// The row count the sender's header states (checked against what the page holds when it is decoded).
    pub rows: usize,
    pub has_more: bool,
    /// Where the next page starts; present whenever `has_more`.
    pub next: Option<String>,
    pub bytes: Vec<u8>,
}

/// One page asked of the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    /// The `next` of the previous page; `None` for the first.
    pub cursor: Option<String>,
    pub limit: u32,
    pub format: PageFormat,
    pub filter: WireFilter,
}

/// What a source's error means to the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFailure {
    /// The sender refused this request (e.g. binary COPY pages of a table it cannot walk so): ask otherwise.
    Refused,
    /// The admin cancelled while the request waited.
    Cancelled,
    /// The connection is gone for good (after any resuming the source does): no later table can run.
    Lost,
    /// Anything else: this table fails, the others go on.
    Other,
}

/// The sender, as the transfer needs it. A source that can resume a dropped connection does so inside `fetch`,
/// asking again from the same cursor (only imported pages move the cursor, so nothing is skipped or repeated).
#[allow(async_fn_in_trait)]
pub trait PageSource {
    type Error: std::fmt::Display;

    fn failure(error: &Self::Error) -> SourceFailure;
    /// The sender's schema of `table`.
    async fn schema(&self, table: &TableName) -> Result<TableSchema, Self::Error>;
    /// The sender's exact row count of `table`.
    async fn count(&self, table: &TableName) -> Result<u64, Self::Error>;
    /// Whether the sender serves binary COPY pages ([`PageFormat::PgCopy`]) at all.
    async fn offers_pg_copy(&self) -> bool;
    async fn fetch(&self, table: &TableName, fetch: &Fetch) -> Result<RawPage, Self::Error>;
    /// How many times the connection was resumed so far (for the report).
    fn resumes(&self) -> u32 {
        0
    }
}

/// A table prepared to take pages ([`PageSink::prepare`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared<H> {
    /// What every page of the table refers to: the plan made once, never re-read per page.
    pub handle: H,
    /// Whether binary COPY pages can go into the table as they are (`Err`: why not; ordinary pages then).
    pub copy: Result<(), String>,
}

/// Where a page sits in the walk, for the sink's checkpoint: the cursor it was fetched from and the one the walk
/// goes on from after it ([`END_CURSOR`] after the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub from: Option<String>,
    pub next: String,
}

/// What a sink did with one page ([`PageSink::import`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageOutcome {
    /// Committed, with its counts and checkpoint, in one transaction.
    Committed(ImportResult),
    /// A binary COPY page the receiving database refused: nothing was written, and the driver redoes its rows as
    /// ordinary pages.
    CopyRefused,
    /// Nothing was written because the page does not follow the last page committed into the table: the step's
    /// `from` is not where that page ended (the page before it failed, was refused, or has not been committed).
    /// Only a sink that takes several pages in flight ([`PageSink::in_flight`]) answers so; the driver fetches
    /// again from where the committed pages end.
    Stale,
}

/// Pages a sink may have in flight at most (a bound on the memory a pipelined sink holds).
pub const MAX_IN_FLIGHT: usize = 2;

/// Where rows land. Every method is one request to the receiving side; `import` commits a page, its counts and
/// its checkpoint in one transaction, or nothing.
#[allow(async_fn_in_trait)]
pub trait PageSink {
    type Error: std::fmt::Display;
    /// A prepared table.
    type Handle;

    /// How many page imports the driver may have in flight at once (at most [`MAX_IN_FLIGHT`]). More than one
    /// only for a sink whose imports travel before they run (the browser's, through its server): the next page
    /// travels and is decoded while the last one is written. Such a sink commits a page only when its
    /// [`Step::from`] is where the last committed page of the table ended (the chain starting at the `start` given
    /// to [`PageSink::prepare`]), and answers [`PageOutcome::Stale`] otherwise — so pages land in order, once.
    fn in_flight(&self) -> usize {
        1
    }

    /// Whether `table` exists here.
    async fn exists(&self, table: &TableName) -> Result<bool, Self::Error>;
    /// Creates a missing table from the sender's schema (its foreign keys and indexes wait for
    /// [`PageSink::finish`]); the notes say what could not be recreated.
    async fn create(&self, schema: &TableSchema) -> Result<Vec<String>, Self::Error>;
    /// Prepares the table to take pages of the sender's `schema` with `strategy`; `copy`: binary COPY pages are
    /// wanted (the sender can walk the table so); `start`: the cursor the walk starts after (`None`: the table's
    /// start), where the chain of committed pages begins.
    async fn prepare(
        &self,
        schema: &TableSchema,
        strategy: Strategy,
        copy: bool,
        start: Option<&str>,
    ) -> Result<Prepared<Self::Handle>, Self::Error>;
    /// Imports one page, fetched from `step.from`.
    async fn import(
        &self,
        handle: &Self::Handle,
        page: RawPage,
        format: PageFormat,
        step: &Step,
    ) -> Result<PageOutcome, Self::Error>;
    /// After all of a table's rows: the foreign keys and indexes of a table created here and still pending (by
    /// this transfer or one that stopped before them); nothing for other tables.
    async fn finish(&self, handle: &Self::Handle, schema: &TableSchema) -> Result<Vec<String>, Self::Error>;
}

/// What the transfer tells whoever watches it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A table starts; `total` is the sender's count (`None` with a filter).
    Started { table: &'a TableName, total: Option<u64> },
    /// A page is committed: `page` is what its import reported, `report` the table so far.
    Page { table: &'a TableName, rows: u64, page: &'a ImportResult, report: &'a TableReport },
    /// The table's data is all in (and its constraints after the data added).
    Finished { table: &'a TableName, report: &'a TableReport },
}

/// Progress, the clock and cancel, as the side running the transfer has them.
pub trait Observer {
    fn event(&self, event: Event<'_>);
    /// Asked before each page is sent to the sink (and before each table): true stops the transfer once the pages
    /// in flight are in (one for most sinks, up to [`PageSink::in_flight`]); they are counted and reported.
    fn stopped(&self) -> bool {
        false
    }
    /// Seconds since some fixed point (a monotonic clock where there is one).
    fn now(&self) -> f64;
}

/// One table to transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct TableJob {
    pub table: TableName,
    pub strategy: Strategy,
    pub filter: WireFilter,
    /// Create the table here from the sender's schema when it is missing.
    pub create_missing: bool,
    /// Rows per page (`None`: [`AUTO_PAGE_ROWS`], the sender's byte budget decides).
    pub page_rows: Option<u32>,
    /// Start after this cursor (a job's last committed page; [`END_CURSOR`]: the data is all in).
    pub start_after: Option<String>,
}

impl TableJob {
    pub fn new(table: TableName, strategy: Strategy) -> TableJob {
        TableJob { table, strategy, filter: WireFilter::All, create_missing: false, page_rows: None, start_after: None }
    }

    /// Rows asked for per page.
    pub fn limit(&self) -> u32 {
        self.page_rows.unwrap_or(AUTO_PAGE_ROWS).clamp(1, crate::PageRequest::MAX_LIMIT)
    }
}

/// What one table's transfer did, counted from what the imports reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableReport {
    pub table: TableName,
    pub strategy: Strategy,
    pub rows: u64,
    pub pages: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    /// Rows the import refused, with the key and the database's reason.
    pub errors: Vec<RowError>,
    /// Whether the table was created here first.
    pub created_table: bool,
    /// Times the connection dropped and was resumed.
    pub resumed: u32,
    pub seconds: f64,
    /// Of `seconds`, the time spent importing pages here, and the time spent waiting for the sender's next page
    /// after an import was done (what to look at when a transfer is slow: the side that is waited for). With
    /// several pages in flight, `import_seconds` is the time at least one was being imported (overlaps count once).
    pub import_seconds: f64,
    pub wait_seconds: f64,
    /// Pages that went in as binary COPY.
    pub copy_pages: u64,
    pub notes: Vec<String>,
}

impl TableReport {
    /// Nothing done yet.
    pub fn new(table: TableName, strategy: Strategy) -> TableReport {
        TableReport {
            table,
            strategy,
            rows: 0,
            pages: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            errors: Vec::new(),
            created_table: false,
            resumed: 0,
            seconds: 0.0,
            import_seconds: 0.0,
            wait_seconds: 0.0,
            copy_pages: 0,
            notes: Vec::new(),
        }
    }

    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn add(&mut self, rows: u64, page: &ImportResult) {
        self.rows += rows;
        self.pages += 1;
        self.created += page.created;
        self.updated += page.updated;
        self.skipped += page.skipped;
        self.errors.extend(page.errors.iter().cloned());
        for n in &page.notes {
            self.note(n.clone());
        }
    }
}

/// Why a table's transfer stopped short.
#[derive(Debug, thiserror::Error)]
pub enum TransferError<S, K> {
    #[error("{0}")]
    Source(S),
    #[error("{0}")]
    Sink(K),
    /// Stopped between pages (every page reported before is committed, and nothing after).
    #[error("cancelled")]
    Cancelled,
    /// Not started: the transfer was cancelled or the connection lost before this table's turn.
    #[error("not started: {0}")]
    NotStarted(String),
    /// The table is not here and creating missing tables was not asked for.
    #[error("table {:?} does not exist here (create missing tables is off)", .0.as_str())]
    MissingLocally(TableName),
    /// The sender sent something that cannot be right (a page with more to come but no cursor, the schema of
    /// another table).
    #[error("the sender sent something unexpected: {0}")]
    Protocol(String),
}

/// The outcome of one table of a [`transfer_tables`] run.
pub type TableOutcome<S, K> = (TableName, Result<TableReport, TransferError<S, K>>);
