//! The client's side of the one transfer driver ([`protocol::transfer`]): the client as its [`PageSource`] (a dropped
//! connection resumed with the token and the page asked for again from the same cursor), the local database as
//! its sink ([`LocalSink`]), progress as [`Progress`] events. Whole-table transfers for scripts, the CLI and
//! background jobs are these, and nothing else.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use super::{Client, ClientError, FetchFrom, FetchOptions};
use crate::sink::{LocalSink, SinkError};
use engine::Tables;
use protocol::TableName;
use protocol::messages::{ErrorCode, WireFilter};
use protocol::request::Strategy;
use protocol::schema::TableSchema;
use protocol::transfer::{
    self, Event, Fetch, Observer, PageSource, RawPage, SourceFailure, TableJob, TableReport, TransferError,
};

pub use protocol::pg_copy::BINARY_COPY_NOTE;
pub use protocol::transfer::END_CURSOR;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransferOptions {
    pub strategy: Strategy,
    /// Rows per page; `0` (the default): as many as the sender's byte budget allows
    /// ([`transfer::AUTO_PAGE_ROWS`]).
    pub batch_size: u32,
    pub create_missing_tables: bool,
    pub filter: WireFilter,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransferAllOptions {
    /// The tables to transfer; `None` for every table the sender lists.
    pub tables: Option<Vec<String>>,
    /// Per-table strategies; the others use `default_strategy`.
    pub strategies: HashMap<String, Strategy>,
    pub default_strategy: Strategy,
    pub create_missing_tables: bool,
    /// Rows per page (`0`: chosen by bytes, see [`TransferOptions::batch_size`]).
    pub batch_size: u32,
}

/// What one table's transfer did, counted from the local import results.
pub type TransferResult = TableReport;

/// Reported while a transfer runs, for callers that draw their own progress.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Started { table: String, total: Option<u64> },
    Page { table: String, done: u64, total: Option<u64>, created: u64, updated: u64, skipped: u64, errors: u64 },
    Finished { table: String, result: TransferResult },
}

/// A background job's hold on one table's transfer (see [`Client::transfer_for_job`]).
pub struct JobControl<'a> {
    pub job: i64,
    /// The table's position in the job.
    pub position: i64,
    /// The history record the counts also go to.
    pub transfer_id: i64,
    /// Where the last committed page ended; `None` before the first, [`END_CURSOR`] after the last.
    pub cursor: Option<String>,
    /// The job created the table (its constraints are pending until after the data).
    pub created_table: bool,
    /// Asked between pages; true stops the transfer with [`ClientError::Cancelled`].
    pub stop: &'a (dyn Fn() -> bool + Send + Sync),
}

/// Resumes at most this many times per page before giving up.
const RESUME_ATTEMPTS: u32 = 3;

/// The client as the driver's page source (what [`Client::transfer`] and friends run the driver with; public
/// for callers that bring their own sink or observer).
pub struct ClientSource<'a> {
    client: &'a Client,
    resumed: AtomicU32,
}

impl<'a> ClientSource<'a> {
    pub fn new(client: &'a Client) -> ClientSource<'a> {
        ClientSource { client, resumed: AtomicU32::new(0) }
    }
}

impl PageSource for ClientSource<'_> {
    type Error = ClientError;

    fn failure(error: &ClientError) -> SourceFailure {
        match error {
            ClientError::Remote { code: ErrorCode::BadRequest, .. } => SourceFailure::Refused,
            ClientError::Cancelled => SourceFailure::Cancelled,
            // Mid-transfer, the connect errors come from a resume that failed: the sender is gone.
            ClientError::Disconnected { .. }
            | ClientError::Timeout(_)
            | ClientError::Unreachable(_)
            | ClientError::ConnectTimeout(_)
            | ClientError::CodeExpired(_)
            | ClientError::TransfersOff => SourceFailure::Lost,
            _ => SourceFailure::Other,
        }
    }

    async fn schema(&self, table: &TableName) -> Result<TableSchema, ClientError> {
        self.client.get_schema(table.as_str()).await
    }

