//! Whole-table transfers with the client: paging by cursor, the next page fetched while the last is imported,
//! missing tables created (constraints after the data, also by the next transfer when the one that created the
//! table stopped before them), a dropped connection resumed from the last imported page, and progress reported
//! after every page.

use std::collections::HashMap;
use std::time::Instant;

use super::{Client, ClientError, FetchFrom, FetchOptions, RawPage};
use crate::history;
use crate::jobs::{Checkpoint, JobCursor};
use crate::protocol::{PageFormat, WireFilter};
use crate::request::{ImportResult, RowError, Strategy};
use crate::{EngineError, Page, Tables};

#[derive(Debug, Clone, PartialEq)]
pub struct TransferOptions {
    pub strategy: Strategy,
    /// Rows per page.
    pub batch_size: u32,
    pub create_missing_tables: bool,
    pub filter: WireFilter,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            strategy: Strategy::Skip,
            batch_size: 500,
            create_missing_tables: false,
            filter: WireFilter::All,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransferAllOptions {
    /// The tables to transfer; `None` for every table the sender lists.
    pub tables: Option<Vec<String>>,
    /// Per-table strategies; the others use `default_strategy`.
    pub strategies: HashMap<String, Strategy>,
    pub default_strategy: Strategy,
    pub create_missing_tables: bool,
    /// Rows per page (`0`: the default of [`TransferOptions`]).
    pub batch_size: u32,
}

/// What one table's transfer did, counted from the local import results.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct TransferResult {
    pub table: String,
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
    /// Of `seconds`, the time spent importing pages here, and the time spent waiting for the sender's next
    /// page after an import was done (what to look at when a transfer is slow: the side that is waited for).
    pub import_seconds: f64,
    pub wait_seconds: f64,
    pub notes: Vec<String>,
}

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
    /// The job created the table (constraints are added after the data).
    pub created_table: bool,
    /// Asked between pages; true stops the transfer with [`ClientError::Cancelled`].
    pub stop: &'a (dyn Fn() -> bool + Send + Sync),
}

/// The checkpoint cursor of a table whose last page is committed. Real cursors are hex and never start
/// with `!`.
pub const END_CURSOR: &str = "!end";

/// Said in a table's notes when its pages travelled as PostgreSQL binary COPY.
pub const BINARY_COPY_NOTE: &str = "pages travelled as PostgreSQL binary COPY (same column types on both sides)";

/// Resumes at most this many times per page before giving up.
const RESUME_ATTEMPTS: u32 = 3;

/// An ordinary page, decoded (hostile-safe), refused when its header's row count is not what it holds: the
/// sender is broken or lying, and the counts of what was imported must not depend on its word.
fn decode(raw: &RawPage) -> Result<Page, ClientError> {
    let page = Page::decompress(&raw.bytes).map_err(|e| ClientError::Protocol(format!("a bad page: {e}")))?;
    if page.rows.len() != raw.rows {
        return Err(ClientError::Protocol(format!(
            "the header said {} rows, the page holds {}",
            raw.rows,
            page.rows.len()
        )));
    }
    Ok(page)
}

impl Client {
    /// Fetches a page, resuming a dropped connection and asking again (the same cursor: nothing is skipped or
    /// imported twice, since only imported pages move the cursor).
    async fn fetch_resuming(
        &self,
        table: &str,
        options: &FetchOptions,
        format: PageFormat,
        resumed: &mut u32,
    ) -> Result<RawPage, ClientError> {
        let mut attempts = 0;
        loop {
            match self.fetch_raw_as(table, options, format).await {
                Err(e) if e.is_resumable() && attempts < RESUME_ATTEMPTS => {
                    tracing::warn!(error = %e, table, "connection lost; resuming");
                    attempts += 1;
                    *resumed += 1;
                    self.resume().await?;
                }
                other => return other,
            }
        }
    }

