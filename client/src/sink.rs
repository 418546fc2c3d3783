//! The local database as a [`PageSink`]: where the CLI's and background jobs' pages land (the browser's land
//! through its server, which uses the same [`Tables::prepare_import`] and imports). Each page commits with its
//! counts in the history record and, for a job, its cursor ([`Checkpoint`]) in one transaction.

use appdata::jobs::{Checkpoint, JobCursor};
use engine::compress::{PageCompression, decompress_bytes};
use engine::tables::PreparedImport;
use engine::{EngineError, Tables};
use protocol::TableName;
use protocol::messages::PageFormat;
use protocol::page::Page;
use protocol::request::Strategy;
use protocol::schema::TableSchema;
use protocol::transfer::{PageOutcome, PageSink, Prepared, RawPage, Step};

/// Pages into `tables`, counted into the history record `record` (when there is one) and, for a background job's
/// table, moving the job's cursor.
#[derive(Debug, Clone, Copy)]
pub struct LocalSink<'a> {
    pub tables: &'a Tables,
    /// The history record every page's counts go to.
    pub record: Option<i64>,
    /// A background job's table: `(job, position)`; its cursor moves with each page, and only from the cursor
    /// the page was fetched from (a page imported elsewhere meanwhile rolls back).
    pub job: Option<(i64, i64)>,
}

impl<'a> LocalSink<'a> {
    pub fn new(tables: &'a Tables) -> LocalSink<'a> {
        LocalSink { tables, record: None, job: None }
    }

    fn checkpoint(&self, step: &Step, rows: usize) -> Option<Checkpoint> {
        self.record.map(|transfer_id| Checkpoint {
            job: self.job.map(|(job, position)| JobCursor {
                job,
                position,
                expected: step.from.clone(),
                next: Some(step.next.clone()),
            }),
            transfer_id,
            rows: rows as u64,
        })
    }
}

/// Why a page did not land here: the sender's page itself is bad (it cannot be decoded, or it does not hold what
/// its header says: the sender is broken or lying), or this database refused the import.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{0}")]
    BadPage(String),
    #[error(transparent)]
    Import(#[from] EngineError),
}

/// An ordinary page, decoded as hostile input and refused when its header's row count is not what it holds: the
/// counts of what was imported must not depend on the sender's word.
pub fn decode_page(page: &RawPage) -> Result<Page, SinkError> {
    let decoded = Page::decompress(&page.bytes).map_err(|e| SinkError::BadPage(format!("a bad page: {e}")))?;
    if decoded.rows.len() != page.rows {
        return Err(SinkError::BadPage(format!(
            "the header said {} rows, the page holds {}",
            page.rows,
            decoded.rows.len()
        )));
    }
    Ok(decoded)
}

impl PageSink for LocalSink<'_> {
    type Error = SinkError;
    type Handle = PreparedImport;

    async fn exists(&self, table: &TableName) -> Result<bool, SinkError> {
        Ok(self.tables.table_exists(table.as_str()).await?)
    }

    async fn create(&self, schema: &TableSchema) -> Result<Vec<String>, SinkError> {
        Ok(self.tables.create_table(schema).await?.notes)
    }

    async fn prepare(
        &self,
        schema: &TableSchema,
        strategy: Strategy,
        copy: bool,
        _start: Option<&str>,
    ) -> Result<Prepared<PreparedImport>, SinkError> {
        let handle = self.tables.prepare_import(schema, strategy, copy).await?;
        let copy = handle.copy.as_ref().map(|_| ()).map_err(Clone::clone);
        Ok(Prepared { handle, copy })
    }

    async fn import(
        &self,
        handle: &PreparedImport,
        page: RawPage,
        format: PageFormat,
        step: &Step,
    ) -> Result<PageOutcome, SinkError> {
        match format {
            PageFormat::PgCopy => {
                let data = decompress_bytes(&page.bytes).map_err(|e| SinkError::BadPage(format!("a bad page: {e}")))?;
                // The import checks the stream holds exactly the header's tuples before it writes any.
                let checkpoint = self.checkpoint(step, page.rows);
                let imported = self.tables.import_prepared_copy(handle, &data, page.rows, checkpoint.as_ref()).await?;
                Ok(imported.map_or(PageOutcome::CopyRefused, PageOutcome::Committed))
            }
            PageFormat::Binary => {
                let decoded = decode_page(&page)?;
                let checkpoint = self.checkpoint(step, decoded.rows.len());
                Ok(PageOutcome::Committed(self.tables.import_prepared(handle, &decoded, checkpoint.as_ref()).await?))
            }
            PageFormat::Json => Err(SinkError::BadPage("JSON pages are previews, not imported".into())),
        }
    }

    async fn finish(&self, _handle: &PreparedImport, schema: &TableSchema) -> Result<Vec<String>, SinkError> {
        Ok(self.tables.create_constraints_after_data(schema).await?.notes)
    }
}
