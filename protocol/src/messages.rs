//! The sender ↔ receiver WebSocket protocol, version 1 (`docs/protocol.md`): message types, error codes, limits,
//! and the wire forms of cursors, filters and receiver identities. Serde only, so the browser's receiver can
//! use the same definitions.

use serde::{Deserialize, Serialize};

use crate::page::{Page, PageColumn};
use crate::request::{Cursor, PageRequest, RowFilter};
use crate::value::{Value, ValueKind};

pub const PROTOCOL_VERSION: u32 = 1;
/// The WebSocket subprotocol a receiver asks for; with it, `code.XXXXXXXX` or `resume.TOKEN` carries the
/// credential, so it never appears in a URL or an access log.
pub const SUBPROTOCOL: &str = "dbt.v1";
pub const CODE_PROTOCOL_PREFIX: &str = "code.";
pub const RESUME_PROTOCOL_PREFIX: &str = "resume.";
/// Largest text message a receiver may send.
pub const MAX_TEXT_MESSAGE: usize = 64 * 1024;
/// Pages a receiver may have granted and not yet received.
pub const MAX_CREDITS: u32 = 64;
/// Credits a receiver starts with.
pub const INITIAL_CREDITS: u32 = 4;
/// Keys in one key-list filter.
pub const MAX_FILTER_KEYS: usize = 10_000;
pub const DEFAULT_PAGE_ROWS: u32 = 1000;
/// Close code 4000 + HTTP status: a refused connection, told to a browser (which cannot read the handshake's
/// status) in a close frame after the upgrade, e.g. 4409 for a used code.
pub const CLOSE_REFUSED_BASE: u16 = 4000;
/// Close code: the sender stopped this receiver (Disconnect, End all, the Send page closed, transfers switched
/// off).
pub const CLOSE_STOPPED: u16 = 4001;
/// Why the sender refuses a receiver (HTTP 403 at connect) or closes its socket (4001) while its system toggle
/// is off.
pub const TRANSFERS_OFF: &str = "transfers are switched off on this site";
/// The largest WebSocket message a receiver accepts from a sender: any page it would decode
/// ([`crate::page::MAX_PAGE_BYTES`] uncompressed), compressed at zstd's worst (which adds under 1/256), with the
/// 12-byte compressed header and the 8-byte request id. A sender cuts pages at [`PageRequest::MAX_PAGE_BYTES`]
/// of rows, far below; this leaves room for a row that is larger alone (a page holds at least one row).
pub const MAX_PAGE_FRAME: usize = crate::page::MAX_PAGE_BYTES + crate::page::MAX_PAGE_BYTES / 128 + 64 * 1024;
const _: () = assert!(MAX_PAGE_FRAME >= 4 * PageRequest::MAX_PAGE_BYTES);

/// Who is pulling: sent by the receiver at hello, shown on the sender's Send page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverInfo {
    pub site_url: String,
    pub project: String,
    pub user_name: String,
    pub user_email: String,
}

impl ReceiverInfo {
    /// Each field at most 256 characters, without control characters.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("site_url", &self.site_url),
            ("project", &self.project),
            ("user_name", &self.user_name),
            ("user_email", &self.user_email),
        ] {
            if value.chars().count() > 256 {
                return Err(format!("receiver.{name} is longer than 256 characters"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!("receiver.{name} contains control characters"));
            }
        }
        Ok(())
    }
}

/// A receiver as the Send page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverView {
    pub receiver_id: String,
    pub info: Option<ReceiverInfo>,
    pub client_ip: String,
    pub user_agent: String,
    pub connected_at: u64,
    pub last_activity: u64,
    pub connected: bool,
    pub tables_served: u64,
    pub rows_served: u64,
}

/// Receiver → sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message: the versions the receiver speaks and who it is.
    Hello {
        versions: Vec<u32>,
        receiver: ReceiverInfo,
    },
    /// Grants `n` more pages in flight.
    Credit {
        n: u32,
    },
    Request {
        id: u64,
        op: Operation,
    },
}

