//! A scripted fake sender: a real WebSocket server on port 0 in the test process that speaks protocol v1
//! (`docs/protocol.md`) as a hostile sender would — crafted welcomes, schemas, pages and pg_copy streams — so a
//! receiver (the CLI, a background job) can be shown refusing each with the reason. Any credential is admitted
//! (unless the script refuses every connection); every connection (a resume included) is served the same script
//! from its start.

use engine::compress::PageCompression;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use protocol::messages::{ClientMessage, Operation};
use serde_json::{Value as J, json};

/// What the fake sends for one `fetch`.
#[derive(Clone)]
pub enum Answer {
    /// A `page` header (`rows`, `has_more`, `next`, `bytes` as given; the id is filled in) and a binary frame of the
    /// id and `body`.
    Page { header: J, body: Vec<u8> },
    /// An `error` reply with this code and message.
    Error { code: &'static str, message: String },
}

impl Answer {
    /// A page as an honest sender would send `body`: the header says `rows` and `body.len()`, no more pages.
    pub fn page(rows: usize, body: Vec<u8>) -> Answer {
        Answer::Page { header: json!({"rows": rows, "has_more": false, "next": null, "bytes": body.len()}), body }
    }
}

/// One table the fake offers.
#[derive(Clone)]
pub struct FakeTable {
    pub name: String,
    /// The `schema` reply, as JSON (hostile ones included).
    pub schema: J,
    pub count: i64,
    /// The answers to this table's fetches, in order; past the last, a `bad_request` error.
    pub fetches: Vec<Answer>,
}

impl FakeTable {
    /// `name (id bigint PRIMARY KEY, v bigint)` on PostgreSQL, with these answers.
    pub fn keyed(name: &str, count: i64, fetches: Vec<Answer>) -> FakeTable {
        FakeTable { name: name.into(), schema: keyed_schema(name, &["id", "v"]), count, fetches }
    }
}

/// A PostgreSQL table schema as a sender sends it: bigint columns, the first the primary key.
pub fn keyed_schema(name: &str, columns: &[&str]) -> J {
    let columns: Vec<J> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"name": c, "data_type": "bigint", "kind": "int", "nullable": i != 0, "default": null,
                   "identity": null, "generated": null})
        })
        .collect();
    json!({"name": name, "dialect": "postgres", "columns": columns, "primary_key": ["id"], "unique_constraints": [],
           "foreign_keys": [], "indexes": []})
}

/// An HTTP refusal of every connection, before the upgrade.
#[derive(Clone)]
pub struct Refusal {
    pub status: u16,
    /// The `dbt-refusal` header (`protocol::messages::RefusalCode`), if any.
    pub code: Option<&'static str>,
    pub body: String,
}

/// The whole script of a fake sender.
#[derive(Clone)]
pub struct Script {
    /// Refuses every connection so; `None`: admits any credential.
    pub refusal: Option<Refusal>,
    /// The reply to hello; `None`: a proper welcome.
    pub welcome: Option<J>,
    /// The `capabilities` reply; by default binary pages only (no pg_copy).
    pub capabilities: J,
    /// The `checksum` reply for every table; `None`: a `bad_request` error.
    pub checksum: Option<J>,
    pub tables: Vec<FakeTable>,
}

impl Script {
    pub fn new(tables: Vec<FakeTable>) -> Script {
        Script { refusal: None, welcome: None, capabilities: capabilities(false), checksum: None, tables }
    }

    /// Offers `pg_copy` pages, as a PostgreSQL sender does.
    pub fn with_pg_copy(mut self) -> Script {
        self.capabilities = capabilities(true);
        self
    }
}

/// A PostgreSQL sender's capabilities, as an honest sender of this version sends them (`pg_copy` listed or not).
pub fn capabilities(pg_copy: bool) -> J {
    let formats = if pg_copy { json!(["binary", "json", "pg_copy"]) } else { json!(["binary", "json"]) };
    json!({"protocol": 1, "engine": "PostgreSQL", "page_encoding": "dbt-page-v1+zstd",
           "operations": protocol::messages::OPERATIONS, "max_page_rows": 100000, "max_page_bytes": 8388608,
           "filters": ["all", "key_range", "keys"], "page_formats": formats})
}

struct Shared {
    script: Script,
    connections: AtomicUsize,
    fetches: AtomicUsize,
}

