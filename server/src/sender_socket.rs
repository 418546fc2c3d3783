//! The sender's WebSocket endpoint, `/db-transfer/websocket` (protocol v1, `docs/protocol.md`). The credential
//! (a connection code or a resume token) travels as a WebSocket subprotocol, so it never appears in a URL or an
//! access log, and is checked before the upgrade: refusals are plain HTTP errors a browser can report. Sockets
//! of other origins are welcome (the receiver's site); the code is the authentication.
//!
//! Per socket: a reader that validates every message and answers bad ones with an error while the socket keeps
//! serving, a worker that runs requests in order (a page is sent only against a credit the receiver granted, so
//! a slow receiver never makes the sender buffer), and a writer. A stop signal from the registry (Disconnect,
//! End all, the Send page closed, transfers switched off here) closes the socket at once, mid-transfer included,
//! and nothing queued goes out after it. The persisted toggle is read again before each request and each reply
//! and at every ping, so switching transfers off on another replica of the same database closes it too.
//! The socket is pinged every [`Liveness::ping_every`](sender::Liveness); one silent for
//! `dead_after` (a dead receiver, a half-open connection) is dropped and its receiver may resume. So is one that
//! takes nothing of a frame for `dead_after`, whatever it sends meanwhile (it may grant credits, never read and
//! keep sending pongs to look alive, while its queued pages stay pinned in memory): every frame must go out
//! within that bound (60 s by default: an 8 MiB page needs at least 140 KB/s).

use std::collections::HashMap;
use std::sync::Arc;

use app::session::ClientIp;
use app::state::AppState;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use engine::{EngineError, TableSchema};
use futures_util::{SinkExt, StreamExt};
use protocol::messages::{
    self, Capabilities, ChecksumReply, ClientMessage, CloseKind, Compression, ErrorCode, INITIAL_CREDITS, JsonPage,
    MAX_CREDITS, MAX_JSON_PAGE_ROWS, MAX_TEXT_MESSAGE, Operation, PROTOCOL_VERSION, PageFormat, REFUSAL_HEADER,
    RefusalCode, SUBPROTOCOL, ServerMessage,
};
use protocol::{PageRequest, Position};
use sender::{Admission, ConnectionCode, Refusal};
use tokio::sync::{Semaphore, mpsc};

pub const PATH: &str = "/db-transfer/websocket";
/// Frames past this are refused by the WebSocket layer itself (close code 1009).
const MAX_FRAME: usize = 1024 * 1024;
/// Requests queued behind the one running.
const MAX_QUEUED: usize = 64;

pub fn routes(state: AppState) -> Router {
    Router::new().route(PATH, get(upgrade)).with_state(state)
}

/// An HTTP refusal: the status, the code in [`REFUSAL_HEADER`] (what a receiver matches on) and the text (what
/// people read).
fn refuse(code: RefusalCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::HeaderName::from_static(REFUSAL_HEADER), code.as_str()),
    ];
    (status, headers, message.to_owned()).into_response()
}

async fn upgrade(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else { return refuse(RefusalCode::NotWebsocket, "not a WebSocket upgrade request") };
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .collect();
    if !offered.iter().any(|p| p == SUBPROTOCOL) {
        return refuse(
            RefusalCode::UnsupportedProtocol,
            "unsupported protocol: the receiver must ask for subprotocol dbt.v1",
        );
    }
    // A browser cannot read the status of a refused handshake (it only sees "failed", close 1006), so a browser
    // (it always sends Origin) is admitted and told why at once in a close frame: code 4000 + the HTTP status.
    let browser = headers.contains_key(header::ORIGIN);
    match admit(&state, ip, &headers, &offered).await {
        Ok(admission) => ws
            .protocols([SUBPROTOCOL])
            .max_message_size(MAX_FRAME)
            .on_upgrade(move |socket| serve(socket, state, admission, ip.is_loopback())),
        Err((code, message)) if browser => ws.protocols([SUBPROTOCOL]).on_upgrade(move |mut socket| async move {
            let frame =
                CloseFrame { code: CloseKind::Refused { status: code.status() }.code(), reason: message.into() };
            let _ = socket.send(Message::Close(Some(frame))).await;
            // Wait (briefly) for the browser's own close: dropping at once may reset a connection with unread data
            // (its hello), and the page would see 1006 instead of the reason.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
                while let Some(Ok(m)) = socket.recv().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }),
        Err((code, message)) => refuse(code, &message),
    }
}

