//! The one transfer driver when a binary COPY page the receiving PostgreSQL refuses is redone as ordinary pages
//! while the sender's rows change in the page's range (review of issue 13): the walk goes on from where the redo
//! committed, so no row is skipped and none imported twice. The sender here is a real database read through
//! `Tables` (what the sender's socket does, without the socket).

use engine::compress::PageCompression;
use std::sync::atomic::{AtomicBool, Ordering};

use appdata::testing::{TestDb, exec};
use client::sink::LocalSink;
use engine::{EngineError, EngineKind, TableName, TableSchema, Tables};
use protocol::messages::{PageFormat, decode_cursor, encode_cursor};
use protocol::transfer::{self, Event, Fetch, Observer, PageSource, RawPage, SourceFailure, TableJob};
use protocol::{PageRequest, Position, Strategy};

/// A sender's tables as a page source; before the first ordinary page (the redo's), runs `meanwhile` once on
/// the sender's database.
struct TablesSource {
    tables: Tables,
    meanwhile: &'static str,
    done: AtomicBool,
}

impl PageSource for TablesSource {
    type Error = EngineError;

    fn failure(_: &EngineError) -> SourceFailure {
        SourceFailure::Other
    }

    async fn schema(&self, table: &TableName) -> Result<TableSchema, EngineError> {
        self.tables.get_schema(table.as_str()).await
    }

    async fn count(&self, table: &TableName) -> Result<u64, EngineError> {
        Ok(self.tables.get_count(table.as_str()).await? as u64)
    }

    async fn offers_pg_copy(&self) -> bool {
        true
    }

    async fn fetch(&self, table: &TableName, fetch: &Fetch) -> Result<RawPage, EngineError> {
        let position = match &fetch.cursor {
            Some(c) => Position::After(decode_cursor(c).map_err(EngineError::BadRequest)?),
            None => Position::Start,
        };
        let request = PageRequest { limit: fetch.limit, position, filter: Default::default() };
        if fetch.format == PageFormat::PgCopy {
            let page = self.tables.export_binary_copy(table.as_str(), &request).await?;
            let next = page.next.as_ref().map(encode_cursor);
            let bytes = engine::compress::compress_bytes(&page.data);
            return Ok(RawPage { rows: page.rows, has_more: page.has_more, next, bytes });
        }
        if !self.done.swap(true, Ordering::SeqCst) {
            exec(self.tables.db(), self.meanwhile).await;
        }
        let page = self.tables.export_records(table.as_str(), &request).await?;
        let next = page.next.as_ref().map(encode_cursor);
        Ok(RawPage { rows: page.page.rows.len(), has_more: page.has_more, next, bytes: page.page.compress() })
    }
}

struct Quiet;

impl Observer for Quiet {
    fn event(&self, _: Event<'_>) {}

    fn now(&self) -> f64 {
        0.0
    }
}

async fn ids(tables: &Tables) -> Vec<i64> {
    let engine::Db::Postgres(pool) = tables.db() else { panic!("PostgreSQL") };
    sqlx::query_scalar("SELECT id FROM t ORDER BY id").fetch_all(pool).await.unwrap()
}

/// Sender rows 2, 4, …, 40; the receiver refuses v = 6, so the first binary page (2..16) is redone as ordinary
/// pages — after `meanwhile` changed the sender's rows in that range.
async fn redo_while(meanwhile: &'static str) -> (Vec<i64>, Vec<i64>, transfer::TableReport) {
    let sender = TestDb::new(EngineKind::Postgres).await;
    let receiver = TestDb::new(EngineKind::Postgres).await;
    exec(&sender.db, "CREATE TABLE t (id bigint PRIMARY KEY, v bigint); INSERT INTO t SELECT g * 2, g * 2 FROM generate_series(1, 20) g").await;
    exec(&receiver.db, "CREATE TABLE t (id bigint PRIMARY KEY, v bigint CHECK (v <> 6))").await;
    let from = Tables::new(sender.db.clone(), Default::default());
    let into = Tables::new(receiver.db.clone(), Default::default());
    let source = TablesSource { tables: from.clone(), meanwhile, done: AtomicBool::new(false) };
    let t = TableName::parse("t").unwrap();
    let job = TableJob { page_rows: Some(8), ..TableJob::new(t.clone(), Strategy::Skip) };
    let schema = source.schema(&t).await.unwrap();
    let report = transfer::transfer_table(&source, &LocalSink::new(&into), &Quiet, &job, &schema).await.unwrap();
    assert_eq!(report.errors.len(), 1, "the refused row is reported: {:?}", report.errors);
    (ids(&from).await, ids(&into).await, report)
}

#[tokio::test]
async fn a_row_added_in_a_redone_pages_range_pushes_none_out() {
    let (sent, landed, report) = redo_while("INSERT INTO t VALUES (3, 3)").await;
    let want: Vec<i64> = sent.iter().copied().filter(|&id| id != 6).collect();
    assert_eq!(landed, want, "every row but the refused one, none skipped at the redo's end");
    assert_eq!(report.rows, sent.len() as u64);
    assert_eq!((report.created, report.skipped), (want.len() as u64, 0));
}

#[tokio::test]
async fn a_row_removed_in_a_redone_pages_range_brings_none_twice() {
    let (sent, landed, report) = redo_while("DELETE FROM t WHERE id = 4").await;
    let want: Vec<i64> = sent.iter().copied().filter(|&id| id != 6).collect();
    assert_eq!(landed, want);
    assert_eq!(report.rows, sent.len() as u64, "no row imported twice");
    assert_eq!((report.created, report.skipped), (want.len() as u64, 0));
}
