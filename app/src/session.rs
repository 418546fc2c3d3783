//! The signed-in admin, as stored in the `tower-sessions` session, and the guard every server function calls.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::ApiError;

/// Session key under which the signed-in admin is stored.
pub const ADMIN_KEY: &str = "admin";

/// The admin a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAdmin {
    pub id: i64,
    pub username: String,
}

/// The client address the server resolved for this request (peer, or X-Forwarded-For from a trusted proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

pub async fn current_session() -> Result<Session, ApiError> {
    leptos_axum::extract::<Session>().await.map_err(|e| ApiError::internal("session layer missing", e))
}

/// The signed-in admin of this request, if any.
pub async fn signed_in_admin(session: &Session) -> Result<Option<SessionAdmin>, ApiError> {
    session.get::<SessionAdmin>(ADMIN_KEY).await.map_err(|e| ApiError::internal("reading session", e))
}

/// The signed-in admin, or `Unauthorized`. Every server function but `login` starts with this, even though the
/// server's middleware already refuses anonymous calls: two locks, so one mistake does not open the door.
pub async fn require_admin() -> Result<SessionAdmin, ApiError> {
    let session = current_session().await?;
    signed_in_admin(&session).await?.ok_or(ApiError::Unauthorized)
}

pub async fn client_ip() -> Result<IpAddr, ApiError> {
    let axum::Extension(ClientIp(ip)) = leptos_axum::extract::<axum::Extension<ClientIp>>()
        .await
        .map_err(|e| ApiError::internal("client address missing", e))?;
    Ok(ip)
}