/// The names of every [`Operation`].
pub const OPERATIONS: &[&str] = &["capabilities", "list_tables", "schema", "count", "fetch", "checksum", "ping"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    Capabilities,
    ListTables,
    Schema {
        table: String,
    },
    Count {
        table: String,
    },
    /// A page: after `cursor` (keyset) or at `offset`; rows matching `filter`.
    Fetch {
        table: String,
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        cursor: Option<String>,
        #[serde(default)]
        offset: Option<u64>,
        #[serde(default)]
        filter: Option<WireFilter>,
        /// `binary` (default): a `page` message and a binary frame, against a credit. `json`: a plain `response`
        /// whose result is the page's JSON view with `has_more` and `next` — for previews, at most
        /// [`MAX_JSON_PAGE_ROWS`] rows, no credit used.
        #[serde(default)]
        format: PageFormat,
        /// How the page's bytes travel: `zstd` (default; not written, so a sender before this field reads the
        /// request); `none` only to a sender whose capabilities list it.
        #[serde(default, skip_serializing_if = "Compression::is_zstd")]
        compression: Compression,
    },
    /// A content hash of the whole table, for "same or different".
    Checksum {
        table: String,
    },
    Ping,
}

impl Operation {
    /// The operation's name as it travels (one of [`OPERATIONS`]).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Capabilities => "capabilities",
            Operation::ListTables => "list_tables",
            Operation::Schema { .. } => "schema",
            Operation::Count { .. } => "count",
            Operation::Fetch { .. } => "fetch",
            Operation::Checksum { .. } => "checksum",
            Operation::Ping => "ping",
        }
    }
}

/// How a fetched page travels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageFormat {
    #[default]
    Binary,
    Json,
    /// PostgreSQL binary COPY bytes of every column in schema order (zstd-framed like pages), for a PostgreSQL
    /// receiver whose table has the same column types: they go into `COPY … FROM STDIN (FORMAT binary)` as they
    /// are. Only a PostgreSQL sender serves it (capabilities list it), for tables with an integer, text or uuid
    /// key, walked by cursor without a filter.
    PgCopy,
}

/// How a page's bytes travel in its binary frame (`fetch.compression`; `capabilities.compressions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// zstd at its fastest level: a quarter of the bytes, for any network.
    #[default]
    Zstd,
    /// The bytes as they are: where the network costs nothing (loopback), compressing costs the sender more CPU
    /// than it saves ([`Compression::for_link`]).
    None,
}

impl Compression {
    pub fn is_zstd(&self) -> bool {
        *self == Compression::Zstd
    }

    fn from_name(name: &str) -> Option<Compression> {
        match name {
            "zstd" => Some(Compression::Zstd),
            "none" => Some(Compression::None),
            _ => None,
        }
    }

    /// What a receiver asks for by default: [`Compression::None`] when its pages never leave this machine —
    /// the sender says it runs on `machine` (its `capabilities.host` is this side's id, so a port forwarded
    /// through an SSH tunnel, whose far end is another machine, does not count) and every hop is addressed as
    /// loopback (`hosts`: `localhost`, `127.0.0.0/8`, `::1`) — and the sender serves it; otherwise zstd.
    pub fn for_link(hosts: &[&str], machine: Option<&str>, capabilities: &Capabilities) -> Compression {
        if !hosts.is_empty()
            && hosts.iter().all(|h| crate::address::is_loopback_host(h))
            && machine.is_some()
            && capabilities.host.as_deref() == machine
            && capabilities.compressions.contains(&Compression::None)
        {
            Compression::None
        } else {
            Compression::Zstd
        }
    }
}

/// Rows in one `json` page: previews are for eyes, bulk goes binary.
pub const MAX_JSON_PAGE_ROWS: u32 = 1000;

/// Filters as JSON: values are JSON scalars (numbers, strings, booleans, null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireFilter {
    #[default]
    All,
    KeyRange {
        #[serde(default)]
        from: Option<serde_json::Value>,
        #[serde(default)]
        to: Option<serde_json::Value>,
    },
    Keys {
        keys: Vec<Vec<serde_json::Value>>,
    },
}

