//! The sender's WebSocket protocol against a real server with a real WebSocket client: the full request set,
//! every refusal and bad input with its clear error while a second receiver keeps working, flow control,
//! Disconnect and End all closing live sockets, resume with the token.

mod support;

use engine::compress::PageCompression;
use std::time::Duration;

use appdata::testing::ENGINES;
use engine::EngineKind;
use futures_util::{SinkExt, StreamExt};
use protocol::Page;
use protocol::messages::SUBPROTOCOL;
use serde_json::{Value as J, json};
use support::{TestApp, spawn_app, spawn_app_with};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn seeded(kind: EngineKind) -> TestApp {
    let app = spawn_app(kind).await;
    let sql = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8,2));
               CREATE TABLE secrets (id INTEGER PRIMARY KEY)";
    let rows: Vec<String> = (1..=25).map(|i| format!("({i}, 'item {i}', {i}.50)")).collect();
    let insert = format!("INSERT INTO items VALUES {}", rows.join(", "));
    match &app.instance.db {
        engine::Db::Postgres(p) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(p).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(insert)).execute(p).await.unwrap();
        }
        engine::Db::Sqlite(p) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(p).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(insert)).execute(p).await.unwrap();
        }
    }
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    app
}

/// Opens the socket offering `protocols`; on refusal, the HTTP status and body.
async fn open(app: &TestApp, protocols: &str) -> Result<Ws, (u16, String)> {
    let mut request = format!("ws://{}/db-transfer/websocket", app.instance.addr).into_client_request().unwrap();
    if !protocols.is_empty() {
        request.headers_mut().insert("sec-websocket-protocol", protocols.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(response)) => Err((
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        )),
        Err(other) => panic!("{other}"),
    }
}

fn new_code(app: &TestApp, session: &str) -> String {
    app.instance.sender.new_code(session, Duration::from_secs(300)).unwrap().as_str().to_owned()
}

