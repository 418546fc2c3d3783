//! The programmatic client: a receiver without a browser, for scripts, the CLI, migrations and background jobs.
//! It speaks protocol v1 (`docs/protocol.md`) to a sender and imports into a local [`Tables`]:
//!
//! ```no_run
//! # async fn run(local: engine::Tables) -> Result<(), client::ClientError> {
//! use client::{Client, ClientOptions, TransferOptions};
//! let client = Client::connect("https://shop.example", "ABCD2345", ClientOptions::default()).await?;
//! let result = client.transfer(&local, "users", &TransferOptions::default(), &|_| {}).await?;
//! println!("{} created, {} skipped", result.created, result.skipped);
//! client.disconnect().await;
//! # Ok(()) }
//! ```
//!
//! A dropped connection is resumed with the sender's resume token (the next page continues from the last
//! imported one); a connection the sender stopped is not.

mod connection;
mod error;
pub mod sink;
mod transfer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::RwLock;

pub use connection::RawPage;
use connection::{Connection, Credential, Reply};
pub use error::ClientError;
pub use transfer::{
    BINARY_COPY_NOTE, ClientSource, END_CURSOR, JobControl, Progress, TransferAllOptions, TransferOptions,
    TransferResult,
};

use engine::compress::PageCompression;
use protocol::Page;
use protocol::messages::{
    Capabilities, ChecksumReply, Compression, JsonPage, Operation, PageFormat, ReceiverInfo, WireFilter,
};
use protocol::schema::{TableInfo, TableSchema};

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// For connecting and for each reply.
    pub timeout: Duration,
    /// Who this receiver is, shown on the sender's Send page.
    pub receiver_info: ReceiverInfo,
    /// How pages travel; `None` (the default): uncompressed when the sender is on this machine and serves that,
    /// zstd otherwise ([`Compression::for_link`]).
    pub compression: Option<Compression>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            receiver_info: ReceiverInfo {
                site_url: String::new(),
                project: "db-transfer CLI".into(),
                user_name: std::env::var("USER").unwrap_or_default(),
                user_email: String::new(),
            },
            compression: None,
        }
    }
}

/// How long a resume refused as "still connected" is retried: past a sender's default liveness bound (it drops a
/// silent socket within its timeout plus one ping interval, `sender::Liveness`), so a connection that died
/// half-open on the sender's side does not fail the resume while the sender has not noticed yet.
const RESUME_WAIT: Duration = Duration::from_secs(90);

/// Opens a connection with a resume token, retrying while the sender has not yet noticed the old socket is gone
/// (for up to [`RESUME_WAIT`]) or is briefly unreachable (ten attempts).
async fn open_resuming(socket_url: &str, token: &str, options: &ClientOptions) -> Result<Connection, ClientError> {
    let started = tokio::time::Instant::now();
    let (mut attempts, mut unreachable) = (0u64, 0u64);
    loop {
        match Connection::open(socket_url, Credential::Resume(token), &options.receiver_info, options.timeout).await {
            Ok(c) => return Ok(c),
            Err(ClientError::CodeUsed) if started.elapsed() < RESUME_WAIT => {}
            Err(ClientError::Unreachable(_) | ClientError::ConnectTimeout(_)) if unreachable < 9 => unreachable += 1,
            Err(e) => return Err(e),
        }
        attempts += 1;
        tokio::time::sleep(Duration::from_millis(200 * attempts.min(10))).await;
    }
}

/// Where a fetch starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum FetchFrom {
    #[default]
    Start,
    /// The `next` of the previous page.
    Cursor(String),
    /// Compatibility: skip this many rows (quadratic over a whole table; prefer cursors).
    Offset(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchOptions {
    pub limit: u32,
    pub from: FetchFrom,
    pub filter: WireFilter,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions { limit: protocol::messages::DEFAULT_PAGE_ROWS, from: FetchFrom::Start, filter: WireFilter::All }
    }
}