/// Checks the toggle, the rate limit and the credential; the error is the refusal's code (and so its HTTP status)
/// and what the receiver reads.
async fn admit(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    offered: &[String],
) -> Result<Admission, (RefusalCode, String)> {
    match appdata::settings::transfers_enabled(&state.db).await {
        Ok(true) => {}
        Ok(false) => return Err((RefusalCode::TransfersOff, messages::TRANSFERS_OFF.into())),
        Err(e) => {
            tracing::error!(error = %e, "reading the system toggle");
            return Err((RefusalCode::Internal, "internal error on the sender".into()));
        }
    }
    if let Err(wait) = state.code_limiter.check(ip) {
        return Err((
            RefusalCode::RateLimited,
            format!("too many failed attempts; try again in {} s", wait.as_secs().max(1)),
        ));
    }
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let admission = if let Some(code) = offered.iter().find_map(|p| p.strip_prefix(messages::CODE_PROTOCOL_PREFIX)) {
        ConnectionCode::parse(code)
            .map_err(|_| Refusal::Unknown)
            .and_then(|code| state.sender.redeem(&code, &ip.to_string(), &user_agent))
    } else if let Some(token) = offered.iter().find_map(|p| p.strip_prefix(messages::RESUME_PROTOCOL_PREFIX)) {
        state.sender.resume(token, &ip.to_string())
    } else {
        return Err((RefusalCode::MissingCode, "missing connection code".into()));
    };
    match admission {
        Ok(a) => {
            state.code_limiter.record_success(ip);
            tracing::info!(%ip, receiver = %a.receiver_id, "receiver admitted");
            Ok(a)
        }
        Err(refusal) => {
            if refusal == Refusal::Unknown {
                state.code_limiter.record_failure(ip);
                tracing::warn!(%ip, "refused an unknown connection code");
            }
            Err((refusal.code(), refusal.message().to_owned()))
        }
    }
}

fn error(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error { id, code, message: message.into() }
}

/// The error for a message that did not parse: `unknown_operation` for a well-formed request naming an
/// operation this sender does not have, `bad_message` for everything else.
fn unparsable(raw: &str, e: serde_json::Error) -> ServerMessage {
    let value: Option<serde_json::Value> = serde_json::from_str(raw).ok();
    let request = value.as_ref().filter(|v| v["type"] == "request");
    let id = request.and_then(|v| v["id"].as_u64());
    match request.and_then(|v| v["op"]["name"].as_str()) {
        Some(name) if !messages::OPERATIONS.contains(&name) => error(
            id,
            ErrorCode::UnknownOperation,
            format!("unknown operation {:?}", name.chars().take(40).collect::<String>()),
        ),
        _ => error(id, ErrorCode::BadMessage, format!("not a protocol message: {e}")),
    }
}

fn text(msg: &ServerMessage) -> Message {
    Message::Text(serde_json::to_string(msg).expect("server messages serialize").into())
}

/// Why a receiver's socket ends.
enum Ending {
    /// The sender stops it (Disconnect, End all, the Send page closed, transfers switched off): close 4001 with
    /// the reason, ahead of anything still queued.
    Stopped(String),
    /// The receiver closed it, or the connection broke.
    Gone,
    /// Nothing came from the receiver within the liveness bound (no pong, no message; or no hello): a dead peer
    /// or a half-open connection. Dropped without a word, since nothing may reach it.
    Silent,
    /// A frame did not go out within the liveness bound: the receiver reads nothing (whatever it sends). The
    /// writer has given up; dropped without a word.
    Stuck,
}

