//! One WebSocket to a sender (tokio-tungstenite, rustls for wss://): the handshake with the credential as a
//! subprotocol, hello/welcome, and a task that owns the socket — it sends requests, matches replies and pages to
//! them by id, grants a credit per page received, and fails every waiting request with the reason when the
//! socket ends. tungstenite answers the sender's pings; the task pings the sender in turn and ends the socket
//! when no byte came from it for the client's timeout (a dead sender or a half-open connection), so the next
//! request resumes on a new one instead of waiting on the old.
//!
//! Deadlines follow progress, not whole messages: a page is one frame of up to [`MAX_PAGE_FRAME`] bytes, which
//! tungstenite yields only once all of it arrived, and the sender's pongs queue behind it — on a slow link
//! (8 MiB in 30 s is ~2.2 Mbit/s) a deadline per message would end every big page before it lands, and the
//! resume would ask for it again, forever. So the TCP stream is wrapped in [`Counted`], which counts every byte
//! read: the socket is silent when no byte at all came for the timeout, and a request waits on while at least
//! [`PROGRESS_BYTES`] arrived in each timeout window.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
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

/// A timeout window in which at least this much arrived from the sender is progress, and a waiting request
/// waits on: far more than the pings and pongs an idle sender sends in one (a few dozen bytes each, TLS
/// included), far less than any link a transfer could use (4 KiB in 30 s is about 1 kbit/s).
pub(crate) const PROGRESS_BYTES: u64 = 4 * 1024;

/// The slowest a reply may come on the whole, in bytes per second: the largest frame at this rate is the longest
/// any request waits (about 34 minutes), progress or not.
pub(crate) const MIN_REPLY_RATE: u64 = 32 * 1024;

/// What the socket has read so far, counted by [`Counted`] as it arrives (TLS records included, before
/// tungstenite has a whole frame), read by the pump and by waiting requests.
#[derive(Debug)]
struct Received {
    bytes: AtomicU64,
    /// When the last byte came, in microseconds after `opened`.
    last_micros: AtomicU64,
    opened: Instant,
}

impl Received {
    fn new() -> Received {
        Received { bytes: AtomicU64::new(0), last_micros: AtomicU64::new(0), opened: Instant::now() }
    }

    fn add(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let now = u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_micros.fetch_max(now, Ordering::Relaxed);
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// How long since the last byte came (since the connection opened, if none has).
    fn silent_for(&self) -> Duration {
        let last = Duration::from_micros(self.last_micros.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// A stream that adds every byte it reads to a shared [`Received`]; writes pass through untouched.
struct Counted<S> {
    inner: S,
    received: Arc<Received>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            this.received.add(read);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

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
    received: Arc<Received>,
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
        // The TCP stream is this client's own, so that every byte read is counted (see the module's words);
        // TLS for wss:// (rustls, webpki roots) and the handshake are tokio-tungstenite's, as its
        // `connect_async_with_config` does them.
        let host = request.uri().host().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned());
        let host = host.ok_or_else(|| ClientError::InvalidUrl(format!("{socket_url}: no host")))?;
        let port = request.uri().port_u16().or(match request.uri().scheme_str() {
            Some("wss") => Some(443),
            Some("ws") => Some(80),
            _ => None,
        });
        let port = port.ok_or_else(|| ClientError::InvalidUrl(format!("{socket_url}: not a ws:// or wss:// URL")))?;
        let received = Arc::new(Received::new());
        let counted = received.clone();
        let connecting = async move {
            let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(WsError::Io)?;
            tcp.set_nodelay(true).map_err(WsError::Io)?;
            let stream = Counted { inner: tcp, received: counted };
            tokio_tungstenite::client_async_tls_with_config(request, stream, Some(config), None).await
        };
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
        tokio::spawn(pump(ws, outgoing, pending.clone(), received.clone(), timeout));
        Ok(Connection { out, pending, resume_token, max_message, timeout, received })
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
        let mut rx = rx;
        // Each window that brought at least PROGRESS_BYTES earns another: a big page on a slow link is still
        // coming (its reply is the whole frame), while a sender that only answers pings does not.
        let mut window_start = self.received.bytes();
        // However it trickles, no reply takes longer than the largest frame at MIN_REPLY_RATE: a sender that sends
        // just enough to look alive, forever, still times out.
        let ceiling = Instant::now() + self.timeout + Duration::from_secs(MAX_PAGE_FRAME as u64 / MIN_REPLY_RATE);
        loop {
            match tokio::time::timeout(self.timeout, &mut rx).await {
                Ok(Ok(reply)) => return reply,
                Ok(Err(_)) => {
                    return Err(self
                        .ended()
                        .unwrap_or(ClientError::Disconnected { reason: "closed".into(), stopped: false }));
                }
                Err(_) => {
                    let now = self.received.bytes();
                    if now - window_start >= PROGRESS_BYTES && Instant::now() < ceiling {
                        window_start = now;
                        continue;
                    }
                    // No reply and no progress in time: the connection is not to be trusted any more (a
                    // half-open one answers nothing ever). It ends here, so a resume opens a new one instead of
                    // waiting on this.
                    self.end(format!("the sender did not answer within {} s", self.timeout.as_secs()));
                    return Err(ClientError::Timeout(self.timeout.as_secs()));
                }
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

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<Counted<TcpStream>>>;

async fn pump(
    ws: Socket,
    mut outgoing: mpsc::UnboundedReceiver<Message>,
    pending: Arc<Mutex<Pending>>,
    received: Arc<Received>,
    silence: Duration,
) {
    let (mut sink, mut stream) = ws.split();
    let mut demux = Demux::default();
    // A few pings within the silence bound: a live sender's pong (or any byte) comes well before it.
    let mut ping = tokio::time::interval((silence / 3).max(Duration::from_millis(100)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
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
                // Any byte counts, a part of a frame still arriving included (its whole may take far longer).
                if received.silent_for() >= silence {
                    break (format!("no word from the sender for {} s", silence.as_secs_f64()), false);
                }
                if let Err(e) = sink.send(Message::Ping(Default::default())).await {
                    break (e.to_string(), false);
                }
            }
            incoming = stream.next() => match incoming {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// The client connects the TCP stream itself now: a wss:// URL still speaks TLS first (rustls, what
    /// tokio-tungstenite wraps the counted stream in), and a peer that answers no TLS is unreachable, said so.
    #[tokio::test]
    async fn wss_speaks_tls_over_the_counted_stream() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut record = [0u8; 3];
            socket.read_exact(&mut record).unwrap();
            socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
            record
        });
        let url = format!("wss://localhost:{port}/db-transfer/websocket");
        let opened =
            Connection::open(&url, Credential::Code("ABCD2345"), &ReceiverInfo::default(), Duration::from_secs(5))
                .await;
        // A TLS handshake record (22), TLS 1.x (3, 1): a ClientHello.
        assert_eq!(peer.join().unwrap(), [22, 3, 1]);
        assert!(matches!(opened, Err(ClientError::Unreachable(_))), "{:?}", opened.err());
    }

    #[tokio::test]
    async fn a_url_without_a_port_or_known_scheme_is_refused_as_invalid() {
        let opened = Connection::open(
            "ftp://localhost/x",
            Credential::Code("ABCD2345"),
            &ReceiverInfo::default(),
            Duration::from_secs(5),
        )
        .await;
        assert!(matches!(opened, Err(ClientError::InvalidUrl(m)) if m.contains("not a ws:// or wss:// URL")));
    }
}
