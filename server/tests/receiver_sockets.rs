//! The sender's hold on its receivers' sockets, against real servers and real sockets: switching transfers off
//! (here or on another replica of the same database) closes every connected receiver at once with 4001 and its
//! reason, and nothing more is served; a receiver that stops reading (a stalled TCP peer) is dropped within the
//! liveness bound so its resume token works again, also when it keeps sending pongs; the client notices a silent
//! sender and resumes; a page larger than tungstenite's default 16 MiB frame reaches the client.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use appdata::testing::ENGINES;
use client::{Client, ClientError, ClientOptions, FetchOptions};
use engine::EngineKind;
use futures_util::{SinkExt, StreamExt};
use protocol::messages::SUBPROTOCOL;
use serde_json::{Value as J, json};
use support::{TestApp, exec, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const OFF: &str = "transfers are switched off on this site";

/// A sender with `items` (200 rows), transfers on, pinging every second and dropping a receiver silent for 3 s.
async fn sender(kind: EngineKind) -> TestApp {
    sender_pinging(kind, 1, 3).await
}

async fn sender_pinging(kind: EngineKind, ping_secs: u64, timeout_secs: u64) -> TestApp {
    let app = spawn_app_with(kind, |c| {
        c.receiver_ping_secs = ping_secs;
        c.receiver_timeout_secs = timeout_secs;
    })
    .await;
    let rows: Vec<String> = (1..=200).map(|i| format!("({i}, 'item {i}')")).collect();
    exec(
        &app.instance.db,
        &format!(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO items VALUES {}",
            rows.join(", ")
        ),
    )
    .await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    app
}

fn new_code(app: &TestApp) -> String {
    code_in(app, &app.instance.sender.create_session("admin"))
}

fn code_in(app: &TestApp, session: &str) -> String {
    app.instance.sender.new_code(session, Duration::from_secs(300)).unwrap().as_str().to_owned()
}

/// Opens the sender's socket at `addr` with `credential` (`code.X` / `resume.T`); on refusal, the HTTP status.
async fn open(addr: SocketAddr, credential: &str) -> Result<Ws, u16> {
    let mut request = format!("ws://{addr}/db-transfer/websocket").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", format!("{SUBPROTOCOL}, {credential}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("{other}"),
    }
}

async fn send(ws: &mut Ws, v: J) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next message that is not a ping/pong.
async fn next(ws: &mut Ws) -> Message {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message within 10 s") {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(m)) => return m,
            other => panic!("the socket ended without a message: {other:?}"),
        }
    }
}

async fn next_json(ws: &mut Ws) -> J {
    match next(ws).await {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Joins with a fresh code: the socket and its welcome.
async fn joined(app: &TestApp) -> (Ws, J) {
    joined_at(app.instance.addr, &format!("code.{}", new_code(app))).await
}

/// Reads (so pings are answered) for `time`, expecting nothing but pings.
async fn idle_for(ws: &mut Ws, time: Duration) {
    let until = tokio::time::Instant::now() + time;
    loop {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("expected only pings, got {other:?}"),
        }
    }
}

async fn joined_at(addr: SocketAddr, credential: &str) -> (Ws, J) {
    let mut ws = open(addr, credential).await.expect("admitted");
    send(&mut ws, json!({"type": "hello", "versions": [1], "receiver": {"site_url": "", "project": "", "user_name": "", "user_email": ""}})).await;
    let welcome = next_json(&mut ws).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (ws, welcome)
}

fn fetch(id: u64, offset: u64) -> J {
    json!({"type": "request", "id": id, "op": {"name": "fetch", "table": "items", "limit": 10, "offset": offset}})
}

/// One page: its header and binary frame.
async fn page(ws: &mut Ws) -> u64 {
    let header = next_json(ws).await;
    assert_eq!(header["type"], "page", "{header}");
    assert!(matches!(next(ws).await, Message::Binary(_)));
    header["id"].as_u64().unwrap()
}

/// Whatever arrives until the socket ends: the close frame (code, reason) and how many data messages came first.
async fn close_of(ws: &mut Ws) -> (Option<(u16, String)>, usize) {
    let mut data = 0;
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(_)) => data += 1,
                _ => return None,
            }
        }
    })
    .await
    .expect("the socket ends within 10 s");
    (close, data)
}