impl WireFilter {
    pub fn to_filter(&self) -> Result<RowFilter, String> {
        Ok(match self {
            WireFilter::All => RowFilter::All,
            WireFilter::KeyRange { from, to } => RowFilter::KeyRange {
                from: from.as_ref().map(json_to_value).transpose()?,
                to: to.as_ref().map(json_to_value).transpose()?,
            },
            WireFilter::Keys { keys } => {
                if keys.len() > MAX_FILTER_KEYS {
                    return Err(format!("at most {MAX_FILTER_KEYS} keys per filter"));
                }
                RowFilter::Keys(
                    keys.iter()
                        .map(|k| k.iter().map(json_to_value).collect::<Result<Vec<_>, _>>())
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }
}

fn json_to_value(v: &serde_json::Value) -> Result<Value, String> {
    Ok(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().ok_or("number out of range")?),
        },
        serde_json::Value::String(s) => Value::Text(s.clone()),
        _ => return Err("filter values must be JSON scalars".into()),
    })
}

/// A cursor as an opaque string: hex of a one-row page holding the cursor values (decoded as hostile input).
pub fn encode_cursor(cursor: &Cursor) -> String {
    let columns = cursor
        .0
        .iter()
        .enumerate()
        .map(|(i, _)| PageColumn { name: format!("k{i}"), kind: ValueKind::Other, source_type: String::new() })
        .collect();
    crate::value::hex(&Page { columns, rows: vec![cursor.0.clone()] }.encode())
}

pub fn decode_cursor(text: &str) -> Result<Cursor, String> {
    let bytes = crate::value::unhex(text).ok_or("the cursor is not hex")?;
    let page = Page::decode(&bytes).map_err(|e| format!("bad cursor: {e}"))?;
    match <[Vec<Value>; 1]>::try_from(page.rows) {
        Ok([row]) => Ok(Cursor(row)),
        Err(_) => Err("bad cursor: one row expected".into()),
    }
}

/// Machine-readable error codes; each error also carries a human message. A code this receiver does not know (a
/// newer sender's) decodes as [`ErrorCode::Unknown`] rather than failing the whole message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a message of this protocol.
    BadMessage,
    MessageTooLarge,
    /// A request before hello, or a second hello.
    HelloFirst,
    UnsupportedVersion,
    UnknownOperation,
    TableNotFound,
    BadRequest,
    TooManyCredits,
    TooManyRequests,
    Internal,
    /// Any code not listed here (never sent by this sender).
    #[serde(other)]
    Unknown,
}

/// Sender → receiver (text frames). A page reply is a `page` message followed by one binary frame: the request
/// id (u64, little-endian) then the compressed page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        version: u32,
        receiver_id: String,
        resume_token: String,
        credits: u32,
        max_credits: u32,
        max_message_bytes: usize,
    },
    Response {
        id: u64,
        result: serde_json::Value,
    },
    Page {
        id: u64,
        rows: usize,
        has_more: bool,
        next: Option<String>,
        bytes: usize,
    },
    Error {
        id: Option<u64>,
        code: ErrorCode,
        message: String,
    },
}

/// How the sender encodes pages (`capabilities.page_encoding`).
pub const PAGE_ENCODING: &str = "dbt-page-v1+zstd";
/// The filters a sender of this version serves (`capabilities.filters`).
pub const FILTERS: &[&str] = &["all", "key_range", "keys"];

/// Which database a sender runs on, as `capabilities.engine` says it. On the wire the names senders have always
/// sent: `"PostgreSQL"`, `"SQLite"`. Any other string (a newer sender's engine, a hostile one) decodes as
/// [`EngineId::Other`] with the name (control characters dropped, at most 64 characters kept), never an error
/// and never the same engine as this side ([`EngineId::same_engine`]); a name that is not a string is an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum EngineId {
    Postgres,
    Sqlite,
    Other(String),
}

impl EngineId {
    pub const POSTGRES: &str = "PostgreSQL";
    pub const SQLITE: &str = "SQLite";

    /// The name as it travels (and as people read it).
    pub fn as_str(&self) -> &str {
        match self {
            EngineId::Postgres => Self::POSTGRES,
            EngineId::Sqlite => Self::SQLITE,
            EngineId::Other(name) => name,
        }
    }

    /// The engine of a wire name (exact, as senders send it).
    pub fn from_name(name: &str) -> EngineId {
        match name {
            Self::POSTGRES => EngineId::Postgres,
            Self::SQLITE => EngineId::Sqlite,
            other => EngineId::Other(other.chars().filter(|c| !c.is_control()).take(64).collect()),
        }
    }

    /// Whether both are the same known engine (so content checksums compare): an unknown engine never is.
    pub fn same_engine(&self, other: &EngineId) -> bool {
        !matches!(self, EngineId::Other(_)) && self == other
    }
}

impl From<String> for EngineId {
    fn from(name: String) -> EngineId {
        EngineId::from_name(&name)
    }
}

impl From<EngineId> for String {
    fn from(engine: EngineId) -> String {
        match engine {
            EngineId::Other(name) => name,
            known => known.as_str().to_owned(),
        }
    }
}

