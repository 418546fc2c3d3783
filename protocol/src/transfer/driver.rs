//! The transfer loop, once: tables in foreign-key order, each walked by cursor with the next page on its way
//! while the last is imported. See the module above for the interfaces it runs over.

use futures_util::StreamExt;
use futures_util::future::{Either, select};
use futures_util::stream::FuturesOrdered;

use super::{
    END_CURSOR, Event, FIRST_PAGE_ROWS, Fetch, MAX_IN_FLIGHT, Observer, PageOutcome, PageSink, PageSource, RawPage,
    SourceFailure, Step, TableJob, TableOutcome, TableReport, TransferError,
};
use crate::ident::TableName;
use crate::messages::{PageFormat, WireFilter};
use crate::pg_copy::{BINARY_COPY_NOTE, refusal};
use crate::request::ImportResult;
use crate::schema::TableSchema;

type Error<S, K> = TransferError<<S as PageSource>::Error, <K as PageSink>::Error>;

/// Stale answers in a row the walk takes before it gives the table up.
const MAX_STALE: u32 = 8;

/// What a [`transfer_tables`] run did: each table's outcome in the order they ran (parents first), and notes
/// about the run as a whole (a foreign-key cycle that had to be broken).
#[derive(Debug)]
pub struct Run<S, K> {
    pub outcomes: Vec<TableOutcome<S, K>>,
    pub notes: Vec<String>,
}

/// The sender's schema of `table`, refused when it is another table's.
pub async fn fetch_schema<S: PageSource, K: PageSink>(
    source: &S,
    table: &TableName,
) -> Result<TableSchema, Error<S, K>> {
    let schema = source.schema(table).await.map_err(from_source::<S, K>)?;
    if schema.name != table.as_str() {
        return Err(TransferError::Protocol(format!(
            "asked for the schema of {:?}, the sender answered with the schema of {:?}",
            table.as_str(),
            schema.name
        )));
    }
    if schema.columns.len() > crate::page::MAX_COLUMNS {
        return Err(TransferError::Protocol(format!(
            "the schema of {:?} has {} columns; at most {} are accepted",
            table.as_str(),
            schema.columns.len(),
            crate::page::MAX_COLUMNS
        )));
    }
    Ok(schema)
}

/// Transfers `jobs`: every schema first (for the order, and to create what is missing), then each table, parents
/// first. A table that fails does not stop the others; a lost connection or a cancel stops the ones not started
/// yet (each said so in its outcome). `Err` only when a schema could not be had.
pub async fn transfer_tables<S: PageSource, K: PageSink, O: Observer>(
    source: &S,
    sink: &K,
    observer: &O,
    jobs: &[TableJob],
) -> Result<Run<S::Error, K::Error>, Error<S, K>> {
    let mut schemas: Vec<TableSchema> = Vec::with_capacity(jobs.len());
    for job in jobs {
        if schemas.iter().any(|s| s.name == job.table.as_str()) {
            continue;
        }
        schemas.push(fetch_schema::<S, K>(source, &job.table).await?);
    }
    let (order, cycle) = crate::order::foreign_key_order(&schemas);
    let notes = cycle.into_iter().collect();
    let mut outcomes = Vec::with_capacity(order.len());
    // Why the tables after this point do not start.
    let mut halted: Option<String> = None;
    for name in order {
        let job = jobs.iter().find(|j| j.table.as_str() == name).expect("a job per ordered table");
        let schema = schemas.iter().find(|s| s.name == name).expect("a schema per ordered table");
        let name = job.table.clone();
        if halted.is_none() && observer.stopped() {
            halted = Some("cancelled".into());
        }
        if let Some(why) = &halted {
            outcomes.push((name, Err(TransferError::NotStarted(why.clone()))));
            continue;
        }
        let outcome = transfer_table(source, sink, observer, job, schema).await;
        match &outcome {
            Err(TransferError::Cancelled) => halted = Some("cancelled".into()),
            Err(e @ TransferError::Source(s)) if S::failure(s) == SourceFailure::Lost => {
                halted = Some(format!("the connection to the sender was lost ({e})"));
            }
            _ => {}
        }
        outcomes.push((name, outcome));
    }
    Ok(Run { outcomes, notes })
}

/// A page from the source as the walk can use it: a cancel while it waited is the transfer's cancel, and a page
/// with more to come must say where the rest starts.
fn arrived<S: PageSource, K: PageSink>(fetched: Result<RawPage, S::Error>) -> Result<RawPage, Error<S, K>> {
    match fetched {
        Err(e) => Err(from_source::<S, K>(e)),
        Ok(p) if p.has_more && p.next.is_none() => {
            Err(TransferError::Protocol("a page with more to come but no cursor to continue from".into()))
        }
        Ok(p) => Ok(p),
    }
}

