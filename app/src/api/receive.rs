//! Server functions of the Receive page: what the browser's receiver asks of its *own* server. The browser talks
//! to the sender itself; these only look at and write to the local database. Everything arriving here came
//! through the browser from another site, so names, schemas and pages are validated as hostile input: a bad one
//! is refused whole with a message naming what was wrong.

use leptos::prelude::*;
use leptos::server_fn::codec::{Json, Postcard};
use protocol::TableSchema;
use protocol::history::{Outcome, TableStrategy, TransferRecord};
use protocol::messages::{PageFormat, ReceiverInfo};
use protocol::transfer::PageOutcome;
use protocol::{Strategy, TableInfo};
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The largest page as it travels that the import accepts: the largest page (`protocol::page::MAX_PAGE_BYTES`)
/// uncompressed in its 12-byte framing (compressed ones are far smaller).
pub const MAX_RELAYED_PAGE_BYTES: usize = protocol::page::MAX_PAGE_BYTES + 12;

/// Relayed pages decoded and held at once on this server, whoever sends them — being written or waiting for their
/// handle's turn (`super::chain`): each may cost up to `protocol::page::MAX_PAGE_BYTES` decompressed plus
/// `MAX_PAGE_MEMORY` decoded, so this bounds what parallel relayed pages can take in all (the others wait for a
/// slot before they are decoded).
#[cfg(feature = "ssr")]
static PAGE_IMPORTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Who this receiver is, for the sender's list: the signed-in admin and this site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivingSite {
    pub admin: String,
    pub project: String,
    /// The configured public URL; `None` when the browser's own address should be used.
    pub public_url: Option<String>,
    /// "PostgreSQL" or "SQLite".
    pub engine: String,
}

impl ReceivingSite {
    pub fn info(&self, site_url: String) -> ReceiverInfo {
        ReceiverInfo {
            site_url: self.public_url.clone().unwrap_or(site_url),
            project: self.project.clone(),
            user_name: self.admin.clone(),
            user_email: String::new(),
        }
    }
}

/// A local table's content hash ([`engine::Tables::checksum`]) and row count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChecksum {
    pub sha256: String,
    pub rows: u64,
}

#[server(endpoint = "receive/identity")]
pub async fn receiver_identity() -> Result<ReceivingSite, ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    Ok(ReceivingSite {
        admin: admin.username,
        project: state.site.project.clone(),
        public_url: state.site.public_url.clone(),
        engine: state.db.engine().as_str().to_owned(),
    })
}

/// This site's transferable tables with exact row counts (the comparison needs exact ones).
#[server(endpoint = "receive/local-tables")]
pub async fn local_tables() -> Result<Vec<TableInfo>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    state.tables.list_tables_exact().await.map_err(|e| engine_error("listing local tables", e))
}

/// The local table's checksum, or `None` when it does not exist here.
#[server(endpoint = "receive/local-checksum")]
pub async fn local_checksum(table: String) -> Result<Option<TableChecksum>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    match state.tables.checksum(&table).await {
        Ok((sha256, rows)) => Ok(Some(TableChecksum { sha256, rows })),
        Err(engine::EngineError::TableNotFound(_)) => Ok(None),
        Err(e) => Err(engine_error("computing a local checksum", e)),
    }
}

/// The local table's schema, or `None` when it does not exist here.
#[server(endpoint = "receive/local-schema")]
pub async fn local_schema(table: String) -> Result<Option<TableSchema>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    match state.tables.get_schema(&table).await {
        Ok(schema) => Ok(Some(schema)),
        Err(engine::EngineError::TableNotFound(_)) => Ok(None),
        Err(e) => Err(engine_error("reading a local schema", e)),
    }
}

/// Creates a missing table from the sender's schema (keys and unique constraints now; foreign keys and indexes
/// after the data, with [`finish_table`]). Answers with what could not be recreated.
#[server(endpoint = "receive/create-table", input = Json)]
pub async fn create_local_table(schema: TableSchema) -> Result<Vec<String>, ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    let created = state.tables.create_table(&schema).await.map_err(|e| engine_error("creating a table", e))?;
    tracing::info!(admin = %admin.username, table = %schema.name, "created a table from a sender's schema");
    Ok(created.notes)
}

/// What creating a missing table here would run, before anything runs: the statements in order (checked by this
/// database in a transaction that is rolled back) and what would not be recreated as the sender has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStructure {
    pub statements: Vec<String>,
    pub notes: Vec<String>,
}

/// The Details tab's structure view of a table missing here ([`PlannedStructure`]).
#[server(endpoint = "receive/table-ddl", input = Json)]
pub async fn table_ddl(schema: TableSchema) -> Result<PlannedStructure, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    let ddl = state.tables.create_table_ddl(&schema).await.map_err(|e| engine_error("planning a table", e))?;
    Ok(PlannedStructure { statements: ddl.statements, notes: ddl.notes })
}

/// Adds a created table's foreign keys and indexes once its rows are in.
#[server(endpoint = "receive/finish-table", input = Json)]
pub async fn finish_table(schema: TableSchema) -> Result<Vec<String>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    let done = state
        .tables
        .create_constraints_after_data(&schema)
        .await
        .map_err(|e| engine_error("adding constraints after data", e))?;
    Ok(done.notes)
}

