//! The Send page's live connection to its own server, `/admin/db-transfer/send/live` (admin session required by
//! the guard; other origins refused). The connection *is* the send session: it is created (or, after a reload,
//! reattached) when the page connects, and ended — every receiver socket closed — when the page stays away past
//! the grace period. Over it the page asks for codes, disconnects receivers and ends everything, and the server
//! pushes the receiver list whenever it changes.

use std::sync::Arc;
use std::time::Duration;

use app::session::{SessionAdmin, ADMIN_KEY};
use app::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use engine::sender::SessionRegistry;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

pub const PATH: &str = "/admin/db-transfer/send/live";
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
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        let public_ok = config.public_url.as_deref().is_some_and(|p| p.trim_end_matches('/').starts_with(origin));
        if !origin_host.eq_ignore_ascii_case(host) && !public_ok {
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
    }
    let Ok(Some(admin)) = session.get::<SessionAdmin>(ADMIN_KEY).await else {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    };
    let registry = config.state.sender.clone();
    let session_id = match query.session {
        Some(id) if registry.page_attached(&id, &admin.username) => id,
        _ => registry.create_session(&admin.username),
    };
    let site_url = config.public_url.clone().unwrap_or_else(|| {
        let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
        format!("{scheme}://{host}{}", config.base_path)
    });
    ws.on_upgrade(move |socket| serve(socket, registry, session_id, site_url, config.grace))
}

async fn serve(socket: WebSocket, registry: Arc<SessionRegistry>, mut session_id: String, site_url: String, grace: Duration) {
    let (mut sink, mut stream) = socket.split();
    let owner = registry.session_owner(&session_id).unwrap_or_default();
    let hello = json!({"type": "session", "session_id": session_id, "site_url": site_url});
    if sink.send(Message::Text(hello.to_string().into())).await.is_err() {
        end_after_grace(registry, session_id, grace);
        return;
    }
    let mut last_sent = String::new();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    loop {
        tokio::select! {
            _ = tick.tick() => {
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
                        None => json!({"type": "error", "message": "this session has ended; reload the page"}),
                    },
                    Some("disconnect") => {
                        let receiver = command["receiver_id"].as_str().unwrap_or_default();
                        let found = registry.disconnect(&session_id, receiver);
                        json!({"type": "disconnected", "receiver_id": receiver, "found": found})
                    }
                    Some("end_all") => {
                        registry.end_session(&session_id);
                        session_id = registry.create_session(&owner);
                        json!({"type": "session", "session_id": session_id, "site_url": site_url, "ended": true})
                    }
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

/// The page is gone: unless it comes back within the grace, its session ends and its receivers are closed.
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