/// Switches the toggle through the server function, as the overview's switch does, signed in as the admin
/// (`client` holds the session of the instance at `url`).
async fn switch(client: &reqwest::Client, url: &str, enabled: bool) {
    let response = client
        .post(format!("{url}/api/set-transfers-enabled"))
        .form(&[("enabled", enabled.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let status: J = response.json().await.unwrap();
    assert_eq!(status["transfers_enabled"], enabled);
}

#[tokio::test]
async fn switching_transfers_off_closes_every_receiver_at_once_and_serves_nothing_more() {
    for kind in ENGINES {
        // Pings every 10 s: what closes the sockets within a second is the switch itself, not the next ping.
        let app = sender_pinging(kind, 10, 30).await;
        app.login_ok().await;
        // `a` is mid-stream: four pages against its four credits, two more requests waiting for credit.
        let session = app.instance.sender.create_session("admin");
        let (mut a, _) = joined_at(app.instance.addr, &format!("code.{}", code_in(&app, &session))).await;
        let (mut idle, _) = joined_at(app.instance.addr, &format!("code.{}", code_in(&app, &session))).await;
        for id in 1..=6 {
            send(&mut a, fetch(id, id * 10)).await;
        }
        for id in 1..=4 {
            assert_eq!(page(&mut a).await, id);
        }

        let started = Instant::now();
        switch(&app.client, &app.url, false).await;
        // A credit (which would release page 5) and a new request: neither gets data (the socket may be gone
        // already, so sending them may fail).
        let _ = a.send(Message::Text(json!({"type": "credit", "n": 2}).to_string().into())).await;
        let _ = a
            .send(Message::Text(
                json!({"type": "request", "id": 7, "op": {"name": "count", "table": "items"}}).to_string().into(),
            ))
            .await;
        assert_eq!(close_of(&mut a).await, (Some((4001, OFF.into())), 0), "{kind:?}: the streaming receiver");
        assert_eq!(close_of(&mut idle).await, (Some((4001, OFF.into())), 0), "{kind:?}: the idle receiver");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{kind:?}: at once, not at the next ping: {:?}",
            started.elapsed()
        );
        let receivers = app.instance.sender.receivers(&session);
        assert_eq!(receivers.len(), 2);
        assert!(receivers.iter().all(|r| !r.connected), "{kind:?}: both sockets are gone");
        assert_eq!(open(app.instance.addr, &format!("code.{}", new_code(&app))).await.unwrap_err(), 403, "{kind:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn switching_transfers_off_on_another_replica_closes_the_receivers_of_this_one() {
    let here = sender(EngineKind::Postgres).await;
    let mut config = server::ServeConfig::with_database(here.test_db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.receiver_ping_secs = 1;
    config.receiver_timeout_secs = 3;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = server::Instance::start_on(&config, listener).await.unwrap();
    let admin = support::client();
    let login = admin
        .post(format!("{}/api/login", other.url()))
        .form(&[("username", support::ADMIN), ("password", support::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);

    let (mut streaming, _) = joined(&here).await;
    let (mut idle, _) = joined(&here).await;
    for id in 1..=6 {
        send(&mut streaming, fetch(id, id * 10)).await;
    }
    for id in 1..=4 {
        assert_eq!(page(&mut streaming).await, id);
    }
    switch(&admin, &other.url(), false).await;
    let started = Instant::now();
    // The next request on this replica reads the persisted toggle: the socket closes, no data.
    send(&mut streaming, json!({"type": "credit", "n": 2})).await;
    send(&mut streaming, fetch(7, 0)).await;
    assert_eq!(close_of(&mut streaming).await, (Some((4001, OFF.into())), 0));
    // An idle socket sends no request: it closes at its next ping (every second here).
    assert_eq!(close_of(&mut idle).await, (Some((4001, OFF.into())), 0));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    switch(&admin, &other.url(), true).await;
    let (mut back, _) = joined(&here).await;
    send(&mut back, json!({"type": "request", "id": 1, "op": {"name": "count", "table": "items"}})).await;
    assert_eq!(next_json(&mut back).await["result"], 200, "on again, served again");
    other.stop().await;
    here.stop().await;
}

/// A proxy to `target` whose connections opened so far can be frozen: bytes stop moving both ways and the
/// sockets stay open, as a dead peer behind a NAT or a pulled cable leaves them. Later connections flow.
struct Proxy {
    addr: SocketAddr,
    opened: std::sync::Arc<std::sync::atomic::AtomicU64>,
    frozen_below: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen_below, frozen) = watch::channel(0u64);
        let opened = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let count = opened.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let server = tokio::net::TcpStream::connect(target).await.unwrap();
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pipe(cr, sw, n, frozen.clone()));
                tokio::spawn(pipe(sr, cw, n, frozen.clone()));
            }
        });
        Proxy { addr, opened, frozen_below }
    }

    /// Freezes every connection opened so far.
    fn freeze(&self) {
        self.frozen_below.send_replace(self.opened.load(std::sync::atomic::Ordering::SeqCst));
    }
}

/// Copies `from` to `to` until connection `n` is frozen; then holds both halves open, moving nothing.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    n: u64,
    mut frozen: watch::Receiver<u64>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            r = from.read(&mut buf) => r,
            _ = frozen.wait_for(|below| n < *below) => break,
        };
        let Ok(len @ 1..) = read else { return };
        if n < *frozen.borrow() {
            break;
        }
        if to.write_all(&buf[..len]).await.is_err() {
            return;
        }
    }
    std::future::pending::<()>().await;
    drop((from, to));
}