impl std::fmt::Display for EngineId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PageFormat::Binary => "binary",
            PageFormat::Json => "json",
            PageFormat::PgCopy => "pg_copy",
        }
    }

    /// The format of a wire name; `None` for one this receiver does not know.
    pub fn from_name(name: &str) -> Option<PageFormat> {
        [PageFormat::Binary, PageFormat::Json, PageFormat::PgCopy].into_iter().find(|f| f.as_str() == name)
    }
}

/// A reply's fields read one at a time, so a malformed reply is refused naming the field and what was wrong
/// (serde alone names a missing field but not the field of a wrong type). Fields it does not read are ignored:
/// a newer sender may add some.
struct Fields(serde_json::Map<String, serde_json::Value>);

impl Fields {
    fn required<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> Result<T, String> {
        let value = self.0.remove(name).ok_or_else(|| format!("missing field `{name}`"))?;
        serde_json::from_value(value).map_err(|e| format!("{name}: {e}"))
    }

    /// Absent and `null` are both `None`.
    fn optional<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, String> {
        match self.0.remove(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value).map(Some).map_err(|e| format!("{name}: {e}")),
        }
    }
}

/// The reply to `capabilities`: what the sender serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct Capabilities {
    /// The protocol version ([`PROTOCOL_VERSION`]).
    pub protocol: u32,
    pub engine: EngineId,
    /// [`PAGE_ENCODING`].
    pub page_encoding: String,
    /// The operations it serves ([`OPERATIONS`]).
    pub operations: Vec<String>,
    /// The filter kinds it serves ([`FILTERS`]).
    pub filters: Vec<String>,
    /// The largest `limit` of a `fetch` ([`PageRequest::MAX_LIMIT`]).
    pub max_page_rows: u32,
    /// Where a page is cut, in encoded bytes ([`PageRequest::MAX_PAGE_BYTES`]); senders before protocol
    /// hardening did not say (`None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_page_bytes: Option<u64>,
    /// The page formats it serves, those this receiver knows (unknown names are dropped); senders before binary
    /// COPY did not list them (empty: binary and json pages only, as every v1 sender serves).
    pub page_formats: Vec<PageFormat>,
    /// How it can send pages' bytes, those this receiver knows (unknown names are dropped); senders before
    /// uncompressed pages did not list them (empty: zstd only).
    pub compressions: Vec<Compression>,
    /// An opaque id of the machine the sender runs on (`engine::compress::this_machine`), for a receiver to
    /// tell whether it runs there too; `None` when the sender has none or is older.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Capabilities {
    /// What a sender of this version on `engine` serves: `pg_copy` pages only from PostgreSQL.
    pub fn of(engine: EngineId) -> Capabilities {
        let mut page_formats = vec![PageFormat::Binary, PageFormat::Json];
        if engine == EngineId::Postgres {
            page_formats.push(PageFormat::PgCopy);
        }
        Capabilities {
            protocol: PROTOCOL_VERSION,
            engine,
            page_encoding: PAGE_ENCODING.into(),
            operations: OPERATIONS.iter().map(|&o| o.to_owned()).collect(),
            filters: FILTERS.iter().map(|&f| f.to_owned()).collect(),
            max_page_rows: PageRequest::MAX_LIMIT,
            max_page_bytes: Some(PageRequest::MAX_PAGE_BYTES as u64),
            page_formats,
            compressions: vec![Compression::Zstd, Compression::None],
            host: None,
        }
    }

    /// Whether the sender serves pages in `format`: as listed; a sender that lists none (one before binary COPY)
    /// serves binary and json pages, as every v1 sender does.
    pub fn offers(&self, format: PageFormat) -> bool {
        self.page_formats.contains(&format) || (self.page_formats.is_empty() && format != PageFormat::PgCopy)
    }
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for Capabilities {
    type Error = String;

    fn try_from(map: serde_json::Map<String, serde_json::Value>) -> Result<Capabilities, String> {
        let mut f = Fields(map);
        let formats: Option<Vec<String>> = f.optional("page_formats")?;
        let compressions: Option<Vec<String>> = f.optional("compressions")?;
        Ok(Capabilities {
            protocol: f.required("protocol")?,
            engine: f.required("engine")?,
            page_encoding: f.required("page_encoding")?,
            operations: f.required("operations")?,
            filters: f.required("filters")?,
            max_page_rows: f.required("max_page_rows")?,
            max_page_bytes: f.optional("max_page_bytes")?,
            page_formats: formats.unwrap_or_default().iter().filter_map(|n| PageFormat::from_name(n)).collect(),
            compressions: compressions.unwrap_or_default().iter().filter_map(|n| Compression::from_name(n)).collect(),
            // Compared for equality only: anything but a short string of hex digits is no id.
            host: f
                .optional::<String>("host")?
                .filter(|h| !h.is_empty() && h.len() <= 64 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        })
    }
}

/// The reply to `checksum`: a SHA-256 (64 lowercase hex digits) over every row in key order, and how many rows
/// it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct ChecksumReply {
    pub sha256: String,
    pub rows: u64,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for ChecksumReply {
    type Error = String;

    fn try_from(map: serde_json::Map<String, serde_json::Value>) -> Result<ChecksumReply, String> {
        let mut f = Fields(map);
        let sha256: String = f.required("sha256")?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            let shown: String = sha256.chars().filter(|c| !c.is_control()).take(80).collect();
            return Err(format!("sha256: {shown:?} is not 64 lowercase hex digits"));
        }
        Ok(ChecksumReply { sha256, rows: f.required("rows")? })
    }
}