/// A sender call's error as the transfer sees it: a cancel while it waited is the transfer's cancel.
fn from_source<S: PageSource, K: PageSink>(e: S::Error) -> Error<S, K> {
    if S::failure(&e) == SourceFailure::Cancelled { TransferError::Cancelled } else { TransferError::Source(e) }
}

/// Rows asked for the `n`-th page (from 0) of a walk. At the automatic size ([`TableJob::page_rows`] `None`) the
/// first pages are short — [`FIRST_PAGE_ROWS`], then four times as many each page, up to the sender's byte budget
/// — so the first import starts after a short export instead of a whole 8 MiB one (fetching and importing overlap
/// from the second page on, never for the first). A size the user chose is every page's.
fn page_limit(job: &TableJob, n: u32) -> u32 {
    match job.page_rows {
        Some(_) => job.limit(),
        None => FIRST_PAGE_ROWS.saturating_mul(4u32.saturating_pow(n.min(15))).min(job.limit()),
    }
}

fn format(copy: bool) -> PageFormat {
    if copy { PageFormat::PgCopy } else { PageFormat::Binary }
}

/// Transfers one table whose sender schema is `schema` (from [`fetch_schema`]).
pub async fn transfer_table<S: PageSource, K: PageSink, O: Observer>(
    source: &S,
    sink: &K,
    observer: &O,
    job: &TableJob,
    schema: &TableSchema,
) -> Result<TableReport, Error<S, K>> {
    let started = observer.now();
    let resumes_before = source.resumes();
    let table = &job.table;
    if schema.name != table.as_str() {
        return Err(TransferError::Protocol(format!("the schema of {:?} for table {:?}", schema.name, table.as_str())));
    }
    let mut report = TableReport::new(table.clone(), job.strategy);
    // The sender first: a connection lost since the last table fails here, before anything is created.
    let total = match job.filter {
        WireFilter::All => Some(source.count(table).await.map_err(from_source::<S, K>)?),
        _ => None,
    };
    if !sink.exists(table).await.map_err(TransferError::Sink)? {
        if !job.create_missing {
            return Err(TransferError::MissingLocally(table.clone()));
        }
        for n in sink.create(schema).await.map_err(TransferError::Sink)? {
            report.note(n);
        }
        report.created_table = true;
    }
    observer.event(Event::Started { table, total });

    // PostgreSQL to PostgreSQL with the same column types: pages travel as binary COPY and go into COPY as they
    // are (no decoding on either side) — when the sender can walk the table so (its own rule, `pg_copy`) and the
    // table here takes the sender's columns as they are. Anything else uses ordinary pages.
    let want_copy = if job.filter != WireFilter::All || !source.offers_pg_copy().await {
        false
    } else if let Some(why) = refusal(schema) {
        report.note(format!("ordinary pages: {why}"));
        false
    } else {
        true
    };
    let prepared =
        sink.prepare(schema, job.strategy, want_copy, job.start_after.as_deref()).await.map_err(TransferError::Sink)?;
    let mut copy = want_copy && prepared.copy.is_ok();
    if let (true, Err(why)) = (want_copy, &prepared.copy) {
        tracing::debug!(table = table.as_str(), "ordinary pages: {why}");
    }
    // Pages fetched so far in this walk: the first ones at the automatic size are short ([`page_limit`]).
    let mut fetches = 0u32;
    let depth = sink.in_flight().clamp(1, MAX_IN_FLIGHT);

    // The walk as a pipeline: one page on its way from the sender, up to `depth` pages on their way into the
    // sink, answered in the order they were sent. `committed`: where the pages committed so far end (a cursor,
    // `None` for the table's start, END_CURSOR after the last page); `frontier`: where the next page to fetch
    // starts. They differ only by the pages in flight.
    let mut committed = job.start_after.clone();
    let mut frontier = committed.clone();
    let at_end = |c: &Option<String>| c.as_deref() == Some(END_CURSOR);
    // A page fetched from `frontier`, not sent to the sink yet.
    let mut ready: Option<RawPage> = None;
    let mut fetching = None;
    let mut imports = FuturesOrdered::new();
    // Something came back that is not the continuation of what is in flight (a page the sink found stale, a
    // redone page that ended elsewhere): nothing more is sent until the pages in flight are back, then the walk
    // goes on from `committed`.
    let mut rewind = false;
    // Stale answers since the last committed page (bounded: a sink that never takes the page where the committed
    // ones end must not make the walk fetch and send it forever).
    let mut stale = 0u32;
    let mut stop = false;
    let mut failure: Option<Error<S, K>> = None;
    let handle = &prepared.handle;
    let send_import = |page: RawPage, step: Step, copy: bool| async move {
        let began = observer.now();
        let imported = import_page(source, sink, handle, job, page, copy, &step).await;
        (step, imported, began, observer.now())
    };
    // Where the last import to finish ended: the time importing is the union of the imports' spans (two in flight
    // overlap), so it never exceeds the wall time.
    let mut imported_until = f64::NEG_INFINITY;
    let send_fetch = |cursor: Option<String>, copy: bool, limit: u32| {
        let asked = Fetch { cursor, limit, format: format(copy), filter: job.filter.clone() };
        Box::pin(async move { source.fetch(table, &asked).await })
    };
    loop {
        let going = !rewind && !stop && failure.is_none();
        // Asked only when a page is about to be sent or fetched (a table whose data is all in still finishes).
        let sends =
            (ready.is_some() && imports.len() < depth) || (ready.is_none() && fetching.is_none() && !at_end(&frontier));
        if going && sends && observer.stopped() {
            stop = true;
        }
        let going = going && !stop;
        if going
            && imports.len() < depth
            && let Some(page) = ready.take()
        {
            let next = page.next.clone().filter(|_| page.has_more).unwrap_or_else(|| END_CURSOR.to_owned());
            let step = Step { from: frontier.clone(), next: next.clone() };
            frontier = Some(next);
            imports.push_back(send_import(page, step, copy));
        }
        if going && ready.is_none() && fetching.is_none() && !at_end(&frontier) {
            fetching = Some(send_fetch(frontier.clone(), copy, page_limit(job, fetches)));
            fetches = fetches.saturating_add(1);
        }
        if imports.is_empty() {
            if let Some(e) = failure {
                return Err(e);
            }
            if stop {
                return Err(TransferError::Cancelled);
            }
            if rewind {
                rewind = false;
                frontier = committed.clone();
                (ready, fetching) = (None, None);
                continue;
            }
            if fetching.is_none() && ready.is_none() {
                break;
            }
        }
        let (done, fetched) = match fetching.as_mut() {
            Some(f) if !imports.is_empty() => match select(imports.next(), f).await {
                Either::Left((done, _)) => (done, None),
                Either::Right((fetched, _)) => (None, Some(fetched)),
            },
            Some(f) => {
                let began = observer.now();
                let fetched = f.await;
                report.wait_seconds += observer.now() - began;
                (None, Some(fetched))
            }
            None => (imports.next().await, None),
        };
        if let Some(fetched) = fetched {
            fetching = None;
            if rewind || stop || failure.is_some() {
                continue;
            }
            match fetched {
                // The sender refused binary COPY pages of this table (at the start or midway): ordinary pages from
                // the same cursor on.
                Err(e) if copy && S::failure(&e) == SourceFailure::Refused => {
                    report.note(format!("the sender refused binary COPY pages ({e}): ordinary pages from there on"));
                    copy = false;
                }
                fetched => match arrived::<S, K>(fetched) {
                    Ok(page) => ready = Some(page),
                    Err(e) => failure = Some(e),
                },
            }
        }
        let Some((step, imported, began, ended)) = done else { continue };
        // Imports start in the order they are answered, so each span adds what lies past the ones before it.
        report.import_seconds += (ended - began.max(imported_until)).max(0.0);
        imported_until = imported_until.max(ended);
        match imported {
            Err(e) => {
                failure.get_or_insert(e);
            }
            Ok(None) => {
                rewind = true;
                stale += 1;
                if stale > MAX_STALE {
                    failure.get_or_insert(TransferError::Protocol(format!(
                        "table {:?}: the receiving side answered {stale} pages in a row stale, the last one fetched \
                         from cursor {:?}; it does not take the pages where the committed ones end",
                        table.as_str(),
                        step.from.as_deref().unwrap_or("(the start)")
                    )));
                }
            }
            // After a page that failed here (its answer lost on the way, say), a page the receiving side did
            // commit (it followed what was committed there) is still counted and reported, so the report holds
            // what landed; the walk stops all the same.
            Ok(Some(_)) if step.from != committed && failure.is_none() => {
                failure.get_or_insert(TransferError::Protocol(format!(
                    "table {:?}: the receiving side committed the page fetched from cursor {:?}, which does not \
                     follow the last one committed",
                    table.as_str(),
                    step.from.as_deref().unwrap_or("(the start)")
                )));
            }
            Ok(Some((result, rows, went_as_copy, reached))) => {
                stale = 0;
                report.add(rows, &result);
                if went_as_copy {
                    report.copy_pages += 1;
                }
                observer.event(Event::Page { table, rows, page: &result, report: &report });
                // A redone page ended elsewhere than the binary page would have (the sender's rows changed in
                // between): the walk goes on from where the redo committed, and pages fetched meanwhile are not
                // used (a sink with more in flight finds them stale).
                committed = match reached {
                    Some(reached) => Some(reached.unwrap_or_else(|| END_CURSOR.to_owned())),
                    None => Some(step.next.clone()),
                };
                if committed.as_deref() != Some(step.next.as_str()) {
                    rewind = true;
                }
            }
        }
    }
    if report.copy_pages > 0 {
        report.note(BINARY_COPY_NOTE);
    }
    for n in sink.finish(&prepared.handle, schema).await.map_err(TransferError::Sink)? {
        report.note(n);
    }
    report.resumed = source.resumes().saturating_sub(resumes_before);
    report.seconds = observer.now() - started;
    observer.event(Event::Finished { table, report: &report });
    Ok(report)
}