    async fn count(&self, table: &TableName) -> Result<u64, ClientError> {
        Ok(self.client.get_count(table.as_str()).await?.max(0) as u64)
    }

    async fn offers_pg_copy(&self) -> bool {
        self.client.sender_offers_pg_copy().await
    }

    /// A page, resuming a dropped connection and asking again (the same cursor: nothing is skipped or imported
    /// twice, since only imported pages move the cursor).
    async fn fetch(&self, table: &TableName, fetch: &Fetch) -> Result<RawPage, ClientError> {
        let options = FetchOptions {
            limit: fetch.limit,
            from: fetch.cursor.clone().map(FetchFrom::Cursor).unwrap_or(FetchFrom::Start),
            filter: fetch.filter.clone(),
        };
        let mut attempts = 0;
        loop {
            match self.client.fetch_raw_as(table.as_str(), &options, fetch.format).await {
                Err(e) if e.is_resumable() && attempts < RESUME_ATTEMPTS => {
                    tracing::warn!(error = %e, table = table.as_str(), "connection lost; resuming");
                    attempts += 1;
                    self.resumed.fetch_add(1, Ordering::Relaxed);
                    self.client.resume().await?;
                }
                Err(e) => return Err(e),
                Ok(p) => return Ok(RawPage { rows: p.rows, has_more: p.has_more, next: p.next, bytes: p.bytes }),
            }
        }
    }

    fn resumes(&self) -> u32 {
        self.resumed.load(Ordering::Relaxed)
    }
}

/// Progress as [`Progress`] events, a monotonic clock, and a job's stop.
struct Watch<'a> {
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    stop: Option<&'a (dyn Fn() -> bool + Send + Sync)>,
    clock: Instant,
    totals: Mutex<HashMap<TableName, Option<u64>>>,
}

impl<'a> Watch<'a> {
    fn new(
        progress: &'a (dyn Fn(Progress) + Send + Sync),
        stop: Option<&'a (dyn Fn() -> bool + Send + Sync)>,
    ) -> Watch<'a> {
        Watch { progress, stop, clock: Instant::now(), totals: Mutex::new(HashMap::new()) }
    }
}

impl Observer for Watch<'_> {
    fn event(&self, event: Event<'_>) {
        let progress = match event {
            Event::Started { table, total } => {
                self.totals.lock().expect("not poisoned").insert(table.clone(), total);
                Progress::Started { table: table.to_string(), total }
            }
            Event::Page { table, report, .. } => Progress::Page {
                table: table.to_string(),
                done: report.rows,
                total: self.totals.lock().expect("not poisoned").get(table).copied().flatten(),
                created: report.created,
                updated: report.updated,
                skipped: report.skipped,
                errors: report.errors.len() as u64,
            },
            Event::Finished { table, report } => {
                Progress::Finished { table: table.to_string(), result: report.clone() }
            }
        };
        (self.progress)(progress);
    }

    fn stopped(&self) -> bool {
        self.stop.is_some_and(|stop| stop())
    }

    fn now(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }
}

impl From<TransferError<ClientError, SinkError>> for ClientError {
    fn from(e: TransferError<ClientError, SinkError>) -> ClientError {
        match e {
            TransferError::Source(e) => e,
            // The sender's page is bad: the sender is broken or lying.
            TransferError::Sink(SinkError::BadPage(what)) => ClientError::Protocol(what),
            TransferError::Sink(SinkError::Import(e)) => ClientError::Import(e),
            TransferError::Cancelled => ClientError::Cancelled,
            TransferError::NotStarted(why) if why == "cancelled" => ClientError::Cancelled,
            TransferError::NotStarted(reason) => ClientError::Disconnected { reason, stopped: false },
            TransferError::MissingLocally(table) => ClientError::MissingLocally(table),
            TransferError::Protocol(what) => ClientError::Protocol(what),
        }
    }
}

fn page_rows(batch_size: u32) -> Option<u32> {
    (batch_size > 0).then_some(batch_size)
}

