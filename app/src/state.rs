//! What the server hands to every page render and server function (through Leptos context).

use std::sync::Arc;

use accounts::FailureLimiter;
use engine::Db;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    /// Failed logins per client address.
    pub login_limiter: Arc<FailureLimiter>,
}

/// The state of the instance serving this request.
pub fn app_state() -> Result<AppState, crate::ApiError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::ApiError::internal("AppState missing from context", "server misconfigured"))
}
