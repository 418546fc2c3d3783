//! One WebSocket to a sender (tokio-tungstenite, rustls for wss://): the handshake with the credential as a
//! subprotocol, hello/welcome, and a task that owns the socket — it sends requests, matches replies and pages to
//! them by id, grants a credit per page received, and fails every waiting request with the reason when the
//! socket ends. tungstenite answers the sender's pings; the task pings the sender in turn and ends the socket
//! when nothing came from it for the client's timeout (a dead sender or a half-open connection), so the next
//! request resumes on a new one instead of waiting on the old.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::ClientError;
use protocol::demux::{Demux, Incoming, PageHeader};
use protocol::messages::{
    ClientMessage, CloseKind, ErrorCode, MAX_PAGE_FRAME, Operation, PROTOCOL_VERSION, REFUSAL_HEADER, ReceiverInfo,
    RefusalCode, SUBPROTOCOL, ServerMessage,
};

/// A page as it arrived, still compressed.
#[derive(Debug)]
pub struct RawPage {
    pub rows: usize,
    pub has_more: bool,
    pub next: Option<String>,
    pub bytes: Vec<u8>,
}

pub(crate) enum Reply {
    Json(serde_json::Value),
    Page(RawPage),
}

type Waiter = oneshot::Sender<Result<Reply, ClientError>>;

#[derive(Default)]
struct Pending {
    waiters: HashMap<u64, Waiter>,
    /// Why the socket ended, once it has.
    ended: Option<(String, bool)>,
}

pub(crate) struct Connection {
    out: mpsc::UnboundedSender<Message>,
    pending: Arc<Mutex<Pending>>,
    pub resume_token: String,
    max_message: usize,
    timeout: Duration,
}

