//! The browser's connection to a remote sender (WASM only): a WebSocket straight from this page to the sender's
//! `/db-transfer/websocket`, speaking protocol v1 (`docs/protocol.md`). Requests are matched to replies by id;
//! pages arrive as a `page` header plus a binary frame and are handed on as the sender compressed them (the
//! browser never decodes bulk rows). A credit goes back for every page received, so the sender keeps a steady
//! window of pages in flight and the tab never buffers more than the transfer asks for. One task owns the socket
//! (gloo-net closes a socket only through the whole `WebSocket`, not a split half).
//!
//! Every request has a deadline ([`REQUEST_TIMEOUT_SECS`]): a sender that answers nothing in that time (gone, or
//! a half-open connection the browser has not noticed) ends the link with [`LinkError::TimedOut`] rather than
//! leaving the page waiting forever. [`SenderLink::cancel_pending`] fails every waiting request at once (Cancel
//! does not wait for the page in flight); the socket stays open for what comes next.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::future::Either;
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use protocol::demux::{Demux, Incoming, PageHeader};
use protocol::messages::{
    Capabilities, ChecksumReply, ClientMessage, CloseKind, ErrorCode, JsonPage, Operation, PROTOCOL_VERSION,
    PageFormat, ReceiverInfo, SUBPROTOCOL, ServerMessage,
};

/// Why a request to the sender did not give a result; the text is what the admin reads.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkError {
    /// The sender refused the connection (bad, used or expired code, transfers off, rate limited).
    Refused(String),
    /// Nothing answered at that address as a DB Transfer sender.
    Unreachable(String),
    /// The sender stopped this receiver (Disconnect, End all, its Send page closed).
    Stopped(String),
    /// The connection dropped for another reason.
    Closed { code: u16, reason: String },
    /// The sender answered the request with an error.
    Remote { code: ErrorCode, message: String },
    /// The sender sent something this receiver does not understand.
    Protocol(String),
    /// A request longer than the sender accepts (a filter with too many keys).
    TooLarge { bytes: usize, limit: usize },
    /// No reply within the deadline; the link is closed (the sender or the connection is gone).
    TimedOut(u32),
    /// The admin cancelled while the request waited.
    Cancelled,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Refused(why) => write!(f, "The sender refused the connection: {why}."),
            LinkError::Unreachable(site) => write!(
                f,
                "Cannot reach a DB Transfer sender at {site}: check the URL (and its http/https), that the site is up and that transfers are switched on there."
            ),
            LinkError::Stopped(why) => write!(f, "The sender ended the session: {why}."),
            LinkError::Closed { code, reason } if reason.is_empty() => {
                write!(f, "The connection to the sender closed (code {code}).")
            }
            LinkError::Closed { code, reason } => {
                write!(f, "The connection to the sender closed (code {code}): {reason}.")
            }
            LinkError::Remote { message, .. } => write!(f, "The sender answered: {message}"),
            LinkError::Protocol(what) => write!(f, "The sender sent something unexpected: {what}"),
            LinkError::TooLarge { bytes, limit } => write!(
                f,
                "The request is {bytes} bytes and the sender accepts at most {limit}: use fewer keys in the filter."
            ),
            LinkError::TimedOut(secs) => write!(
                f,
                "The sender did not answer within {secs} s; the connection was closed (the sender or the network is gone)."
            ),
            LinkError::Cancelled => write!(f, "Cancelled."),
        }
    }
}

/// A page as it arrived: the header's facts and the compressed bytes, untouched.
#[derive(Debug)]
pub struct RemotePage {
    pub rows: usize,
    pub has_more: bool,
    pub next: Option<String>,
    pub bytes: Vec<u8>,
}

enum Reply {
    Json(serde_json::Value),
    Page(RemotePage),
}

type Waiter = oneshot::Sender<Result<Reply, LinkError>>;