/// A running fake sender; stops when dropped.
pub struct HostileSender {
    /// Its address as an admin would type it (`http://127.0.0.1:port`).
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileSender {
    pub async fn start(script: Script) -> HostileSender {
        let shared = Arc::new(Shared { script, connections: AtomicUsize::new(0), fetches: AtomicUsize::new(0) });
        let app = Router::new().route("/db-transfer/websocket", get(upgrade)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        HostileSender { url, shared, task }
    }

    /// WebSocket connections it admitted (a resume is one more).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// `fetch` requests it answered.
    pub fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for HostileSender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    if let Some(Refusal { status, code, body }) = shared.script.refusal.clone() {
        let mut response = (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response();
        if let Some(code) = code {
            response.headers_mut().insert(protocol::messages::REFUSAL_HEADER, code.parse().unwrap());
        }
        return response;
    }
    shared.connections.fetch_add(1, Ordering::SeqCst);
    // Large frames out are the point; nothing large comes in.
    ws.protocols([protocol::messages::SUBPROTOCOL]).on_upgrade(move |socket| serve(socket, shared))
}

async fn serve(mut socket: WebSocket, shared: Arc<Shared>) {
    let script = &shared.script;
    let Some(Ok(Message::Text(_hello))) = socket.recv().await else {
        return;
    };
    let welcome = script.welcome.clone().unwrap_or_else(|| {
        json!({"type": "welcome", "version": 1, "receiver_id": "hostile", "resume_token": "hostile-token", "credits": 4,
               "max_credits": 64, "max_message_bytes": 65536})
    });
    if send_json(&mut socket, &welcome).await.is_err() {
        return;
    }
    let mut answered: HashMap<String, usize> = HashMap::new();
    while let Some(Ok(message)) = socket.recv().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(ClientMessage::Request { id, op }) = serde_json::from_str::<ClientMessage>(text.as_str()) else {
            continue;
        };
        let table = |name: &str| script.tables.iter().find(|t| t.name == name);
        let reply = match op {
            Operation::Capabilities => response(id, script.capabilities.clone()),
            Operation::Ping => response(id, json!("pong")),
            Operation::ListTables => response(
                id,
                script.tables.iter().map(|t| json!({"name": t.name, "rows": t.count, "rows_exact": true})).collect(),
            ),
            Operation::Schema { table: name } => match table(&name) {
                Some(t) => response(id, t.schema.clone()),
                None => not_found(id, &name),
            },
            Operation::Count { table: name } => match table(&name) {
                Some(t) => response(id, json!(t.count)),
                None => not_found(id, &name),
            },
            Operation::Fetch { table: name, .. } => match table(&name) {
                Some(t) => {
                    shared.fetches.fetch_add(1, Ordering::SeqCst);
                    let n = answered.entry(name.clone()).or_default();
                    let answer = t.fetches.get(*n).cloned();
                    *n += 1;
                    match answer {
                        Some(Answer::Page { mut header, body }) => {
                            header["type"] = json!("page");
                            header["id"] = json!(id);
                            let frame = [id.to_le_bytes().as_slice(), &body].concat();
                            vec![Message::Text(header.to_string().into()), Message::Binary(frame.into())]
                        }
                        Some(Answer::Error { code, message }) => error(id, code, &message),
                        None => error(id, "bad_request", "no more pages in this script"),
                    }
                }
                None => not_found(id, &name),
            },
            Operation::Checksum { .. } => match &script.checksum {
                Some(reply) => response(id, reply.clone()),
                None => error(id, "bad_request", "no checksums here"),
            },
        };
        for m in reply {
            if socket.send(m).await.is_err() {
                return;
            }
        }
    }
}

async fn send_json(socket: &mut WebSocket, value: &J) -> Result<(), axum::Error> {
    socket.send(Message::Text(value.to_string().into())).await
}

fn response(id: u64, result: J) -> Vec<Message> {
    vec![Message::Text(json!({"type": "response", "id": id, "result": result}).to_string().into())]
}

fn error(id: u64, code: &str, message: &str) -> Vec<Message> {
    vec![Message::Text(json!({"type": "error", "id": id, "code": code, "message": message}).to_string().into())]
}

fn not_found(id: u64, name: &str) -> Vec<Message> {
    error(id, "table_not_found", &format!("table not found: {name:?}"))
}

/// A page's encoding of `columns` bigint columns claiming `rows` rows, then `body` (values as the encoding
/// writes them): for pages whose parts disagree.
pub fn crafted_page(columns: &[&str], rows: u64, body: &[u8]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut raw = b"DBTP\x01".to_vec();
    varint(&mut raw, columns.len() as u64);
    for c in columns {
        varint(&mut raw, c.len() as u64);
        raw.extend_from_slice(c.as_bytes());
        raw.push(protocol::ValueKind::Int.code());
        varint(&mut raw, 6);
        raw.extend_from_slice(b"bigint");
    }
    varint(&mut raw, rows);
    raw.extend_from_slice(body);
    raw
}

/// A decompression bomb: 200 columns × 60,000 rows of NULLs — about 10 KB compressed, 12 MB decompressed, and
/// 385 MB once decoded into values (what a receiver must refuse before allocating).
pub fn bomb_page() -> Vec<u8> {
    let columns: Vec<String> = (0..200).map(|i| if i == 0 { "id".to_owned() } else { format!("c{i}") }).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    engine::compress::compress_bytes(&crafted_page(&columns, 60_000, &vec![0u8; 60_000 * 200]))
}

/// A good page of `(id, v)` rows, compressed.
pub fn good_page(rows: &[(i64, i64)]) -> Vec<u8> {
    use protocol::{Page, PageColumn, Value, ValueKind};
    let column = |name: &str| PageColumn { name: name.into(), kind: ValueKind::Int, source_type: "bigint".into() };
    Page {
        columns: vec![column("id"), column("v")],
        rows: rows.iter().map(|&(a, b)| vec![Value::Int(a), Value::Int(b)]).collect(),
    }
    .compress()
}

/// A binary COPY stream of `(id, v)` bigint tuples, compressed like a page.
pub fn copy_page(rows: &[(i64, i64)]) -> Vec<u8> {
    let mut d = b"PGCOPY\n\xff\r\n\0".to_vec();
    d.extend_from_slice(&[0; 8]);
    for (a, b) in rows {
        d.extend_from_slice(&2i16.to_be_bytes());
        for v in [a, b] {
            d.extend_from_slice(&8i32.to_be_bytes());
            d.extend_from_slice(&v.to_be_bytes());
        }
    }
    d.extend_from_slice(&(-1i16).to_be_bytes());
    engine::compress::compress_bytes(&d)
}