/// The reply to a `fetch` with `"format": "json"` (previews): the page's JSON view (`Page::to_json`: integers
/// beyond ±2^53 as strings, non-finite floats as strings, bytes as `{"hex": …}`), whether more rows follow, and the
/// cursor of the next page. Every row has one value per column; at most [`MAX_JSON_PAGE_ROWS`] rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct JsonPage {
    pub columns: Vec<PageColumn>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub has_more: bool,
    pub next: Option<String>,
}

impl JsonPage {
    pub fn from_page(page: &Page, has_more: bool, next: Option<String>) -> JsonPage {
        let rows = match page.to_json()["rows"].take() {
            serde_json::Value::Array(rows) => rows
                .into_iter()
                .map(|r| match r {
                    serde_json::Value::Array(values) => values,
                    _ => unreachable!("Page::to_json writes rows as arrays"),
                })
                .collect(),
            _ => unreachable!("Page::to_json writes rows"),
        };
        JsonPage { columns: page.columns.clone(), rows, has_more, next }
    }
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for JsonPage {
    type Error = String;

    fn try_from(map: serde_json::Map<String, serde_json::Value>) -> Result<JsonPage, String> {
        let mut f = Fields(map);
        let page = JsonPage {
            columns: f.required("columns")?,
            rows: f.required("rows")?,
            has_more: f.required("has_more")?,
            next: f.optional("next")?,
        };
        if page.rows.len() > MAX_JSON_PAGE_ROWS as usize {
            return Err(format!("rows: {} rows, at most {MAX_JSON_PAGE_ROWS}", page.rows.len()));
        }
        if let Some((i, row)) = page.rows.iter().enumerate().find(|(_, r)| r.len() != page.columns.len()) {
            return Err(format!("rows[{i}]: {} values for {} columns", row.len(), page.columns.len()));
        }
        if page.has_more && page.next.is_none() {
            return Err("has_more without a next cursor".into());
        }
        Ok(page)
    }
}

/// Why a sender refuses a connection, machine-readable. Sent in the [`REFUSAL_HEADER`] of an HTTP refusal,
/// beside the status and the human text of the body, so a receiver tells "transfers off" from a wrong code
/// without reading words. Browsers cannot read a refused handshake: they are told in a close frame, the status in
/// its code (4000 + status, [`CloseKind::Refused`]) and the text as its reason. A code this receiver does not know
/// reads as [`RefusalCode::Unknown`] (then the status decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// 400: not a WebSocket upgrade.
    NotWebsocket,
    /// 400: the subprotocol `dbt.v1` was not offered.
    UnsupportedProtocol,
    /// 401: neither `code.` nor `resume.` offered.
    MissingCode,
    /// 403: the sender's system toggle is off.
    TransfersOff,
    /// 403: no such code or resume token.
    InvalidCode,
    /// 409: the code already admitted a receiver (or the resumed receiver is still connected).
    CodeUsed,
    /// 410: the code expired.
    CodeExpired,
    /// 410: the Send page that issued it closed or ended its sessions.
    SessionEnded,
    /// 429: too many failed attempts from this address.
    RateLimited,
    /// 500.
    Internal,
    #[serde(other)]
    Unknown,
}