#[tokio::test]
async fn a_receiver_that_stops_reading_is_dropped_within_the_bound_and_its_token_resumes() {
    let app = sender(EngineKind::Sqlite).await;
    // Pages of ~2 MiB that do not compress: what the stalled receiver asked for fills the TCP buffers, so the
    // sender's writer is stuck mid-frame as well.
    exec(
        &app.instance.db,
        "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
        INSERT INTO blobs SELECT i, randomblob(4096) FROM n",
    )
    .await;
    let (mut stalled, welcome) = joined(&app).await;
    let token = welcome["resume_token"].as_str().unwrap().to_owned();
    send(&mut stalled, json!({"type": "credit", "n": 16})).await;
    for id in 0..20u64 {
        send(&mut stalled, json!({"type": "request", "id": id, "op": {"name": "fetch", "table": "blobs", "limit": 500, "offset": id * 500}})).await;
    }
    // From here on the receiver reads nothing and answers no ping (tungstenite answers only when polled).
    let stalled_at = Instant::now();
    assert_eq!(open(app.instance.addr, &format!("resume.{token}")).await.unwrap_err(), 409, "still connected");
    let resumed = loop {
        match open(app.instance.addr, &format!("resume.{token}")).await {
            Ok(ws) => break ws,
            Err(409) if stalled_at.elapsed() < Duration::from_secs(8) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("resume refused with {status} after {:?}", stalled_at.elapsed()),
        }
    };
    let waited = stalled_at.elapsed();
    // Silent for 3 s, noticed at the next ping of a 1 s interval.
    assert!(waited >= Duration::from_millis(2500) && waited <= Duration::from_millis(4500), "{waited:?}");
    let mut resumed = resumed;
    send(&mut resumed, json!({"type": "hello", "versions": [1], "receiver": {"site_url": "", "project": "", "user_name": "", "user_email": ""}})).await;
    assert_eq!(next_json(&mut resumed).await["receiver_id"], welcome["receiver_id"]);
    send(&mut resumed, json!({"type": "request", "id": 1, "op": {"name": "count", "table": "blobs"}})).await;
    assert_eq!(next_json(&mut resumed).await["result"], 10000);
    // The resumed receiver stays past the bound: it answers pings (tungstenite does while polled).
    idle_for(&mut resumed, Duration::from_secs(5)).await;
    send(&mut resumed, json!({"type": "request", "id": 2, "op": {"name": "ping"}})).await;
    assert_eq!(next_json(&mut resumed).await["result"], "pong");
    drop(stalled);
    app.stop().await;
}

