//! The browser's two adapters to the one transfer driver (`protocol::transfer`): the page's WebSocket to the
//! sender as its page source, and this site's server functions as its page sink. Nothing of the transfer itself
//! is decided here.

use protocol::Strategy;
use protocol::messages::{ErrorCode, Operation, PageFormat, WireFilter};
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
        };
        let p = self.link.page(op).await?;
        Ok(RawPage { rows: p.rows, has_more: p.has_more, next: p.next, bytes: p.bytes })
    }
}

/// This site's database, through its server functions, for the history record `transfer`.
pub struct ServerSink {
    pub transfer: i64,
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

    /// Two: the next page travels to the server and is decoded there while the last one is written (the server
    /// writes a handle's pages one at a time, in the walk's order, and answers "stale" for one out of turn).
    fn in_flight(&self) -> usize {
        protocol::transfer::MAX_IN_FLIGHT
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
