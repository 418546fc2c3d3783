//! The axum router of one instance: Leptos pages and server functions, static files, and the guard layers.

use app::state::AppState;
use app::{App, BasePath, shell};
use axum::Router;
use axum::middleware::from_fn_with_state;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::guard::{self, GuardConfig};

/// Name of the session cookie unless configured (`--session-cookie`).
pub const SESSION_COOKIE: &str = "dbt_session";

pub fn build_router(
    state: AppState,
    options: LeptosOptions,
    guard_config: GuardConfig,
    base: BasePath,
    live: crate::send_live::LiveConfig,
    secure_cookies: bool,
    session_cookie: String,
) -> Router {
    let sessions = SessionManagerLayer::new(accounts::DbSessionStore::new(state.db.clone()))
        .with_name(session_cookie)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)));

    let sender_routes = crate::sender_socket::routes(state.clone());
    let context = {
        let base = base.clone();
        move || {
            provide_context(state.clone());
            provide_context(base.clone());
        }
    };
    let page = {
        let (options, base) = (options.clone(), base.clone());
        move || shell(options.clone(), base.clone())
    };
    Router::new()
        .leptos_routes_with_context(&options, generate_route_list(App), context.clone(), page)
        .fallback(leptos_axum::file_and_error_handler_with_context::<LeptosOptions, _>(context, move |options| {
            shell(options, base.clone())
        }))
        .with_state(options)
        .merge(sender_routes)
        .merge(crate::send_live::routes(live))
        // The guard caps bodies per caller (anonymous: small; admin: one relayed page); axum's 2 MB is off.
        .layer(axum::extract::DefaultBodyLimit::disable())
        // Outermost last: client address first, then the session, then the guard that reads both.
        .layer(from_fn_with_state(guard_config.clone(), guard::require_admin))
        .layer(sessions)
        .layer(from_fn_with_state(guard_config, guard::resolve_client_ip))
}

/// Every page path the app registers (as axum paths), for tests that prove each is guarded.
pub fn page_paths() -> Vec<String> {
    generate_route_list(App).iter().map(|route| route.path().to_owned()).collect()
}

/// Every server function path with its HTTP method.
pub fn server_fn_paths() -> Vec<(String, String)> {
    leptos::server_fn::axum::server_fn_paths().map(|(path, method)| (path.to_owned(), method.to_string())).collect()
}