async fn send(ws: &mut Ws, v: J) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next text message as JSON (binary frames are returned as {"binary": len} with the page in `page`).
async fn next(ws: &mut Ws) -> J {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message within 10 s") {
        Some(Ok(Message::Text(t))) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn next_page(ws: &mut Ws) -> (J, Page) {
    let (header, frame) = next_frame(ws).await;
    (header, Page::decompress(&frame).unwrap())
}

/// The next page's header and its bytes as they travelled (framed, compressed or not).
async fn next_frame(ws: &mut Ws) -> (J, Vec<u8>) {
    let header = next(ws).await;
    assert_eq!(header["type"], "page", "{header}");
    match ws.next().await {
        Some(Ok(Message::Binary(b))) => {
            assert_eq!(u64::from_le_bytes(b[..8].try_into().unwrap()), header["id"].as_u64().unwrap());
            assert_eq!(b.len() - 8, header["bytes"].as_u64().unwrap() as usize);
            (header, b[8..].to_vec())
        }
        other => panic!("expected the page's binary frame, got {other:?}"),
    }
}

async fn joined(app: &TestApp, session: &str) -> (Ws, J) {
    let mut ws = open(app, &format!("{SUBPROTOCOL}, code.{}", new_code(app, session))).await.unwrap();
    send(&mut ws, json!({"type": "hello", "versions": [1], "receiver": {
        "site_url": "https://receiver.example", "project": "Shop", "user_name": "Rita", "user_email": "rita@example.com"}}))
    .await;
    let welcome = next(&mut ws).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (ws, welcome)
}

async fn request(ws: &mut Ws, id: u64, op: J) -> J {
    send(ws, json!({"type": "request", "id": id, "op": op})).await;
    let reply = next(ws).await;
    assert_eq!(reply["id"], id, "{reply}");
    reply
}

#[tokio::test]
async fn a_receiver_runs_the_full_request_set() {
    for kind in ENGINES {
        let app = seeded(kind).await;
        let session = app.instance.sender.create_session("admin");
        let (mut ws, welcome) = joined(&app, &session).await;
        assert_eq!(welcome["version"], 1);
        assert_eq!(welcome["credits"], 4);

        let caps = request(&mut ws, 1, json!({"name": "capabilities"})).await;
        assert_eq!(caps["result"]["protocol"], 1);
        let tables = request(&mut ws, 2, json!({"name": "list_tables"})).await;
        let names: Vec<&str> =
            tables["result"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["items", "secrets"], "{kind:?}: the app's own tables are not listed");
        let schema = request(&mut ws, 3, json!({"name": "schema", "table": "items"})).await;
        assert_eq!(schema["result"]["primary_key"], json!(["id"]));
        assert_eq!(request(&mut ws, 4, json!({"name": "count", "table": "items"})).await["result"], 25);
        assert_eq!(request(&mut ws, 5, json!({"name": "ping"})).await["result"], "pong");

        // Pages by cursor, each row once, in key order.
        let mut ids = Vec::new();
        let mut cursor = J::Null;
        for id in 10.. {
            send(&mut ws, json!({"type": "request", "id": id, "op": {"name": "fetch", "table": "items", "limit": 10, "cursor": cursor}})).await;
            send(&mut ws, json!({"type": "credit", "n": 1})).await;
            let (header, page) = next_page(&mut ws).await;
            ids.extend(page.rows.iter().map(|r| r[0].clone()));
            assert_eq!(header["rows"], page.rows.len());
            if header["has_more"] == false {
                assert!(header["next"].is_null());
                break;
            }
            cursor = header["next"].clone();
        }
        assert_eq!(ids, (1..=25).map(protocol::Value::Int).collect::<Vec<_>>(), "{kind:?}");

        send(
            &mut ws,
            json!({"type": "request", "id": 40, "op": {"name": "fetch", "table": "items",
            "filter": {"kind": "key_range", "from": 3, "to": 5}}}),
        )
        .await;
        let (_, page) = next_page(&mut ws).await;
        assert_eq!(
            page.rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            (3..=5).map(protocol::Value::Int).collect::<Vec<_>>()
        );
        send(
            &mut ws,
            json!({"type": "request", "id": 41, "op": {"name": "fetch", "table": "items",
            "filter": {"kind": "keys", "keys": [[7], [24], [99]]}}}),
        )
        .await;
        let (_, page) = next_page(&mut ws).await;
        assert_eq!(page.rows.len(), 2);

        let checksum = request(&mut ws, 42, json!({"name": "checksum", "table": "items"})).await;
        let local = engine::Tables::new(app.instance.db.clone(), protocol::Exclusions::default())
            .checksum("items")
            .await
            .unwrap();
        assert_eq!(checksum["result"]["sha256"], local.0);
        assert_eq!(checksum["result"]["rows"], 25);

        let receivers = app.instance.sender.receivers(&session);
        assert_eq!(receivers.len(), 1);
        assert_eq!(receivers[0].info.as_ref().unwrap().user_email, "rita@example.com");
        assert_eq!(receivers[0].rows_served, 25 + 3 + 2);
        assert_eq!(receivers[0].tables_served, 3, "each fetch that reached the end of its table");
        assert_eq!(receivers[0].client_ip, "127.0.0.1");

        // The same rows uncompressed when asked, zstd by default; both decode to the same page.
        assert_eq!(caps["result"]["compressions"], json!(["zstd", "none"]));
        let mut pages = Vec::new();
        for (id, compression, magic) in [(50, json!("none"), b"DBTR"), (51, J::Null, b"DBTZ")] {
            let mut op = json!({"name": "fetch", "table": "items", "limit": 25});
            if !compression.is_null() {
                op["compression"] = compression;
            }
            send(&mut ws, json!({"type": "request", "id": id, "op": op})).await;
            send(&mut ws, json!({"type": "credit", "n": 1})).await;
            let (_, frame) = next_frame(&mut ws).await;
            assert_eq!(&frame[..4], magic, "{kind:?}");
            pages.push(Page::decompress(&frame).unwrap());
        }
        assert_eq!(pages[0].rows.len(), 25);
        assert_eq!(pages[0], pages[1], "{kind:?}");
        let bad = request(&mut ws, 52, json!({"name": "fetch", "table": "items", "compression": "lz4"})).await;
        assert_eq!(bad["type"], "error", "{bad}");
        app.stop().await;
    }
}

#[tokio::test]
async fn every_bad_input_gets_its_clear_error_while_another_receiver_keeps_working() {
    let app = seeded(EngineKind::Sqlite).await;
    let session = app.instance.sender.create_session("admin");
    let (mut other, _) = joined(&app, &session).await;

    // Before hello, requests are refused.
    let mut early = open(&app, &format!("{SUBPROTOCOL}, code.{}", new_code(&app, &session))).await.unwrap();
    send(&mut early, json!({"type": "request", "id": 1, "op": {"name": "ping"}})).await;
    assert_eq!(next(&mut early).await["code"], "hello_first");
    send(&mut early, json!({"type": "hello", "versions": [7], "receiver": {"site_url": "", "project": "", "user_name": "", "user_email": ""}})).await;
    assert_eq!(next(&mut early).await["code"], "unsupported_version");

    let (mut ws, _) = joined(&app, &session).await;
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "bad_message"),
        (json!({"type": "bogus"}).to_string(), "bad_message"),
        (json!({"type": "request", "id": 5, "op": {"name": "drop_everything"}}).to_string(), "unknown_operation"),
        (json!({"type": "request", "id": 6, "op": {"name": "schema", "table": "dbt_admins"}}).to_string(), "table_not_found"),
        (json!({"type": "request", "id": 7, "op": {"name": "fetch", "table": "secrets\"; DROP TABLE items; --"}}).to_string(), "table_not_found"),
        (json!({"type": "request", "id": 8, "op": {"name": "count", "table": "_sqlx_migrations"}}).to_string(), "table_not_found"),
        (json!({"type": "request", "id": 9, "op": {"name": "fetch", "table": "items", "cursor": "zz"}}).to_string(), "bad_request"),
        (json!({"type": "request", "id": 10, "op": {"name": "fetch", "table": "items", "cursor": "00", "offset": 3}}).to_string(), "bad_request"),
        (json!({"type": "credit", "n": 1000}).to_string(), "too_many_credits"),
        (json!({"type": "credit", "n": 0}).to_string(), "too_many_credits"),
        ("x".repeat(70 * 1024), "message_too_large"),
        (json!({"type": "hello", "versions": [1], "receiver": {"site_url": "", "project": "", "user_name": "", "user_email": ""}}).to_string(), "hello_first"),
    ];
    for (raw, code) in cases {
        ws.send(Message::Text(raw.clone().into())).await.unwrap();
        let reply = next(&mut ws).await;
        assert_eq!(reply["type"], "error", "{}", &raw[..raw.len().min(80)]);
        assert_eq!(reply["code"], code, "{}: {reply}", &raw[..raw.len().min(80)]);
        assert!(!reply["message"].as_str().unwrap().is_empty());
        // The same socket and the other receiver still answer.
        assert_eq!(request(&mut ws, 100, json!({"name": "ping"})).await["result"], "pong");
    }
    ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(next(&mut ws).await["code"], "bad_message");
    assert_eq!(request(&mut other, 200, json!({"name": "count", "table": "items"})).await["result"], 25);

    // A frame past the WebSocket layer's limit closes only that socket (1009), not the server.
    ws.send(Message::Text("y".repeat(2 * 1024 * 1024).into())).await.ok();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert!(matches!(closed, Some(1009) | None), "{closed:?}");
    assert_eq!(request(&mut other, 201, json!({"name": "ping"})).await["result"], "pong");
    app.stop().await;
}