/// How long one request may wait for its reply (a page of the sender's 8 MiB budget over a slow link included).
pub const REQUEST_TIMEOUT_SECS: u32 = 120;

struct Shared {
    pending: RefCell<HashMap<u64, Waiter>>,
    closed: RefCell<Option<LinkError>>,
}

/// An open, welcomed connection to a sender.
pub struct SenderLink {
    /// Text messages to send; `None` closes the socket.
    out: mpsc::UnboundedSender<Option<String>>,
    shared: Rc<Shared>,
    next_id: Cell<u64>,
    /// The sender's limit on one message (from the welcome): a bigger request would be refused without an id.
    max_message: usize,
    /// Lets this receiver's session be taken over (by this site's server for a background job).
    resume_token: String,
    socket_url: String,
}

/// What a close means, by its code ([`CloseKind`]); the reason is only shown.
fn close_error(code: u16, reason: String, site: &str) -> LinkError {
    match CloseKind::from_code(code) {
        CloseKind::Stopped => LinkError::Stopped(reason),
        CloseKind::Refused { .. } => LinkError::Refused(reason),
        // 1006: the handshake failed or the connection broke without a close frame.
        _ if code == 1006 => LinkError::Unreachable(site.to_owned()),
        _ => LinkError::Closed { code, reason },
    }
}