/// Starts a history record for a transfer from `sender` (the site as the admin's page names it); its id goes
/// with every page.
#[server(endpoint = "receive/begin-transfer", input = Json)]
pub async fn begin_transfer(sender: String, tables: Vec<TableStrategy>) -> Result<i64, ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    appdata::history::begin(&state.db, &admin.username, protocol::history::Channel::Browser, &sender, &tables)
        .await
        .map_err(|e| super::respond(ApiError::internal("recording a transfer", e)))
}

/// Ends a transfer's history record with its outcome; anything but `finished`, `incomplete`, `cancelled` or
/// `failed` is refused when the arguments are read, with a message naming the value.
#[server(endpoint = "receive/finish-transfer", input = Json)]
pub async fn finish_transfer(transfer: i64, outcome: Outcome, message: Option<String>) -> Result<(), ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    let ended = appdata::history::finish(&state.db, transfer, &admin.username, outcome, message.as_deref())
        .await
        .map_err(|e| super::respond(ApiError::internal("recording a transfer", e)))?;
    if !ended {
        return Err(super::respond(ApiError::BadRequest("no running transfer of yours with that id".into())));
    }
    state.imports.forget_transfer(transfer);
    Ok(())
}

/// The latest transfers into this site, newest first.
#[server(endpoint = "receive/history")]
pub async fn transfer_history() -> Result<Vec<TransferRecord>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    appdata::history::list(&state.db, 50)
        .await
        .map_err(|e| super::respond(ApiError::internal("reading the history", e)))
}

/// Whether `table` exists here (and may be written: not excluded, not the app's own).
#[server(endpoint = "receive/table-exists", input = Json)]
pub async fn table_exists(table: String) -> Result<bool, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    state.tables.table_exists(&table).await.map_err(|e| engine_error("looking up a table", e))
}

/// A table prepared for relayed pages ([`prepare_table`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedTable {
    /// What every [`import_page`] call of the table names.
    pub handle: u64,
    /// Whether binary COPY pages can go in as they are (`Err`: why not; ordinary pages then).
    pub copy: Result<(), String>,
}

/// The longest walk cursor a relayed page may carry (cursors are the sender's key values, hex-encoded).
pub const MAX_CURSOR_BYTES: usize = 1024 * 1024;

/// Prepares the local table `schema.name` to take the pages of the sender's table `schema` with `strategy`, for
/// the running transfer `transfer` (from [`begin_transfer`]): the name resolved, the local schema read and the
/// import planned once, here; each page then names the handle and reads no catalog. `copy`: binary COPY pages
/// are wanted (the sender is PostgreSQL and can walk the table so). `start`: the cursor the walk starts after
/// (`None`: the table's start), where the handle's chain of committed pages begins ([`import_page`]).
#[server(endpoint = "receive/prepare-table", input = Json)]
pub async fn prepare_table(
    transfer: i64,
    schema: TableSchema,
    strategy: Strategy,
    copy: bool,
    start: Option<String>,
) -> Result<PreparedTable, ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    check_cursor("start", start.as_deref())?;
    let running = appdata::history::is_running(&state.db, transfer, &admin.username)
        .await
        .map_err(|e| super::respond(ApiError::internal("reading a transfer", e)))?;
    if !running {
        return Err(super::respond(ApiError::BadRequest(format!(
            "transfer {transfer} is not running (finished or not yours)"
        ))));
    }
    let prepared =
        state.tables.prepare_import(&schema, strategy, copy).await.map_err(|e| engine_error("preparing a table", e))?;
    let copy = prepared.copy.as_ref().map(|_| ()).map_err(Clone::clone);
    if let Err(why) = &copy {
        tracing::debug!(table = %schema.name, "ordinary pages: {why}");
    }
    let handle = state.imports.insert(&admin.username, transfer, prepared, start);
    Ok(PreparedTable { handle, copy })
}

/// A cursor from the browser, refused when longer than any walk's.
#[cfg(feature = "ssr")]
fn check_cursor(what: &str, cursor: Option<&str>) -> Result<(), ApiError> {
    match cursor {
        Some(c) if c.len() > MAX_CURSOR_BYTES => Err(super::respond(ApiError::BadRequest(format!(
            "the {what} cursor is {} bytes; at most {MAX_CURSOR_BYTES} are accepted",
            c.len()
        )))),
        _ => Ok(()),
    }
}