#[tokio::test]
async fn codes_are_single_use_and_refusals_are_distinct_http_errors() {
    let app = seeded(EngineKind::Sqlite).await;
    let session = app.instance.sender.create_session("admin");
    let code = new_code(&app, &session);
    // A browser page of another site (the receiver's) is welcome: the code is the authentication.
    let mut request = format!("ws://{}/db-transfer/websocket", app.instance.addr).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", format!("{SUBPROTOCOL}, code.{}", code.to_lowercase()).parse().unwrap());
    request.headers_mut().insert("origin", "https://receiver.example".parse().unwrap());
    let _first = tokio_tungstenite::connect_async(request).await.expect("case-insensitive, cross-origin");
    let used = open(&app, &format!("{SUBPROTOCOL}, code.{code}")).await.unwrap_err();
    assert_eq!(used.0, 409, "{used:?}");
    assert!(used.1.contains("already used"));
    let wrong = open(&app, &format!("{SUBPROTOCOL}, code.ABCDEFGH")).await.unwrap_err();
    assert_eq!(wrong, (403, "invalid connection code".into()));
    assert_eq!(open(&app, SUBPROTOCOL).await.unwrap_err().0, 401, "missing code");
    assert_eq!(open(&app, &format!("code.{}", new_code(&app, &session))).await.unwrap_err().0, 400, "no dbt.v1");

    let short = app.instance.sender.new_code(&session, Duration::from_secs(1)).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = open(&app, &format!("{SUBPROTOCOL}, code.{}", short.as_str())).await.unwrap_err();
    assert_eq!(expired.0, 410);
    assert!(expired.1.contains("expired"), "{expired:?}");

    // A plain GET is not an upgrade.
    let plain = support::client().get(app.at("/db-transfer/websocket")).send().await.unwrap();
    assert_eq!(plain.status(), 400);

    appdata::settings::set_transfers_enabled(&app.instance.db, false).await.unwrap();
    let off = open(&app, &format!("{SUBPROTOCOL}, code.{}", new_code(&app, &session))).await.unwrap_err();
    assert_eq!(off, (403, "transfers are switched off on this site".into()));
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_are_rate_limited_per_client() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.code_max_failures = 3).await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let session = app.instance.sender.create_session("admin");
    for _ in 0..3 {
        assert_eq!(open(&app, &format!("{SUBPROTOCOL}, code.ABCDEFGH")).await.unwrap_err().0, 403);
    }
    let limited = open(&app, &format!("{SUBPROTOCOL}, code.{}", new_code(&app, &session))).await.unwrap_err();
    assert_eq!(limited.0, 429, "even a good code waits: {limited:?}");
    app.stop().await;
}