impl SenderLink {
    /// Connects with a code, says hello, and waits for the welcome.
    pub async fn open(
        socket_url: &str,
        code: &protocol::ConnectionCode,
        info: ReceiverInfo,
    ) -> Result<SenderLink, LinkError> {
        let site = protocol::address::display_site(socket_url);
        let credential = format!("{}{}", protocol::messages::CODE_PROTOCOL_PREFIX, code.as_str());
        let mut ws = WebSocket::open_with_protocols(socket_url, &[SUBPROTOCOL, credential.as_str()])
            .map_err(|e| LinkError::Refused(format!("the browser would not open {socket_url}: {e}")))?;
        let hello = ClientMessage::Hello { versions: vec![PROTOCOL_VERSION], receiver: info };
        let hello = serde_json::to_string(&hello).expect("messages serialize");
        // Sending waits for the socket to open; a refused or failed handshake surfaces on the stream below.
        let _ = ws.send(Message::Text(hello)).await;
        let (max_message, resume_token) = loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Welcome { max_message_bytes, resume_token, .. }) => {
                        break Ok((max_message_bytes, resume_token));
                    }
                    Ok(ServerMessage::Error { message, .. }) => break Err(LinkError::Refused(message)),
                    _ => break Err(LinkError::Protocol("no welcome after hello".into())),
                },
                Some(Ok(Message::Bytes(_))) => {
                    break Err(LinkError::Protocol("a binary frame before the welcome".into()));
                }
                Some(Err(WebSocketError::ConnectionClose(ev))) => break Err(close_error(ev.code, ev.reason, &site)),
                Some(Err(_)) => continue,
                None => break Err(LinkError::Unreachable(site.clone())),
            }
        }?;

        let shared = Rc::new(Shared { pending: RefCell::default(), closed: RefCell::default() });
        let (out, outgoing) = mpsc::unbounded::<Option<String>>();
        leptos::task::spawn_local(pump(ws, outgoing, shared.clone(), site));
        Ok(SenderLink {
            out,
            shared,
            next_id: Cell::new(1),
            max_message,
            resume_token,
            socket_url: socket_url.to_owned(),
        })
    }

    /// The secret that lets another receiver (this site's server) take this session over once the socket closes.
    pub fn resume_token(&self) -> &str {
        &self.resume_token
    }

    pub fn socket_url(&self) -> &str {
        &self.socket_url
    }

    /// Why the connection ended, once it has.
    pub fn closed(&self) -> Option<LinkError> {
        self.shared.closed.borrow().clone()
    }

    async fn request(&self, op: Operation) -> Result<Reply, LinkError> {
        if let Some(e) = self.closed() {
            return Err(e);
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (tx, rx) = oneshot::channel();
        self.shared.pending.borrow_mut().insert(id, tx);
        let text = serde_json::to_string(&ClientMessage::Request { id, op }).expect("messages serialize");
        if text.len() > self.max_message {
            self.shared.pending.borrow_mut().remove(&id);
            return Err(LinkError::TooLarge { bytes: text.len(), limit: self.max_message });
        }
        if self.out.unbounded_send(Some(text)).is_err() {
            self.shared.pending.borrow_mut().remove(&id);
            return Err(self.closed().unwrap_or(LinkError::Closed { code: 1000, reason: String::new() }));
        }
        match futures::future::select(rx, Deadline::after_secs(REQUEST_TIMEOUT_SECS)).await {
            Either::Left((reply, _)) => reply.unwrap_or_else(|_| {
                Err(self.closed().unwrap_or(LinkError::Closed { code: 1000, reason: String::new() }))
            }),
            Either::Right(_) => {
                // A sender that answers nothing in this long will not answer at all: end the link, so every other
                // request fails now too and the page says why.
                let e = LinkError::TimedOut(REQUEST_TIMEOUT_SECS);
                self.shared.closed.borrow_mut().get_or_insert(e.clone());
                fail_all(&self.shared, &e);
                self.close();
                Err(e)
            }
        }
    }

    /// Fails every request waiting for a reply with [`LinkError::Cancelled`], at once; replies that still come
    /// are dropped (a page still gets its credit back). The socket stays open.
    pub fn cancel_pending(&self) {
        fail_all(&self.shared, &LinkError::Cancelled);
    }

    /// A request whose reply is JSON, decoded into `T`: the typed replies of `protocol::messages` —
    /// [`Capabilities`], `Vec<TableInfo>` (`list_tables`), `TableSchema` (`schema`), `i64` (`count`),
    /// [`ChecksumReply`], [`JsonPage`] (a `json` fetch) — or a `serde_json::Value` for anything else. A reply of
    /// another shape is [`LinkError::Protocol`] naming the operation and what was wrong.
    pub async fn call<T: serde::de::DeserializeOwned>(&self, op: Operation) -> Result<T, LinkError> {
        let name = op.name();
        match self.request(op).await? {
            Reply::Json(v) => serde_json::from_value(v)
                .map_err(|e| LinkError::Protocol(format!("the {name} reply is malformed: {e}"))),
            Reply::Page(_) => Err(LinkError::Protocol(format!("a page where a {name} reply was expected"))),
        }
    }

    /// What the sender serves (its engine, page formats, limits).
    pub async fn capabilities(&self) -> Result<Capabilities, LinkError> {
        self.call(Operation::Capabilities).await
    }

    /// The sender's content checksum of `table`.
    pub async fn checksum(&self, table: &str) -> Result<ChecksumReply, LinkError> {
        self.call(Operation::Checksum { table: table.to_owned() }).await
    }

    /// A preview page: `op` is a `fetch`, asked for in the `json` format whatever its `format` says.
    pub async fn json_page(&self, mut op: Operation) -> Result<JsonPage, LinkError> {
        if let Operation::Fetch { format, .. } = &mut op {
            *format = PageFormat::Json;
        }
        self.call(op).await
    }

    /// A binary page (a `fetch` without `format`).
    pub async fn page(&self, op: Operation) -> Result<RemotePage, LinkError> {
        match self.request(op).await? {
            Reply::Page(p) => Ok(p),
            Reply::Json(_) => Err(LinkError::Protocol("a reply where a page was expected".into())),
        }
    }

    /// Closes the socket (normal closure); pending requests fail.
    pub fn close(&self) {
        let _ = self.out.unbounded_send(None);
    }
}