/// What [`import_page`] did: the import's counts, the rows the page held, whether it went in as binary COPY and,
/// for a redone page, the cursor the redo committed (`None` inside: the table's end). `None` for a page the sink
/// found stale (nothing written).
type Imported = Option<(ImportResult, u64, bool, Option<Option<String>>)>;

/// Imports one page; counts are what the import reported, rows what the page held. A binary COPY page the
/// receiving database refused is redone as ordinary pages from the same cursor, as many as hold its rows
/// (ordinary pages are cut by bytes differently), each with its own checkpoint: good rows land, bad ones are
/// reported with their reasons. The walk goes on from where a redo committed, so rows the sender added or removed
/// in the page's range meanwhile are neither skipped nor imported twice.
async fn import_page<S: PageSource, K: PageSink>(
    source: &S,
    sink: &K,
    handle: &K::Handle,
    job: &TableJob,
    page: RawPage,
    copy: bool,
    step: &Step,
) -> Result<Imported, Error<S, K>> {
    let rows = page.rows;
    let refused = || TransferError::Protocol("the receiving side refused an ordinary page without a reason".into());
    match sink.import(handle, page, format(copy), step).await.map_err(TransferError::Sink)? {
        PageOutcome::Committed(done) => return Ok(Some((done, rows as u64, copy, None))),
        PageOutcome::Stale => return Ok(None),
        PageOutcome::CopyRefused if !copy => return Err(refused()),
        PageOutcome::CopyRefused => {}
    }
    let (mut done, mut imported) = (ImportResult::default(), 0usize);
    let mut at = step.from.clone();
    loop {
        let want = Fetch {
            cursor: at.clone(),
            limit: u32::try_from(rows.saturating_sub(imported).max(1)).unwrap_or(u32::MAX),
            format: PageFormat::Binary,
            filter: job.filter.clone(),
        };
        let again = arrived::<S, K>(source.fetch(&job.table, &want).await)?;
        let held = again.rows;
        let part_next = again.next.clone().filter(|_| again.has_more);
        let part_step = Step { from: at.clone(), next: part_next.clone().unwrap_or_else(|| END_CURSOR.to_owned()) };
        match sink.import(handle, again, PageFormat::Binary, &part_step).await.map_err(TransferError::Sink)? {
            PageOutcome::Committed(part) => done.absorb(part),
            // The first part follows what was committed before the refused page, each later part its previous one.
            PageOutcome::Stale => {
                return Err(TransferError::Protocol(format!(
                    "table {:?}: the receiving side found a redone page stale (fetched from cursor {:?}), though \
                         it follows the last one committed",
                    job.table.as_str(),
                    part_step.from.as_deref().unwrap_or("(the start)")
                )));
            }
            PageOutcome::CopyRefused => return Err(refused()),
        }
        imported += held;
        at = part_next;
        if held == 0 || imported >= rows || at.is_none() {
            break;
        }
    }
    Ok(Some((done, imported as u64, false, Some(at))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_pages_start_short_and_grow_to_the_budget_a_chosen_size_stays() {
        let auto = TableJob::new(TableName::parse("t").unwrap(), crate::Strategy::Skip);
        let sizes: Vec<u32> = (0..6).map(|n| page_limit(&auto, n)).collect();
        assert_eq!(sizes, [2000, 8000, 32000, 100_000, 100_000, 100_000]);
        assert_eq!(page_limit(&auto, u32::MAX), super::super::AUTO_PAGE_ROWS);
        let chosen = TableJob { page_rows: Some(500), ..auto };
        assert!((0..6).all(|n| page_limit(&chosen, n) == 500));
    }
}
