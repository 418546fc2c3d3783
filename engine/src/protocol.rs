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
    },
    /// A content hash of the whole table, for "same or different".
    Checksum {
        table: String,
    },
    Ping,
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

/// Rows in one `json` page: previews are for eyes, bulk goes binary.
pub const MAX_JSON_PAGE_ROWS: u32 = 1000;

/// Filters as JSON: values are JSON scalars (numbers, strings, booleans, null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireFilter {
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

/// Machine-readable error codes; each error also carries a human message.
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
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor(vec![Value::Int(-5), Value::Text("é".into()), Value::Bytes(vec![0, 255])]);
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c);
        for bad in ["", "zz", "00", "4442545001"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