/// The HTTP header of a refusal that carries its [`RefusalCode`].
pub const REFUSAL_HEADER: &str = "dbt-refusal";

impl RefusalCode {
    /// The code as it travels (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::NotWebsocket => "not_websocket",
            RefusalCode::UnsupportedProtocol => "unsupported_protocol",
            RefusalCode::MissingCode => "missing_code",
            RefusalCode::TransfersOff => "transfers_off",
            RefusalCode::InvalidCode => "invalid_code",
            RefusalCode::CodeUsed => "code_used",
            RefusalCode::CodeExpired => "code_expired",
            RefusalCode::SessionEnded => "session_ended",
            RefusalCode::RateLimited => "rate_limited",
            RefusalCode::Internal => "internal",
            RefusalCode::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> RefusalCode {
        serde_json::from_value(serde_json::Value::String(text.trim().to_owned())).unwrap_or(RefusalCode::Unknown)
    }

    /// The HTTP status a sender refuses with.
    pub fn status(self) -> u16 {
        match self {
            RefusalCode::NotWebsocket | RefusalCode::UnsupportedProtocol | RefusalCode::Unknown => 400,
            RefusalCode::MissingCode => 401,
            RefusalCode::TransfersOff | RefusalCode::InvalidCode => 403,
            RefusalCode::CodeUsed => 409,
            RefusalCode::CodeExpired | RefusalCode::SessionEnded => 410,
            RefusalCode::RateLimited => 429,
            RefusalCode::Internal => 500,
        }
    }
}

/// What a close code from a sender means; the close reason is text for people, never matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// 1000.
    Normal,
    /// 1005 or 1006: no close frame (the connection broke, or a browser's handshake failed).
    Abnormal,
    /// 1009: a frame over the WebSocket layer's limit.
    TooLarge,
    /// [`CLOSE_STOPPED`] (4001): the sender stopped this receiver (Disconnect, End all, the Send page closed,
    /// transfers switched off); not to be resumed.
    Stopped,
    /// [`CLOSE_REFUSED_BASE`] + an HTTP status (400–599): the connection was refused after the upgrade (told to
    /// browsers, which cannot read a refused handshake).
    Refused {
        status: u16,
    },
    Other(u16),
}