/// How a socket's writer ended.
enum Written {
    /// Its queues closed, or it sent the close frame.
    Done,
    /// The connection broke.
    Broken,
    /// A frame did not go out within the bound.
    Stuck,
}

/// How long a stopped socket's close frame may take to go out before the connection is dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// `local_peer`: the receiver connected from this machine (only such a receiver is sent uncompressed pages).
async fn serve(socket: WebSocket, state: AppState, admission: Admission, local_peer: bool) {
    let Admission { session_id, receiver_id, resume_token, mut stop } = admission;
    let liveness = state.sender.liveness();
    let (sink, mut stream) = socket.split();
    let (out, outgoing) = mpsc::channel::<Message>(16);
    // Pings and the close frame go ahead of queued replies and pages.
    let (control, controls) = mpsc::channel::<Message>(4);
    let mut writer = tokio::spawn(write(sink, controls, outgoing, liveness.dead_after));
    let credits = Arc::new(Semaphore::new(INITIAL_CREDITS as usize));
    let (queue, requests) = mpsc::channel::<(u64, Operation)>(MAX_QUEUED);
    let (switched_off, mut off) = mpsc::channel::<()>(1);
    let worker = tokio::spawn(work(
        state.clone(),
        session_id.clone(),
        receiver_id.clone(),
        requests,
        credits.clone(),
        out.clone(),
        switched_off,
        local_peer,
    ));
    let mut hello_done = false;
    let opened = tokio::time::Instant::now();
    let mut last_heard = opened;
    let mut ping = tokio::time::interval(liveness.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;

    let ending = loop {
        tokio::select! {
            _ = stop.changed() => {
                break Ending::Stopped(stop.borrow().clone().unwrap_or_else(|| "stopped".into()));
            }
            Some(()) = off.recv() => break Ending::Stopped(messages::TRANSFERS_OFF.into()),
            written = &mut writer => {
                break match written {
                    Ok(Written::Stuck) => Ending::Stuck,
                    Ok(Written::Done | Written::Broken) | Err(_) => Ending::Gone,
                };
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= liveness.dead_after || (!hello_done && opened.elapsed() >= liveness.dead_after) {
                    break Ending::Silent;
                }
                // The toggle may have been switched off on another replica sharing the database.
                if transfers_enabled(&state).await == Some(false) {
                    break Ending::Stopped(messages::TRANSFERS_OFF.into());
                }
                // Pings still queued mean the writer is stuck on a peer that reads nothing: no need for more, and
                // the close frame keeps its room.
                if control.capacity() > 1 {
                    let _ = control.try_send(Message::Ping(Default::default()));
                }
            }
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break Ending::Gone };
                last_heard = tokio::time::Instant::now();
                let reply = match message {
                    Message::Text(t) if t.len() > MAX_TEXT_MESSAGE => Some(error(
                        None,
                        ErrorCode::MessageTooLarge,
                        format!("messages are limited to {MAX_TEXT_MESSAGE} bytes"),
                    )),
                    Message::Text(t) => match serde_json::from_str::<ClientMessage>(t.as_str()) {
                        Err(e) => Some(unparsable(t.as_str(), e)),
                        Ok(ClientMessage::Hello { versions, receiver }) => {
                            if hello_done {
                                Some(error(None, ErrorCode::HelloFirst, "hello was already sent"))
                            } else if !versions.contains(&PROTOCOL_VERSION) {
                                Some(error(None, ErrorCode::UnsupportedVersion, format!("this sender speaks protocol version {PROTOCOL_VERSION}")))
                            } else if let Err(e) = receiver.validate() {
                                Some(error(None, ErrorCode::BadRequest, e))
                            } else {
                                state.sender.set_info(&session_id, &receiver_id, receiver);
                                hello_done = true;
                                Some(ServerMessage::Welcome {
                                    version: PROTOCOL_VERSION,
                                    receiver_id: receiver_id.clone(),
                                    resume_token: resume_token.clone(),
                                    credits: INITIAL_CREDITS,
                                    max_credits: MAX_CREDITS,
                                    max_message_bytes: MAX_TEXT_MESSAGE,
                                })
                            }
                        }
                        Ok(_) if !hello_done => Some(error(None, ErrorCode::HelloFirst, "send hello first")),
                        Ok(ClientMessage::Credit { n }) => {
                            let held = credits.available_permits() as u64;
                            if n == 0 || held + u64::from(n) > u64::from(MAX_CREDITS) {
                                Some(error(None, ErrorCode::TooManyCredits, format!("at most {MAX_CREDITS} pages may be granted at once")))
                            } else {
                                credits.add_permits(n as usize);
                                None
                            }
                        }
                        Ok(ClientMessage::Request { id, op }) => match queue.try_send((id, op)) {
                            Ok(()) => None,
                            Err(_) => Some(error(Some(id), ErrorCode::TooManyRequests, format!("at most {MAX_QUEUED} requests may wait"))),
                        },
                    },
                    Message::Binary(_) => Some(error(None, ErrorCode::BadMessage, "receivers send text messages only")),
                    Message::Close(_) => break Ending::Gone,
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(reply) = reply
                    && out.send(text(&reply)).await.is_err()
                {
                    break Ending::Gone;
                }
            }
        }
    };
    // The close frame is queued first: the writer sends controls ahead of anything else, and it ends once both
    // its queues are closed, so queued after them the close could be lost.
    if let Ending::Stopped(reason) = &ending {
        let close = CloseFrame { code: CloseKind::Stopped.code(), reason: reason.as_str().into() };
        let _ = control.try_send(Message::Close(Some(close)));
    }
    // Nothing more of this receiver's requests is served, whatever is still queued.
    worker.abort();
    drop(out);
    drop(control);
    let how = match ending {
        Ending::Stopped(_) => {
            finish(writer).await;
            "stopped by the sender"
        }
        Ending::Gone => {
            // A peer that closed may still not read what the writer is sending.
            finish(writer).await;
            "closed"
        }
        Ending::Silent => {
            // The writer may be stuck on a peer that reads nothing.
            writer.abort();
            "silent past the liveness bound"
        }
        Ending::Stuck => "read nothing for the liveness bound",
    };
    // Lets the receiver resume (a no-op when Disconnect or End all removed it).
    state.sender.detached(&session_id, &receiver_id);
    tracing::info!(receiver = %receiver_id, how, "receiver socket closed");
}