    /// Transfers one table into `local`.
    pub async fn transfer(
        &self,
        local: &Tables,
        table: &str,
        options: &TransferOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<TransferResult, ClientError> {
        self.transfer_inner(local, table, options, None, None, progress).await
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
        self.transfer_inner(local, table, options, None, Some(record), progress).await
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
        self.transfer_inner(local, table, options, Some(job), Some(job.transfer_id), progress).await
    }

    async fn transfer_inner(
        &self,
        local: &Tables,
        table: &str,
        options: &TransferOptions,
        job: Option<&JobControl<'_>>,
        record: Option<i64>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<TransferResult, ClientError> {
        let started = Instant::now();
        let schema = self.get_schema(table).await?;
        let mut result =
            TransferResult { table: table.to_owned(), strategy: options.strategy, ..TransferResult::default() };
        let db = local.db();
        if !local.table_exists(table).await? {
            if !options.create_missing_tables || job.is_some() {
                return Err(ClientError::MissingLocally(table.to_owned()));
            }
            // Created with its "constraints pending" mark (one transaction): if this process dies after, the
            // next transfer into it still adds its constraints after the data.
            result.notes.extend(local.create_table(&schema).await?.notes);
            result.created_table = true;
        }
        // This transfer created the table, or one that did stopped before its constraints were added.
        let constraints_after_data = result.created_table
            || job.is_some_and(|j| j.created_table)
            || history::constraints_pending(db, table).await.map_err(EngineError::from)?;
        let total = match options.filter {
            WireFilter::All => Some(self.get_count(table).await?.max(0) as u64),
            _ => None,
        };
        progress(Progress::Started { table: table.to_owned(), total });

        let limit = options.batch_size.clamp(1, crate::PageRequest::MAX_LIMIT);
        let fetch_from = |cursor: &Option<String>| FetchOptions {
            limit,
            from: cursor.clone().map(FetchFrom::Cursor).unwrap_or(FetchFrom::Start),
            filter: options.filter.clone(),
        };
        // PostgreSQL to PostgreSQL with the same column types: pages travel as binary COPY and go into COPY as
        // they are (no decoding on either side). Anything else, or a sender that refuses, uses ordinary pages.
        let mut copy_plan = None;
        if options.filter == WireFilter::All && self.sender_offers_pg_copy().await {
            match local.prepare_binary_copy(table, &schema, options.strategy).await? {
                Ok(plan) => copy_plan = Some(plan),
                Err(why) => tracing::debug!(table, "ordinary pages: {why}"),
            }
        }
        let format = |copy: bool| {
            if copy { PageFormat::PgCopy } else { PageFormat::Binary }
        };
        let stopped = || job.is_some_and(|j| (j.stop)());
        // The cursor the page in hand was fetched from (what its checkpoint expects to find).
        let mut from: Option<String> = job.and_then(|j| j.cursor.clone());
        let data_done = from.as_deref() == Some(END_CURSOR);
        let mut resumed = 0;
        if stopped() && !data_done {
            return Err(ClientError::Cancelled);
        }
        let mut current = if data_done {
            None
        } else {
            let first = self.fetch_resuming(table, &fetch_from(&from), format(copy_plan.is_some()), &mut resumed).await;
            match first {
                Err(ClientError::Remote { code: crate::protocol::ErrorCode::BadRequest, message })
                    if copy_plan.is_some() =>
                {
                    tracing::debug!(table, "the sender refused binary COPY pages: {message}");
                    copy_plan = None;
                    Some(self.fetch_resuming(table, &fetch_from(&from), PageFormat::Binary, &mut resumed).await?)
                }
                other => Some(other?),
            }
        };
        let copy = copy_plan.is_some();
        while let Some(page_in_hand) = current.take() {
            if stopped() {
                return Err(ClientError::Cancelled);
            }
            let next = page_in_hand.next.clone().filter(|_| page_in_hand.has_more);
            // The counts of a page are what it held as imported here, never what its header says.
            let checkpoint = |rows: usize| {
                record.map(|transfer_id| Checkpoint {
                    job: job.map(|j| JobCursor {
                        job: j.job,
                        position: j.position,
                        expected: from.clone(),
                        next: Some(next.clone().unwrap_or_else(|| END_CURSOR.to_owned())),
                    }),
                    transfer_id,
                    rows: rows as u64,
                })
            };
            let import = async {
                if let Some(plan) = &copy_plan {
                    let data = crate::page::decompress_bytes(&page_in_hand.bytes)
                        .map_err(|e| ClientError::Protocol(format!("a bad page: {e}")))?;
                    // The import checks the stream holds exactly the header's tuples before it writes any.
                    let rows = page_in_hand.rows;
                    if let Some(done) = local.import_binary_copy(plan, &data, rows, checkpoint(rows).as_ref()).await? {
                        return Ok((done, rows));
                    }
                    // PostgreSQL refused a row: the same rows again as ordinary pages, imported row by row where
                    // needed, so good rows land and bad ones are reported with their reasons. Ordinary pages are
                    // cut by bytes differently, so as many are fetched from the same cursor as hold exactly this
                    // page's rows (each with its own checkpoint): the walk then goes on from the binary page's
                    // cursor, nothing skipped or repeated.
                    let (mut done, mut imported) = (ImportResult::default(), 0);
                    let mut at = from.clone();
                    while imported < rows {
                        let mut again_resumed = 0;
                        let want = FetchOptions {
                            limit: u32::try_from(rows - imported).unwrap_or(u32::MAX),
                            ..fetch_from(&at)
                        };
                        let again = self.fetch_resuming(table, &want, PageFormat::Binary, &mut again_resumed).await?;
                        let page = decode(&again)?;
                        let held = page.rows.len();
                        let part_next = again.next.clone().filter(|_| again.has_more);
                        let last = held == 0 || imported + held >= rows || part_next.is_none();
                        let part_checkpoint = record.map(|transfer_id| Checkpoint {
                            job: job.map(|j| JobCursor {
                                job: j.job,
                                position: j.position,
                                expected: at.clone(),
                                next: Some(
                                    if last { next.clone() } else { part_next.clone() }
                                        .unwrap_or_else(|| END_CURSOR.to_owned()),
                                ),
                            }),
                            transfer_id,
                            rows: held as u64,
                        });
                        let part = local
                            .import_records_checkpointed(table, &page, options.strategy, part_checkpoint.as_ref())
                            .await?;
                        done.absorb(part);
                        imported += held;
                        if last {
                            break;
                        }
                        at = part_next;
                    }
                    return Ok((done, imported));
                }
                let page = decode(&page_in_hand)?;
                let rows = page.rows.len();
                let done = local
                    .import_records_checkpointed(table, &page, options.strategy, checkpoint(rows).as_ref())
                    .await
                    .map_err(ClientError::from)?;
                Ok::<_, ClientError>((done, rows))
            };
            // The next page travels while this one is imported.
            let mut prefetch_resumed = 0;
            let prefetch = async {
                match &next {
                    Some(_) => {
                        Some(self.fetch_resuming(table, &fetch_from(&next), format(copy), &mut prefetch_resumed).await)
                    }
                    None => None,
                }
            };
            let iteration = Instant::now();
            let timed_import = async {
                let started = Instant::now();
                let imported = import.await;
                (imported, started.elapsed())
            };
            let ((imported, import_took), fetched) = tokio::join!(timed_import, prefetch);
            result.import_seconds += import_took.as_secs_f64();
            result.wait_seconds += iteration.elapsed().saturating_sub(import_took).as_secs_f64();
            resumed += prefetch_resumed;
            let (imported, rows) = imported?;
            result.rows += rows as u64;
            result.pages += 1;
            result.created += imported.created;
            result.updated += imported.updated;
            result.skipped += imported.skipped;
            result.errors.extend(imported.errors);
            for n in imported.notes {
                if !result.notes.contains(&n) {
                    result.notes.push(n);
                }
            }
            progress(Progress::Page {
                table: table.to_owned(),
                done: result.rows,
                total,
                created: result.created,
                updated: result.updated,
                skipped: result.skipped,
                errors: result.errors.len() as u64,
            });
            from = next;
            current = fetched.transpose()?;
        }
        if copy {
            result.notes.push(BINARY_COPY_NOTE.to_owned());
        }
        if constraints_after_data {
            result.notes.extend(local.create_constraints_after_data(&schema).await?.notes);
        }
        result.resumed = resumed;
        result.seconds = started.elapsed().as_secs_f64();
        progress(Progress::Finished { table: table.to_owned(), result: result.clone() });
        Ok(result)
    }

    /// Transfers several tables (or all) in foreign-key order, parents first. A table that fails does not stop
    /// the others unless the connection itself is lost for good; each table's outcome is in the list, in the
    /// order they ran.
    pub async fn transfer_all(
        &self,
        local: &Tables,
        options: &TransferAllOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<(String, Result<TransferResult, ClientError>)>, ClientError> {
        self.transfer_all_inner(local, options, None, progress).await
    }

    /// [`Client::transfer_all`] with each page counted into the history record `record`
    /// ([`Client::transfer_recorded`]).
    pub async fn transfer_all_recorded(
        &self,
        local: &Tables,
        options: &TransferAllOptions,
        record: i64,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<(String, Result<TransferResult, ClientError>)>, ClientError> {
        self.transfer_all_inner(local, options, Some(record), progress).await
    }

    async fn transfer_all_inner(
        &self,
        local: &Tables,
        options: &TransferAllOptions,
        record: Option<i64>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<(String, Result<TransferResult, ClientError>)>, ClientError> {
        let names: Vec<String> = match &options.tables {
            Some(t) => t.clone(),
            None => self.list_tables().await?.into_iter().map(|t| t.name).collect(),
        };
        let mut schemas = Vec::with_capacity(names.len());
        for name in &names {
            schemas.push(self.get_schema(name).await?);
        }
        let (order, cycle) = crate::order::foreign_key_order(&schemas);
        if let Some(note) = cycle {
            tracing::warn!("{note}");
        }
        let mut results = Vec::with_capacity(order.len());
        for name in order {
            let table_options = TransferOptions {
                strategy: options.strategies.get(&name).copied().unwrap_or(options.default_strategy),
                batch_size: if options.batch_size == 0 {
                    TransferOptions::default().batch_size
                } else {
                    options.batch_size
                },
                create_missing_tables: options.create_missing_tables,
                filter: WireFilter::All,
            };
            let outcome = self.transfer_inner(local, &name, &table_options, None, record, progress).await;
            let fatal = matches!(&outcome, Err(ClientError::Disconnected { .. }));
            results.push((name, outcome));
            if fatal {
                break;
            }
        }
        Ok(results)
    }
}
