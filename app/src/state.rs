//! What the server hands to every page render and server function (through Leptos context).

use std::sync::Arc;

use accounts::FailureLimiter;
use engine::{Db, Tables};
use sender::SessionRegistry;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    /// The transferable tables of this instance (exclusions applied).
    pub tables: Tables,
    /// Send sessions, codes and connected receivers.
    pub sender: Arc<SessionRegistry>,
    /// Failed logins per client address.
    pub login_limiter: Arc<FailureLimiter>,
    /// Failed connection codes per client address.
    pub code_limiter: Arc<FailureLimiter>,
    /// The background transfer queue (on this instance's database).
    pub jobs: jobs::JobQueue,
    /// How this site introduces itself to senders when it receives.
    pub site: SiteInfo,
    /// Tables prepared for the pages Receive pages relay (`receive/prepare-table`).
    pub imports: Arc<crate::api::prepared::PreparedImports>,
}

/// This site's name and address, as a receiver shows them to the sender.
#[derive(Clone, Debug, Default)]
pub struct SiteInfo {
    /// The public URL when configured; otherwise the browser's own address is used.
    pub public_url: Option<String>,
    pub project: String,
}

/// The state of the instance serving this request.
pub fn app_state() -> Result<AppState, crate::ApiError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::ApiError::internal("AppState missing from context", "server misconfigured"))
}