/// Lets the writer send what it still has (the close frame, when stopped) for at most [`CLOSE_GRACE`].
async fn finish(mut writer: tokio::task::JoinHandle<Written>) {
    // Finished (and maybe already awaited by the socket's loop): nothing to wait for.
    if !writer.is_finished() && tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// Sends what the socket's tasks queue, control frames (pings, the close) first; a close is the last frame. Each
/// frame must go out within `deadline`, or the writer gives up ([`Written::Stuck`]).
async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut controls: mpsc::Receiver<Message>,
    mut outgoing: mpsc::Receiver<Message>,
    deadline: std::time::Duration,
) -> Written {
    loop {
        let message = tokio::select! {
            biased;
            control = controls.recv() => match control {
                Some(m) => m,
                None => return Written::Done,
            },
            message = outgoing.recv() => match message {
                Some(m) => m,
                None => return Written::Done,
            },
        };
        let closing = matches!(message, Message::Close(_));
        match tokio::time::timeout(deadline, sink.send(message)).await {
            Err(_) => return Written::Stuck,
            Ok(Err(_)) => return Written::Broken,
            Ok(Ok(())) if closing => return Written::Done,
            Ok(Ok(())) => {}
        }
    }
}

/// The persisted system toggle (not only this instance's memory: another replica on the same database may have
/// switched it); `None` when the database could not say (logged).
async fn transfers_enabled(state: &AppState) -> Option<bool> {
    match appdata::settings::transfers_enabled(&state.db).await {
        Ok(on) => Some(on),
        Err(e) => {
            tracing::error!(error = %e, "reading the system toggle");
            None
        }
    }
}

