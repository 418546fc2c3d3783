//! The transfer loop, once: tables in foreign-key order, each walked by cursor with the next page on its way
//! while the last is imported. See the module above for the interfaces it runs over.

use futures_util::future::join;

use super::{
    END_CURSOR, Event, Fetch, Observer, PageSink, PageSource, RawPage, SourceFailure, Step, TableJob, TableOutcome,
    TableReport, TransferError,
};
use crate::ident::TableName;
use crate::messages::{PageFormat, WireFilter};
use crate::pg_copy::{BINARY_COPY_NOTE, refusal};
use crate::request::ImportResult;
use crate::schema::TableSchema;

type Error<S, K> = TransferError<<S as PageSource>::Error, <K as PageSink>::Error>;

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
    let prepared = sink.prepare(schema, job.strategy, want_copy).await.map_err(TransferError::Sink)?;
    let mut copy = want_copy && prepared.copy.is_ok();
    if let (true, Err(why)) = (want_copy, &prepared.copy) {
        tracing::debug!(table = table.as_str(), "ordinary pages: {why}");
    }
    let limit = job.limit();
    let fetch =
        |cursor: Option<String>, copy: bool| Fetch { cursor, limit, format: format(copy), filter: job.filter.clone() };

    // The cursor the page in hand was fetched from (what its checkpoint expects to find).
    let mut from = job.start_after.clone();
    let data_done = from.as_deref() == Some(END_CURSOR);
    if !data_done && observer.stopped() {
        return Err(TransferError::Cancelled);
    }
    let mut current = None;
    if !data_done {
        let mut first = source.fetch(table, &fetch(from.clone(), copy)).await;
        if let Err(e) = &first
            && copy
            && S::failure(e) == SourceFailure::Refused
        {
            report.note(format!("the sender refused binary COPY pages ({e}): ordinary pages from there on"));
            copy = false;
            first = source.fetch(table, &fetch(from.clone(), false)).await;
        }
        current = Some(arrived::<S, K>(first)?);
    }
    while let Some(page) = current.take() {
        if observer.stopped() {
            return Err(TransferError::Cancelled);
        }
        let next = page.next.clone().filter(|_| page.has_more);
        let step = Step { from: from.clone(), next: next.clone().unwrap_or_else(|| END_CURSOR.to_owned()) };
        let import = async {
            let began = observer.now();
            let imported = import_page(source, sink, &prepared.handle, job, page, copy, &step).await;
            (imported, observer.now() - began)
        };
        // The next page travels while this one is imported.
        let prefetch = async {
            match &next {
                Some(cursor) => Some(source.fetch(table, &fetch(Some(cursor.clone()), copy)).await),
                None => None,
            }
        };
        let iteration = observer.now();
        let ((imported, import_took), fetched) = join(import, prefetch).await;
        report.import_seconds += import_took;
        report.wait_seconds += (observer.now() - iteration - import_took).max(0.0);
        let (result, rows, went_as_copy, reached) = imported?;
        report.add(rows, &result);
        if went_as_copy {
            report.copy_pages += 1;
        }
        observer.event(Event::Page { table, rows, page: &result, report: &report });
        from = next;
        // A redone page ended elsewhere than the binary page would have (the sender's rows changed in between):
        // the walk goes on from where the redo committed, and the page fetched meanwhile is not used.
        let fetched = match reached {
            Some(reached) if reached != from => {
                from = reached;
                match &from {
                    Some(cursor) => Some(source.fetch(table, &fetch(Some(cursor.clone()), copy)).await),
                    None => None,
                }
            }
            _ => fetched,
        };
        let fetched = match fetched {
            // The sender stopped serving this table as binary COPY midway: ordinary pages from the same cursor on.
            Some(Err(e)) if copy && S::failure(&e) == SourceFailure::Refused => {
                report.note(format!("the sender refused binary COPY pages ({e}): ordinary pages from there on"));
                copy = false;
                Some(source.fetch(table, &fetch(from.clone(), false)).await)
            }
            other => other,
        };
        current = fetched.map(arrived::<S, K>).transpose()?;
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

/// Imports one page; counts are what the import reported, rows what the page held. A binary COPY page the
/// receiving database refused is redone as ordinary pages from the same cursor, as many as hold its rows
/// (ordinary pages are cut by bytes differently), each with its own checkpoint: good rows land, bad ones are
/// reported with their reasons. Answers whether the page went in as binary COPY and, for a redone page, the
/// cursor the redo committed (`None` inside: the table's end) — the walk goes on from there, so rows the sender
/// added or removed in the page's range meanwhile are neither skipped nor imported twice.
#[allow(clippy::type_complexity)]
async fn import_page<S: PageSource, K: PageSink>(
    source: &S,
    sink: &K,
    handle: &K::Handle,
    job: &TableJob,
    page: RawPage,
    copy: bool,
    step: &Step,
) -> Result<(ImportResult, u64, bool, Option<Option<String>>), Error<S, K>> {
    let rows = page.rows;
    let refused = || TransferError::Protocol("the receiving side refused an ordinary page without a reason".into());
    match sink.import(handle, page, format(copy), step).await.map_err(TransferError::Sink)? {
        Some(done) => return Ok((done, rows as u64, copy, None)),
        None if !copy => return Err(refused()),
        None => {}
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
        let part = sink.import(handle, again, PageFormat::Binary, &part_step).await.map_err(TransferError::Sink)?;
        done.absorb(part.ok_or_else(refused)?);
        imported += held;
        at = part_next;
        if held == 0 || imported >= rows || at.is_none() {
            break;
        }
    }
    Ok((done, imported as u64, false, Some(at)))
}
