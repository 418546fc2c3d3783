//! Server functions of background transfers: start a job (from the Receive page, handing over the browser's
//! sender session, or with a fresh connection code), list jobs with their live counts, cancel, retry. The job
//! itself runs in the server's worker (`jobs` crate); these only record and queue.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::history::TableStrategy;
use protocol::jobs::JobView;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// What the Receive page (or a script) asks the server to pull in the background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    /// The sender as the admin typed it.
    pub sender_url: String,
    /// A fresh connection code, or …
    pub code: Option<String>,
    /// … the browser's own session with the sender, handed over (the browser closes its socket first).
    pub resume_token: Option<String>,
    /// In the order they should run (parents first).
    pub tables: Vec<TableStrategy>,
    pub create_missing: bool,
    pub batch_size: u32,
}

#[cfg(feature = "ssr")]
fn jobs_error(context: &str, e: jobs::JobsError) -> ApiError {
    super::respond(match e {
        jobs::JobsError::Invalid(m) => ApiError::BadRequest(m),
        other => ApiError::internal(context, other),
    })
}

/// Records and queues a background transfer; returns the job's id.
#[server(endpoint = "jobs/start", input = Json)]
pub async fn start_job(request: JobRequest) -> Result<i64, ApiError> {
    use appdata::jobs::Credential;
    let admin = crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    let credential = match (request.code, request.resume_token) {
        (Some(code), None) => Credential::Code(code.trim().to_owned()),
        (None, Some(token)) => Credential::Resume(token),
        _ => {
            return Err(super::respond(ApiError::BadRequest("give either a connection code or a resume token".into())));
        }
    };
    let submission = jobs::Submission {
        admin: admin.username,
        sender_url: request.sender_url,
        credential,
        tables: request.tables.into_iter().map(|t| (t.table, t.strategy)).collect(),
        create_missing: request.create_missing,
        batch_size: request.batch_size,
    };
    jobs::submit(&state.db, &state.jobs, submission).await.map_err(|e| jobs_error("starting a job", e))
}

/// The latest jobs, newest first, with each table's live counts.
#[server(endpoint = "jobs/list")]
pub async fn list_jobs() -> Result<Vec<JobView>, ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    appdata::jobs::list(&state.db, 100).await.map_err(|e| super::respond(ApiError::internal("listing jobs", e)))
}

/// Asks a job to stop after the page in flight.
#[server(endpoint = "jobs/cancel")]
pub async fn cancel_job(id: i64) -> Result<(), ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    if !jobs::cancel(&state.db, id).await.map_err(|e| jobs_error("cancelling a job", e))? {
        return Err(super::respond(ApiError::BadRequest(format!("job {id} does not exist or already ended"))));
    }
    Ok(())
}

/// Runs an ended job again from where each table stopped, with a new connection code when given.
#[server(endpoint = "jobs/retry")]
pub async fn retry_job(id: i64, code: Option<String>) -> Result<(), ApiError> {
    crate::session::require_admin().await.map_err(super::respond)?;
    let state = crate::state::app_state()?;
    if !jobs::retry(&state.db, &state.jobs, id, code).await.map_err(|e| jobs_error("retrying a job", e))? {
        return Err(super::respond(ApiError::BadRequest(format!(
            "job {id} cannot be retried: it is not failed, incomplete or cancelled"
        ))));
    }
    Ok(())
}
