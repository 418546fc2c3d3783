//! The Send page's live connection: codes from it admit receivers, the receiver list arrives live, Disconnect
//! and End all close receiver sockets, and closing the page ends its session after the grace (a reload within
//! the grace keeps it).

mod support;

use std::time::Duration;

use engine::protocol::SUBPROTOCOL;
use engine::EngineKind;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as J};
use support::{spawn_app_with, TestApp};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn cookie(app: &TestApp) -> String {
    let response = app.login(support::ADMIN, support::PASSWORD).await;
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page_socket(app: &TestApp, cookie: &str, query: &str, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request = format!("ws://{}/admin/db-transfer/send/live{query}", app.instance.addr).into_client_request().unwrap();
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

async fn next(ws: &mut Ws) -> J {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message within 10 s") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    }
}

/// Reads until a message of `kind` satisfying `pred` arrives.
async fn until(ws: &mut Ws, kind: &str, pred: impl Fn(&J) -> bool) -> J {
    loop {
        let m = next(ws).await;
        if m["type"] == kind && pred(&m) {
            return m;
        }
    }
}

async fn receiver(app: &TestApp, code: &str) -> Ws {
    let mut request = format!("ws://{}/db-transfer/websocket", app.instance.addr).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", format!("{SUBPROTOCOL}, code.{code}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let hello = json!({"type": "hello", "versions": [1], "receiver": {"site_url": "https://b.example", "project": "B",
        "user_name": "Bob", "user_email": "bob@b.example"}});
    ws.send(Message::Text(hello.to_string().into())).await.unwrap();
    assert_eq!(next(&mut ws).await["type"], "welcome");
    ws
}

async fn close_reason(ws: &mut Ws) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("closed within 10 s") {
            Some(Ok(Message::Close(Some(frame)))) => return frame.reason.to_string(),
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    }
}

async fn new_code(page: &mut Ws) -> String {
    page.send(Message::Text(json!({"op": "new_code"}).to_string().into())).await.unwrap();
    until(page, "code", |_| true).await["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_send_page_drives_codes_receivers_disconnect_and_end_all() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.send_grace_secs = 1).await;
    engine::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let cookie = cookie(&app).await;
    assert_eq!(page_socket(&app, &cookie, "", Some("https://evil.example")).await.unwrap_err(), 403, "other origins refused");
    assert_eq!(page_socket(&app, "dbt_session=forged", "", None).await.unwrap_err(), 303, "anonymous is sent to sign in");

    let mut page = page_socket(&app, &cookie, "", Some(&app.url)).await.unwrap();
    let hello = next(&mut page).await;
    assert_eq!(hello["type"], "session");
    assert_eq!(hello["site_url"], app.url);

    let code = new_code(&mut page).await;
    assert_eq!(code.len(), 8);
    let mut bob = receiver(&app, &code).await;
    let listed = until(&mut page, "receivers", |m| m["receivers"][0]["info"]["user_name"] == "Bob").await;
    let receiver_id = listed["receivers"][0]["receiver_id"].as_str().unwrap().to_owned();
    assert_eq!(listed["receivers"][0]["client_ip"], "127.0.0.1");

    page.send(Message::Text(json!({"op": "disconnect", "receiver_id": receiver_id}).to_string().into())).await.unwrap();
    assert_eq!(close_reason(&mut bob).await, "the sender disconnected this receiver");
    until(&mut page, "receivers", |m| m["receivers"].as_array().unwrap().is_empty()).await;

    let mut carol = receiver(&app, &new_code(&mut page).await).await;
    let pending = new_code(&mut page).await;
    page.send(Message::Text(json!({"op": "end_all"}).to_string().into())).await.unwrap();
    assert_eq!(close_reason(&mut carol).await, "the sender ended the transfer session");
    let mut request = format!("ws://{}/db-transfer/websocket", app.instance.addr).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", format!("{SUBPROTOCOL}, code.{pending}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "outstanding codes invalidated");
    app.stop().await;
}

#[tokio::test]
async fn closing_the_page_ends_its_session_after_the_grace_but_a_reload_keeps_it() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.send_grace_secs = 1).await;
    engine::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let cookie = cookie(&app).await;
    let mut page = page_socket(&app, &cookie, "", None).await.unwrap();
    let session_id = next(&mut page).await["session_id"].as_str().unwrap().to_owned();
    let mut dave = receiver(&app, &new_code(&mut page).await).await;

    // A reload: the page goes and comes back within the grace, with its session id.
    drop(page);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut page = page_socket(&app, &cookie, &format!("?session={session_id}"), None).await.unwrap();
    assert_eq!(next(&mut page).await["session_id"], session_id.as_str(), "reattached");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    dave.send(Message::Text(json!({"type": "request", "id": 1, "op": {"name": "ping"}}).to_string().into())).await.unwrap();
    assert_eq!(next(&mut dave).await["result"], "pong", "still served after the grace");

    // Closed for good: after the grace every receiver socket of the session closes.
    drop(page);
    assert_eq!(close_reason(&mut dave).await, "the sender ended the transfer session");
    app.stop().await;
}
