//! Server functions of the Receive page: what the browser's receiver asks of its *own* server. The browser talks
//! to the sender itself; these only look at and write to the local database. Everything arriving here came
//! through the browser from another site, so names, schemas and pages are validated as hostile input: a bad one
//! is refused whole with a message naming what was wrong.

use engine::history::{TableStrategy, TransferRecord};
use engine::protocol::ReceiverInfo;
use engine::{ImportResult, Strategy, TableInfo, TableSchema};
use leptos::prelude::*;
use leptos::server_fn::codec::{Json, Postcard};
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The largest compressed page the import accepts (a page of 100 000 wide rows compresses far below this).
pub const MAX_RELAYED_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// Relayed pages decoded and imported at once on this server, whoever sends them: each may cost up to
/// `engine::page::MAX_PAGE_BYTES` decompressed plus `MAX_PAGE_MEMORY` decoded, so this bounds what parallel
/// relayed pages can take in all (the others wait their turn).
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
    engine::history::begin(&state.db, &admin.username, engine::history::Channel::Browser, &sender, &tables)
        .await
        .map_err(|e| super::respond(ApiError::internal("recording a transfer", e)))
}

/// Ends a transfer's history record with its outcome (`finished`, `incomplete`, `cancelled`, `failed`).
#[server(endpoint = "receive/finish-transfer", input = Json)]
pub async fn finish_transfer(transfer: i64, outcome: String, message: Option<String>) -> Result<(), ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    if !engine::history::OUTCOMES.contains(&outcome.as_str()) {
        return Err(super::respond(ApiError::BadRequest(format!(
            "unknown outcome {:?}",
            outcome.chars().take(40).collect::<String>()
        ))));
    }
    let ended = engine::history::finish(&state.db, transfer, &admin.username, &outcome, message.as_deref())
        .await
        .map_err(|e| super::respond(ApiError::internal("recording a transfer", e)))?;
    if !ended {
        return Err(super::respond(ApiError::BadRequest("no running transfer of yours with that id".into())));
    }
    Ok(())
}

/// The latest transfers into this site, newest first.
#[server(endpoint = "receive/history")]
pub async fn transfer_history() -> Result<Vec<TransferRecord>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    engine::history::list(&state.db, 50).await.map_err(|e| super::respond(ApiError::internal("reading the history", e)))
}

/// Imports one page relayed by the browser, exactly as the sender compressed it: decoded here (size-capped,
/// hostile-safe), written in one transaction with the strategy, and counted into the transfer's history record
/// (`transfer`, from [`begin_transfer`]). A malformed page is refused whole.
#[server(endpoint = "receive/import-page", input = Postcard, output = Json)]
pub async fn import_page(
    transfer: i64,
    table: String,
    strategy: Strategy,
    page: Vec<u8>,
) -> Result<ImportResult, ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    if page.len() > MAX_RELAYED_PAGE_BYTES {
        return Err(super::respond(ApiError::BadRequest(format!(
            "a page may hold at most {MAX_RELAYED_PAGE_BYTES} bytes"
        ))));
    }
    let running = engine::history::is_running(&state.db, transfer, &admin.username)
        .await
        .map_err(|e| super::respond(ApiError::internal("reading a transfer", e)))?;
    if !running {
        return Err(super::respond(ApiError::BadRequest(format!(
            "transfer {transfer} is not running (finished or not yours)"
        ))));
    }
    let _turn = PAGE_IMPORTS.acquire().await.map_err(|e| super::respond(ApiError::internal("waiting to import", e)))?;
    let decoded = engine::Page::decompress(&page)
        .map_err(|e| super::respond(ApiError::BadRequest(format!("the relayed page was refused: {e}"))))?;
    let result = state
        .tables
        .import_records(&table, &decoded, strategy)
        .await
        .map_err(|e| engine_error("importing a page", e))?;
    let counted = engine::history::add_page(&state.db, transfer, &admin.username, decoded.rows.len() as u64, &result)
        .await
        .map_err(|e| super::respond(ApiError::internal("recording a transfer", e)))?;
    if !counted {
        tracing::warn!(transfer, admin = %admin.username, "the transfer ended while a page was imported (imported, not counted)");
    }
    Ok(result)
}

