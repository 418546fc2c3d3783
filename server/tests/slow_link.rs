//! The client on a slow link (#13): a page is one WebSocket frame of several MiB, which takes many client
//! timeouts to arrive at 256 KiB/s. Deadlines follow the bytes as they come, not whole messages, so the page
//! lands on the first connection; a link that goes silent mid-page, or trickles only a few bytes a second,
//! still fails within a bound instead of hanging.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use appdata::testing::TestDb;
use client::{Client, ClientError, ClientOptions, FetchOptions, TransferOptions};
use engine::{EngineKind, Tables};
use support::{TestApp, code, exec, rows, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

/// The link's rate, each way.
const RATE: u64 = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(2);
/// 1200 rows of 4 KiB of random bytes: one page of about 4.7 MiB that zstd cannot shrink, ~19 s at [`RATE`]
/// (almost ten client timeouts for the one frame).
const ROWS: u64 = 1200;
const BLOB: u64 = 4096;

/// What the proxy does once `after` bytes went from the sender to the client.
#[derive(Clone, Copy)]
enum Then {
    /// Goes on at the rate.
    Flow,
    /// Forwards nothing more either way, and keeps both sockets open (a link that died half-open).
    Stall,
    /// Forwards 100 bytes every half second towards the client (the rest waits), and the client's bytes as
    /// before: a sender that looks alive but sends next to nothing.
    Trickle,
}

/// A TCP relay in front of the sender that forwards at most [`RATE`] bytes a second each way.
struct SlowProxy {
    addr: SocketAddr,
    /// Connections it accepted (a resume would be a second).
    connections: Arc<AtomicUsize>,
    /// Bytes read from the sender towards the client, all connections.
    down: Arc<AtomicU64>,
    /// When [`Then`] took over, if it did.
    changed_at: Arc<Mutex<Option<Instant>>>,
    cut: watch::Sender<u32>,
}

/// How the direction towards the client goes: bytes so far, the switch point, what then, when it switched.
#[derive(Clone)]
struct Downstream {
    total: Arc<AtomicU64>,
    after: u64,
    then: Then,
    changed_at: Arc<Mutex<Option<Instant>>>,
}

impl SlowProxy {
    async fn start(target: SocketAddr, after: u64, then: Then) -> SlowProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let down =
            Downstream { total: Arc::new(AtomicU64::new(0)), after, then, changed_at: Arc::new(Mutex::new(None)) };
        let (cut, cuts) = watch::channel(0u32);
        let (accepted, downstream) = (connections.clone(), down.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let outbound = TcpStream::connect(target).await.unwrap();
                inbound.set_nodelay(true).unwrap();
                outbound.set_nodelay(true).unwrap();
                let (client_read, client_write) = inbound.into_split();
                let (sender_read, sender_write) = outbound.into_split();
                let stalled = Arc::new(AtomicBool::new(false));
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                let down = relay(sender_read, client_write, stalled.clone(), Some(downstream.clone()));
                let up = relay(client_read, sender_write, stalled, None);
                tokio::spawn(async move {
                    // Either direction ending ends the connection (as a real link drop would); so does a cut.
                    tokio::select! {
                        _ = down => {}
                        _ = up => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        SlowProxy { addr, connections, down: down.total, changed_at: down.changed_at, cut }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn changed_at(&self) -> Option<Instant> {
        *self.changed_at.lock().unwrap()
    }

    /// Closes every connection (so a stalled one does not hold the sender's shutdown).
    fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

/// Copies `from` to `to` at [`RATE`]. Towards the client (`down` given) it counts the bytes and switches to
/// `then` once `after` of them went; a stall stops both directions (`stalled`).
async fn relay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, stalled: Arc<AtomicBool>, down: Option<Downstream>) {
    let started = tokio::time::Instant::now();
    let mut sent = 0u64;
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stalled.load(Ordering::SeqCst) {
            // Keeps both sockets open, forwards nothing, never ends.
            std::future::pending::<()>().await;
        }
        let mut chunk = &buf[..n];
        if let Some(Downstream { total, after, then, changed_at }) = &down {
            let before = total.fetch_add(n as u64, Ordering::SeqCst);
            if before + n as u64 > *after && !matches!(then, Then::Flow) {
                // Up to the switch at the rate, then the rest as `then` says.
                let keep = after.saturating_sub(before) as usize;
                if to.write_all(&chunk[..keep]).await.is_err() {
                    return;
                }
                changed_at.lock().unwrap().get_or_insert_with(Instant::now);
                chunk = &chunk[keep..];
                match then {
                    Then::Stall => {
                        stalled.store(true, Ordering::SeqCst);
                        std::future::pending::<()>().await;
                    }
                    Then::Trickle => return trickle(&mut from, &mut to, chunk.to_vec()).await,
                    Then::Flow => unreachable!("checked above"),
                }
            }
        }
        if to.write_all(chunk).await.is_err() {
            return;
        }
        sent += n as u64;
        tokio::time::sleep_until(started + Duration::from_secs_f64(sent as f64 / RATE as f64)).await;
    }
}

/// Forwards `pending`, then whatever `from` sends, 100 bytes every half second.
async fn trickle(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf, mut pending: Vec<u8>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut buf = vec![0u8; 8 * 1024];
    let mut open = true;
    loop {
        tokio::select! {
            read = from.read(&mut buf), if open && pending.len() < 1 << 20 => match read {
                Ok(0) | Err(_) => open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick() => {
                let n = pending.len().min(100);
                if n > 0 && to.write_all(&pending[..n]).await.is_err() {
                    return;
                }
                pending.drain(..n);
            }
        }
    }
}

/// A SQLite sender with `blobs (id INTEGER PRIMARY KEY, data BLOB)`: [`ROWS`] rows of [`BLOB`] random bytes.
async fn sender() -> TestApp {
    let app = spawn_app(EngineKind::Sqlite).await;
    exec(
        &app.instance.db,
        &format!(
            "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
             INSERT INTO blobs SELECT i, randomblob({BLOB}) FROM n;"
        ),
    )
    .await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    app
}

fn options() -> ClientOptions {
    ClientOptions { timeout: TIMEOUT, ..ClientOptions::default() }
}

#[tokio::test]
async fn a_page_many_timeouts_long_lands_on_a_slow_link_without_a_resume() {
    let app = sender().await;
    let proxy = SlowProxy::start(app.instance.addr, u64::MAX, Then::Flow).await;
    let target = TestDb::new(EngineKind::Sqlite).await;
    let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
    let client = Client::connect(&proxy.url(), &code(&app), options()).await.unwrap();
    let started = Instant::now();
    let transfer = TransferOptions { create_missing_tables: true, ..TransferOptions::default() };
    let result = client.transfer(&local, "blobs", &transfer, &|_| {}).await.unwrap();
    let took = started.elapsed();
    eprintln!("slow link: {ROWS} rows, {} bytes down in {took:?}", proxy.down.load(Ordering::SeqCst));

    assert_eq!((result.rows, result.created, result.skipped, result.pages), (ROWS, ROWS, 0, 1), "{result:?}");
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(result.resumed, 0, "the page arrived on the first connection");
    assert_eq!(proxy.connections.load(Ordering::SeqCst), 1, "no second connection");
    // Random bytes do not compress: the one page was most of what came down, many timeouts' worth at the rate.
    let down = proxy.down.load(Ordering::SeqCst);
    assert!(down >= ROWS * BLOB, "{down} bytes down");
    assert!(took >= TIMEOUT * 8, "{took:?}: the link is slower than that");

    let totals = "SELECT CAST(COUNT(*) AS TEXT), CAST(SUM(LENGTH(data)) AS TEXT) FROM blobs";
    let want = vec![vec![Some(ROWS.to_string()), Some((ROWS * BLOB).to_string())]];
    assert_eq!(rows(&target.db, totals).await, want);
    let there = Tables::new(app.instance.db.clone(), protocol::Exclusions::default()).checksum("blobs").await.unwrap();
    assert_eq!(local.checksum("blobs").await.unwrap(), there, "the same bytes in every row");
    assert_eq!(there.1, ROWS);
    client.disconnect().await;
    proxy.cut_all();
    app.stop().await;
}

/// One page request on a proxy that turns `then` after 512 KiB of the page: the error, and how long after the
/// turn it came.
async fn fetch_until_the_link_fails(then: Then) -> (ClientError, Duration) {
    let app = sender().await;
    // The handshake and capabilities are a few KiB; 512 KiB more is two seconds into the page.
    let proxy = SlowProxy::start(app.instance.addr, 512 * 1024, then).await;
    let client = Client::connect(&proxy.url(), &code(&app), options()).await.unwrap();
    let fetch = FetchOptions { limit: ROWS as u32, ..FetchOptions::default() };
    let error = tokio::time::timeout(TIMEOUT * 10, client.fetch_raw("blobs", &fetch))
        .await
        .expect("the request failed in time, no hang")
        .expect_err("the page cannot arrive");
    let turned = proxy.changed_at().expect("the proxy turned mid-page");
    let after = turned.elapsed();
    assert_eq!(proxy.connections.load(Ordering::SeqCst), 1);
    assert!(error.is_resumable(), "{error:?}");
    proxy.cut_all();
    app.stop().await;
    (error, after)
}

#[tokio::test]
async fn a_link_that_goes_silent_mid_page_fails_within_the_bound() {
    let (error, after) = fetch_until_the_link_fails(Then::Stall).await;
    eprintln!("silent mid-page: {error:?} {after:?} after the stall");
    // The socket is silent: the client's own check ends it (or the request's window without progress does).
    match &error {
        ClientError::Disconnected { reason, stopped: false } => assert_eq!(reason, "no word from the sender for 2 s"),
        ClientError::Timeout(2) => {}
        other => panic!("{other:?}"),
    }
    assert!(after >= TIMEOUT && after < TIMEOUT * 3, "{after:?}");
}

#[tokio::test]
async fn a_link_that_trickles_a_few_bytes_mid_page_times_the_request_out() {
    let (error, after) = fetch_until_the_link_fails(Then::Trickle).await;
    eprintln!("trickling mid-page: {error:?} {after:?} after the trickle began");
    // Bytes keep coming, so the socket is not silent, but 200 bytes a second is no progress: the request's
    // window ends it.
    assert!(matches!(error, ClientError::Timeout(2)), "{error:?}");
    assert!(after >= TIMEOUT && after < TIMEOUT * 3, "{after:?}");
}
