//! The browser side of the Send page's live connection (WASM only): a WebSocket to this server, commands out,
//! session and receiver updates in.

use std::cell::RefCell;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use leptos::prelude::*;

use crate::pages::send::SendSignals;

/// Where the session id is kept across reloads, so the server reattaches the page to its session.
const SESSION_KEY: &str = "dbt-send-session";

thread_local! {
    static COMMANDS: RefCell<Option<UnboundedSender<String>>> = const { RefCell::new(None) };
}

pub fn send(command: serde_json::Value) {
    COMMANDS.with(|c| {
        if let Some(tx) = &*c.borrow() {
            let _ = tx.unbounded_send(command.to_string());
        }
    });
}

pub fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

pub fn connect(base: String, s: SendSignals) {
    let Some(window) = web_sys::window() else { return };
    let location = window.location();
    let scheme = if location.protocol().unwrap_or_default() == "https:" { "wss" } else { "ws" };
    let host = location.host().unwrap_or_default();
    let storage = window.session_storage().ok().flatten();
    let previous = storage.as_ref().and_then(|st| st.get_item(SESSION_KEY).ok().flatten());
    let query = previous.map(|id| format!("?session={id}")).unwrap_or_default();
    let url = format!("{scheme}://{host}{base}/admin/db-transfer/send/live{query}");
    let ws = match WebSocket::open(&url) {
        Ok(ws) => ws,
        Err(e) => {
            s.status.set(format!("Cannot reach this server: {e}"));
            return;
        }
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = unbounded::<String>();
    COMMANDS.with(|c| *c.borrow_mut() = Some(tx));
    leptos::task::spawn_local(async move {
        while let Some(text) = rx.next().await {
            if sink.send(Message::Text(text)).await.is_err() {
                break;
            }
        }
    });
    leptos::task::spawn_local(async move {
        while let Some(Ok(Message::Text(text))) = stream.next().await {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            match v["type"].as_str() {
                Some("session") => {
                    s.connected.set(true);
                    s.status.set("Connected: this page holds the send session (with any other tab on it).".into());
                    s.site_url.set(v["site_url"].as_str().unwrap_or_default().to_owned());
                    if let (Some(st), Some(id)) = (&storage, v["session_id"].as_str()) {
                        let _ = st.set_item(SESSION_KEY, id);
                    }
                    if v["ended"] == true {
                        s.code.set(None);
                        s.notice.set(Some(
                            "All sessions ended: every receiver was disconnected and unused codes no longer work."
                                .into(),
                        ));
                    }
                }
                Some("receivers") => {
                    s.receivers.set(serde_json::from_value(v["receivers"].clone()).unwrap_or_default())
                }
                Some("code") => {
                    s.code.set(v["code"].as_str().map(str::to_owned));
                    s.notice.set(None);
                }
                Some("disconnected") => s.notice.set(Some("Receiver disconnected.".into())),
                Some("error") => s.notice.set(v["message"].as_str().map(str::to_owned)),
                _ => {}
            }
        }
        s.connected.set(false);
        s.status.set("Disconnected from this server: reload the page to start a new session.".into());
    });
}