/// Runs one receiver's requests in order, each only while transfers are on (asked before the request runs and
/// again before its reply goes out, since a page may wait long for its credit); when they are off, tells the
/// socket through `switched_off` and serves nothing more.
#[allow(clippy::too_many_arguments)]
async fn work(
    state: AppState,
    session_id: String,
    receiver_id: String,
    mut requests: mpsc::Receiver<(u64, Operation)>,
    credits: Arc<Semaphore>,
    out: mpsc::Sender<Message>,
    switched_off: mpsc::Sender<()>,
    local_peer: bool,
) {
    // Schemas of the tables this receiver walks as binary COPY: read from the catalog at a walk's first page.
    let mut schemas: HashMap<String, TableSchema> = HashMap::new();
    while let Some((id, op)) = requests.recv().await {
        let messages = match transfers_enabled(&state).await {
            Some(true) => {
                match run(&state, &session_id, &receiver_id, id, op, &credits, &mut schemas, local_peer).await {
                    Ok(messages) => messages,
                    Err(e) => vec![engine_error(id, e)],
                }
            }
            Some(false) => {
                let _ = switched_off.send(()).await;
                return;
            }
            None => vec![text(&error(Some(id), ErrorCode::Internal, "internal error on the sender"))],
        };
        if transfers_enabled(&state).await == Some(false) {
            let _ = switched_off.send(()).await;
            return;
        }
        for m in messages {
            if out.send(m).await.is_err() {
                return;
            }
        }
    }
}