async fn closed_with(ws: &mut Ws) -> (u16, String) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
                Some(Ok(_)) => continue,
                other => panic!("socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 10 s")
}

#[tokio::test]
async fn credits_bound_what_is_in_flight_and_disconnect_and_end_all_close_live_sockets() {
    let app = seeded(EngineKind::Sqlite).await;
    let session = app.instance.sender.create_session("admin");
    let (mut a, _) = joined(&app, &session).await;
    let (b, welcome_b) = joined(&app, &session).await;

    // Six page requests, four credits: exactly four pages come, then nothing until a credit.
    for id in 1..=6 {
        send(&mut a, json!({"type": "request", "id": id, "op": {"name": "fetch", "table": "items", "limit": 2, "offset": id * 2}})).await;
    }
    for id in 1..=4 {
        assert_eq!(next_page(&mut a).await.0["id"], id);
    }
    assert!(tokio::time::timeout(Duration::from_millis(500), a.next()).await.is_err(), "no fifth page without credit");
    send(&mut a, json!({"type": "credit", "n": 1})).await;
    assert_eq!(next_page(&mut a).await.0["id"], 5);

    // Disconnect `a` while its sixth request waits for a credit: the socket closes now, with the reason.
    let a_id = app.instance.sender.receivers(&session)[0].receiver_id.clone();
    assert!(app.instance.sender.disconnect(&session, &a_id));
    assert_eq!(closed_with(&mut a).await, (4001, "the sender disconnected this receiver".into()));
    assert_eq!(app.instance.sender.receivers(&session).len(), 1);

    // `b` drops and comes back with its resume token, no new code needed.
    drop(b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let token = welcome_b["resume_token"].as_str().unwrap();
    let mut b = open(&app, &format!("{SUBPROTOCOL}, resume.{token}")).await.expect("resume");
    send(&mut b, json!({"type": "hello", "versions": [1], "receiver": {"site_url": "", "project": "", "user_name": "", "user_email": ""}})).await;
    let again = next(&mut b).await;
    assert_eq!(again["receiver_id"], welcome_b["receiver_id"]);
    assert_eq!(request(&mut b, 1, json!({"name": "ping"})).await["result"], "pong");

    // End all: every socket closes, outstanding codes stop working.
    let pending = new_code(&app, &session);
    let (mut c, _) = joined(&app, &session).await;
    app.instance.sender.end_session(&session);
    assert_eq!(closed_with(&mut b).await, (4001, "the sender ended the transfer session".into()));
    assert_eq!(closed_with(&mut c).await.0, 4001);
    assert_eq!(open(&app, &format!("{SUBPROTOCOL}, code.{pending}")).await.unwrap_err().0, 403);
    assert_eq!(open(&app, &format!("{SUBPROTOCOL}, resume.{token}")).await.unwrap_err().0, 403);
    app.stop().await;
}

/// Opens the socket as a browser does (with an Origin): refusals arrive as close codes after the upgrade.
async fn open_as_browser(app: &TestApp, protocols: &str) -> Ws {
    let mut request = format!("ws://{}/db-transfer/websocket", app.instance.addr).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", protocols.parse().unwrap());
    request.headers_mut().insert("origin", "http://receiver.example".parse().unwrap());
    tokio_tungstenite::connect_async(request).await.expect("a browser is always upgraded").0
}

#[tokio::test]
async fn browsers_learn_why_they_were_refused_from_the_close_code() {
    let app = seeded(EngineKind::Sqlite).await;
    let session = app.instance.sender.create_session("admin");
    let code = new_code(&app, &session);
    let _first = open_as_browser(&app, &format!("{SUBPROTOCOL}, code.{code}")).await;
    let mut used = open_as_browser(&app, &format!("{SUBPROTOCOL}, code.{code}")).await;
    let (close, reason) = closed_with(&mut used).await;
    assert_eq!(close, 4409);
    assert!(reason.contains("already used"), "{reason}");
    let mut wrong = open_as_browser(&app, &format!("{SUBPROTOCOL}, code.ABCDEFGH")).await;
    assert_eq!(closed_with(&mut wrong).await, (4403, "invalid connection code".into()));
    app.instance.sender.end_session(&session);
    let ended_code = new_code(&app, &app.instance.sender.create_session("admin"));
    appdata::settings::set_transfers_enabled(&app.instance.db, false).await.unwrap();
    let mut off = open_as_browser(&app, &format!("{SUBPROTOCOL}, code.{ended_code}")).await;
    assert_eq!(closed_with(&mut off).await, (4403, "transfers are switched off on this site".into()));
    app.stop().await;
}

#[tokio::test]
async fn json_pages_serve_previews_without_credits() {
    for kind in ENGINES {
        let app = seeded(kind).await;
        let session = app.instance.sender.create_session("admin");
        let (mut ws, _) = joined(&app, &session).await;
        // More requests than credits: json pages do not use them.
        let mut ids = Vec::new();
        let mut cursor = J::Null;
        for id in 1..=10 {
            let reply = request(
                &mut ws,
                id,
                json!({"name": "fetch", "table": "items", "limit": 4, "cursor": cursor, "format": "json"}),
            )
            .await;
            let result = &reply["result"];
            assert_eq!(result["columns"][0]["name"], "id", "{kind:?}");
            ids.extend(result["rows"].as_array().unwrap().iter().map(|r| r[0].as_i64().unwrap()));
            if result["has_more"] == false {
                break;
            }
            cursor = result["next"].clone();
        }
        assert_eq!(ids, (1..=25).collect::<Vec<_>>(), "{kind:?}");
        let keys = request(
            &mut ws,
            20,
            json!({"name": "fetch", "table": "items", "format": "json",
            "filter": {"kind": "keys", "keys": [[7], [9]]}}),
        )
        .await;
        assert_eq!(
            keys["result"]["rows"].as_array().unwrap().iter().map(|r| r[0].as_i64().unwrap()).collect::<Vec<_>>(),
            [7, 9]
        );
        let big =
            request(&mut ws, 21, json!({"name": "fetch", "table": "items", "limit": 1001, "format": "json"})).await;
        assert_eq!(big["code"], "bad_request");
        assert!(big["message"].as_str().unwrap().contains("at most 1000"), "{big}");
        app.stop().await;
    }
}
