//! The Send page's live connection: codes from it admit receivers, the receiver list arrives live, Disconnect
//! and End all close receiver sockets, and closing the page ends its session after the grace (a reload within
//! the grace keeps it).

mod support;

use std::time::Duration;

use engine::EngineKind;
use futures_util::{SinkExt, StreamExt};
use protocol::messages::SUBPROTOCOL;
use serde_json::{Value as J, json};
use support::{TestApp, spawn_app_with};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn cookie(app: &TestApp) -> String {
    let response = app.login(support::ADMIN, support::PASSWORD).await;
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page_socket(app: &TestApp, cookie: &str, query: &str, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request =
        format!("ws://{}/admin/db-transfer/send/live{query}", app.instance.addr).into_client_request().unwrap();
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
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let cookie = cookie(&app).await;
    assert_eq!(
        page_socket(&app, &cookie, "", Some("https://evil.example")).await.unwrap_err(),
        403,
        "other origins refused"
    );
    assert_eq!(
        page_socket(&app, "dbt_session=forged", "", None).await.unwrap_err(),
        303,
        "anonymous is sent to sign in"
    );

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
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
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
    dave.send(Message::Text(json!({"type": "request", "id": 1, "op": {"name": "ping"}}).to_string().into()))
        .await
        .unwrap();
    assert_eq!(next(&mut dave).await["result"], "pong", "still served after the grace");

    // Closed for good: after the grace every receiver socket of the session closes.
    drop(page);
    assert_eq!(close_reason(&mut dave).await, "the sender ended the transfer session");
    app.stop().await;
}

/// The Origin of the page's socket must be this site exactly: the public URL's scheme, host and port, or the
/// Host the request was sent to (over http, what this server speaks). Prefixes, other ports and other schemes
/// are other sites, and a browser on them carries the admin's cookie.
#[tokio::test]
async fn the_live_socket_accepts_only_this_sites_exact_origin() {
    let app =
        spawn_app_with(EngineKind::Sqlite, |c| c.public_url = Some("https://transfer.example:8443/".into())).await;
    let cookie = cookie(&app).await;
    let port = app.instance.addr.port();
    let other_port = if port == 1 { 2 } else { port - 1 };
    for bad in [
        "https://transfer.example".to_owned(), // a prefix of the public URL (another port)
        "https://transfer.ex".to_owned(),      // a prefix host
        "https://transfer.example:84".to_owned(),
        "https://transfer.example:8443.evil.example".to_owned(),
        "http://transfer.example:8443".to_owned(), // another scheme
        format!("https://127.0.0.1:{port}"),       // the request was sent over http
        format!("http://127.0.0.1:{other_port}"),
        "http://127.0.0.1".to_owned(),
        "null".to_owned(),
    ] {
        assert_eq!(page_socket(&app, &cookie, "", Some(&bad)).await.unwrap_err(), 403, "{bad}");
    }
    for good in [
        "https://transfer.example:8443".to_owned(),
        "https://Transfer.Example:8443".to_owned(),
        format!("http://127.0.0.1:{port}"),
    ] {
        let mut page = page_socket(&app, &cookie, "", Some(&good)).await.unwrap_or_else(|s| panic!("{good}: {s}"));
        assert_eq!(next(&mut page).await["site_url"], "https://transfer.example:8443/", "{good}");
    }
    app.stop().await;
}

async fn ping(receiver: &mut Ws, id: u64) -> J {
    let request = json!({"type": "request", "id": id, "op": {"name": "ping"}});
    receiver.send(Message::Text(request.to_string().into())).await.unwrap();
    next(receiver).await
}

/// Two tabs on one session (a duplicated tab carries the session id): closing one leaves the session to the
/// other; "End all" in one is seen by both, and both stay live on the session; the session ends only once the
/// last tab has been gone for the grace.
#[tokio::test]
async fn two_tabs_hold_one_session_until_the_last_is_gone() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.send_grace_secs = 1).await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let cookie = cookie(&app).await;
    let mut first = page_socket(&app, &cookie, "", Some(&app.url)).await.unwrap();
    let session_id = next(&mut first).await["session_id"].as_str().unwrap().to_owned();
    let mut dave = receiver(&app, &new_code(&mut first).await).await;
    let query = format!("?session={session_id}");
    let mut second = page_socket(&app, &cookie, &query, Some(&app.url)).await.unwrap();
    assert_eq!(next(&mut second).await["session_id"], session_id.as_str(), "the second tab joins the session");
    until(&mut second, "receivers", |m| m["receivers"].as_array().unwrap().len() == 1).await;

    // The first tab closes; past the grace the second still holds the session and dave is served.
    drop(first);
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(ping(&mut dave, 1).await["result"], "pong", "still served: the other tab is open");
    let mut eve = receiver(&app, &new_code(&mut second).await).await;
    until(&mut second, "receivers", |m| m["receivers"].as_array().unwrap().len() == 2).await;

    // The first tab comes back; "End all" in the second closes every receiver and both tabs are told.
    let mut first = page_socket(&app, &cookie, &query, Some(&app.url)).await.unwrap();
    assert_eq!(next(&mut first).await["session_id"], session_id.as_str());
    second.send(Message::Text(json!({"op": "end_all"}).to_string().into())).await.unwrap();
    let reply = until(&mut second, "session", |m| m["ended"] == true).await;
    assert_eq!(reply["session_id"], session_id.as_str(), "the session stays, without receivers or codes");
    assert_eq!(close_reason(&mut dave).await, "the sender ended the transfer session");
    assert_eq!(close_reason(&mut eve).await, "the sender ended the transfer session");
    let told = until(&mut first, "session", |m| m["ended"] == true).await;
    assert_eq!(told["session_id"], session_id.as_str(), "the other tab is told");
    until(&mut first, "receivers", |m| m["receivers"].as_array().unwrap().is_empty()).await;

    // Both tabs still work on the session; once both are gone, its receivers close after the grace.
    let mut frank = receiver(&app, &new_code(&mut first).await).await;
    let mut grace = receiver(&app, &new_code(&mut second).await).await;
    drop(first);
    drop(second);
    assert_eq!(close_reason(&mut frank).await, "the sender ended the transfer session");
    assert_eq!(close_reason(&mut grace).await, "the sender ended the transfer session");
    app.stop().await;
}