impl CloseKind {
    pub fn from_code(code: u16) -> CloseKind {
        match code {
            1000 => CloseKind::Normal,
            1005 | 1006 => CloseKind::Abnormal,
            1009 => CloseKind::TooLarge,
            CLOSE_STOPPED => CloseKind::Stopped,
            c if (CLOSE_REFUSED_BASE + 400..CLOSE_REFUSED_BASE + 600).contains(&c) => {
                CloseKind::Refused { status: c - CLOSE_REFUSED_BASE }
            }
            c => CloseKind::Other(c),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            CloseKind::Normal => 1000,
            CloseKind::Abnormal => 1006,
            CloseKind::TooLarge => 1009,
            CloseKind::Stopped => CLOSE_STOPPED,
            CloseKind::Refused { status } => CLOSE_REFUSED_BASE + status,
            CloseKind::Other(c) => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_documented_shape() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"request","id":3,"op":{"name":"schema","table":"users"}}"#).unwrap();
        assert_eq!(m, ClientMessage::Request { id: 3, op: Operation::Schema { table: "users".into() } });
        assert!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"request","id":3,"op":{"name":"drop_all"}}"#).is_err()
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"credit","n":1,"extra":true}"#).is_err());
        let e = serde_json::to_value(ServerMessage::Error {
            id: Some(1),
            code: ErrorCode::TableNotFound,
            message: "x".into(),
        })
        .unwrap();
        assert_eq!(e["code"], "table_not_found");
    }

    #[test]
    fn capabilities_decode_typed_and_malformed_ones_are_refused_naming_the_field() {
        let caps = Capabilities::of(EngineId::Postgres);
        let wire = serde_json::to_value(&caps).unwrap();
        assert_eq!(wire["engine"], "PostgreSQL", "the name senders have always sent");
        assert_eq!(wire["page_formats"], serde_json::json!(["binary", "json", "pg_copy"]));
        assert_eq!(wire["max_page_bytes"], PageRequest::MAX_PAGE_BYTES);
        assert_eq!(serde_json::from_value::<Capabilities>(wire.clone()).unwrap(), caps);
        assert!(caps.offers(PageFormat::PgCopy));
        let sqlite = Capabilities::of(EngineId::Sqlite);
        assert!(sqlite.offers(PageFormat::Binary) && !sqlite.offers(PageFormat::PgCopy));

        // Unknown engines and formats are tolerated; extra fields are ignored.
        let mut newer = wire.clone();
        newer["engine"] = "MySQL\u{7}".into();
        newer["page_formats"] = serde_json::json!(["arrow", "pg_copy"]);
        newer["shiny"] = true.into();
        let newer: Capabilities = serde_json::from_value(newer).unwrap();
        assert_eq!(newer.engine, EngineId::Other("MySQL".into()));
        assert!(!newer.engine.same_engine(&EngineId::Other("MySQL".into())));
        assert!(EngineId::Postgres.same_engine(&EngineId::from_name("PostgreSQL")));
        assert_eq!(newer.page_formats, [PageFormat::PgCopy]);
        assert!(!newer.offers(PageFormat::Json));
        // An older sender: no page formats, no page bytes.
        let mut older = wire.clone();
        older.as_object_mut().unwrap().remove("page_formats");
        older.as_object_mut().unwrap().remove("max_page_bytes");
        let older: Capabilities = serde_json::from_value(older).unwrap();
        assert!(
            older.offers(PageFormat::Binary) && older.offers(PageFormat::Json) && !older.offers(PageFormat::PgCopy)
        );
        assert_eq!(older.max_page_bytes, None);

        let refused = |field: &str, value: serde_json::Value| {
            let mut bad = wire.clone();
            match value {
                serde_json::Value::Null => bad.as_object_mut().unwrap().remove(field),
                v => bad.as_object_mut().unwrap().insert(field.into(), v),
            };
            serde_json::from_value::<Capabilities>(bad).unwrap_err().to_string()
        };
        assert_eq!(refused("engine", 7.into()), "engine: invalid type: integer `7`, expected a string");
        assert_eq!(refused("engine", serde_json::Value::Null), "missing field `engine`");
        assert_eq!(
            refused("page_formats", "pg_copy".into()),
            "page_formats: invalid type: string \"pg_copy\", expected a sequence"
        );
        assert!(refused("max_page_rows", (-1).into()).starts_with("max_page_rows: invalid value: integer `-1`"));
        assert!(serde_json::from_value::<Capabilities>("pong".into()).is_err());
    }

    #[test]
    fn pages_travel_uncompressed_only_on_this_machine_and_only_from_a_sender_that_serves_it() {
        let caps = Capabilities::of(EngineId::Sqlite);
        let wire = serde_json::to_value(&caps).unwrap();
        assert_eq!(wire["compressions"], serde_json::json!(["zstd", "none"]));
        let mut older = wire.clone();
        older.as_object_mut().unwrap().remove("compressions");
        let older: Capabilities = serde_json::from_value(older).unwrap();
        assert!(older.compressions.is_empty(), "a sender before uncompressed pages: zstd only");
        let mut newer = wire.clone();
        newer["compressions"] = serde_json::json!(["lz4", "none"]);
        assert_eq!(serde_json::from_value::<Capabilities>(newer).unwrap().compressions, [Compression::None]);

        let caps = Capabilities { host: Some("ab12".into()), ..caps };
        let wire = serde_json::to_value(&caps).unwrap();
        assert_eq!(serde_json::from_value::<Capabilities>(wire.clone()).unwrap(), caps);
        let mut odd = wire.clone();
        odd["host"] = "not hex!".into();
        assert_eq!(serde_json::from_value::<Capabilities>(odd).unwrap().host, None);
        let local = ["127.0.0.1:3000", "localhost:3100"];
        let here = Some("ab12");
        assert_eq!(Compression::for_link(&local, here, &caps), Compression::None);
        // A forwarded port (an SSH tunnel) is loopback here, but the sender runs on another machine.
        assert_eq!(Compression::for_link(&local, Some("cd34"), &caps), Compression::Zstd);
        assert_eq!(Compression::for_link(&local, None, &caps), Compression::Zstd);
        assert_eq!(
            Compression::for_link(&local, here, &Capabilities { host: None, ..caps.clone() }),
            Compression::Zstd
        );
        assert_eq!(Compression::for_link(&["127.0.0.1:3000", "receiver.example.com"], here, &caps), Compression::Zstd);
        assert_eq!(
            Compression::for_link(&local, here, &Capabilities { host: here.map(str::to_owned), ..older }),
            Compression::Zstd
        );
        assert_eq!(Compression::for_link(&[], here, &caps), Compression::Zstd);

        // A fetch asking zstd (the default) is written as before, so a sender before this field reads it.
        let fetch = |compression| Operation::Fetch {
            table: "t".into(),
            limit: None,
            cursor: None,
            offset: None,
            filter: None,
            format: PageFormat::PgCopy,
            compression,
        };
        let zstd = serde_json::to_value(fetch(Compression::Zstd)).unwrap();
        assert!(zstd.get("compression").is_none(), "{zstd}");
        let none = serde_json::to_value(fetch(Compression::None)).unwrap();
        assert_eq!(none["compression"], "none");
        assert_eq!(serde_json::from_value::<Operation>(none).unwrap(), fetch(Compression::None));
        assert!(
            serde_json::from_value::<Operation>(
                serde_json::json!({"name": "fetch", "table": "t", "compression": "lz4"})
            )
            .is_err()
        );
    }

    #[test]
    fn checksums_and_json_pages_decode_typed_and_malformed_ones_are_refused() {
        let sha = "ab".repeat(32);
        let c: ChecksumReply = serde_json::from_value(serde_json::json!({"sha256": sha, "rows": 3})).unwrap();
        assert_eq!(c, ChecksumReply { sha256: sha.clone(), rows: 3 });
        let bad = |v: serde_json::Value| serde_json::from_value::<ChecksumReply>(v).unwrap_err().to_string();
        assert_eq!(bad(serde_json::json!({"sha256": sha})), "missing field `rows`");
        assert_eq!(
            bad(serde_json::json!({"sha256": 5, "rows": 3})),
            "sha256: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            bad(serde_json::json!({"sha256": "zz", "rows": 3})),
            "sha256: \"zz\" is not 64 lowercase hex digits"
        );
        assert_eq!(
            bad(serde_json::json!({"sha256": sha, "rows": "3"})),
            "rows: invalid type: string \"3\", expected u64"
        );

        let page = Page {
            columns: vec![PageColumn { name: "id".into(), kind: ValueKind::Int, source_type: "bigint".into() }],
            rows: vec![vec![Value::Int(1)], vec![Value::Int(i64::MAX)]],
        };
        let json = JsonPage::from_page(&page, true, Some("00".into()));
        let wire = serde_json::to_value(&json).unwrap();
        let mut legacy = page.to_json();
        legacy["has_more"] = true.into();
        legacy["next"] = "00".into();
        assert_eq!(wire, legacy, "the wire form is the page's JSON view plus has_more and next");
        assert_eq!(serde_json::from_value::<JsonPage>(wire.clone()).unwrap(), json);
        let mut ragged = wire.clone();
        ragged["rows"][1] = serde_json::json!([1, 2]);
        assert_eq!(
            serde_json::from_value::<JsonPage>(ragged).unwrap_err().to_string(),
            "rows[1]: 2 values for 1 columns"
        );
        let mut endless = wire.clone();
        endless["next"] = serde_json::Value::Null;
        assert_eq!(
            serde_json::from_value::<JsonPage>(endless).unwrap_err().to_string(),
            "has_more without a next cursor"
        );
    }

    #[test]
    fn refusal_codes_close_kinds_and_unknown_error_codes() {
        assert_eq!(RefusalCode::parse("transfers_off"), RefusalCode::TransfersOff);
        assert_eq!(RefusalCode::parse("no_such_code"), RefusalCode::Unknown);
        for code in [RefusalCode::TransfersOff, RefusalCode::InvalidCode, RefusalCode::SessionEnded] {
            assert_eq!(RefusalCode::parse(code.as_str()), code);
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(CloseKind::from_code(4001), CloseKind::Stopped);
        assert_eq!(CloseKind::from_code(4403), CloseKind::Refused { status: 403 });
        assert_eq!(CloseKind::from_code(4002), CloseKind::Other(4002));
        assert_eq!(CloseKind::Refused { status: 409 }.code(), 4409);
        let e: ServerMessage =
            serde_json::from_str(r#"{"type":"error","id":1,"code":"from_the_future","message":"x"}"#).unwrap();
        assert_eq!(e, ServerMessage::Error { id: Some(1), code: ErrorCode::Unknown, message: "x".into() });
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor(vec![Value::Int(-5), Value::Text("é".into()), Value::Bytes(vec![0, 255])]);
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c);
        for bad in ["", "zz", "00", "4442545001"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