fn fetch_op(table: &str, options: &FetchOptions, format: PageFormat, compression: Compression) -> Operation {
    let (cursor, offset) = match &options.from {
        FetchFrom::Start => (None, None),
        FetchFrom::Cursor(c) => (Some(c.clone()), None),
        FetchFrom::Offset(n) => (None, Some(*n)),
    };
    Operation::Fetch {
        table: table.into(),
        limit: Some(options.limit),
        cursor,
        offset,
        filter: (options.filter != WireFilter::All).then(|| options.filter.clone()),
        format,
        compression,
    }
}

/// A fetched page, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Records {
    pub records: Page,
    pub has_more: bool,
    pub next: Option<String>,
}

pub struct Client {
    socket_url: String,
    options: ClientOptions,
    connection: RwLock<Arc<Connection>>,
    next_id: AtomicU64,
    /// What the sender serves, asked once at connect.
    capabilities: Capabilities,
    /// How this client's pages travel (chosen at connect).
    compression: Compression,
}

/// The reply `op` gets, decoded into `T`; a reply of another shape is a protocol error naming the operation and
/// what was wrong.
fn decode<T: serde::de::DeserializeOwned>(op: &str, reply: Reply) -> Result<T, ClientError> {
    match reply {
        Reply::Json(v) => serde_json::from_value(v)
            .map_err(|e| ClientError::Protocol(format!("the sender's {op} reply is malformed: {e}"))),
        Reply::Page(_) => Err(ClientError::Protocol(format!("a page where a {op} reply was expected"))),
    }
}

impl Client {
    /// Connects to the sender at `url` (as people type it: with or without scheme, with a path prefix) with a
    /// connection code.
    pub async fn connect(url: &str, code: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let socket_url = protocol::address::client_socket_url(url).map_err(ClientError::InvalidUrl)?;
        let code = protocol::ConnectionCode::parse(code).map_err(|_| ClientError::InvalidCode)?;
        let connection =
            Connection::open(&socket_url, Credential::Code(code.as_str()), &options.receiver_info, options.timeout)
                .await?;
        Client::with(socket_url, options, connection).await
    }

    /// A client on a welcomed connection, once the sender said what it serves (a malformed answer fails here, so
    /// nothing later runs on a guess).
    async fn with(socket_url: String, options: ClientOptions, connection: Connection) -> Result<Client, ClientError> {
        let capabilities: Capabilities = decode("capabilities", connection.request(1, Operation::Capabilities).await?)?;
        let compression = match options.compression {
            Some(Compression::None) if capabilities.compressions.contains(&Compression::None) => Compression::None,
            Some(Compression::None) => {
                tracing::warn!("the sender does not send uncompressed pages (to this receiver): zstd it is");
                Compression::Zstd
            }
            Some(Compression::Zstd) => Compression::Zstd,
            None => Compression::for_link(
                &[protocol::address::url_host(&socket_url)],
                engine::compress::this_machine().as_deref(),
                &capabilities,
            ),
        };
        Ok(Client {
            socket_url,
            compression,
            options,
            connection: RwLock::new(Arc::new(connection)),
            next_id: AtomicU64::new(2),
            capabilities,
        })
    }

    /// Connects again to a sender session this site already joined (a background job after a restart, or the
    /// browser handing its session to the server): the sender must still hold the session, and the previous
    /// socket must be gone ("still connected" is retried briefly).
    pub async fn connect_resuming(
        url: &str,
        resume_token: &str,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let socket_url = protocol::address::client_socket_url(url).map_err(ClientError::InvalidUrl)?;
        let connection = open_resuming(&socket_url, resume_token, &options).await?;
        Client::with(socket_url, options, connection).await
    }

    /// The token that lets this receiver back in after a drop (secret: whoever holds it is this receiver).
    pub async fn resume_token(&self) -> String {
        self.connection.read().await.resume_token.clone()
    }

    /// The sender's socket address this client uses.
    pub fn socket_url(&self) -> &str {
        &self.socket_url
    }

    /// Reconnects with the resume token after a drop (the sender may take a moment to notice the old socket is
    /// gone, so "still connected" refusals are retried briefly).
    pub async fn resume(&self) -> Result<(), ClientError> {
        let mut current = self.connection.write().await;
        if current.ended().is_none() {
            return Ok(());
        }
        let token = current.resume_token.clone();
        *current = Arc::new(open_resuming(&self.socket_url, &token, &self.options).await?);
        tracing::info!("resumed the connection to the sender");
        Ok(())
    }