/// Whether pages of `table` from a PostgreSQL sender whose table is `schema` can travel as binary COPY and go into
/// this site's table as they are: this database is PostgreSQL and the table has the sender's columns with the
/// same types. `false` means ordinary pages (the reason is logged).
#[server(endpoint = "receive/copy-ready", input = Json)]
pub async fn copy_ready(table: String, schema: TableSchema, strategy: Strategy) -> Result<bool, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    if schema.name != table {
        return Err(super::respond(ApiError::BadRequest("the schema is of another table".into())));
    }
    match state
        .tables
        .prepare_binary_copy(&table, &schema, strategy)
        .await
        .map_err(|e| engine_error("checking a table", e))?
    {
        Ok(_) => Ok(true),
        Err(why) => {
            tracing::debug!(table, "ordinary pages: {why}");
            Ok(false)
        }
    }
}

/// Imports one binary COPY page relayed by the browser (see [`copy_ready`]; `schema_json` is the sender's schema
/// of the table, as JSON). `None` when PostgreSQL refused a row: nothing was written, and the browser sends the
/// same page again as an ordinary page, which is imported the careful way.
#[server(endpoint = "receive/import-copy-page", input = Postcard, output = Json)]
pub async fn import_copy_page(
    transfer: i64,
    table: String,
    strategy: Strategy,
    rows: u64,
    schema_json: String,
    page: Vec<u8>,
) -> Result<Option<ImportResult>, ApiError> {
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    if page.len() > MAX_RELAYED_PAGE_BYTES || schema_json.len() > 1024 * 1024 {
        return Err(super::respond(ApiError::BadRequest(format!(
            "a page may hold at most {MAX_RELAYED_PAGE_BYTES} bytes"
        ))));
    }
    let schema: TableSchema = serde_json::from_str(&schema_json)
        .map_err(|e| super::respond(ApiError::BadRequest(format!("the table's schema was refused: {e}"))))?;
    if schema.name != table {
        return Err(super::respond(ApiError::BadRequest("the schema is of another table".into())));
    }
    let running = engine::history::is_running(&state.db, transfer, &admin.username)
        .await
        .map_err(|e| super::respond(ApiError::internal("reading a transfer", e)))?;
    if !running {
        return Err(super::respond(ApiError::BadRequest(format!(
            "transfer {transfer} is not running (finished or not yours)"
        ))));
    }
    let plan = match state
        .tables
        .prepare_binary_copy(&table, &schema, strategy)
        .await
        .map_err(|e| engine_error("checking a table", e))?
    {
        Ok(plan) => plan,
        Err(why) => {
            return Err(super::respond(ApiError::BadRequest(format!(
                "binary COPY pages cannot go into {table:?}: {why}"
            ))));
        }
    };
    let _turn = PAGE_IMPORTS.acquire().await.map_err(|e| super::respond(ApiError::internal("waiting to import", e)))?;
    let data = engine::page::decompress_bytes(&page)
        .map_err(|e| super::respond(ApiError::BadRequest(format!("the relayed page was refused: {e}"))))?;
    let rows = usize::try_from(rows).unwrap_or(usize::MAX);
    let Some(result) = state
        .tables
        .import_binary_copy(&plan, &data, rows, None)
        .await
        .map_err(|e| engine_error("importing a page", e))?
    else {
        return Ok(None);
    };
    let counted = engine::history::add_page(&state.db, transfer, &admin.username, rows as u64, &result)
        .await
        .map_err(|e| super::respond(ApiError::internal("recording a transfer", e)))?;
    if !counted {
        tracing::warn!(transfer, admin = %admin.username, "the transfer ended while a page was imported (imported, not counted)");
    }
    Ok(Some(result))
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