/// The credential of a connection: a code the first time, the resume token after a drop.
pub(crate) enum Credential<'a> {
    Code(&'a str),
    Resume(&'a str),
}

/// A refused connection as its error: by the sender's [`RefusalCode`] when it sent one (the words are only
/// shown, never matched), else by the status alone.
fn refusal(status: u16, code: Option<RefusalCode>, body: String) -> ClientError {
    // Whatever answered may not be a sender (a wrong URL, an internal service): keep only a short, printable
    // excerpt of its words.
    let body: String = body.chars().filter(|c| !c.is_control()).take(200).collect();
    match (code, status) {
        (Some(RefusalCode::TransfersOff), _) => ClientError::TransfersOff,
        (Some(RefusalCode::InvalidCode), _) | (None | Some(RefusalCode::Unknown), 403) => ClientError::InvalidCode,
        (Some(RefusalCode::CodeUsed), _) | (None | Some(RefusalCode::Unknown), 409) => ClientError::CodeUsed,
        (Some(RefusalCode::CodeExpired | RefusalCode::SessionEnded), _) | (None | Some(RefusalCode::Unknown), 410) => {
            ClientError::CodeExpired(body)
        }
        (Some(RefusalCode::RateLimited), _) | (None | Some(RefusalCode::Unknown), 429) => {
            ClientError::RateLimited(body)
        }
        _ => ClientError::Refused { status, message: body },
    }
}

impl Connection {
    pub(crate) async fn open(
        socket_url: &str,
        credential: Credential<'_>,
        info: &ReceiverInfo,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let mut request = socket_url.into_client_request().map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        let credential = match credential {
            Credential::Code(code) => format!("{}{}", protocol::messages::CODE_PROTOCOL_PREFIX, code),
            Credential::Resume(token) => format!("{}{}", protocol::messages::RESUME_PROTOCOL_PREFIX, token),
        };
        let protocols =
            HeaderValue::from_str(&format!("{SUBPROTOCOL}, {credential}")).map_err(|_| ClientError::InvalidCode)?;
        request.headers_mut().insert("sec-websocket-protocol", protocols);
        request
            .headers_mut()
            .insert("user-agent", HeaderValue::from_static(concat!("db-transfer/", env!("CARGO_PKG_VERSION"))));
        // Nagle off: a credit and the next request are small writes in a row, and the second would wait for the
        // sender's (delayed) ACK of the first — 40 ms a page, which held pulls to ~11k rows/s.
        // A frame may hold any page this client would decode (tungstenite's default limit, 16 MiB, refused a
        // legal page larger than that as "Message too long").
        let config =
            WebSocketConfig::default().max_frame_size(Some(MAX_PAGE_FRAME)).max_message_size(Some(MAX_PAGE_FRAME));
        let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (mut ws, _) = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => return Err(ClientError::ConnectTimeout(timeout.as_secs())),
            Ok(Err(WsError::Http(response))) => {
                let status = response.status().as_u16();
                let code = response.headers().get(REFUSAL_HEADER).and_then(|v| v.to_str().ok()).map(RefusalCode::parse);
                let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
                return Err(refusal(status, code, body));
            }
            Ok(Err(e)) => return Err(ClientError::Unreachable(e.to_string())),
            Ok(Ok(pair)) => pair,
        };
        let hello = ClientMessage::Hello { versions: vec![PROTOCOL_VERSION], receiver: info.clone() };
        ws.send(Message::Text(serde_json::to_string(&hello).expect("messages serialize").into()))
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let welcome =
            tokio::time::timeout(timeout, ws.next()).await.map_err(|_| ClientError::Timeout(timeout.as_secs()))?;
        let (resume_token, max_message) = match welcome {
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(t.as_str()) {
                Ok(ServerMessage::Welcome { resume_token, max_message_bytes, .. }) => (resume_token, max_message_bytes),
                Ok(ServerMessage::Error { code: ErrorCode::UnsupportedVersion, message, .. }) => {
                    return Err(ClientError::VersionMismatch(message));
                }
                Ok(ServerMessage::Error { code, message, .. }) => return Err(ClientError::Remote { code, message }),
                _ => return Err(ClientError::Protocol("no welcome after hello".into())),
            },
            Some(Ok(Message::Close(Some(frame)))) => {
                let reason = frame.reason.to_string();
                return Err(match CloseKind::from_code(u16::from(frame.code)) {
                    // Told as a browser would be (after the upgrade): the status is all the code says.
                    CloseKind::Refused { status } => refusal(status, None, reason),
                    kind => ClientError::Disconnected { reason, stopped: kind == CloseKind::Stopped },
                });
            }
            other => return Err(ClientError::Protocol(format!("no welcome after hello: {other:?}"))),
        };

        let pending = Arc::new(Mutex::new(Pending::default()));
        let (out, outgoing) = mpsc::unbounded_channel();
        tokio::spawn(pump(ws, outgoing, pending.clone(), timeout));
        Ok(Connection { out, pending, resume_token, max_message, timeout })
    }

    pub(crate) fn ended(&self) -> Option<ClientError> {
        let p = self.pending.lock().expect("pending lock");
        p.ended
            .as_ref()
            .map(|(reason, stopped)| ClientError::Disconnected { reason: reason.clone(), stopped: *stopped })
    }

    pub(crate) async fn request(&self, id: u64, op: Operation) -> Result<Reply, ClientError> {
        let text = serde_json::to_string(&ClientMessage::Request { id, op }).expect("messages serialize");
        if text.len() > self.max_message {
            return Err(ClientError::Protocol(format!(
                "a request of {} bytes exceeds the sender's limit of {} (fewer filter keys)",
                text.len(),
                self.max_message
            )));
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut p = self.pending.lock().expect("pending lock");
            if let Some((reason, stopped)) = &p.ended {
                return Err(ClientError::Disconnected { reason: reason.clone(), stopped: *stopped });
            }
            p.waiters.insert(id, tx);
        }
        if self.out.send(Message::Text(text.into())).is_err() {
            return Err(self.ended().unwrap_or(ClientError::Disconnected { reason: "closed".into(), stopped: false }));
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => {
                Err(self.ended().unwrap_or(ClientError::Disconnected { reason: "closed".into(), stopped: false }))
            }
            Err(_) => {
                // No reply in time: the connection is not to be trusted any more (a half-open one answers nothing
                // ever). It ends here, so a resume opens a new one instead of waiting on this.
                self.end(format!("the sender did not answer within {} s", self.timeout.as_secs()));
                Err(ClientError::Timeout(self.timeout.as_secs()))
            }
        }
    }

    /// Ends the connection for `reason` (resumable): every waiting request fails with it, the socket closes.
    fn end(&self, reason: String) {
        let waiters: Vec<Waiter> = {
            let mut p = self.pending.lock().expect("pending lock");
            p.ended.get_or_insert((reason.clone(), false));
            p.waiters.drain().map(|(_, w)| w).collect()
        };
        for w in waiters {
            let _ = w.send(Err(ClientError::Disconnected { reason: reason.clone(), stopped: false }));
        }
        let _ = self.out.send(Message::Close(None));
    }

    pub(crate) fn close(&self) {
        let _ = self.out.send(Message::Close(None));
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn pump(
    ws: Socket,
    mut outgoing: mpsc::UnboundedReceiver<Message>,
    pending: Arc<Mutex<Pending>>,
    silence: Duration,
) {
    let (mut sink, mut stream) = ws.split();
    let mut demux = Demux::default();
    // A few pings within the silence bound: a live sender's pong (or any message) comes well before it.
    let mut ping = tokio::time::interval((silence / 3).max(Duration::from_millis(100)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let resolve = |id: u64, reply: Result<Reply, ClientError>| {
        if let Some(w) = pending.lock().expect("pending lock").waiters.remove(&id) {
            let _ = w.send(reply);
        }
    };
    let (reason, stopped) = loop {
        tokio::select! {
            command = outgoing.recv() => {
                let Some(message) = command else { break ("the client was dropped".to_owned(), false) };
                let closing = matches!(message, Message::Close(_));
                if let Err(e) = sink.send(message).await {
                    break (e.to_string(), false);
                }
                if closing {
                    break ("disconnected by this client".to_owned(), true);
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= silence {
                    break (format!("no word from the sender for {} s", silence.as_secs_f64()), false);
                }
                if let Err(e) = sink.send(Message::Ping(Default::default())).await {
                    break (e.to_string(), false);
                }
            }
            incoming = stream.next() => match incoming.inspect(|_| last_heard = tokio::time::Instant::now()) {
                Some(Ok(Message::Text(t))) => match demux.text(t.as_str()) {
                    Ok(Incoming::Reply { id, result }) => resolve(id, Ok(Reply::Json(result))),
                    Ok(Incoming::Failed { id, code, message }) => resolve(id, Err(match code {
                        ErrorCode::TableNotFound => ClientError::TableNotFound(message),
                        code => ClientError::Remote { code, message },
                    })),
                    Ok(Incoming::Notice(message)) => tracing::warn!(%message, "sender error"),
                    Ok(Incoming::Pending | Incoming::Page { .. }) => {}
                    Err(e) => break (format!("the sender broke the protocol: {e}"), false),
                },
                Some(Ok(Message::Binary(frame))) => match demux.binary(&frame) {
                    Ok(Incoming::Page { id, header, bytes }) => {
                        if sink.send(Message::Text(r#"{"type":"credit","n":1}"#.into())).await.is_err() {
                            break ("the connection dropped".to_owned(), false);
                        }
                        let PageHeader { rows, has_more, next } = header;
                        resolve(id, Ok(Reply::Page(RawPage { rows, has_more, next, bytes })));
                    }
                    Ok(_) => {}
                    Err(e) => break (format!("the sender broke the protocol: {e}"), false),
                },
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    let reason = if reason.is_empty() { format!("closed by the sender (code {code})") } else { reason };
                    break (reason, CloseKind::from_code(code) == CloseKind::Stopped);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break (e.to_string(), false),
                None => break ("the connection dropped".to_owned(), false),
            }
        }
    };
    let mut p = pending.lock().expect("pending lock");
    // A connection this client ended already has its reason.
    let (reason, stopped) = p.ended.get_or_insert((reason, stopped)).clone();
    for (_, w) in p.waiters.drain() {
        let _ = w.send(Err(ClientError::Disconnected { reason: reason.clone(), stopped }));
    }
}