fn engine_error(id: u64, e: EngineError) -> Message {
    let (code, message) = match e {
        EngineError::TableNotFound(_) => (ErrorCode::TableNotFound, e.to_string()),
        EngineError::Db(db) => {
            tracing::error!(error = %db, "serving a receiver");
            (ErrorCode::Internal, "internal error on the sender".to_owned())
        }
        other => (ErrorCode::BadRequest, other.to_string()),
    };
    text(&error(Some(id), code, message))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    state: &AppState,
    session_id: &str,
    receiver_id: &str,
    id: u64,
    op: Operation,
    credits: &Semaphore,
    schemas: &mut HashMap<String, TableSchema>,
    local_peer: bool,
) -> Result<Vec<Message>, EngineError> {
    let respond = |result: serde_json::Value| Ok(vec![text(&ServerMessage::Response { id, result })]);
    match op {
        Operation::Ping => respond(json(&"pong")),
        Operation::Capabilities => {
            let mut capabilities =
                Capabilities { host: engine::compress::this_machine(), ..Capabilities::of(state.db.engine().into()) };
            // Uncompressed pages only to a receiver on this machine: anyone else's would cost this sender four
            // times the bytes (and the memory of the pages queued for it).
            if !local_peer {
                capabilities.compressions.retain(|c| *c != Compression::None);
            }
            respond(json(&capabilities))
        }
        Operation::ListTables => respond(json(&state.tables.list_tables().await?)),
        Operation::Schema { table } => respond(json(&state.tables.get_schema(&table).await?)),
        Operation::Count { table } => respond(json(&state.tables.get_count(&table).await?)),
        Operation::Checksum { table } => {
            let (sha256, rows) = state.tables.checksum(&table).await?;
            respond(json(&ChecksumReply { sha256, rows }))
        }
        Operation::Fetch { table, limit, cursor, offset, filter, format, compression } => {
            // Whatever a remote receiver asks, its pages are compressed (receivers read either framing).
            let compression = if local_peer { compression } else { Compression::Zstd };
            let position = match (cursor, offset) {
                (Some(_), Some(_)) => {
                    return Err(EngineError::BadRequest("give a cursor or an offset, not both".into()));
                }
                (Some(c), None) => Position::After(messages::decode_cursor(&c).map_err(EngineError::BadRequest)?),
                (None, Some(n)) => Position::Offset(n),
                (None, None) => Position::Start,
            };
            let filter =
                filter.map(|f| f.to_filter()).transpose().map_err(EngineError::BadRequest)?.unwrap_or_default();
            let limit = limit.unwrap_or(messages::DEFAULT_PAGE_ROWS);
            if format == PageFormat::Json && limit > MAX_JSON_PAGE_ROWS {
                return Err(EngineError::BadRequest(format!("json pages hold at most {MAX_JSON_PAGE_ROWS} rows")));
            }
            let request = PageRequest { limit, position, filter };
            if format == PageFormat::PgCopy {
                let schema = match schemas.get(&table) {
                    // A walk starting over reads the catalog again.
                    Some(s) if request.position != Position::Start => s.clone(),
                    _ => {
                        let s = state.tables.get_schema(&table).await?;
                        if schemas.len() >= 1000 {
                            schemas.clear();
                        }
                        schemas.insert(table.clone(), s.clone());
                        s
                    }
                };
                let exported = state.tables.export_binary_copy_with(&schema, &request).await?;
                let next = exported.next.as_ref().map(messages::encode_cursor);
                let compressed = framed(&table, &exported.data, compression)?;
                drop(exported.data);
                return Ok(page_messages(
                    state,
                    session_id,
                    receiver_id,
                    credits,
                    id,
                    exported.rows,
                    exported.has_more,
                    next,
                    compressed,
                )
                .await);
            }
            let exported = state.tables.export_records(&table, &request).await?;
            let next = exported.next.as_ref().map(messages::encode_cursor);
            if format == PageFormat::Json {
                return respond(json(&JsonPage::from_page(&exported.page, exported.has_more, next)));
            }
            let compressed = framed(&table, &exported.page.encode(), compression)?;
            let rows = exported.page.rows.len();
            Ok(page_messages(state, session_id, receiver_id, credits, id, rows, exported.has_more, next, compressed)
                .await)
        }
    }
}

/// A page's bytes framed as the receiver asked ([`engine::compress::frame_bytes`]), or a refusal naming the table
/// when they are more than any receiver takes (one row alone larger than a page may be).
fn framed(table: &str, raw: &[u8], compression: Compression) -> Result<Vec<u8>, EngineError> {
    let limit = protocol::page::MAX_PAGE_BYTES;
    if raw.len() > limit {
        return Err(EngineError::BadRequest(format!(
            "a row of table {table:?} is too large to send: its page is {} bytes, and receivers take at most {limit}",
            raw.len()
        )));
    }
    Ok(engine::compress::frame_bytes(raw, compression))
}

/// A page's header and binary frame, sent only against a credit: without one, this receiver's requests wait
/// here.
#[allow(clippy::too_many_arguments)]
async fn page_messages(
    state: &AppState,
    session_id: &str,
    receiver_id: &str,
    credits: &Semaphore,
    id: u64,
    rows: usize,
    has_more: bool,
    next: Option<String>,
    compressed: Vec<u8>,
) -> Vec<Message> {
    credits.acquire().await.expect("the semaphore is never closed").forget();
    state.sender.record(session_id, receiver_id, rows as u64, !has_more);
    let header = ServerMessage::Page { id, rows, has_more, next, bytes: compressed.len() };
    let mut frame = Vec::with_capacity(8 + compressed.len());
    frame.extend_from_slice(&id.to_le_bytes());
    frame.extend_from_slice(&compressed);
    vec![text(&header), Message::Binary(frame.into())]
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("engine results serialize")
}