impl Client {
    /// Transfers one table into `local`.
    pub async fn transfer(
        &self,
        local: &Tables,
        table: &str,
        options: &TransferOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<TransferResult, ClientError> {
        self.transfer_one(LocalSink::new(local), table, options, None, None, progress).await
    }

    /// [`Client::transfer`] that adds each page's counts to the history record `record` in the page's own
    /// transaction: the record holds exactly what landed, whenever the process stops.
    pub async fn transfer_recorded(
        &self,
        local: &Tables,
        table: &str,
        options: &TransferOptions,
        record: i64,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<TransferResult, ClientError> {
        let sink = LocalSink { tables: local, record: Some(record), job: None };
        self.transfer_one(sink, table, options, None, None, progress).await
    }

    /// Transfers one table of a background job: starts after the job's last committed page, writes the job's
    /// checkpoint in each page's transaction, and stops between pages when `job.stop` says so
    /// ([`ClientError::Cancelled`]). The table must exist here (the job creates it first).
    pub async fn transfer_for_job(
        &self,
        local: &Tables,
        table: &str,
        options: &TransferOptions,
        job: &JobControl<'_>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<TransferResult, ClientError> {
        let sink = LocalSink { tables: local, record: Some(job.transfer_id), job: Some((job.job, job.position)) };
        let options = TransferOptions { create_missing_tables: false, ..options.clone() };
        self.transfer_one(sink, table, &options, job.cursor.clone(), Some(job.stop), progress).await
    }

    async fn transfer_one(
        &self,
        sink: LocalSink<'_>,
        table: &str,
        options: &TransferOptions,
        start_after: Option<String>,
        stop: Option<&(dyn Fn() -> bool + Send + Sync)>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<TransferResult, ClientError> {
        let source = ClientSource::new(self);
        let watch = Watch::new(progress, stop);
        let table = TableName::parse(table)?;
        let job = TableJob {
            table: table.clone(),
            strategy: options.strategy,
            filter: options.filter.clone(),
            create_missing: options.create_missing_tables,
            page_rows: page_rows(options.batch_size),
            start_after,
        };
        let schema = transfer::driver::fetch_schema::<_, LocalSink<'_>>(&source, &table).await?;
        Ok(transfer::transfer_table(&source, &sink, &watch, &job, &schema).await?)
    }

    /// Transfers several tables (or all) in foreign-key order, parents first. A table that fails does not stop
    /// the others; once the connection is lost for good the tables not started yet say so. Each table's outcome
    /// is in the list, in the order they ran.
    pub async fn transfer_all(
        &self,
        local: &Tables,
        options: &TransferAllOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<(TableName, Result<TransferResult, ClientError>)>, ClientError> {
        self.transfer_all_into(LocalSink::new(local), options, progress).await
    }

    /// [`Client::transfer_all`] with each page counted into the history record `record`
    /// ([`Client::transfer_recorded`]).
    pub async fn transfer_all_recorded(
        &self,
        local: &Tables,
        options: &TransferAllOptions,
        record: i64,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<(TableName, Result<TransferResult, ClientError>)>, ClientError> {
        self.transfer_all_into(LocalSink { tables: local, record: Some(record), job: None }, options, progress).await
    }

    async fn transfer_all_into(
        &self,
        sink: LocalSink<'_>,
        options: &TransferAllOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<(TableName, Result<TransferResult, ClientError>)>, ClientError> {
        let names: Vec<String> = match &options.tables {
            Some(t) => t.clone(),
            None => self.list_tables().await?.into_iter().map(|t| t.name).collect(),
        };
        let jobs: Vec<TableJob> = names
            .iter()
            .map(|name| {
                Ok(TableJob {
                    strategy: options.strategies.get(name).copied().unwrap_or(options.default_strategy),
                    create_missing: options.create_missing_tables,
                    page_rows: page_rows(options.batch_size),
                    ..TableJob::new(TableName::parse(name)?, Strategy::default())
                })
            })
            .collect::<Result<_, ClientError>>()?;
        let source = ClientSource::new(self);
        let watch = Watch::new(progress, None);
        let run = transfer::transfer_tables(&source, &sink, &watch, &jobs).await?;
        for note in run.notes {
            tracing::warn!("{note}");
        }
        Ok(run.outcomes.into_iter().map(|(name, outcome)| (name, outcome.map_err(ClientError::from))).collect())
    }
}
