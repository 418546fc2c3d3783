//! The Send page's live connection to its own server, `/admin/db-transfer/send/live` (admin session required by
//! the guard; other origins refused). The connection holds the send session: it is created when a page connects
//! without one, reattached by a reload or by another tab that carries its id (a duplicated tab), and ended —
//! every receiver socket closed — when the last page holding it has been away past the grace period. Over it a
//! page asks for codes, disconnects receivers and ends everything ("End all" closes the session's receivers and
//! codes and keeps the session, so every tab on it stays live and is told), and the server pushes the receiver
//! list whenever it changes.

use std::sync::Arc;
use std::time::Duration;

use app::session::{ADMIN_KEY, SessionAdmin};
use app::state::AppState;
use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use sender::SessionRegistry;
use serde::Deserialize;
use serde_json::json;

pub const PATH: &str = "/admin/db-transfer/send/live";
/// What a page is told when its session ended under it.
const SESSION_ENDED: &str = "this session has ended; reload the page";
/// How long a code admits a receiver.
const CODE_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct LiveConfig {
    pub state: AppState,
    /// What receivers type to reach this site (public URL, else derived from the request).
    pub public_url: Option<String>,
    pub base_path: String,
    /// How long a session outlives its page (reloads).
    pub grace: Duration,
}

pub fn routes(config: LiveConfig) -> Router {
    Router::new().route(PATH, get(live)).with_state(config)
}

#[derive(Deserialize)]
struct LiveQuery {
    session: Option<String>,
}

async fn live(
    State(config): State<LiveConfig>,
    session: tower_sessions::Session,
    Query(query): Query<LiveQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // Cross-site WebSocket hijacking: the cookie alone must not open this socket from another origin.
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same =
            origin.to_str().is_ok_and(|o| crate::guard::is_same_origin(o, &headers, config.public_url.as_deref()));
        if !same {
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
    }
    let Ok(Some(admin)) = session.get::<SessionAdmin>(ADMIN_KEY).await else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    let registry = config.state.sender.clone();
    let site_url = config.public_url.clone().unwrap_or_else(|| {
        let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
        format!("{scheme}://{host}{}", config.base_path)
    });
    ws.on_upgrade(move |socket| serve(socket, registry, (admin.username, query.session), site_url, config.grace))
}

/// One page's connection. The page holds its session (the one it asked for if that lives and is the admin's,
/// else a new one) from the upgrade on, so an upgrade that never completes holds nothing.
async fn serve(
    socket: WebSocket,
    registry: Arc<SessionRegistry>,
    (owner, asked): (String, Option<String>),
    site_url: String,
    grace: Duration,
) {
    let session_id = match asked {
        Some(id) if registry.page_attached(&id, &owner) => id,
        _ => registry.create_session(&owner),
    };
    let (mut sink, mut stream) = socket.split();
    let hello = json!({"type": "session", "session_id": session_id, "site_url": site_url});
    let ended = json!({"type": "session", "session_id": session_id, "site_url": site_url, "ended": true});
    if sink.send(Message::Text(hello.to_string().into())).await.is_err() {
        end_after_grace(registry, session_id, grace);
        return;
    }
    let mut last_sent = String::new();
    let mut resets_seen = registry.resets(&session_id);
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // Another tab on this session pressed "End all": this one is told too.
                let resets = registry.resets(&session_id);
                if resets != resets_seen {
                    resets_seen = resets;
                    let notice = match resets {
                        Some(_) => ended.to_string(),
                        None => json!({"type": "error", "message": SESSION_ENDED}).to_string(),
                    };
                    if sink.send(Message::Text(notice.into())).await.is_err() {
                        break;
                    }
                }
                let list = json!({"type": "receivers", "receivers": registry.receivers(&session_id)}).to_string();
                if list != last_sent {
                    if sink.send(Message::Text(list.clone().into())).await.is_err() {
                        break;
                    }
                    last_sent = list;
                }
            }
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break };
                let Message::Text(text) = message else { continue };
                let command: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                let reply = match command["op"].as_str() {
                    Some("new_code") => match registry.new_code(&session_id, CODE_TTL) {
                        Some(code) => json!({"type": "code", "code": code.as_str(), "expires_in_secs": CODE_TTL.as_secs()}),
                        None => json!({"type": "error", "message": SESSION_ENDED}),
                    },
                    Some("disconnect") => {
                        let receiver = command["receiver_id"].as_str().unwrap_or_default();
                        let found = registry.disconnect(&session_id, receiver);
                        json!({"type": "disconnected", "receiver_id": receiver, "found": found})
                    }
                    Some("end_all") if registry.reset_session(&session_id) => {
                        resets_seen = registry.resets(&session_id);
                        ended.clone()
                    }
                    Some("end_all") => json!({"type": "error", "message": SESSION_ENDED}),
                    _ => json!({"type": "error", "message": "unknown command"}),
                };
                if sink.send(Message::Text(reply.to_string().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    end_after_grace(registry, session_id, grace);
}

/// A page is gone: unless one holds the session again within the grace, it ends and its receivers are closed.
fn end_after_grace(registry: Arc<SessionRegistry>, session_id: String, grace: Duration) {
    if let Some(generation) = registry.page_detached(&session_id) {
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if registry.end_if_still_detached(&session_id, generation) {
                tracing::info!("send page closed: session ended, its receivers disconnected");
            }
        });
    }
}