    async fn request(&self, op: Operation) -> Result<Reply, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = self.connection.read().await.clone();
        connection.request(id, op).await
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, op: Operation) -> Result<T, ClientError> {
        let name = op.name();
        decode(name, self.request(op).await?)
    }

    pub async fn list_tables(&self) -> Result<Vec<TableInfo>, ClientError> {
        self.call(Operation::ListTables).await
    }

    pub async fn get_schema(&self, table: &str) -> Result<TableSchema, ClientError> {
        let schema: TableSchema = self.call(Operation::Schema { table: table.into() }).await?;
        if schema.name != table {
            return Err(ClientError::Protocol(format!("asked for the schema of {table:?}, got {:?}", schema.name)));
        }
        Ok(schema)
    }

    pub async fn get_count(&self, table: &str) -> Result<i64, ClientError> {
        self.call(Operation::Count { table: table.into() }).await
    }

    /// The sender's content checksum of a table: `(sha256, rows)`.
    pub async fn checksum(&self, table: &str) -> Result<(String, u64), ClientError> {
        let ChecksumReply { sha256, rows } = self.call(Operation::Checksum { table: table.into() }).await?;
        Ok((sha256, rows))
    }

    /// What the sender serves (`docs/protocol.md`): its engine, operations, page formats and limits
    /// (`max_page_rows`, `max_page_bytes`), as it said at connect.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// How this client's pages travel: as asked in [`ClientOptions::compression`], or chosen at connect.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Whether the sender offers binary COPY pages ([`PageFormat::PgCopy`]): a PostgreSQL sender of this
    /// version (its capabilities list them; an older sender's do not).
    pub async fn sender_offers_pg_copy(&self) -> bool {
        self.capabilities.offers(PageFormat::PgCopy)
    }

    /// One page as it travels (compressed, not decoded).
    pub async fn fetch_raw(&self, table: &str, options: &FetchOptions) -> Result<RawPage, ClientError> {
        self.fetch_raw_as(table, options, PageFormat::Binary).await
    }

    /// [`Client::fetch_raw`] in a given format (`Binary` or `PgCopy`; `Json` pages are not raw).
    pub async fn fetch_raw_as(
        &self,
        table: &str,
        options: &FetchOptions,
        format: PageFormat,
    ) -> Result<RawPage, ClientError> {
        match self.request(fetch_op(table, options, format, self.compression)).await? {
            Reply::Page(p) if p.has_more && p.next.is_none() => {
                Err(ClientError::Protocol("a page with more to come but no cursor".into()))
            }
            Reply::Page(p) => Ok(p),
            Reply::Json(_) => Err(ClientError::Protocol("a reply where a page was expected".into())),
        }
    }

    /// One page as JSON (for previews: at most [`protocol::messages::MAX_JSON_PAGE_ROWS`] rows, no credit used).
    pub async fn fetch_json(&self, table: &str, options: &FetchOptions) -> Result<JsonPage, ClientError> {
        self.call(fetch_op(table, options, PageFormat::Json, Compression::Zstd)).await
    }

    /// One page of records, decoded (hostile-safe, size-capped).
    pub async fn fetch_records(&self, table: &str, options: &FetchOptions) -> Result<Records, ClientError> {
        let raw = self.fetch_raw(table, options).await?;
        let records = Page::decompress(&raw.bytes).map_err(|e| ClientError::Protocol(format!("a bad page: {e}")))?;
        if records.rows.len() != raw.rows {
            return Err(ClientError::Protocol(format!(
                "the header said {} rows, the page holds {}",
                raw.rows,
                records.rows.len()
            )));
        }
        Ok(Records { records, has_more: raw.has_more, next: raw.next })
    }

    /// Closes the connection (normal closure).
    pub async fn disconnect(self) {
        let connection = self.connection.read().await.clone();
        connection.close();
        // Let the close frame go out before the runtime may stop.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