#[tokio::test]
async fn a_receiver_that_never_reads_but_keeps_sending_pongs_is_dropped_within_the_bound() {
    let app = sender(EngineKind::Sqlite).await;
    // Pages of ~2 MiB that do not compress: 16 of them granted and never read pin the sender's writer mid-frame.
    exec(
        &app.instance.db,
        "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
        INSERT INTO blobs SELECT i, randomblob(4096) FROM n",
    )
    .await;
    let (mut hostile, welcome) = joined(&app).await;
    let token = welcome["resume_token"].as_str().unwrap().to_owned();
    send(&mut hostile, json!({"type": "credit", "n": 16})).await;
    for id in 0..20u64 {
        send(&mut hostile, json!({"type": "request", "id": id, "op": {"name": "fetch", "table": "blobs", "limit": 500, "offset": id * 500}})).await;
    }
    // From here on it reads nothing, and sends an unsolicited pong every 200 ms (each one reaches the sender,
    // which reads everything it is sent).
    let stalled_at = Instant::now();
    let (mut sink, unread) = hostile.split();
    let pongs = tokio::spawn(async move {
        let mut sent = 0u32;
        while sink.send(Message::Pong(b"alive".to_vec().into())).await.is_ok() {
            sent += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent
    });
    assert_eq!(open(app.instance.addr, &format!("resume.{token}")).await.unwrap_err(), 409, "still connected");
    loop {
        match open(app.instance.addr, &format!("resume.{token}")).await {
            Ok(_) => break,
            Err(409) if stalled_at.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("resume refused with {status} after {:?}", stalled_at.elapsed()),
        }
    }
    let waited = stalled_at.elapsed();
    // No frame went out for 3 s (the bound): dropped then, though a pong came every 200 ms.
    assert!(waited >= Duration::from_millis(2500) && waited <= Duration::from_millis(4500), "{waited:?}");
    assert!(!pongs.is_finished(), "the pongs kept going until the sender dropped the socket");
    // The dropped connection refuses the pongs soon after.
    let sent = tokio::time::timeout(Duration::from_secs(10), pongs).await.expect("the socket is closed").unwrap();
    assert!(sent >= 10, "{sent} pongs");
    drop(unread);
    app.stop().await;
}

#[tokio::test]
async fn a_socket_that_never_says_hello_is_dropped_within_the_bound() {
    let app = sender(EngineKind::Sqlite).await;
    let mut ws = open(app.instance.addr, &format!("code.{}", new_code(&app))).await.unwrap();
    let started = Instant::now();
    // Polled, so it answers the pings, but it never says hello.
    let (close, data) = close_of(&mut ws).await;
    assert_eq!((close, data), (None, 0));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(2500) && waited <= Duration::from_millis(4500), "{waited:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_client_notices_a_silent_sender_and_resumes_on_a_new_connection() {
    let app = sender(EngineKind::Sqlite).await;
    let proxy = Proxy::start(app.instance.addr).await;
    let options = ClientOptions { timeout: Duration::from_secs(2), ..ClientOptions::default() };
    let client = Client::connect(&format!("http://{}", proxy.addr), &new_code(&app), options).await.unwrap();
    assert_eq!(client.get_count("items").await.unwrap(), 200);

    // Idle and frozen: the client's own pings go unanswered, and it ends the connection by itself, so the next
    // request fails at once as resumable instead of waiting out its timeout.
    proxy.freeze();
    let frozen_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let asked = Instant::now();
    match client.get_count("items").await {
        Err(ClientError::Disconnected { reason, stopped: false }) => {
            assert_eq!(reason, "no word from the sender for 2 s")
        }
        other => panic!("{other:?}"),
    }
    assert!(asked.elapsed() < Duration::from_millis(100), "{:?}", asked.elapsed());
    // The sender drops the frozen socket within its bound; the client's resume waits for that.
    client.resume().await.unwrap();
    assert_eq!(client.get_count("items").await.unwrap(), 200);
    assert!(frozen_at.elapsed() < Duration::from_secs(8), "{:?}", frozen_at.elapsed());

    // Frozen mid-request: no reply within the timeout ends the connection too, and resume opens a new one.
    proxy.freeze();
    let frozen_at = Instant::now();
    let error = client.get_count("items").await.unwrap_err();
    assert!(matches!(error, ClientError::Timeout(2) | ClientError::Disconnected { stopped: false, .. }), "{error:?}");
    client.resume().await.unwrap();
    assert_eq!(client.get_count("items").await.unwrap(), 200);
    assert!(frozen_at.elapsed() < Duration::from_secs(8), "{:?}", frozen_at.elapsed());
    client.disconnect().await;
    app.stop().await;
}

#[tokio::test]
async fn a_resume_waits_until_the_sender_drops_a_half_open_socket() {
    // A sender slower to notice than the client's old ten resume attempts (11 s): the resume must not fail as
    // "still connected" while the sender still holds the dead socket, as a background job's did.
    let app = spawn_app_with(EngineKind::Sqlite, |c| {
        c.receiver_ping_secs = 4;
        c.receiver_timeout_secs = 12;
    })
    .await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let proxy = Proxy::start(app.instance.addr).await;
    let options = ClientOptions { timeout: Duration::from_secs(2), ..ClientOptions::default() };
    let client = Client::connect(&format!("http://{}", proxy.addr), &new_code(&app), options).await.unwrap();
    assert_eq!(client.list_tables().await.unwrap().len(), 0);
    proxy.freeze();
    let frozen_at = Instant::now();
    assert!(client.list_tables().await.unwrap_err().is_resumable());
    client.resume().await.expect("resumed once the sender dropped the old socket");
    let waited = frozen_at.elapsed();
    assert!(waited >= Duration::from_secs(12) && waited < Duration::from_secs(20), "{waited:?}");
    assert_eq!(client.list_tables().await.unwrap().len(), 0);
    client.disconnect().await;
    app.stop().await;
}

#[tokio::test]
async fn a_page_past_16_mib_on_the_wire_reaches_the_client() {
    let app = sender(EngineKind::Sqlite).await;
    // One row that does not compress: a page cannot be cut below one row, so its frame is ~20 MiB.
    exec(
        &app.instance.db,
        "CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
        INSERT INTO big VALUES (1, randomblob(20 * 1024 * 1024))",
    )
    .await;
    let client = Client::connect(
        &app.url,
        &new_code(&app),
        ClientOptions { timeout: Duration::from_secs(30), ..ClientOptions::default() },
    )
    .await
    .unwrap();
    assert_eq!(client.capabilities().max_page_bytes, Some(protocol::PageRequest::MAX_PAGE_BYTES as u64));
    let records = client.fetch_records("big", &FetchOptions::default()).await;
    let records = match records {
        Ok(r) => r,
        Err(ClientError::Disconnected { reason, .. }) => panic!("the page did not arrive: {reason}"),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(records.records.rows.len(), 1);
    match &records.records.rows[0][1] {
        protocol::Value::Bytes(b) => assert_eq!(b.len(), 20 * 1024 * 1024),
        other => panic!("{other:?}"),
    }
    client.disconnect().await;
    app.stop().await;
}
