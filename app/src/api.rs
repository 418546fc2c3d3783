//! Server functions: the browser's only way into the server's data. All but `login` need an admin session; the
//! server's middleware refuses anonymous and cross-site calls before they get here, and each function checks
//! again with [`crate::session::require_admin`].

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ApiError;

#[cfg(feature = "ssr")]
pub mod chain;
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod prepared;
pub mod receive;

/// What the overview page shows about this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// Whether this instance serves receivers (the persisted system toggle).
    pub transfers_enabled: bool,
    /// "PostgreSQL" or "SQLite".
    pub engine: String,
    pub admin: String,
    pub version: String,
}

/// Signs an admin in and sends the browser on to `next` (a local path) or the overview.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<(), ApiError> {
    use crate::session::{ADMIN_KEY, SessionAdmin, client_ip, current_session};
    let state = crate::state::app_state()?;
    let ip = client_ip().await?;
    // The attempt counts as a failure before the password is hashed, so a burst of parallel guesses gets no
    // more evaluations than the limit; the right password clears the count below.
    if let Err(wait) = state.login_limiter.claim(ip) {
        return Err(respond(ApiError::RateLimited(wait.as_secs().max(1))));
    }
    let admin = accounts::admins::check_login(&state.db, &username, &password)
        .await
        .map_err(|e| respond(ApiError::internal("checking a login", e)))?;
    let Some(admin) = admin else {
        tracing::warn!(%ip, "failed login");
        return Err(respond(ApiError::BadCredentials));
    };
    state.login_limiter.record_success(ip);
    let session = current_session().await?;
    // A new id at sign-in: a session id planted before login is worth nothing after it.
    session.cycle_id().await.map_err(|e| ApiError::internal("cycling session id", e))?;
    session
        .insert(ADMIN_KEY, SessionAdmin { id: admin.id, username: admin.username.clone() })
        .await
        .map_err(|e| ApiError::internal("writing session", e))?;
    tracing::info!(admin = %admin.username, %ip, "admin signed in");
    leptos_axum::redirect(&crate::use_base_path().href(local_path_or_index(next.as_deref())));
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    let admin = crate::session::require_admin().await.map_err(respond)?;
    let session = crate::session::current_session().await?;
    session.flush().await.map_err(|e| ApiError::internal("ending session", e))?;
    tracing::info!(admin = %admin.username, "admin signed out");
    leptos_axum::redirect(&crate::use_base_path().href(crate::paths::LOGIN));
    Ok(())
}

#[server(endpoint = "system-status")]
pub async fn system_status() -> Result<InstanceStatus, ApiError> {
    let admin = crate::session::require_admin().await.map_err(respond)?;
    let state = crate::state::app_state()?;
    status_of(&state, admin).await
}

/// Turns serving receivers on or off, and answers with the new status.
#[server(endpoint = "set-transfers-enabled")]
pub async fn set_transfers_enabled(enabled: bool) -> Result<InstanceStatus, ApiError> {
    let admin = crate::session::require_admin().await.map_err(respond)?;
    let state = crate::state::app_state()?;
    appdata::settings::set_transfers_enabled(&state.db, enabled)
        .await
        .map_err(|e| ApiError::internal("saving the system toggle", e))?;
    // Off means every receiver is refused, including those connected now (their sockets also read the persisted
    // toggle, so one switched off on another replica of this database closes them too).
    let closed = if enabled { 0 } else { state.sender.stop_all(protocol::messages::TRANSFERS_OFF) };
    tracing::info!(admin = %admin.username, enabled, closed, "system toggle changed");
    status_of(&state, admin).await
}

#[cfg(feature = "ssr")]
async fn status_of(
    state: &crate::state::AppState,
    admin: crate::session::SessionAdmin,
) -> Result<InstanceStatus, ApiError> {
    let transfers_enabled = appdata::settings::transfers_enabled(&state.db)
        .await
        .map_err(|e| ApiError::internal("reading the system toggle", e))?;
    Ok(InstanceStatus {
        transfers_enabled,
        engine: state.db.engine().as_str().to_owned(),
        admin: admin.username,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// Sets the HTTP status that fits the error, so scripts see 401/429 rather than a blanket 500.
#[cfg(feature = "ssr")]
fn respond(error: ApiError) -> ApiError {
    use axum::http::StatusCode;
    let status = match &error {
        ApiError::Unauthorized | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
        ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ApiError::Internal | ApiError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(status);
    }
    error
}

/// `next` when it is a path on this site; anything else gives the overview, so the login form cannot be used as
/// an open redirect. Browsers strip tabs and newlines from a URL (`/\t/evil` becomes `//evil`, another host),
/// read `\` as `/`, and a path may be decoded once more on its way; so only printable ASCII is accepted (no
/// control character, space or backslash), never `//` at the start, and a percent escape only of a character
/// that is allowed itself and is neither `/` nor `%` (so no escaped form decodes into a refused one).
pub fn local_path_or_index(next: Option<&str>) -> &str {
    let plain = |b: u8| b.is_ascii_graphic() && b != b'\\';
    let escape_ok = |rest: &str| {
        rest.get(..2).filter(|hex| hex.bytes().all(|c| c.is_ascii_hexdigit())).is_some_and(|hex| {
            let b = u8::from_str_radix(hex, 16).unwrap_or(0);
            (plain(b) || b == b' ') && b != b'/' && b != b'%'
        })
    };
    match next {
        Some(p)
            if p.starts_with('/')
                && !p[1..].starts_with('/')
                && p.bytes().all(plain)
                && p.split('%').skip(1).all(escape_ok) =>
        {
            p
        }
        _ => crate::paths::INDEX,
    }
}

#[cfg(test)]
mod tests {
    use super::local_path_or_index;

    #[test]
    fn next_must_be_a_local_path() {
        for good in
            ["/", "/admin/db-transfer/send", "/admin/db-transfer/jobs?id=3&x=a%20b", "/admin/db-transfer/%7Euser"]
        {
            assert_eq!(local_path_or_index(Some(good)), good);
        }
        for bad in [
            None,
            Some(""),
            Some("x"),
            Some("//evil.example"),
            Some("https://evil.example"),
            Some("/\\evil"),
            Some("/\t/evil.example"),
            Some("/\n/evil.example"),
            Some("/\r/evil.example"),
            Some("\t//evil.example"),
            Some("/ /evil.example"),
            Some("/%09/evil.example"),
            Some("/%0a/evil.example"),
            Some("/%2F/evil.example"),
            Some("/%2f/evil.example"),
            Some("/%5Cevil.example"),
            Some("/%252F/evil.example"),
            Some("/%"),
            Some("/%4"),
            Some("/%+9/evil"),
            Some("/%G0"),
            Some("/caf\u{e9}"),
            Some("/\u{7f}"),
        ] {
            assert_eq!(local_path_or_index(bad), "/admin/db-transfer", "{bad:?}");
        }
    }
}
