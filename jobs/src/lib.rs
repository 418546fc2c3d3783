//! Background transfers: an admin's pull from a sender that runs on this site's server, survives the tab closing
//! and the server restarting, and is shown on the Jobs page.
//!
//! - [`queue`]: the durable queue (apalis on the app's own database);
//! - [`runner`]: what one run of a job does — connect (code, then resume token), pull each table with the
//!   engine's client from its last committed page, retry lost connections with backoff, record the outcome;
//! - [`workers`]: the apalis workers of this instance (concurrency, heartbeats, shutdown);
//! - [`start`]: the admin-facing actions (submit, cancel, retry) shared by the server functions and tests.
//!
//! The job's own record (state, tables, cursors, counts) is `appdata::jobs`; its counts and cursor commit in the
//! transaction of each imported page, which is what makes a restarted job exact.

pub mod queue;
pub mod runner;
pub mod start;
pub mod workers;

use std::time::Duration;

pub use queue::{JobQueue, RunJob};
pub use start::{Submission, cancel, retry, submit};
pub use workers::Workers;

/// How this instance runs jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsConfig {
    /// Jobs that run at once on this instance.
    pub concurrency: usize,
    /// How often a worker tells the queue it is alive.
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before its jobs go to another worker (after a crash or a kill).
    pub missed_heartbeats: usize,
    /// Times a lost connection is retried before the job fails.
    pub retries: u32,
    /// The first retry's wait; each next one doubles it.
    pub backoff: Duration,
    /// How this site introduces itself to senders.
    pub site_url: String,
    pub project: String,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            concurrency: 2,
            heartbeat: Duration::from_secs(10),
            missed_heartbeats: 3,
            retries: 5,
            backoff: Duration::from_secs(2),
            site_url: String::new(),
            project: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The queue's tables or a push failed.
    #[error("job queue: {0}")]
    Queue(String),
    #[error(transparent)]
    Db(#[from] engine::DbError),
    /// What the admin asked cannot be done; the text says why.
    #[error("{0}")]
    Invalid(String),
}