/// One task owns the socket: it sends what the link asks (and a credit per page received), routes what arrives
/// to the waiting requests, and closes the socket when asked. When the socket ends, every waiting request fails
/// with the reason.
async fn pump(mut ws: WebSocket, mut outgoing: mpsc::UnboundedReceiver<Option<String>>, s: Rc<Shared>, site: String) {
    enum Event {
        In(Option<Result<Message, WebSocketError>>),
        Out(Option<Option<String>>),
    }
    let mut demux = Demux::default();
    let ended = loop {
        let event = {
            let incoming = ws.next();
            let command = outgoing.next();
            futures::pin_mut!(incoming, command);
            match futures::future::select(incoming, command).await {
                Either::Left((m, _)) => Event::In(m),
                Either::Right((c, _)) => Event::Out(c),
            }
        };
        match event {
            Event::Out(Some(Some(text))) => {
                if let Err(e) = ws.send(Message::Text(text)).await {
                    break LinkError::Closed { code: 1006, reason: e.to_string() };
                }
            }
            // Asked to close, or the link was dropped.
            Event::Out(Some(None) | None) => {
                let _ = ws.close(Some(1000), Some("the receiver disconnected"));
                break LinkError::Closed { code: 1000, reason: "you disconnected".into() };
            }
            Event::In(Some(Ok(Message::Text(text)))) => match demux.text(&text) {
                Ok(Incoming::Reply { id, result }) => resolve(&s, id, Ok(Reply::Json(result))),
                Ok(Incoming::Failed { id, code, message }) => resolve(&s, id, Err(LinkError::Remote { code, message })),
                Ok(Incoming::Notice(message)) => leptos::logging::warn!("sender error: {message}"),
                Ok(Incoming::Pending | Incoming::Page { .. }) => {}
                Err(e) => break LinkError::Protocol(e),
            },
            Event::In(Some(Ok(Message::Bytes(frame)))) => match demux.binary(&frame) {
                Ok(Incoming::Page { id, header, bytes }) => {
                    let _ = ws.send(Message::Text(r#"{"type":"credit","n":1}"#.to_owned())).await;
                    let PageHeader { rows, has_more, next } = header;
                    resolve(&s, id, Ok(Reply::Page(RemotePage { rows, has_more, next, bytes })));
                }
                Ok(_) => {}
                Err(e) => break LinkError::Protocol(e),
            },
            Event::In(Some(Err(WebSocketError::ConnectionClose(ev)))) => break close_error(ev.code, ev.reason, &site),
            Event::In(Some(Err(_))) => continue,
            Event::In(None) => break LinkError::Closed { code: 1000, reason: String::new() },
        }
    };
    // A link ended by a timeout keeps that reason.
    let ended = s.closed.borrow_mut().get_or_insert(ended).clone();
    fail_all(&s, &ended);
}

fn fail_all(s: &Shared, error: &LinkError) {
    let waiters: Vec<Waiter> = s.pending.borrow_mut().drain().map(|(_, w)| w).collect();
    for waiter in waiters {
        let _ = waiter.send(Err(error.clone()));
    }
}

/// Resolves after a time (the window's timer); the timer is cleared when dropped first, so the many requests of a
/// transfer leave no timers behind.
struct Deadline {
    handle: i32,
    fired: wasm_bindgen_futures::JsFuture,
}

impl Deadline {
    fn after_secs(secs: u32) -> Deadline {
        let mut handle = 0;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let window = web_sys::window().expect("a window");
            let ms = secs.saturating_mul(1000).min(i32::MAX as u32) as i32;
            handle = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap_or(0);
        });
        Deadline { handle, fired: wasm_bindgen_futures::JsFuture::from(promise) }
    }
}

impl std::future::Future for Deadline {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.fired).poll(cx).map(|_| ())
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            window.clear_timeout_with_handle(self.handle);
        }
    }
}

fn resolve(s: &Shared, id: u64, reply: Result<Reply, LinkError>) {
    if let Some(waiter) = s.pending.borrow_mut().remove(&id) {
        let _ = waiter.send(reply);
    }
}