/// Imports one page relayed by the browser into a table prepared with [`prepare_table`], exactly as the sender
/// compressed it: decoded here as hostile input (size-capped; refused whole when it does not hold the `rows` its
/// header stated), written in one transaction with its counts in the transfer's history record.
///
/// `from` is the cursor the page was fetched from and `next` the one the walk goes on from after it: the page is
/// written only when `from` is where the handle's last committed page ended, one page of a handle at a time
/// (`super::chain`), so the Receive page may send the next page while the last is still being written (it is
/// decoded meanwhile, and waits for its turn) and pages still land in order, once. A page out of turn is
/// answered [`PageOutcome::Stale`], nothing written.
/// `format` `pg_copy`: a binary COPY page; [`PageOutcome::CopyRefused`] when PostgreSQL refused a row of it
/// (nothing was written, and the browser sends the same rows again as ordinary pages, imported the careful way).
#[server(endpoint = "receive/import-page", input = Postcard, output = Json)]
pub async fn import_page(
    handle: u64,
    format: PageFormat,
    rows: u64,
    from: Option<String>,
    next: String,
    page: serde_bytes::ByteBuf,
) -> Result<PageOutcome, ApiError> {
    // A byte string on the wire (`serde_bytes`): postcard writes its length and the bytes in one copy, where a
    // `Vec<u8>` goes through serde one call per byte, in the tab and again here (millions for a page of MiB).
    let page = page.into_vec();
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    let Some(found) = state.imports.get(handle, &admin.username) else {
        return Err(super::respond(ApiError::BadRequest(
            "no table prepared with that handle here (the transfer ended, or this server restarted): prepare the \
             table again"
                .into(),
        )));
    };
    let rows = usize::try_from(rows).unwrap_or(usize::MAX);
    // One of the import slots from before decoding until the page is written or found stale: what decoded pages
    // can take on this server is bounded by the slots, however many pages wait for their turn.
    let slot = import_slot().await?;
    let decoded =
        check_cursor("from", from.as_deref()).and_then(|()| check_cursor("next", Some(&next))).and_then(|()| {
            if page.len() > MAX_RELAYED_PAGE_BYTES {
                return Err(super::respond(ApiError::BadRequest(format!(
                    "a page may hold at most {MAX_RELAYED_PAGE_BYTES} bytes"
                ))));
            }
            decode_relayed(format, rows, &page)
        });
    drop(page);
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) => {
            // Refused before its turn: a page waiting to follow it has no predecessor coming.
            found.chain.failed_before_turn(&next);
            return Err(e);
        }
    };
    let Some(turn) = found.chain.turn(&from, &next, super::chain::PATIENCE).await else {
        return Ok(PageOutcome::Stale);
    };
    let checkpoint = appdata::jobs::Checkpoint { job: None, transfer_id: found.transfer, rows: rows as u64 };
    let outcome = match decoded {
        Relayed::Copy(data) => state
            .tables
            .import_prepared_copy(&found.prepared, &data, rows, Some(&checkpoint))
            .await
            .map_err(|e| engine_error("importing a page", e))?
            .map_or(PageOutcome::CopyRefused, PageOutcome::Committed),
        Relayed::Rows(decoded) => PageOutcome::Committed(
            state
                .tables
                .import_prepared(&found.prepared, &decoded, Some(&checkpoint))
                .await
                .map_err(|e| engine_error("importing a page", e))?,
        ),
    };
    if matches!(outcome, PageOutcome::Committed(_)) {
        turn.committed(next);
    }
    drop(slot);
    Ok(outcome)
}

/// One of the [`PAGE_IMPORTS`] slots.
#[cfg(feature = "ssr")]
async fn import_slot() -> Result<tokio::sync::SemaphorePermit<'static>, ApiError> {
    PAGE_IMPORTS.acquire().await.map_err(|e| super::respond(ApiError::internal("waiting to import", e)))
}

/// A relayed page decoded as hostile input: bounded by the codec, refused whole when it does not hold the `rows`
/// its header stated (binary COPY pages are counted when they are imported, before anything is written).
#[cfg(feature = "ssr")]
fn decode_relayed(format: PageFormat, rows: usize, page: &[u8]) -> Result<Relayed, ApiError> {
    let refused =
        |e: engine::EngineError| super::respond(ApiError::BadRequest(format!("the relayed page was refused: {e}")));
    match format {
        // Owned: the relayed body is dropped before the page waits for its turn.
        PageFormat::PgCopy => {
            Ok(Relayed::Copy(engine::compress::decompress_bytes(page).map_err(refused)?.into_owned()))
        }
        PageFormat::Binary => {
            let decoded = <protocol::Page as engine::compress::PageCompression>::decompress(page).map_err(refused)?;
            if decoded.rows.len() != rows {
                return Err(super::respond(ApiError::BadRequest(format!(
                    "the relayed page was refused: the header said {rows} rows, the page holds {}",
                    decoded.rows.len()
                ))));
            }
            Ok(Relayed::Rows(decoded))
        }
        PageFormat::Json => Err(super::respond(ApiError::BadRequest("JSON pages are previews, not imported".into()))),
    }
}

/// A relayed page, decoded.
#[cfg(feature = "ssr")]
enum Relayed {
    Copy(Vec<u8>),
    Rows(protocol::Page),
}

/// What the admin sees for an engine failure: the engine's own words for bad input (400), "internal" for the
/// database (500, the cause in the log).
#[cfg(feature = "ssr")]
fn engine_error(context: &str, e: engine::EngineError) -> ApiError {
    super::respond(match e {
        engine::EngineError::Db(cause) => ApiError::internal(context, cause),
        other => ApiError::BadRequest(other.to_string()),
    })
}
