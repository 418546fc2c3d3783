//! The browser's two adapters to the one transfer driver (`protocol::transfer`): the page's WebSocket to the
//! sender as its page source, and this site's server functions as its page sink. Nothing of the transfer itself
//! is decided here.

use protocol::Strategy;
use protocol::messages::{Capabilities, Compression, ErrorCode, Operation, PageFormat, WireFilter};
use protocol::transfer::{Fetch, PageOutcome, PageSink, PageSource, Prepared, RawPage, SourceFailure, Step};
use protocol::{TableName, TableSchema};

use crate::ApiError;
use crate::api::receive as local;
use crate::receiver::link::{LinkError, SenderLink};

/// The sender, through the page's own WebSocket.
pub struct LinkSource<'a> {
    pub link: &'a SenderLink,
    /// Whether the sender offers binary COPY pages (asked once, at connect).
    pub pg_copy: bool,
    /// How the pages travel ([`page_compression`]).
    pub compression: Compression,
}

impl PageSource for LinkSource<'_> {
    type Error = LinkError;

    fn failure(error: &LinkError) -> SourceFailure {
        match error {
            LinkError::Remote { code: ErrorCode::BadRequest, .. } => SourceFailure::Refused,
            LinkError::Cancelled => SourceFailure::Cancelled,
            // Unreachable: how a browser reports a socket that died abruptly (close code 1006) mid-transfer.
            LinkError::Stopped(_) | LinkError::Closed { .. } | LinkError::TimedOut(_) | LinkError::Unreachable(_) => {
                SourceFailure::Lost
            }
            _ => SourceFailure::Other,
        }
    }

    async fn schema(&self, table: &TableName) -> Result<TableSchema, LinkError> {
        self.link.call(Operation::Schema { table: table.to_string() }).await
    }

    async fn count(&self, table: &TableName) -> Result<u64, LinkError> {
        let n: i64 = self.link.call(Operation::Count { table: table.to_string() }).await?;
        Ok(n.max(0) as u64)
    }

    async fn offers_pg_copy(&self) -> bool {
        self.pg_copy
    }

    async fn fetch(&self, table: &TableName, fetch: &Fetch) -> Result<RawPage, LinkError> {
        let op = Operation::Fetch {
            table: table.to_string(),
            limit: Some(fetch.limit),
            cursor: fetch.cursor.clone(),
            offset: None,
            filter: (fetch.filter != WireFilter::All).then(|| fetch.filter.clone()),
            format: fetch.format,
            compression: self.compression,
        };
        let p = self.link.page(op).await?;
        Ok(RawPage { rows: p.rows, has_more: p.has_more, next: p.next, bytes: p.bytes })
    }
}

/// This site's database, through its server functions, for the history record `transfer`.
pub struct ServerSink {
    pub transfer: i64,
    /// Pages on their way into this site at once ([`pages_in_flight`]).
    pub in_flight: usize,
}

/// The browser's key (`localStorage`) that overrides how many pages the Receive page keeps on their way into this
/// site at once: `1` or `2`; anything else, or nothing, is the default. The benchmark's A/B of the two
/// (`BENCH_IN_FLIGHT`, `docs/benchmarks.md`) sets it; an admin may too, from the browser's console.
pub const IN_FLIGHT_KEY: &str = "dbt.pages-in-flight";

/// What the browser's `localStorage` holds under `key`, if it can be read.
fn stored(key: &str) -> Option<String> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten()).and_then(|s| s.get_item(key).ok().flatten())
}

/// The browser's key (`localStorage`) that overrides how pages travel from the sender through the tab: `none`
/// (uncompressed, from a sender that serves it to this tab); anything else, or nothing, is zstd. The benchmark's
/// "tried" line sets it.
pub const COMPRESSION_KEY: &str = "dbt.page-compression";

/// How the sender's pages travel through the tab: zstd, even when everything runs on one machine. Measured on
/// 1M rows (`docs/benchmarks.md`, 2026-12-01 22:34): uncompressed pages saved the sender its compressing but cost
/// the tab's renderer half as much again (its WebSocket and `fetch` costs go by the byte), so the whole relay was
/// no faster; the CLI, with no tab in the way, gains from them ([`protocol::messages::Compression::for_link`]).
pub fn page_compression(capabilities: &Capabilities) -> Compression {
    match stored(COMPRESSION_KEY).as_deref().map(str::trim) {
        Some("none") if capabilities.compressions.contains(&Compression::None) => Compression::None,
        _ => Compression::Zstd,
    }
}

/// Two by default: the next page travels to the server and is decoded there while the last one is written (the
/// server writes a handle's pages one at a time, in the walk's order, and answers "stale" for one out of turn).
pub fn pages_in_flight() -> usize {
    match stored(IN_FLIGHT_KEY).and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(n @ 1..=protocol::transfer::MAX_IN_FLIGHT) => n,
        _ => protocol::transfer::MAX_IN_FLIGHT,
    }
}

impl PageSink for ServerSink {
    type Error = ApiError;
    /// The server's handle of the prepared table.
    type Handle = u64;

    async fn exists(&self, table: &TableName) -> Result<bool, ApiError> {
        local::table_exists(table.to_string()).await
    }

    async fn create(&self, schema: &TableSchema) -> Result<Vec<String>, ApiError> {
        local::create_local_table(schema.clone()).await
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }

    async fn prepare(
        &self,
        schema: &TableSchema,
        strategy: Strategy,
        copy: bool,
        start: Option<&str>,
    ) -> Result<Prepared<u64>, ApiError> {
        let prepared =
            local::prepare_table(self.transfer, schema.clone(), strategy, copy, start.map(str::to_owned)).await?;
        Ok(Prepared { handle: prepared.handle, copy: prepared.copy })
    }

    async fn import(
        &self,
        handle: &u64,
        page: RawPage,
        format: PageFormat,
        step: &Step,
    ) -> Result<PageOutcome, ApiError> {
        // Relayed exactly as the sender compressed it: the browser never decodes bulk rows.
        let bytes = serde_bytes::ByteBuf::from(page.bytes);
        local::import_page(*handle, format, page.rows as u64, step.from.clone(), step.next.clone(), bytes).await
    }

    async fn finish(&self, _handle: &u64, schema: &TableSchema) -> Result<Vec<String>, ApiError> {
        local::finish_table(schema.clone()).await
    }
}
